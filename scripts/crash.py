#!/usr/bin/env python3
"""Crash drill: SIGKILL the real `sandyq` at seeded random moments and check what survives.

Nodes (separate homes, separate processes):
  A  founder and coordinator; every case write runs here; `sandyq serve` runs here throughout
  B  coordinator that imports 10 cases before each of its syncs, so both directions carry ops
  C  coordinator restored to its empty snapshot before each bundle import (imports A's whole log)
  D  coordinator restored to its empty snapshot before each full pull over TCP
  E  coordinator holding its own seed cases, restored to that snapshot before each `case import`
     (so the drill's running time does not grow with every import)

Step kinds:
  case_add, case_edit, event_add (on A), case_import (on E)
  bundle_export (A, --all, to C), bundle_import (C)
  sync_client (B syncs with A; B killed), sync_pull (D pulls all from A; D killed),
  sync_server (A's `serve` killed while B or D syncs)

Every `sandyq` the drill may kill runs with SANDYQ_PHASE_FILE set: it appends `unlocked`,
`write` and `done` lines as it reaches them (Sources/sandyq/PhaseFile.swift). Each kill is
aimed after a phase (70 % at the start of the write, 20 % at the unlock, 10 % at the start),
a seeded fraction of that phase's span as measured in the kind's unkilled runs (for the write,
the fastest seen), and is
classified by the last phase the killed process wrote: before unlock, unlocked (not writing),
inside the write, or after completion (`done` written, or the process had exited). For
sync_server, the phases are the client's.

After every kill: `check` is clean on every node the kill touched; every op any node held
after a command that exited 0 is still in its store (read with SQLite directly after `check`;
every tenth kill and at the end through `sandyq log --json` and `status --json` instead);
`status --json` shows no gap in the node's own chain; every case, tag and event an acknowledged command reported is in its `export --format
csv`; a `case import` landed all of its cases or none; what a killed `bundle export` left under
the bundle's name (the previous bundle is kept there, so there always is a file) imports cleanly
into a fresh node; the interrupted step, run again, exits 0; a completed export leaves no
`.partial-*` file; after a rerun sync or import, both sides show the same digest and no gap.

The last line printed is a one-line summary; the exit code is 0 with no failure, else 1.

Usage: crash.py --bin PATH [--kills N] [--seed S] [--keep] [--verbose]
"""
import argparse
import csv
import sqlite3
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from sandyq_cli import cli_env

PASSPHRASE = "crash drill passphrase"
SEED_CASES = 200  # A's cases before the drill: what a full pull or a bundle carries
IMPORT_CASES = 300  # cases per `case import` file: enough that a kill often lands inside it
B_CASES = 10  # cases B imports before each of its syncs: what it pushes
TIMEOUT = 180  # any single command longer than this counts as a hang


class Failure(Exception):
    pass


