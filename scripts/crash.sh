#!/usr/bin/env bash
# Crash drill: builds `sandyq`, then SIGKILLs it at seeded random moments during bundle import
# and export, TCP sync (client and server), and case writes, checking after every kill that the
# store is clean, nothing acknowledged is lost, and the interrupted step reruns and converges.
# See RELIABILITY.md.
#
#   bash scripts/crash.sh                      # 200 kills, a fresh seed (printed)
#   bash scripts/crash.sh --kills 30 --seed 7  # a shorter run, or a failing seed again
#   bash scripts/crash.sh --debug ...          # against the debug build
#
# SWIFT_SCRATCH_PATH picks the build directory (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
config=release
if [ "${1:-}" = "--debug" ]; then config=debug; shift; fi
scratch="${SWIFT_SCRATCH_PATH:-.build}"
bash scripts/bootstrap.sh
command -v python3 >/dev/null 2>&1 || { echo "crash: python3 is needed" >&2; exit 1; }
swift build -c "$config" --scratch-path "$scratch" --product sandyq
bin="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/sandyq"
exec python3 scripts/crash.py --bin "$bin" "$@"
