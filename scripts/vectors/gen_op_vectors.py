#!/usr/bin/env python3
"""Generate the op-format test vectors in Protocol/vectors/ops/.

An independent implementation of Protocol/ops.md (envelope, sealed body, payload,
membership body), written from the spec and not from the Swift code, so that the
Swift tests (Tests/SandyqCoreTests/OpVectorTests.swift) check two readings of
the spec against each other.

Each vector is one file, in the style of the age test vectors and of
Protocol/vectors/crypto/: a header of `key: value` lines, one blank line, and
nothing after it. Byte strings are lowercase hex. Keys, in this order:

    area:              envelope | sealed | payload | membership
    expect:            a class from the closed list below
    comment:           free text: what the defect is, and which attack it stands for
    project:           the project the receiving node belongs to (16 bytes)
    envelope:          the op as received
    id:                the op id, BLAKE2b-256 of the envelope; present exactly when
                       the envelope's layout is valid
    reader_box_secret: (sealed ops) the X25519 secret key of the node reading it
    session_envelope:  (optional) an earlier op of the same author and sealing
                       session, read first, that carries the session's key entries
    payload:           (when the body opens) the plaintext the reader must get
    counts:            (a reader-key announcement that decodes) yes when the key is not of
                       small order and the member's own signature over its statement
                       verifies in `project`, so the announcement counts once its author
                       and member qualify; no otherwise

`expect` is the first failure met by the acceptance pipeline of Protocol/ops.md
("Checking a vector"), or ok:

    ok  not_member  bad_signature  broken_chain  fork  revoked  truncated
    malformed  not_for_me  wrong_project  unsupported_version  not_allowed

(not_member, broken_chain, fork, revoked and not_allowed need a node's stored
state, its membership or its chains; no file here uses them yet.)

Every vector is built, then classified by this file's own decoder, and the class
must equal the intended `expect` before the file is written.

Everything is deterministic (fixed seeds, fixed nonces, fixed session id and
content key; Ed25519 signing is deterministic) except the sealed boxes of the
content key (`crypto_box_seal` picks a fresh ephemeral key each time). Those are
taken from the existing sealed_session_first.txt when they still open to the
content key for their readers, so re-running does not churn the files; pass
--regenerate to seal afresh. Every other vector that carries key entries reuses
the same ones.

Usage:
    python3 scripts/vectors/gen_op_vectors.py               # write files
    python3 scripts/vectors/gen_op_vectors.py --check       # exit 1 if files differ
    python3 scripts/vectors/gen_op_vectors.py --regenerate  # re-seal the content key

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
OUT = REPO / "Protocol" / "vectors" / "ops"

CLASSES = ("ok", "not_member", "bad_signature", "broken_chain", "fork", "revoked", "truncated",
           "malformed", "not_for_me", "wrong_project", "unsupported_version", "not_allowed")
AREAS = ("envelope", "sealed", "payload", "membership")
KEYS = ("area", "expect", "comment", "project", "envelope", "id", "reader_box_secret", "session_envelope", "payload", "counts")
REQUIRED = ("area", "expect", "comment", "project", "envelope")

# ---------------------------------------------------------------- constants (Protocol/ops.md)

ENVELOPE_VERSION = 1
KIND_SEALED, KIND_MEMBERSHIP = 1, 2
PROJECT_LEN, KEY_LEN, OPID_LEN, SIG_LEN, CASE_LEN = 16, 32, 32, 64, 16
HEADER_LEN = 1 + 1 + PROJECT_LEN + KEY_LEN + 8 + OPID_LEN          # 90
MAX_BODY = 1 << 20
MAX_SEQ = (1 << 62) - 1             # stores keep seq in a signed 64-bit column

SEALED_VERSION = 1
SESSION_ID_LEN = 8
PARENT_ID_LEN = 8
DERIVATION_LABEL = b"sandyq-derived-session"
CONTENT_KEY_LEN = 32
ENTRY_LEN = CONTENT_KEY_LEN + b.crypto_box_SEALBYTES               # 80
MAX_READERS = 1024
NONCE_LEN = b.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES         # 24
TAG_LEN = b.crypto_aead_xchacha20poly1305_ietf_ABYTES              # 16

PAYLOAD_VERSION = 1
PUT, ADD, REMOVE, PROJECT_NAME, GRANT, WITHDRAWAL_NOTE, WITHDRAWN_CASES, WITHDRAWN_ELEMENT = 1, 2, 3, 4, 5, 6, 7, 8
MAX_NOTE_WHAT, MAX_NOTE_WHY = 4096, 16384
MAX_MUTATIONS, MAX_REFS = 100_000, 4096
MAX_NAME, MAX_VALUE, MAX_PROJECT_NAME = 256, 1 << 20, 1024

MEMBERSHIP_VERSION = 1
REVOKE_VERSION = 2          # a revoke that names the revoked member's last genuine op
GENESIS, MEMBER_ADD, REVOKE, WITHDRAW, READER_KEY = 1, 2, 3, 4, 5
READER_KEY_CONTEXT = b"sandyq-reader-key"
MAX_WITHDRAWN = 4096
FILE_ID_LEN = 16
GENESIS_NONCE_LEN = 16
ROLES = {1: "coordinator", 2: "reporter", 3: "lawyer", 4: "relay"}

ZERO_ID = bytes(OPID_LEN)

assert ENTRY_LEN == 80 and NONCE_LEN == 24 and TAG_LEN == 16 and HEADER_LEN == 90


# ---------------------------------------------------------------- helpers

def det(label: str, n: int) -> bytes:
    """Deterministic filler bytes for keys, nonces and ids."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq op vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def blake2b(data: bytes, n: int) -> bytes:
    return hashlib.blake2b(data, digest_size=n).digest()


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def varint(v: int) -> bytes:
    """LEB128, minimal."""
    assert 0 <= v < 1 << 64
    out = bytearray()
    while True:
        low = v & 0x7F
        v >>= 7
        if v:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def string(s: str | bytes) -> bytes:
    raw = s.encode("utf-8") if isinstance(s, str) else s
    return varint(len(raw)) + raw


def hlc(millis: int, counter: int) -> int:
    """Hybrid logical clock: 48 bits of milliseconds, 16 bits of counter."""
    assert 0 <= millis < 1 << 48 and 0 <= counter < 1 << 16
    return millis << 16 | counter


# ---------------------------------------------------------------- keys

class Node:
    """A member device: an Ed25519 signing key and an X25519 box key, both from fixed seeds."""

    def __init__(self, label: str):
        self.signing = nacl.signing.SigningKey(det(f"{label}/signing seed", 32))
        self.sign_pk = bytes(self.signing.verify_key)
        self.box_sk = det(f"{label}/box secret", 32)
        self.box_pk = b.crypto_scalarmult_base(self.box_sk)

    def sign(self, message: bytes) -> bytes:
        return self.signing.sign(message).signature


def derive_project(founder_sign_pk: bytes, founder_box_pk: bytes, nonce: bytes) -> bytes:
    return blake2b(founder_sign_pk + founder_box_pk + nonce, PROJECT_LEN)


# ---------------------------------------------------------------- encoders

