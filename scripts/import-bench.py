#!/usr/bin/env python3
"""Issue 20's last row: 10,000 seed-like cases recorded with `sandyq case import` on node A,
carried to node B in a bundle file and listed there, against loro doing the same in one
process (the cases as maps with lists of persons and events, a snapshot carried as bytes,
imported into a second document and read back whole).

    python3 scripts/import-bench.py                  # 10,000 cases, median of 5 runs
    python3 scripts/import-bench.py --cases 2000 --runs 1 --binary .build/release/sandyq

Each Sandyq step is the real binary in its own process, as a person runs it, so each pays
its unlock (`init --kdf interactive`); the steps are timed wall and CPU (the child's user +
system time). The loro side runs in the peers' venv (scripts/peers/install.sh), timed wall
and CPU (process time). Prints a markdown table and, with --json, every figure.
"""
import argparse
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from sandyq_cli import CLI  # noqa: E402

PASS = "import bench passphrase"

_spec = importlib.util.spec_from_file_location("desk_bench", os.path.join(REPO, "scripts", "desk-bench.py"))
desk_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(desk_bench)

LORO = r'''
import json, sys, time
import loro
cases = json.load(open(sys.argv[1], encoding="utf-8"))["cases"]
out = {}
t0, c0 = time.perf_counter(), time.process_time()
a = loro.LoroDoc()
root = a.get_map("cases")
for i, c in enumerate(cases):
    m = root.insert_container("case-%06d" % i, loro.LoroMap())
    for k in ("ref", "title", "status", "city", "summary"):
        m.insert(k, c[k])
    for key in ("persons", "events"):
        lst = m.insert_container(key, loro.LoroList())
        for j, e in enumerate(c[key]):
            em = lst.insert_container(j, loro.LoroMap())
            for f, v in e.items():
                em.insert(f, v)
    if (i + 1) % 1000 == 0:
        a.commit()
a.commit()
out["record"] = (time.perf_counter() - t0, time.process_time() - c0)
t0, c0 = time.perf_counter(), time.process_time()
data = a.export(loro.ExportMode.Snapshot())
open(sys.argv[2], "wb").write(data)
out["carry_out"] = (time.perf_counter() - t0, time.process_time() - c0)
t0, c0 = time.perf_counter(), time.process_time()
b = loro.LoroDoc()
b.import_(open(sys.argv[2], "rb").read())
out["carry_in"] = (time.perf_counter() - t0, time.process_time() - c0)
t0, c0 = time.perf_counter(), time.process_time()
listed = sorted(b.get_map("cases").get_deep_value().values(), key=lambda c: c["title"])
out["list"] = (time.perf_counter() - t0, time.process_time() - c0)
out["listed"] = len(listed)
out["bytes"] = len(data)
out["version"] = getattr(loro, "LORO_VERSION", None) or __import__("importlib.metadata").metadata.version("loro")
print(json.dumps(out))
'''

STEPS = ["record", "carry_out", "carry_in", "list"]


