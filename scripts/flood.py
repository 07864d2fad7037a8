#!/usr/bin/env python3
"""Flood: do members still sync while strangers and a network-key holder flood `serve`?

One `sandyq serve` (the founder) and --members members (coordinators), each a real home
driven through the CLI. Rounds alternate, quiet then flooded, --rounds of each: before a
round every member writes one case, then all members run `sandyq sync` at once; a round
records each sync's wall time and whether it succeeded.

During a flooded round, and from a few seconds before it, attackers on other loopback
addresses (127.0.0.2 and up stand for other hosts) hold --attackers silent sockets (two per
address, reopened as soon as the server closes one) and run a message-1 flood: garbage that
looks like a message 1, one recorded message 1 sent again and again, and fresh, valid
message 1s made with the network key (a revoked member keeps it) that either never send
message 3 or hang up on message 2 and start again (each answer costs the server an X25519
and an Ed25519 signature).
Every attacker connection is counted.

Prints, for each kind of round, the median and slowest sync and the round's wall time, the
ratio flooded / quiet, the failures (must be 0), how many bytes the server's log grew per
flooded second, and the server's peak RSS. Bounded: each round has a timeout, the flood
stops with its round.

Usage: flood.py --bin PATH [--members 20] [--attackers 200] [--rounds 3] [--keep] [--json FILE]
"""
import argparse
import hashlib
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sandyq_cli import CLI, Failure, Sampler

PASSPHRASE = "flood test passphrase"


def message1(nk):
    """A valid message 1 (Protocol/handshake.md): version, an ephemeral key, the clock, and the MAC under the network key."""
    body = b"\x01" + os.urandom(32) + struct.pack(">Q", int(time.time() * 1000))
    return body + hashlib.blake2b(b"sandyq-hs1" + body, digest_size=32, key=nk).digest()