def header(kind: int, project: bytes, author: bytes, seq: int, prev: bytes, version: int = ENVELOPE_VERSION) -> bytes:
    return bytes([version, kind]) + project + author + u64(seq) + prev


def envelope(author: Node, kind: int, project: bytes, seq: int, prev: bytes, body: bytes,
             version: int = ENVELOPE_VERSION, declared_length: int | None = None) -> bytes:
    """Header ‖ u32 body length ‖ body ‖ Ed25519 signature over everything before it."""
    n = len(body) if declared_length is None else declared_length
    signed = header(kind, project, author.sign_pk, seq, prev, version) + u32(n) + body
    return signed + author.sign(signed)


def op_id(env: bytes) -> bytes:
    return blake2b(env, OPID_LEN)


def sealed_body(session_id: bytes, entries: list[bytes] | None, nonce: bytes, content_key: bytes,
                plaintext: bytes, ad: bytes, version: int = SEALED_VERSION, flag: int | None = None) -> bytes:
    out = bytes([version]) + session_id
    if entries is None:
        out += bytes([0 if flag is None else flag])
    else:
        out += bytes([1 if flag is None else flag]) + u16(len(entries)) + b"".join(entries)
    return out + nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, content_key)


def put(case: bytes, collection: str, element: str, field: str, value: str | bytes, supersedes=()) -> bytes:
    return (bytes([PUT]) + case + string(collection) + string(element) + string(field) + string(value)
            + varint(len(supersedes)) + b"".join(supersedes))


def add(case: bytes, collection: str, element: str) -> bytes:
    return bytes([ADD]) + case + string(collection) + string(element)


def remove(case: bytes, collection: str, element: str, observed=()) -> bytes:
    return bytes([REMOVE]) + case + string(collection) + string(element) + varint(len(observed)) + b"".join(observed)


def project_name(name: str) -> bytes:
    return bytes([PROJECT_NAME]) + string(name)


def withdrawal_note(withdrawal: bytes, what: str, why: str) -> bytes:
    """Who withdrew what and why, sealed to coordinators; its author is the withdrawal's."""
    assert len(withdrawal) == OPID_LEN
    return bytes([WITHDRAWAL_NOTE]) + withdrawal + string(what) + string(why)


def withdrawn_cases(withdrawal: bytes, cases) -> bytes:
    """The cases a withdrawal took whole, in its note's op (varint count, 16-byte case ids)."""
    assert len(withdrawal) == OPID_LEN and all(len(c) == CASE_LEN for c in cases)
    return bytes([WITHDRAWN_CASES]) + withdrawal + varint(len(cases)) + b"".join(cases)


def withdrawn_element(withdrawal: bytes, case: bytes, collection: str, element: str) -> bytes:
    """The one element a withdrawal took, in its note's op (case id, string collection, string element)."""
    assert len(withdrawal) == OPID_LEN and len(case) == CASE_LEN
    return bytes([WITHDRAWN_ELEMENT]) + withdrawal + case + string(collection) + string(element)


def grant(author: bytes, session_id: bytes, content_key: bytes) -> bytes:
    """Hands the content key of (author, session id) to the readers of the op carrying it."""
    assert len(author) == KEY_LEN and len(session_id) == SESSION_ID_LEN and len(content_key) == CONTENT_KEY_LEN
    return bytes([GRANT]) + author + session_id + content_key


def payload(clock: int, mutations: list[bytes], count: bytes | None = None, version: int = PAYLOAD_VERSION) -> bytes:
    return bytes([version]) + u64(clock) + (varint(len(mutations)) if count is None else count) + b"".join(mutations)


def genesis_body(founder: Node, nonce: bytes) -> bytes:
    return bytes([MEMBERSHIP_VERSION, GENESIS]) + founder.sign_pk + founder.box_pk + nonce


def add_body(member: Node, role: int) -> bytes:
    return bytes([MEMBERSHIP_VERSION, MEMBER_ADD]) + member.sign_pk + member.box_pk + bytes([role])


def revoke_body(member: Node, from_seq: int) -> bytes:
    """The retired v1 revoke: names a seq (read as the op held there, when exactly one is)."""
    return bytes([MEMBERSHIP_VERSION, REVOKE]) + member.sign_pk + u64(from_seq)


def withdraw_body(ops: list[tuple[bytes, int, bytes]], files: list[bytes]) -> bytes:
    """Names ops as (author signing key, seq, op id) and evidence file ids, each sorted ascending."""
    out = bytes([MEMBERSHIP_VERSION, WITHDRAW]) + len(ops).to_bytes(2, "big")
    for author, seq, oid in ops:
        out += author + u64(seq) + oid
    out += len(files).to_bytes(2, "big")
    for f in files:
        out += f
    return out


def reader_key_statement(project: bytes, member: bytes, epoch: int, key: bytes) -> bytes:
    """What the member signs: the context, the project, its signing key, the epoch and the key."""
    return READER_KEY_CONTEXT + project + member + u32(epoch) + key


def reader_key_body(member: Node, epoch: int, key: bytes, signer: Node | None = None) -> bytes:
    """The member's statement (signed by `signer`, the member unless a forgery is wanted) in a type 5 body."""
    sig = (signer or member).sign(reader_key_statement(PROJECT, member.sign_pk, epoch, key))
    return bytes([MEMBERSHIP_VERSION, READER_KEY]) + member.sign_pk + u32(epoch) + key + sig


def opens_sealed_boxes(key: bytes) -> bool:
    """False for a point of small order: its product with a clamped scalar is zero, which libsodium refuses."""
    try:
        b.crypto_scalarmult(bytes([0x5A]) * KEY_LEN, key)
        return True
    except nacl.exceptions.RuntimeError:
        return False


def reader_key_counts(project: bytes, member: bytes, epoch: int, key: bytes, sig: bytes) -> bool:
    """The derivation's checks of the key and of the member's own signature (the author's is the envelope's)."""
    if not opens_sealed_boxes(key):
        return False
    try:
        nacl.signing.VerifyKey(member).verify(reader_key_statement(project, member, epoch, key), sig)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def revoke_body_v2(member: Node, last_genuine: bytes | None, seq: int) -> bytes:
    """Names the member's last genuine op (seq, id); seq 0 with the zero id keeps none of its ops."""
    return bytes([REVOKE_VERSION, REVOKE]) + member.sign_pk + u64(seq) + (last_genuine or ZERO_ID)


# ---------------------------------------------------------------- decoders (the checking side)

class Refused(Exception):
    def __init__(self, cls: str, why: str):
        assert cls in CLASSES and cls != "ok", cls
        super().__init__(f"{cls}: {why}")
        self.cls = cls


