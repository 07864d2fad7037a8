#!/usr/bin/env bash
# The web app as people use it: real `sandyq ui` processes on real nodes, driven in headless
# Chromium by Selenium, with axe-core on every screen (Tests/ui/desk_test.py).
#
#   bash scripts/ui-test.sh                     # all of it
#   bash scripts/ui-test.sh --shots docs/screens   # ... and save the main screens there
#   bash scripts/ui-test.sh --only language     # the tests whose name has this in it
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash scripts/bootstrap.sh --ui | tail -1)
swift build --product sandyq >/dev/null
"$py" Tests/ui/desk_test.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
