#!/usr/bin/env python3
"""Sync through a real SOCKS5 proxy (Debian's microsocks), as `sync --socks5` and `--via tor` do it
(issue 19). The proxy binds its outgoing connections to 127.0.0.2, so the server's own log proves
each session came through it: a reporter gets its admission and sends its case through the proxy,
the server sees only 127.0.0.2, and both nodes converge. Then a proxy that is gone, and options
that name two proxies, each fail with a clear message and move nothing."""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from sandyq_cli import CLI, admit_reporter, read_port_file  # noqa: E402

PASS = "correct horse battery staple"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="sandyq-socks-")
    cli = CLI(os.path.abspath(args.binary), root, PASS)
    procs = []
    checks = 0

    def check(cond, msg):
        nonlocal checks
        if not cond:
            raise AssertionError(msg)
        checks += 1

    try:
        c, r = os.path.join(root, "coordinator"), os.path.join(root, "reporter")
        cli.ok(c, ["init", "--kdf", "interactive"])
        cli.ok(c, ["project", "create", "Прокси сынағы"])
        cli.ok(c, ["case", "add", "--title", "Оралдағы тінту", "--person", "Асель Нұрланқызы"])
        cli.ok(r, ["init", "--kdf", "interactive"])
        admit_reporter(root, cli, c, cli, r)

        portfile, log = os.path.join(root, "serve.port"), open(os.path.join(root, "serve.log"), "w")
        serve = subprocess.Popen(cli.argv(c, ["serve", "--listen", "127.0.0.1:0", "--port-file", portfile]),
                                 env=cli.env, stdout=subprocess.DEVNULL, stderr=log)
        procs.append(serve)
        sport = read_port_file(portfile)
        pport = free_port()
        proxy = subprocess.Popen(["microsocks", "-i", "127.0.0.1", "-p", str(pport), "-b", "127.0.0.2"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proxy)
        wait_port(pport)

        via = ["--socks5", f"127.0.0.1:{pport}"]
        first = cli.json(r, ["sync", f"127.0.0.1:{sport}", *via])
        check(first["refused"] == 0 and first["received"] >= 1, f"the admission through the proxy: {first}")
        cli.ok(r, ["case", "add", "--title", "Атыраудағы жиын", "--person", "Ержан Тәжібаев"])
        second = cli.json(r, ["sync", f"127.0.0.1:{sport}", *via])
        check(second["refused"] == 0 and second["sent"] >= 1, f"the case through the proxy: {second}")
        titles = [x.get("title") for x in cli.json(c, ["case", "list"])]
        check("Атыраудағы жиын" in titles, f"the coordinator lacks the reporter's case: {titles}")
        # A name for the proxy to resolve, not this machine: `localhost` goes to microsocks as a name.
        third = cli.json(r, ["sync", f"localhost:{sport}", *via])
        check(third["refused"] == 0, f"a name resolved by the proxy: {third}")

        log.flush()
        time.sleep(0.3)
        lines = [x for x in open(os.path.join(root, "serve.log"), encoding="utf-8") if "peer " in x and "sent" in x]
        sources = {m.group(1) for x in lines for m in [re.search(r"peer (\d+\.\d+\.\d+\.\d+):\d+", x)] if m}
        check(len(lines) >= 3 and sources == {"127.0.0.2"}, f"the server saw sessions from {sources} ({len(lines)} lines), not only the proxy")

        before = cli.json(r, ["status"])["ops"]
        proxy.terminate()
        proxy.wait(timeout=10)
        gone = cli.run(r, ["sync", f"127.0.0.1:{sport}", *via], timeout=60)
        check(gone.returncode != 0 and f"cannot reach the SOCKS5 proxy at 127.0.0.1:{pport}" in gone.stderr,
              f"a proxy that is gone: exit {gone.returncode}: {gone.stderr.strip()[:300]}")
        both = cli.run(r, ["sync", f"127.0.0.1:{sport}", "--via", "tor", *via], timeout=60)
        check(both.returncode == 64 and "--via tor and --socks5" in both.stderr, f"two proxies: exit {both.returncode}: {both.stderr.strip()[:300]}")
        odd = cli.run(r, ["sync", f"127.0.0.1:{sport}", "--via", "carrier-pigeon"], timeout=60)
        check(odd.returncode == 64 and "--via takes 'tor' or 'direct'" in odd.stderr, f"--via carrier-pigeon: exit {odd.returncode}: {odd.stderr.strip()[:300]}")
        check(cli.json(r, ["status"])["ops"] == before, "a failed sync changed the reporter's store")
        print(f"socks-e2e: ok, {checks} checks; {len(lines)} sessions, all through the proxy (127.0.0.2)", flush=True)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(2)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if args.keep:
            print(f"socks-e2e: kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
