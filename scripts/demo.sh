#!/usr/bin/env bash
# The main job: three real Sandyq nodes in a temporary directory, syncing by USB bundles, narrated.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build 2>&1 | grep -E 'error|warning: unre|Compiling|Build' | tail -3 || true
bin="$(swift build --show-bin-path)/sandyq"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandyq-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SANDYQ_PASSPHRASE="demo passphrase, never use this one"
say() { printf '\n== %s\n' "$*"; }
sq() { echo "\$ sandyq $*" | sed "s#$work#\$DEMO#g"; "$bin" "$@" 2>&1 | sed "s#$work#\$DEMO#g"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

say "Coordinator Aigerim (abroad) creates a node and a project"
sq init --home "$work/aigerim" --kdf interactive
sq project create "Kazakhstan political cases" --home "$work/aigerim"
project=$("$bin" status --home "$work/aigerim" --json | json '["project"]')

netkey=$("$bin" project key --home "$work/aigerim")

say "Coordinators Daulet and Oksana create nodes and join (project id and network key passed by hand)"
for who in daulet oksana; do
  "$bin" init --home "$work/$who" --kdf interactive >/dev/null
  sq join "$project" --network-key "$netkey" --home "$work/$who" >/dev/null
  id=$("$bin" status --home "$work/$who" --json | json '["nodeId"]')
  sq member add "$id" --role coordinator --home "$work/aigerim"
done

say "Aigerim imports the cases drawn from the seed documents"
sq case import seeds/cases.json --home "$work/aigerim"
sq case list --home "$work/aigerim" | head -6
echo "..."

say "A USB stick: Aigerim writes a bundle for every coordinator"
mkdir "$work/stick"
sq usb sync "$work/stick" --home "$work/aigerim"
ls -l "$work/stick" | sed "s#$work#\$DEMO#g"

say "Daulet and Oksana sync from the stick"
sq usb sync "$work/stick" --home "$work/daulet"
sq usb sync "$work/stick" --home "$work/oksana"

say "Both edit the same case offline: Daulet and Oksana disagree on the city"
case=$("$bin" case list --home "$work/daulet" --json | json '[0]["id"]')
sq case edit "${case:0:8}" --city "Алматы" --home "$work/daulet"
sq case edit "${case:0:8}" --city "Астана" --home "$work/oksana"
sq case event add "${case:0:8}" --type hearing --date 2021-03-01 --place "Алматы" --description "Appeal hearing" --home "$work/oksana"

say "They exchange bundles directly (no stick, just files)"
daulet=$("$bin" status --home "$work/daulet" --json | json '["nodeId"]')
oksana=$("$bin" status --home "$work/oksana" --json | json '["nodeId"]')
sq bundle export --to "$oksana" --out "$work/d2o.sqb" --home "$work/daulet"
sq bundle export --to "$daulet" --out "$work/o2d.sqb" --home "$work/oksana"
sq bundle import "$work/o2d.sqb" --home "$work/daulet"
sq bundle import "$work/d2o.sqb" --home "$work/oksana"

say "Both see the conflict, and the same value meanwhile"
sq case conflicts --home "$work/daulet"
sq case conflicts --home "$work/oksana"

say "Daulet resolves it; the stick carries the resolution to everyone"
sq case resolve "${case:0:8}" city "Алматы" --home "$work/daulet"
for round in 1 2; do
  for who in daulet oksana aigerim; do "$bin" usb sync "$work/stick" --home "$work/$who" >/dev/null; done
done
sq case conflicts --home "$work/oksana"
sq case show "${case:0:8}" --home "$work/aigerim" | head -12

say "Aigerim serves over TCP on loopback; Oksana adds a case and syncs directly"
"$bin" serve --listen 127.0.0.1:0 --port-file "$work/port" --home "$work/aigerim" 2> "$work/serve.log" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
sq case add --title "Новое дело" --status detained --city Актау --person "Асет Абишев" --charge criminal:405 --home "$work/oksana"
sq sync "127.0.0.1:$port" --home "$work/oksana"
sq sync "127.0.0.1:$port" --home "$work/daulet"
kill -INT "$server"; wait "$server" || true
sed "s#$work#\$DEMO#g" "$work/serve.log"

say "Every node: what it holds, and what each peer still lacks"
for who in aigerim daulet oksana; do
  echo "-- $who: $("$bin" status --home "$work/$who" --json | json '["cases"]') cases, view digest $("$bin" status --home "$work/$who" --json | json '["digest"][:16]')"
  "$bin" peers --home "$work/$who"
done
echo "(after TCP, the stick is a step behind: usb sync would carry the rest)"

say "On disk there is only ciphertext: grep homes and bundles for a name from the seeds"
if grep -rq "Джакишев" "$work"; then echo "FOUND plaintext on disk"; exit 1; else echo "no match for 'Джакишев' anywhere under the demo directory"; fi

say "Integrity"
sq check --home "$work/oksana"
