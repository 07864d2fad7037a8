#!/usr/bin/env bash
# Benchmarks: the primitives' limits and Sandyq's own figures, measured in one run on this
# machine, each Sandyq figure given as a fraction of the bound it is limited by.
# Prints a markdown table and writes bench-results.json at the repository root.
#
#   bash scripts/bench.sh            # full run, N = 100,000 ops (about 1-2 minutes on a quiet machine)
#   bash scripts/bench.sh --quick    # smoke run, N = 10,000
#   bash scripts/bench.sh --ops 50000
#
# Any arguments go to sandyq-bench; see BENCHMARKS.md for what each figure means.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -c release --product sandyq-bench
bin="$(swift build -c release --show-bin-path)/sandyq-bench"

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
cores=$(nproc 2>/dev/null || echo 1)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l > c / 2) }'; then
  echo "bench: load average is $load on $cores cores; wall-clock figures will be inflated (see the CPU-time column)" >&2
fi

SANDYQ_BENCH_LIBSODIUM="$(pkg-config --modversion libsodium 2>/dev/null || echo '?')" \
  "$bin" --json bench-results.json "$@"
