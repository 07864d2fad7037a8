#!/usr/bin/env bash
# Short, real versions of every drill README.md and RELIABILITY.md cite, for CI (.ci/run).
# Each prints one line, `drill NAME: ok FIGURE (Ns)`, or `drill NAME: FAILED ...` with the end of
# its log; the script runs them all and exits 1 if any failed. The long versions are the
# scripts themselves (RELIABILITY.md, "In CI").
#
#   bash scripts/ci-drills.sh                 # every drill
#   bash scripts/ci-drills.sh crash fuzz      # some of them
#
# Environment: CI_LOGS=DIR keeps each drill's full output there (default: a temp dir, printed);
# CRASH_SEED (default: today's date, so a day's runs replay each other); FUZZ_SECONDS (per
# target, default 30: a run at 45 s on a slow machine reached 76 min before the mutations); SANDYQ_CI_DEADLINE and SANDYQ_CI_HARD_DEADLINE (Unix times, set by
# .ci/run: the mutation drill starts nothing that could end past them; see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all=(vectors demo reports crash fuzz load serve-load flood mutations)
drills=("$@")
[ ${#drills[@]} -eq 0 ] && drills=("${all[@]}")
for d in "${drills[@]}"; do
  case " ${all[*]} " in *" $d "*) ;; *) echo "unknown drill $d (one of: ${all[*]})" >&2; exit 64 ;; esac
done

logs="${CI_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/sandyq-drills.XXXXXX")}"
mkdir -p "$logs"
# The python3 that imports PyNaCl (the generators need it; the drivers need only the stdlib).
py="$(bash scripts/bootstrap.sh --drills | tail -1)"
export PATH="$(dirname "$py"):$PATH"

# The sandyq the drivers run: the debug build the suite has already made. A release build of
# sandyq took 588 s of a CI run that timed out (2026-12-07); the short drills pass on debug
# (crash 95 s, load 29 s, flood 17 s, serve-load at 500 members 174 s, all with 0 lost), and the
# long drills still build release.
debug_bin() { swift build --product sandyq >"$logs/build-debug.log" 2>&1 && echo "$(swift build --show-bin-path)/sandyq"; }

figure=""   # set by each drill: what its one line reports
drill_vectors() {
  local n=0 files
  for g in scripts/vectors/gen_*.py; do
    echo "== $g --check"
    "$py" "$g" --check || return 1
    n=$((n + 1))
  done
  files=$(find Protocol/vectors -type f -name '*.txt' | wc -l)
  [ "$n" -gt 0 ] || { echo "no generator found"; return 1; }
  figure="$n generators, their --check rewrote nothing ($files vector files)"
}

drill_demo() {
  bash scripts/demo.sh --no-ui < /dev/null || return 1
  local steps
  steps=$(grep -c '^== [0-9]' "$logs/demo.log" || true)
  # The demo's own checks: no plaintext name on the seized write-only node, both coordinators' stores clean.
  grep -q "   no match" "$logs/demo.log" || { echo "the demo printed no plaintext check"; return 1; }
  figure="$steps narrated steps, no plaintext on the seized node, exit 0"
}

drill_reports() {
  local bin
  bin=$(debug_bin) || { cat "$logs/build-debug.log"; return 1; }
  SANDYQ_BIN="$bin" bash scripts/check-reports.sh || return 1
  figure="$(grep -c '^ok:' "$logs/reports.log") checks passed in headless $(chromium --version 2>/dev/null | awk '{print $1, $2}')"
}

drill_crash() {
  local kills=36 seed="${CRASH_SEED:-$(date -u +%Y%m%d)}" last
  bash scripts/crash.sh --debug --kills "$kills" --seed "$seed" < /dev/null || return 1
  # crash.py's report ends with its summary line; nothing else of it is read here.
  last=$(grep -v '^[[:space:]]*$' "$logs/crash.log" | tail -1)
  figure="$kills kills, seed $seed; $last"
}

drill_fuzz() {
  local secs="${FUZZ_SECONDS:-30}" targets execs
  FUZZ_JOBS=2 FUZZ_WORK="$logs/fuzz-work" bash scripts/fuzz.sh "$secs" || return 1
  # A stalled machine must not read as a crash, nor a slow input as a stall (about 40 s).
  bash scripts/fuzz-stall.sh || return 1
  # fuzz.sh's table: target secs execs execs/s cov ft corpus result.
  targets=$(awk '$NF == "ok" && $1 ~ /^Fuzz/' "$logs/fuzz.log" | wc -l)
  execs=$(awk '$NF == "ok" && $1 ~ /^Fuzz/ { s += $3 } END { print s + 0 }' "$logs/fuzz.log")
  figure="$targets targets x $secs s, $execs inputs, 0 crashes, 0 hangs, 0 failed properties; $(grep -c 'so the machine stalled' "$logs/fuzz.log" || true) stalls set aside; stall check ok"
}

