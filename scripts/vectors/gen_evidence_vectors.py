#!/usr/bin/env python3
"""Generate the evidence chunk vectors in Protocol/vectors/evidence/ (Protocol/evidence.md).

Each file is one chunk object and what a reader that expects file `fid`, chunk `index` of
`count` in `project` must conclude from it under file key `key`:

    area:      chunk
    expect:    ok | malformed | unsupported_version | misplaced | authentication_failed
    comment:   free text: the defect
    project:   the project the reader expects (16 bytes)
    fid:       the file id it expects (16 bytes)
    index:     the chunk index it expects (decimal)
    count:     the chunk count the record gives (decimal)
    key:       the file key (32 bytes)
    chunk:     the stored chunk object
    plaintext: (ok only) what the chunk opens to

A reader decodes the chunk (malformed / unsupported_version when the bytes break the layout),
compares its header with what it expects (misplaced), then opens it with the key and the 41
header bytes as associated data (authentication_failed when that fails). Every defect but the decoder's
and `other_file` keeps the header the reader expects, so only the AEAD can catch it.

Deterministic: fixed keys and nonces. Usage: gen_evidence_vectors.py [--check]. Requires PyNaCl.
"""

from __future__ import annotations

import struct
from pathlib import Path

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as xseal

from vectorfiles import run

OUT = Path(__file__).resolve().parents[2] / "Protocol" / "vectors" / "evidence"

PROJECT = bytes(range(0x10, 0x20))
FID = bytes(range(0xA0, 0xB0))
OTHER_FID = bytes(range(0xB0, 0xC0))
KEY = bytes(range(0x40, 0x60))
WRONG_KEY = bytes(range(0x60, 0x80))
NONCE = bytes(range(0x80, 0x98))
PLAIN = b"evidence chunk plaintext: photo bytes would go here\n"


def header(project: bytes, fid: bytes, index: int, count: int, version: int = 1) -> bytes:
    return bytes([version]) + project + fid + struct.pack(">II", index, count)


def chunk(project: bytes, fid: bytes, index: int, count: int, key: bytes = KEY, plain: bytes = PLAIN,
          ad: bytes | None = None, version: int = 1, n: int | None = None) -> bytes:
    h = header(project, fid, index, count, version)
    ct = xseal(plain, h if ad is None else ad, NONCE, key)
    return h + NONCE + struct.pack(">I", len(ct) if n is None else n) + ct


def vector(expect: str, comment: str, data: bytes, index: int = 1, count: int = 3, fid: bytes = FID, with_plain: bool = False) -> str:
    lines = [
        "area: chunk", f"expect: {expect}", f"comment: {comment}", f"project: {PROJECT.hex()}", f"fid: {fid.hex()}",
        f"index: {index}", f"count: {count}", f"key: {KEY.hex()}", f"chunk: {data.hex()}",
    ]
    if with_plain:
        lines.append(f"plaintext: {PLAIN.hex()}")
    return "\n".join(lines) + "\n\n"


def generate() -> dict[str, str]:
    good = chunk(PROJECT, FID, 1, 3)
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    # The header says index 2, the ciphertext was sealed as index 1: a reordered chunk.
    swapped = header(PROJECT, FID, 2, 3) + good[41:]
    # The record was cut to 2 chunks (the last one dropped) and the header rewritten to match.
    truncated = header(PROJECT, FID, 1, 2) + good[41:]
    other = chunk(PROJECT, OTHER_FID, 1, 3)
    # Another file's chunk with its header rewritten to this file's id.
    relabelled = header(PROJECT, FID, 1, 3) + other[41:]
    last = chunk(PROJECT, FID, 2, 3, plain=b"x")
    return {
        "chunk_ok.txt": vector("ok", "chunk 1 of 3, opens to the plaintext", good, with_plain=True),
        "chunk_ok_last_one_byte.txt": vector("ok", "the last chunk may hold a single byte", last, index=2).replace(
            "\n\n", f"\nplaintext: {b'x'.hex()}\n\n"),
        "chunk_flipped_byte.txt": vector("authentication_failed", "one ciphertext bit flipped", bytes(flipped)),
        "chunk_swapped_index.txt": vector("authentication_failed", "chunk 1 relabelled as chunk 2 (reordered)", swapped, index=2),
        "chunk_truncated_count.txt": vector("authentication_failed", "count rewritten from 3 to 2 (file cut short)", truncated, count=2),
        "chunk_wrong_key.txt": vector("authentication_failed", "sealed under another file's key", chunk(PROJECT, FID, 1, 3, key=WRONG_KEY)),
        "chunk_other_file.txt": vector("misplaced", "a genuine chunk of another file, stored under this one", other),
        "chunk_other_file_relabelled.txt": vector("authentication_failed", "another file's chunk with this file's id written in", relabelled),
        "chunk_other_project.txt": vector("authentication_failed", "project rewritten", header(bytes(16), FID, 1, 3) + good[41:]).replace(
            f"project: {PROJECT.hex()}", f"project: {bytes(16).hex()}"),
        "chunk_trailing_byte.txt": vector("malformed", "one byte after the ciphertext", good + b"\x00"),
        "chunk_truncated.txt": vector("malformed", "ciphertext shorter than n says", good[:-1]),
        "chunk_count_zero.txt": vector("malformed", "count 0", header(PROJECT, FID, 0, 0) + good[41:], index=0, count=0),
        "chunk_index_past_count.txt": vector("malformed", "index 3 of count 3", header(PROJECT, FID, 3, 3) + good[41:], index=3),
        "chunk_n_too_large.txt": vector("malformed", "n over 1 MiB + 16, refused before reading on",
                                        good[:65] + struct.pack(">I", (1 << 20) + 17) + good[69:]),
        "chunk_version_2.txt": vector("unsupported_version", "unknown version byte", bytes([2]) + good[1:]),
    }


if __name__ == "__main__":
    run(OUT, generate)
