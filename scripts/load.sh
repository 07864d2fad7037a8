#!/usr/bin/env bash
# Load: builds `sandyq` (release), then one `sandyq serve` and 20 peers that each write 10,000
# ops and sync with it all at once, round after round until every store holds every op.
# Prints peers, ops, wall time, the server's peak RSS, sync rounds and lost ops (must be 0).
# See RELIABILITY.md.
#
#   bash scripts/load.sh                         # the full size: 20 peers x 10,000 ops
#   bash scripts/load.sh --peers 5 --ops 2000    # a quick run
#
# --debug (anywhere) runs the debug build instead, as CI does (scripts/ci-drills.sh).
# SWIFT_SCRATCH_PATH picks the build directory (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SWIFT_SCRATCH_PATH:-.build}"
bash scripts/bootstrap.sh
command -v python3 >/dev/null 2>&1 || { echo "load: python3 is needed" >&2; exit 1; }
config=release args=()
for a in "$@"; do
  if [ "$a" = "--debug" ]; then config=debug; else args+=("$a"); fi
done
swift build -c "$config" --scratch-path "$scratch" --product sandyq
bin="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/sandyq"
exec python3 scripts/load.py --bin "$bin" ${args[@]+"${args[@]}"}
