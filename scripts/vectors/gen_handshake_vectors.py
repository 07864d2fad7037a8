#!/usr/bin/env python3
"""Generate the handshake and frame test vectors in Protocol/vectors/handshake/.

An independent implementation of Protocol/handshake.md (the three handshake messages, the
key schedule, the encrypted frames), written from the spec, so that the Swift tests
(Tests/SandyqSyncTests/HandshakeVectorTests.swift) check two readings of it against each
other.

Each vector is one file, as in Protocol/vectors/ops/: a header of `key: value` lines, one
blank line, and nothing after it. Byte strings are lowercase hex; an empty byte string is
`key:` with nothing after it; integers are decimal; a list of byte strings is comma-separated
hex. Keys, in this order:

  area handshake (message 1, checked through a real ServerHandshake):
    area, expect, comment
    network_key:               the project's network key (32 bytes)
    now_millis:                the server's clock when message1 arrives
    earlier_message1:          (optional) fed first to the same fresh replay cache; it must be answered
    message1:                  the first message as received
    (handshake_ok only, the full transcript with fixed keys:)
    client_identity_seed, client_identity, client_ephemeral_secret,
    server_identity_seed, server_identity, server_ephemeral_secret,
    dh, h1, k2, message2, h2, k3, message3, h3, c2s, s2c
    (handshake_v2_ok also: mask1 = H_nk("sandyq-hs1m" ‖ E_c); padding1, the random bytes the client
    drew (mask1[9] mod 128 of them); padding2, padding3, the zero-padding lengths inside messages 2
    and 3; c2s_len, s2c_len, the frame-length keys)

  area frame (a byte stream of frames, checked through FrameCipher and PeerSession.receive):
    area, expect, comment
    key:       the receiving direction's frame key (c2s or s2c of handshake_ok)
    length_key: (frame_v2_* only) the direction's length key (c2s_len of handshake_v2_ok): each
               u32 length is XORed with BLAKE2b-256_{length_key}("sandyq-len" ‖ u64 counter)[0:4]
    stream:    the bytes as they arrive on the socket, then the peer closes
    messages:  the plaintexts (type byte ‖ body) that must come out, in order, before `expect`
               applies

`expect` values:
  handshake: ok  truncated  unsupported_version  bad_network_key  stale  replayed
             authentication_failed        (Swift's SyncError handshake cases, snake_case)
  frame:     ok                     every frame opens; after `messages` the stream ends
             authentication_failed  the frame after `messages` does not open
             bad_length             its length prefix is outside 17 ... 4 MiB (refused before reading it)
             unknown_message        it opens, but its type byte is not 1...8
             truncated              the stream ends inside it

Everything is deterministic: fixed identity seeds, fixed ephemeral secrets, Ed25519 and
XChaCha20-Poly1305 are deterministic, frame nonces are counters.

Usage:
    python3 scripts/vectors/gen_handshake_vectors.py           # write files
    python3 scripts/vectors/gen_handshake_vectors.py --check   # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import emit  # noqa: E402

import nacl.bindings as b
import nacl.exceptions
import nacl.signing

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Protocol" / "vectors" / "handshake"

AREAS = ("handshake", "frame")
EXPECTS = {
    "handshake": ("ok", "truncated", "unsupported_version", "bad_network_key", "stale", "replayed",
                  "authentication_failed"),
    "frame": ("ok", "authentication_failed", "bad_length", "unknown_message", "truncated"),
}
KEYS = {
    "handshake": ("area", "expect", "comment", "network_key", "now_millis", "earlier_message1", "message1",
                  "client_identity_seed", "client_identity", "client_ephemeral_secret",
                  "server_identity_seed", "server_identity", "server_ephemeral_secret",
                  "mask1", "padding1", "dh", "h1", "k2", "padding2", "message2", "h2", "k3", "padding3", "message3", "h3",
                  "c2s", "s2c", "c2s_len", "s2c_len"),
    "frame": ("area", "expect", "comment", "key", "length_key", "stream", "messages"),
}
REQUIRED = {
    "handshake": ("area", "expect", "comment", "network_key", "now_millis", "message1"),
    "frame": ("area", "expect", "comment", "key", "stream", "messages"),
}

# ---------------------------------------------------------------- constants (Protocol/handshake.md)

VERSION = 1
KEY_LEN = 32
MAC_LEN = 32
TAG_LEN = b.crypto_aead_xchacha20poly1305_ietf_ABYTES          # 16
NONCE_LEN = b.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES     # 24
MSG1_LEN = 1 + 32 + 8 + MAC_LEN                                # 73
MSG2_LEN = 32 + 32 + 64 + TAG_LEN                              # 144
MSG3_LEN = 32 + 64 + TAG_LEN                                   # 112
MAX_SKEW = 10 * 60 * 1000
ZERO_NONCE = bytes(NONCE_LEN)
MAX_FRAME = 4 << 20
MIN_FRAME = TAG_LEN + 1
VECTOR, OPS, DONE, FINAL_VECTOR = 1, 2, 3, 4
# The chunk session's messages (handshake.md, "Chunk sessions"): want, chunk, chunks done, held.
CHUNK_MESSAGES = (5, 6, 7, 8)

assert (MSG1_LEN, MSG2_LEN, MSG3_LEN) == (73, 144, 112)
VERSION2 = 2
MAX_PAD = 127


# ---------------------------------------------------------------- helpers

def det(label: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq handshake vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


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


def blob(data: bytes) -> bytes:
    return varint(len(data)) + data


def h(data: bytes) -> bytes:
    """BLAKE2b-256, unkeyed."""
    return hashlib.blake2b(data, digest_size=32).digest()


def hk(key: bytes, data: bytes) -> bytes:
    """BLAKE2b-256 keyed by the network key."""
    return hashlib.blake2b(data, digest_size=32, key=key).digest()


def x25519(secret: bytes, public: bytes) -> bytes:
    """Raises on a low-order public key (libsodium refuses an all-zero shared secret)."""
    return b.crypto_scalarmult(secret, public)


def aead(key: bytes, nonce: bytes, ad: bytes, m: bytes) -> bytes:
    return b.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, nonce, key)


def aead_open(key: bytes, nonce: bytes, ad: bytes, c: bytes) -> bytes:
    return b.crypto_aead_xchacha20poly1305_ietf_decrypt(c, ad, nonce, key)


# ---------------------------------------------------------------- the handshake (writer side)

def mac(nk: bytes, body: bytes) -> bytes:
    return hk(nk, b"sandyq-hs1" + body)


def kdf(nk: bytes, dh: bytes, transcript: bytes, label: bytes) -> bytes:
    return hk(nk, dh + transcript + label)


def message1(nk: bytes, ec_pk: bytes, time: int, version: int = VERSION) -> bytes:
    body = bytes([version]) + ec_pk + u64(time)
    return body + mac(nk, body)


def mask1(nk: bytes, ec_pk: bytes) -> bytes:
    return hk(nk, b"sandyq-hs1m" + ec_pk)


def pad_len(nk: bytes, dh: bytes, transcript: bytes, label: bytes) -> int:
    return kdf(nk, dh, transcript, label)[0] & 0x7F


def message1_v2(nk: bytes, ec_pk: bytes, time: int, padding: bytes, version: int = VERSION2) -> bytes:
    """E_c ‖ (time ‖ version) XOR mask[0:9] ‖ MAC(version ‖ E_c ‖ time) ‖ mask[9] mod 128 padding bytes."""
    m = mask1(nk, ec_pk)
    clear = u64(time) + bytes([version])
    p1 = m[9] & 0x7F
    assert len(padding) >= p1
    return ec_pk + bytes(a ^ b for a, b in zip(clear, m)) + mac(nk, bytes([version]) + ec_pk + u64(time)) + padding[:p1]


class Party:
    def __init__(self, label: str):
        self.seed = det(f"{label}/identity seed", 32)
        self.signing = nacl.signing.SigningKey(self.seed)
        self.pk = bytes(self.signing.verify_key)
        self.eph_sk = det(f"{label}/ephemeral secret", 32)
        self.eph_pk = b.crypto_scalarmult_base(self.eph_sk)

    def sign(self, m: bytes) -> bytes:
        return self.signing.sign(m).signature


def transcript(nk: bytes, client: Party, server: Party, time: int, version: int = VERSION, padding: bytes = b"") -> dict:
    m1 = message1(nk, client.eph_pk, time) if version == VERSION else message1_v2(nk, client.eph_pk, time, padding)
    h1 = h(m1)
    dh = x25519(server.eph_sk, client.eph_pk)
    assert dh == x25519(client.eph_sk, server.eph_pk)
    k2 = kdf(nk, dh, h1, b"k2")
    p2 = pad_len(nk, dh, h1, b"p2") if version == VERSION2 else 0
    m2 = server.eph_pk + aead(k2, ZERO_NONCE, h1, server.pk + server.sign(b"sandyq-hs2" + h1 + server.eph_pk) + bytes(p2))
    h2 = h(h1 + m2)
    k3 = kdf(nk, dh, h2, b"k3")
    p3 = pad_len(nk, dh, h2, b"p3") if version == VERSION2 else 0
    m3 = aead(k3, ZERO_NONCE, h2, client.pk + client.sign(b"sandyq-hs3" + h2) + bytes(p3))
    h3 = h(h2 + m3)
    t = dict(message1=m1, dh=dh, h1=h1, k2=k2, message2=m2, h2=h2, k3=k3, message3=m3, h3=h3,
             c2s=kdf(nk, dh, h3, b"c2s"), s2c=kdf(nk, dh, h3, b"s2c"))
    if version == VERSION2:
        t.update(mask1=mask1(nk, client.eph_pk), padding1=m1[MSG1_LEN:], padding2=p2, padding3=p3,
                 c2s_len=kdf(nk, dh, h3, b"c2s-len"), s2c_len=kdf(nk, dh, h3, b"s2c-len"))
    return t


# ---------------------------------------------------------------- the checking side

class Refused(Exception):
    def __init__(self, cls: str):
        super().__init__(cls)
        self.cls = cls


def read1(nk: bytes, m: bytes) -> tuple[int, bytes, int, int]:
    """Which version the first 73 bytes verify as: (version, E_c, time, whole length), or Refused."""
    if len(m) < MSG1_LEN:
        raise Refused("truncated")
    tag = m[41:73]
    if m[0] == VERSION and hmac.compare_digest(mac(nk, m[:41]), tag):
        return VERSION, m[1:33], struct.unpack(">Q", m[33:41])[0], MSG1_LEN
    ec, mk = m[:32], mask1(nk, m[:32])
    clear = bytes(a ^ b for a, b in zip(m[32:41], mk))
    if hmac.compare_digest(mac(nk, clear[8:9] + ec + clear[:8]), tag):
        if clear[8] != VERSION2:
            raise Refused("unsupported_version")
        return VERSION2, ec, struct.unpack(">Q", clear[:8])[0], MSG1_LEN + (mk[9] & 0x7F)
    if hmac.compare_digest(mac(nk, m[:41]), tag):      # version 1's layout, another version byte
        raise Refused("unsupported_version")
    raise Refused("bad_network_key")


def receive1(nk: bytes, m: bytes, now: int, seen: set) -> tuple[bytes, bytes]:
    """The server's checks on message 1, in order; returns (h1, dh with the server's ephemeral)."""
    _, ec, t, length = read1(nk, m)
    if len(m) != length:
        raise Refused("truncated")
    if abs(t - now) > MAX_SKEW:
        raise Refused("stale")
    if ec in seen:
        raise Refused("replayed")
    seen.add(ec)
    try:
        dh = x25519(SERVER.eph_sk, ec)
    except nacl.exceptions.RuntimeError:
        raise Refused("authentication_failed") from None
    return h(m), dh


def receive2(nk: bytes, client: Party, h1: bytes, m2: bytes, version: int = VERSION) -> bytes:
    """The client's checks on message 2; returns the server's identity key."""
    es = m2[:32]
    dh = x25519(client.eph_sk, es)
    p2 = pad_len(nk, dh, h1, b"p2") if version == VERSION2 else 0
    assert len(m2) == MSG2_LEN + p2
    p = aead_open(kdf(nk, dh, h1, b"k2"), ZERO_NONCE, h1, m2[32:])
    assert p[96:] == bytes(p2)
    server_pk, sig = p[:32], p[32:96]
    nacl.signing.VerifyKey(server_pk).verify(b"sandyq-hs2" + h1 + es, sig)
    return server_pk


def receive3(nk: bytes, dh: bytes, h2: bytes, m3: bytes, version: int = VERSION) -> bytes:
    p3 = pad_len(nk, dh, h2, b"p3") if version == VERSION2 else 0
    assert len(m3) == MSG3_LEN + p3
    p = aead_open(kdf(nk, dh, h2, b"k3"), ZERO_NONCE, h2, m3)
    assert p[96:] == bytes(p3)
    client_pk, sig = p[:32], p[32:96]
    nacl.signing.VerifyKey(client_pk).verify(b"sandyq-hs3" + h2, sig)
    return client_pk


def classify_handshake(f: dict) -> str:
    seen: set = set()
    try:
        if "earlier_message1" in f:
            receive1(f["network_key"], f["earlier_message1"], f["now_millis"], seen)   # must be answered
        h1, dh = receive1(f["network_key"], f["message1"], f["now_millis"], seen)
    except Refused as e:
        return e.cls
    if "message2" in f:      # the full transcript: both sides must come out with the stated keys
        version = VERSION2 if "mask1" in f else VERSION
        assert h1 == f["h1"] and dh == f["dh"]
        assert receive2(f["network_key"], CLIENT, h1, f["message2"], version) == f["server_identity"]
        h2 = h(h1 + f["message2"])
        assert h2 == f["h2"]
        assert receive3(f["network_key"], dh, h2, f["message3"], version) == f["client_identity"]
        h3 = h(h2 + f["message3"])
        assert h3 == f["h3"]
        assert kdf(f["network_key"], dh, h3, b"c2s") == f["c2s"] and kdf(f["network_key"], dh, h3, b"s2c") == f["s2c"]
        if version == VERSION2:
            assert kdf(f["network_key"], dh, h3, b"c2s-len") == f["c2s_len"]
            assert kdf(f["network_key"], dh, h3, b"s2c-len") == f["s2c_len"]
    return "ok"


# ---------------------------------------------------------------- frames

def frame_nonce(counter: int) -> bytes:
    return bytes(16) + u64(counter)


def length_mask(length_key: bytes | None, counter: int) -> bytes:
    """Version 2: the 4 bytes XORed over frame `counter`'s length; version 1: none."""
    if length_key is None:
        return bytes(4)
    return hashlib.blake2b(b"sandyq-len" + u64(counter), digest_size=32, key=length_key).digest()[:4]


