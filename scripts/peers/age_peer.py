#!/usr/bin/env python3
"""Encrypts a file to N X25519 recipients with the `age` tool (or pyrage when age is not
installed), as sandyq-bench's peer for bundle encryption.

    age_peer.py --input FILE [--recipients 3] [--repeats 3]

Times whole `age -r ... -o OUT FILE` runs (process start, read, encrypt, write) and reports
the median, with the child's CPU time, and one decryption. Prints one JSON object; when
neither age nor pyrage is available it says so with "available": false.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def timed(cmd):
    w, c = time.perf_counter(), child_cpu()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - w, child_cpu() - c


def with_age(args, tmp):
    age, keygen = shutil.which("age"), shutil.which("age-keygen")
    version = subprocess.run([age, "--version"], capture_output=True, text=True).stdout.strip()
    recipients, identities = [], []
    for i in range(args.recipients):
        key = os.path.join(tmp, "id%d.txt" % i)
        subprocess.run([keygen, "-o", key], check=True, capture_output=True)
        identities.append(key)
        recipients.append(subprocess.run([keygen, "-y", key], check=True, capture_output=True, text=True).stdout.strip())
    out = os.path.join(tmp, "out.age")
    enc = []
    for _ in range(args.repeats):
        cmd = [age]
        for r in recipients:
            cmd += ["-r", r]
        enc.append(timed(cmd + ["-o", out, args.input]))
        size = os.path.getsize(out)
    # The last recipient decrypts: age tries each stanza in turn, as Sandyq's reader does.
    back = os.path.join(tmp, "back.bin")
    dec = [timed([age, "-d", "-i", identities[-1], "-o", back, out]) for _ in range(args.repeats)]
    ok = os.path.getsize(back) == os.path.getsize(args.input)
    return "age " + version, enc, dec, size, ok


def with_pyrage(args, tmp):
    import pyrage
    from importlib.metadata import version
    idents = [pyrage.x25519.Identity.generate() for _ in range(args.recipients)]
    recips = [i.to_public() for i in idents]
    with open(args.input, "rb") as f:
        data = f.read()
    enc, ct = [], b""
    for _ in range(args.repeats):
        w, c = time.perf_counter(), time.process_time()
        ct = pyrage.encrypt(data, recips)
        enc.append((time.perf_counter() - w, time.process_time() - c))
    dec = []
    for _ in range(args.repeats):
        w, c = time.perf_counter(), time.process_time()
        pt = pyrage.decrypt(ct, [idents[-1]])
        dec.append((time.perf_counter() - w, time.process_time() - c))
    return "pyrage %s (in process)" % version("pyrage"), enc, dec, len(ct), pt == data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input", required=True)
    p.add_argument("--recipients", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    out = {"available": False, "input_bytes": os.path.getsize(args.input),
           "recipients": args.recipients, "repeats": args.repeats}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if shutil.which("age") and shutil.which("age-keygen"):
                r = with_age(args, tmp)
            else:
                try:
                    r = with_pyrage(args, tmp)
                except ImportError:
                    out["error"] = "neither the age tool nor pyrage is installed"
                    print(json.dumps(out))
                    return 0
        except Exception as e:
            out["error"] = "%s: %s" % (type(e).__name__, e)
            print(json.dumps(out))
            return 0
    tool, enc, dec, size, ok = r
    out.update({
        "available": True, "tool": tool,
        "encrypt_s": statistics.median(w for w, _ in enc),
        "encrypt_cpu_s": statistics.median(c for _, c in enc),
        "encrypt_runs": " / ".join("%.3f" % w for w, _ in enc),
        "decrypt_s": statistics.median(w for w, _ in dec),
        "decrypt_cpu_s": statistics.median(c for _, c in dec),
        "output_bytes": size, "roundtrip_ok": ok,
    })
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
