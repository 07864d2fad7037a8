#!/usr/bin/env python3
"""Generate the key file vectors in Protocol/vectors/keyfile/ (Protocol/keyfile.md).

One file per case, in the style of the other vector areas: `key: value` lines, byte strings
in lowercase hex. Keys:

    area:     keyfile
    expect:   ok | authentication_failed | malformed | duress
    comment:  free text
    passphrase, file                      what `KeyFile.open` is given
    signing_public_key, box_public_key,   (expect ok) what the opened identity holds
    storage_key, write_only, records_mode

`expect` is what `KeyFile.open` must do (classes from Protocol/README.md "Failure classes"):
`ok` opens and reproduces the outputs; `authentication_failed` throws
StoreError.wrongPassphrase (a wrong passphrase and a tampered file are one error);
`malformed` throws StoreError.corrupt; `duress` throws StoreError.duress. Files are built here
independently of the Swift code, with PyNaCl's Argon2id, XChaCha20-Poly1305 and BLAKE2b,
at libsodium's minimum Argon2id cost (opslimit 1, memlimit 8192) so the tests stay fast.
Everything is deterministic.

Usage:
    python3 scripts/vectors/gen_keyfile_vectors.py            # write files
    python3 scripts/vectors/gen_keyfile_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.bindings as b  # noqa: E402
import nacl.pwhash  # noqa: E402
import nacl.public  # noqa: E402
import nacl.signing  # noqa: E402
from vectorfiles import run  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "Protocol" / "vectors" / "keyfile"
OPS, MEM = 1, 8192
PASSPHRASE = "correct horse battery staple".encode()
DURESS = "duress passphrase".encode()


def det(label: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq keyfile vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def argon2id(passphrase: bytes, salt: bytes) -> bytes:
    return nacl.pwhash.argon2id.kdf(32, passphrase, salt, opslimit=OPS, memlimit=MEM)


def record(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


def build(label: str, payload: bytes, duress: bytes | None = None) -> bytes:
    salt, nonce, dsalt = det(label + "/salt", 16), det(label + "/nonce", 24), det(label + "/duress_salt", 16)
    if duress is None:
        verifier = det(label + "/duress_verifier", 32)
    else:
        verifier = hashlib.blake2b(b"sandyq-duress", digest_size=32, key=argon2id(duress, dsalt)).digest()
    header = b"SQKEY" + bytes([1, 1]) + struct.pack(">QQ", OPS, MEM) + salt + nonce + dsalt + verifier
    assert len(header) == 111
    ct = b.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header, nonce, argon2id(PASSPHRASE, salt))
    return header + ct


def keys(label: str) -> tuple[bytes, bytes, bytes]:
    return det(label + "/seed", 32), det(label + "/box", 32), det(label + "/storage", 32)


def keys_payload(label: str) -> bytes:
    seed, box, storage = keys(label)
    return record(1, seed) + record(2, box) + record(3, storage)


def vector(expect: str, comment: str, file: bytes, passphrase: bytes = PASSPHRASE,
           label: str | None = None, write_only: int = 0, records_mode: int = 1) -> str:
    lines = ["area: keyfile", f"expect: {expect}", f"comment: {comment}",
             f"passphrase: {passphrase.hex()}", f"file: {file.hex()}"]
    if expect == "ok":
        assert label is not None
        seed, box, storage = keys(label)
        lines += [f"signing_public_key: {bytes(nacl.signing.SigningKey(seed).verify_key).hex()}",
                  f"box_public_key: {bytes(nacl.public.PrivateKey(box).public_key).hex()}",
                  f"storage_key: {storage.hex()}", f"write_only: {write_only}", f"records_mode: {records_mode}"]
    return "\n".join(lines) + "\n\n"


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    rw = build("rw", keys_payload("rw") + record(4, b"\x00"))
    assert len(rw) == 232
    files["keyfile_read_write.txt"] = vector("ok", "tags 1-4, mode 00: the node reads its own ops; 232 bytes", rw, label="rw")
    wo = build("wo", keys_payload("wo") + record(4, b"\x01"))
    assert len(wo) == 232
    files["keyfile_write_only.txt"] = vector("ok", "tags 1-4, mode 01: write-only, same size as read-write", wo, label="wo", write_only=1)
    legacy = build("legacy", keys_payload("legacy"))
    assert len(legacy) == 229
    files["keyfile_legacy_no_mode.txt"] = vector(
        "ok", "tags 1-3 only (before tag 4): opens, records no mode; Node.open then migrates", legacy,
        label="legacy", records_mode=0)
    files["keyfile_unknown_tag_skipped.txt"] = vector(
        "ok", "an unknown tag 9 between known records is skipped", build("tag9", keys_payload("tag9") + record(9, b"abc") + record(4, b"\x01")),
        label="tag9", write_only=1)
    files["keyfile_mode_unknown.txt"] = vector(
        "malformed", "mode 02 is not defined: never guessed", build("m2", keys_payload("m2") + record(4, b"\x02")))
    files["keyfile_mode_two_bytes.txt"] = vector(
        "malformed", "tag 4 with a 2-byte value", build("m11", keys_payload("m11") + record(4, b"\x01\x01")))
    files["keyfile_missing_storage_key.txt"] = vector(
        "malformed", "tag 3 absent", build("no3", record(1, keys("no3")[0]) + record(2, keys("no3")[1]) + record(4, b"\x00")))
    files["keyfile_wrong_passphrase.txt"] = vector(
        "authentication_failed", "the write-only file above, another passphrase", wo, passphrase=b"correct horse battery stapler")
    flipped = bytearray(wo)
    flipped[111 + 2 + 32 + 2 + 32 + 2 + 32 + 2] ^= 0x01  # the ciphertext byte over the mode value
    files["keyfile_mode_flipped_in_place.txt"] = vector(
        "authentication_failed", "the mode byte's ciphertext flipped (01 -> 00 in the plaintext): the tag fails, as for a wrong passphrase",
        bytes(flipped))
    files["keyfile_duress.txt"] = vector(
        "duress", "the duress passphrase of this file", build("duress", keys_payload("duress") + record(4, b"\x01"), duress=DURESS),
        passphrase=DURESS)
    return files


if __name__ == "__main__":
    run(OUT, generate)