def timed(fn):
    """Wall seconds and the CPU seconds of the children it waited for."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, (wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))


def sandyq_run(binary, cases_path, n):
    root = tempfile.mkdtemp(prefix="sandyq-import-bench-")
    try:
        cli = CLI(binary, root, PASS)
        a, b = os.path.join(root, "a"), os.path.join(root, "b")
        cli.json(a, ["init", "--kdf", "interactive"])
        b_id = cli.json(b, ["init", "--kdf", "interactive"])["nodeId"]
        project = cli.json(a, ["project", "create", "Import bench"])["project"]
        key = cli.ok(a, ["project", "key"]).strip()
        cli.ok(b, ["join", project, "--network-key", key])
        cli.ok(a, ["member", "add", b_id, "--role", "coordinator"])
        bundle = os.path.join(root, "a-to-b.sqb")
        fig = {}
        _, fig["record"] = timed(lambda: cli.ok(a, ["case", "import", cases_path], timeout=3600))
        _, fig["carry_out"] = timed(lambda: cli.ok(a, ["bundle", "export", "--to", b_id, "--out", bundle], timeout=3600))
        _, fig["carry_in"] = timed(lambda: cli.ok(b, ["bundle", "import", bundle], timeout=3600))
        listed, fig["list"] = timed(lambda: cli.json(b, ["case", "list"], timeout=3600))
        rows = listed if isinstance(listed, list) else listed.get("cases", [])
        if len(rows) != n:
            sys.exit(f"import-bench: B lists {len(rows)} cases, not {n}")
        fig["bytes"] = sum(os.path.getsize(os.path.join(root, f)) for f in os.listdir(root) if f.startswith("a-to-b.sqb"))
        return fig
    finally:
        shutil.rmtree(root, ignore_errors=True)


def loro_run(python, cases_path, n):
    root = tempfile.mkdtemp(prefix="loro-import-bench-")
    try:
        p = subprocess.run([python, "-c", LORO, cases_path, os.path.join(root, "snapshot")],
                           capture_output=True, text=True, timeout=3600)
        if p.returncode != 0:
            return None, p.stderr.strip()[-400:]
        out = json.loads(p.stdout)
        if out["listed"] != n:
            sys.exit(f"import-bench: loro lists {out['listed']} cases, not {n}")
        return out, None
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="a built sandyq (default: build release and use it)")
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5, help="runs of each side, interleaved; the median is reported")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--python", default=os.path.join(os.environ.get("SANDYQ_PEERS_VENV") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sandyq-bench", "peers-venv"), "bin", "python"),
        help="a python that imports loro (default: the peers' venv)")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args()
    binary = desk_bench.build(argparse.Namespace(binary=args.binary), "sandyq")

    work = tempfile.mkdtemp(prefix="import-bench-cases-")
    path = os.path.join(work, "cases.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(desk_bench.generate(args.cases, random.Random(args.seed), desk_bench.STATUSES), f, ensure_ascii=False)
    load0 = os.getloadavg()[0]
    sq, lo, why = [], [], None
    try:
        for r in range(args.runs):
            sq.append(sandyq_run(binary, path, args.cases))
            out, why = loro_run(args.python, path, args.cases)
            if out:
                lo.append(out)
            total = sum(sq[-1][s][0] for s in STEPS)
            print(f"run {r + 1}: sandyq {total:.2f} s" + (f", loro {sum(out[s][0] for s in STEPS):.2f} s" if out else f", loro not run: {why}"),
                  file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()[0]

    def med(runs, step, i):
        return statistics.median((sum(x[s][i] for s in STEPS) if step == "total" else x[step][i]) for x in runs)

    figs = {"cases": args.cases, "runs": args.runs, "load": [load0, load1], "sandyq": sq, "loro": lo}
    print(f"{args.cases:,} cases, median of {args.runs}; load average {load0:.2f} → {load1:.2f} on {os.cpu_count()} cores")
    print("| step | Sandyq wall (CPU) | loro wall (CPU) | Sandyq / loro wall (CPU) |")
    print("|---|---:|---:|---:|")
    names = {"record": "record (`case import` / maps)", "carry_out": "carry: write the file", "carry_in": "carry: read it on B",
             "list": "list on B", "total": "**all four**"}
    for step in STEPS + ["total"]:
        sw, sc = med(sq, step, 0), med(sq, step, 1)
        if lo:
            lw, lc = med(lo, step, 0), med(lo, step, 1)
            ratio = f"{sw / lw:.1f}× ({sc / lc:.1f}×)" if lw > 0 and lc > 0 else "n/a"
            print(f"| {names[step]} | {sw:.2f} s ({sc:.2f}) | {lw:.3f} s ({lc:.3f}) | {ratio} |")
        else:
            print(f"| {names[step]} | {sw:.2f} s ({sc:.2f}) | not run | |")
        figs[f"{step}_ratio"] = (sw / med(lo, step, 0)) if lo and med(lo, step, 0) > 0 else None
    print(f"bytes carried: Sandyq {statistics.median(x['bytes'] for x in sq):,.0f}"
          + (f", loro {statistics.median(x['bytes'] for x in lo):,.0f} (loro {lo[0]['version']})" if lo else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figs, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
