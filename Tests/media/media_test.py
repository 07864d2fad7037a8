"""`sandyq media inspect` and `strip` checked by readers that are not ours: Pillow writes real
files with GPS EXIF and text chunks; after the strip, Pillow and (when installed) exiftool must
find no EXIF and no GPS, and the decoded pixels must equal the original's.

    python3 Tests/media/media_test.py --binary .build/debug/sandyq

Each test prints one line; the script exits 1 if any failed."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

from PIL import Image, ExifTags, PngImagePlugin

GPS = {1: "N", 2: (50.0, 27.0, 36.0), 3: "W", 4: (30.0, 31.0, 12.0), 5: b"\x00", 6: 179.5}


def picture():
    img = Image.new("RGB", (64, 48))
    img.putdata([(x * 4, y * 5, (x * y) % 256) for y in range(48) for x in range(64)])
    return img


def exif():
    e = Image.Exif()
    e[ExifTags.Base.Make] = "TestCam"
    e[ExifTags.Base.Model] = "TC-1"
    e[ExifTags.Base.Artist] = "Anna K"
    e[ExifTags.IFD.GPSInfo] = GPS
    return e


class Run:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp

    def path(self, name):
        return os.path.join(self.tmp, name)

    def sandyq(self, *args):
        return subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=60)

    def inspect(self, path):
        p = self.sandyq("media", "inspect", path, "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def strip(self, src, dst):
        p = self.sandyq("media", "strip", src, dst, "--json")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)


def exiftool(path):
    """exiftool's tags by group, or None when it is not installed."""
    if not shutil.which("exiftool"):
        return None
    out = subprocess.run(["exiftool", "-j", "-G", "-a", path], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def test_jpeg_gps_reported_then_gone(r):
    src, dst = r.path("photo.jpg"), r.path("photo-clean.jpg")
    picture().save(src, quality=95, exif=exif())
    assert Image.open(src).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture has GPS"
    report = r.inspect(src)
    assert report["type"] == "image/jpeg" and report["canStrip"] is True
    gps = [f for f in report["findings"] if f["kind"] == "gps" and "position" in f["label"]]
    assert gps, report
    lat, lon = (float(v) for v in gps[0]["value"].split(","))
    assert abs(lat - 50.46) < 1e-6 and abs(lon + 30.52) < 1e-6, gps
    assert any(f["kind"] == "device" and f["value"] == "TestCam" for f in report["findings"]), report
    assert any(f["kind"] == "person" and f["value"] == "Anna K" for f in report["findings"]), report

    out = r.strip(src, dst)
    assert any("EXIF" in x for x in out["removed"]), out
    clean = Image.open(dst)
    assert len(clean.getexif()) == 0 and "exif" not in clean.info, dict(clean.getexif())
    assert clean.tobytes() == Image.open(src).tobytes(), "decoded pixels differ"
    assert not [f for f in r.inspect(dst)["findings"] if f["kind"] in ("gps", "device", "person")]
    tags = exiftool(dst)
    if tags is not None:
        before = exiftool(src)
        assert any(k.startswith("EXIF:GPS") for k in before), "exiftool sees the original's GPS"
        leaked = [k for k in tags if k.startswith(("EXIF:", "GPS:", "Composite:GPS", "XMP:"))]
        assert not leaked, leaked
    return "GPS reported; after strip Pillow%s find no EXIF or GPS; pixels equal" % (
        " and exiftool" if tags is not None else "")


def test_png_text_and_exif_gone(r):
    src, dst = r.path("shot.png"), r.path("shot-clean.png")
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Anna K")
    info.add_itxt("Comment", "Сделано у суда", lang="ru")
    picture().save(src, pnginfo=info, exif=exif())
    report = r.inspect(src)
    assert any(f["kind"] == "gps" for f in report["findings"]), report
    assert any(f["value"] == "Anna K" for f in report["findings"]), report
    r.strip(src, dst)
    clean = Image.open(dst)
    clean.load()
    assert not clean.text and len(clean.getexif()) == 0, (clean.text, dict(clean.getexif()))
    assert clean.tobytes() == Image.open(src).tobytes(), "decoded pixels differ"
    tags = exiftool(dst)
    if tags is not None:
        leaked = [k for k in tags if k.startswith(("EXIF:", "PNG:Author", "PNG:Comment"))]
        assert not leaked, leaked
    return "text and eXIf chunks gone; pixels equal"


def test_bad_input_writes_nothing(r):
    pdf, broken, clean = r.path("doc.pdf"), r.path("broken.jpg"), r.path("out.bin")
    with open(pdf, "wb") as f:
        f.write(b"%PDF-1.4\n1 0 obj << /Author (Anna K) >> endobj\ntrailer << /Info 1 0 R >>\n%%EOF\n")
    assert any(f["value"] == "Anna K" for f in r.inspect(pdf)["findings"])
    p = r.sandyq("media", "strip", pdf, clean)
    assert p.returncode == 1 and "cannot be removed" in p.stderr and not os.path.exists(clean), (p.returncode, p.stderr)
    with open(broken, "wb") as f:
        f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\x00\x00junk")
    p = r.sandyq("media", "strip", broken, clean)
    assert p.returncode == 65 and not os.path.exists(clean), (p.returncode, p.stderr)
    with open(clean, "wb") as f:
        f.write(b"keep me")
    p = r.sandyq("media", "strip", r.path("photo.jpg"), clean)
    assert p.returncode == 64 and open(clean, "rb").read() == b"keep me", (p.returncode, p.stderr)
    p = r.sandyq("media", "inspect", r.path("missing.jpg"))
    assert p.returncode == 66, (p.returncode, p.stderr)
    fifo = r.path("fifo")
    os.mkfifo(fifo)
    for args in (("inspect", fifo), ("strip", fifo, r.path("f.out")), ("inspect", r.tmp)):
        p = r.sandyq("media", *args)
        assert p.returncode == 64 and "regular file" in p.stderr, (args, p.returncode, p.stderr)
    empty = r.path("empty.jpg")
    open(empty, "wb").close()
    assert r.inspect(empty)["findings"] == []
    p = r.sandyq("media", "strip", empty, r.path("e.out"))
    assert p.returncode == 1 and not os.path.exists(r.path("e.out")), (p.returncode, p.stderr)
    return "PDF refused (1), broken JPEG refused (65), existing OUT kept (64), missing file (66), FIFO and directory (64), empty file"


def test_evidence_get_working_copy_has_no_gps(r):
    """A photo attached to a case: `evidence get` gives a working copy with no GPS for Pillow
    and exiftool; `--original` gives the attached bytes back; --strip-at-capture refuses a PDF."""
    home = r.path("node")
    env = dict(os.environ, SANDYQ_PASSPHRASE="correct horse battery staple")

    def cli(*args, code=0):
        p = subprocess.run([r.binary, *args, "--home", home], capture_output=True, text=True, timeout=120, env=env)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        return p

    cli("init", "--kdf", "interactive")
    cli("project", "create", "media")
    case = json.loads(cli("case", "add", "--title", "photo case", "--json").stdout)
    ref = case["id"] if isinstance(case, dict) and "id" in case else case
    src = r.path("evidence.jpg")
    picture().save(src, quality=95, exif=exif())
    attached = json.loads(cli("case", "attach", ref, src, "--json").stdout)[0]
    assert any(f["kind"] == "gps" for f in attached["meta"]), attached
    assert any(w.startswith("this file says where it was made: 50.4600 N, 30.5200 W") for w in attached["warnings"]), attached
    listed = cli("evidence", "list").stdout
    assert "warning: this file says where it was made" in listed, listed
    shown = cli("case", "show", ref).stdout
    assert "warning: this file says where it was made: 50.4600 N, 30.5200 W" in shown, shown

    work, orig = r.path("work.jpg"), r.path("orig.jpg")
    got = json.loads(cli("evidence", "get", attached["fid"], "--out", work, "--json").stdout)
    assert got["original"] is False and got["removed"], got
    assert not Image.open(work).getexif().get_ifd(ExifTags.IFD.GPSInfo), "Pillow finds GPS in the working copy"
    assert not Image.open(work).getexif(), "Pillow finds EXIF in the working copy"
    tags = exiftool(work)
    if tags is not None:
        assert not [k for k in tags if "GPS" in k or k.startswith("EXIF:")], tags
    assert list(Image.open(work).getdata()) == list(Image.open(src).getdata()), "the pixels changed"
    cli("evidence", "get", attached["fid"], "--out", orig, "--original")
    with open(orig, "rb") as a, open(src, "rb") as b:
        assert a.read() == b.read(), "--original is not the attached file byte for byte"

    pdf = r.path("doc.pdf")
    with open(pdf, "wb") as f:
        f.write(b"%PDF-1.7\n1 0 obj << /Author (Anna) >> endobj\n%%EOF\n")
    p = cli("case", "attach", ref, pdf, "--strip-at-capture", code=65)
    assert "cannot be removed" in p.stderr, p.stderr
    assert len(json.loads(cli("evidence", "list", "--json").stdout)) == 1, "the refused PDF was recorded"
    return "working copy: no EXIF/GPS (Pillow%s), same pixels; --original byte-identical; PDF strip refused (65)" % (
        ", exiftool" if tags is not None else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="sandyq-media-") as tmp:
        r = Run(os.path.abspath(args.binary), tmp)
        for name, fn in [(n, f) for n, f in globals().items() if n.startswith("test_")]:
            try:
                print("ok   %s: %s" % (name, fn(r)))
            except Exception:
                failed += 1
                print("FAIL %s" % name)
                traceback.print_exc()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
