#!/usr/bin/env python3
"""Generate the store vectors in Protocol/vectors/store/ (Protocol/store.md).

What a node keeps sealed or tagged under its storage key: the network key (setting
`netkey`), a cached session key (a `session_keys` row), and the grant records' tags
(`grants`, `grant_debts`). Written from store.md alone with PyNaCl and hashlib, so the
Swift test (Tests/SandyqNodeTests/StoreVectorTests.swift) checks two readings of it.

One file per case, `key: value` lines, byte strings in lowercase hex. Keys:

    area:     netkey | session_row | grant_tags | reader_key | backup_pieces
    expect:   ok | authentication_failed
    comment:  free text
    storage_key:                         the 32-byte storage key from the key file
    netkey:      network_key, value      `value` is the settings row: nonce[24] ‖ AEAD ciphertext
    session_row: author, session_id, session_key, tag, sealed
                                         one `session_keys` row (tag, sealed)
    grant_tags:  recipient, session, recipient_tag, session_tag
    reader_key:  epoch, secret_key, public_key, value
                                         `value` is the settings row `reader-key`
    backup_pieces: backup_id, threshold, count, epoch, made, value
                                         `value` is the settings row `backup-pieces`
                                         `session` is author key ‖ session id (40 bytes)

`expect` is what opening the row as store.md says must give: `ok` opens (and, for a
session row, the tag recomputed from the sealed session id matches) and reproduces the
stated values; `authentication_failed`: the AEAD refuses it. Nonces are fixed so files do
not churn; a real node draws a fresh random nonce for every row.

Usage:
    python3 scripts/vectors/gen_store_vectors.py            # write files
    python3 scripts/vectors/gen_store_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nacl.bindings as b  # noqa: E402
import nacl.exceptions  # noqa: E402
from vectorfiles import run  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "Protocol" / "vectors" / "store"


def det(label: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq store vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def subkey(key: bytes, context: str, n: int = 32) -> bytes:
    """`SymmetricKey.derive(context:)`: keyed BLAKE2b of the context's UTF-8 bytes."""
    return hashlib.blake2b(context.encode(), digest_size=n, key=key).digest()


def store_key(storage: bytes) -> bytes:
    return subkey(storage, "sandyq-store-v1")


def seal(key: bytes, nonce: bytes, ad: bytes, plain: bytes) -> bytes:
    return b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, key)


def opens(key: bytes, nonce: bytes, ad: bytes, ct: bytes) -> bytes | None:
    try:
        return b.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, key)
    except nacl.exceptions.CryptoError:
        return None


def render(fields: list[tuple[str, str | bytes]]) -> str:
    return "\n".join(f"{k}: {v.hex() if isinstance(v, bytes) else v}".rstrip() for k, v in fields) + "\n\n"


def netkey_value(storage: bytes, network: bytes, nonce: bytes, key: bytes | None = None) -> bytes:
    return nonce + seal(store_key(storage) if key is None else key, nonce, b"netkey", network)


