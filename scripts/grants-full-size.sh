#!/usr/bin/env bash
# The grant-splitting attacks at full size (issue 13): a reporter's 15,000 sealing sessions on a
# shared case, and `member add` of a coordinator on a 14,600-case project. Each built one grant
# op over the 1 MiB body limit and trapped every coordinator (exit 132). About 15 s each on an
# idle 2-core machine (debug); the suite runs them at a tenth of the size and of the limit.
# GrantSplitCLITests runs the first through real `sandyq` processes (about 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
SANDYQ_FULL_SIZE=1 swift test --filter 'GrantSplit' "$@"