class Reader:
    def __init__(self, data: bytes):
        self.data, self.off = data, 0

    def raw(self, n: int) -> bytes:
        if len(self.data) - self.off < n:
            raise Refused("truncated", f"wanted {n} bytes, {len(self.data) - self.off} left")
        out = self.data[self.off:self.off + n]
        self.off += n
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.raw(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.raw(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.raw(8))[0]

    def varint(self) -> int:
        # At most 10 bytes; the 10th carries bit 63 only, so it must be 0x00 or 0x01
        # (and 0x00 there is non-minimal). The rule is applied on the byte, before reading on.
        value = 0
        for i in range(10):
            byte = self.u8()
            if i == 9 and byte > 1:
                raise Refused("malformed", "varint overflows 64 bits")
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if i > 0 and byte == 0:
                    raise Refused("malformed", "varint not minimally encoded")
                return value
        raise AssertionError("unreachable: the 10th byte has no continuation bit")

    def string(self, limit: int) -> str:
        n = self.varint()
        if n > limit:
            raise Refused("malformed", f"string of {n} bytes over the {limit}-byte limit")
        try:
            return self.raw(n).decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise Refused("malformed", "invalid UTF-8") from None

    def rest(self) -> bytes:
        return self.raw(len(self.data) - self.off)

    def end(self) -> None:
        if self.off != len(self.data):
            raise Refused("malformed", f"{len(self.data) - self.off} trailing bytes")


def decode_envelope(data: bytes) -> dict:
    r = Reader(data)
    version = r.u8()
    if version != ENVELOPE_VERSION:
        raise Refused("unsupported_version", f"envelope version {version}")
    kind = r.u8()
    if kind not in (KIND_SEALED, KIND_MEMBERSHIP):
        raise Refused("malformed", f"unknown kind {kind}")
    project, author, seq = r.raw(PROJECT_LEN), r.raw(KEY_LEN), r.u64()
    if seq == 0:
        raise Refused("malformed", "seq 0")
    if seq > MAX_SEQ:
        raise Refused("malformed", f"seq {seq} not below 2^62")
    prev = r.raw(OPID_LEN)
    if seq == 1 and prev != ZERO_ID:
        raise Refused("malformed", "seq 1 with a nonzero prev")
    n = r.u32()
    if n > MAX_BODY:
        raise Refused("malformed", f"body length {n} over 1 MiB")   # before reading: never buffer it
    body = r.raw(n)
    sig = r.raw(SIG_LEN)
    r.end()
    return dict(kind=kind, project=project, author=author, seq=seq, prev=prev, body=body,
                header=data[:HEADER_LEN], signed=data[:-SIG_LEN], sig=sig, id=op_id(data))


def verify(env: dict) -> None:
    try:
        nacl.signing.VerifyKey(env["author"]).verify(env["signed"], env["sig"])
    except nacl.exceptions.BadSignatureError:
        raise Refused("bad_signature", "signature does not verify") from None


def decode_sealed(body: bytes) -> dict:
    r = Reader(body)
    version = r.u8()
    if version != SEALED_VERSION:
        raise Refused("unsupported_version", f"sealed body version {version}")
    session_id = r.raw(SESSION_ID_LEN)
    flag = r.u8()

    def read_entries() -> list[bytes]:
        count = r.u16()
        if not 1 <= count <= MAX_READERS:
            raise Refused("malformed", f"reader count {count}")
        return [r.raw(ENTRY_LEN) for _ in range(count)]

    entries = parent_id = parent_entries = None
    if flag == 0:
        pass
    elif flag == 1:
        entries = read_entries()
    elif flag in (2, 3):
        parent_id = r.raw(PARENT_ID_LEN)
        if flag == 2:
            parent_entries = read_entries()
    else:
        raise Refused("malformed", f"key-entry flag {flag}")
    nonce = r.raw(NONCE_LEN)
    ciphertext = r.rest()
    if len(ciphertext) < TAG_LEN:
        raise Refused("truncated", "ciphertext shorter than its tag")
    return dict(session_id=session_id, entries=entries, parent_id=parent_id, parent_entries=parent_entries,
                nonce=nonce, ciphertext=ciphertext)


def derive_session_key(parent_key: bytes, author: bytes, session_id: bytes) -> bytes:
    """K = BLAKE2b-256(key: P, "sandyq-derived-session" ‖ author ‖ session id)."""
    return hashlib.blake2b(DERIVATION_LABEL + author + session_id, digest_size=32, key=parent_key).digest()


def take_keys(author: bytes, body: dict, box_sk: bytes, sessions: dict, parents: dict) -> None:
    """Rule 1 of "Order": an op that announces its session, met while the slot is empty, fills it;
    a flag-2 op met while its parent slot is empty fills that first."""
    slot = (author, body["session_id"])
    if body["parent_id"] is not None:
        pslot = (author, body["parent_id"])
        if body["parent_entries"] is not None and parents.get(pslot) is None:
            parents[pslot] = open_entries(body["parent_entries"], box_sk)
        if sessions.get(slot) is None and parents.get(pslot) is not None:
            sessions[slot] = derive_session_key(parents[pslot], author, body["session_id"])
    elif body["entries"] is not None and slot not in sessions:
        sessions[slot] = open_entries(body["entries"], box_sk)


def open_entries(entries: list[bytes], box_sk: bytes) -> bytes | None:
    box_pk = b.crypto_scalarmult_base(box_sk)
    for entry in entries:
        try:
            key = b.crypto_box_seal_open(entry, box_pk, box_sk)
        except Exception:
            continue
        if len(key) == CONTENT_KEY_LEN:
            return key
    return None


def decode_payload(data: bytes) -> dict:
    r = Reader(data)
    version = r.u8()
    if version != PAYLOAD_VERSION:
        raise Refused("unsupported_version", f"payload version {version}")
    clock = r.u64()
    n = r.varint()
    if n > MAX_MUTATIONS:
        raise Refused("malformed", "too many mutations")

    def refs():
        k = r.varint()
        if k > MAX_REFS:
            raise Refused("malformed", "too many references")
        return [r.raw(OPID_LEN) for _ in range(k)]

    mutations = []
    for _ in range(n):
        t = r.u8()
        if t == PUT:
            case = r.raw(CASE_LEN)
            coll, elem, field = r.string(MAX_NAME), r.string(MAX_NAME), r.string(MAX_NAME)
            mutations.append(("put", case, coll, elem, field, r.string(MAX_VALUE), refs()))
        elif t == ADD:
            case = r.raw(CASE_LEN)
            mutations.append(("add", case, r.string(MAX_NAME), r.string(MAX_NAME)))
        elif t == REMOVE:
            case = r.raw(CASE_LEN)
            coll, elem = r.string(MAX_NAME), r.string(MAX_NAME)
            mutations.append(("remove", case, coll, elem, refs()))
        elif t == PROJECT_NAME:
            mutations.append(("projectName", r.string(MAX_PROJECT_NAME)))
        elif t == GRANT:
            mutations.append(("grant", r.raw(KEY_LEN), r.raw(SESSION_ID_LEN), r.raw(CONTENT_KEY_LEN)))
        elif t == WITHDRAWAL_NOTE:
            wid = r.raw(OPID_LEN)
            what = r.string(MAX_NOTE_WHAT)
            mutations.append(("withdrawalNote", wid, what, r.string(MAX_NOTE_WHY)))
        elif t == WITHDRAWN_CASES:
            wid = r.raw(OPID_LEN)
            k = r.varint()
            if k > MAX_REFS:
                raise Refused("malformed", "too many cases")
            mutations.append(("withdrawnCases", wid, [r.raw(CASE_LEN) for _ in range(k)]))
        elif t == WITHDRAWN_ELEMENT:
            wid, case = r.raw(OPID_LEN), r.raw(CASE_LEN)
            coll = r.string(MAX_NAME)
            mutations.append(("withdrawnElement", wid, case, coll, r.string(MAX_NAME)))
        else:
            raise Refused("malformed", f"unknown mutation type {t}")
    r.end()
    return dict(clock=clock, mutations=mutations)


def decode_membership(body: bytes) -> tuple:
    r = Reader(body)
    version = r.u8()
    if version not in (MEMBERSHIP_VERSION, REVOKE_VERSION):
        raise Refused("unsupported_version", f"membership version {version}")
    t = r.u8()
    if version == REVOKE_VERSION:
        if t != REVOKE:
            raise Refused("malformed", "membership version 2 holds only a revoke")
        member, seq, last = r.raw(KEY_LEN), r.u64(), r.raw(OPID_LEN)
        if (seq == 0) != (last == ZERO_ID):
            raise Refused("malformed", "revoke names seq 0 only with the zero op id")
        out = ("revoke2", member, seq, None if seq == 0 else last)
    elif t == GENESIS:
        out = ("genesis", r.raw(KEY_LEN), r.raw(KEY_LEN), r.raw(GENESIS_NONCE_LEN))
    elif t == MEMBER_ADD:
        sign_pk, box_pk, role = r.raw(KEY_LEN), r.raw(KEY_LEN), r.u8()
        if role not in ROLES:
            raise Refused("malformed", f"unknown role {role}")
        out = ("add", sign_pk, box_pk, role)
    elif t == REVOKE:
        out = ("revoke", r.raw(KEY_LEN), r.u64())
    elif t == WITHDRAW:
        n = r.u16()
        if not 1 <= n <= MAX_WITHDRAWN:
            raise Refused("malformed", "a withdrawal names 1 to 4096 ops")
        ops = []
        for _ in range(n):
            o = (r.raw(KEY_LEN), r.u64(), r.raw(OPID_LEN))
            if not 1 <= o[1] < 1 << 62:
                raise Refused("malformed", "withdrawn op seq out of range")
            if ops and not ops[-1] < o:
                raise Refused("malformed", "withdrawn ops out of order")
            ops.append(o)
        f = r.u16()
        if f > MAX_WITHDRAWN:
            raise Refused("malformed", "a withdrawal names at most 4096 files")
        files = []
        for _ in range(f):
            fid = r.raw(FILE_ID_LEN)
            if files and not files[-1] < fid:
                raise Refused("malformed", "withdrawn files out of order")
            files.append(fid)
        out = ("withdraw", ops, files)
    elif t == READER_KEY:
        member, epoch, key, sig = r.raw(KEY_LEN), r.u32(), r.raw(KEY_LEN), r.raw(SIG_LEN)
        if epoch == 0:
            raise Refused("malformed", "reader key epoch 0")
        if key == bytes(KEY_LEN):
            raise Refused("malformed", "reader key is zero")
        out = ("reader_key", member, epoch, key, sig)
    else:
        raise Refused("malformed", f"unknown membership change {t}")
    r.end()
    return out


def classify(fields: dict) -> tuple[str, bytes | None]:
    """The acceptance pipeline of Protocol/ops.md; returns (class, plaintext if a body opened)."""
    try:
        env = decode_envelope(fields["envelope"])
        if env["project"] != fields["project"]:
            raise Refused("wrong_project", "envelope names another project")
        verify(env)
        if env["kind"] == KIND_MEMBERSHIP:
            change = decode_membership(env["body"])
            if change[0] == "genesis" and derive_project(change[1], change[2], change[3]) != env["project"]:
                raise Refused("wrong_project", "genesis nonce does not derive the project")
            return "ok", None
        box_sk = fields["reader_box_secret"]
        sessions: dict = {}
        parents: dict = {}
        if "session_envelope" in fields:
            first = decode_envelope(fields["session_envelope"])
            verify(first)
            assert first["author"] == env["author"] and first["seq"] < env["seq"]
            s = decode_sealed(first["body"])
            assert s["entries"] is not None or s["parent_entries"] is not None
            take_keys(first["author"], s, box_sk, sessions, parents)
        body = decode_sealed(env["body"])
        slot = (env["author"], body["session_id"])
        take_keys(env["author"], body, box_sk, sessions, parents)
        key = sessions.get(slot)
        if key is None:
            raise Refused("not_for_me", "no key entry opens for this reader")
        try:
            plain = b.crypto_aead_xchacha20poly1305_ietf_decrypt(body["ciphertext"], env["header"], body["nonce"], key)
        except Exception:
            raise Refused("malformed", "body does not authenticate under its session key") from None
        try:
            decode_payload(plain)
        except Refused as e:
            return e.cls, plain
        return "ok", plain
    except Refused as e:
        return e.cls, None


# ---------------------------------------------------------------- rendering

def render(name: str, fields: dict) -> str:
    assert list(fields) == [k for k in KEYS if k in fields], (name, list(fields))
    assert all(k in fields for k in REQUIRED), name
    assert fields["area"] in AREAS and fields["expect"] in CLASSES, name
    assert name.startswith(fields["area"] + "_") and name.endswith(".txt"), name
    assert "\n" not in fields["comment"] and fields["comment"], name
    lines = []
    for k, v in fields.items():
        value = v.hex() if isinstance(v, bytes) else v
        lines.append(f"{k}: {value}" if value else f"{k}:")
    return "\n".join(lines) + "\n\n"


def parse(text: str) -> dict:
    head, sep, rest = text.partition("\n\n")
    assert sep and rest == "", "header must end with one blank line and nothing after it"
    out = {}
    for line in head.split("\n"):
        k, sep, v = line.partition(":")
        assert sep and k and k not in out, line
        out[k] = v[1:] if v.startswith(" ") else v
    return out


class Vectors:
    def __init__(self):
        self.files: dict[str, str] = {}

    def add(self, name: str, area: str, expect: str, comment: str, project: bytes, env: bytes, *,
            reader: bytes | None = None, session: bytes | None = None) -> None:
        fields: dict = dict(area=area, expect=expect, comment=comment, project=project, envelope=env)
        try:
            decode_envelope(env)
            fields["id"] = op_id(env)          # only when the layout is valid
        except Refused:
            pass
        if reader is not None:
            fields["reader_box_secret"] = reader
        if session is not None:
            fields["session_envelope"] = session
        got, plain = classify(fields)
        assert got == expect, f"{name}: built as {expect}, decodes as {got}"
        if plain is not None:
            fields["payload"] = plain
        if got == "ok" and area == "membership":
            change = decode_membership(decode_envelope(env)["body"])
            if change[0] == "reader_key":
                fields["counts"] = "yes" if reader_key_counts(project, *change[1:]) else "no"
        file = f"{name}.txt"
        assert file not in self.files, file
        self.files[file] = render(file, fields)


# ---------------------------------------------------------------- the vectors

FOUNDER = Node("founder")        # coordinator; its genesis names the project
REPORTER = Node("reporter")      # writes sealed ops; write-only: not among its own readers
LAWYER = Node("lawyer")          # a second reader
GENESIS_NONCE = det("genesis nonce", GENESIS_NONCE_LEN)
PROJECT = derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, GENESIS_NONCE)
OTHER_PROJECT = derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, det("other genesis nonce", GENESIS_NONCE_LEN))

