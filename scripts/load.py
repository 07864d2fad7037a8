#!/usr/bin/env python3
"""Load: one `sandyq serve` and many concurrent peers, each pushing its own ops and pulling everyone else's.

Every node is a real `sandyq` home driven through the CLI. The server founds the project and
admits each peer as a coordinator (so every peer can read every op and all digests must agree).
Each peer first syncs once (to learn the membership), then writes its own ops with one `case import` of a generated file (one op per case),
then all peers run `sandyq sync` against the server at once, round after round, until a round
in which every sync exits 0 leaves every store holding every op. Then `status --json` on every
node: same digest everywhere, and the server holds peers x ops + its setup ops.

While the syncs run, the server's VmRSS and VmHWM are sampled from /proc every 0.2 s. A round
that does not finish within --round-timeout seconds counts as a deadlock and ends the run.

Usage: load.py --bin PATH [--peers 20] [--ops 10000] [--jobs 2] [--max-rounds 8] [--keep]
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from sandyq_cli import CLI, Failure, Sampler

PASSPHRASE = "load test passphrase"


def op_set_digest(home):
    """BLAKE2b over the sorted op ids in the store: equal on nodes holding the same ops."""
    db = sqlite3.connect(f"file:{os.path.join(home, 'sandyq.db')}?mode=ro", uri=True, timeout=60)
    try:
        h = hashlib.blake2b(digest_size=16)
        for (i,) in db.execute("SELECT id FROM ops ORDER BY id"):
            h.update(bytes(i))
        return h.hexdigest()
    finally:
        db.close()


def stored_ops(home):
    """The op count, read from the store directly (cheap; the view is not built)."""
    db = sqlite3.connect(f"file:{os.path.join(home, 'sandyq.db')}?mode=ro", uri=True, timeout=60)
    try:
        return db.execute("SELECT count(*) FROM ops").fetchone()[0]
    finally:
        db.close()


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--peers", type=int, default=20)
    ap.add_argument("--ops", type=int, default=10000, help="ops each peer writes")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="setup, writes and status checks run this many at once")
    ap.add_argument("--max-rounds", type=int, default=8)
    ap.add_argument("--round-timeout", type=float, default=1800)
    ap.add_argument("--max-peers", type=int, default=32, help="serve --max-peers")
    ap.add_argument("--digest-sample", type=int, default=None,
                    help="run `status --json` on the server and this many peers only (default: every peer); "
                         "every node's op set is compared either way")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    root = tempfile.mkdtemp(prefix="sandyq-load-")
    cli = CLI(os.path.abspath(args.bin), root, PASSPHRASE)
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    homes = {name: os.path.join(root, name) for name in ["server"] + [f"p{i:02d}" for i in range(1, args.peers + 1)]}
    peers = [n for n in homes if n != "server"]
    server_home = homes["server"]
    figures = {"peers": args.peers, "ops per peer": args.ops}
    t0 = time.monotonic()
    serve = None
    sampler = None
    ok = False
    try:
        # ---- setup: the server founds the project and admits every peer as a coordinator
        ids = dict(zip(homes, pool.map(lambda n: cli.json(homes[n], ["init", "--kdf", "interactive"])["nodeId"], homes)))
        project = cli.json(server_home, ["project", "create", "Load"])["project"]
        key = cli.ok(server_home, ["project", "key"]).strip()
        list(pool.map(lambda n: cli.ok(homes[n], ["join", project, "--network-key", key]), peers))
        for n in peers:
            cli.ok(server_home, ["member", "add", ids[n], "--role", "coordinator"])
        setup_ops = stored_ops(server_home)
        # Each peer's first write also carries its reader-key announcement (it is a coordinator).
        expected = setup_ops + args.peers * (args.ops + 1)
        figures["setup"] = f"{time.monotonic() - t0:.1f} s"

        # ---- serve; each peer's first contact pins the server's key and learns the membership
        port_file = os.path.join(root, "port")
        log = open(os.path.join(root, "serve.log"), "wb")
        serve = subprocess.Popen(cli.argv(server_home, ["serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                                                        "--max-peers", str(args.max_peers)]),
                                 env=cli.env, cwd=root, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline:
            try:
                port = int(open(port_file).read().strip()) or None
            except (OSError, ValueError):
                time.sleep(0.05)
        if port is None:
            raise Failure("serve wrote no port file within 60 s")
        sampler = Sampler(serve.pid)
        sampler.sample()
        unlock_hwm = sampler.hwm  # Argon2id at unlock touches 64 MiB before any peer connects
        sampler.start()
        addr = f"127.0.0.1:{port}"
        list(pool.map(lambda n: cli.ok(homes[n], ["sync", addr, "--peer", ids["server"]]), peers))

        # ---- writes: each peer's own ops, one case import each
        def write(n):
            path = os.path.join(root, f"{n}.json")
            docs = [{"title": f"{n} case {i}", "ref": f"{n}-{i}", "city": "Almaty", "status": "detained",
                     "summary": f"Load case {i} written by {n}"} for i in range(args.ops)]
            with open(path, "w") as f:
                json.dump({"format": "sandyq-cases/1", "cases": docs}, f)
            t = time.monotonic()
            cli.ok(homes[n], ["case", "import", path], timeout=3600)
            os.unlink(path)
            return time.monotonic() - t
        t = time.monotonic()
        took = list(pool.map(write, peers))
        figures["writes"] = f"{time.monotonic() - t:.1f} s wall ({args.peers * args.ops:,} ops; one import {min(took):.1f}-{max(took):.1f} s)"
        for n in peers:
            got = stored_ops(homes[n])
            if got < args.ops:
                raise Failure(f"{n} holds {got} ops after writing {args.ops}")

        # ---- every peer syncing at once, round after round, until converged
        rounds = []
        t_sync = time.monotonic()
        converged = False
        for rnd in range(1, args.max_rounds + 1):
            t = time.monotonic()
            procs = {}
            for n in peers:
                out = open(os.path.join(root, f"{n}.sync{rnd}"), "w")
                procs[n] = (subprocess.Popen(cli.argv(homes[n], ["sync", addr, "--peer", ids["server"], "--json"]),
                                             env=cli.env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL), out)
            end = t + args.round_timeout
            failed, sent, received = [], 0, 0
            for n, (p, out) in procs.items():
                try:
                    p.wait(timeout=max(1, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    for q, _ in procs.values():
                        if q.poll() is None:
                            q.kill()
                    raise Failure(f"deadlock: round {rnd} did not finish within {args.round_timeout:.0f} s "
                                  f"(server log: {os.path.join(root, 'serve.log')})")
                out.close()
                text = open(os.path.join(root, f"{n}.sync{rnd}")).read()
                if p.returncode != 0:
                    failed.append(f"{n}: exit {p.returncode}: {text.strip().splitlines()[-1] if text.strip() else ''}")
                    continue
                o = json.loads(text[text.index("{"):])
                sent += o["sent"]
                received += o["received"]
            counts = {n: stored_ops(homes[n]) for n in homes}
            behind = [n for n, c in counts.items() if c != expected]
            rounds.append({"round": rnd, "seconds": round(time.monotonic() - t, 1), "failed": len(failed),
                           "sent": sent, "received": received, "server ops": counts["server"],
                           "nodes not yet holding every op": len(behind)})
            print(f"round {rnd}: {time.monotonic() - t:6.1f} s, {len(failed)} failed syncs, {sent:,} ops pushed, "
                  f"{received:,} pulled, server holds {counts['server']:,}/{expected:,}, {len(behind)} nodes behind; "
                  f"server RSS peak so far {mib(sampler.peak_rss)}", flush=True)
            for f in failed[:5]:
                print("  ", f, flush=True)
            if not failed and not behind:
                converged = True
                break
        figures["sync"] = f"{time.monotonic() - t_sync:.1f} s over {len(rounds)} rounds"
        figures["sync rounds"] = len(rounds)
        figures["failed syncs"] = sum(r["failed"] for r in rounds)
        sampler.stopped.set()
        sampler.sample()
        figures["server peak RSS (sampled VmRSS during syncs)"] = mib(sampler.peak_rss)
        figures["server VmHWM"] = f"{mib(sampler.hwm)} (after unlock, before any peer: {mib(unlock_hwm)})"
        figures["server threads (peak)"] = sampler.threads
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("serve did not stop within 60 s of SIGTERM")
        if not converged:
            raise Failure(f"not converged after {len(rounds)} rounds")

        # ---- the final word through the CLI: same digest and op count everywhere
        op_sets = {op_set_digest(h) for h in homes.values()}
        figures["distinct op sets (all nodes, read from SQLite)"] = len(op_sets)
        checked = ["server"] + peers[:args.digest_sample if args.digest_sample is not None else len(peers)]
        t = time.monotonic()
        statuses = dict(zip(checked, pool.map(lambda n: cli.json(homes[n], ["status"], timeout=7200), checked)))
        figures[f"final `status --json` on {len(checked)} nodes"] = f"{time.monotonic() - t:.1f} s"
        digests = {s["digest"] for s in statuses.values()}
        server_ops = statuses["server"]["ops"]
        lost = expected - server_ops
        figures["ops expected on every node"] = f"{expected:,} ({args.peers} x {args.ops:,} + {setup_ops} setup)"
        figures["server ops"] = f"{server_ops:,}"
        figures["lost ops"] = lost
        figures["nodes with a different op count"] = sum(1 for s in statuses.values() if s["ops"] != expected)
        figures["distinct digests (status --json)"] = len(digests)
        handshake = sum(1 for l in open(os.path.join(root, "serve.log"), errors="replace") if "connection ended" in l)
        figures["server log lines: connection ended early"] = handshake
        figures["wall time"] = f"{time.monotonic() - t0:.1f} s"
        ok = lost == 0 and len(digests) == 1 and len(op_sets) == 1 and figures["nodes with a different op count"] == 0
    except Failure as e:
        figures["FAILURE"] = str(e)
    finally:
        if serve and serve.poll() is None:
            serve.kill()
            serve.wait()
        if sampler:
            sampler.stopped.set()
        pool.shutdown()

    print()
    print("load: " + ("OK" if ok else "FAILED"))
    for k, v in figures.items():
        print(f"  {k}: {v}")
    if args.keep or not ok:
        print(f"homes and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
