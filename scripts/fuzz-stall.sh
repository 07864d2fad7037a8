#!/usr/bin/env bash
# Checks fuzz.sh's judgement of libFuzzer's slow units, with the targets fuzz.sh built last.
# A CI run once failed because the machine paused while two targets ran: libFuzzer wrote a
# slow-unit file for each and exited 0, and fuzz.sh called that a crash. Here a fuzzer is
# paused (SIGSTOP) for 12 s, as a stalled VM would be:
#   1. fuzz.sh must pass and say the machine stalled (the unit runs fast alone);
#   2. with FUZZ_SLOW_MS=1 no unit is fast enough alone, so the same pause must fail.
# libFuzzer times only the input's run: a pause that lands between inputs reports no slow
# unit, and that attempt is made again (up to 4 times).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sandyq-fuzz-stall.XXXXXX")"
target=FuzzHandshake
pid="" p=""
cleanup() {
    [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null || true
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Returns 0 (passed), 1 (failed) or 3 (libFuzzer reported no slow unit: try again).
paused_run() {   # $1: log; rest: env for fuzz.sh
    local log="$1" rc=0
    shift
    rm -rf "$work/run"
    env FUZZ_NO_BUILD=1 FUZZ_WORK="$work/run" "$@" bash "$root/scripts/fuzz.sh" 20 "$target" >"$log" 2>&1 &
    p=$! pid=""
    for _ in $(seq 100); do
        pid=$(pgrep -f "$target -max_total_time=20 .*$work/run" | head -1 || true)
        [ -n "$pid" ] && break
        sleep 0.2
    done
    [ -n "$pid" ] || { echo "fuzz-stall: the fuzzer never started"; cat "$log"; exit 1; }
    sleep 4; kill -STOP "$pid"; sleep 12; kill -CONT "$pid"
    wait "$p" || rc=$?
    p="" pid=""
    grep -q "^Slowest unit" "$work/run/logs/$target.log" || return 3
    return "$rc"
}

attempt() {   # $1: name; $2: the outcome wanted (0 pass, 1 fail); rest: env
    local name="$1" want="$2" rc
    shift 2
    for _ in 1 2 3 4; do
        rc=0
        paused_run "$work/$name.log" "$@" || rc=$?
        [ "$rc" = 3 ] && continue
        [ "$rc" = "$want" ] && return 0
        return 1
    done
    echo "fuzz-stall: no pause of 4 landed inside an input"; cat "$work/$name.log"; exit 1
}

if ! attempt stall 0; then
    echo "fuzz-stall: a paused machine failed the fuzz run"; cat "$work/stall.log"; exit 1
fi
grep -q "so the machine stalled" "$work/stall.log" || {
    echo "fuzz-stall: the slow unit was not reported as a stall"; cat "$work/stall.log"; exit 1; }
if ! attempt slow 1 FUZZ_SLOW_MS=1; then
    echo "fuzz-stall: a unit slow again alone passed the fuzz run"; cat "$work/slow.log"; exit 1
fi
grep -q "CRASH (rc 0, 1 file(s)" "$work/slow.log" || {
    echo "fuzz-stall: the slow unit failed for another reason"; cat "$work/slow.log"; exit 1; }
echo "fuzz-stall: ok (a 12 s pause is set aside as a stall; a unit slow alone still fails)"
