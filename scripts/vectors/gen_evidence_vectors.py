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

Holding statements (Protocol/evidence.md, "Holding statements") are `held_*.txt`:

    area:      held
    expect:    ok | malformed | unsupported_version | bad_signature
    comment:   free text: the defect
    statement: the statement's bytes
    holder:    (ok only) the holder's Ed25519 public key
    created:   (ok only) its clock, Unix ms
    files:     (ok only) `fid:count:verified` for each file, comma-separated, in order

A chunk session's `want` body (Protocol/handshake.md, "Chunk sessions") is `want_*.txt`:

    area:      want
    expect:    ok | malformed
    comment:   free text
    body:      the body's bytes
    everything: (ok only) 0 or 1
    files:     (ok only) `fid:count:i.j.k` per file (indexes dot-separated, empty for none), comma-separated

An export's manifest (Protocol/evidence.md, "Export and its manifest") is `manifest_*.txt`: the
files of one export directory and what a checker must say of it:

    area:      manifest
    expect:    ok | bad_signature | file_mismatch | missing | bad_path
    comment:   free text
    manifest:  manifest.json's bytes
    sig:       manifest.sig's bytes
    file.NAME: each other file's bytes

Deterministic: fixed keys and nonces. Usage: gen_evidence_vectors.py [--check]. Requires PyNaCl.
"""

from __future__ import annotations

import hashlib
import json
import struct
from hashlib import blake2b
from pathlib import Path

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as xseal
from nacl.bindings import crypto_sign, crypto_sign_seed_keypair

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


HOLDER_PK, HOLDER_SK = crypto_sign_seed_keypair(bytes(range(0x20, 0x40)))
OTHER_PK, OTHER_SK = crypto_sign_seed_keypair(bytes(range(0x30, 0x50)))
CONTEXT = b"sandyq-evidence-held"
CREATED = 1_764_000_000_000
FILES = [(FID, 3, 1), (OTHER_FID, 1, 0)]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def held_fields(files, version: int = 1, holder: bytes = HOLDER_PK, k: int | None = None) -> bytes:
    body = bytes([version]) + PROJECT + holder + struct.pack(">Q", CREATED) + varint(len(files) if k is None else k)
    for fid, count, flags in files:
        body += fid + struct.pack(">IB", count, flags)
    return body


def signed(fields: bytes, sk: bytes = HOLDER_SK, context: bytes = CONTEXT) -> bytes:
    return fields + crypto_sign(context + fields, sk)[:64]


def held_vector(expect: str, comment: str, data: bytes, files=None) -> str:
    lines = ["area: held", f"expect: {expect}", f"comment: {comment}", f"statement: {data.hex()}"]
    if files is not None:
        lines += [f"holder: {HOLDER_PK.hex()}", f"created: {CREATED}",
                  "files: " + ",".join(f"{fid.hex()}:{count}:{flags}" for fid, count, flags in files)]
    return "\n".join(lines) + "\n\n"


def held_vectors() -> dict[str, str]:
    ok = signed(held_fields(FILES))
    flipped = bytearray(ok)
    flipped[60] ^= 0x01
    return {
        "held_ok.txt": held_vector("ok", "two files, the first checked (flag 1)", ok, FILES),
        "held_ok_empty.txt": held_vector("ok", "no files", signed(held_fields([])), []),
        "held_flipped_byte.txt": held_vector("bad_signature", "the clock changed after signing", bytes(flipped)),
        "held_other_signer.txt": held_vector("bad_signature", "names the holder, signed by another key",
                                             signed(held_fields(FILES), sk=OTHER_SK)),
        "held_no_context.txt": held_vector("bad_signature", "signed without the context string",
                                           signed(held_fields(FILES), context=b"")),
        "held_out_of_order.txt": held_vector("malformed", "file ids not ascending", signed(held_fields(list(reversed(FILES))))),
        "held_repeated.txt": held_vector("malformed", "one file id twice", signed(held_fields([FILES[0], FILES[0]]))),
        "held_count_zero.txt": held_vector("malformed", "a file of 0 chunks", signed(held_fields([(FID, 0, 1)]))),
        "held_unknown_flag.txt": held_vector("malformed", "flag bit 1 set", signed(held_fields([(FID, 3, 2)]))),
        "held_trailing_byte.txt": held_vector("malformed", "one byte after the signature", ok + b"\x00"),
        "held_truncated.txt": held_vector("malformed", "the signature cut short", ok[:-1]),
        "held_too_many.txt": held_vector("malformed", "declares 65,537 files: refused before reading them",
                                         held_fields([], k=65_537) + bytes(64)),
        "held_version_2.txt": held_vector("unsupported_version", "unknown version byte", bytes([2]) + ok[1:]),
    }


def want_body(files, flags: int = 0, k: int | None = None) -> bytes:
    out = bytes([flags]) + varint(len(files) if k is None else k)
    for fid, count, missing in files:
        out += fid + struct.pack(">I", count) + varint(len(missing)) + b"".join(varint(i) for i in missing)
    return out


def want_vector(expect: str, comment: str, body: bytes, files=None, everything: int = 0) -> str:
    lines = ["area: want", f"expect: {expect}", f"comment: {comment}", f"body: {body.hex()}"]
    if files is not None:
        lines += [f"everything: {everything}",
                  "files: " + ",".join(f"{fid.hex()}:{count}:{'.'.join(str(i) for i in missing)}" for fid, count, missing in files)]
    return "\n".join(lines) + "\n\n"


def want_vectors() -> dict[str, str]:
    two = [(FID, 300, [0, 2, 200]), (OTHER_FID, 1, [])]
    return {
        "want_ok.txt": want_vector("ok", "chunks 0, 2 and 200 of a 300-chunk file (200 takes a two-byte varint); a file held whole",
                                   want_body(two), two),
        "want_ok_everything.txt": want_vector("ok", "a relay: everything else too, and one file it holds whole",
                                              want_body(two[1:], flags=1), two[1:], everything=1),
        "want_ok_empty.txt": want_vector("ok", "a reporter asks for nothing", want_body([]), []),
        "want_unknown_flag.txt": want_vector("malformed", "flag bit 1", want_body([], flags=2)),
        "want_index_past_count.txt": want_vector("malformed", "index 1 of a 1-chunk file", want_body([(FID, 1, [1])])),
        "want_count_zero.txt": want_vector("malformed", "a file of 0 chunks", want_body([(FID, 0, [])])),
        "want_more_indexes_than_count.txt": want_vector("malformed", "3 indexes for a 2-chunk file",
                                                        want_body([(FID, 2, [0, 1, 1])])),
        "want_too_many_files.txt": want_vector("malformed", "declares 65,537 files", want_body([], k=65_537)),
        "want_truncated.txt": want_vector("malformed", "cut inside the first file id", want_body(two)[:10]),
        "want_trailing_byte.txt": want_vector("malformed", "one byte after the last file", want_body(two) + b"\x00"),
    }


def fingerprint(pk: bytes) -> str:
    return blake2b(pk, digest_size=16).digest()[:6].hex()


def manifest_doc(files: list[dict]) -> bytes:
    doc = {"exportedAt": "2026-12-03T19:00:00.000Z", "files": files, "format": "sandyq-evidence-manifest-1",
           "node": {"fingerprint": fingerprint(HOLDER_PK), "signingKey": HOLDER_PK.hex()},
           "project": "sqp-vector-project"}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def manifest_entry(path: str, content: bytes, **extra) -> dict:
    e = {"attachedAt": "2026-12-01T10:00:00.000Z", "attachedBy": HOLDER_PK.hex(), "caseId": "00" * 16, "caseRef": "ev-1",
         "fid": FID.hex(), "name": path, "op": "11" * 32, "path": path, "sha256": hashlib.sha256(content).hexdigest(),
         "size": len(content), "type": "image/jpeg"}
    e.update(extra)
    return e


def manifest_vector(expect: str, comment: str, manifest: bytes, sig: bytes, files: dict[str, bytes]) -> str:
    lines = ["area: manifest", f"expect: {expect}", f"comment: {comment}", f"manifest: {manifest.hex()}", f"sig: {sig.hex()}"]
    lines += [f"file.{name}: {data.hex()}" for name, data in sorted(files.items())]
    return "\n".join(lines) + "\n\n"


def manifest_vectors() -> dict[str, str]:
    photo, scan = b"\xff\xd8 a photo of the bruises \xff\xd9", b"%PDF-1.4 the verdict"
    files = {"photo.jpg": photo, "verdict.pdf": scan}
    doc = manifest_doc([manifest_entry("photo.jpg", photo), manifest_entry("verdict.pdf", scan, type="application/pdf")])
    sig = crypto_sign(doc, HOLDER_SK)[:64]
    edited = doc.replace(b'"ev-1"', b'"ev-2"', 1)
    working = b"\xff\xd8 the same photo without its GPS tag \xff\xd9"
    wdoc = manifest_doc([manifest_entry("photo.jpg", photo, workingSha256=hashlib.sha256(working).hexdigest(), workingSize=len(working))])
    escape = manifest_doc([manifest_entry("../photo.jpg", photo)])
    return {
        "manifest_ok.txt": manifest_vector("ok", "two files, signed by the exporting node", doc, sig, files),
        "manifest_ok_working.txt": manifest_vector("ok", "a working copy: the file is checked against workingSha256",
                                                   wdoc, crypto_sign(wdoc, HOLDER_SK)[:64], {"photo.jpg": working}),
        "manifest_edited.txt": manifest_vector("bad_signature", "the case reference changed after signing", edited, sig, files),
        "manifest_other_signer.txt": manifest_vector("bad_signature", "names the exporting node, signed by another key",
                                                     doc, crypto_sign(doc, OTHER_SK)[:64], files),
        "manifest_file_changed.txt": manifest_vector("file_mismatch", "one byte of the photo changed", doc, sig,
                                                     {"photo.jpg": photo[:-1] + b"\x00", "verdict.pdf": scan}),
        "manifest_files_swapped.txt": manifest_vector("file_mismatch", "the two files swapped names", doc, sig,
                                                      {"photo.jpg": scan, "verdict.pdf": photo}),
        "manifest_file_missing.txt": manifest_vector("missing", "the scan is not in the directory", doc, sig, {"photo.jpg": photo}),
        "manifest_path_escape.txt": manifest_vector("bad_path", "a path that leaves the export directory",
                                                    escape, crypto_sign(escape, HOLDER_SK)[:64], {}),
    }


def generate() -> dict[str, str]:
    return chunk_vectors() | held_vectors() | want_vectors() | manifest_vectors()


def chunk_vectors() -> dict[str, str]:
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
