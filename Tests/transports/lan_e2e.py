#!/usr/bin/env python3
"""LAN discovery that is no beacon (issue 19), between two network namespaces joined by a veth
pair: a real LAN of two machines, as far as the kernel can tell. The coordinator runs
`serve --lan` in one; the reporter, in the other, runs `sync --lan` and never types an
address. Meanwhile an independent reader captures every frame on the reporter's side (an
AF_PACKET socket: what a watcher on the LAN sees) and checks that no fixed string, key or id
goes out, that the group and port change with each window, and that no byte run repeats
between packets. Knowing the network key (read from the invitation, as membership.md lays it
out), the same reader then opens every packet from Protocol/transports.md alone, with PyNaCl:
a second implementation of the format. A node of another project hears nothing.

Windows are 2 s here (`--lan-window 2`) so one run spans several; the default is 600 s."""
import argparse
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

import nacl.bindings as b

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from sandyq_cli import CLI, admit_reporter, read_port_file  # noqa: E402

PASS = "correct horse battery staple"
WINDOW = 2


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class NetnsCLI(CLI):
    """The CLI, run inside a network namespace."""

    def __init__(self, binary, root, passphrase, ns):
        super().__init__(binary, root, passphrase)
        self.ns = ns

    def argv(self, home, args):
        return ["ip", "netns", "exec", self.ns] + super().argv(home, args)


def b32decode(text):
    t = text.upper()
    return base64.b32decode(t + "=" * (-len(t) % 8))


def rendezvous(key, window):
    d = hashlib.blake2b(f"sandyq lan addr {window}".encode(), key=key, digest_size=32).digest()
    return f"239.255.{d[0] % 255}.{d[1]}", 49152 + ((d[2] << 8) | d[3]) % 16384


def open_beacon(key, window, payload):
    k = hashlib.blake2b(f"sandyq lan key {window}".encode(), key=key, digest_size=32).digest()
    try:
        plain = b.crypto_aead_xchacha20poly1305_ietf_decrypt(payload[24:], None, payload[:24], k)
    except Exception:
        return None
    return plain


class Capture(threading.Thread):
    """Every IPv4 UDP frame seen on `ifname` inside `ns` (run through `ip netns exec`)."""

    def __init__(self, ns, ifname, seconds, out):
        super().__init__(daemon=True)
        self.ns, self.ifname, self.seconds, self.out = ns, ifname, seconds, out

    def run(self):
        code = (
            "import socket,sys,time,struct\n"
            f"s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.ntohs(3));s.bind(({self.ifname!r},0));s.settimeout(0.2)\n"
            f"end=time.time()+{self.seconds}\n"
            "while time.time()<end:\n"
            "  try: f=s.recv(65535)\n"
            "  except socket.timeout: continue\n"
            "  sys.stdout.write('%.3f %s\\n'%(time.time(),f.hex()));sys.stdout.flush()\n")
        p = subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=self.seconds + 30)
        for line in p.stdout.splitlines():
            t, h = line.split()
            self.out.append((float(t), bytes.fromhex(h)))


