#!/usr/bin/env python3
"""`serve --onion` with the system's tor, started offline (DisableNetwork 1: tor makes the
service's address and keys without a network), with the real binary as separate processes
(issue 19). The address is printed and written; tor's copy of the service key lives only in a
private runtime directory outside the home, 0600, and no run of its secret bytes is in the home;
a restart publishes the same address (the key is sealed in the home); stopping removes the
directory and tor; `panic` removes it even when serve was killed before it could clean up. The
sync itself through an onion needs the Tor network, which this machine has not: the SOCKS5 path
members use (`sync --via tor`) is tested through a real proxy in socks_e2e.py."""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from sandyq_cli import CLI  # noqa: E402

PASS = "correct horse battery staple"
OFFLINE = ["--tor-option", "DisableNetwork 1"]


def tor_pids(marker):
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="sandyq-onion-")
    cli = CLI(os.path.abspath(args.binary), root, PASS)
    procs, checks = [], 0

    def check(cond, msg):
        nonlocal checks
        if not cond:
            raise AssertionError(msg)
        checks += 1

    def serve(home, name):
        addr = os.path.join(root, name + ".onion")
        p = subprocess.Popen(cli.argv(home, ["serve", "--listen", "127.0.0.1:0", "--onion", "--onion-file", addr, *OFFLINE]),
                             env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        for _ in range(1200):
            if os.path.exists(addr) and open(addr).read().strip():
                return p, open(addr).read().strip()
            if p.poll() is not None:
                raise AssertionError(f"serve --onion exited {p.returncode}: {p.stderr.read()[-600:]}")
            time.sleep(0.05)
        raise AssertionError("serve --onion published no address in 60 s")

    def runtime_dirs():
        return [d for base in ["/dev/shm", os.environ.get("XDG_RUNTIME_DIR") or "/nonexistent", tempfile.gettempdir()]
                for d in glob.glob(os.path.join(base, "sandyq-onion-*"))]

    def files_under(path):
        for dp, _, fs in os.walk(path):
            for f in fs:
                yield os.path.join(dp, f)

    try:
        home = os.path.join(root, "coordinator")
        cli.ok(home, ["init", "--kdf", "interactive"])
        cli.ok(home, ["project", "create", "Пияз қызметі"])
        before = set(runtime_dirs())
        p, address = serve(home, "first")
        check(re.fullmatch(r"[a-z2-7]{56}\.onion:\d+", address), f"the address: {address}")
        check(p.stdout.readline().strip() == address, "serve did not print the address it wrote")
        new = [d for d in runtime_dirs() if d not in before]
        check(len(new) == 1, f"runtime directories: {new}")
        rt = new[0]
        check(not rt.startswith(os.path.abspath(home)), "tor's directory is inside the home")
        key = os.path.join(rt, "hs", "hs_ed25519_secret_key")
        check(stat.S_IMODE(os.stat(key).st_mode) == 0o600 and stat.S_IMODE(os.stat(rt).st_mode) == 0o700, "modes of tor's files")
        secret = open(key, "rb").read()[32:]
        check(len(secret) == 64, "tor's key file has an unknown form")
        windows = {secret[i:i + 16] for i in range(0, 64 - 16 + 1)}
        leaks = [f for f in files_under(home) if any(w in open(f, "rb").read() for w in windows)]
        check(not leaks, f"the onion key's secret bytes are in the home, unsealed: {leaks}")
        check(tor_pids(rt), "no tor runs for the service")
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        check(not os.path.exists(rt), "stopping left tor's directory (and the key in it)")
        time.sleep(0.5)
        check(not tor_pids(rt), "stopping left tor running")

        # The same address again: the key came back from the home, sealed.
        p, again = serve(home, "second")
        check(again.split(":")[0] == address.split(":")[0], f"a restart published {again}, not {address}")
        # Killed before it could clean up: panic removes what tor was given.
        rt = [d for d in runtime_dirs() if d not in before][0]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        check(os.path.exists(os.path.join(rt, "hs", "hs_ed25519_secret_key")), "the killed serve's key file should still be there")
        report = json.loads(cli.ok(home, ["panic", "--yes", "--json"]))
        check(report.get("onionFilesRemoved") is True and not os.path.exists(rt), f"panic after a kill: {report}")
        end = time.time() + 40
        while tor_pids(rt) and time.time() < end:
            time.sleep(0.5)
        check(not tor_pids(rt), "tor outlived its owner by 40 s")
        print(f"onion-e2e: ok, {checks} checks; address {address.split('.')[0][:12]}….onion, same after a restart", flush=True)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for d in runtime_dirs():
            if d not in before:
                for pid in tor_pids(d):
                    os.kill(pid, signal.SIGKILL)
        if args.keep:
            print(f"onion-e2e: kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
