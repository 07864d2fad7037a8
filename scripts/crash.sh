#!/usr/bin/env bash
# Crash drill: builds `sandyq`, then SIGKILLs it during bundle import and export, TCP sync
# (client, full pull and server), and case writes, each kill aimed by the phases the CLI writes
# to SANDYQ_PHASE_FILE and counted by where it landed (before unlock, unlocked, inside the
# write, after completion). After every kill it checks that the store is clean, nothing
# acknowledged is lost, and the interrupted step reruns and converges. See RELIABILITY.md.
#
#   bash scripts/crash.sh                      # 200 kills, a fresh seed (printed)
#   bash scripts/crash.sh --kills 30 --seed 7  # a shorter run, or a failing seed again
#   bash scripts/crash.sh --debug ...          # against the debug build (--debug may come anywhere)
#
# Exit 0: the drill ran and every check held; non-zero otherwise (1 when a check failed).
# The last line is one summary: "crash: N kills, P past unlock, W inside a write, F failures,
# L acknowledged ops lost (seed S)". SWIFT_SCRATCH_PATH picks the build directory (default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
config=release
args=()
for a in "$@"; do
    if [ "$a" = "--debug" ]; then config=debug; else args+=("$a"); fi
done
scratch="${SWIFT_SCRATCH_PATH:-.build}"
bash scripts/bootstrap.sh
command -v python3 >/dev/null 2>&1 || { echo "crash: python3 is needed" >&2; exit 1; }
swift build -c "$config" --scratch-path "$scratch" --product sandyq
bin="$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)/sandyq"
exec python3 scripts/crash.py --bin "$bin" ${args[@]+"${args[@]}"}
