#!/usr/bin/env bash
# Installs what the build needs on a fresh Debian machine (libsodium-dev and libqrencode-dev are not there by default).
#
#   bash scripts/bootstrap.sh            # the build and the test suite
#   bash scripts/bootstrap.sh --drills   # ... and what the CI drills need (scripts/ci-drills.sh):
#                                        # python3 with PyNaCl for the vector generators, chromium for
#                                        # the report check, the toolchain's libFuzzer for Fuzz/
#   bash scripts/bootstrap.sh --ui       # ... and what the web app's browser tests need: chromium,
#                                        # chromium-driver, exiftool, zbarimg, and a venv with Selenium,
#                                        # axe-core 4.12 and Pillow
#
# With --drills it prints the python3 that imports PyNaCl on its last line of stdout; with --ui,
# the venv's python3.
set -euo pipefail

drills=0 ui=0
case "${1:-}" in
  "") ;;
  --drills) drills=1 ;;
  --ui) ui=1 ;;
  *) echo "usage: scripts/bootstrap.sh [--drills|--ui]" >&2; exit 64 ;;
esac

need=()
pkg-config --exists libsodium 2>/dev/null || need+=(libsodium-dev)
pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
pkg-config --exists libqrencode 2>/dev/null || need+=(libqrencode-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# A SOCKS5 proxy for the end-to-end test of `sync --socks5` (scripts/socks-e2e.sh).
command -v microsocks >/dev/null 2>&1 || need+=(microsocks)
# Two Syncthing instances carry a mailbox folder in scripts/syncthing-e2e.sh.
command -v syncthing >/dev/null 2>&1 || need+=(syncthing)
# `serve --onion` runs the system's tor (scripts/onion-e2e.sh starts it offline).
command -v tor >/dev/null 2>&1 || need+=(tor)
# scripts/lan-e2e.sh joins two network namespaces with a veth pair.
command -v ip >/dev/null 2>&1 || need+=(iproute2)

# PyNaCl: the python3 on PATH may be a pyenv or venv one; Debian's package serves /usr/bin/python3,
# and the drills use whichever of the two imports it.
has_nacl() { [ -x "$1" ] && "$1" -c 'import nacl.bindings' >/dev/null 2>&1; }
path_python="$(command -v python3 || true)"
# The vectors drill, and scripts/lan-e2e.sh's second reader of the LAN beacon, need it.
[ -x /usr/bin/python3 ] || need+=(python3)
if ! { [ -n "$path_python" ] && has_nacl "$path_python"; } && ! has_nacl /usr/bin/python3; then need+=(python3-nacl); fi
if [ "$drills" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
if [ "$ui" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
  # The media tests' second reader of EXIF (scripts/media-test.sh).
  command -v exiftool >/dev/null 2>&1 || need+=(libimage-exiftool-perl)
  # An independent reader of the invitation's QR code on the desk (Tests/ui/desk_test.py).
  command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v swift >/dev/null 2>&1 || { echo "bootstrap: no swift toolchain on PATH (Swift 6.x needed)" >&2; exit 1; }

if [ "$ui" = 1 ]; then
  # Pinned (4.53 wants a certifi newer than the mirror has): the tests read axe-core's result format and Selenium's driver API.
  venv="${SANDYQ_UI_VENV:-$HOME/.cache/sandyq-ui/venv}"
  # Pillow writes and decodes the media tests' images (scripts/media-test.sh).
  if ! "$venv/bin/python3" -c 'import selenium, axe_selenium_python, PIL' >/dev/null 2>&1; then
    echo "bootstrap: making $venv (selenium, axe-selenium-python, Pillow)" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q selenium==4.51.0 axe-selenium-python==2.1.6 Pillow==12.0.0 >&2
  fi
  # A current axe-core (4.12) comes as the axe.min.js inside this package; the tests read the file
  # and inject it themselves, so its Playwright dependency is not needed (--no-deps).
  if ! "$venv/bin/python3" -c 'import importlib.metadata as m; m.distribution("axe-playwright-python")' >/dev/null 2>&1; then
    echo "bootstrap: adding axe-core 4.12 to $venv (axe-playwright-python, no deps)" >&2
    "$venv/bin/pip" install -q --no-deps axe-playwright-python==0.1.8 >&2 || {
      echo "bootstrap: WARNING: axe-playwright-python did not install; the browser tests fall back to axe-selenium-python's axe-core 3.x of 2018" >&2
    }
  fi
  echo "$venv/bin/python3"
  exit 0
fi
[ "$drills" = 1 ] || exit 0

# libFuzzer comes with the Swift toolchain's clang runtime, not from apt (it must match that clang).
toolchain="$(dirname "$(readlink -f "$(command -v swift)")")/.."
if ! ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1; then
  echo "bootstrap: the Swift toolchain at $toolchain has no libclang_rt.fuzzer (Fuzz/ needs the full Linux toolchain)" >&2
  exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "bootstrap: chromium is still missing after apt-get" >&2; exit 1; }
for py in "$path_python" /usr/bin/python3; do
  if [ -n "$py" ] && has_nacl "$py"; then echo "$py"; exit 0; fi
done
echo "bootstrap: no python3 imports PyNaCl (tried ${path_python:-none} and /usr/bin/python3)" >&2
exit 1
