#!/usr/bin/env bash
# Installs sandyq-bench's side-by-side peers, idempotently and quietly: the age tool (Debian)
# and a Python venv at $1 with pinned CRDT libraries (PyPI). Whatever cannot be installed
# (no network, say) is left out; the bench then reports that peer as not run.
#
#   bash scripts/peers/install.sh VENV_DIR
set -uo pipefail
venv="${1:?usage: install.sh VENV_DIR}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

if ! command -v age >/dev/null 2>&1; then
  echo "peers: installing age" >&2
  export DEBIAN_FRONTEND=noninteractive
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq age; } >/dev/null 2>&1 \
    || echo "peers: could not install age (pyrage is tried instead)" >&2
fi

if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  # Debian's own python3 makes venvs only with python3-venv installed.
  python3 -m venv "$venv" >/dev/null 2>&1 \
    || { { $SUDO apt-get install -y -qq python3-venv >/dev/null 2>&1 || true; } && python3 -m venv "$venv" >/dev/null 2>&1; } \
    || { echo "peers: cannot make a Python venv at $venv; the Python peers will not run" >&2; exit 0; }
fi
py="$venv/bin/python"
have() { "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('$1') != '$2')" 2>/dev/null; }
get() {
  have "${1%%==*}" "${1##*==}" && return 0
  echo "peers: installing $1" >&2
  "$py" -m pip install --disable-pip-version-check -q --timeout 30 --retries 1 --pre "$1" >/dev/null 2>&1 \
    || echo "peers: could not install $1" >&2
}
# Pinned, so runs on different days compare the same code.
get loro==1.17.1
get pycrdt==0.14.13
get automerge==1.0.0rc1
command -v age >/dev/null 2>&1 || get pyrage==1.4.0
exit 0
