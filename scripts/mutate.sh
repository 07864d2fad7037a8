#!/usr/bin/env bash
# Mutation checks: each breakage in scripts/mutations.txt, one at a time, must fail the tests
# named for it (RELIABILITY.md, "Mutation checks"). Arguments go to scripts/mutate.py:
#   bash scripts/mutate.sh                # all, each with its test filter
#   bash scripts/mutate.sh NAME --full    # one, against the whole suite
#   bash scripts/mutate.sh --check        # only check that every mutation still applies
# Last line: `drill mutations: ok N killed of N`, or FAILED and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec python3 scripts/mutate.py "$@"
