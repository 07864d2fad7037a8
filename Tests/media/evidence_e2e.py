"""Evidence end to end, driving the real `sandyq` binary as separate processes (issue 17):

1. three homes: a coordinator (the founder), a write-only reporter, a lawyer;
2. the reporter records a case and attaches a large "video" and a JPEG carrying a GPS tag,
   and a small file to a second case;
3. the reporter carries them to the coordinator on a stick in several --max-size parts, which
   the coordinator imports in reverse order; the coordinator's answer tells the reporter it
   checked them ("received"), and the reporter lets its copy go ("removed");
4. the coordinator shares the case with the lawyer and serves; the lawyer's first sync goes
   through a proxy that cuts the chunk session after about 60% of the video, and the second
   sync resumes where it stopped instead of starting over; the second case, not shared with
   the lawyer, sends it no chunk;
5. the lawyer's export matches the originals' SHA-256, its working copy of the JPEG has no
   EXIF or GPS (Pillow, and exiftool when installed), and its manifest verifies;
6. no file under any home and no bundle part holds a 64-byte run of either plaintext.

    python3 Tests/media/evidence_e2e.py --binary .build/debug/sandyq

SANDYQ_E2E_MIB sets the video's size in MiB (default 200). Each step prints one line with its
time; the script exits 1 at the first failure, saying what failed."""
import argparse
import hashlib
import json
import mmap
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from PIL import Image, ExifTags

PASSPHRASE = "evidence e2e passphrase"
MIB = 1 << 20
CHUNK = MIB
# Every 32-byte record of the video starts with this, so any 64-byte run of its plaintext holds one whole.
MARKER = b"SQPLAINTEXT:"
GPS = {1: "N", 2: (50.0, 27.0, 36.0), 3: "W", 4: (30.0, 31.0, 12.0), 5: b"\x00", 6: 179.5}


class Failure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Failure(message)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MIB)
            if not b:
                return h.hexdigest()
            h.update(b)


def chunks_of(size):
    return (size + CHUNK - 1) // CHUNK


def make_video(path, size):
    """A minimal MP4 (`ftyp`, then one `mdat` box over the rest) whose payload is 32-byte records:
    MARKER, a u32 counter, 16 random bytes. The records start at offset 32, so every 64-byte run
    of the file past its first 32 bytes holds a whole MARKER."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + (0x200).to_bytes(4, "big") + b"isommp41"
    mdat = (size - len(ftyp)).to_bytes(4, "big") + b"mdat"
    with open(path, "wb") as f:
        f.write(ftyp + mdat)
        left, n = size - 32, 0
        while left > 0:
            k = min(left // 32 + (left % 32 > 0), 32768)
            rnd = os.urandom(16 * k)
            block = b"".join(MARKER + (n + i).to_bytes(4, "big") + rnd[16 * i:16 * i + 16] for i in range(k))
            f.write(block[:left])
            left -= min(len(block), left)
            n += k


def make_photo(path):
    img = Image.new("RGB", (64, 48))
    img.putdata([(x * 4, y * 5, (x * y) % 256) for y in range(48) for x in range(64)])
    e = Image.Exif()
    e[ExifTags.Base.Make] = "TestCam"
    e[ExifTags.Base.Model] = "TC-1"
    e[ExifTags.Base.Artist] = "Anna K"
    e[ExifTags.IFD.GPSInfo] = GPS
    img.save(path, quality=95, exif=e)
    check(Image.open(path).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture JPEG has no GPS")


def photo_needles(path, count=None):
    """Aligned 32-byte blocks of the JPEG: every one that overlaps its EXIF (APP1) segment, where
    the GPS tag is, then the others (or `count` in all, spread over the file). Blocks of fewer
    than 4 distinct bytes (runs a store might hold by chance, such as zeros) are left out. Any
    64-byte run of the file holds a whole aligned block, so with every block searched for, no
    64-byte run of the photo can hide."""
    data = open(path, "rb").read()
    exif_at = data.find(b"Exif\x00\x00")
    check(exif_at > 0, "no EXIF segment in the fixture JPEG")
    seg_len = int.from_bytes(data[exif_at - 2:exif_at], "big")
    lo, hi = exif_at - 4, exif_at - 2 + seg_len
    blocks = [(i, data[i:i + 32]) for i in range(0, len(data) - 31, 32)]
    varied = [(i, b) for i, b in blocks if len(set(b)) >= 4]
    chosen = [b for i, b in varied if i + 32 > lo and i < hi]
    rest = [b for i, b in varied if not (i + 32 > lo and i < hi)]
    if count is None:
        return chosen + rest
    step = max(1, len(rest) // max(1, count - len(chosen)))
    return chosen + rest[::step][:max(0, count - len(chosen))]


def stored_fids(home):
    """The file ids (hex) of the chunks in a home's store, read from SQLite directly."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(home, "sandyq.db"), uri=True, timeout=60)
    try:
        return {bytes(f).hex() for (f,) in db.execute("SELECT DISTINCT fid FROM evidence_chunks")}
    finally:
        db.close()


