#!/usr/bin/env bash
# `serve --onion` with the system's tor (Debian's package, installed by scripts/bootstrap.sh),
# started offline: the address, where its key lives, restart, stop and panic
# (Tests/transports/onion_e2e.py).
#
#   bash scripts/onion-e2e.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
swift build --product sandyq >/dev/null
python3 Tests/transports/onion_e2e.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