drill_load() {
  local bin peers=6 ops=1000 lost held
  bin=$(debug_bin) || { cat "$logs/build-debug.log"; return 1; }
  python3 scripts/load.py --bin "$bin" --peers "$peers" --ops "$ops" < /dev/null || return 1
  lost=$(sed -n 's/^  lost ops: //p' "$logs/load.log")
  held=$(sed -n 's/^  server ops: //p' "$logs/load.log")
  [ "$lost" = 0 ] || { echo "lost ops: '$lost'"; return 1; }
  figure="$peers peers x $ops ops, $held ops on every node, $lost lost"
}

drill_serve-load() {
  # Under a third of the full size, on the debug build: 500 members took a 65 s round here
  # (release: 23-30 s), 0 failed; 300 keeps the round near 40 s on a slower machine.
  local peers=300
  bash scripts/serve-load.sh --debug --peers "$peers" --ops 100 --json "$logs/serve-load.json" < /dev/null || return 1
  figure=$(python3 - "$logs/serve-load.json" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))["values"]
print(f"{v['peers']:.0f} members x {v['ops_per_peer']:.0f} ops at once: {v['failed']:.0f} failed, {v['lost']:.0f} lost, one digest, "
      f"round {v['round_s']:.0f} s, server peak {v['server_peak_threads']:.0f} threads / {v['server_peak_rss_MiB']:.0f} MiB, "
      f"{v['idle_KiB_per_connection']:.2f} KiB per idle connection")
EOF
)
}

drill_flood() {
  local bin members=8 attackers=100
  bin=$(debug_bin) || { cat "$logs/build-debug.log"; return 1; }
  python3 scripts/flood.py --bin "$bin" --members "$members" --attackers "$attackers" --rounds 1 --warmup 1 \
    --json "$logs/flood.json" < /dev/null || return 1
  figure=$(python3 - "$logs/flood.json" "$members" "$attackers" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
q, x = f["quiet"], f["flooded"]
failed = q["failed syncs"] + x["failed syncs"]
if failed or not q["syncs"] or not x["syncs"]:
    sys.exit(f"failed syncs: {failed}")
print(f"{sys.argv[2]} members, {sys.argv[3]} attacker sockets: {x['syncs'] - x['failed syncs']} of {x['syncs']} flooded syncs "
      f"and {q['syncs'] - q['failed syncs']} of {q['syncs']} quiet ones succeeded, median ratio {f['ratio flooded / quiet, median sync']}")
EOF
) || return 1
}

drill_mutations() {
  local last
  # Every deliberate breakage in scripts/mutations.txt against its tests: in a kept scratch copy,
  # or, on CI's throwaway clone, in the tree itself, whose build the suite has already made.
  if [ "${CI:-}" = true ]; then
    # A mutated test that waits out its timeouts is cut at 120 s: a hang counts as killed.
    # Under .ci/run's deadline, recently touched files first and the rest as far as time allows.
    bash scripts/mutate.sh --in-place --timeout 120 ${SANDYQ_CI_DEADLINE:+--until "$SANDYQ_CI_DEADLINE" --at-least 8} \
      ${SANDYQ_CI_HARD_DEADLINE:+--hard-until "$SANDYQ_CI_HARD_DEADLINE"} < /dev/null || return 1
  else
    bash scripts/mutate.sh < /dev/null || return 1
  fi
  last=$(grep '^drill mutations: ok' "$logs/mutations.log" | tail -1)
  [ -n "$last" ] || { echo "mutate.sh printed no verdict"; return 1; }
  figure="${last#drill mutations: ok }"
}

failed=()
total=$SECONDS
for d in "${drills[@]}"; do
  t0=$SECONDS
  figure=""
  status=0
  # Each drill's output goes to its log, in a subshell (errexit does not hold under `||`, so every
  # step that can fail says `|| return 1`); the figure comes back through a file.
  ( "drill_$d" && printf '%s\n' "$figure" >"$logs/$d.fig" ) >"$logs/$d.log" 2>&1 || status=$?
  if [ "$status" = 0 ]; then
    echo "drill $d: ok $(cat "$logs/$d.fig") ($((SECONDS - t0)) s)"
  else
    echo "drill $d: FAILED (exit $status, $((SECONDS - t0)) s; full log $logs/$d.log):"
    tail -25 "$logs/$d.log" | sed 's/^/    /'
    failed+=("$d")
  fi
done
echo "drills: ${#drills[@]} run, ${#failed[@]} failed${failed:+ (${failed[*]})}, $((SECONDS - total)) s; logs in $logs"
[ ${#failed[@]} -eq 0 ]
