#!/usr/bin/env bash
# `sync --socks5` and `--via tor` through a real SOCKS5 proxy (Debian's microsocks, installed by
# scripts/bootstrap.sh), with the real binary as separate processes (Tests/transports/socks_e2e.py).
#
#   bash scripts/socks-e2e.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
swift build --product sandyq >/dev/null
python3 Tests/transports/socks_e2e.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
