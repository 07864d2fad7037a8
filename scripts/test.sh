#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, lints, builds, tests,
# then drives the web app in a real browser (scripts/ui-test.sh), checks stripped media with
# Pillow and exiftool (scripts/media-test.sh) and carries evidence files between three real
# nodes, by stick and by a cut TCP sync (scripts/evidence-e2e.sh), syncs through a SOCKS5
# proxy (scripts/socks-e2e.sh), a mailbox folder carried by Syncthing (scripts/syncthing-e2e.sh)
# an onion service with tor offline (scripts/onion-e2e.sh) and LAN discovery between two
# network namespaces (scripts/lan-e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/lint.sh
swift build
swift test "$@"
# The browser tests of the web app, unless the call picked its own tests.
if [ $# -eq 0 ]; then bash scripts/ui-test.sh; fi
# Metadata stripping checked by other readers (Pillow, exiftool), likewise.
if [ $# -eq 0 ]; then bash scripts/media-test.sh; fi
# Evidence files end to end across three nodes, likewise.
if [ $# -eq 0 ]; then bash scripts/evidence-e2e.sh; fi
# Syncs through a real SOCKS5 proxy (microsocks), likewise.
if [ $# -eq 0 ]; then bash scripts/socks-e2e.sh; fi
# A mailbox folder carried by two real Syncthing instances, likewise.
if [ $# -eq 0 ]; then bash scripts/syncthing-e2e.sh; fi
# An onion service from `serve --onion`, tor started offline, likewise.
if [ $# -eq 0 ]; then bash scripts/onion-e2e.sh; fi
# `serve --lan` found by `sync --lan` across two network namespaces, likewise.
if [ $# -eq 0 ]; then bash scripts/lan-e2e.sh; fi