def seal_frames(key: bytes, plaintexts: list[bytes], start: int = 0, length_key: bytes | None = None) -> list[bytes]:
    """u32 ciphertext length (XOR the length mask) ‖ AEAD(key, 16 zero bytes ‖ u64 counter, no AD, plaintext)."""
    out = []
    for i, p in enumerate(plaintexts):
        c = aead(key, frame_nonce(start + i), b"", p)
        out.append(bytes(a ^ b for a, b in zip(u32(len(c)), length_mask(length_key, start + i))) + c)
    return out


def classify_frames(f: dict) -> tuple[str, list[bytes]]:
    """Reads the stream as PeerSession.receive does; returns (class, plaintexts before it)."""
    data, off, counter, got = f["stream"], 0, 0, []
    while True:
        if off == len(data):
            return "ok", got
        if len(data) - off < 4:
            return "truncated", got
        mask = length_mask(f.get("length_key"), counter)
        n = struct.unpack(">I", bytes(a ^ b for a, b in zip(data[off:off + 4], mask)))[0]
        if not MIN_FRAME <= n <= MAX_FRAME:
            return "bad_length", got
        if len(data) - off - 4 < n:
            return "truncated", got
        c = data[off + 4:off + 4 + n]
        off += 4 + n
        try:
            p = aead_open(f["key"], frame_nonce(counter), b"", c)
        except nacl.exceptions.CryptoError:
            return "authentication_failed", got
        finally:
            counter += 1          # the nonce advances whether or not the frame opens
        if p[0] not in (VECTOR, OPS, DONE, FINAL_VECTOR, *CHUNK_MESSAGES):
            return "unknown_message", got
        got.append(p)