SESSION_ID = det("session id", SESSION_ID_LEN)
CONTENT_KEY = det("content key", CONTENT_KEY_LEN)
READERS = sorted([FOUNDER, LAWYER], key=lambda n: n.box_pk)     # entries are in box-key order
CASE = det("case", CASE_LEN)
T0 = 1_767_225_600_000   # 2026-01-01T00:00:00Z in ms


def session_entries(regenerate: bool) -> list[bytes]:
    """crypto_box_seal(content key, reader) for each reader; kept from the existing file if still good."""
    existing = OUT / "sealed_session_first.txt"
    if existing.exists() and not regenerate:
        try:
            env = decode_envelope(bytes.fromhex(parse(existing.read_text())["envelope"]))
            entries = decode_sealed(env["body"])["entries"] or []
        except (Refused, AssertionError, KeyError, ValueError):
            entries = []
        if len(entries) == len(READERS) and all(
                open_entries([e], r.box_sk) == CONTENT_KEY for e, r in zip(entries, READERS)):
            return entries
    return [b.crypto_box_seal(CONTENT_KEY, r.box_pk) for r in READERS]


def gen_membership(v: Vectors) -> dict:
    g_body = genesis_body(FOUNDER, GENESIS_NONCE)
    genesis = envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 1, ZERO_ID, g_body)
    v.add("membership_genesis", "membership", "ok",
          "the founder's genesis at seq 1: project = BLAKE2b-128(founder signing key, founder box key, nonce)",
          PROJECT, genesis)
    gid = op_id(genesis)

    add_env = envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, add_body(REPORTER, 2))
    v.add("membership_add", "membership", "ok",
          "the founder (coordinator) admits a reporter device (role 2) at seq 2, linked to the genesis",
          PROJECT, add_env)

    revoke = envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), revoke_body(REPORTER, 5))
    v.add("membership_revoke", "membership", "ok",
          "the founder revokes the reporter from seq 5 on: its ops with seq above 5 are quarantined",
          PROJECT, revoke)

    v.add("membership_unknown_role", "membership", "malformed",
          "member add with role code 5 (only 1..4 exist): an unknown role must not default to any right",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, add_body(REPORTER, 5)))

    v.add("membership_role_zero", "membership", "malformed",
          "member add with role code 0 (only 1..4 exist)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, add_body(REPORTER, 0)))

    v.add("membership_unknown_change", "membership", "malformed",
          "membership change type 6 (only 1 genesis, 2 add, 3 revoke, 4 withdraw, 5 reader key exist)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid,
                            bytes([MEMBERSHIP_VERSION, 6]) + add_body(REPORTER, 2)[2:]))

    reader_key = b.crypto_scalarmult_base(det("founder/reader secret 1", 32))
    own = reader_key_body(FOUNDER, 1, reader_key)
    assert reader_key_counts(PROJECT, FOUNDER.sign_pk, 1, reader_key, own[-SIG_LEN:])
    v.add("membership_reader_key", "membership", "ok",
          "the founder announces its reader key of epoch 1: type 5, its signing key, epoch u32, the X25519 key, and its "
          "Ed25519 signature over 'sandyq-reader-key' || project || signing key || epoch || key; it counts",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), own))

    lawyer_key = b.crypto_scalarmult_base(det("lawyer/reader secret 2", 32))
    wrapped = reader_key_body(LAWYER, 2, lawyer_key)
    assert reader_key_counts(PROJECT, LAWYER.sign_pk, 2, lawyer_key, wrapped[-SIG_LEN:])
    v.add("membership_reader_key_wrapped", "membership", "ok",
          "the founder writes the lawyer's statement of its epoch 2 key, signed by the lawyer: it counts once the lawyer "
          "is a member",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), wrapped))

    forged = reader_key_body(LAWYER, 2, reader_key, signer=FOUNDER)
    assert not reader_key_counts(PROJECT, LAWYER.sign_pk, 2, reader_key, forged[-SIG_LEN:])
    v.add("membership_reader_key_bad_statement", "membership", "ok",
          "the founder writes a statement in the lawyer's name that the founder signed: it decodes, and does not count "
          "(no coordinator can choose the key others seal to for a member)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), forged))

    # Order 8: it decodes (only the all-zero key is malformed) and nothing can be sealed to it.
    small = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
    small_body = reader_key_body(FOUNDER, 1, small)
    assert not reader_key_counts(PROJECT, FOUNDER.sign_pk, 1, small, small_body[-SIG_LEN:])
    v.add("membership_reader_key_small_order", "membership", "ok",
          "the founder's own signed statement of a key of small order (order 8): it decodes, and does not count, "
          "as no box can be sealed to it",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), small_body))

    v.add("membership_reader_key_epoch_zero", "membership", "malformed",
          "a reader key at epoch 0 (epochs start at 1)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), reader_key_body(FOUNDER, 0, reader_key)))

    v.add("membership_reader_key_zero_key", "membership", "malformed",
          "a reader key of 32 zero bytes (a low-order point that no sealed box opens to)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), reader_key_body(FOUNDER, 1, bytes(KEY_LEN))))

    named = sorted([(REPORTER.sign_pk, 2, bytes([0x5a]) * OPID_LEN), (REPORTER.sign_pk, 1, bytes([0xa5]) * OPID_LEN)])
    fid = bytes(range(0x40, 0x40 + FILE_ID_LEN))
    v.add("membership_withdraw", "membership", "ok",
          "the founder withdraws two of the reporter's ops (sorted by author, seq, id) and one evidence file: "
          "every node drops their bytes and keeps (author, seq, id) as a stub",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), withdraw_body(named, [fid])))

    v.add("membership_withdraw_out_of_order", "membership", "malformed",
          "a withdrawal naming the same two ops in descending order: one withdrawal has one encoding",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), withdraw_body(named[::-1], [fid])))

    v.add("membership_withdraw_none", "membership", "malformed",
          "a withdrawal naming no op (count 0)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), withdraw_body([], [fid])))

    revoke2 = envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), revoke_body_v2(REPORTER, op_id(add_env), 2))
    v.add("membership_revoke_v2", "membership", "ok",
          "the founder revokes the reporter naming its last genuine op (seq 2, this id): every other op it signed is quarantined",
          PROJECT, revoke2)

    v.add("membership_revoke_v2_nothing", "membership", "ok",
          "a version 2 revoke with seq 0 and the zero op id: none of the member's ops count",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), revoke_body_v2(REPORTER, None, 0)))

    v.add("membership_revoke_v2_seq_without_id", "membership", "malformed",
          "a version 2 revoke naming seq 5 with the zero op id: which op is genuine must not be guessed from a seq",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env),
                            bytes([REVOKE_VERSION, REVOKE]) + REPORTER.sign_pk + u64(5) + ZERO_ID))

    v.add("membership_version_2", "membership", "malformed",
          "a member add with membership version 2 (version 2 holds only a revoke)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, b"\x02" + add_body(REPORTER, 2)[1:]))

    v.add("membership_version_3", "membership", "unsupported_version",
          "membership body version 3 (this build reads versions 1 and 2)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, b"\x03" + add_body(REPORTER, 2)[1:]))

    v.add("membership_truncated_body", "membership", "truncated",
          "member add whose body lacks its role byte (envelope and signature are valid)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 2, gid, add_body(REPORTER, 2)[:-1]))

    v.add("membership_trailing_byte", "membership", "malformed",
          "revoke body with one extra byte after fromSeq (envelope and signature are valid)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 3, op_id(add_env), revoke_body(REPORTER, 5) + b"\x00"))

    wrong_nonce = flip(GENESIS_NONCE, 0)
    assert derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, wrong_nonce) != PROJECT
    v.add("membership_genesis_wrong_nonce", "membership", "wrong_project",
          "genesis in the project's envelope whose nonce (bit 0 of byte 0 flipped) derives another project id: "
          "no one but the founder can claim a project",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 1, ZERO_ID, genesis_body(FOUNDER, wrong_nonce)))
    return dict(genesis=genesis, genesis_body=g_body)


def gen_envelope(v: Vectors, genesis: bytes, genesis_body: bytes, sealed_first: bytes) -> None:
    g = genesis
    sig_at = len(g) - SIG_LEN

    v.add("envelope_flipped_signature_bit", "envelope", "bad_signature",
          "membership_genesis with bit 0 of signature byte 10 flipped: forged authorship",
          PROJECT, flip(g, sig_at + 10))

    v.add("envelope_flipped_body_bit", "envelope", "bad_signature",
          "sealed_session_first with bit 0 of its last ciphertext byte flipped: a relay altering a body",
          PROJECT, flip(sealed_first, len(sealed_first) - SIG_LEN - 1))

    v.add("envelope_flipped_seq_bit", "envelope", "bad_signature",
          "membership_genesis with seq 1 changed to 3 (bit 1 of the last seq byte), not re-signed: "
          "an op replayed at another place in its chain",
          PROJECT, flip(g, 57, 1))

    v.add("envelope_truncated", "envelope", "truncated",
          "membership_genesis with the last byte of its signature removed",
          PROJECT, g[:-1])

    v.add("envelope_truncated_header", "envelope", "truncated",
          "the first 50 bytes of membership_genesis (version, kind, project, author; no seq)",
          PROJECT, g[:50])

    v.add("envelope_empty", "envelope", "truncated", "zero bytes", PROJECT, b"")

    v.add("envelope_trailing_byte", "envelope", "malformed",
          "membership_genesis with one zero byte appended after the signature: one op has one encoding",
          PROJECT, g + b"\x00")

    v.add("envelope_version_2", "envelope", "unsupported_version",
          "membership_genesis with envelope version 2, re-signed by its author",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 1, ZERO_ID, genesis_body, version=2))

    v.add("envelope_unknown_kind", "envelope", "malformed",
          "membership_genesis with kind 3 (only 1 sealed and 2 membership exist), re-signed",
          PROJECT, envelope(FOUNDER, 3, PROJECT, 1, ZERO_ID, genesis_body))

    v.add("envelope_kind_0", "envelope", "malformed",
          "membership_genesis with kind 0, re-signed",
          PROJECT, envelope(FOUNDER, 0, PROJECT, 1, ZERO_ID, genesis_body))

    v.add("envelope_seq_0", "envelope", "malformed",
          "membership_genesis at seq 0 (chains start at 1), re-signed",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 0, ZERO_ID, genesis_body))

    v.add("envelope_seq_too_large", "envelope", "malformed",
          "a member add at seq 2^62 (4611686018427387904), the smallest refused: stores keep seq in a signed "
          "64-bit column, so a signed op with a huge seq must be refused by the decoder, not crash the store",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, MAX_SEQ + 1, blake2b(b"founder op 2^62 - 1", 32),
                            add_body(REPORTER, 2)))

    v.add("envelope_seq_max", "envelope", "ok",
          "a member add at seq 2^62 - 1 (4611686018427387903), the largest accepted; its layout is valid "
          "(whether it counts is for the store and membership to decide)",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, MAX_SEQ, blake2b(b"founder op 2^62 - 2", 32),
                            add_body(REPORTER, 2)))

    v.add("envelope_seq1_nonzero_prev", "envelope", "malformed",
          "membership_genesis with seq 1 but prev = BLAKE2b-256 of \"x\", re-signed: the first op links to nothing",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 1, blake2b(b"x", 32), genesis_body))

    over = envelope(FOUNDER, KIND_MEMBERSHIP, PROJECT, 1, ZERO_ID, genesis_body, declared_length=MAX_BODY + 1)
    v.add("envelope_body_over_1mib", "envelope", "malformed",
          "membership_genesis declaring a body of 1048577 bytes (then its real 82-byte body and a signature "
          "over what precedes it): the limit is checked on the length field, before any body byte is read",
          PROJECT, over)

    v.add("envelope_other_project", "envelope", "wrong_project",
          "a valid genesis envelope of another project (same founder, other nonce) offered to this project's node",
          PROJECT, envelope(FOUNDER, KIND_MEMBERSHIP, OTHER_PROJECT, 1, ZERO_ID,
                            genesis_body_for(OTHER_PROJECT)))


