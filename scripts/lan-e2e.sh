#!/usr/bin/env bash
# `serve --lan` and `sync --lan` between two network namespaces joined by a veth pair, with a
# packet capture read by an independent reader (Tests/transports/lan_e2e.py). Needs root for
# the namespaces; without it the test says it skipped.
#
#   bash scripts/lan-e2e.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >/dev/null
swift build --product sandyq >/dev/null
py=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import nacl.bindings' >/dev/null 2>&1; then py="$p"; break; fi
done
[ -n "$py" ] || { echo "lan-e2e: no python3 imports PyNaCl (scripts/bootstrap.sh installs python3-nacl)" >&2; exit 1; }
"$py" Tests/transports/lan_e2e.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
