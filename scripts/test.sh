#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, lints, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/lint.sh
swift build
swift test "$@"
