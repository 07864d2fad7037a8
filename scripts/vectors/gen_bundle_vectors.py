#!/usr/bin/env python3
"""Generate the bundle-file test vectors in Protocol/vectors/bundle/.

An independent implementation of Protocol/bundles.md (preamble, chunks, records, the
reader's damage handling), written from the spec, so that the Swift tests
(Tests/SandyqSyncTests/BundleVectorTests.swift) check two readings of it against each other.

A bundle is 64 KiB or more, so each vector is two files: `bundle_<case>.txt`, a header in the
format of Protocol/vectors/ops/ (`key: value` lines, one blank line, nothing after it), and
the bundle itself, `bundle_<case>.bin`, named by the header's `file:` key. Byte strings are
lowercase hex; integers are decimal. Keys, in this order:

    area:                 bundle
    expect:               ok | truncated | malformed | not_for_me | unsupported_version | wrong_project | bad_signature
    comment:              what the defect is, and which attack or accident it stands for
    project:              the project of the node reading it (16 bytes)
    recipient_box_secret: that node's X25519 secret key
    file:                 the .bin file next to this one
    file_blake2b:         BLAKE2b-256 of the .bin file (a stale .bin fails the test)
    file_key:             (when an entry opens for the reader) the 32-byte file key it opens to
    header:               (when the reader must find one) the header record's body: fields ‖ signature
    op_ids:               the OpIDs (32 bytes each, concatenated) of the op records the reader must
                          yield, in file order; empty when none
    declared_ops:         (when the reader must reach the end record) the count it declares
    damaged_chunks:       chunks that failed to authenticate, or that the file cut short
    malformed_records:    records with an impossible type or length, or an undecodable body

`expect` is decided as in bundles.md ("Classifying a bundle"): preamble and entries first, then
the header's signature, then the header's project, then the chunk stream (truncated before
malformed). A `bad_signature` vector gives `file_key` and nothing after it: the reader refuses
the file when it reads the header, before any op.

Everything is deterministic: fixed keys, fixed file keys and nonce prefixes, and the sealed
boxes of the file key are made with fixed ephemeral keys (crypto_box_seal's construction,
ephemeral ‖ crypto_box(m, BLAKE2b-192(ephemeral public ‖ recipient), recipient, ephemeral
secret), which crypto_box_seal_open opens like any other). A real writer MUST draw a fresh
ephemeral key and a fresh file key for every bundle; vectors do not, so they do not churn.

Usage:
    python3 scripts/vectors/gen_bundle_vectors.py           # write files
    python3 scripts/vectors/gen_bundle_vectors.py --check   # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import argparse
import hashlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import emit  # noqa: E402

import nacl.bindings as b
import nacl.exceptions
import nacl.signing

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Protocol" / "vectors" / "bundle"

CLASSES = ("ok", "truncated", "malformed", "not_for_me", "unsupported_version", "wrong_project", "bad_signature")
KEYS = ("area", "expect", "comment", "project", "recipient_box_secret", "file", "file_blake2b", "file_key",
        "header", "op_ids", "declared_ops", "damaged_chunks", "malformed_records")
REQUIRED = ("area", "expect", "comment", "project", "recipient_box_secret", "file", "file_blake2b")
SIZE_BUDGET = 2_050_000        # all .bin files together

# ---------------------------------------------------------------- constants (Protocol/bundles.md)

MAGIC = b"SANDYQB"
VERSION = 2                    # 1: the same layout with an unsigned header record, refused
VERSION_COMPACT = 3            # 3: version 2 plus compact op records (type 6); what writers write
READABLE = (2, 3)
CHUNK = 65536
TAG = b.crypto_aead_xchacha20poly1305_ietf_ABYTES               # 16
CHUNK_PLAIN = CHUNK - TAG                                       # 65520
CHUNK_HEADER = 1 + 4 + 4                                        # flags, first-record offset, used
CAPACITY = CHUNK_PLAIN - CHUNK_HEADER                           # 65511
NO_RECORD = 0xFFFFFFFF
GROUP = 4
ENTRY = 32 + b.crypto_box_SEALBYTES                             # 80
PREFIX = 16
MAX_ENTRIES = 1024
FIXED = len(MAGIC) + 1 + 2                                      # 10
REC_HEADER, REC_OP, REC_END = 1, 2, 3
# Evidence chunks and holding statements (evidence.md): an op pass reads past them.
REC_CHUNK, REC_HELD = 4, 5
# Version 3: an op whose project, author, seq and prev follow from the op record before it.
REC_COMPACT = 6
COMPACT_SAVING = 90 + 4 - 1
MAX_BODY = 1 << 20
MAX_RECORD = MAX_BODY + 4096
HEADER_VERSION = 2
SIGNATURE = 64
HEADER_CONTEXT = b"sandyq-bundle-header"
MAX_IMPORTED = 4096
MAX_VECTOR_BLOB = 1 << 24
MAX_VECTOR_ENTRIES = 1 << 20

assert (CAPACITY, ENTRY) == (65511, 80)


def preamble_length(n: int) -> int:
    return FIXED + n * ENTRY + PREFIX


def padded_chunk_count(n: int) -> int:
    """Powers of two up to 16 chunks; above, multiples of an eighth of the power of two below n."""
    if n <= 16:
        p = 1
        while p < n:
            p <<= 1
        return p
    p = 16
    while p * 2 < n:
        p <<= 1
    step = p // 8
    return (n + step - 1) // step * step


assert [padded_chunk_count(n) for n in (1, 2, 3, 5, 16, 17, 18, 19, 32, 33, 100)] == [1, 2, 4, 8, 16, 18, 18, 20, 32, 36, 104]


# ---------------------------------------------------------------- helpers

def det(label: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq bundle vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def blake2b(data: bytes, n: int = 32) -> bytes:
    return hashlib.blake2b(data, digest_size=n).digest()


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def varint(v: int) -> bytes:
    out = bytearray()
    while True:
        low, v = v & 0x7F, v >> 7
        out.append(low | (0x80 if v else 0))
        if not v:
            return bytes(out)


def string(s: str) -> bytes:
    raw = s.encode()
    return varint(len(raw)) + raw


def seal_fixed(message: bytes, recipient_pk: bytes, ephemeral_sk: bytes) -> bytes:
    """crypto_box_seal with a chosen ephemeral key (vectors only: a writer must never reuse one)."""
    epk = b.crypto_scalarmult_base(ephemeral_sk)
    nonce = blake2b(epk + recipient_pk, 24)
    sealed = epk + b.crypto_box(message, nonce, recipient_pk, ephemeral_sk)
    assert len(sealed) == len(message) + b.crypto_box_SEALBYTES
    return sealed


# ---------------------------------------------------------------- ops (Protocol/ops.md), just enough to carry

class Node:
    def __init__(self, label: str):
        self.signing = nacl.signing.SigningKey(det(f"{label}/signing seed", 32))
        self.sign_pk = bytes(self.signing.verify_key)
        self.box_sk = det(f"{label}/box secret", 32)
        self.box_pk = b.crypto_scalarmult_base(self.box_sk)


class Chain:
    """One author's ops, seq 1, 2, ... each linked to the last."""

    def __init__(self, author: Node, genesis_nonce: bytes):
        self.author = author
        self.project = blake2b(author.sign_pk + author.box_pk + genesis_nonce, 16)
        self.ops: list[bytes] = []
        self.session_key = det(f"{self.project.hex()}/session key", 32)
        self.session_id = det(f"{self.project.hex()}/session id", 8)
        self.membership(bytes([1, 1]) + author.sign_pk + author.box_pk + genesis_nonce)

    def _append(self, kind: int, body: bytes) -> bytes:
        seq = len(self.ops) + 1
        prev = blake2b(self.ops[-1]) if self.ops else bytes(32)
        signed = bytes([1, kind]) + self.project + self.author.sign_pk + u64(seq) + prev + u32(len(body)) + body
        env = signed + self.author.signing.sign(signed).signature
        self.ops.append(env)
        return env

    def membership(self, body: bytes) -> bytes:
        return self._append(2, body)

    def add(self, member: Node, role: int) -> bytes:
        return self.membership(bytes([1, 2]) + member.sign_pk + member.box_pk + bytes([role]))

    def sealed(self, readers: list[Node] | None, value: str, clock: int) -> bytes:
        """A put of `value` into field "summary" of one case; key entries only when `readers` is given."""
        seq = len(self.ops) + 1
        prev = blake2b(self.ops[-1]) if self.ops else bytes(32)
        header = bytes([1, 1]) + self.project + self.author.sign_pk + u64(seq) + prev
        payload = (bytes([1]) + u64(clock) + varint(1) + bytes([1]) + det("case", 16) + string("") + string("")
                   + string("summary") + string(value) + varint(0))
        nonce = det(f"{self.project.hex()}/nonce/{seq}", 24)
        body = bytes([1]) + self.session_id
        if readers is None:
            body += b"\x00"
        else:
            rs = sorted(readers, key=lambda n: n.box_pk)
            body += b"\x01" + u16(len(rs)) + b"".join(
                seal_fixed(self.session_key, r.box_pk, det(f"{self.project.hex()}/entry/{r.box_pk.hex()}", 32))
                for r in rs)
        body += nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header, nonce, self.session_key)
        return self._append(1, body)


