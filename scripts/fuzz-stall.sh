#!/usr/bin/env bash
# Checks fuzz.sh's judgement of libFuzzer's slow units, with the targets fuzz.sh built last.
# A CI run once failed because the machine paused while two targets ran: libFuzzer wrote a
# slow-unit file for each and exited 0, and fuzz.sh called that a crash. Here a fuzzer is
# paused (SIGSTOP) for 12 s, as a stalled VM would be:
#   1. fuzz.sh must pass and say the machine stalled (the unit runs fast alone);
#   2. with FUZZ_SLOW_MS=1 every unit counts as slow alone, so the same pause must fail.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sandyq-fuzz-stall.XXXXXX")"
trap 'rm -rf "$work"' EXIT
target=FuzzHandshake

paused_run() {   # $1: log; rest: env for fuzz.sh
    local log="$1" pid="" p rc=0
    shift
    env FUZZ_NO_BUILD=1 FUZZ_WORK="$work/run" "$@" bash "$root/scripts/fuzz.sh" 20 "$target" >"$log" 2>&1 &
    p=$!
    for _ in $(seq 100); do
        pid=$(pgrep -f "$target -max_total_time=20 .*$work/run" | head -1 || true)
        [ -n "$pid" ] && break
        sleep 0.2
    done
    [ -n "$pid" ] || { echo "fuzz-stall: the fuzzer never started"; cat "$log"; return 2; }
    sleep 4; kill -STOP "$pid"; sleep 12; kill -CONT "$pid"
    wait "$p" || rc=$?
    rm -rf "$work/run"
    return "$rc"
}

if ! paused_run "$work/stall.log"; then
    echo "fuzz-stall: a paused machine failed the fuzz run"; cat "$work/stall.log"; exit 1
fi
grep -q "so the machine stalled" "$work/stall.log" || {
    echo "fuzz-stall: libFuzzer reported no slow unit, so nothing was checked"; cat "$work/stall.log"; exit 1; }
if paused_run "$work/slow.log" FUZZ_SLOW_MS=1; then
    echo "fuzz-stall: a unit slow again alone passed the fuzz run"; cat "$work/slow.log"; exit 1
fi
grep -q "CRASH (rc 0, 1 file(s)" "$work/slow.log" || {
    echo "fuzz-stall: the slow unit failed for another reason"; cat "$work/slow.log"; exit 1; }
echo "fuzz-stall: ok (a 12 s pause is set aside as a stall; a unit slow alone still fails)"
