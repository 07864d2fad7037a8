#!/usr/bin/env bash
# `sandyq media inspect|strip` checked by readers that are not ours: Pillow writes real JPEG and PNG
# files with GPS EXIF; after the strip Pillow and exiftool must find none, pixels unchanged
# (Tests/media/media_test.py). Uses the browser tests' venv (scripts/bootstrap.sh --ui).
#
#   bash scripts/media-test.sh
#
# Outside CI, a machine without that venv skips with a message; in CI (CI set) it is made.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SANDYQ_UI_VENV:-$HOME/.cache/sandyq-ui/venv}"
if [ ! -x "$venv/bin/python3" ] && [ -z "${CI:-}" ]; then
    echo "media-test: SKIPPED: no venv at $venv (make it with: bash scripts/bootstrap.sh --ui)" >&2
    exit 0
fi
py=$(bash scripts/bootstrap.sh --ui | tail -1)
swift build --product sandyq >/dev/null
"$py" Tests/media/media_test.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