# ---------------------------------------------------------------- the writer

def record(rtype: int, body: bytes) -> bytes:
    return bytes([rtype]) + u32(len(body)) + body


def vector_encoding(heads: dict[bytes, int]) -> bytes:
    return varint(len(heads)) + b"".join(a + varint(s) for a, s in sorted(heads.items()))


def header_body(project: bytes, sender: Node, heads: dict[bytes, int], bundle_id: bytes, part: int,
                created: int, imported: list[bytes], version: int = HEADER_VERSION) -> bytes:
    vec = vector_encoding(heads)
    return (bytes([version]) + project + sender.sign_pk + sender.box_pk + varint(len(vec)) + vec + bundle_id
            + u32(part) + u64(created) + varint(len(imported)) + b"".join(imported))


def header_message(preamble: bytes, fields: bytes) -> bytes:
    """What the sender signs: the context, BLAKE2b-256 of the whole preamble, the header's fields."""
    return HEADER_CONTEXT + blake2b(preamble, 32) + fields


def signed_header(fields: bytes, preamble: bytes, signer: Node) -> bytes:
    return fields + signer.signing.sign(header_message(preamble, fields)).signature


def compact_records(header: bytes, ops: list[bytes]) -> list[bytes]:
    """The header record, then each op as a version-3 writer writes it: compact (type 6: kind ‖
    everything after the length) when it follows the op before it in its chain (same author,
    next seq, prev = that op's id) and starts in the chunk that op started in; else type 2."""
    recs, off, last = [record(REC_HEADER, header)], 0, None
    off = len(recs[0])
    for e in ops:
        start = off
        if (last is not None and last[3] == start // CAPACITY and e[18:50] == last[0] and e[2:18] == last[4]
                and struct.unpack(">Q", e[50:58])[0] == last[1] + 1 and e[58:90] == last[2]):
            r = record(REC_COMPACT, e[1:2] + e[94:])
        else:
            r = record(REC_OP, e)
        recs.append(r)
        off += len(r)
        last = (e[18:50], struct.unpack(">Q", e[50:58])[0], blake2b(e), start // CAPACITY, e[2:18])
    return recs


def record_stream(header: bytes, ops: list[bytes], extra: list[tuple[int, int, bytes]] = (), lead: int = 0,
                  end: bytes | None = None, compact: bool = False) -> tuple[bytes, list[int]]:
    """Header record, op records, end record; `extra` inserts (position, type, body) records, `lead` puts
    that many op records before the header record, `end` replaces the end record's body, `compact`
    writes ops as version 3 does. Returns the stream and the start offset of every record."""
    if compact:
        # The chunk rule is decided record by record: nothing may be inserted after it.
        assert not extra and not lead, "a version-3 stream takes no extra or leading records"
        recs = compact_records(header, ops)
    else:
        recs = [record(REC_OP, e) for e in ops[:lead]] + [record(REC_HEADER, header)] + [record(REC_OP, e) for e in ops[lead:]]
    for pos, rtype, body in extra:
        recs.insert(pos, record(rtype, body))
    recs.append(record(REC_END, varint(len(ops)) if end is None else end))
    starts, off = [], 0
    for r in recs:
        starts.append(off)
        off += len(r)
    return b"".join(recs), starts


def chunk_nonce(prefix: bytes, index: int) -> bytes:
    return prefix + u64(index)


def seal_chunk(key: bytes, prefix: bytes, index: int, final: bool, first: int, content: bytes) -> bytes:
    assert len(content) <= CAPACITY
    plain = bytes([1 if final else 0]) + u32(first) + u32(len(content)) + content
    plain += bytes(CHUNK_PLAIN - len(plain))
    c = b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, bytes([1 if final else 0]), chunk_nonce(prefix, index), key)
    assert len(c) == CHUNK
    return c