class Flood(threading.Thread):
    """Keeps `count` connections open from `sources` (round robin), each sending `payload()`
    once; reopens whichever the server closes. Stops on `stop` or after `seconds`."""

    def __init__(self, port, sources, count, payload, seconds, hang_up_on_answer=False):
        super().__init__(daemon=True)
        self.port, self.sources, self.count, self.payload, self.seconds = port, sources, count, payload, seconds
        self.hang_up = hang_up_on_answer
        self.stop = threading.Event()
        self.connects = 0
        self.failed_connects = 0
        self.answered = 0

    def run(self):
        sel = selectors.DefaultSelector()
        end = time.monotonic() + self.seconds
        live = 0
        i = 0
        while not self.stop.is_set() and time.monotonic() < end:
            while live < self.count and not self.stop.is_set():
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(1)
                try:
                    s.bind((self.sources[i % len(self.sources)], 0))
                    s.connect(("127.0.0.1", self.port))
                    p = self.payload()
                    if p:
                        s.sendall(p)
                    s.setblocking(False)
                except OSError:
                    s.close()
                    self.failed_connects += 1
                    time.sleep(0.002)
                    break
                i += 1
                sel.register(s, selectors.EVENT_READ)
                live += 1
                self.connects += 1
            for key, _ in sel.select(timeout=0.02):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    self.answered += len(data)
                    if not self.hang_up:
                        continue
                sel.unregister(s)
                s.close()
                live -= 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--attackers", type=int, default=200, help="silent attacker sockets held open")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each kind, alternating quiet and flooded")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds the flood runs before a flooded round starts")
    ap.add_argument("--round-timeout", type=float, default=300)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="sandyq-flood-")
    cli = CLI(os.path.abspath(args.bin), root, PASSPHRASE)
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    homes = {n: os.path.join(root, n) for n in ["server"] + [f"m{i:02d}" for i in range(1, args.members + 1)]}
    members = [n for n in homes if n != "server"]
    fig = {"members": args.members, "attacker sockets": args.attackers}
    serve = sampler = None
    ok = False
    try:
        ids = dict(zip(homes, pool.map(lambda n: cli.json(homes[n], ["init", "--kdf", "interactive"])["nodeId"], homes)))
        project = cli.json(homes["server"], ["project", "create", "Flood"])["project"]
        key = cli.ok(homes["server"], ["project", "key"]).strip()
        nk = bytes.fromhex(key)
        list(pool.map(lambda n: cli.ok(homes[n], ["join", project, "--network-key", key]), members))
        for n in members:
            cli.ok(homes["server"], ["member", "add", ids[n], "--role", "coordinator"])

        port_file = os.path.join(root, "port")
        log_path = os.path.join(root, "serve.log")
        log = open(log_path, "wb")
        serve = subprocess.Popen(cli.argv(homes["server"], ["serve", "--listen", "127.0.0.1:0", "--port-file", port_file]),
                                 env=cli.env, cwd=root, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            try:
                port = int(open(port_file).read().strip()) or None
            except (OSError, ValueError):
                time.sleep(0.05)
        if port is None:
            raise Failure("serve wrote no port file within 60 s")
        sampler = Sampler(serve.pid)
        sampler.start()
        addr = f"127.0.0.1:{port}"
        list(pool.map(lambda n: cli.ok(homes[n], ["sync", addr, "--peer", ids["server"]]), members))

        def sync_round(tag):
            list(pool.map(lambda n: cli.ok(homes[n], ["case", "add", "--title", f"{n} {tag}"]), members))
            procs = {}
            t0 = time.monotonic()
            for n in members:
                procs[n] = (time.monotonic(), subprocess.Popen(cli.argv(homes[n], ["sync", addr, "--json"]), env=cli.env, cwd=root,
                                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True))
            times, failures = [], []
            for n, (start, p) in procs.items():
                try:
                    out, err = p.communicate(timeout=max(1, t0 + args.round_timeout - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, err = p.communicate()
                    failures.append(f"{n}: timed out")
                    continue
                times.append(time.monotonic() - start)
                if p.returncode != 0:
                    failures.append(f"{n}: exit {p.returncode}: {err.strip()[-300:]}")
            return {"wall": time.monotonic() - t0, "times": times, "failures": failures}

        def start_floods(seconds):
            src = lambda a, b: [f"127.0.{a}.{i}" for i in range(b[0], b[1])]
            recorded = message1(nk)
            floods = {
                # two silent sockets per address, over attackers/2 addresses
                "silent": Flood(port, src(0, (2, 2 + max(1, args.attackers // 2))), args.attackers, lambda: b"", seconds),
                "garbage message 1": Flood(port, src(1, (1, 5)), 40, lambda: b"\x01" + os.urandom(72), seconds),
                "replayed message 1": Flood(port, src(2, (1, 5)), 40, lambda: recorded, seconds),
                "valid message 1, no message 3": Flood(port, src(3, (1, 16)), 120, lambda: message1(nk), seconds),
                # each answer costs the server an X25519 and a signature: hang up and ask again
                "valid message 1, hang up on message 2": Flood(port, src(4, (1, 5)), 20, lambda: message1(nk), seconds,
                                                               hang_up_on_answer=True),
            }
            for f in floods.values():
                f.start()
            return floods

        quiet, flooded, attack = [], [], {}
        log_growth = []
        for r in range(args.rounds):
            q = sync_round(f"quiet {r}")
            quiet.append(q)
            print(f"quiet round {r + 1}: {q['wall']:.2f} s wall, median sync {statistics.median(q['times']):.2f} s, "
                  f"{len(q['failures'])} failed", flush=True)
            floods = start_floods(args.warmup + args.round_timeout)
            time.sleep(args.warmup)
            size0, t0 = os.path.getsize(log_path), time.monotonic()
            f = sync_round(f"flood {r}")
            elapsed = time.monotonic() - t0
            for fl in floods.values():
                fl.stop.set()
            for fl in floods.values():
                fl.join(10)
            log_growth.append((os.path.getsize(log_path) - size0) / max(elapsed, 0.001))
            for k, fl in floods.items():
                a = attack.setdefault(k, {"connections": 0, "bytes answered": 0, "failed connects": 0})
                a["connections"] += fl.connects
                a["bytes answered"] += fl.answered
                a["failed connects"] += fl.failed_connects
            flooded.append(f)
            print(f"flooded round {r + 1}: {f['wall']:.2f} s wall, median sync {statistics.median(f['times']):.2f} s, "
                  f"{len(f['failures'])} failed; attacker connections so far "
                  f"{sum(a['connections'] for a in attack.values()):,}", flush=True)
            for x in f["failures"][:5]:
                print("   ", x, flush=True)

        def summary(rounds):
            all_times = [t for r in rounds for t in r["times"]]
            return {"median sync s": round(statistics.median(all_times), 3), "slowest sync s": round(max(all_times), 3),
                    "median round wall s": round(statistics.median(r["wall"] for r in rounds), 3),
                    "failed syncs": sum(len(r["failures"]) for r in rounds), "syncs": sum(len(r["times"]) for r in rounds)}
        fig["quiet"] = summary(quiet)
        fig["flooded"] = summary(flooded)
        fig["ratio flooded / quiet, median sync"] = round(fig["flooded"]["median sync s"] / fig["quiet"]["median sync s"], 2)
        fig["ratio flooded / quiet, round wall"] = round(fig["flooded"]["median round wall s"] / fig["quiet"]["median round wall s"], 2)
        fig["attack"] = attack
        fig["server log growth while flooded, bytes/s (max of rounds)"] = round(max(log_growth))
        sampler.stopped.set()
        fig["server peak RSS MiB"] = round(sampler.peak_rss / 1024)
        fig["server peak threads"] = sampler.threads
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        ok = fig["quiet"]["failed syncs"] == 0 and fig["flooded"]["failed syncs"] == 0
    except (Failure, subprocess.TimeoutExpired) as e:
        fig["FAILURE"] = str(e)
    finally:
        if serve and serve.poll() is None:
            serve.kill()
            serve.wait()
        if sampler:
            sampler.stopped.set()
        pool.shutdown()

    print()
    print("flood: " + ("OK" if ok else "FAILED"))
    print(json.dumps(fig, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=2)
    if args.keep or not ok:
        print(f"homes and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
