#!/usr/bin/env bash
# A USB mailbox folder carried between two machines by Syncthing (Debian's package, installed by
# scripts/bootstrap.sh): two Syncthing instances on loopback and two real nodes with `usb sync`,
# until they converge (Tests/transports/syncthing_e2e.py).
#
#   bash scripts/syncthing-e2e.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
swift build --product sandyq >/dev/null
python3 Tests/transports/syncthing_e2e.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