def chunks(stream: bytes, starts: list[int], key: bytes, prefix: bytes) -> list[bytes]:
    """Cuts the record stream into chunks of CAPACITY bytes (plus the one the last record leaves
    the writer in, empty when the stream fills its chunks exactly), then pads to a bucket."""
    data = len(stream) // CAPACITY + 1
    total = padded_chunk_count(data)
    out = []
    for i in range(total):
        lo, hi = i * CAPACITY, (i + 1) * CAPACITY
        content = stream[lo:hi] if i < data else b""
        first = next((s - lo for s in starts if lo <= s < hi), NO_RECORD)
        out.append(seal_chunk(key, prefix, i, i == total - 1, first, content))
    return out


class Bundle:
    """The pieces of one bundle file, so defects can be made by editing them."""

    def __init__(self, label: str, recipients: list[Node], header: bytes, ops: list[bytes], fillers: int | None = None,
                 order: list[int] | None = None, extra=(), signer: Node | None = None, version: int = VERSION,
                 signed_over: bytes | None = None, lead: int = 0, end: bytes | None = None):
        """`header` is the header's fields; `signer` (default: the founder, who sends every vector)
        signs them over this file's preamble, or over `signed_over` instead. Version 1 is unsigned."""
        compact = version >= VERSION_COMPACT
        self.file_key = det(f"{label}/file key", 32)
        self.prefix = det(f"{label}/nonce prefix", PREFIX)
        n = len(recipients)
        padded = (n + GROUP - 1) // GROUP * GROUP if fillers is None else n + fillers
        entries = [seal_fixed(self.file_key, r.box_pk, det(f"{label}/entry ephemeral/{i}", 32))
                   for i, r in enumerate(recipients)]
        # Filler: the file key's length of random bytes sealed to a random key, so it looks like a real entry.
        entries += [seal_fixed(det(f"{label}/filler content/{i}", 32),
                               b.crypto_scalarmult_base(det(f"{label}/filler recipient/{i}", 32)),
                               det(f"{label}/filler ephemeral/{i}", 32)) for i in range(padded - n)]
        # A fixed permutation stands in for the writer's random shuffle.
        order = order or sorted(range(padded), key=lambda i: det(f"{label}/shuffle/{i}", 8))
        self.entries = [entries[i] for i in order]
        self.version = version
        if version >= 2:
            header = signed_header(header, signed_over or self.preamble(), signer or FOUNDER)
        self.header = header
        self.stream, self.starts = record_stream(header, ops, extra, lead, end, compact)
        self.chunks = chunks(self.stream, self.starts, self.file_key, self.prefix)

    def preamble(self, magic: bytes = MAGIC, version: int | None = None, count: int | None = None) -> bytes:
        n = len(self.entries) if count is None else count
        return magic + bytes([self.version if version is None else version]) + u16(n) + b"".join(self.entries) + self.prefix

    def bytes(self) -> bytes:
        return self.preamble() + b"".join(self.chunks)


# ---------------------------------------------------------------- the reader (the checking side)

class Refused(Exception):
    def __init__(self, cls: str, why: str):
        assert cls in CLASSES and cls != "ok"
        super().__init__(f"{cls}: {why}")
        self.cls = cls