# ---------------------------------------------------------------- rendering

def render(name: str, fields: dict) -> str:
    area = fields["area"]
    assert area in AREAS and fields["expect"] in EXPECTS[area], name
    assert list(fields) == [k for k in KEYS[area] if k in fields], (name, list(fields))
    assert all(k in fields for k in REQUIRED[area]), name
    assert name.startswith(area + "_") and name.endswith(".txt"), name
    assert fields["comment"] and "\n" not in fields["comment"], name
    lines = []
    for k, v in fields.items():
        if isinstance(v, bytes):
            v = v.hex()
        elif isinstance(v, list):
            v = ",".join(x.hex() for x in v)
        else:
            v = str(v)
        lines.append(f"{k}: {v}" if v else f"{k}:")
    return "\n".join(lines) + "\n\n"


class Vectors:
    def __init__(self):
        self.files: dict[str, str] = {}

    def add(self, name: str, fields: dict) -> None:
        area = fields["area"]
        if area == "handshake":
            got = classify_handshake(fields)
        else:
            got, plain = classify_frames(fields)
            assert plain == fields["messages"], f"{name}: messages before the outcome differ"
        assert got == fields["expect"], f"{name}: built as {fields['expect']}, reads as {got}"
        file = f"{name}.txt"
        assert file not in self.files, file
        self.files[file] = render(file, fields)


