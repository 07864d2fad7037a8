#!/usr/bin/env bash
# The main job: real Sandyq nodes in a temporary directory, narrated.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
swift build -q 2>&1 | grep -v '^\[' || true
bin="$(swift build --show-bin-path)/sandyq"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandyq-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export SANDYQ_PASSPHRASE="demo passphrase, never use this one"
say() { printf '\n== %s\n' "$*"; }
sq() { echo "\$ sandyq $*" | sed "s#$work#\$DEMO#g"; "$bin" "$@"; }

say "A coordinator abroad creates a node and a project"
sq init --home "$work/coordinator" --kdf interactive
sq project create "Kazakhstan political cases" --home "$work/coordinator"

say "A second coordinator creates a node and joins"
sq init --home "$work/second" --kdf interactive >/dev/null
pid=$("$bin" status --home "$work/coordinator" --json | sed -n 's/.*"project" : "\(sqp-[a-z0-9]*\)".*/\1/p')
nid=$("$bin" status --home "$work/second" --json | sed -n 's/.*"nodeId" : "\(sqn-[a-z0-9]*\)".*/\1/p')
sq join "$pid" --home "$work/second"
sq member add "$nid" --role coordinator --home "$work/coordinator"

say "The coordinator imports the cases drawn from the seed documents"
sq case import seeds/cases.json --home "$work/coordinator"
sq case list --home "$work/coordinator" | head -8
echo "..."

say "One case in full"
first=$("$bin" case list --home "$work/coordinator" --json | sed -n 's/.*"id" : "\([0-9a-f]*\)".*/\1/p' | head -1)
sq case show "${first:0:8}" --home "$work/coordinator"

say "Status of both nodes"
sq status --home "$work/coordinator"
sq status --home "$work/second"

say "On disk there is only ciphertext: grep the store for a name from the seeds"
if grep -rq "Джакишев" "$work/coordinator"; then echo "FOUND plaintext on disk"; exit 1; else echo "no match for 'Джакишев' in $(ls "$work/coordinator" | tr '\n' ' ')"; fi

say "Integrity"
sq check --home "$work/coordinator"