class Bytes:
    def __init__(self, data: bytes):
        self.data, self.off = data, 0

    def raw(self, n: int) -> bytes:
        if len(self.data) - self.off < n:
            raise ValueError("truncated")
        out = self.data[self.off:self.off + n]
        self.off += n
        return out

    def varint(self) -> int:
        value = 0
        for i in range(10):
            byte = self.raw(1)[0]
            if i == 9 and byte > 1:
                raise ValueError("varint overflow")
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if i > 0 and byte == 0:
                    raise ValueError("varint not minimal")
                return value
        raise AssertionError

    def end(self) -> None:
        if self.off != len(self.data):
            raise ValueError("trailing bytes")


def decode_header(body: bytes) -> dict:
    """The fields of a header record (fields ‖ signature[64]); ValueError for anything but a
    well-formed header of version 2 or 3. The signature is checked by verify_header."""
    if len(body) <= SIGNATURE:
        raise ValueError("no room for a signature")
    r = Bytes(body[:-SIGNATURE])
    version = r.raw(1)[0]
    if version not in READABLE:
        raise ValueError("header version")
    project, sender = r.raw(16), r.raw(64)
    n = r.varint()
    if n > MAX_VECTOR_BLOB:
        raise ValueError("vector too long")
    v = Bytes(r.raw(n))
    count = v.varint()
    if count > MAX_VECTOR_ENTRIES:
        raise ValueError("vector too large")
    heads = [(v.raw(32), v.varint()) for _ in range(count)]
    v.end()
    bundle_id, part, created = r.raw(16), struct.unpack(">I", r.raw(4))[0], struct.unpack(">Q", r.raw(8))[0]
    k = r.varint()
    if k > MAX_IMPORTED:
        raise ValueError("too many imported ids")
    imported = [r.raw(16) for _ in range(k)]
    r.end()
    return dict(version=version, project=project, sender=sender, heads=heads, bundle_id=bundle_id, part=part,
                created=created, imported=imported)


def verify_header(body: bytes, preamble: bytes) -> bool:
    """Whether the sender the header names signed it over this preamble."""
    fields, sig = body[:-SIGNATURE], body[-SIGNATURE:]
    try:
        nacl.signing.VerifyKey(decode_header(body)["sender"][:32]).verify(header_message(preamble, fields), sig)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def envelope_layout_ok(e: bytes) -> bool:
    """ops.md section 1, layout only."""
    if len(e) < 158 or e[0] != 1 or e[1] not in (1, 2):
        return False
    seq = struct.unpack(">Q", e[50:58])[0]
    if seq == 0 or seq >= 1 << 62 or (seq == 1 and e[58:90] != bytes(32)):
        return False
    n = struct.unpack(">I", e[90:94])[0]
    return n <= MAX_BODY and len(e) == 158 + n


def open_file_key(entries: list[bytes], box_sk: bytes) -> bytes | None:
    pk = b.crypto_scalarmult_base(box_sk)
    for e in entries:
        try:
            k = b.crypto_box_seal_open(e, pk, box_sk)
        except nacl.exceptions.CryptoError:
            continue
        if len(k) == 32:
            return k
    return None


def open_chunk(c: bytes, key: bytes, prefix: bytes, index: int):
    """(final, first, content), or None when the chunk does not authenticate at this index."""
    for final in (False, True):
        try:
            p = b.crypto_aead_xchacha20poly1305_ietf_decrypt(c, bytes([1 if final else 0]), chunk_nonce(prefix, index), key)
        except nacl.exceptions.CryptoError:
            continue
        flags, first, used = p[0], struct.unpack(">I", p[1:5])[0], struct.unpack(">I", p[5:9])[0]
        if bool(flags & 1) != final or used > CAPACITY:
            return None
        return final, first, p[CHUNK_HEADER:CHUNK_HEADER + used]
    return None