# ---------------------------------------------------------------- the vectors

CLIENT = Party("client")
SERVER = Party("server")
NK = det("network key", 32)
OTHER_NK = det("another project's network key", 32)
T0 = 1_767_225_600_000          # 2026-01-01T00:00:00Z, the client's clock
NOW = T0 + 1_234                # the server's clock: 1.234 s ahead


def hs(v: Vectors, name: str, expect: str, comment: str, m1: bytes, now: int = NOW, earlier: bytes | None = None) -> None:
    f = dict(area="handshake", expect=expect, comment=comment, network_key=NK, now_millis=now)
    if earlier is not None:
        f["earlier_message1"] = earlier
    f["message1"] = m1
    v.add(name, f)


def gen_handshake(v: Vectors) -> dict:
    t = transcript(NK, CLIENT, SERVER, T0)
    m1 = t["message1"]
    v.add("handshake_ok", dict(
        area="handshake", expect="ok",
        comment="a complete handshake with fixed identity and ephemeral keys; the server's clock is 1.234 s ahead",
        network_key=NK, now_millis=NOW, message1=m1,
        client_identity_seed=CLIENT.seed, client_identity=CLIENT.pk, client_ephemeral_secret=CLIENT.eph_sk,
        server_identity_seed=SERVER.seed, server_identity=SERVER.pk, server_ephemeral_secret=SERVER.eph_sk,
        dh=t["dh"], h1=t["h1"], k2=t["k2"], message2=t["message2"], h2=t["h2"], k3=t["k3"],
        message3=t["message3"], h3=t["h3"], c2s=t["c2s"], s2c=t["s2c"]))

    hs(v, "handshake_wrong_network_key", "bad_network_key",
       "message 1 MACed with another project's network key: a stranger (or another project's member) gets no answer",
       message1(OTHER_NK, CLIENT.eph_pk, T0))
    hs(v, "handshake_flipped_mac_bit", "bad_network_key",
       "handshake_ok's message 1 with bit 0 of the last MAC byte flipped", flip(m1, 72))
    hs(v, "handshake_flipped_time_bit", "bad_network_key",
       "handshake_ok's message 1 with bit 0 of the last clock byte flipped, not re-MACed: "
       "an observer cannot refresh a captured message's clock to replay it later", flip(m1, 40))
    hs(v, "handshake_flipped_ephemeral_bit", "bad_network_key",
       "handshake_ok's message 1 with bit 0 of the client ephemeral key's first byte flipped, not re-MACed",
       flip(m1, 1))
    hs(v, "handshake_version_2", "unsupported_version",
       "version byte 2, MACed with the right network key: the version is checked first",
       message1(NK, CLIENT.eph_pk, T0, version=2))
    hs(v, "handshake_version_0", "bad_network_key",
       "version byte 0 and a MAC that does not verify: it verifies neither as version 1 nor as version 2, "
       "whose version byte is masked (a version-1 server said unsupported_version)",
       bytes([0]) + m1[1:])
    hs(v, "handshake_truncated", "truncated", "handshake_ok's message 1 without its last byte (72 bytes)", m1[:-1])
    hs(v, "handshake_trailing_byte", "truncated",
       "handshake_ok's message 1 with one zero byte appended (74 bytes): any length but 73 is refused", m1 + b"\x00")
    hs(v, "handshake_empty", "truncated", "zero bytes", b"")

    def at(time: int) -> bytes:
        # A fresh ephemeral per clock value, so each vector stands alone.
        sk = det(f"client/ephemeral at {time}", 32)
        return message1(NK, b.crypto_scalarmult_base(sk), time)

    hs(v, "handshake_stale_past", "stale",
       "a correctly MACed message 1 whose clock is 10 min + 1 ms behind the server's: "
       "an old captured message is not answered", at(NOW - MAX_SKEW - 1))
    hs(v, "handshake_stale_future", "stale",
       "a correctly MACed message 1 whose clock is 10 min + 1 ms ahead of the server's", at(NOW + MAX_SKEW + 1))
    hs(v, "handshake_skew_limit_past", "ok",
       "a message 1 exactly 10 min behind the server's clock: the window is inclusive", at(NOW - MAX_SKEW))
    hs(v, "handshake_skew_limit_future", "ok",
       "a message 1 exactly 10 min ahead of the server's clock", at(NOW + MAX_SKEW))
    hs(v, "handshake_replayed", "replayed",
       "handshake_ok's message 1 received twice by one server (one replay cache): the copy gets no answer",
       m1, earlier=m1)
    hs(v, "handshake_replayed_new_clock", "replayed",
       "a message 1 with handshake_ok's client ephemeral key but a clock 1 s later, correctly MACed, after "
       "handshake_ok's: the cache remembers ephemeral keys, not whole messages",
       message1(NK, CLIENT.eph_pk, T0 + 1000), earlier=m1)
    hs(v, "handshake_low_order_ephemeral", "authentication_failed",
       "a correctly MACed message 1 whose client ephemeral key is 32 zero bytes (a low-order point): "
       "X25519 gives the all-zero secret, which is refused", message1(NK, bytes(32), T0))
    return t


