#!/usr/bin/env python3
"""`serve --onion` with the system's tor, started offline (DisableNetwork 1: tor makes the
service's address and keys without a network), with the real binary as separate processes
(issue 19). The address is printed and written; tor's copy of the service key lives only in a
private runtime directory outside the home, 0600, and no run of its secret bytes is in the home;
a restart publishes the same address (the key is sealed in the home); stopping removes the
directory and tor; `panic` removes it even when serve was killed before it could clean up.
With --onion-members-only, tor is given one authorized_clients key per current member and none
for a revoked one or for a project with no member yet, tor accepts them, and the private key
each member's `onion-auth` derives on its own side is the one whose public half the server
wrote (checked with the X25519 below, written from RFC 7748, not with Sandyq's library). The
sync itself through an onion needs the Tor network, which this machine has not: the SOCKS5 path
members use (`sync --via tor`) is tested through a real proxy in socks_e2e.py."""
import argparse
import base64
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


P25519 = 2 ** 255 - 19


def x25519(k, u):
    """RFC 7748's X25519, for checking tor's client-authorisation keys independently."""
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(bytes(k), "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = (x2 + z2) % P25519, (x2 - z2) % P25519
        aa, bb = a * a % P25519, b * b % P25519
        e = (aa - bb) % P25519
        c, d = (x3 + z3) % P25519, (x3 - z3) % P25519
        da, cb = d * a % P25519, c * b % P25519
        x3, z3 = (da + cb) ** 2 % P25519, x1 * (da - cb) ** 2 % P25519
        x2, z2 = aa * bb % P25519, e * (aa + 121665 * e) % P25519
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P25519 - 2, P25519) % P25519).to_bytes(32, "little")


def b32(text):
    return base64.b32decode(text + "=" * (-len(text) % 8))


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

    def serve(home, name, extra=()):
        addr = os.path.join(root, name + ".onion")
        p = subprocess.Popen(cli.argv(home, ["serve", "--listen", "127.0.0.1:0", "--onion", "--onion-file", addr, *OFFLINE, *extra]),
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

        # Members only: tor's client authorisation, one key per current member.
        a = os.path.join(root, "founder")
        cli.ok(a, ["init", "--kdf", "interactive"])
        project = cli.json(a, ["project", "create", "Тек мүшелер"])["project"]
        netkey = cli.ok(a, ["project", "key"]).strip()
        alone = subprocess.run(cli.argv(a, ["serve", "--listen", "127.0.0.1:0", "--onion", "--onion-members-only", *OFFLINE]),
                               env=cli.env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        check(alone.returncode != 0 and "no member" in alone.stderr, f"members-only with no member: {alone.returncode} {alone.stderr[-300:]}")
        ids = {}
        for name, role in (("b", "coordinator"), ("c", "reporter"), ("d", "reporter")):
            h = os.path.join(root, "member-" + name)
            cli.ok(h, ["init", "--kdf", "interactive"])
            cli.ok(h, ["join", project, "--network-key", netkey])
            ids[name] = cli.json(h, ["status"])["nodeId"]
            cli.ok(a, ["member", "add", ids[name], "--role", role])
        cli.ok(a, ["member", "revoke", ids["d"]])
        a_id = cli.json(a, ["status"])["nodeId"]
        before = set(runtime_dirs())
        p, onion = serve(a, "members", ["--onion-members-only"])
        rt = [d for d in runtime_dirs() if d not in before][0]
        auth = os.path.join(rt, "hs", "authorized_clients")
        files = sorted(os.listdir(auth))
        check(len(files) == 2 and all(f.endswith(".auth") for f in files), f"authorized_clients: {files}")
        check(stat.S_IMODE(os.stat(auth).st_mode) == 0o700, "mode of authorized_clients")
        published = set()
        for f in files:
            check(stat.S_IMODE(os.stat(os.path.join(auth, f)).st_mode) == 0o600, f"mode of {f}")
            line = open(os.path.join(auth, f)).read().strip()
            check(re.fullmatch(r"descriptor:x25519:[A-Z2-7]{52}", line), f"{f}: {line}")
            published.add(b32(line.split(":")[2]))
        derived = {}
        for name in ("b", "c", "d"):
            line = cli.ok(os.path.join(root, "member-" + name), ["onion-auth", onion, "--peer", a_id]).strip()
            m = re.fullmatch(r"([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})", line)
            check(m and m.group(1) + ".onion" == onion.split(":")[0], f"{name}'s onion-auth line: {line}")
            derived[name] = x25519(b32(m.group(2)), (9).to_bytes(32, "little"))
        check(derived["b"] in published and derived["c"] in published, "a member's own key is not the one the server authorised")
        check(derived["d"] not in published, "the revoked member's key is still authorised")
        log = open(os.path.join(rt, "tor.log")).read()
        warned = [x for x in log.splitlines() if ("[warn]" in x or "[err]" in x) and "auth" in x.lower()]
        check(not warned, f"tor complained about the client keys: {warned}")
        out = os.path.join(root, "onion_auth")
        os.mkdir(out, 0o700)
        written = cli.ok(os.path.join(root, "member-b"), ["onion-auth", onion, "--peer", a_id, "--write", out]).strip()
        check(written == os.path.join(out, onion.split(".")[0] + ".auth_private") and stat.S_IMODE(os.stat(written).st_mode) == 0o600,
              f"--write: {written}")
        bad = cli.run(os.path.join(root, "member-b"), ["onion-auth", "example.org", "--peer", a_id], 60)
        check(bad.returncode != 0 and "onion service" in bad.stderr, f"a wrong address: {bad.stderr[-200:]}")
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        check(not os.path.exists(rt), "stopping left the members-only service's directory")
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
