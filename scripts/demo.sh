#!/usr/bin/env bash
# The main job: the seizure drill with four real Sandyq nodes in a temporary directory,
# narrated (what each node can see at each step), on the cases drawn from the seed documents.
#
#   bash scripts/demo.sh           # ... then serves the standing coordinator's desk (Ctrl-C stops it)
#   bash scripts/demo.sh --no-ui   # for scripts: stops after the narration
set -euo pipefail
ui=1
case "${1:-}" in
  "") ;;
  --no-ui) ui=0 ;;
  *) echo "usage: scripts/demo.sh [--no-ui]" >&2; exit 64 ;;
esac
cd "$(dirname "$0")/.."
repo=$(pwd)
bash scripts/bootstrap.sh
# Quiet when it works; a failed build shows its errors and stops the demo (no old binary runs).
build_log=$(mktemp "${TMPDIR:-/tmp}/sandyq-demo-build.XXXXXX")
if ! swift build --product sandyq >"$build_log" 2>&1; then
  grep -E 'error:' "$build_log" | sort -u >&2 || tail -40 "$build_log" >&2
  echo "demo: the build failed (full log: $build_log)" >&2; exit 1
fi
rm -f "$build_log"
bin="$(swift build --show-bin-path)/sandyq"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandyq-demo.XXXXXX")
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
export SANDYQ_PASSPHRASE="demo passphrase, never use this one"
say() { printf '\n== %s\n' "$*"; }
sq() { echo "\$ sandyq $*"; "$bin" "$@" 2>&1; }
field() { "$bin" status --home "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
sees() { printf '   %-26s %s cases readable, %s ops held\n' "$1:" "$(field "$2" cases)" "$(field "$2" ops)"; }

say "1. Five nodes: coordinators C (the founder) and D (abroad), reporter R (inside, write-only), lawyer L, relay Y"
for n in C D L Y; do "$bin" init --home $n --kdf interactive >/dev/null; done
sq init --home R --kdf interactive --write-only
sq project create "Kazakhstan political cases" --home C

say "   Invitations travel as files; both people compare six digits, so a swapped file is caught"
for pair in D:coordinator R:reporter L:lawyer Y:relay; do
  n=${pair%%:*}; role=${pair##*:}
  "$bin" invite --role "$role" --out "$n.invitation" --home C >/dev/null
  sas=$("$bin" join --invite "$n.invitation" --out "$n.reply" --home "$n" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sas"])')
  echo "   $n's screen shows $sas"
  sq member add --request "$n.reply" --sas "$sas" --home C
done
sq member list --home C | cut -c1-40

say "2. R records five cases from seeds/cases.json and carries them to C on a USB stick"
mkdir stick
"$bin" usb sync stick --home C >/dev/null            # C's membership ops reach R by the stick
"$bin" usb sync stick --home R >/dev/null
"$bin" usb sync stick --home D >/dev/null
python3 -c "import json; d=json.load(open('$repo/seeds/cases.json')); d['cases']=d['cases'][:5]; json.dump(d, open('five.json','w'), ensure_ascii=False)"
echo "\$ sandyq case import five.json --home R"
"$bin" case import five.json --home R --json > imported.json
python3 -c "import json; print('Imported', len(json.load(open('imported.json'))['imported']), 'cases')"
say "   R attaches a scan to its first case: sealed in 1 MiB chunks under a key of its own, it crosses on the same stick"
first=$(python3 -c "import json; print(json.load(open('imported.json'))['imported'][0])")
printf 'Протокол задержания, скан (демонстрация)\n%s\n' "$(head -c 2000 "$repo/seeds/cases.json")" > protocol-scan.txt
sq case attach "$first" protocol-scan.txt --home R
sq usb sync stick --home R
sq usb sync stick --home C
sq case list --home C
sq evidence list --home C
say "   C's answer on the stick says, signed, that it holds and checked the file; R may then remove its copy"
sq usb sync stick --home R
sq evidence held --home R
sq evidence release --home R

say "   C shares two cases with L, and L syncs over TCP (key-pinned, encrypted)"
lawyer=$(field L nodeId)
for c in $("$bin" case list --home C --json | python3 -c 'import json,sys; ids=[x["id"] for x in json.load(sys.stdin)[:2]]; ids+=[] if "'"$first"'" in ids else ["'"$first"'"]; [print(i[:8]) for i in ids]'); do
  sq case share "$c" --with "$lawyer" --home C
done
"$bin" serve --listen 127.0.0.1:0 --port-file port --home C 2> serve.log &
server=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.1; done
cnode=$(field C nodeId)
sq sync "127.0.0.1:$(cat port)" --home L
sq evidence list --home L
sq sync "127.0.0.1:$(cat port)" --home Y
sq usb sync stick --home Y

say "3. R's laptop is seized and R is forced to unlock it. What does each node reveal?"
sees "R (write-only, seized)" R
sees "Y (relay)" Y
sees "L (lawyer)" L
sees "C (coordinator)" C
sq case list --home L
echo "   grep for a name from the five cases in every file of R's home:"
if grep -rqa "Бокаев" R; then echo "   FOUND plaintext"; exit 1; else echo "   no match"; fi
echo "   grep for the scan's words in R's and Y's homes and on the stick:"
if grep -rqa "Протокол задержания" R Y stick; then echo "   FOUND plaintext"; exit 1; else echo "   no match"; fi

say "4. C revokes R's key. The seizer then records a fake case with R's key and sends it out"
rnode=$(field R nodeId)
sq member revoke "$rnode" --from "$("$bin" log --home C --json | python3 -c "import json,sys; print(max(r['seq'] for r in json.load(sys.stdin) if r['author']=='$(field R fingerprint)'))")" --home C
sq case add --title "Planted by the seizer" --person "Фальшивый Свидетель" --home R
"$bin" bundle export --to coordinators lawyers --out seized.sqb --home R >/dev/null
sq bundle import seized.sqb --home C
sq sync "127.0.0.1:$(cat port)" --home L
sq bundle import seized.sqb --home L || true
sq quarantine --home C
sq quarantine --home L
sees "C after the fake op" C
sees "L after the fake op" L
echo "   and L may not write at all:"
sq case add --title "x" --person "y" --home L || true

kill -INT "$server"; wait "$server" 2>/dev/null || true; server=""
echo "   C's server log:"; sed 's/^/   /' serve.log

say "5. L's laptop is at risk: panic destroys its keys"
sq panic --yes --home L
sq status --home L || true

say "6. D catches up from the stick, then C's laptop, the founder's, is seized"
"$bin" usb sync stick --home C >/dev/null
sq usb sync stick --home D
say "   The seizer admits a coordinator of its own (X) and revokes D"
dnode=$(field D nodeId)
"$bin" init --home X --kdf interactive >/dev/null
"$bin" invite --role coordinator --out X.invitation --home C >/dev/null
sas=$("$bin" join --invite X.invitation --out X.reply --home X --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sas"])')
sq member add --request X.reply --sas "$sas" --home C
sq member revoke "$dnode" --home C
say "   D, told of the seizure and not yet reached by any of it, revokes the founder's device"
sq member revoke "$cnode" --home D
say "   The seizer's ops reach D. Any coordinator can revoke any other, the founder too: D stands, X never got in"
"$bin" bundle export --to "$dnode" --out seized-C.sqb --home C >/dev/null
sq bundle import seized-C.sqb --home D
sq member list --home D | cut -c1-60
sq quarantine --home D
sees "D (coordinator)" D

say "Integrity of the coordinators' stores"
sq check --home C
sq check --home D

if [ "$ui" = 1 ]; then
  say "The desk: D's web app, in Kazakh, Russian and English. Open the address below (the browser opens"
  echo "   by itself where there is one), unlock with the passphrase \"$SANDYQ_PASSPHRASE\". Ctrl-C stops it."
  trap - INT
  "$bin" ui --home D || true
fi