def genesis_body_for(project: bytes) -> bytes:
    nonce = det("other genesis nonce", GENESIS_NONCE_LEN) if project == OTHER_PROJECT else GENESIS_NONCE
    assert derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, nonce) == project
    return genesis_body(FOUNDER, nonce)


def sealed_op(author: Node, seq: int, prev: bytes, entries: list[bytes] | None, nonce_label: str,
              plaintext: bytes, **body_args) -> bytes:
    hdr = header(KIND_SEALED, PROJECT, author.sign_pk, seq, prev)
    body = sealed_body(SESSION_ID, entries, det(nonce_label, NONCE_LEN), CONTENT_KEY, plaintext, hdr, **body_args)
    return envelope(author, KIND_SEALED, PROJECT, seq, prev, body)


def derived_op(author: Node, seq: int, prev: bytes, session_id: bytes, parent_id: bytes,
               parent_entries: list[bytes] | None, nonce_label: str, plaintext: bytes,
               key: bytes | None = None) -> bytes:
    """A flag-2 (parent entries follow) or flag-3 (parent named only) body; the content key is
    derived from the parent key (CONTENT_KEY, so the existing entries seal it) unless `key` is given."""
    hdr = header(KIND_SEALED, PROJECT, author.sign_pk, seq, prev)
    nonce = det(nonce_label, NONCE_LEN)
    body = bytes([SEALED_VERSION]) + session_id
    if parent_entries is None:
        body += b"\x03" + parent_id
    else:
        body += b"\x02" + parent_id + u16(len(parent_entries)) + b"".join(parent_entries)
    k = key if key is not None else derive_session_key(CONTENT_KEY, author.sign_pk, session_id)
    body += nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, hdr, nonce, k)
    return envelope(author, KIND_SEALED, PROJECT, seq, prev, body)