def read_bundle(data: bytes, box_sk: bytes, project: bytes) -> dict:
    """bundles.md "Reading" and "Classifying a bundle". Returns what the reader got, with `class`."""
    out = dict(file_key=None, header=None, ops=[], declared=None, damaged=0, malformed=0, truncated=False)
    try:
        # Preamble.
        if not data:
            raise Refused("malformed", "empty file")
        if len(data) < FIXED:
            raise Refused("malformed", "shorter than magic, version and entry count")
        if data[:7] != MAGIC:
            raise Refused("malformed", "not a bundle")
        if data[7] not in READABLE:
            raise Refused("unsupported_version", f"version {data[7]}" + (" (unsigned header)" if data[7] == 1 else ""))
        n = struct.unpack(">H", data[8:10])[0]
        if not (1 <= n <= MAX_ENTRIES and n % GROUP == 0):
            raise Refused("malformed", f"entry count {n}")
        pre = preamble_length(n)
        if len(data) < pre:
            raise Refused("truncated", "preamble cut short")
        entries = [data[FIXED + i * ENTRY:FIXED + (i + 1) * ENTRY] for i in range(n)]
        prefix = data[pre - PREFIX:pre]
        key = open_file_key(entries, box_sk)
        if key is None:
            raise Refused("not_for_me", "no entry opens")
        out["file_key"] = key

        # Chunks and records.
        pending, resync, final_seen, index, ended, records = b"", False, False, 0, False, 0
        pos = pre
        # The op record read last since the last resynchronisation: (project, author, seq, id).
        last = None
        types = (REC_HEADER, REC_OP, REC_END, REC_CHUNK, REC_HELD) + ((REC_COMPACT,) if data[7] >= VERSION_COMPACT else ())

        def next_chunk() -> bool:
            nonlocal pending, resync, final_seen, index, pos, last
            if final_seen:
                return False
            c = data[pos:pos + CHUNK]
            if not c:
                out["truncated"] = True
                return False
            pos += len(c)
            i, index = index, index + 1
            if len(c) < CHUNK:
                out["truncated"] = True
                out["damaged"] += 1
                return False
            opened = open_chunk(c, key, prefix, i)
            if opened is None:
                out["damaged"] += 1
                pending, resync, last = b"", True, None
                return True
            final, first, content = opened
            final_seen = final_seen or final
            if resync:
                if first != NO_RECORD and first <= len(content):
                    pending, resync = content[first:], False
            else:
                pending += content
            return True

        while not ended:
            if len(pending) >= 5:
                rtype, length = pending[0], struct.unpack(">I", pending[1:5])[0]
                if length > MAX_RECORD or rtype not in types:
                    out["malformed"] += 1
                    pending, resync, last = b"", True, None
                    if not next_chunk():
                        break
                    continue
                if len(pending) >= 5 + length:
                    body, pending = pending[5:5 + length], pending[5 + length:]
                    records += 1
                    if rtype == REC_HEADER:
                        # Only the stream's first record, with nothing damaged before it, is the header.
                        if records != 1 or out["damaged"]:
                            out["malformed"] += 1
                            continue
                        try:
                            # The header repeats the file's version.
                            if decode_header(body)["version"] != data[7]:
                                raise ValueError("header version")
                        except ValueError:
                            out["malformed"] += 1
                            continue
                        if not verify_header(body, data[:pre]):
                            raise Refused("bad_signature", "the header's sender did not sign it over this preamble")
                        out["header"] = body
                    elif rtype in (REC_CHUNK, REC_HELD):
                        out.setdefault("evidence", []).append(rtype)
                    elif rtype in (REC_OP, REC_COMPACT):
                        if rtype == REC_COMPACT and last is not None and len(body) > SIGNATURE:
                            project_, author, seq, prev = last
                            body = (bytes([1]) + body[:1] + project_ + author + u64(seq + 1) + prev
                                    + u32(len(body) - 1 - SIGNATURE) + body[1:])
                        elif rtype == REC_COMPACT:
                            body = b""       # nothing before it to follow: malformed
                        if envelope_layout_ok(body):
                            out["ops"].append(blake2b(body))
                            last = (body[2:18], body[18:50], struct.unpack(">Q", body[50:58])[0], blake2b(body))
                        else:
                            out["malformed"] += 1
                            last = None
                    else:
                        try:
                            out["declared"] = Bytes(body).varint()
                        except ValueError:
                            out["declared"] = None
                        while not final_seen and next_chunk():
                            pass
                        if not final_seen:
                            out["truncated"] = True
                        ended = True
                    continue
            if not next_chunk():
                if pending and not final_seen:
                    out["truncated"] = True
                break

        # Classifying: the header's project is checked as soon as the header is read (before
        # any op is applied), so it comes before the stream's condition.
        if out["header"] is not None and decode_header(out["header"])["project"] != project:
            raise Refused("wrong_project", "the header names another project")
        if out["truncated"]:
            raise Refused("truncated", "the file ends before its final chunk")
        if out["damaged"] or out["malformed"] or out["header"] is None:
            raise Refused("malformed", "damaged chunks or records")
        out["class"] = "ok"
    except Refused as e:
        out["class"] = e.cls
    return out


# ---------------------------------------------------------------- rendering

def render(name: str, fields: dict) -> str:
    assert list(fields) == [k for k in KEYS if k in fields], (name, list(fields))
    assert all(k in fields for k in REQUIRED), name
    assert fields["area"] == "bundle" and fields["expect"] in CLASSES, name
    assert name.startswith("bundle_") and name.endswith(".txt"), name
    assert fields["comment"] and "\n" not in fields["comment"], name
    lines = []
    for k, v in fields.items():
        v = v.hex() if isinstance(v, bytes) else str(v)
        lines.append(f"{k}: {v}" if v else f"{k}:")
    return "\n".join(lines) + "\n\n"


class Vectors:
    def __init__(self):
        self.files: dict[str, str | bytes] = {}

    def add(self, name: str, expect: str, comment: str, data: bytes, reader: Node, project: bytes) -> dict:
        got = read_bundle(data, reader.box_sk, project)
        assert got["class"] == expect, f"{name}: built as {expect}, reads as {got['class']}"
        fields: dict = dict(area="bundle", expect=expect, comment=comment, project=project,
                            recipient_box_secret=reader.box_sk, file=f"{name}.bin", file_blake2b=blake2b(data))
        if got["file_key"] is not None and expect == "bad_signature":
            fields["file_key"] = got["file_key"]
        elif got["file_key"] is not None:
            fields["file_key"] = got["file_key"]
            if got["header"] is not None:
                fields["header"] = got["header"]
            fields["op_ids"] = b"".join(got["ops"])
            if got["declared"] is not None:
                fields["declared_ops"] = got["declared"]
            fields["damaged_chunks"] = got["damaged"]
            fields["malformed_records"] = got["malformed"]
        assert f"{name}.txt" not in self.files
        self.files[f"{name}.txt"] = render(f"{name}.txt", fields)
        self.files[f"{name}.bin"] = data
        return got


