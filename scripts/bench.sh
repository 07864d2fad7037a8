#!/usr/bin/env bash
# Benchmarks: the primitives' limits and Sandyq's own figures, measured in one run on this
# machine, each Sandyq figure given as a fraction of the bound it is limited by.
# Prints a markdown table and writes bench-results.json at the repository root.
#
#   bash scripts/bench.sh            # full run, N = 100,000 ops (about 1-2 minutes on a quiet machine)
#   bash scripts/bench.sh --quick    # smoke run, N = 10,000
#   bash scripts/bench.sh --ops 50000
#   bash scripts/bench.sh --no-peers # without the side-by-side peers (scripts/peers/)
#
# Any arguments go to sandyq-bench; see BENCHMARKS.md for what each figure means.
# SWIFT_SCRATCH=DIR builds in DIR instead of .build. The peers' Python venv is kept at
# $SANDYQ_PEERS_VENV (default ~/.cache/sandyq-bench/peers-venv) and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
scratch=()
[ -n "${SWIFT_SCRATCH:-}" ] && scratch=(--scratch-path "$SWIFT_SCRATCH")
swift build -c release "${scratch[@]}" --product sandyq-bench
bin="$(swift build -c release "${scratch[@]}" --show-bin-path)/sandyq-bench"

export SANDYQ_PEERS_DIR="$PWD/scripts/peers"
case " $* " in
  *" --no-peers "*) ;;
  *)
    venv="${SANDYQ_PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/sandyq-bench/peers-venv}"
    bash scripts/peers/install.sh "$venv" || echo "bench: the peers' install failed; the report says which peers did not run" >&2
    if [ -x "$venv/bin/python" ]; then export SANDYQ_PEERS_PYTHON="$venv/bin/python"; fi
    ;;
esac

load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
cores=$(nproc 2>/dev/null || echo 1)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l > c / 2) }'; then
  echo "bench: load average is $load on $cores cores; wall-clock figures will be inflated (see the CPU-time column)" >&2
fi

SANDYQ_BENCH_LIBSODIUM="$(pkg-config --modversion libsodium 2>/dev/null || echo '?')" \
  "$bin" --json bench-results.json "$@"