PAD1 = det("client/padding1", MAX_PAD)


def gen_handshake_v2(v: Vectors) -> dict:
    t = transcript(NK, CLIENT, SERVER, T0, version=VERSION2, padding=PAD1)
    m1 = t["message1"]
    assert len(m1) == MSG1_LEN + (t["mask1"][9] & 0x7F) and len(m1) > MSG1_LEN
    v.add("handshake_v2_ok", dict(
        area="handshake", expect="ok",
        comment="a complete version-2 handshake with the keys of handshake_ok; padding1 is what the client drew "
                "(its length is mask1[9] mod 128), padding2 and padding3 are the lengths of the zero padding",
        network_key=NK, now_millis=NOW, message1=m1,
        client_identity_seed=CLIENT.seed, client_identity=CLIENT.pk, client_ephemeral_secret=CLIENT.eph_sk,
        server_identity_seed=SERVER.seed, server_identity=SERVER.pk, server_ephemeral_secret=SERVER.eph_sk,
        mask1=t["mask1"], padding1=t["padding1"], dh=t["dh"], h1=t["h1"], k2=t["k2"], padding2=t["padding2"],
        message2=t["message2"], h2=t["h2"], k3=t["k3"], padding3=t["padding3"], message3=t["message3"], h3=t["h3"],
        c2s=t["c2s"], s2c=t["s2c"], c2s_len=t["c2s_len"], s2c_len=t["s2c_len"]))
    hs(v, "handshake_v2_wrong_network_key", "bad_network_key",
       "a version-2 message 1 made with another project's network key: it verifies no way, and gets no answer",
       message1_v2(OTHER_NK, CLIENT.eph_pk, T0, PAD1))
    hs(v, "handshake_v2_flipped_masked_time_bit", "bad_network_key",
       "handshake_v2_ok's message 1 with bit 0 of byte 39 (the last masked clock byte) flipped: "
       "the clock unmasks one off and the MAC fails", flip(m1, 39))
    hs(v, "handshake_v2_flipped_version_bit", "bad_network_key",
       "handshake_v2_ok's message 1 with bit 0 of byte 40 (the masked version) flipped: the MAC covers the version",
       flip(m1, 40))
    hs(v, "handshake_v2_flipped_mac_bit", "bad_network_key",
       "handshake_v2_ok's message 1 with bit 0 of its last MAC byte (byte 72) flipped", flip(m1, 72))
    hs(v, "handshake_v2_padding_truncated", "truncated",
       "handshake_v2_ok's message 1 without its last padding byte: its MAC verifies, its length does not",
       m1[:-1])
    hs(v, "handshake_v2_padding_extra", "truncated",
       "handshake_v2_ok's message 1 with one more padding byte than mask1[9] mod 128 says", m1 + b"\x00")
    hs(v, "handshake_v2_no_padding", "truncated",
       "handshake_v2_ok's first 73 bytes only: a server that ignored the padding length would answer it",
       m1[:MSG1_LEN])
    hs(v, "handshake_v2_version_3", "unsupported_version",
       "version byte 3 in version 2's layout, masked and MACed with the right network key",
       message1_v2(NK, CLIENT.eph_pk, T0, PAD1, version=3))
    sk = det("client/ephemeral at stale v2", 32)
    hs(v, "handshake_v2_stale", "stale",
       "a correctly made version-2 message 1 whose clock is 10 min + 1 ms behind the server's: the masked clock is checked",
       message1_v2(NK, b.crypto_scalarmult_base(sk), NOW - MAX_SKEW - 1, PAD1))
    hs(v, "handshake_v2_replayed_after_v1", "replayed",
       "a version-2 message 1 with handshake_ok's client ephemeral key, after handshake_ok's version-1 message 1: "
       "one replay cache for both versions", message1_v2(NK, CLIENT.eph_pk, T0 + 1000, PAD1), earlier=message1(NK, CLIENT.eph_pk, T0))
    hs(v, "handshake_v2_replayed_padding_changed", "replayed",
       "handshake_v2_ok's message 1 again with its padding bytes changed (they are not MACed): the cache holds E_c",
       m1[:MSG1_LEN] + bytes(len(m1) - MSG1_LEN), earlier=m1)
    return t


