#!/usr/bin/env bash
# Flood: builds `sandyq` (release), then one `sandyq serve` and 20 members that sync with it
# all at once, in quiet rounds and in rounds during which 200 silent attacker sockets and a
# message-1 flood (garbage, replayed, and valid without message 3) run from other loopback
# addresses. Prints each kind's sync times, the flooded/quiet ratio, failures (must be 0) and
# the server log's growth. See BENCHMARKS.md.
#
#   bash scripts/flood.sh                              # 20 members, 200 attacker sockets, 3 rounds of each
#   bash scripts/flood.sh --members 5 --rounds 1       # a quick run
#
# --debug (anywhere) runs the debug build instead, as CI does (scripts/ci-drills.sh).
# SWIFT_SCRATCH_PATH picks the build directory (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SWIFT_SCRATCH_PATH:-.build}"
bash scripts/bootstrap.sh
command -v python3 >/dev/null 2>&1 || { echo "flood: python3 is needed" >&2; exit 1; }
config=release args=()
for a in "$@"; do
  if [ "$a" = "--debug" ]; then config=debug; else args+=("$a"); fi
done
swift build -c "$config" --scratch-path "$scratch" --product sandyq
bin="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/sandyq"
exec python3 scripts/flood.py --bin "$bin" ${args[@]+"${args[@]}"}
