#!/usr/bin/env python3
"""Generate the split-backup vectors in Protocol/vectors/backup/.

Protocol/backup.md: the node secret (114 bytes, 150 with a reader key, 151 + 36 per retired key), Shamir's sharing over GF(2^8) modulo 0x11b
with x = 1..N and the secret at x = 0, the share file (binary) and its paper text form.
Everything is computed here, independently of the Swift code: the field with log/exp tables
over the generator 3 (the Swift side multiplies without tables), the polynomials evaluated
term by term (the Swift side uses Horner), hashlib's BLAKE2b and base64's base32.

One file per case, `key: value` lines, byte strings in lowercase hex. Keys:

    area:          backup
    expect:        ok | malformed | truncated | unsupported_version | damaged | mixed_node |
                   mixed_backup | duplicate | too_few | altered      (BackupShare.Problem)
    comment:       free text
    given:         the share files given to restore, in order: hex of each file's bytes,
                   separated by single spaces (binary files, or the UTF-8 of text forms)
    secret:        (ok) the 114-, 150- or (151 + 36 n)-byte secret they rebuild (what is split is it and its 8-byte check)
    signing_public_key, box_public_key, project, network_key, write_only:  (ok) what it holds
    reader_epoch, reader_public_key:  (ok) the reader key it holds; absent for a version-1 secret
    retired_epochs, retired_public_keys:  (ok, version 3) the retired reader keys, newest first,
                   separated by single spaces; absent below version 3
    threshold, count, backup_id, coefficients, shares:   (ok, optional) a split to reproduce:
                   `coefficients` as backup.md orders them, `shares` every share file it writes

Usage:
    python3 scripts/vectors/gen_backup_vectors.py            # write files
    python3 scripts/vectors/gen_backup_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

from nacl.bindings import crypto_scalarmult_base
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import run                         # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Protocol" / "vectors" / "backup"
CLASSES = ("ok", "malformed", "truncated", "unsupported_version", "damaged", "mixed_node",
           "mixed_backup", "duplicate", "too_few", "altered")

MAGIC, VERSION, SECRET_VERSION, READER_SECRET_VERSION, RETIRED_SECRET_VERSION = b"SQSHR", 1, 1, 2, 3

# GF(2^8) modulo x^8 + x^4 + x^3 + x + 1: exp/log tables over the generator 3.
EXP, LOG = [0] * 512, [0] * 256
_v = 1
for _i in range(255):
    EXP[_i] = _v
    LOG[_v] = _i
    _v ^= (_v << 1) ^ (0x11b if _v & 0x80 else 0)     # v * 3 = v * 2 xor v
    _v &= 0xff
for _i in range(255, 512):
    EXP[_i] = EXP[_i - 255]


def mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else EXP[LOG[a] + LOG[b]]


def power(a: int, e: int) -> int:
    r = 1
    for _ in range(e):
        r = mul(r, a)
    return r


assert mul(0x57, 0x83) == 0xc1 and mul(0x57, 0x13) == 0xfe      # FIPS-197 section 4.2


def det(label: str, n: int) -> bytes:
    """Deterministic filler bytes for keys, ids and coefficients."""
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq backup vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


class Node:
    def __init__(self, label: str, write_only: bool = False, reader_epoch: int | None = None, version: int | None = None,
                 retired: list[int] | None = None, retired_count: int | None = None):
        self.seed = det(label + " signing seed", 32)
        self.box_secret = det(label + " box secret", 32)
        self.project = det(label + " project", 16)
        self.network_key = det(label + " network key", 32)
        self.write_only = write_only
        self.signing_public = bytes(SigningKey(self.seed).verify_key)
        self.box_public = crypto_scalarmult_base(self.box_secret)
        self.fingerprint = hashlib.blake2b(self.signing_public, digest_size=16).digest()[:6]
        self.reader_epoch = reader_epoch
        self.reader_secret = det(label + " reader secret", 32) if reader_epoch is not None else None
        self.reader_public = crypto_scalarmult_base(self.reader_secret) if self.reader_secret else None
        # Retired reader keys (version 3), newest first; `retired_count` a count byte that lies.
        self.retired = retired or []
        self.retired_secrets = [det(f"{label} retired secret {e}", 32) for e in self.retired]
        self.retired_publics = [crypto_scalarmult_base(k) for k in self.retired_secrets]
        self.retired_count = retired_count if retired_count is not None else len(self.retired)
        # A count byte with no entries after it (retired_count=0, retired=[]): a forger's 151 bytes.
        self.bare_count = retired_count == 0 and not self.retired
        # A version that does not match the length: what a forger's secret may say.
        default = SECRET_VERSION if reader_epoch is None else READER_SECRET_VERSION if not self.retired else RETIRED_SECRET_VERSION
        self.version = version if version is not None else default

    def secret(self) -> bytes:
        s = bytes([self.version]) + self.seed + self.box_secret + bytes([1 if self.write_only else 0])
        s += self.project + self.network_key
        if self.reader_epoch is not None:
            s += self.reader_epoch.to_bytes(4, "big") + self.reader_secret
        if self.bare_count:
            return s + b"\x00"
        if self.retired:
            s += bytes([self.retired_count])
            for e, k in zip(self.retired, self.retired_secrets):
                s += e.to_bytes(4, "big") + k
        assert len(s) == (114 if self.reader_epoch is None else 150 if not self.retired else 151 + 36 * len(self.retired))
        return s


def checked(secret: bytes) -> bytes:
    """What is split: the secret and the first 8 bytes of its BLAKE2b-128."""
    return secret + hashlib.blake2b(secret, digest_size=16).digest()[:8]


def share_bytes(fp: bytes, backup_id: bytes, k: int, n: int, x: int, y: bytes, version: int = VERSION) -> bytes:
    body = MAGIC + bytes([version]) + fp + backup_id + bytes([k, n, x]) + len(y).to_bytes(2, "big") + y
    return body + hashlib.blake2b(body, digest_size=16).digest()[:8]


def split(node: Node, k: int, n: int, backup_id: bytes, coefficients: bytes) -> list[bytes]:
    """Byte i's polynomial is secret[i] + c[i(k-1)] x + c[i(k-1)+1] x^2 + ...; share x holds its values."""
    s = checked(node.secret())
    d = k - 1
    assert len(coefficients) == d * len(s)
    out = []
    for x in range(1, n + 1):
        y = bytearray()
        for i, b in enumerate(s):
            acc = b
            for j in range(d):
                acc ^= mul(coefficients[i * d + j], power(x, j + 1))
            y.append(acc)
        out.append(share_bytes(node.fingerprint, backup_id, k, n, x, bytes(y)))
    return out