# ---------------------------------------------------------------- the vectors

FOUNDER = Node("founder")            # coordinator; writes the ops and the bundles
LAWYER = Node("lawyer")              # the node reading the bundles (recipient_box_secret)
COORDINATOR = Node("coordinator")    # a second recipient
STRANGER = Node("stranger")          # no member: knows the project and the lawyer's box key
T0 = 1_767_225_600_000               # 2026-01-01T00:00:00Z


def chain(project_label: str, big: int) -> Chain:
    """Genesis, two adds, a sealing session's first op (entries for lawyer and coordinator), `big`
    follow-ups with ~20 kB values, and a small last follow-up."""
    c = Chain(FOUNDER, det(f"{project_label}/genesis nonce", 16))
    c.add(LAWYER, 3)
    c.add(COORDINATOR, 1)
    c.sealed([LAWYER, COORDINATOR], "задержан", T0 << 16)
    for i in range(big):
        text = det(f"value/{i}", 10_000).hex()          # 20,000 ASCII bytes
        c.sealed(None, text, (T0 + 1000 * (i + 1)) << 16)
    c.sealed(None, "освобождён", (T0 + 3_600_000) << 16)
    return c


def header_for(c: Chain, label: str, version: int = HEADER_VERSION) -> bytes:
    """The header's fields (unsigned), naming the founder as the sender."""
    return header_body(c.project, FOUNDER, {FOUNDER.sign_pk: len(c.ops)}, det(f"{label}/bundle id", 16), 1, T0 + 5000,
                       [det("an imported bundle id", 16)], version)


def within(b: Bundle, k: int) -> list[bytes]:
    """Ids of the op records that lie entirely in the first k chunks."""
    ends = b.starts[1:] + [len(b.stream)]
    ops = []
    for s, e in zip(b.starts, ends):
        if b.stream[s] == REC_OP and e <= k * CAPACITY:
            ops.append(blake2b(b.stream[s + 5:e]))
    return ops