class Runner:
    def __init__(self, binary, root):
        self.binary = binary
        self.root = root
        self.env = cli_env(root, PASSPHRASE)
        self.env["SWIFT_BACKTRACE"] = "enable=no"
        self.calls = 0

    def argv(self, home, args):
        return [self.binary] + args + ["--home", home]

    def run(self, home, args, timeout=TIMEOUT):
        self.calls += 1
        try:
            p = subprocess.run(self.argv(home, args), env=self.env, cwd=self.root, capture_output=True,
                               text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure(f"hang: sandyq {' '.join(args)} ran over {timeout} s")
        return p

    def ok(self, home, args, what=""):
        p = self.run(home, args)
        if p.returncode != 0:
            raise Failure(f"{what}sandyq {' '.join(args)} exited {p.returncode}: {p.stderr.strip()[:500]}")
        return p.stdout

    def json(self, home, args, what=""):
        return json.loads(self.ok(home, args + ["--json"], what))

    def spawn(self, home, args, log):
        self.calls += 1
        f = open(log, "ab")
        p = subprocess.Popen(self.argv(home, args), env=self.env, cwd=self.root, stdout=f, stderr=f,
                             stdin=subprocess.DEVNULL)
        f.close()
        return p


class Node:
    def __init__(self, name, home):
        self.name = name
        self.home = home
        self.id = ""
        self.fingerprint = ""
        self.ops = set()    # op ids this node held after a command that exited 0: must never go
        self.facts = set()  # ("case", id) / ("tag", case, tag) / ("event", case, event) acknowledged here
        self.snapshot = (set(), set())  # the ledger of the snapshot it is restored to

    def stored_ids(self):
        """Op ids in the store, read directly (after `check` or an exit 0: never mid-recovery)."""
        db = sqlite3.connect(f"file:{os.path.join(self.home, 'sandyq.db')}?mode=ro", uri=True, timeout=30)
        try:
            return {bytes(r[0]).hex() for r in db.execute("SELECT id FROM ops")}
        finally:
            db.close()


LANDINGS = ["before unlock", "unlocked", "inside write", "after completion"]
AIMS = ["start", "unlocked", "write"]


def read_phases(path):
    """[(phase, CLOCK_MONOTONIC seconds)] the CLI wrote to its phase file, in order."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) == 2:
            try:
                out.append((parts[0], float(parts[1])))
            except ValueError:
                pass
    return out


def phase_time(phases, name):
    return next((t for n, t in phases if n == name), None)


def landing(phases, running):
    """Where a kill landed: the last phase written, or after completion if it had exited."""
    if not running:
        return "after completion"
    last = phases[-1][0] if phases else None
    return {None: "before unlock", "unlocked": "unlocked", "write": "inside write"}.get(last, "after completion")


def sleep_until(proc, t):
    while proc.poll() is None:
        left = t - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.002))


def wait_phase(proc, path, name, timeout=TIMEOUT):
    """Waits until `name` is in the phase file; its time, or None if the process ended without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = phase_time(read_phases(path), name)
        if t is not None:
            return t
        if proc.poll() is not None:
            return phase_time(read_phases(path), name)
        time.sleep(0.0003)
    return None


class Drill:
    def __init__(self, run, root, rng, verbose):
        self.r = run
        self.root = root
        self.rng = rng
        self.verbose = verbose
        self.nodes = {}
        self.server = None
        self.port = None
        # step kind -> (start to unlocked, unlocked to write, write to done) averaged over its
        # unkilled runs, and the fastest write to done seen (s)
        self.timing = {}
        self.aim = ("write", 0.0)  # this kill's phase to aim after, and the fraction of its span
        self.phase_runs = 0
        self.last_where = None  # where this round's kill landed
        self.lost = 0  # acknowledged ops found missing, over all failures
        self.stats = defaultdict(Counter)
        self.failures = []
        self.notes = Counter()
        self.export_file = os.path.join(root, "out", "a-to-c.sqb")
        self.export_digest = None
        self.export_time = 0.0
        self.export_ops = None
        self.export_facts = set()
        self.round = 0

    # ---- setup -------------------------------------------------------------------------

    def node(self, name):
        n = Node(name, os.path.join(self.root, name))
        o = self.r.json(n.home, ["init", "--kdf", "interactive"])
        n.id = o["nodeId"]
        n.fingerprint = o["fingerprint"]
        self.nodes[name] = n
        return n

    def setup(self):
        os.makedirs(os.path.join(self.root, "out"))
        os.makedirs(os.path.join(self.root, "snap"))
        os.makedirs(os.path.join(self.root, "logs"))
        a, b, c, d, e = (self.node(x) for x in "ABCDE")
        project = self.r.json(a.home, ["project", "create", "Crash drill"])["project"]
        key = self.r.ok(a.home, ["project", "key"]).strip()
        for x in (b, c, d, e):
            self.r.ok(x.home, ["join", project, "--network-key", key])
            self.r.ok(a.home, ["member", "add", x.id, "--role", "coordinator"])
        seed = self.cases_file("seed", SEED_CASES)
        self.cases = self.r.json(a.home, ["case", "import", seed])["imported"]
        a.facts |= {("case", x) for x in self.cases}
        # E learns the membership from A once, then holds cases of its own.
        self.start_server()
        self.r.ok(e.home, ["sync", self.addr, "--peer", a.id, "--json"])
        e.facts |= {("case", x) for x in self.r.json(e.home, ["case", "import", self.cases_file("e-seed", 200)])["imported"]}
        e.ops = e.stored_ids()
        e.snapshot = (set(e.ops), set(e.facts))
        # C and D as they are before their first exchange; E with its seed cases.
        for x in (c, d, e):
            shutil.copytree(x.home, os.path.join(self.root, "snap", x.name), symlinks=True)
        self.r.ok(b.home, ["sync", self.addr, "--peer", a.id, "--json"])
        # A first unkilled run of each kind, to learn its phase times.
        for kind in self.kinds:
            self.step(kind, kill=False)
        for x in self.nodes.values():
            self.refresh_ops(x)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start_server(self):
        a = self.nodes["A"]
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        listen = f"127.0.0.1:{self.port or 0}"
        self.server = self.r.spawn(a.home, ["serve", "--listen", listen, "--port-file", port_file],
                                   os.path.join(self.root, "logs", "serve.log"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise Failure(f"serve exited {self.server.returncode} at start")
            try:
                p = int(open(port_file).read().strip())
                if p:
                    self.port = p
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        raise Failure("serve wrote no port file within 60 s")

    def stop_server(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
                raise Failure("serve did not stop within 30 s of SIGTERM")

    def restore(self, name):
        n = self.nodes[name]
        shutil.rmtree(n.home)
        shutil.copytree(os.path.join(self.root, "snap", name), n.home, symlinks=True)
        n.ops, n.facts = set(n.snapshot[0]), set(n.snapshot[1])

    # ---- reading a node ----------------------------------------------------------------

    def log(self, n):
        return self.r.json(n.home, ["log"], f"{n.name}: ")

    def refresh_ops(self, n):
        """After a command exited 0: everything held now must stay."""
        n.ops |= n.stored_ids()

    def cases_file(self, name, count):
        path = os.path.join(self.root, "out", f"{name}.json")
        docs = [{"title": f"{name} {i}", "ref": f"{name}-{i}", "city": "Shymkent", "status": "detained",
                 "summary": f"Case {i} of {name}: " + "x" * 200} for i in range(count)]
        with open(path, "w") as f:
            json.dump({"format": "sandyq-cases/1", "cases": docs}, f)
        return path

    def status(self, n, no_gaps=False):
        """`status --json`; fails on a gap in the node's own chain, or with `no_gaps` on any gap."""
        s = self.r.json(n.home, ["status"], f"{n.name}: ")
        for g in s.get("gaps", []):
            if g.get("author") == n.fingerprint:
                raise Failure(f"{n.name}: its own chain has a gap: seqs {g.get('missing')} missing")
            if no_gaps:
                raise Failure(f"{n.name}: after the rerun, author {g.get('author')}'s chain lacks seqs {g.get('missing')}")
        return s

    def digest(self, n):
        return self.status(n, no_gaps=True).get("digest")

    def export(self, n):
        text = self.r.ok(n.home, ["export", "--format", "csv"], f"{n.name}: ")
        facts = set()
        refs = Counter()
        seen_case = set()
        for row in csv.DictReader(io.StringIO(text)):
            cid = row["case_id"]
            facts.add(("case", cid))
            if row["collection"] == "tags":
                facts.add(("tag", cid, row["element"]))
            elif row["collection"] == "events":
                facts.add(("event", cid, row["element"]))
            if row["field"] == "ref" and not row["collection"] and cid not in seen_case:
                seen_case.add(cid)
                refs[row["value"]] += 1
        return facts, refs

    def cli_ledger(self, n):
        """The ledger against what `sandyq log --json` and `status --json` report."""
        rows = self.log(n)
        held = {row["id"] for row in rows}
        lost = n.ops - held
        if lost:
            self.lost += len(lost)
            raise Failure(f"{n.name}: {len(lost)} acknowledged op(s) missing from `log`, e.g. {sorted(lost)[:3]}")
        mine = sorted(row["seq"] for row in rows if row["author"] == n.fingerprint)
        if mine != list(range(1, len(mine) + 1)):
            raise Failure(f"{n.name}: its own chain has gaps: seqs {mine[:5]}...{mine[-5:]}")
        count = self.r.json(n.home, ["status"], f"{n.name}: ")["ops"]
        if count != len(held) or count < len(n.ops):
            raise Failure(f"{n.name}: status counts {count} ops, log lists {len(held)}, the ledger holds {len(n.ops)}")

    def verify(self, n, import_refs=None):
        """The invariants on one node after a kill."""
        through_cli = self.round % 10 == 0
        p = self.r.run(n.home, ["check"])
        if p.returncode != 0:
            raise Failure(f"{n.name}: check exited {p.returncode}: {(p.stdout + p.stderr).strip()[:800]}")
        if through_cli:
            self.cli_ledger(n)
        else:
            lost = n.ops - n.stored_ids()
            if lost:
                self.lost += len(lost)
                raise Failure(f"{n.name}: {len(lost)} acknowledged op(s) missing from the store, e.g. {sorted(lost)[:3]}")
            self.status(n)
        if n.facts or import_refs:
            facts, refs = self.export(n)
            missing = n.facts - facts
            if missing:
                raise Failure(f"{n.name}: {len(missing)} acknowledged record(s) missing, e.g. {sorted(missing)[:3]}")
            if import_refs:
                prefix, count = import_refs
                landed = sum(v for k, v in refs.items() if k.startswith(prefix))
                if landed not in (0, count):
                    raise Failure(f"{n.name}: a killed case import landed {landed} of its {count} cases")
                return landed
        return None

    # ---- steps -------------------------------------------------------------------------

    kinds = ["case_add", "case_edit", "event_add", "case_import", "bundle_export", "bundle_import",
             "sync_client", "sync_pull", "sync_server"]

    def phased(self, node, args, stdout):
        """Starts `sandyq args` with a fresh phase file, stderr to logs/last.err; (process, phase file, start time)."""
        self.phase_runs += 1
        path = os.path.join(self.root, "logs", f"phases-{self.phase_runs}")
        env = dict(self.r.env, SANDYQ_PHASE_FILE=path)
        self.r.calls += 1
        started = time.monotonic()
        with open(os.path.join(self.root, "logs", "last.err"), "wb") as err:
            proc = subprocess.Popen(self.r.argv(node.home, args), env=env, cwd=self.root, stdout=stdout,
                                    stderr=err, stdin=subprocess.DEVNULL)
        return proc, path, started

    def last_err(self):
        with open(os.path.join(self.root, "logs", "last.err"), errors="replace") as f:
            return f.read().strip()[:500]

    def aimed_kill(self, kind, proc, path, started, kill):
        """Waits for the phase this kill aims after and a fraction of its span, runs `kill`,
        and returns where it landed, from the phases written before it."""
        unlock, prepare, write, fastest = self.timing.get(kind, (0.3, 0.05, 0.05, 0.05))
        aim, fraction = self.aim
        if aim == "start":
            sleep_until(proc, started + fraction * unlock)
        else:
            t = wait_phase(proc, path, "unlocked" if aim == "unlocked" else "write")
            if t is not None:
                # The fastest write seen: the same write ran 2-3 times shorter from one run to
                # the next on a loaded machine, and an aim past its end lands after completion.
                span = 1.1 * (prepare + write) if aim == "unlocked" else fastest
                sleep_until(proc, t + fraction * span)
        running = proc.poll() is None
        kill()
        if running and proc is not self.server:
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pass  # the caller's own wait reports the hang
        self.last_where = landing(read_phases(path), running)
        return self.last_where

    def learn(self, kind, path, started):
        """Phase times of a run that exited 0, averaged with the last ones (the load changes)."""
        ph = read_phases(path)
        u, w, d = (phase_time(ph, x) for x in ("unlocked", "write", "done"))
        if None in (u, w, d):
            return
        new = (u - started, w - u, d - w)
        old = self.timing.get(kind, new + (d - w,))
        self.timing[kind] = tuple((x + y) / 2 for x, y in zip(old, new)) + (min(old[3], d - w),)

    def attempt(self, kind, node, args, kill):
        """Runs one command, killed as this round aims when `kill`; returns (landing or None, exit code, stdout)."""
        out = os.path.join(self.root, "logs", "last.out")
        with open(out, "wb") as o:
            proc, path, started = self.phased(node, args, o)
            where = None
            if kill:
                where = self.aimed_kill(kind, proc, path, started,
                                        lambda: proc.poll() is None and os.kill(proc.pid, signal.SIGKILL))
            try:
                proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise Failure(f"hang: sandyq {' '.join(args)} ran over {TIMEOUT} s")
        if proc.returncode == 0:
            self.learn(kind, path, started)
        os.unlink(path) if os.path.exists(path) else None
        return where, proc.returncode, open(out).read()

    def rerun(self, kind, node, args):
        """The interrupted step again, unkilled: must exit 0; returns its stdout."""
        _, code, out = self.attempt(kind, node, args, kill=False)
        if code != 0:
            raise Failure(f"{kind}: rerun exited {code}: {self.last_err()}")
        return out

    def step(self, kind, kill):
        """One step kind: prepare, run (killed or not), verify, rerun. Returns (landing, ops landed before the kill)."""
        a, b, c, d = (self.nodes[x] for x in "ABCD")
        n = self.round
        if kind == "case_add":
            args = ["case", "add", "--title", f"Added r{n}", "--city", "Aktau", "--person", f"Person Added{n}", "--json"]
            return self.write_step(kind, a, args, kill, lambda o: [("case", o["id"])], on_ack=lambda o: self.cases.append(o["id"]))
        if kind == "case_edit":
            cid = self.rng.choice(self.cases)
            tag = f"t{n}"
            args = ["case", "edit", cid, "--notes", f"note r{n}", "--add-tag", tag, "--add-person", f"Edited Person{n}", "--json"]
            return self.write_step(kind, a, args, kill, lambda o: [("tag", cid, tag)])
        if kind == "event_add":
            cid = self.rng.choice(self.cases)
            args = ["case", "event", "add", cid, "--type", "hearing", "--date", "2024-05-02", "--place", f"Court r{n}", "--json"]
            return self.write_step(kind, a, args, kill, lambda o: [("event", cid, o["event"])])
        if kind == "case_import":
            self.restore("E")
            path = self.cases_file(f"imp{n}", IMPORT_CASES)
            args = ["case", "import", path, "--json"]
            return self.write_step(kind, self.nodes["E"], args, kill, lambda o: [("case", x) for x in o["imported"]],
                                   import_refs=(f"imp{n}-", IMPORT_CASES))
        if kind == "bundle_export":
            return self.export_step(a, c, kill)
        if kind == "bundle_import":
            return self.import_step(a, c, kill)
        if kind == "sync_client":
            self.b_writes()
            return self.sync_step(kind, b, kill)
        if kind == "sync_pull":
            self.restore("D")
            return self.sync_step(kind, d, kill)
        if kind == "sync_server":
            client = b if n % 2 == 0 else d
            if client is d:
                self.restore("D")
            else:
                self.b_writes()
            return self.server_step(client, kill)
        raise ValueError(kind)

    def b_writes(self):
        """B's own cases, acknowledged, for its next sync to push."""
        path = self.cases_file(f"b{self.round}", B_CASES)
        b = self.nodes["B"]
        b.facts |= {("case", x) for x in self.r.json(b.home, ["case", "import", path])["imported"]}
        self.refresh_ops(b)

    def write_step(self, kind, node, args, kill, facts_of, on_ack=None, import_refs=None):
        before = node.stored_ids()
        where, code, out = self.attempt(kind, node, args, kill)
        landed = False
        if kill:
            self.verify(node, import_refs=import_refs)
            if code == 0:  # finished before the kill: acknowledged
                self.ack(node, facts_of(json.loads(out)), on_ack, json.loads(out))
                self.refresh_ops(node)
            else:
                landed = len(node.stored_ids() - before) > 0
        elif code != 0:
            raise Failure(f"{kind}: sandyq {' '.join(args)} exited {code}: {self.last_err()}")
        else:
            self.ack(node, facts_of(json.loads(out)), on_ack, json.loads(out))
            self.refresh_ops(node)
            return where, landed
        # The interrupted step, run again, completes.
        o = json.loads(self.rerun(kind, node, args))
        self.ack(node, facts_of(o), on_ack, o)
        self.refresh_ops(node)
        return where, landed

    def ack(self, node, facts, on_ack, o):
        node.facts |= set(facts)
        if on_ack:
            on_ack(o)

    def partials(self):
        outdir = os.path.dirname(self.export_file)
        return [os.path.join(outdir, f) for f in os.listdir(outdir) if ".partial-" in f]

    def export_step(self, a, c, kill):
        # The previous bundle stays under the name: a killed export always leaves a file there to check.
        args = ["bundle", "export", "--to", c.id, "--all", "--out", self.export_file, "--json"]
        where, code, out = self.attempt("bundle_export", a, args, kill)
        landed = False
        if kill:
            self.verify(a)
            left = self.partials()
            if code == 0 and left:
                raise Failure(f"bundle_export: an export that exited 0 left {os.path.basename(left[0])}")
            # The killed export's own temp file: counted, then cleared so the rerun's would show.
            self.notes["export partial files left by a kill"] += len(left)
            for f in left:
                os.unlink(f)
            if os.path.exists(self.export_file):
                landed = code != 0 and os.path.getmtime(self.export_file) > self.export_time
                probe = os.path.join(self.root, "probe")
                shutil.rmtree(probe, ignore_errors=True)
                shutil.copytree(os.path.join(self.root, "snap", "C"), probe, symlinks=True)
                p = self.r.run(probe, ["bundle", "import", self.export_file, "--json"])
                r = json.loads(p.stdout)[0] if p.returncode == 0 else {}
                if p.returncode != 0 or r.get("truncated") or r.get("damagedChunks") or not r.get("new"):
                    raise Failure(f"bundle_export: the file a killed export left does not import cleanly (exit {p.returncode}): {p.stderr.strip()[:300]}")
                shutil.rmtree(probe, ignore_errors=True)
                self.notes["killed exports' files imported into a fresh node"] += 1
            out = self.rerun("bundle_export", a, args)
        elif code != 0:
            raise Failure(f"bundle_export exited {code}: {self.last_err()}")
        left = self.partials()
        if left:
            raise Failure(f"bundle_export: a completed export left {os.path.basename(left[0])}")
        o = json.loads(out)
        self.export_time = os.path.getmtime(self.export_file)
        # A's view at export time: what C must show after importing this bundle.
        self.export_digest = self.digest(a)
        self.export_ops = set(a.ops) | a.stored_ids()
        self.export_facts = set(a.facts)
        self.export_count = o["ops"]
        return where, landed

    def import_step(self, a, c, kill):
        if self.export_digest is None:
            self.export_step(a, c, kill=False)
        self.restore("C")
        args = ["bundle", "import", self.export_file, "--json"]
        where, code, out = self.attempt("bundle_import", c, args, kill)
        landed = False
        if kill:
            self.verify(c)
            if code == 0:
                self.import_acked(c)
            else:
                held = len(c.stored_ids())
                landed = held > 0
                if 0 < held < self.export_count:
                    self.notes["bundle imports a kill left partly applied"] += 1
            out = self.rerun("bundle_import", c, args)
        elif code != 0:
            raise Failure(f"bundle_import exited {code}: {self.last_err()}")
        o = json.loads(out)
        if o[0].get("refused") or o[0].get("damagedChunks") or o[0].get("truncated"):
            raise Failure(f"bundle_import: not clean: {o[0]}")
        self.import_acked(c)
        got = self.digest(c)
        if got != self.export_digest:
            raise Failure(f"bundle_import: C shows digest {got}, A showed {self.export_digest} when it exported")
        missing = self.export_ops - c.ops
        if missing:
            raise Failure(f"bundle_import: {len(missing)} of A's ops missing on C after the rerun")
        return where, landed

    def import_acked(self, c):
        c.facts |= self.export_facts
        self.refresh_ops(c)

    def sync_args(self):
        return ["sync", self.addr, "--peer", self.nodes["A"].id, "--json"]

    def converge(self, client, kind):
        self.sync_acked(client, self.rerun(kind, client, self.sync_args()))
        da, dc = self.digest(self.nodes["A"]), self.digest(client)
        if da != dc:
            raise Failure(f"{kind}: after the rerun sync A shows {da} and {client.name} shows {dc}")

    def sync_acked(self, client, out):
        """After a sync that exited 0: its report shows no gap; each side's ledgers are the union of both."""
        gaps = json.loads(out).get("gaps")
        if gaps is None or gaps:
            raise Failure(f"{client.name}: a sync that exited 0 reports gaps {gaps}")
        a = self.nodes["A"]
        both = a.facts | client.facts
        a.facts, client.facts = set(both), set(both)
        self.refresh_ops(a)
        self.refresh_ops(client)
        if a.ops != client.ops:
            raise Failure(f"after a sync that exited 0, A holds {len(a.ops)} ops and {client.name} {len(client.ops)}")

    def sync_step(self, kind, client, kill):
        before = client.stored_ids()
        where, code, out = self.attempt(kind, client, self.sync_args(), kill)
        landed = False
        if kill:
            self.verify(client)
            if code == 0:
                self.sync_acked(client, out)
            else:
                landed = len(client.stored_ids() - before) > 0
        elif code != 0:
            raise Failure(f"{kind}: sync exited {code}: {self.last_err()}")
        else:
            self.sync_acked(client, out)
            return where, landed
        self.converge(client, kind)
        return where, landed

    def server_step(self, client, kill):
        if not kill:
            return self.sync_step("sync_server", client, kill)
        a = self.nodes["A"]
        before = (a.stored_ids(), client.stored_ids())
        out = os.path.join(self.root, "logs", "last.out")
        with open(out, "wb") as o:
            proc, path, started = self.phased(client, self.sync_args(), o)

            def kill_server():
                os.kill(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=30)

            where = self.aimed_kill("sync_server", proc, path, started, kill_server)
            try:
                code = proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise Failure("sync_server: the client hung after the server was killed")
        self.verify(a)
        self.verify(client)
        landed = False
        if code == 0:
            self.sync_acked(client, open(out).read())
        else:
            landed = len(a.stored_ids() - before[0]) + len(client.stored_ids() - before[1]) > 0
        self.start_server()
        self.converge(client, "sync_server")
        return where, landed

    # ---- the drill ---------------------------------------------------------------------

    def run(self, kills):
        order = []
        while len(order) < kills:
            cycle = list(self.kinds)
            self.rng.shuffle(cycle)
            order += cycle
        order = order[:kills]
        for i, kind in enumerate(order, 1):
            self.round = i
            # Most kills aim at the write; some at the unlock and the start, so those are covered too.
            r = self.rng.random()
            self.aim = ("start" if r < 0.1 else "unlocked" if r < 0.3 else "write", self.rng.random())
            t = time.monotonic()
            s = self.stats[kind]
            s["kills"] += 1
            self.last_where = None
            try:
                _, landed = self.step(kind, kill=True)
                if landed:
                    s["ops landed, no exit 0"] += 1
            except Failure as e:
                s["failures"] += 1
                self.failures.append(f"kill {i} ({kind}, aimed at {self.aim[0]} + {self.aim[1]:.2f}): {e}")
                print(f"FAIL kill {i} ({kind}): {e}", flush=True)
                self.recover()
            # Counted even when the checks after it failed: where it landed is known from the phases.
            if self.last_where:
                s[self.last_where] += 1
            if self.verbose or i % 20 == 0:
                print(f"kill {i}/{kills} {kind:<13} aimed at {self.aim[0]:<8} + {self.aim[1]:.2f} of its span, "
                      f"landed {self.last_where or '-':<16} round {time.monotonic() - t:5.2f}s", flush=True)

    def final(self):
        """At the end, every node's ledger through the CLI, and a clean check."""
        for n in self.nodes.values():
            p = self.r.run(n.home, ["check"])
            if p.returncode != 0:
                raise Failure(f"{n.name}: final check exited {p.returncode}: {p.stdout.strip()[:300]}")
            self.cli_ledger(n)

    def recover(self):
        """After a failure: keep going with a running server, so one bug does not hide the rest."""
        if self.server is None or self.server.poll() is not None:
            try:
                self.start_server()
            except Failure as e:
                print(f"cannot restart serve: {e}", flush=True)

    def summary(self, seed, kills, wall):
        print()
        print(f"crash drill: seed {seed}, {kills} kills, {wall:.0f} s, {self.r.calls} sandyq runs")
        cols = ["kills"] + LANDINGS + ["ops landed, no exit 0", "failures"]
        w = [len(c) + 2 for c in cols]
        print(f"{'step':<14}" + "".join(f"{c:>{x}}" for c, x in zip(cols, w)))
        total = Counter()
        for kind in self.kinds:
            s = self.stats[kind]
            total.update(s)
            print(f"{kind:<14}" + "".join(f"{s[c]:>{x}}" for c, x in zip(cols, w)))
        print(f"{'total':<14}" + "".join(f"{total[c]:>{x}}" for c, x in zip(cols, w)))
        print("phase times of the last unkilled runs (start to unlocked / unlocked to write / write to done): "
              + ", ".join(f"{k} {u:.2f}/{p:.2f}/{t:.3f}s" for k, (u, p, t, _) in self.timing.items()))
        for k, v in self.notes.items():
            print(f"note: {k}: {v}")
        a = self.nodes["A"]
        print(f"A ends with {len(a.ops)} ops, {len([f for f in a.facts if f[0] == 'case'])} acknowledged cases")
        for f in self.failures:
            print("FAILURE:", f)
        return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the node homes")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print(f"crash drill: seed {seed} (rerun with --seed {seed}), binary {args.bin}", flush=True)
    root = tempfile.mkdtemp(prefix="sandyq-crash-")
    run = Runner(os.path.abspath(args.bin), root)
    drill = Drill(run, root, random.Random(seed), args.verbose)
    start = time.monotonic()
    try:
        drill.setup()
        print(f"setup done in {time.monotonic() - start:.1f} s; killing {args.kills} times", flush=True)
        drill.run(args.kills)
        drill.stop_server()
        drill.final()
    except Failure as e:
        drill.failures.append(f"setup or teardown: {e}")
    finally:
        if drill.server and drill.server.poll() is None:
            drill.server.kill()
            drill.server.wait()
    total = drill.summary(seed, args.kills, time.monotonic() - start)
    if args.keep or drill.failures:
        print(f"homes and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    # The last line, one line: CI reads only this and the exit code.
    print(f"crash: {total['kills']} kills, {total['unlocked'] + total['inside write']} past unlock, "
          f"{total['inside write']} inside a write, {len(drill.failures)} failures, {drill.lost} acknowledged ops lost"
          f" (seed {seed})", flush=True)
    sys.exit(1 if drill.failures else 0)


if __name__ == "__main__":
    main()
