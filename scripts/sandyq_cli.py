"""What the crash, load and flood drivers share: the environment the `sandyq` CLI runs in,
a runner that fails loudly, and a sampler of a process's memory."""
import json
import os
import subprocess
import threading
import time


def cli_env(root, passphrase):
    """The caller's environment without its SANDYQ_ settings, a HOME inside `root` (so no
    real home is touched), and the passphrase the CLI reads instead of prompting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDYQ_")}
    env["HOME"] = os.path.join(root, "nohome")
    env["SANDYQ_PASSPHRASE"] = passphrase
    return env


class Failure(Exception):
    pass


class CLI:
    """Runs `sandyq ... --home HOME` with `cli_env`; `ok` and `json` raise `Failure` on a non-zero exit."""

    def __init__(self, binary, root, passphrase):
        self.binary = binary
        self.root = root
        self.env = cli_env(root, passphrase)

    def argv(self, home, args):
        return [self.binary] + args + ["--home", home]

    def run(self, home, args, timeout):
        try:
            return subprocess.run(self.argv(home, args), env=self.env, cwd=self.root, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure(f"sandyq {' '.join(args[:3])} on {os.path.basename(home)} ran over {timeout} s")

    def ok(self, home, args, timeout=600):
        p = self.run(home, args, timeout)
        if p.returncode != 0:
            raise Failure(f"sandyq {' '.join(args[:3])} on {os.path.basename(home)} exited {p.returncode}: {p.stderr.strip()[:400]}")
        return p.stdout

    def json(self, home, args, timeout=600):
        return json.loads(self.ok(home, args + ["--json"], timeout))


def admit_reporter(root, coordinator, c, member, r):
    """`invite`, `join`, `member add` with the files a person carries: the node in home `r`
    (run by CLI `member`) becomes a reporter of the project in home `c` (run by `coordinator`).
    Returns the invitation file's path."""
    inv, reply = os.path.join(root, "r.invitation"), os.path.join(root, "r.reply")
    coordinator.ok(c, ["invite", "--role", "reporter", "--out", inv])
    sas = member.json(r, ["join", "--invite", inv, "--out", reply])["sas"]
    coordinator.ok(c, ["member", "add", "--request", reply, "--sas", sas])
    return inv


def read_port_file(path, timeout=20):
    """The port `serve --port-file` writes once it listens."""
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read().strip())
        time.sleep(0.05)
    raise Failure(f"no port in {path} after {timeout} s")


class Sampler(threading.Thread):
    """VmRSS / VmHWM / threads of one process, every `every` seconds."""

    def __init__(self, pid, every=0.2):
        super().__init__(daemon=True)
        self.pid = pid
        self.every = every
        self.peak_rss = 0
        self.hwm = 0
        self.threads = 0
        self.stopped = threading.Event()

    def sample(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "VmRSS":
                        self.peak_rss = max(self.peak_rss, int(v.split()[0]))
                    elif k == "VmHWM":
                        self.hwm = max(self.hwm, int(v.split()[0]))
                    elif k == "Threads":
                        self.threads = max(self.threads, int(v.split()[0]))
        except (OSError, ValueError):
            pass

    def run(self):
        while not self.stopped.wait(self.every):
            self.sample()
