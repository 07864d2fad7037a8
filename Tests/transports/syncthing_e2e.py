#!/usr/bin/env python3
"""A USB mailbox folder kept in sync by Syncthing (Debian's package) between two machines, as a
blind relay (issue 19): two Syncthing instances on loopback, no discovery, no relays, each with
its own folder; a coordinator's node uses one folder, a reporter's the other, both with the
ordinary `usb sync`. The coordinator's invitation reply goes by hand; everything after goes
through Syncthing until the reporter's case is on the coordinator's node and the coordinator's
answer is back on the reporter's (nothing left undelivered either way). Syncthing's own files
in the folders (.stfolder, temporaries) never make a sync fail."""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from sandyq_cli import CLI, admit_reporter  # noqa: E402

PASS = "correct horse battery staple"
FOLDER = "sandyq-mailbox"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Syncthing:
    """One instance: its home, device id, ports and process."""

    def __init__(self, root, name, env):
        self.home = os.path.join(root, "st-" + name)
        self.folder = os.path.join(root, "mailbox-" + name)
        os.makedirs(self.folder)
        out = subprocess.run(["syncthing", "generate", "--home=" + self.home, "--no-default-folder", "--skip-port-probing"],
                             capture_output=True, text=True, env=env, check=True)
        self.id = [x.split("Device ID:")[1].strip() for x in (out.stdout + out.stderr).splitlines() if "Device ID:" in x][0]
        self.port, self.gui, self.key = free_port(), free_port(), "sandyq-test-" + name
        self.env, self.proc, self.name = env, None, name

    def configure(self, other):
        """A config of our own: loopback only, no discovery, relays, NAT, usage reports or upgrades."""
        root = ET.Element("configuration", version="36")
        f = ET.SubElement(root, "folder", id=FOLDER, label="sandyq", path=self.folder, type="sendreceive",
                          rescanIntervalS="2", fsWatcherEnabled="true", fsWatcherDelayS="1")
        for d in (self, other):
            ET.SubElement(f, "device", id=d.id)
            dev = ET.SubElement(root, "device", id=d.id, name=d.name, compression="metadata")
            ET.SubElement(dev, "address").text = f"tcp://127.0.0.1:{d.port}"
        gui = ET.SubElement(root, "gui", enabled="true", tls="false")
        ET.SubElement(gui, "address").text = f"127.0.0.1:{self.gui}"
        ET.SubElement(gui, "apikey").text = self.key
        o = ET.SubElement(root, "options")
        for k, v in [("listenAddress", f"tcp://127.0.0.1:{self.port}"), ("globalAnnounceEnabled", "false"),
                     ("localAnnounceEnabled", "false"), ("relaysEnabled", "false"), ("natEnabled", "false"),
                     ("startBrowser", "false"), ("urAccepted", "-1"), ("autoUpgradeIntervalH", "0"),
                     ("crashReportingEnabled", "false"), ("reconnectionIntervalS", "1")]:
            ET.SubElement(o, k).text = v
        ET.ElementTree(root).write(os.path.join(self.home, "config.xml"))

    def start(self):
        self.log = open(self.home + ".log", "w")
        self.proc = subprocess.Popen(["syncthing", "serve", "--home=" + self.home, "--no-browser", "--no-restart", "--no-upgrade"],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.gui}{path}", headers={"X-API-Key": self.key})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def connected(self, other):
        try:
            return self.api("/rest/system/connections")["connections"].get(other.id, {}).get("connected", False)
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def until(what, cond, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        got = cond()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="sandyq-st-")
    cli = CLI(os.path.abspath(args.binary), root, PASS)
    env = dict(os.environ, HOME=root, STNOUPGRADE="1", STNODEFAULTFOLDER="1")
    a, b = Syncthing(root, "a", env), Syncthing(root, "b", env)
    checks, t0 = 0, time.time()

    def check(cond, msg):
        nonlocal checks
        if not cond:
            raise AssertionError(msg)
        checks += 1

    try:
        a.configure(b)
        b.configure(a)
        a.start()
        b.start()
        until("the two Syncthing instances to connect", lambda: a.connected(b) and b.connected(a), timeout=90)

        c, r = os.path.join(root, "coordinator"), os.path.join(root, "reporter")
        cli.ok(c, ["init", "--kdf", "interactive"])
        cli.ok(c, ["project", "create", "Синхрондау қалтасы"])
        cli.ok(c, ["case", "add", "--title", "Қызылордадағы тінту", "--person", "Гүлнар Сәрсенова"])
        cli.ok(r, ["init", "--kdf", "interactive"])
        admit_reporter(root, cli, c, cli, r)

        def bundles(folder):
            return sorted(n for n in os.listdir(folder) if n.endswith(".sqb"))

        def sync(home, folder):
            out = json.loads(cli.ok(home, ["usb", "sync", folder, "--json"]))
            check(not out.get("failed"), f"usb sync on {os.path.basename(home)} failed on: {out.get('failed')}")
            return out

        # The coordinator's bundle for the reporter crosses by Syncthing; the reporter reads it.
        wrote = sync(c, a.folder)["written"]
        check(len(wrote) == 1, f"the coordinator wrote {wrote}")
        until("the coordinator's bundle in the reporter's folder", lambda: wrote[0] in bundles(b.folder))
        got = sync(r, b.folder)
        check(len(got["imported"]) == 1, f"the reporter imported {got['imported']}")
        cli.ok(r, ["case", "add", "--title", "Түркістандағы жиын", "--person", "Нұрлан Әбенов"])
        # Rounds of `usb sync` on both sides, each waiting for Syncthing to carry what was written,
        # until the reporter's case is at the coordinator and nothing is undelivered either way.
        def converged():
            titles = [x.get("title") for x in cli.json(c, ["case", "list"])]
            mine = [p for p in cli.json(r, ["peers"]) if p.get("role") == "coordinator"]
            return "Түркістандағы жиын" in titles and mine and all(p.get("undelivered") == 0 for p in mine)
        rounds = 0
        while not converged():
            rounds += 1
            check(rounds <= 6, "no convergence after 6 rounds")
            for home, mine, theirs in [(r, b, a), (c, a, b)]:
                out = sync(home, mine.folder)
                for f in out.get("written", []):
                    until(f"{f} in the other folder", lambda: f in bundles(theirs.folder))
        # Syncthing carried the deletions too: what is left is only what still waits for a reader.
        until("both folders to agree", lambda: bundles(a.folder) == bundles(b.folder), timeout=60)
        check(os.path.isdir(os.path.join(a.folder, ".stfolder")), "Syncthing's marker folder is missing")
        print(f"syncthing-e2e: ok, {checks} checks, converged after {rounds} round(s), {time.time() - t0:.1f} s; "
              f"left in the folders: {bundles(a.folder)}", flush=True)
        return 0
    finally:
        a.stop()
        b.stop()
        if args.keep:
            print(f"syncthing-e2e: kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