# Exchange messages, for the frame vectors: small but real.
def vector_msg(heads: list[tuple[bytes, int]]) -> bytes:
    return bytes([VECTOR]) + varint(len(heads)) + b"".join(a + varint(s) for a, s in sorted(heads))


def envelope_genesis(author: nacl.signing.SigningKey, box_pk: bytes, nonce: bytes) -> bytes:
    sign_pk = bytes(author.verify_key)
    project = hashlib.blake2b(sign_pk + box_pk + nonce, digest_size=16).digest()
    body = bytes([1, 1]) + sign_pk + box_pk + nonce
    signed = bytes([1, 2]) + project + sign_pk + u64(1) + bytes(32) + u32(len(body)) + body
    return signed + author.sign(signed).signature


def gen_frames(v: Vectors, t: dict) -> None:
    c2s, s2c = t["c2s"], t["s2c"]
    genesis = envelope_genesis(CLIENT.signing, b.crypto_scalarmult_base(det("client/box secret", 32)),
                               det("genesis nonce", 16))
    client_msgs = [
        vector_msg([(CLIENT.pk, 1)]),
        bytes([OPS]) + varint(1) + blob(genesis),
        bytes([DONE]) + varint(1),
        vector_msg([(CLIENT.pk, 1), (SERVER.pk, 3)]),
    ]
    server_msgs = [
        vector_msg([(SERVER.pk, 3)]),
        bytes([DONE]) + varint(0),
        vector_msg([(CLIENT.pk, 1), (SERVER.pk, 3)]),
    ]
    cf = seal_frames(c2s, client_msgs)
    sf = seal_frames(s2c, server_msgs)

    def fr(name: str, expect: str, comment: str, key: bytes, stream: bytes, messages: list[bytes]) -> None:
        v.add(name, dict(area="frame", expect=expect, comment=comment, key=key, stream=stream, messages=messages))

    fr("frame_ok_client_to_server", "ok",
       "handshake_ok's client sends vector, one op batch (a genesis envelope), done, final vector; "
       "read with c2s", c2s, b"".join(cf), client_msgs)
    fr("frame_ok_server_to_client", "ok",
       "handshake_ok's server sends vector, done (no ops), final vector; read with s2c", s2c, b"".join(sf), server_msgs)
    fr("frame_reordered", "authentication_failed",
       "frame_ok_client_to_server with frames 0 and 1 swapped: the counter nonce fixes each frame's place",
       c2s, cf[1] + cf[0] + cf[2] + cf[3], [])
    fr("frame_replayed", "authentication_failed",
       "frame_ok_client_to_server with frame 0 sent again in place of frame 1", c2s, cf[0] + cf[0] + cf[2], client_msgs[:1])
    fr("frame_dropped", "authentication_failed",
       "frame_ok_client_to_server without frame 1 (the op batch): a dropped frame is noticed", c2s,
       cf[0] + cf[2] + cf[3], client_msgs[:1])
    fr("frame_flipped_ciphertext_bit", "authentication_failed",
       "frame_ok_client_to_server with bit 0 of frame 1's first ciphertext byte flipped", c2s,
       cf[0] + flip(cf[1], 4) + cf[2] + cf[3], client_msgs[:1])
    fr("frame_flipped_tag_bit", "authentication_failed",
       "frame_ok_client_to_server with bit 7 of frame 2's last tag byte flipped", c2s,
       cf[0] + cf[1] + flip(cf[2], len(cf[2]) - 1, 7) + cf[3], client_msgs[:2])
    short = cf[1][4:-1]
    fr("frame_truncated_ciphertext", "authentication_failed",
       "frame_ok_client_to_server whose frame 1 lost its last byte, with the length prefix lowered to match",
       c2s, cf[0] + u32(len(short)) + short + cf[2], client_msgs[:1])
    fr("frame_stream_truncated", "truncated",
       "frame_ok_client_to_server cut 10 bytes into frame 1's ciphertext: the peer closed mid-frame",
       c2s, cf[0] + cf[1][:14], client_msgs[:1])
    fr("frame_wrong_direction", "authentication_failed",
       "the client's frames read with s2c: each direction has its own key", s2c, b"".join(cf), [])
    fr("frame_other_session", "authentication_failed",
       "the client's frames read with k3 of handshake_ok (a key of the same handshake, not a frame key)",
       t["k3"], b"".join(cf), [])
    empty = seal_frames(c2s, [b""], start=1)[0]
    assert len(empty) == 4 + 16
    fr("frame_length_16", "bad_length",
       "frame 1 is an empty plaintext sealed at counter 1 (16 bytes): a frame carries at least its type byte",
       c2s, cf[0] + empty, client_msgs[:1])
    fr("frame_length_over_4mib", "bad_length",
       "frame 1's length prefix is 4 MiB + 1 (and 16 bytes follow): refused on the prefix, before any "
       "buffer is reserved", c2s, cf[0] + u32(MAX_FRAME + 1) + bytes(16), client_msgs[:1])
    fr("frame_length_max_u32", "bad_length",
       "frame 0's length prefix is 2^32 - 1", c2s, u32(0xFFFFFFFF) + bytes(16), [])
    unknown = seal_frames(c2s, [bytes([9]) + varint(0)], start=1)[0]
    fr("frame_unknown_message_9", "unknown_message",
       "frame 1 opens and carries message type 9 (only 1 vector, 2 ops, 3 done, 4 final vector, and the chunk "
       "session's 5 want, 6 chunk, 7 chunks done, 8 held exist)",
       c2s, cf[0] + unknown, client_msgs[:1])
    zero = seal_frames(c2s, [bytes([0])], start=0)[0]
    fr("frame_unknown_message_0", "unknown_message", "frame 0 opens and carries message type 0", c2s, zero, [])


