#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ and runs each for a while; see Fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default 60 s per target, all targets
#
# Environment: FUZZ_JOBS (targets run at once, default 1), FUZZ_WORK (work dir, default
# Fuzz/.work: corpora, logs, crashes; kept between runs so corpora grow), FUZZ_CONFIG
# (release or debug, default release), FUZZ_NO_BUILD=1 (run what was built last).
# Prints execs, execs/s and coverage (cov/ft from libFuzzer's last status line) per target,
# and exits 1 if any target crashed (the input is under $FUZZ_WORK/crashes/TARGET/). A slow
# unit that runs fast alone is a stall of the machine, set aside under $FUZZ_WORK/stalls/.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
all=(FuzzEnvelope FuzzSignedBody FuzzBundle FuzzBundleRecords FuzzHandshake FuzzFrames FuzzInviteCodes FuzzKeyFile FuzzCaseImport FuzzMedia)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs="${FUZZ_JOBS:-1}"
work="${FUZZ_WORK:-$root/Fuzz/.work}"
config="${FUZZ_CONFIG:-release}"

case "$seconds" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 64 ;; esac
for t in "${targets[@]}"; do
    case " ${all[*]} " in *" $t "*) ;; *) echo "unknown target $t (one of: ${all[*]})" >&2; exit 64 ;; esac
done

# The Fuzz package's own scratch path (Fuzz/.build), never the root package's.
cd "$root/Fuzz"
# --disable-dead-strip: in release, dead stripping drops the coverage counters (libFuzzer then
# reports no coverage and mutates blind).
# -Xswiftc -sanitize=fuzzer,address: swiftc keeps only the last of several -sanitize= flags, and
# SwiftPM passes its two in either order, so a build had either coverage or ASan, never both.
flags=(-c "$config" --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address --disable-dead-strip)
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    echo "building fuzz targets ($config, fuzzer+address)..."
    # A failed build fails the run: an old binary must never be fuzzed in its place.
    log="$(mktemp "${TMPDIR:-/tmp}/sandyq-fuzz-build.XXXXXX")"
    if ! swift build "${flags[@]}" >"$log" 2>&1; then
        grep -E "error:" "$log" | sort -u >&2 || tail -40 "$log" >&2
        echo "fuzz: the build failed (full log: $log)" >&2
        exit 1
    fi
    grep -E "Build complete" "$log" || true
    rm -f "$log"
fi
bin="$(swift build "${flags[@]}" --show-bin-path)"
for t in "${targets[@]}"; do
    [ -x "$bin/$t" ] || { echo "build failed: no $bin/$t" >&2; exit 1; }
    # Both instrumentations or no run: coverage counters (else libFuzzer mutates blind) and
    # ASan's instrumented globals (else memory errors pass unseen).
    sections="$(readelf -S "$bin/$t")"
    grep -q __sancov_cntrs <<<"$sections" || { echo "fuzz: $t has no coverage counters" >&2; exit 1; }
    grep -q asan_globals <<<"$sections" || { echo "fuzz: $t is not instrumented by ASan" >&2; exit 1; }
done

# The harnesses' per-process scratch files (FuzzSupport BundleFile, FuzzFrames' stores).
clean_scratch() { rm -rf "/dev/shm/sandyq-fuzz-$1.bundle" "/dev/shm/sandyq-fuzz-frames-$1"; }

run() {
    local t="$1"
    local seeds="$work/seeds/$t" corpus="$work/corpus/$t" crashes="$work/crashes/$t" log="$work/logs/$t.log"
    mkdir -p "$seeds" "$corpus" "$crashes" "$work/logs"
    rm -f "$work/logs/$t.rc"
    # Seeds from Protocol/vectors, made by the harness itself (it decodes the inner layers).
    SANDYQ_FUZZ_SEEDS="$seeds" SANDYQ_VECTORS="$root/Protocol/vectors" "$bin/$t" >/dev/null 2>&1
    # No seeds means the vectors were not found or the harness broke: fuzzing blind proves little.
    if [ -z "$(ls -A "$seeds")" ]; then
        echo "no seeds written to $seeds" >"$log"; echo 1 >"$work/logs/$t.rc"; return
    fi
    local dirs=("$corpus" "$seeds")
    [ -d "$root/Fuzz/corpus/$t" ] && dirs+=("$root/Fuzz/corpus/$t")
    local rc=0
    # SWIFT_BACKTRACE=enable=no: with Swift's backtracer on, libFuzzer writes no crash file.
    SWIFT_BACKTRACE=enable=no "$bin/$t" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "${dirs[@]}" >"$log" 2>&1 &
    local pid=$!
    wait "$pid" || rc=$?
    clean_scratch "$pid"
    echo "$rc" >"$work/logs/$t.rc"
}

start=$(date +%s)
mkdir -p "$work"
marker="$work/.run-start"
touch "$marker"
running=0
for t in "${targets[@]}"; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

failed=0
stalls=()
# libFuzzer's -report_slow_units default; FUZZ_SLOW_MS lowers it for scripts/fuzz-stall.sh.
slow_ms="${FUZZ_SLOW_MS:-10000}"
printf '\n%-18s %6s %10s %8s %6s %6s %6s  %s\n' target secs execs execs/s cov ft corpus result
for t in "${targets[@]}"; do
    log="$work/logs/$t.log"
    rc="$(cat "$work/logs/$t.rc" 2>/dev/null || echo 1)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    last="$(grep -E '^#[0-9]+' "$log" | grep -E 'cov: ' | tail -1 || true)"
    cov="$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")"
    ft="$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")"
    corp="$(sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p' <<<"$last")"
    # libFuzzer also writes slow-unit-* (an input that took >= 10 s) and exits 0. Such a
    # file is run again alone: slow again, or failing, fails the run (a crash of the re-run
    # leaves its own file beside it); clean and under a tenth of the limit means the machine
    # stalled (both targets running at that moment reported one in a CI run): set aside.
    while IFS= read -r f; do
        [ -n "$f" ] || continue
        t0=$(date +%s%N)
        rerun=0
        SWIFT_BACKTRACE=enable=no timeout 120 "$bin/$t" -artifact_prefix="$work/crashes/$t/rerun-" "$f" \
            </dev/null >"$work/logs/$t.rerun.log" 2>&1 &
        pid=$!
        wait "$pid" || rerun=$?
        clean_scratch "$pid"
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        if [ "$rerun" = 0 ] && [ "$ms" -lt $(( slow_ms / 10 )) ]; then
            mkdir -p "$work/stalls/$t"; mv "$f" "$work/stalls/$t/"
            stalls+=("$t: libFuzzer reported a slow unit; alone it ran in $ms ms, so the machine stalled (kept in $work/stalls/$t)")
        fi
    done < <(find "$work/crashes/$t" -type f -name 'slow-unit-*' -newer "$marker" 2>/dev/null)
    # Only this run's crash files: older ones stay as evidence but do not fail a later run.
    crashes="$(find "$work/crashes/$t" -type f -newer "$marker" 2>/dev/null | wc -l)"
    result=ok
    if [ "$rc" != 0 ] || [ "$crashes" -gt 0 ]; then
        result="CRASH (rc $rc, $crashes file(s) in $work/crashes/$t; log $log)"
        failed=1
    fi
    printf '%-18s %6s %10s %8s %6s %6s %6s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
for s in "${stalls[@]}"; do echo "$s"; done
echo "wall time $(( $(date +%s) - start )) s; logs in $work/logs"
exit "$failed"
