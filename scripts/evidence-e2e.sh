#!/usr/bin/env bash
# Evidence end to end with the real binary as separate processes (issue 17): a write-only reporter
# attaches a 200 MiB video and a JPEG with GPS, carries them to the coordinator in stick parts
# imported in reverse order and lets its copy go once the coordinator checked them; a lawyer's
# TCP sync is cut mid-file by a proxy and resumes; the lawyer's export matches the originals, its
# working JPEG has no GPS (Pillow, exiftool), and no home or bundle part holds 64 bytes of either
# plaintext (Tests/media/evidence_e2e.py). Uses the browser tests' venv (scripts/bootstrap.sh --ui).
#
#   bash scripts/evidence-e2e.sh
#   SANDYQ_E2E_MIB=8 bash scripts/evidence-e2e.sh     # a smaller video while developing
#   bash scripts/evidence-e2e.sh --keep               # leave the run's files in place
#
# Outside CI, a machine without that venv skips with a message; in CI (CI set) it is made.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SANDYQ_UI_VENV:-$HOME/.cache/sandyq-ui/venv}"
if [ ! -x "$venv/bin/python3" ] && [ -z "${CI:-}" ]; then
    echo "evidence-e2e: SKIPPED: no venv at $venv (make it with: bash scripts/bootstrap.sh --ui)" >&2
    exit 0
fi
py=$(bash scripts/bootstrap.sh --ui | tail -1)
swift build --product sandyq >/dev/null
"$py" Tests/media/evidence_e2e.py --binary "$(swift build --show-bin-path)/sandyq" "$@"