def gen_frames_v2(v: Vectors, t: dict) -> None:
    c2s, lk = t["c2s"], t["c2s_len"]
    msgs = [vector_msg([(CLIENT.pk, 1)]), bytes([DONE]) + varint(0), vector_msg([(CLIENT.pk, 1), (SERVER.pk, 3)])]
    cf = seal_frames(c2s, msgs, length_key=lk)
    clear = seal_frames(c2s, msgs)
    assert all(a[4:] == b_[4:] and a[:4] != b_[:4] for a, b_ in zip(cf, clear))

    def fr(name: str, expect: str, comment: str, stream: bytes, messages: list[bytes], key: bytes = c2s,
           length_key: bytes = lk) -> None:
        v.add(name, dict(area="frame", expect=expect, comment=comment, key=key, length_key=length_key,
                         stream=stream, messages=messages))

    fr("frame_v2_ok", "ok",
       "handshake_v2_ok's client sends vector, done, final vector; each length is XORed with "
       "BLAKE2b-256 keyed by c2s_len of (\"sandyq-len\" ‖ u64 counter), first 4 bytes", b"".join(cf), msgs)
    fr("frame_v2_clear_length", "bad_length",
       "frame_v2_ok's frames with their lengths in clear (version 1's framing): unmasked, frame 0's length is out of range",
       b"".join(clear), [])
    fr("frame_v2_length_mask_of_frame_0_reused", "bad_length",
       "frame 1's length masked with frame 0's mask: each frame has its own mask", cf[0] + bytes(
           a ^ b_ for a, b_ in zip(u32(len(cf[1]) - 4), length_mask(lk, 0))) + cf[1][4:], msgs[:1])
    fr("frame_v2_flipped_length_bit", "authentication_failed",
       "frame_v2_ok with bit 0 of frame 1's last length byte flipped: the length is one off, and the frame does not open",
       cf[0] + flip(cf[1], 3) + cf[2], msgs[:1])


def build() -> dict:
    v = Vectors()
    t = gen_handshake(v)
    gen_frames(v, t)
    gen_frames_v2(v, gen_handshake_v2(v))
    return v.files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args()
    files = build()
    return emit(OUT, files, args.check)


if __name__ == "__main__":
    sys.exit(main())