def gen_derived(v: Vectors, entries: list[bytes]) -> None:
    """Sessions whose keys derive from a parent key sealed once per batch (ops.md section 2)."""
    session_a, session_b = det("derived session a", SESSION_ID_LEN), det("derived session b", SESSION_ID_LEN)
    parent, other_parent = det("parent id", PARENT_ID_LEN), det("other parent id", PARENT_ID_LEN)
    case_b = det("case b", CASE_LEN)
    plain_a = payload(hlc(T0, 0), [put(CASE, "", "", "status", "detained")])
    first = derived_op(REPORTER, 1, ZERO_ID, session_a, parent, entries, "nonce/derived a", plain_a)
    v.add("sealed_derived_first", "sealed", "ok",
          "flag 2: the first op of a batch carries the parent key sealed to 2 readers (the entries of "
          "sealed_session_first); its session key is BLAKE2b-256(key: parent, label ‖ author ‖ session id)",
          PROJECT, first, reader=LAWYER.box_sk)
    plain_b = payload(hlc(T0 + 10, 0), [put(case_b, "", "", "status", "convicted")])
    sibling = derived_op(REPORTER, 2, op_id(first), session_b, parent, None, "nonce/derived b", plain_b)
    v.add("sealed_derived_sibling", "sealed", "ok",
          "flag 3: another case's session in the same batch names the parent only; the founder derives its "
          "key from the parent key it took from session_envelope",
          PROJECT, sibling, reader=FOUNDER.box_sk, session=first)
    v.add("sealed_derived_without_parent", "sealed", "not_for_me",
          "sealed_derived_sibling read without the op that carried its parent key: nothing to derive from yet",
          PROJECT, sibling, reader=FOUNDER.box_sk)
    stray = derived_op(REPORTER, 2, op_id(first), session_b, other_parent, None, "nonce/derived b", plain_b)
    v.add("sealed_derived_other_parent", "sealed", "not_for_me",
          "a flag-3 op naming a parent id no op of its author announced, after sealed_derived_first",
          PROJECT, stray, reader=FOUNDER.box_sk, session=first)
    underived = derived_op(REPORTER, 1, ZERO_ID, session_a, parent, entries, "nonce/derived a", plain_a, key=CONTENT_KEY)
    v.add("sealed_derived_sealed_under_parent", "sealed", "malformed",
          "a flag-2 op whose payload is sealed under the parent key itself: a reader must derive the "
          "session key, so the body does not authenticate",
          PROJECT, underived, reader=LAWYER.box_sk)
    full = decode_envelope(first)["body"]
    cut = full[:1 + SESSION_ID_LEN + 1 + 5]
    v.add("sealed_derived_truncated_parent", "sealed", "truncated",
          "a flag-2 body that ends inside its parent id, signed",
          PROJECT, envelope(REPORTER, KIND_SEALED, PROJECT, 1, ZERO_ID, cut), reader=LAWYER.box_sk)