def build() -> dict:
    v = Vectors()
    main = chain("main", 4)
    P = main.project
    ids = [blake2b(e) for e in main.ops]

    two = Bundle("two chunks", [LAWYER, COORDINATOR], header_for(main, "two chunks"), main.ops)
    assert len(two.chunks) == 2 and two.starts[-2] > CAPACITY and two.starts[-3] < CAPACITY < two.starts[-2] - 1
    got = v.add("bundle_ok", "ok",
                "the founder's 9 ops (genesis, 2 adds, a sealed session's first op, 4 follow-ups of ~20 kB, a small one) "
                "to the lawyer and a coordinator (4 entries: 2 sealed, 2 filler); 2 chunks, the 8th op spans them",
                two.bytes(), LAWYER, P)
    assert got["ops"] == ids and got["declared"] == len(ids)

    small = chain("main", 0)          # the same chain's first 5 ops (same ids)
    one = Bundle("one chunk", [LAWYER, COORDINATOR], header_for(small, "one chunk"), small.ops)
    assert len(one.chunks) == 1 and [blake2b(e) for e in small.ops] == ids[:4] + [blake2b(small.ops[4])]
    v.add("bundle_ok_one_chunk", "ok",
          "5 small ops to the lawyer and a coordinator: a single chunk, final, holding every record", one.bytes(), LAWYER, P)

    whole = two.bytes()
    pre = len(two.preamble())
    cut = whole[:pre + CHUNK + CHUNK // 2]
    got = v.add("bundle_truncated_last_chunk", "truncated",
                "bundle_ok cut in the middle of its last chunk (a copy interrupted, a stick pulled): the ops wholly in "
                "chunk 0 are read, the op spanning into the cut chunk is lost, the end record is never reached",
                cut, LAWYER, P)
    assert got["ops"] == within(two, 1) and 0 < len(got["ops"]) < len(ids)

    got = v.add("bundle_missing_final_chunk", "truncated",
                "bundle_ok without its last chunk, cut exactly on the chunk boundary: every chunk present "
                "authenticates, but none says it is final", whole[:pre + CHUNK], LAWYER, P)
    assert got["ops"] == within(two, 1) and got["damaged"] == 0

    flipped = flip(whole, pre + 1000, 3)
    got = v.add("bundle_flipped_chunk_byte", "malformed",
                "bundle_ok with bit 3 of byte 1000 of chunk 0 flipped: chunk 0 (the header record and the first 7 "
                "ops) is lost; reading resumes at chunk 1's first-record offset, so the last op still lands",
                flipped, LAWYER, P)
    assert got["ops"] == ids[-1:] and got["header"] is None and got["declared"] == len(ids)

    big = chain("main", 7)
    four = Bundle("four chunks", [LAWYER], header_for(big, "four chunks"), big.ops)
    assert len(four.chunks) == 4 and len(four.stream) // CAPACITY + 1 == 3
    swapped = four.preamble() + four.chunks[0] + four.chunks[2] + four.chunks[1] + four.chunks[3]
    got = v.add("bundle_chunk_swapped", "malformed",
                "12 ops in 3 data chunks and 1 padding chunk, with chunks 1 and 2 swapped: the chunk index is in the "
                "nonce, so both fail; the ops wholly in chunk 0 land, the final padding chunk still authenticates",
                swapped, LAWYER, P)
    assert got["ops"] == within(four, 1) and got["damaged"] == 2 and not got["truncated"]

    other = Bundle("not for me", [COORDINATOR], header_for(small, "not for me"), small.ops)
    v.add("bundle_not_for_me", "not_for_me",
          "bundle_ok_one_chunk's ops addressed to the coordinator only (1 sealed entry, 3 filler), read by the lawyer",
          other.bytes(), LAWYER, P)

    one_bytes = one.bytes()
    mine = next(i for i, e in enumerate(one.entries)
                if open_file_key([e], LAWYER.box_sk) is not None)
    at = FIXED + mine * ENTRY + 40
    v.add("bundle_flipped_entry_byte", "not_for_me",
          f"bundle_ok_one_chunk with bit 0 of byte 40 of the lawyer's entry (entry {mine}) flipped: a damaged entry "
          "is indistinguishable from an entry for someone else", flip(one_bytes, at), LAWYER, P)

    v.add("bundle_wrong_magic", "malformed", "bundle_ok_one_chunk with the magic \"SANDYQC\"",
          b"SANDYQC" + one_bytes[7:], LAWYER, P)
    v.add("bundle_unsupported_version", "unsupported_version",
          "bundle_ok_one_chunk with version byte 4: refused before the entries are read",
          one_bytes[:7] + b"\x04" + one_bytes[8:], LAWYER, P)
    old = Bundle("version 1", [LAWYER, COORDINATOR], header_for(small, "version 1", 1), small.ops, version=1)
    v.add("bundle_version_1", "unsupported_version",
          "bundle_ok_one_chunk's ops as format 1 wrote them: version byte 1, an unsigned version-1 header; nothing "
          "in it says who sent it, so it is refused before the entries are read", old.bytes(), LAWYER, P)

    # The header's signature. A stranger knows the project id and the lawyer's box key (both are in
    # any store it read), so it can seal a file key to the lawyer; it cannot sign as the founder.
    forged = Bundle("forged sender", [LAWYER], header_for(small, "forged sender"), small.ops, signer=STRANGER)
    v.add("bundle_header_wrong_signer", "bad_signature",
          "the founder's ops with a header naming the founder as sender but signed by another key (a stranger "
          "claiming to be a member, to make the reader believe its vector or its imported list): refused whole",
          forged.bytes(), LAWYER, P)
    # A recipient of a genuine bundle knows its file key and header; it re-seals the same header,
    # founder's signature and all, into a file of its own for the lawyer.
    genuine = Bundle("moved header, original", [COORDINATOR], header_for(small, "moved header"), small.ops)
    moved = Bundle("moved header", [LAWYER], header_for(small, "moved header"), small.ops,
                   signed_over=genuine.preamble())
    assert moved.header == genuine.header
    v.add("bundle_header_moved", "bad_signature",
          "a genuine header (founder's signature included) from a bundle to the coordinator, re-sealed by that "
          "coordinator into a new file for the lawyer: the signature covers the original preamble, not this one",
          moved.bytes(), LAWYER, P)
    first = Bundle("second header", [LAWYER, COORDINATOR], header_for(small, "second header"), small.ops)
    second = Bundle("second header", [LAWYER, COORDINATOR], header_for(small, "second header"), small.ops,
                    extra=[(3, REC_HEADER, first.header)])
    assert second.header == first.header
    got = v.add("bundle_second_header", "malformed",
                "written with the file key: the signed header, 2 ops, the same header record again, the other ops: "
                "only the first record may be the header (a later one could replace what was signed), so the second "
                "is a malformed record; the ops around it land", second.bytes(), LAWYER, P)
    assert got["ops"] == [blake2b(e) for e in small.ops] and got["malformed"] == 1 and got["header"] == second.header
    v.add("bundle_empty", "malformed", "a file of zero bytes", b"", LAWYER, P)
    v.add("bundle_short_file", "malformed",
          "the first 9 bytes of bundle_ok_one_chunk (magic, version, half the entry count): too short to be a bundle",
          one_bytes[:9], LAWYER, P)
    v.add("bundle_truncated_preamble", "truncated",
          "the first 200 bytes of bundle_ok_one_chunk: the entry count (4) is read, the entries are cut",
          one_bytes[:200], LAWYER, P)
    v.add("bundle_entry_count_5", "malformed",
          "bundle_ok_one_chunk's first 26 bytes with the entry count 5 (not a multiple of 4)",
          one_bytes[:8] + u16(5) + one_bytes[10:26], LAWYER, P)
    v.add("bundle_entry_count_0", "malformed",
          "magic, version, entry count 0 and a 16-byte nonce prefix: a bundle has at least one recipient",
          one_bytes[:8] + u16(0) + one.prefix, LAWYER, P)

    elsewhere = chain("another project", 0)
    assert elsewhere.project != P
    wrong = Bundle("wrong project", [LAWYER, COORDINATOR], header_for(elsewhere, "wrong project"), elsewhere.ops)
    v.add("bundle_wrong_project", "wrong_project",
          "a valid bundle to the lawyer from the same founder's other project (another genesis nonce): "
          "refused whole, before any op is applied", wrong.bytes(), LAWYER, P)

    odd = Bundle("unknown record", [LAWYER, COORDINATOR], header_for(small, "unknown record"), small.ops,
                 extra=[(3, 6, b"x")])
    got = v.add("bundle_unknown_record_type", "malformed",
                "written with the file key: header, genesis, add, then a record of type 6, then the rest: an unknown "
                "record type is not skipped; the reader drops the rest of the chunk (the last chunk here)",
                odd.bytes(), LAWYER, P)
    assert got["ops"] == ids[:2] and got["malformed"] == 1

    # Ops before the header: the first record is an op, so the file has no header; the header
    # record that follows is not first, so it is a malformed record. Every op lands.
    early = Bundle("op before header", [LAWYER], header_for(small, "op before header"), small.ops, lead=2)
    got = v.add("bundle_op_before_header", "malformed",
                "written with the file key: 2 op records, then the signed header record, then the other ops: only "
                "the stream's first record may be the header, so this file has none (nothing is acknowledged to its "
                "sender) and the late header is a malformed record; every op lands", early.bytes(), LAWYER, P)
    assert got["ops"] == [blake2b(e) for e in small.ops] and got["malformed"] == 1 and got["header"] is None

    # The end record's body is read as one varint and nothing else is checked (bundles.md,
    # "Known gaps" 6): bytes after the varint are ignored, and an empty body declares nothing.
    long_end = Bundle("long end record", [LAWYER], header_for(small, "long end record"), small.ops,
                      end=varint(len(small.ops)) + b"\x00\x07")
    got = v.add("bundle_end_record_long", "ok",
                "written with the file key: an end record of 3 bytes (the op count 5, then 00 07): the reader "
                "reads the count and ignores the rest of the body; the file is intact", long_end.bytes(), LAWYER, P)
    assert got["declared"] == len(small.ops) and got["malformed"] == 0
    empty_end = Bundle("empty end record", [LAWYER], header_for(small, "empty end record"), small.ops, end=b"")
    got = v.add("bundle_end_record_empty", "ok",
                "written with the file key: an end record with an empty body: no op count is declared, reading "
                "stops there as at any end record, and the file is intact", empty_end.bytes(), LAWYER, P)
    assert got["declared"] is None and got["ops"] == [blake2b(e) for e in small.ops]

    # Version 3: compact op records. Each op that follows the one before it in its chain, and starts
    # in the chunk that one started in, is written as kind ‖ body ‖ signature (type 6).
    v3 = Bundle("v3 two chunks", [LAWYER, COORDINATOR], header_for(main, "v3 two chunks", VERSION_COMPACT), main.ops,
                version=VERSION_COMPACT)
    types = [v3.stream[x] for x in v3.starts]
    chunk_of = [x // CAPACITY for x in v3.starts]
    assert types[1] == REC_OP and REC_COMPACT in types and len(v3.chunks) == 2
    # The first op record to start in chunk 1 follows one that started in chunk 0: written whole.
    first1 = next(i for i, c in enumerate(chunk_of) if c == 1)
    assert types[first1] == REC_OP and chunk_of[first1 - 1] == 0
    got = v.add("bundle_v3_ok", "ok",
                "bundle_ok's 9 ops as version 3 writes them: the genesis whole (type 2), each op after it compact "
                "(type 6: kind, body, signature; project, author, seq and prev from the op before), except the "
                "first op record to start in chunk 1, written whole", v3.bytes(), LAWYER, P)
    assert got["ops"] == ids and got["malformed"] == 0
    flipped3 = flip(v3.bytes(), len(v3.preamble()) + 1000, 3)
    got = v.add("bundle_v3_flipped_chunk_byte", "malformed",
                "bundle_v3_ok with bit 3 of byte 1000 of chunk 0 flipped: chunk 0 is lost; reading resumes at "
                "chunk 1's first record, an op written whole, so the ops after it, compact, still land",
                flipped3, LAWYER, P)
    assert got["ops"] == [blake2b(e) for e in main.ops[first1 - 1:]] and got["malformed"] == 0 and got["damaged"] == 1

    lone = Bundle("v3 no context", [LAWYER], header_for(small, "v3 no context", VERSION_COMPACT), small.ops,
                  version=VERSION_COMPACT)
    recs = compact_records(lone.header, small.ops)
    assert [r[0] for r in recs] == [REC_HEADER, REC_OP] + [REC_COMPACT] * 4
    recs = [recs[0]] + recs[2:] + [record(REC_END, varint(4))]
    lone.stream = b"".join(recs)
    lone.starts = [sum(len(r) for r in recs[:i]) for i in range(len(recs))]
    lone.chunks = chunks(lone.stream, lone.starts, lone.file_key, lone.prefix)
    got = v.add("bundle_v3_compact_without_op_before", "malformed",
                "written with the file key, version 3: the header, then the founder's ops 2-5 as compact records, "
                "without the genesis they follow: a compact record with no op record before it (since the stream "
                "began or resynchronised) names no author, so it and each one after it is a malformed record",
                lone.bytes(), LAWYER, P)
    assert got["ops"] == [] and got["malformed"] == 4
    mixed = Bundle("v3 header 2", [LAWYER], header_for(small, "v3 header 2", VERSION), small.ops, version=VERSION_COMPACT)
    got = v.add("bundle_v3_header_version_2", "malformed",
                "a version-3 file whose signed header record says version 2: the header repeats the file's version, "
                "so it is a malformed record and the file has no header; the ops land",
                mixed.bytes(), LAWYER, P)
    assert got["header"] is None and got["malformed"] == 1 and got["ops"] == [blake2b(e) for e in small.ops]

    total = sum(len(d) for n, d in v.files.items() if n.endswith(".bin"))
    assert total <= SIZE_BUDGET, total
    return v.files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args()
    files = build()
    return emit(OUT, files, args.check, (".txt", ".bin"))


if __name__ == "__main__":
    sys.exit(main())
