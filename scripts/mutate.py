#!/usr/bin/env python3
"""Mutation checks: apply each deliberate breakage in scripts/mutations.txt, one at a time, to
a scratch copy of the tree, build, and run the tests that should catch it. A mutation is
killed when the build succeeds and a test fails. One that survives, or breaks the build, or
whose text no longer occurs exactly once, fails the run: a check that rots must say so.

    bash scripts/mutate.sh                  # every mutation, its own test filter
    bash scripts/mutate.sh NAME [NAME...]   # only these
    bash scripts/mutate.sh --full NAME      # the whole suite instead of the filter (slow)
    bash scripts/mutate.sh --list           # names, files and filters
    bash scripts/mutate.sh --check          # every find text occurs exactly once; no build
    bash scripts/mutate.sh --baseline       # first require each filter to pass unmutated
    bash scripts/mutate.sh --in-place --until EPOCH   # CI: recent files first, stop at a deadline

The scratch copy is kept between runs ($SANDYQ_MUTATE_SCRATCH, default
~/.cache/sandyq-mutate/scratch): SwiftPM keys its build to absolute paths, so a fresh copy
costs one full build (several minutes) and each mutation after that an incremental one.
`--in-place` mutates this tree itself and reuses its own build: for a throwaway clone (CI),
never a working copy, since a killed run would leave a mutated file behind.
"""
import argparse
import datetime
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "scripts", "mutations.txt")


class Mutation:
    def __init__(self, name, line):
        self.name, self.line = name, line
        self.file = self.why = self.tests = None
        self.find, self.replace = [], []

    def problems(self, root):
        out = []
        for field in ("file", "why", "tests"):
            if not getattr(self, field):
                out.append(f"no '{field}:' line")
        if not self.find:
            out.append("no '-' line to find")
        if out or not self.file:
            return out
        path = os.path.join(root, self.file)
        if not os.path.isfile(path):
            return [f"{self.file} does not exist"]
        n = open(path, encoding="utf-8").read().count("\n".join(self.find))
        if n != 1:
            out.append(f"the text to find occurs {n} times in {self.file} (must be exactly once)")
        return out


def parse(path):
    """Blocks: `## name`, `file:`, `why:`, `tests:` (a --filter regex), then `- ` lines to find
    and `+ ` lines to put in their place (none: the lines are removed)."""
    muts, cur = [], None
    for n, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if line.startswith("## "):
            cur = Mutation(line[3:].strip(), n)
            muts.append(cur)
        elif cur is None or not line.strip() or line.startswith("#"):
            continue
        elif line.startswith("-"):
            cur.find.append(line[2:] if line.startswith("- ") else line[1:])
        elif line.startswith("+"):
            cur.replace.append(line[2:] if line.startswith("+ ") else line[1:])
        else:
            key, _, value = line.partition(":")
            if key not in ("file", "why", "tests"):
                sys.exit(f"mutate: {path}:{n}: unknown line {line!r}")
            setattr(cur, key, value.strip())
    names = [m.name for m in muts]
    dup = {x for x in names if names.count(x) > 1}
    if dup:
        sys.exit(f"mutate: duplicate names: {', '.join(sorted(dup))}")
    return muts


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                             check=True, capture_output=True).stdout.decode()
        return [p for p in out.split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]
    except (OSError, subprocess.CalledProcessError):
        # Not a git checkout (an unpacked archive): every file but build output.
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if not x.startswith((".build", ".git", ".swiftpm"))]
            files += [os.path.relpath(os.path.join(d, f), ROOT) for f in names]
        return files


def sync_scratch(scratch):
    """Makes the scratch tree equal to this one (tracked and untracked files, not .build),
    copying only what differs so unchanged files keep their times and stay built."""
    files = set(tracked_files())
    for rel in files:
        src, dst = os.path.join(ROOT, rel), os.path.join(scratch, rel)
        try:
            if os.path.getsize(src) == os.path.getsize(dst) and open(src, "rb").read() == open(dst, "rb").read():
                continue
        except OSError:
            pass
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    for top in ("Sources", "Tests", "Protocol"):
        for d, _, names in os.walk(os.path.join(scratch, top)):
            for f in names:
                rel = os.path.relpath(os.path.join(d, f), scratch)
                if rel not in files:
                    os.remove(os.path.join(d, f))


def recent_files(commits):
    """Files the last `commits` commits touched (none outside a git checkout)."""
    try:
        out = subprocess.run(["git", "log", f"-{commits}", "--name-only", "--format="], cwd=ROOT,
                             check=True, capture_output=True).stdout.decode()
        return {p for p in out.splitlines() if p}
    except (OSError, subprocess.CalledProcessError):
        return set()