def session_row(storage: bytes, author: bytes, sid: bytes, session_key: bytes, nonce: bytes,
                marker: bytes = b"") -> tuple[bytes, bytes]:
    k = store_key(storage)
    slot = author + sid + marker
    tag = hashlib.blake2b(slot, digest_size=32, key=subkey(k, "sandyq-session-tag-v1")).digest()
    return tag, nonce + seal(k, nonce, b"session-v2:" + tag, session_key + slot)


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    storage = det("storage key", 32)
    network = det("network key", 32)

    value = netkey_value(storage, network, det("netkey nonce", 24))
    assert len(value) == 72 and opens(store_key(storage), value[:24], b"netkey", value[24:]) == network
    files["store_netkey_ok.txt"] = render([
        ("area", "netkey"), ("expect", "ok"),
        ("comment", "the settings row `netkey`: nonce, then the network key sealed under the storage key's subkey "
                    "sandyq-store-v1 with associated data \"netkey\"; 72 bytes"),
        ("storage_key", storage), ("network_key", network), ("value", value)])
    raw = netkey_value(storage, network, det("netkey nonce", 24), key=storage)
    assert opens(store_key(storage), raw[:24], b"netkey", raw[24:]) is None
    files["store_netkey_storage_key_itself.txt"] = render([
        ("area", "netkey"), ("expect", "authentication_failed"),
        ("comment", "the network key sealed under the storage key itself instead of its subkey sandyq-store-v1: "
                    "a reader that skips the derivation must not open it"),
        ("storage_key", storage), ("network_key", network), ("value", raw)])

    author = det("author signing key", 32)
    sid = det("session id", 8)
    skey = det("session key", 32)
    tag, sealed = session_row(storage, author, sid, skey, det("session nonce", 24))
    assert len(sealed) == 24 + 72 + 16
    files["store_session_row_ok.txt"] = render([
        ("area", "session_row"), ("expect", "ok"),
        ("comment", "one session_keys row: tag = BLAKE2b-256 of author key ‖ session id keyed with the subkey "
                    "sandyq-session-tag-v1 of the store subkey; sealed = nonce ‖ AEAD(store subkey, nonce, "
                    "\"session-v2:\" ‖ tag, session key ‖ author key ‖ session id); 112 bytes"),
        ("storage_key", storage), ("author", author), ("session_id", sid), ("session_key", skey),
        ("tag", tag), ("sealed", sealed)])
    other_tag, _ = session_row(storage, author, det("other session id", 8), skey, det("session nonce", 24))
    assert opens(store_key(storage), sealed[:24], b"session-v2:" + other_tag, sealed[24:]) is None
    files["store_session_row_moved.txt"] = render([
        ("area", "session_row"), ("expect", "authentication_failed"),
        ("comment", "store_session_row_ok's sealed value under the tag of another session of the same author: the "
                    "tag is associated data, so a row cannot be moved to another slot"),
        ("storage_key", storage), ("author", author), ("session_id", sid), ("session_key", skey),
        ("tag", other_tag), ("sealed", sealed)])

    pid = det("parent id", 8)
    pkey = det("parent key", 32)
    ptag, psealed = session_row(storage, author, pid, pkey, det("parent nonce", 24), marker=b"\x01")
    assert len(psealed) == 24 + 73 + 16
    files["store_parent_row_ok.txt"] = render([
        ("area", "session_row"), ("expect", "ok"),
        ("comment", "a parent key's session_keys row: as a session's, with the byte 01 after the slot author key ‖ "
                    "parent id, in the tag's input and in the plaintext; 113 bytes"),
        ("storage_key", storage), ("author", author), ("session_id", pid + b"\x01"), ("session_key", pkey),
        ("tag", ptag), ("sealed", psealed)])

    gkey = subkey(storage, "sandyq-grant-tags")
    recipient = det("recipient signing key", 32)
    slot = author + sid
    rtag = hashlib.blake2b(b"recipient" + recipient, digest_size=16, key=gkey).digest()
    stag = hashlib.blake2b(b"session" + rtag + slot, digest_size=16, key=gkey).digest()
    files["store_grant_tags_ok.txt"] = render([
        ("area", "grant_tags"), ("expect", "ok"),
        ("comment", "grant records: recipient tag = BLAKE2b-128(\"recipient\" ‖ recipient signing key) and session "
                    "tag = BLAKE2b-128(\"session\" ‖ recipient tag ‖ author key ‖ session id), both keyed with the "
                    "storage key's subkey sandyq-grant-tags (derived from the storage key itself, not from "
                    "sandyq-store-v1)"),
        ("storage_key", storage), ("recipient", recipient), ("session", slot),
        ("recipient_tag", rtag), ("session_tag", stag)])

    reader_secret = det("reader secret key", 32)
    epoch = (3).to_bytes(4, "big")

    def reader_row(ad: bytes) -> bytes:
        nonce = det("reader nonce", 24)
        return nonce + seal(store_key(storage), nonce, ad, epoch + reader_secret)

    reader_fields = [("storage_key", storage), ("epoch", epoch), ("secret_key", reader_secret),
                     ("public_key", b.crypto_scalarmult_base(reader_secret))]
    reader_value = reader_row(b"sandyq-reader-key")
    assert len(reader_value) == 24 + 36 + 16
    files["store_reader_key_ok.txt"] = render([
        ("area", "reader_key"), ("expect", "ok"),
        ("comment", "the settings row `reader-key`: nonce, then epoch u32 ‖ the reader key's X25519 secret key sealed "
                    "under the storage key's subkey sandyq-store-v1 with associated data \"sandyq-reader-key\"; the "
                    "public key (crypto_scalarmult_base of the secret) is the one the node announced at that epoch; "
                    "76 bytes"),
        *reader_fields, ("value", reader_value)])
    files["store_reader_key_as_netkey.txt"] = render([
        ("area", "reader_key"), ("expect", "authentication_failed"),
        ("comment", "the same plaintext sealed with associated data \"netkey\": a row sealed for another use must not "
                    "open as the reader key"),
        *reader_fields, ("value", reader_row(b"netkey"))])

    pieces_fields = [("storage_key", storage), ("backup_id", det("backup id", 8)), ("threshold", bytes([3])),
                     ("count", bytes([5])), ("epoch", (2).to_bytes(4, "big")), ("made", (1764979200000).to_bytes(8, "big"))]
    pieces_plain = b"".join(v for k, v in pieces_fields[1:])
    assert len(pieces_plain) == 22

    def pieces_row(ad: bytes) -> bytes:
        nonce = det("pieces nonce", 24)
        return nonce + seal(store_key(storage), nonce, ad, pieces_plain)

    pieces_value = pieces_row(b"sandyq-backup-pieces")
    assert len(pieces_value) == 62
    files["store_backup_pieces_ok.txt"] = render([
        ("area", "backup_pieces"), ("expect", "ok"),
        ("comment", "the settings row `backup-pieces`: nonce, then backup id[8] ‖ threshold u8 ‖ count u8 ‖ reader epoch "
                    "u32 ‖ made u64 (wall ms) sealed under the storage key's subkey sandyq-store-v1 with associated "
                    "data \"sandyq-backup-pieces\"; 62 bytes: a set of 3 of 5 holding reader epoch 2"),
        *pieces_fields, ("value", pieces_value)])
    files["store_backup_pieces_as_reader_key.txt"] = render([
        ("area", "backup_pieces"), ("expect", "authentication_failed"),
        ("comment", "the same plaintext sealed with associated data \"sandyq-reader-key\": a row sealed for another "
                    "use must not open as the record of the pieces"),
        *pieces_fields, ("value", pieces_row(b"sandyq-reader-key"))])
    return files


if __name__ == "__main__":
    run(OUT, generate)