def udp_frames(frames):
    """(time, src, dst, dport, ttl, payload) of the IPv4 UDP frames."""
    out = []
    for t, f in frames:
        if len(f) < 42 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            continue
        ttl = ip[8]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        udp = ip[ihl:]
        dport, length = struct.unpack("!HH", udp[2:6])
        out.append((t, src, dst, dport, ttl, udp[8:length]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("ip"):
        print("lan-e2e: skipped: network namespaces need root and iproute2", flush=True)
        return 0
    tag = f"{os.getpid() % 100000}"
    ns_a, ns_b, va, vb = f"sqlanA{tag}", f"sqlanB{tag}", f"sqa{tag}", f"sqb{tag}"
    root = tempfile.mkdtemp(prefix="sandyq-lan-")
    binary = os.path.abspath(args.binary)
    procs = []
    checks = 0

    def check(cond, msg):
        nonlocal checks
        if not cond:
            raise AssertionError(msg)
        checks += 1

    try:
        sh("ip", "netns", "add", ns_a)
        sh("ip", "netns", "add", ns_b)
        sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        sh("ip", "link", "set", va, "netns", ns_a)
        sh("ip", "link", "set", vb, "netns", ns_b)
        sh("ip", "-n", ns_a, "addr", "add", "10.77.0.1/24", "dev", va)
        sh("ip", "-n", ns_b, "addr", "add", "10.77.0.2/24", "dev", vb)
        for ns, v in ((ns_a, va), (ns_b, vb)):
            sh("ip", "-n", ns, "link", "set", v, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        a = NetnsCLI(binary, root, PASS, ns_a)
        bcli = NetnsCLI(binary, root, PASS, ns_b)

        c, r, o = (os.path.join(root, x) for x in ("coordinator", "reporter", "outsider"))
        a.ok(c, ["init", "--kdf", "interactive"])
        a.ok(c, ["project", "create", "Жергілікті желі"])
        a.ok(c, ["case", "add", "--title", "Алматыдағы жиын", "--person", "Дана Жұмабекова"])
        bcli.ok(r, ["init", "--kdf", "interactive"])
        inv = admit_reporter(root, a, c, bcli, r)
        # membership.md: version(1) project(16) network key(32) inviter signing(32) box(32) role(1) nonce(16) check(4).
        code = next(x for x in open(inv, encoding="utf-8").read().split() if x.startswith("sqi-"))
        body = b32decode(code[4:])
        project, net_key, signing, box = body[1:17], body[17:49], body[49:81], body[81:113]
        status = a.json(c, ["status"])
        node_text = status["nodeId"]

        frames = []
        cap = Capture(ns_b, vb, 8 * WINDOW, frames)
        cap.start()
        time.sleep(0.5)
        portfile, log = os.path.join(root, "serve.port"), open(os.path.join(root, "serve.log"), "w")
        serve = subprocess.Popen(a.argv(c, ["serve", "--listen", "0.0.0.0:0", "--port-file", portfile, "--lan",
                                            "--lan-window", str(WINDOW)]), env=a.env, stdout=subprocess.DEVNULL, stderr=log)
        procs.append(serve)
        sport = read_port_file(portfile)

        first = bcli.json(r, ["sync", "--lan", "--lan-window", str(WINDOW), "--lan-wait", "5"], timeout=120)
        check(first["found"] == 1 and len(first["peers"]) == 1, f"the reporter should find the coordinator only: {first}")
        row = first["peers"][0]
        check(row["ok"] and row["address"] == f"10.77.0.1:{sport}" and row["received"] >= 1,
              f"the admission over the LAN, at the announced address: {row}")
        bcli.ok(r, ["case", "add", "--title", "Шымкенттегі тінту", "--person", "Бауыржан Омаров"])
        second = bcli.json(r, ["sync", "--lan", "--lan-window", str(WINDOW), "--lan-wait", "5"], timeout=120)
        check(second["peers"][0]["ok"] and second["peers"][0]["sent"] >= 1, f"the reporter's case over the LAN: {second}")
        titles = [x.get("title") for x in a.json(c, ["case", "list"])]
        check("Шымкенттегі тінту" in titles, f"the coordinator lacks the reporter's case: {titles}")

        # Another project on the same LAN: it cannot open the beacons, so it hears no one.
        bcli.ok(o, ["init", "--kdf", "interactive"])
        bcli.ok(o, ["project", "create", "Бөгде жоба"])
        outsider = bcli.run(o, ["sync", "--lan", "--lan-window", str(WINDOW), "--lan-wait", "3"], timeout=60)
        check(outsider.returncode != 0 and "no member announced itself" in outsider.stderr,
              f"an outsider heard something: exit {outsider.returncode}: {outsider.stderr.strip()[:300]}")

        cap.join()
        packets = [p for p in udp_frames(frames) if p[1] == "10.77.0.1" and p[2].startswith("239.")]
        others = [p for p in udp_frames(frames) if p[1] == "10.77.0.1" and not p[2].startswith("239.")]
        check(len(packets) >= 3, f"the reader saw {len(packets)} announcements")
        check(not others, f"UDP from the coordinator to other than a group: {others[:3]}")
        check(all(p[2].startswith("239.255.") and p[4] == 1 for p in packets), "announcements leave the LAN (TTL 1, 239.255/16)")
        places = {(p[2], p[3]) for p in packets}
        check(len(places) >= 2, f"one group and port for the whole capture: {places}")
        lengths = {len(p[5]) for p in packets}
        check(len(lengths) >= 2, f"every announcement has the same length: {lengths}")
        secrets = [b"sandyq", b"Sandyq", b"SANDYQ", project, net_key, signing, box, node_text.encode()[4:20], status["fingerprint"].encode(),
                   "Жергілікті".encode()]
        for p in packets:
            for s in secrets:
                check(not s or s not in p[5], f"an announcement carries {s!r}")
        # No stable identifier: no 6-byte run shared by any two announcements.
        runs = {}
        for i, p in enumerate(packets):
            for j in range(len(p[5]) - 5):
                runs.setdefault(p[5][j:j + 6], set()).add(i)
        shared = [k.hex() for k, v in runs.items() if len(v) > 1]
        check(not shared, f"byte runs shared between announcements: {shared[:5]}")

        # With the key, the format alone opens each one (Protocol/transports.md, LAN discovery).
        opened = 0
        for t, src, dst, dport, ttl, payload in packets:
            w = int(t) // WINDOW
            hit = None
            for cand in (w, w - 1, w + 1):
                if rendezvous(net_key, cand) == (dst, dport):
                    hit = open_beacon(net_key, cand, payload)
                    break
            check(hit is not None, f"an announcement to {dst}:{dport} does not open under its window's key")
            check(hit[0] == 1 and struct.unpack("!H", hit[1:3])[0] == sport and hit[3:35] == signing and hit[35:67] == box,
                  f"an opened announcement says {hit[:67].hex()}, not version 1, port {sport} and the coordinator's keys")
            check(set(hit[67:]) <= {0} and len(hit) - 67 <= 63, "padding is zeros, at most 63")
            opened += 1
        print(f"lan-e2e: ok, {checks} checks; {len(packets)} announcements to {len(places)} group:port pairs, "
              f"{len(lengths)} lengths, all opened with the key; an outsider heard none", flush=True)
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(2)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if args.keep:
            print(f"lan-e2e: kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