def text_form(b: bytes) -> bytes:
    """The paper form (backup.md, "Text form")."""
    k, n, x = b[20], b[21], b[22]
    lines = [f"SANDYQ BACKUP SHARE {x} OF {n}, ANY {k} REBUILD NODE {b[6:12].hex()} (BACKUP {b[12:20].hex()})"]
    for i in range(0, len(b), 20):
        chunk = b[i:i + 20]
        letters = base64.b32encode(chunk).decode().rstrip("=")
        groups = " ".join(letters[j:j + 4] for j in range(0, len(letters), 4))
        num = i // 20 + 1
        check = base64.b32encode(hashlib.blake2b(bytes([num]) + chunk, digest_size=16).digest()[:1]).decode().rstrip("=")
        lines.append(f"{num:02d}  {groups}  {check}")
    return ("\n".join(lines) + "\n").encode()


def resum(b: bytes) -> bytes:
    """The same bytes with a valid checksum again: a forger's change, not damage."""
    return b[:-8] + hashlib.blake2b(b[:-8], digest_size=16).digest()[:8]


def vector(expect: str, comment: str, given: list[bytes], **extra: str) -> str:
    assert expect in CLASSES
    lines = ["area: backup", f"expect: {expect}", f"comment: {comment}", "given: " + " ".join(g.hex() for g in given)]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n\n"


def ok(node: Node, comment: str, given: list[bytes], split_args=None) -> str:
    extra = {"secret": node.secret().hex(), "signing_public_key": node.signing_public.hex(),
             "box_public_key": node.box_public.hex(), "project": node.project.hex(),
             "network_key": node.network_key.hex(), "write_only": "1" if node.write_only else "0"}
    if node.reader_epoch is not None:
        extra.update(reader_epoch=str(node.reader_epoch), reader_public_key=node.reader_public.hex())
    if node.retired:
        extra.update(retired_epochs=" ".join(str(e) for e in node.retired),
                     retired_public_keys=" ".join(k.hex() for k in node.retired_publics))
    if split_args:
        k, n, bid, coeff, shares = split_args
        extra.update(threshold=str(k), count=str(n), backup_id=bid.hex(), coefficients=coeff.hex(),
                     shares=" ".join(s.hex() for s in shares))
    return vector("ok", comment, given, **extra)