def gen_sealed(v: Vectors, entries: list[bytes]) -> dict:
    first_plain = payload(hlc(T0, 0), [
        put(CASE, "", "", "status", "detained"),
        add(CASE, "charges", "c1"),
        put(CASE, "charges", "c1", "article", "405"),
    ])
    first = sealed_op(REPORTER, 1, ZERO_ID, entries, "nonce/first", first_plain)
    v.add("sealed_session_first", "sealed", "ok",
          "the reporter's first op of a sealing session: the content key sealed to 2 readers "
          "(founder, lawyer, in box-key order); read here by the founder",
          PROJECT, first, reader=FOUNDER.box_sk)
    fid = op_id(first)

    v.add("sealed_session_first_second_reader", "sealed", "ok",
          "sealed_session_first read by the lawyer, whose entry is the other one",
          PROJECT, first, reader=LAWYER.box_sk)

    follow_plain = payload(hlc(T0 + 1500, 0), [put(CASE, "", "", "status", "released", [fid])])
    follow = sealed_op(REPORTER, 2, fid, None, "nonce/followup", follow_plain)
    v.add("sealed_session_followup", "sealed", "ok",
          "the reporter's next op in the same session: no key entries, only the session id; the lawyer reads "
          "session_envelope first (chain order) and reuses the key it cached for (author, session id)",
          PROJECT, follow, reader=LAWYER.box_sk, session=first)

    v.add("sealed_not_for_me", "sealed", "not_for_me",
          "sealed_session_first read by the reporter itself: a write-only author is not among its readers",
          PROJECT, first, reader=REPORTER.box_sk)

    v.add("sealed_followup_without_session", "sealed", "not_for_me",
          "sealed_session_followup read by the lawyer without the op that announced the session: "
          "no key is cached, so it cannot be read yet",
          PROJECT, follow, reader=LAWYER.box_sk)

    v.add("sealed_version_2", "sealed", "unsupported_version",
          "sealed body version 2, re-signed",
          PROJECT, sealed_op(REPORTER, 1, ZERO_ID, entries, "nonce/first", first_plain, version=2),
          reader=FOUNDER.box_sk)

    v.add("sealed_unknown_key_flag", "sealed", "malformed",
          "key-entry flag 4 (only 0 to 3 exist), re-signed",
          PROJECT, sealed_op(REPORTER, 1, ZERO_ID, entries, "nonce/first", first_plain, flag=4),
          reader=FOUNDER.box_sk)

    v.add("sealed_zero_readers", "sealed", "malformed",
          "key-entry flag 1 with a reader count of 0, re-signed",
          PROJECT, sealed_op(REPORTER, 1, ZERO_ID, [], "nonce/first", first_plain),
          reader=FOUNDER.box_sk)

    short_body = bytes([SEALED_VERSION]) + SESSION_ID + b"\x00" + det("nonce/short", NONCE_LEN) + bytes(TAG_LEN - 1)
    v.add("sealed_short_ciphertext", "sealed", "truncated",
          "a follow-up whose ciphertext is 15 bytes, shorter than one Poly1305 tag, signed",
          PROJECT, envelope(REPORTER, KIND_SEALED, PROJECT, 2, fid, short_body),
          reader=LAWYER.box_sk, session=first)

    lifted_body = decode_envelope(first)["body"]
    lifted = envelope(FOUNDER, KIND_SEALED, PROJECT, 4, blake2b(b"founder op 3", 32), lifted_body)
    v.add("sealed_lifted_body", "sealed", "malformed",
          "sealed_session_first's body copied into the founder's envelope and signed by the founder: the key "
          "entry opens, but the header is the AEAD's associated data, so the body does not authenticate",
          PROJECT, lifted, reader=FOUNDER.box_sk)
    return dict(first=first, fid=fid)