def exiftool(path):
    """exiftool's tags by group, or None when it is not installed."""
    if not shutil.which("exiftool"):
        return None
    out = subprocess.run(["exiftool", "-j", "-G", "-a", path], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


class Nodes:
    """Runs `sandyq ... --home HOME` as a separate process, with the passphrase in the environment
    and HOME inside the run's directory, as Tests/EndToEndTests/CLI.swift does."""

    def __init__(self, binary, root):
        self.binary, self.root = binary, root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SANDYQ_")}
        self.env["HOME"] = os.path.join(root, "nohome")
        self.env["SANDYQ_PASSPHRASE"] = PASSPHRASE

    def home(self, name):
        return os.path.join(self.root, "homes", name)

    def run(self, name, *args, stdin=None, timeout=900):
        argv = [self.binary, *args, "--home", self.home(name)]
        try:
            return subprocess.run(argv, env=self.env, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                                  input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Failure("sandyq %s on %s ran over %d s" % (" ".join(args), name, timeout))

    def ok(self, name, *args, stdin=None, codes=(0,)):
        p = self.run(name, *args, stdin=stdin)
        if p.returncode not in codes:
            raise Failure("sandyq %s --home %s exited %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), name, p.returncode, p.stdout.strip()[-2000:], p.stderr.strip()[-2000:]))
        return p

    def json(self, name, *args, stdin=None, codes=(0,)):
        p = self.ok(name, *args, "--json", stdin=stdin, codes=codes)
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise Failure("sandyq %s --home %s --json printed no JSON: %r" % (" ".join(args), name, p.stdout[:500]))


class CuttingProxy(threading.Thread):
    """Forwards 127.0.0.1:port to the server. The second connection (the chunk session; the
    first is the op session) is closed both ways once `cut_after` bytes have gone from the
    server to the client; the others pass untouched."""

    def __init__(self, server_port, cut_after):
        super().__init__(daemon=True)
        self.server_port, self.cut_after = server_port, cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.cut = threading.Event()

    def run(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                server = socket.create_connection(("127.0.0.1", self.server_port))
            except OSError:
                client.close()
                continue
            cutting = self.connections == 2
            ends = [2]
            lock = threading.Lock()
            for src, dst, limit in ((client, server, None), (server, client, self.cut_after if cutting else None)):
                threading.Thread(target=self.pipe, args=(src, dst, limit, (client, server), ends, lock), daemon=True).start()

    def pipe(self, src, dst, limit, pair, ends, lock):
        passed = 0
        try:
            while True:
                b = src.recv(256 * 1024)
                if not b:
                    dst.shutdown(socket.SHUT_WR)
                    break
                if limit is not None and passed + len(b) >= limit:
                    dst.sendall(b[:limit - passed])
                    self.cut.set()
                    for s in pair:
                        s.shutdown(socket.SHUT_RDWR)
                    break
                dst.sendall(b)
                passed += len(b)
        except OSError:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        with lock:
            ends[0] -= 1
            if ends[0] == 0:
                for s in pair:
                    s.close()

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()


class Run:
    def __init__(self, binary, root, size):
        self.n = Nodes(binary, root)
        self.root, self.size = root, size
        self.originals = os.path.join(root, "originals")
        self.stick = os.path.join(root, "stick")
        self.exports = os.path.join(root, "exports")
        for d in (self.originals, self.stick, self.exports, os.path.join(root, "homes")):
            os.makedirs(d)
        self.video = os.path.join(self.originals, "video.mp4")
        self.photo = os.path.join(self.originals, "photo.jpg")
        # A file of another case, which the coordinator does not share with the lawyer.
        self.other = os.path.join(self.originals, "other.mp4")
        self.server = None
        self.proxy = None

    def node_id(self, name):
        return self.n.json(name, "status")["nodeId"]

    def step_homes(self):
        n = self.n
        n.json("coordinator", "init", "--kdf", "interactive")
        n.json("lawyer", "init", "--kdf", "interactive")
        n.json("reporter", "init", "--kdf", "interactive", "--write-only")
        n.json("coordinator", "project", "create", "Evidence e2e")
        for name, role in (("reporter", "reporter"), ("lawyer", "lawyer")):
            inv, reply = os.path.join(self.root, name + ".invitation"), os.path.join(self.root, name + ".reply")
            n.json("coordinator", "invite", "--role", role, "--out", inv)
            joined = n.json(name, "join", "--invite", inv, "--out", reply)
            added = n.json("coordinator", "member", "add", "--request", reply, "--sas", joined["sas"])
            check(added["role"] == role, "member add: %r" % added)
        self.ids = {name: self.node_id(name) for name in ("coordinator", "reporter", "lawyer")}
        # The reporter learns the membership (and so who the coordinators are) from a bundle.
        setup = os.path.join(self.root, "setup.sqb")
        n.json("coordinator", "bundle", "export", "--to", self.ids["reporter"], "--out", setup)
        n.json("reporter", "bundle", "import", setup)
        status = n.json("reporter", "status")
        check(status["mode"] == "write-only", "the reporter is not write-only: %r" % status)
        return "coordinator, write-only reporter and lawyer admitted by invitation"

    def step_attach(self):
        make_video(self.video, self.size)
        make_photo(self.photo)
        self.sha = {"video.mp4": sha256(self.video), "photo.jpg": sha256(self.photo)}
        self.needles = photo_needles(self.photo)
        make_video(self.other, 3 * MIB)
        made = time.monotonic()
        case = json.dumps({"title": "Evidence e2e", "city": "Almaty", "persons": [{"name": "Anna K"}]})
        self.case = self.n.json("reporter", "case", "add", "--stdin", stdin=case)["id"]
        other = json.dumps({"title": "Not shared", "city": "Astana", "persons": [{"name": "Berik S"}]})
        self.other_case = self.n.json("reporter", "case", "add", "--stdin", stdin=other)["id"]
        o = self.n.json("reporter", "case", "attach", self.other_case, self.other)[0]
        check(o["sha256"] == sha256(self.other) and o["chunks"] == 3, "attach of the unshared file: %r" % o)
        self.other_fid = o["fid"]
        attached = self.n.json("reporter", "case", "attach", self.case, self.video, self.photo)
        check(len(attached) == 2, "attach gave %d records" % len(attached))
        self.fid, self.chunks = {}, {}
        for a, path in zip(attached, (self.video, self.photo)):
            name = os.path.basename(path)
            check(a["sha256"] == self.sha[name], "%s: attach recorded sha256 %s, the file's is %s" % (name, a["sha256"], self.sha[name]))
            check(a["chunks"] == chunks_of(os.path.getsize(path)) and a["complete"], "%s: %r" % (name, a))
            self.fid[name], self.chunks[name] = a["fid"], a["chunks"]
        check(attached[0]["type"] == "video/mp4", "the video sniffs as %s" % attached[0]["type"])
        check(any(f["kind"] == "gps" for f in attached[1]["meta"]), "attach found no GPS in the photo: %r" % attached[1]["meta"])
        return "%d MiB video (%d chunks) and a JPEG with GPS to one case, 3 MiB to another (making the files took %.1f s)" % (
            self.size // MIB, self.chunks["video.mp4"], made - self.t0)

    def step_stick(self):
        n = self.n
        max_size = min(64 * MIB, max(2 * MIB, self.size // 3))
        out = os.path.join(self.stick, "x.sqb")
        exported = n.json("reporter", "bundle", "export", "--to", self.ids["coordinator"], "--out", out, "--max-size", str(max_size))
        parts = exported["files"]
        self.parts = [os.path.join(self.root, p) if not os.path.isabs(p) else p for p in parts]
        total = sum(self.chunks.values()) + 3
        check(exported["evidenceChunks"] == total, "export carried %d chunks, the files have %d" % (exported["evidenceChunks"], total))
        check(len(parts) >= 2, "one part for %d bytes at --max-size %d" % (exported["bytes"], max_size))
        check(all(os.path.getsize(p) <= max_size for p in self.parts), "a part is over --max-size")
        stored, verified = 0, set()
        for p in reversed(self.parts):
            report = n.json("coordinator", "bundle", "import", p)[0]
            ev = report.get("evidence") or {}
            check(not ev.get("failed") and not ev.get("refused") and not report["refused"],
                  "import of %s refused something: %r" % (os.path.basename(p), report))
            stored += ev.get("stored", 0)
            verified.update(ev.get("verified", []))
        check(stored == total, "the coordinator stored %d chunks of %d" % (stored, total))
        every = set(self.fid.values()) | {self.other_fid}
        check(verified == every, "verified after import: %r, expected %r" % (verified, every))
        listed = {e["fid"]: e for e in n.json("coordinator", "evidence", "list")}
        for name, fid in self.fid.items():
            e = listed.get(fid)
            check(e and e["complete"] and e["sha256"] == self.sha[name], "the coordinator's list: %r" % e)
            matches = n.json("coordinator", "evidence", "verify", os.path.join(self.originals, name))["matches"]
            check([(m["fid"], m["caseId"]) for m in matches] == [(fid, self.case)], "evidence verify %s: %r" % (name, matches))

        answer = os.path.join(self.stick, "answer.sqb")
        n.json("coordinator", "bundle", "export", "--to", self.ids["reporter"], "--out", answer)
        self.parts.append(answer)
        n.json("reporter", "bundle", "import", answer)
        held = {e["fid"]: e for e in n.json("reporter", "evidence", "held")}
        for fid in every:
            check(held.get(fid, {}).get("state") == "received", "the reporter's held after the answer: %r" % held.get(fid))
        n.json("reporter", "evidence", "release")
        held = {e["fid"]: e for e in n.json("reporter", "evidence", "held")}
        for fid in every:
            e = held.get(fid, {})
            check(e.get("state") == "removed" and e.get("present") == 0, "the reporter's held after release: %r" % e)
        left = stored_fids(n.home("reporter"))
        check(not left, "the reporter's store still holds chunks of %r after release" % left)
        # The store gives the pages back: its size must not tell a seizer it once held the video.
        size = sum(os.path.getsize(os.path.join(n.home("reporter"), f)) for f in os.listdir(n.home("reporter"))
                   if os.path.isfile(os.path.join(n.home("reporter"), f)))
        check(size < 16 << 20, "the reporter's home is still %d bytes after release" % size)
        return "%d parts imported in reverse order, %d chunks stored, 3 files checked; reporter: received, then removed, store empty" % (
            len(parts), stored)

    def step_tcp(self):
        n = self.n
        n.json("coordinator", "case", "share", self.case, "--with", self.ids["lawyer"])
        port_file = os.path.join(self.root, "port")
        self.server_log = open(os.path.join(self.root, "serve.log"), "w")
        self.server = subprocess.Popen([n.binary, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
                                        "--home", n.home("coordinator")], env=n.env, cwd=self.root,
                                       stdin=subprocess.DEVNULL, stdout=self.server_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            check(self.server.poll() is None, "serve exited %s: %s" % (self.server.returncode, open(self.server_log.name).read()))
            check(time.monotonic() < deadline, "serve wrote no port in 60 s")
            time.sleep(0.1)
        port = int(open(port_file).read().strip())
        video = self.chunks["video.mp4"]
        self.proxy = CuttingProxy(port, int(self.size * 0.6))
        self.proxy.start()

        first = n.json("lawyer", "sync", "127.0.0.1:%d" % self.proxy.port)
        check(self.proxy.cut.is_set(), "the proxy never cut the chunk session (%d connections): %r" % (self.proxy.connections, first))
        check(first.get("chunkError"), "the cut sync reports no chunkError: %r" % first)
        listed = {e["fid"]: e for e in n.json("lawyer", "evidence", "list")}
        check(set(listed) == set(self.fid.values()), "the lawyer lists %r, expected %r" % (sorted(listed), self.fid))
        have = sum(listed[f]["present"] for f in self.fid.values())
        total = sum(self.chunks.values())
        check(0 < listed[self.fid["video.mp4"]]["present"] < video,
              "after the cut the lawyer holds %d of %d video chunks" % (listed[self.fid["video.mp4"]]["present"], video))

        second = n.json("lawyer", "sync", "127.0.0.1:%d" % port)
        check(not second.get("chunkError"), "the second sync: %r" % second)
        got = second["chunksReceived"]
        check(got == total - have, "the second sync received %d chunks; %d of %d were missing" % (got, total - have, total))
        video_got = got - (self.chunks["photo.jpg"] - listed[self.fid["photo.jpg"]]["present"])
        check(video_got < video, "the second sync received %d video chunks, the video has %d: it started over" % (video_got, video))
        after = {e["fid"]: e for e in n.json("lawyer", "evidence", "list")}
        for name, fid in self.fid.items():
            e = after[fid]
            check(e["complete"] and e["present"] == e["chunks"], "the lawyer's %s after the second sync: %r" % (name, e))
        held = stored_fids(n.home("lawyer"))
        check(held == set(self.fid.values()), "the lawyer's store holds chunks of %r; only the shared case's %r were its due" % (
            held, set(self.fid.values())))
        return "cut after %.1f MiB server->client, %d/%d video chunks held (%r); resumed with %d chunks; unshared case's file not sent" % (
            self.proxy.cut_after / MIB, listed[self.fid["video.mp4"]]["present"], video, first["chunkError"][:70], got)

    def step_export(self):
        n = self.n
        orig, work = os.path.join(self.exports, "originals"), os.path.join(self.exports, "working")
        exported = n.json("lawyer", "evidence", "export", "--out", orig)
        check(not exported.get("failures"), "export failures: %r" % exported)
        names = sorted(os.listdir(orig))
        check(names == sorted(["manifest.json", "manifest.sig", *self.sha]), "the lawyer's export holds %r" % names)
        for name in self.sha:
            path = os.path.join(orig, name)
            check(os.path.exists(path), "the export has no %s: %r" % (name, sorted(os.listdir(orig))))
            check(sha256(path) == self.sha[name], "the exported %s differs from the original" % name)
        v = n.ok("lawyer", "evidence", "verify-manifest", orig)
        check("manifest verifies: 2 file(s)" in v.stdout, "verify-manifest of the originals: %s" % v.stdout)
        manifest = json.load(open(os.path.join(orig, "manifest.json")))
        entries = sorted((f["path"], f["sha256"], f["caseId"]) for f in manifest["files"])
        check(entries == sorted((name, digest, self.case) for name, digest in self.sha.items()), "manifest.json: %r" % manifest["files"])

        n.json("lawyer", "evidence", "export", "--out", work, "--working")
        v = n.ok("lawyer", "evidence", "verify-manifest", work)
        check("manifest verifies" in v.stdout, "verify-manifest of the working copies: %s" % v.stdout)
        copy = os.path.join(work, "photo.jpg")
        entry = [f for f in json.load(open(os.path.join(work, "manifest.json")))["files"] if f["path"] == "photo.jpg"]
        check(entry and entry[0]["sha256"] == self.sha["photo.jpg"] and entry[0].get("workingSha256") == sha256(copy),
              "the working manifest's photo entry: %r" % entry)
        img = Image.open(copy)
        check(not img.getexif(), "Pillow finds EXIF in the working copy: %r" % dict(img.getexif()))
        check(not img.getexif().get_ifd(ExifTags.IFD.GPSInfo), "Pillow finds GPS in the working copy")
        check(img.tobytes() == Image.open(self.photo).tobytes(), "the working copy's pixels differ")
        tags = exiftool(copy)
        if tags is not None:
            check(any("GPS" in k for k in exiftool(self.photo)), "exiftool sees no GPS in the original")
            leaked = [k for k in tags if "GPS" in k or k.startswith("EXIF:")]
            check(not leaked, "exiftool finds in the working copy: %r" % leaked)
        return "originals' SHA-256 equal; working JPEG has no EXIF/GPS (Pillow%s); both manifests verify" % (
            ", exiftool" if tags is not None else "; exiftool not installed")

    def step_no_plaintext(self):
        # The search finds what it looks for: the marker in the video, every block in the photo.
        with open(self.video, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            check(m.find(MARKER, 32, 96) >= 0, "the video has no marker in its first records")
        photo = open(self.photo, "rb").read()
        check(len(self.needles) >= 16 and all(photo.find(b) >= 0 for b in self.needles), "the photo's blocks are not its own")
        skip = {os.path.realpath(p) for p in (self.originals, self.exports)}
        files, scanned, found = 0, 0, []
        for top, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(top, d)) not in skip]
            for name in names:
                path = os.path.join(top, name)
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                size = os.path.getsize(path)
                files += 1
                if size == 0:
                    continue
                with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                    scanned += size
                    if m.find(MARKER) >= 0:
                        found.append("%s: the video's plaintext" % os.path.relpath(path, self.root))
                    for i, b in enumerate(self.needles):
                        if m.find(b) >= 0:
                            found.append("%s: the photo's plaintext (block %d)" % (os.path.relpath(path, self.root), i))
                            break
        check(files > 0 and not found, "plaintext found in:\n  " + "\n  ".join(found))
        homes = os.path.join(self.root, "homes")
        check(all(os.listdir(os.path.join(homes, h)) for h in os.listdir(homes)), "a home is empty")
        return "%d files, %.0f MiB (homes, db, wal, keys, %d bundle parts): no video marker, none of the JPEG's %d blocks (%d in all)" % (
            files, scanned / MIB, len(self.parts), len(self.needles), os.path.getsize(self.photo) // 32)

    def stop(self):
        if self.proxy:
            self.proxy.close()
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.server:
            self.server_log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep", action="store_true", help="leave the run's directory in place")
    args = ap.parse_args()
    mib = int(os.environ.get("SANDYQ_E2E_MIB", "200"))
    if mib < 2:
        ap.error("SANDYQ_E2E_MIB must be at least 2 (the video must span several bundle parts)")
    root = tempfile.mkdtemp(prefix="sandyq-evidence-e2e-")
    r = Run(os.path.abspath(args.binary), root, mib * MIB)
    steps = [("homes", r.step_homes), ("attach", r.step_attach), ("stick", r.step_stick), ("tcp", r.step_tcp),
             ("export", r.step_export), ("no-plaintext", r.step_no_plaintext)]
    start = time.monotonic()
    failed = None
    try:
        for name, fn in steps:
            r.t0 = time.monotonic()
            try:
                said = fn()
            except Failure as e:
                failed = "%s: %s" % (name, e)
            except Exception:
                failed = "%s: %s" % (name, traceback.format_exc())
            took = time.monotonic() - r.t0
            if failed:
                print("FAIL %-13s %6.1f s  %s" % (name, took, failed.split(": ", 1)[1]), flush=True)
                if name == "tcp" and r.server is not None:
                    r.stop()
                    print("the coordinator's serve log:\n" + open(os.path.join(root, "serve.log")).read().strip()[-3000:])
                break
            if name == "tcp":
                r.stop()
            print("ok   %-13s %6.1f s  %s" % (name, took, said), flush=True)
    finally:
        r.stop()
        if args.keep:
            print("evidence-e2e: the run's files are in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    total = time.monotonic() - start
    if failed:
        print("evidence-e2e: FAILED after %.1f s at step %s%s" % (
            total, failed.split(":", 1)[0], "" if args.keep else " (--keep leaves the run's files in place)"))
        sys.exit(1)
    print("evidence-e2e: all %d steps passed in %.1f s (video %d MiB)" % (len(steps), total, mib))


if __name__ == "__main__":
    main()