def generate() -> dict[str, str]:
    a, b, w = Node("coordinator"), Node("other node"), Node("reporter", write_only=True)
    bid, bid2 = det("backup id", 8), det("second backup id", 8)
    coeff = det("coefficients", 2 * 122)
    s = split(a, 3, 5, bid, coeff)
    s2 = split(a, 3, 5, bid2, det("second coefficients", 2 * 122))
    other = split(b, 3, 5, bid, det("other coefficients", 2 * 122))
    wc = det("reporter coefficients", 122)
    ws = split(w, 2, 2, det("reporter backup id", 8), wc)
    # A coordinator with a reader key (version 2, 150 + 8 bytes split).
    r = Node("coordinator with reader key", reader_epoch=3)
    rc = det("reader coefficients", 158)
    rs = split(r, 2, 3, det("reader backup id", 8), rc)
    zero = Node("coordinator with reader key", reader_epoch=0)
    zs = split(zero, 2, 3, det("reader backup id", 8), rc)
    v1long = Node("coordinator with reader key", reader_epoch=3, version=SECRET_VERSION)
    v1s = split(v1long, 2, 3, det("reader backup id", 8), rc)
    v2short = Node("coordinator with reader key", version=READER_SECRET_VERSION)
    v2s = split(v2short, 2, 3, det("reader backup id", 8), rc[:122])
    # A coordinator that retired two reader keys (version 3, 151 + 2 * 36 + 8 bytes split).
    rt = Node("coordinator with retired keys", reader_epoch=5, retired=[4, 2])
    tc = det("retired coefficients", 231)
    ts = split(rt, 2, 3, det("retired backup id", 8), tc)
    unordered = Node("coordinator with retired keys", reader_epoch=5, retired=[2, 4])
    us = split(unordered, 2, 3, det("retired backup id", 8), tc)
    notbelow = Node("coordinator with retired keys", reader_epoch=5, retired=[5, 2])
    ns = split(notbelow, 2, 3, det("retired backup id", 8), tc)
    miscount = Node("coordinator with retired keys", reader_epoch=5, retired=[4, 2], retired_count=3)
    ms = split(miscount, 2, 3, det("retired backup id", 8), tc)
    zeroepoch = Node("coordinator with retired keys", reader_epoch=5, retired=[4, 0])
    zes = split(zeroepoch, 2, 3, det("retired backup id", 8), tc)
    nocount = Node("coordinator with retired keys", reader_epoch=5, version=RETIRED_SECRET_VERSION, retired_count=0)
    ncs = split(nocount, 2, 3, det("retired backup id", 8), tc[:159])

    flipped = bytearray(s[2]); flipped[60] ^= 0x01
    forged = bytearray(s[2]); forged[60] ^= 0x01
    v2 = bytearray(s[2]); v2[5] = 2
    bad_magic = b"SQSHX" + s[2][5:]
    x0 = bytearray(s[2]); x0[22] = 0
    k1 = bytearray(s[2]); k1[20] = 1
    t = text_form(s[2]).decode().split("\n")
    # Line 03 with one letter changed (B <-> C style typo): its check letters no longer match.
    line = t[3]
    pos = 6
    t[3] = line[:pos] + ("A" if line[pos] != "A" else "B") + line[pos + 1:]
    mistyped = "\n".join(t).encode()
    missing_line = "\n".join(text_form(s[2]).decode().split("\n")[:3] + text_form(s[2]).decode().split("\n")[4:]).encode()

    files = {
        "backup_ok_3_of_5.txt": ok(a, "3 of 5, shares 1, 3, 5 as files; the split reproduces from its coefficients", [s[0], s[2], s[4]],
                                   (3, 5, bid, coeff, s)),
        "backup_ok_text.txt": ok(a, "shares 2, 4, 5 in their paper text form", [text_form(s[1]), text_form(s[3]), text_form(s[4])]),
        "backup_ok_any_order.txt": ok(a, "shares 5, 2, 1: the order given does not matter", [s[4], s[1], s[0]]),
        "backup_ok_more_than_threshold.txt": ok(a, "four shares of a 3-of-5 backup", [s[3], s[0], s[1], s[2]]),
        "backup_ok_2_of_2_write_only.txt": ok(w, "a write-only node split 2 of 2", [ws[1], ws[0]], (2, 2, det("reporter backup id", 8), wc, ws)),
        "backup_ok_reader_key.txt": ok(r, "version 2: a coordinator's reader key of epoch 3 in the secret, 2 of 3", [rs[2], rs[0]],
                                       (2, 3, det("reader backup id", 8), rc, rs)),
        "backup_ok_retired_keys.txt": ok(rt, "version 3: a reader key of epoch 5 and the retired keys of epochs 4 and 2, 2 of 3", [ts[1], ts[2]],
                                         (2, 3, det("retired backup id", 8), tc, ts)),
        "backup_altered_retired_order.txt": vector("altered", "a version-3 secret whose retired epochs (2, then 4) do not go down (its check matches)", [us[0], us[2]]),
        "backup_altered_retired_not_below.txt": vector("altered", "a version-3 secret with a retired epoch equal to the reader's, 5 (its check matches)", [ns[0], ns[1]]),
        "backup_altered_retired_epoch_zero.txt": vector("altered", "a version-3 secret with a retired epoch of 0, which no node announces (its check matches)", [zes[2], zes[0]]),
        "backup_altered_retired_none.txt": vector("altered", "a 151-byte version-3 secret whose count is 0: version 2 says that (its check matches)", [ncs[0], ncs[1]]),
        "backup_altered_retired_count.txt": vector("altered", "a version-3 secret whose count says 3 retired keys and holds 2 (its check matches)", [ms[1], ms[0]]),
        "backup_altered_reader_epoch_zero.txt": vector("altered", "a 150-byte secret whose reader epoch is 0, which no node announces (its check matches)", [zs[0], zs[1]]),
        "backup_altered_version_length.txt": vector("altered", "a 150-byte secret that says version 1 (its check matches)", [v1s[0], v1s[1]]),
        "backup_altered_version_2_short.txt": vector("altered", "a 114-byte secret that says version 2 (its check matches)", [v2s[1], v2s[2]]),
        "backup_too_few.txt": vector("too_few", "two shares of a 3-of-5 backup", [s[0], s[2]]),
        "backup_duplicate.txt": vector("duplicate", "share 1 given twice, with share 3", [s[0], s[2], s[0]]),
        "backup_mixed_node.txt": vector("mixed_node", "share 3 of another node with shares 1 and 5", [s[0], other[2], s[4]]),
        "backup_mixed_backup.txt": vector("mixed_backup", "share 3 of a second backup of the same node", [s[0], s2[2], s[4]]),
        "backup_damaged.txt": vector("damaged", "one bit of share 3's y flipped: the checksum does not match", [s[0], bytes(flipped), s[4]]),
        "backup_damaged_text_line.txt": vector("damaged", "one letter of line 03 of share 3's text changed", [s[0], mistyped, s[4]]),
        "backup_altered.txt": vector("altered", "one bit of share 3's y flipped and the checksum made to match: the rebuilt keys do not give the fingerprint",
                                     [s[0], resum(bytes(forged)), s[4]]),
        "backup_truncated.txt": vector("truncated", "share 3 without its last byte", [s[0], s[2][:-1], s[4]]),
        "backup_unsupported_version.txt": vector("unsupported_version", "share 3 says version 2 (checksum made to match)", [s[0], resum(bytes(v2)), s[4]]),
        "backup_malformed_magic.txt": vector("malformed", "share 3 starts SQSHX", [s[0], bad_magic, s[4]]),
        "backup_malformed_x_zero.txt": vector("malformed", "share 3 at x = 0, the secret's own place (checksum made to match)", [s[0], resum(bytes(x0)), s[4]]),
        "backup_malformed_threshold_1.txt": vector("malformed", "share 3 says any 1 rebuild (checksum made to match)", [s[0], resum(bytes(k1)), s[4]]),
        "backup_malformed_trailing.txt": vector("malformed", "share 3 with a byte after its checksum", [s[0], s[2] + b"\x00", s[4]]),
        "backup_malformed_text_missing_line.txt": vector("malformed", "share 3's text without line 03", [s[0], missing_line, s[4]]),
    }
    return files


if __name__ == "__main__":
    run(OUT, generate)