def gen_payload(v: Vectors, first: bytes, fid: bytes) -> None:
    def followup(name: str, expect: str, comment: str, plaintext: bytes) -> None:
        env = sealed_op(REPORTER, 2, fid, None, f"nonce/{name}", plaintext)
        v.add(name, "payload", expect, comment, PROJECT, env, reader=FOUNDER.box_sk, session=first)

    other = det("case/other", CASE_LEN)
    tag_a, tag_b = blake2b(b"add tag a", 32), blake2b(b"add tag b", 32)
    every = payload(hlc(T0 + 60_000, 3), [
        put(CASE, "", "", "status", "convicted", [fid]),
        put(CASE, "", "", "summary", "Ұсталды, 405-бап; адвокатқа жіберілмеді. Затримано, ст. 405."),
        put(CASE, "charges", "c1", "article", "405", [fid, blake2b(b"another write", 32)]),
        add(other, "events", "e1"),
        remove(CASE, "charges", "c0", [tag_a, tag_b]),
        remove(CASE, "charges", "c9"),
        project_name("Сандық — Алматы"),
    ])
    followup("payload_every_mutation", "ok",
             "put (case field with supersedes, case field with UTF-8 text, element field with two supersedes), "
             "add, remove (with and without observed tags), projectName; HLC = ms << 16 | 3", every)

    followup("payload_no_mutations", "ok", "version, clock and a mutation count of 0",
             payload(hlc(T0, 0), []))

    followup("payload_unknown_mutation", "malformed",
             "second mutation has type 9 (only 1..8 exist): an unknown change must not be skipped silently",
             payload(hlc(T0, 1), [add(CASE, "events", "e1"), bytes([9]) + CASE + string("x")]))

    note = withdrawal_note(blake2b(b"a withdrawal op", 32), "W-1 (3f2a9c01d4e5b6a7)",
                           "Куәгер келісімін қайтарып алды. Свидетель отозвал согласие.")
    followup("payload_withdrawal_note", "ok",
             "a withdrawal note (type 6: the withdrawal's op id, string what, string why); nodes seal it to "
             "coordinators in the op after the withdrawal, and show it only when both have one author",
             payload(hlc(T0 + 180_000, 0), [note]))
    wid = blake2b(b"a withdrawal op", 32)
    followup("payload_withdrawn_cases", "ok",
             "a withdrawal note and the cases its withdrawal took whole (type 7: the withdrawal's op id, a varint "
             "count, 16-byte case ids), in one op as nodes write them",
             payload(hlc(T0 + 180_000, 0), [note, withdrawn_cases(wid, [CASE, other])]))
    followup("payload_withdrawn_cases_over", "malformed",
             "a type 7 mutation announcing 4,097 cases, one over its limit",
             payload(hlc(T0 + 180_000, 0), [bytes([WITHDRAWN_CASES]) + wid + varint(MAX_REFS + 1)]))
    followup("payload_withdrawn_element", "ok",
             "a withdrawal note and the one element its withdrawal took (type 8: the withdrawal's op id, the 16-byte "
             "case id, string collection, string element), in one op as nodes write them",
             payload(hlc(T0 + 180_000, 0), [note, withdrawn_element(wid, CASE, "persons", "p1")]))
    followup("payload_withdrawn_element_long", "malformed",
             "a type 8 mutation whose element is 257 bytes, one over its limit",
             payload(hlc(T0 + 180_000, 0), [bytes([WITHDRAWN_ELEMENT]) + wid + CASE + string("persons") + string("e" * 257)]))
    followup("payload_withdrawal_note_long", "malformed",
             "a withdrawal note whose why is 16,385 bytes, one over its limit",
             payload(hlc(T0 + 180_000, 0), [bytes([WITHDRAWAL_NOTE]) + blake2b(b"a withdrawal op", 32) + string("W-1")
                                            + string("ы" * 8192 + "x")]))

    # Grants as Node.share and Node.addMember write them: one per session, sorted by author and
    # session id. Nodes put them in an op of their own sealed to the member who receives them;
    # here they ride in a follow-up of the reporter's session, which no decoder minds.
    granted = sorted([(FOUNDER.sign_pk, det("granted session/founder", SESSION_ID_LEN), det("granted key/founder", CONTENT_KEY_LEN)),
                      (REPORTER.sign_pk, SESSION_ID, CONTENT_KEY)])
    followup("payload_grant", "ok",
             "two grants (type 5: author, session id, content key): the reporter's own session and one of the "
             "founder's; a reader of this op may then open those sessions' ops without any key entry",
             payload(hlc(T0 + 120_000, 0), [grant(*g) for g in granted]))

    followup("payload_truncated_grant", "truncated",
             "a grant whose content key is cut after 31 of its 32 bytes: the payload ends inside the field",
             payload(hlc(T0 + 120_000, 1), [grant(*granted[0])])[:-1])

    followup("payload_nonminimal_varint", "malformed",
             "mutation count 1 written as 81 00 (two bytes): every value has exactly one encoding",
             payload(hlc(T0, 2), [add(CASE, "events", "e1")], count=b"\x81\x00"))

    followup("payload_nonminimal_string_length", "malformed",
             "a put whose field-name length 6 is written as 86 00",
             bytes([PAYLOAD_VERSION]) + u64(hlc(T0, 2)) + varint(1) + bytes([PUT]) + CASE + string("")
             + string("") + b"\x86\x00" + b"status" + string("x") + varint(0))

    followup("payload_varint_overflow", "malformed",
             "mutation count of 11 bytes ff..ff 01: over 64 bits",
             payload(hlc(T0, 2), [], count=b"\xff" * 10 + b"\x01"))

    followup("payload_varint_tenth_byte_continues", "malformed",
             "mutation count ff x9 then 81: a 10th varint byte may hold only bit 63 (00 or 01), never a "
             "continuation; refused on that byte, before reading further",
             payload(hlc(T0, 2), [], count=b"\xff" * 9 + b"\x81"))

    followup("payload_invalid_utf8", "malformed",
             "a put whose value is the bytes 61 ff 62 (0xff is never valid UTF-8)",
             payload(hlc(T0, 4), [put(CASE, "", "", "status", b"a\xffb")]))

    followup("payload_utf8_surrogate", "malformed",
             "a put whose value is ed a0 80, an encoded UTF-16 surrogate (U+D800), which UTF-8 forbids",
             payload(hlc(T0, 4), [put(CASE, "", "", "status", b"\xed\xa0\x80")]))

    followup("payload_utf8_overlong", "malformed",
             "a put whose value is c0 af, an overlong encoding of \"/\"",
             payload(hlc(T0, 4), [put(CASE, "", "", "status", b"\xc0\xaf")]))

    followup("payload_name_too_long", "malformed",
             "an add whose collection name is 257 bytes (limit 256)",
             payload(hlc(T0, 5), [add(CASE, "c" * 257, "e1")]))

    followup("payload_version_2", "unsupported_version", "payload version 2",
             b"\x02" + payload(hlc(T0, 6), [add(CASE, "events", "e1")])[1:])

    followup("payload_truncated", "truncated", "a put cut inside its case id",
             payload(hlc(T0, 7), [put(CASE, "", "", "status", "x")])[:1 + 8 + 1 + 1 + 10])

    followup("payload_trailing_byte", "malformed", "one zero byte after the last mutation",
             payload(hlc(T0, 8), [add(CASE, "events", "e1")]) + b"\x00")


def build(regenerate: bool) -> dict:
    v = Vectors()
    m = gen_membership(v)
    entries = session_entries(regenerate)
    s = gen_sealed(v, entries)
    gen_derived(v, entries)
    gen_envelope(v, m["genesis"], m["genesis_body"], s["first"])
    gen_payload(v, s["first"], s["fid"])
    return v.files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    ap.add_argument("--regenerate", action="store_true", help="seal the content key afresh instead of keeping it")
    args = ap.parse_args()

    files = build(args.regenerate)
    return emit(OUT, files, args.check)


if __name__ == "__main__":
    sys.exit(main())