def ci_order(muts, commits, day):
    """Mutations of files the last commits touched first, the rest in an order that turns with
    the day: a run cut short by its deadline checks today's slice, the next day's another."""
    touched = recent_files(commits)
    key = lambda m: hashlib.sha256(f"{day}:{m.name}".encode()).digest()
    first = sorted((m for m in muts if m.file in touched), key=key)
    rest = sorted((m for m in muts if m.file not in touched), key=key)
    return first + rest, len(first)


def run(cmd, cwd, log, timeout):
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return None


# Where a failing test recorded its issue: Swift Testing ("✘ Test ... recorded an issue ... at
# File.swift:12:5: ...") and XCTest ("/path/File.swift:12: error: ...").
ISSUE = [re.compile(r"✘ Test .* recorded an issue.* at (\w+\.swift:\d+)"),
         re.compile(r"(\w+\.swift:\d+): error: -\[")]


def failed_tests(log):
    names = []
    for line in open(log, encoding="utf-8", errors="replace"):
        for r in ISSUE:
            m = r.search(line)
            if m and m.group(1) not in names:
                names.append(m.group(1))
                break
    return names


def main():
    ap = argparse.ArgumentParser(description="Mutation checks (RELIABILITY.md, 'Mutation checks').")
    ap.add_argument("names", nargs="*", help="mutations to run (default: all)")
    ap.add_argument("--full", action="store_true", help="run the whole suite per mutation instead of its filter")
    ap.add_argument("--list", action="store_true", help="print the mutations and exit")
    ap.add_argument("--check", action="store_true", help="only check that every mutation applies; no build")
    ap.add_argument("--scratch", default=os.environ.get("SANDYQ_MUTATE_SCRATCH",
                    os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "sandyq-mutate", "scratch")))
    ap.add_argument("--in-place", action="store_true",
                    help="mutate this tree and build in it (a throwaway clone only: CI); restores each file after")
    ap.add_argument("--timeout", type=int, default=900, help="seconds for one mutation's tests (a hang counts as killed)")
    ap.add_argument("--baseline", action="store_true",
                    help="first run each filter on the unmutated tree and require it to pass, so a flaky test cannot pass for a kill")
    ap.add_argument("--until", type=float, default=None, metavar="EPOCH",
                    help="start no mutation that could end after this Unix time (CI's deadline); "
                         "the order becomes: mutations of files the last --recent commits touched, then the day's rotation")
    ap.add_argument("--at-least", type=int, default=0, metavar="N",
                    help="under --until, the first N of the order run even past the deadline (CI: 8), so no run checks nothing")
    ap.add_argument("--hard-until", type=float, default=None, metavar="EPOCH",
                    help="start nothing, not even the --at-least ones, that could end after this Unix time "
                         "(CI: 84 min in, so a slow machine ends inside CI's 90)")
    ap.add_argument("--recent", type=int, default=5, help="commits whose files go first under --until (default 5)")
    ap.add_argument("--day", default=datetime.date.today().isoformat(), help="the rotation's day under --until (default today)")
    a = ap.parse_args()

    muts = parse(LIST)
    if a.names:
        unknown = [n for n in a.names if n not in {m.name for m in muts}]
        if unknown:
            sys.exit(f"mutate: no mutation named {', '.join(unknown)} (see --list)")
        muts = [m for m in muts if m.name in a.names]
    if a.list:
        for m in muts:
            print(f"{m.name:28} {m.file:40} {m.tests}\n{'':28} {m.why}")
        return 0
    bad = [(m, p) for m in muts for p in m.problems(ROOT)]
    for m, p in bad:
        print(f"mutate: {os.path.relpath(LIST, ROOT)}:{m.line} {m.name}: {p}", file=sys.stderr)
    if bad:
        print(f"drill mutations: FAILED, {len({m.name for m, _ in bad})} of {len(muts)} do not apply")
        return 1
    if a.check:
        print(f"mutate: all {len(muts)} mutations apply")
        return 0

    if a.in_place:
        scratch = ROOT
        logs = os.path.join(ROOT, ".build", "mutate-logs")
        # A SIGTERM must still run the restore in each mutation's `finally`.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("mutate: stopped"))
    else:
        scratch = os.path.abspath(a.scratch)
        os.makedirs(scratch, exist_ok=True)
        logs = scratch + "-logs"
    os.makedirs(logs, exist_ok=True)
    print(f"mutate: scratch {scratch}, logs {logs}", flush=True)
    if not a.in_place:
        sync_scratch(scratch)
    t0 = time.time()
    base_log = os.path.join(logs, "baseline.log")
    open(base_log, "w").close()
    if run(["swift", "build", "--build-tests"], scratch, base_log, 3600) != 0:
        print(f"mutate: the unmutated tree does not build; see {base_log}")
        print("drill mutations: FAILED, baseline build")
        return 1
    print(f"mutate: baseline build {time.time() - t0:.0f} s", flush=True)
    if a.baseline:
        filters = [None] if a.full else sorted({m.tests for m in muts})
        for flt in filters:
            rc = run(["swift", "test", "--skip-build"] + (["--filter", flt] if flt else []), scratch, base_log, a.timeout)
            if rc != 0:
                print(f"mutate: the unmutated tree fails {flt or 'the suite'}; see {base_log}")
                print("drill mutations: FAILED, baseline tests")
                return 1
        print(f"mutate: baseline tests pass ({len(filters)} filters), {time.time() - t0:.0f} s", flush=True)

    listed, first, skipped = len(muts), 0, []
    if a.until is not None:
        muts, first = ci_order(muts, a.recent, a.day)
        print(f"mutate: until {datetime.datetime.fromtimestamp(a.until, datetime.timezone.utc):%H:%M:%S} UTC; "
              f"{first} of {listed} touch files of the last {a.recent} commits and go first, then the rotation of {a.day}", flush=True)
    rows = []
    for i, m in enumerate(muts):
        if a.hard_until is not None and time.time() + (a.timeout or 120) + 30 > a.hard_until:
            # The worst case, its tests cut at --timeout plus a build, must end before the hard stop.
            skipped = muts[i:]
            print(f"mutate: hard deadline: {len(skipped)} left for another day, {i} run", flush=True)
            break
        if a.until is not None and i >= a.at_least:
            # A mutation here takes 5-45 s; its tests may run to --timeout. Leave room for a slow one.
            spent = [r[2] for r in rows]
            guess = max(60.0, 2 * sorted(spent)[len(spent) // 2]) if spent else 60.0
            if time.time() + guess > a.until:
                skipped = muts[i:]
                print(f"mutate: deadline: {len(skipped)} left for another day "
                      f"({', '.join(x.name for x in skipped[:5])}{', ...' if len(skipped) > 5 else ''})", flush=True)
                break
        path = os.path.join(scratch, m.file)
        original = open(path, encoding="utf-8").read()
        log = os.path.join(logs, f"{m.name}.log")
        open(log, "w").close()
        start = time.time()
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original.replace("\n".join(m.find), "\n".join(m.replace), 1))
            if run(["swift", "build", "--build-tests"], scratch, log, 3600) != 0:
                verdict, which = "BUILD-BROKEN", "(the mutation does not compile: rewrite it)"
            else:
                cmd = ["swift", "test", "--skip-build"] + ([] if a.full else ["--filter", m.tests])
                rc = run(cmd, scratch, log, a.timeout)
                if rc is None:
                    verdict, which = "killed", f"(timed out after {a.timeout} s)"
                elif rc != 0:
                    names = failed_tests(log)
                    verdict = "killed"
                    which = ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "") if names else f"(exit {rc})"
                else:
                    verdict, which = "SURVIVED", ""
        finally:
            # Back to the tree's own file. Its time differs from the mutated build's record
            # either way, so the next build compiles the original again.
            if a.in_place:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(original)
            else:
                shutil.copy2(os.path.join(ROOT, m.file), path)
        secs = time.time() - start
        rows.append((m.name, verdict, secs, which))
        print(f"mutate: {m.name}: {verdict} in {secs:.0f} s {which}", flush=True)

    w = max([len(r[0]) for r in rows] + [8])
    print(f"\n| {'mutation':{w}} | verdict      | seconds | failing tests |")
    print(f"|{'-' * (w + 2)}|--------------|--------:|---------------|")
    for name, verdict, secs, which in rows:
        print(f"| {name:{w}} | {verdict:12} | {secs:7.0f} | {which} |")
    killed = sum(1 for r in rows if r[1] == "killed")
    print(f"\nmutate: {time.time() - t0:.0f} s in all")
    if killed == len(rows) and not skipped:
        print(f"drill mutations: ok {killed} killed of {len(rows)}")
        return 0
    if killed == len(rows):
        reached = "all" if killed >= first else f"only {killed}"
        print(f"drill mutations: ok {killed} killed of {len(rows)} run; {len(skipped)} of {listed} not reached by the deadline "
              f"(first {reached} of the {first} on files the last {a.recent} commits touched, then the rotation of {a.day})")
        return 0
    print(f"drill mutations: FAILED, {killed} killed of {len(rows)}; "
          + ", ".join(f"{r[0]} {r[1].lower()}" for r in rows if r[1] != "killed"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
