#!/usr/bin/env python3
"""The desk's speed on a large node: how fast `sandyq ui` answers once unlocked.

Builds a node with N generated cases (one `case import`), starts `sandyq ui --no-open --json`,
logs in and unlocks over HTTP as the browser does (the one-time link, the session cookie, the
CSRF field, Origin), then times R requests of each kind on one kept-alive connection:

  list     GET /cases                          the case list (first 200 rows of all N)
  case     GET /cases/ID                       a random case's page
  search   GET /cases?q=PREFIX&partial=1       what search-as-you-type sends: 1-5 letters of a
                                               random person's name, Cyrillic or Latin
  static   GET /static/app.css                 the reference: the server's floor in this run

With --delivery, the coordinator's delivery and loss-risk page instead (issue 18's goal: p99 <
200 ms on 100,000 ops from 50 authors): `sandyq-bench --phase delivery-home` builds 50 nodes that
each write their share and carry it to the founder by bundle; the founder's desk is timed on

  delivery GET /delivery                       what only one device holds, per peer, per author
  people   GET /people                         the member list with what each wrote
  static   GET /static/app.css                 the reference

Each figure is given as p50 and p99 in milliseconds and as a ratio of its p99 to the
reference's p99, so runs on different machines compare. Issue 16's goals: list and case
p99 < 100 ms, search p99 < 50 ms.

  python3 scripts/desk-bench.py                      # builds release, N = 10,000, R = 300
  python3 scripts/desk-bench.py --cases 2000 --requests 100 --json desk-bench.json
  python3 scripts/desk-bench.py --binary .build/release/sandyq --keep
  python3 scripts/desk-bench.py --delivery --ops 100000 --authors 50
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sandyq_cli import CLI  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASS = "desk bench passphrase"
GOALS = {"list": 100.0, "case": 100.0, "search": 50.0, "delivery": 200.0, "people": 200.0}
BENCH_PASS = "bench: correct horse battery staple"  # sandyq-bench's homes

FIRST_CY = ["Асқар", "Айгүл", "Ербол", "Жанар", "Нұрлан", "Сәуле", "Дәурен", "Гүлнар", "Марат", "Алия", "Бауыржан",
            "Динара", "Ержан", "Мадина", "Серік", "Әлия", "Талғат", "Ақмарал", "Руслан", "Ольга", "Игорь", "Наталья",
            "Дмитрий", "Светлана", "Мухтар", "Жансая", "Қайрат", "Ботагөз", "Ильяс", "Зарина"]
LAST_CY = ["Ахметов", "Бекова", "Жұмабаев", "Қасымова", "Нұрпейісов", "Сейітова", "Омаров", "Иванова", "Петров",
           "Смагулова", "Тоқаев", "Әбенова", "Джакишев", "Бокаев", "Есенова", "Құдайбергенов", "Мамырова", "Сидоров",
           "Оспанов", "Байжанова", "Ибрагимов", "Шайхина", "Кенжебаев", "Лукпанова", "Утепов"]
FIRST_LA = ["Askar", "Aigul", "Yerbol", "Zhanar", "Nurlan", "Saule", "Dauren", "Marat", "Aliya", "Serik", "Ruslan",
            "Olga", "Dmitry", "Mukhtar", "Zarina", "Ilyas", "Kairat", "Dinara"]
LAST_LA = ["Akhmetov", "Bekova", "Zhumabayev", "Kasymova", "Omarov", "Ivanova", "Petrov", "Seitova", "Ospanov",
           "Kenzhebayev", "Utepov", "Mamyrova", "Bokayev", "Yessenova"]
CITIES = ["Алматы", "Астана", "Шымкент", "Ақтөбе", "Жаңаөзен", "Орал", "Қарағанды", "Атырау"]
STATUSES = ["under_investigation", "detained", "house_arrest", "sentenced", "released", "acquitted"]


def person_name(rng):
    if rng.random() < 0.7:
        return f"{rng.choice(FIRST_CY)} {rng.choice(LAST_CY)}"
    return f"{rng.choice(FIRST_LA)} {rng.choice(LAST_LA)}"


def generate(n, rng, statuses):
    cases = []
    for i in range(n):
        names = [person_name(rng) for _ in range(rng.choice([1, 1, 1, 2]))]
        cases.append({
            "ref": f"bench-{i:05d}",
            "title": f"{names[0]} — {rng.choice(CITIES)}",
            "status": rng.choice(statuses),
            "city": rng.choice(CITIES),
            "summary": f"Іс {i}: {names[0]} ұсталды. Задержан(а) по статье {rng.randint(100, 420)} УК РК.",
            "persons": [{"name": nm} for nm in names],
            "events": [{"type": "other", "date": f"20{rng.randint(15, 26)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                        "description": f"Событие {i}: суд в городе {rng.choice(CITIES)}."}],
        })
    return {"format": "sandyq-cases/1", "cases": cases}


class Client:
    """One browser: a kept-alive connection, its session cookie, Host and Origin as a page sends them."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.authority = f"{self.host}:{self.port}"
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        self.cookie = None

    def request(self, method, path, body=None):
        h = {"Host": self.authority, "Accept-Language": "ru"}
        if self.cookie:
            h["Cookie"] = self.cookie
        if body is not None:
            h["Origin"] = f"http://{self.authority}"
            h["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        if r.getheader("Set-Cookie"):
            self.cookie = r.getheader("Set-Cookie").split(";")[0]
        return r.status, r.getheader("Location"), data

    def timed(self, path):
        t = time.perf_counter_ns()
        status, _, data = self.request("GET", path)
        ms = (time.perf_counter_ns() - t) / 1e6
        if status != 200:
            raise SystemExit(f"desk-bench: GET {path} answered {status}")
        return ms, data


def pct(xs, p):
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def build(args, product):
    """A release build of `product` (or the --binary given, and its sibling), as an absolute path."""
    if args.binary:
        b = os.path.abspath(args.binary)
        return b if product == "sandyq" else os.path.join(os.path.dirname(b), product)
    subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    return os.path.join(out, product)


def open_desk(binary, home, env, passphrase):
    """`sandyq ui` on `home`, logged in and unlocked as a browser does it: the process, the client, seconds to unlock."""
    desk = subprocess.Popen([binary, "ui", "--home", home, "--no-open", "--json", "--listen", "127.0.0.1:0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = json.loads(desk.stdout.readline())["url"]
    c = Client(url)
    u = urllib.parse.urlsplit(url)
    status, _, _ = c.request("GET", f"{u.path}?{u.query}")
    assert status in (302, 303) and c.cookie, f"login answered {status}"
    status, _, page = c.request("GET", "/unlock")
    csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', page).group(1).decode()
    t = time.monotonic()
    status, loc, _ = c.request("POST", "/unlock", urllib.parse.urlencode({"csrf": csrf, "passphrase": passphrase}))
    assert status in (302, 303) and loc == "/cases", f"unlock answered {status} {loc}"
    return desk, c, time.monotonic() - t


def stop_desk(desk):
    desk.send_signal(2)
    try:
        desk.wait(timeout=20)
    except subprocess.TimeoutExpired:
        desk.kill()


def finish(desk, root, keep):
    """Stops the desk if it started, and removes the run's homes unless asked to keep them."""
    if desk:
        stop_desk(desk)
    if keep:
        print(f"desk-bench: kept {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)


def figures_of(runs):
    ref99 = pct(runs["static"], 99)
    figures = {}
    for k, xs in runs.items():
        p50, p99 = pct(xs, 50), pct(xs, 99)
        f = {"p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "max_ms": round(max(xs), 3),
             "p99_over_static_p99": round(p99 / ref99, 1) if ref99 else None}
        if k in GOALS:
            f["goal_p99_ms"] = GOALS[k]
            f["meets_goal"] = p99 < GOALS[k]
        figures[k] = f
    return figures


def say_figures(figures, kinds):
    for k in kinds:
        f = figures[k]
        goal = f" goal p99 < {GOALS[k]:.0f} ms: {'met' if f['meets_goal'] else 'NOT met'}" if k in GOALS else " (reference)"
        print(f"{k}: p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, p99 = {f['p99_over_static_p99']}x static p99;{goal}")


def delivery(args):
    binary = build(args, "sandyq")
    bench = build(args, "sandyq-bench")
    root = tempfile.mkdtemp(prefix="sandyq-desk-bench-")
    env = dict(os.environ, SANDYQ_BENCH_AUTHORS=str(args.authors))
    desk = None
    try:
        t = time.monotonic()
        subprocess.run([bench, "--phase", "delivery-home", "--work", root, "--ops", str(args.ops)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        fixture_s = time.monotonic() - t
        meta = json.load(open(os.path.join(root, "delivery.json")))
        cli = CLI(binary, root, BENCH_PASS)
        desk, c, unlock_s = open_desk(binary, meta["home"], cli.env, BENCH_PASS)
        first, page = c.timed("/delivery")
        if b"risk-list" not in page:
            raise SystemExit("desk-bench: the delivery page lists nothing held on one device; the fixture should leave some")
        for _ in range(10):
            c.timed("/static/app.css"); c.timed("/delivery"); c.timed("/people")
        runs = {"static": [], "delivery": [], "people": []}
        for _ in range(args.requests):
            runs["static"].append(c.timed("/static/app.css")[0])
            runs["delivery"].append(c.timed("/delivery")[0])
            runs["people"].append(c.timed("/people")[0])
        figures = figures_of(runs)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"desk-bench: delivery page on {meta['ops']:,} ops from {meta['authors']} authors, {args.requests} requests of each kind, "
              f"load average {' '.join(load)} on {os.cpu_count()} cores")
        print(f"setup: fixture {fixture_s:.1f} s, unlock {unlock_s * 1000:.0f} ms, first delivery page after unlock {first:.1f} ms")
        say_figures(figures, ["delivery", "people", "static"])
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"ops": meta["ops"], "authors": meta["authors"], "requests": args.requests, "load": load,
                           "cores": os.cpu_count(), "unlock_ms": round(unlock_s * 1000, 1), "first_delivery_ms": round(first, 2),
                           "figures": figures, "raw_ms": {k: [round(x, 3) for x in v] for k, v in runs.items()}}, fh, indent=1)
        return 0 if all(figures[k]["meets_goal"] for k in ["delivery", "people"]) else 1
    finally:
        finish(desk, root, args.keep)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="a built sandyq (default: build release and use it)")
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=300, help="requests of each kind")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json", help="write every figure and the raw timings here")
    ap.add_argument("--keep", action="store_true", help="keep the node's home")
    ap.add_argument("--delivery", action="store_true", help="time the coordinator's delivery page instead")
    ap.add_argument("--ops", type=int, default=100000, help="with --delivery: ops in all")
    ap.add_argument("--authors", type=int, default=50, help="with --delivery: authors, one node each")
    args = ap.parse_args()
    if args.delivery:
        return delivery(args)

    binary = build(args, "sandyq")
    rng = random.Random(args.seed)
    root = tempfile.mkdtemp(prefix="sandyq-desk-bench-")
    cli = CLI(binary, root, PASS)
    home = os.path.join(root, "node")
    desk = None
    try:
        cli.ok(home, ["init", "--kdf", "interactive"])
        cli.ok(home, ["project", "create", "Desk bench"])
        doc = generate(args.cases, rng, STATUSES)
        path = os.path.join(root, "cases.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        t = time.monotonic()
        cli.ok(home, ["case", "import", path], timeout=3600)
        import_s = time.monotonic() - t

        desk, c, unlock_s = open_desk(binary, home, cli.env, PASS)

        # The first list after unlock builds what later requests reuse; it is reported on its own.
        first_list, page = c.timed("/cases")
        ids = sorted(set(m.decode() for m in re.findall(rb'href="/cases/([0-9a-f]{16,})"', page)))
        if not ids:
            raise SystemExit("desk-bench: the case list shows no case links")
        # Case ids beyond the first page: search by each generated ref's person, take the link.
        names = [p["name"] for case in doc["cases"] for p in case["persons"]]
        n = args.requests
        prefixes = []
        for _ in range(n):
            nm = rng.choice(names)
            prefixes.append(nm[:rng.randint(1, 5)])
        more = set(ids)
        for q in rng.sample(names, min(40, len(names))):
            _, pg = c.timed("/cases?q=" + urllib.parse.quote(q) + "&partial=1")
            more.update(m.decode() for m in re.findall(rb'href="/cases/([0-9a-f]{16,})"', pg))
        ids = sorted(more)

        for _ in range(10):  # warm-up of each kind
            c.timed("/static/app.css")
            c.timed("/cases")
            c.timed("/cases/" + rng.choice(ids))
            c.timed("/cases?q=" + urllib.parse.quote(rng.choice(prefixes)) + "&partial=1")

        runs = {"static": [], "list": [], "case": [], "search": []}
        # Interleaved, so a busy moment on the machine hits every kind alike.
        for i in range(n):
            runs["static"].append(c.timed("/static/app.css")[0])
            runs["list"].append(c.timed("/cases")[0])
            runs["case"].append(c.timed("/cases/" + rng.choice(ids))[0])
            runs["search"].append(c.timed("/cases?q=" + urllib.parse.quote(prefixes[i]) + "&partial=1")[0])

        figures = figures_of(runs)
        load = open("/proc/loadavg").read().split()[:3]
        print(f"desk-bench: {args.cases:,} cases, {n} requests of each kind, load average {' '.join(load)} on {os.cpu_count()} cores")
        print(f"setup: case import {import_s:.1f} s, unlock {unlock_s * 1000:.0f} ms, first list after unlock {first_list:.1f} ms")
        say_figures(figures, ["list", "case", "search", "static"])
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"cases": args.cases, "requests": n, "load": load, "cores": os.cpu_count(),
                           "import_s": round(import_s, 2), "unlock_ms": round(unlock_s * 1000, 1),
                           "first_list_ms": round(first_list, 2), "figures": figures,
                           "raw_ms": {k: [round(x, 3) for x in v] for k, v in runs.items()}}, fh, indent=1)
        return 0 if all(figures[k]["meets_goal"] for k in ["list", "case", "search"]) else 1
    finally:
        finish(desk, root, args.keep)


if __name__ == "__main__":
    sys.exit(main())
