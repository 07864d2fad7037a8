#!/usr/bin/env python3
"""Generate the SandyqCrypto test vectors in Protocol/vectors/crypto/.

Each vector is one file, in the style of the age test vectors: a header of
`key: value` lines, one blank line, and nothing after it. Every byte string is
lowercase hex; an empty byte string is written as `key:` with nothing after it. Required keys:

    area:    ed25519 | sealedbox | aead | blake2b | argon2id
    expect:  ok | authentication_failed | invalid_length
    comment: free text

Area keys:
    ed25519:   seed, public_key, message, signature
    sealedbox: recipient_secret_key, recipient_public_key, plaintext, sealed
    aead:      key, nonce, ad, plaintext, ciphertext   (ciphertext || 16-byte tag)
    blake2b:   key, length, message, digest
    argon2id:  passphrase, salt, opslimit, memlimit, length, key

`expect` says what the Swift API must do with the file:
    ok                     the operation succeeds and reproduces the stated output
    authentication_failed  verify/open throws CryptoError.authenticationFailed
                           (argon2id: the derived key differs from `key`); an AEAD
                           nonce of the wrong length is this class too: open takes
                           the nonce as bytes and refuses it like any failed open
    invalid_length         a constructor throws CryptoError.invalidLength (a key,
                           salt or signature that cannot be built)

Everything here is deterministic except sealed boxes, which libsodium
randomises (fresh ephemeral key per box). For those the sealed value of an
existing file is kept (after checking it still opens to the stated plaintext),
so re-running the generator does not churn the files; pass --regenerate to seal
afresh. Invalid sealed-box cases are derived from the kept valid box.

Every value is checked with PyNaCl/hashlib before it is written, and the
published vectors (RFC 8032 7.1, draft-irtf-cfrg-xchacha-03 A.3.1, RFC 7693
Appendix A) are typed from their documents and must be reproduced exactly.

Usage:
    python3 scripts/vectors/gen_crypto_vectors.py             # write files
    python3 scripts/vectors/gen_crypto_vectors.py --check     # exit 1 if files differ
    python3 scripts/vectors/gen_crypto_vectors.py --regenerate  # re-seal sealed boxes

Requires: pip install pynacl
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import emit  # noqa: E402

import nacl.bindings as b
import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.pwhash
import nacl.signing

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "Protocol" / "vectors" / "crypto"

EXPECTS = ("ok", "authentication_failed", "invalid_length")
AREAS = {
    "ed25519": ("seed", "public_key", "message", "signature"),
    "sealedbox": ("recipient_secret_key", "recipient_public_key", "plaintext", "sealed"),
    "aead": ("key", "nonce", "ad", "plaintext", "ciphertext"),
    "blake2b": ("key", "length", "message", "digest"),
    "argon2id": ("passphrase", "salt", "opslimit", "memlimit", "length", "key"),
}


def h(s: str) -> bytes:
    """Hex from a document, whitespace ignored."""
    return bytes.fromhex("".join(s.split()))


def flip(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def det(label: str, n: int) -> bytes:
    """Deterministic filler bytes for our own (non-published) vectors."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq crypto vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def render(area: str, expect: str, comment: str, fields: dict) -> str:
    assert area in AREAS, area
    assert expect in EXPECTS, expect
    assert "\n" not in comment
    assert list(fields) == list(AREAS[area]), (area, list(fields))
    lines = [f"area: {area}", f"expect: {expect}", f"comment: {comment}"]
    for k, v in fields.items():
        value = v.hex() if isinstance(v, bytes) else v
        lines.append(f"{k}: {value}" if value else f"{k}:")  # no trailing space on empty values
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


# ---------------------------------------------------------------- ed25519

# RFC 8032 section 7.1, all five Ed25519 tests: (name, SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE).
RFC8032 = [
    ("test1", "TEST 1",
     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("test2", "TEST 2",
     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("test3", "TEST 3",
     "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("test1024", "TEST 1024",
     "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     """
     08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98
     fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8
     79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d
     658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc
     1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe
     ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e
     06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef
     efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7
     aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1
     85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2
     d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24
     554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270
     88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc
     2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07
     07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba
     b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a
     ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e
     c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7
     51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c
     42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8
     ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df
     f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08
     d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649
     de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4
     88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3
     2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e
     6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f
     b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5
     0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1
     369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d
     b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c
     0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0
     """,
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"),
    ("sha_abc", "TEST SHA(abc)",
     "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]


def ed25519_ok(seed: bytes, pk: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(pk).verify(msg, sig)
        return True
    except nacl.exceptions.BadSignatureError:
        return False


def gen_ed25519(files: dict) -> None:
    for case, title, seed_hex, pk_hex, msg_hex, sig_hex in RFC8032:
        seed, pk, msg, sig = h(seed_hex), h(pk_hex), h(msg_hex), h(sig_hex)
        sk = nacl.signing.SigningKey(seed)
        assert bytes(sk.verify_key) == pk, f"RFC 8032 {title}: public key does not derive from seed"
        assert sk.sign(msg).signature == sig, f"RFC 8032 {title}: signature not reproduced"
        assert ed25519_ok(seed, pk, msg, sig)
        files[f"ed25519_rfc8032_{case}.txt"] = render(
            "ed25519", "ok", f"RFC 8032 section 7.1 {title} ({len(msg)}-byte message)",
            dict(seed=seed, public_key=pk, message=msg, signature=sig))

    # Invalid cases, all built from TEST 3 (non-empty message so a message bit can flip).
    _, _, seed_hex, pk_hex, msg_hex, sig_hex = RFC8032[2]
    seed, pk, msg, sig = h(seed_hex), h(pk_hex), h(msg_hex), h(sig_hex)
    other_pk = h(RFC8032[1][3])

    bad_sig = flip(sig, 10)
    assert not ed25519_ok(seed, pk, msg, bad_sig)
    files["ed25519_flipped_signature_bit.txt"] = render(
        "ed25519", "authentication_failed", "RFC 8032 TEST 3 with bit 0 of signature byte 10 (in R) flipped",
        dict(seed=seed, public_key=pk, message=msg, signature=bad_sig))

    bad_s = flip(sig, 40)
    assert not ed25519_ok(seed, pk, msg, bad_s)
    files["ed25519_flipped_signature_s_bit.txt"] = render(
        "ed25519", "authentication_failed", "RFC 8032 TEST 3 with bit 0 of signature byte 40 (in S) flipped",
        dict(seed=seed, public_key=pk, message=msg, signature=bad_s))

    bad_msg = flip(msg, 1)
    assert not ed25519_ok(seed, pk, bad_msg, sig)
    files["ed25519_flipped_message_bit.txt"] = render(
        "ed25519", "authentication_failed", "RFC 8032 TEST 3 with bit 0 of message byte 1 flipped",
        dict(seed=seed, public_key=pk, message=bad_msg, signature=sig))

    assert not ed25519_ok(seed, other_pk, msg, sig)
    files["ed25519_wrong_key.txt"] = render(
        "ed25519", "authentication_failed",
        "RFC 8032 TEST 3 message and signature checked against TEST 2's public key (seed is TEST 3's)",
        dict(seed=seed, public_key=other_pk, message=msg, signature=sig))

    files["ed25519_truncated_signature.txt"] = render(
        "ed25519", "invalid_length", "RFC 8032 TEST 3 signature with its last byte removed (63 bytes)",
        dict(seed=seed, public_key=pk, message=msg, signature=sig[:-1]))

    files["ed25519_truncated_public_key.txt"] = render(
        "ed25519", "invalid_length", "RFC 8032 TEST 3 public key with its last byte removed (31 bytes)",
        dict(seed=seed, public_key=pk[:-1], message=msg, signature=sig))


# ---------------------------------------------------------------- sealed box

def box_keypair(label: str) -> tuple[bytes, bytes]:
    sk = det(f"sealedbox/{label}", 32)
    return sk, b.crypto_scalarmult_base(sk)


def box_opens(sk: bytes, pk: bytes, sealed: bytes):
    try:
        return b.crypto_box_seal_open(sealed, pk, sk)
    except Exception:
        return None


def gen_sealedbox(files: dict, regenerate: bool) -> None:
    sk, pk = box_keypair("recipient")
    sk2, pk2 = box_keypair("other")
    cases = [
        ("hello", b"sandyq sealed box known-answer vector", "short text"),
        ("empty", b"", "empty plaintext (sealed is the 48-byte overhead only)"),
        ("content_key", det("sealedbox/content_key", 32), "a 32-byte content key, as the node seals them"),
    ]
    sealed_by_case = {}
    for case, plain, what in cases:
        name = f"sealedbox_{case}.txt"
        sealed = None
        existing = OUT / name
        if existing.exists() and not regenerate:
            old = parse(existing.read_text())
            if (old.get("recipient_secret_key") == sk.hex() and old.get("plaintext") == plain.hex()
                    and box_opens(sk, pk, h(old["sealed"])) == plain):
                sealed = h(old["sealed"])
        if sealed is None:
            sealed = b.crypto_box_seal(plain, pk)
        assert len(sealed) == len(plain) + b.crypto_box_SEALBYTES
        assert box_opens(sk, pk, sealed) == plain
        sealed_by_case[case] = (plain, sealed)
        files[name] = render(
            "sealedbox", "ok",
            f"{what}; sealed once by crypto_box_seal (randomised), the test opens it",
            dict(recipient_secret_key=sk, recipient_public_key=pk, plaintext=plain, sealed=sealed))

    plain, sealed = sealed_by_case["hello"]

    def invalid(name, comment, rsk, rpk, s, expect="authentication_failed"):
        if expect == "authentication_failed":
            assert box_opens(rsk, rpk, s) is None, name
        files[name] = render("sealedbox", expect, comment,
                             dict(recipient_secret_key=rsk, recipient_public_key=rpk, plaintext=plain, sealed=s))

    invalid("sealedbox_flipped_bit.txt", "sealedbox_hello with bit 0 of ciphertext byte 50 flipped",
            sk, pk, flip(sealed, 50))
    invalid("sealedbox_flipped_ephemeral_key_bit.txt",
            "sealedbox_hello with bit 0 of byte 3 (the ephemeral public key) flipped",
            sk, pk, flip(sealed, 3))
    invalid("sealedbox_flipped_tag_bit.txt", "sealedbox_hello with bit 7 of byte 32 (the Poly1305 tag) flipped",
            sk, pk, flip(sealed, 32, 7))
    invalid("sealedbox_wrong_key.txt", "sealedbox_hello opened with a different recipient key pair",
            sk2, pk2, sealed)
    invalid("sealedbox_truncated.txt", "sealedbox_hello with its last byte removed", sk, pk, sealed[:-1])
    invalid("sealedbox_shorter_than_overhead.txt", "only the first 47 bytes of sealedbox_hello (less than the overhead)",
            sk, pk, sealed[:47])
    invalid("sealedbox_short_secret_key.txt", "recipient secret key of 31 bytes: the key pair cannot be built",
            sk[:-1], pk, sealed, expect="invalid_length")


# ---------------------------------------------------------------- aead

XCHACHA_DRAFT = dict(
    key=h("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
    nonce=h("404142434445464748494a4b4c4d4e4f5051525354555657"),
    ad=h("50515253c0c1c2c3c4c5c6c7"),
    plaintext=b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
              b"for the future, sunscreen would be it.",
    ciphertext=h("""
        bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
        731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
        2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
        21f9664c97637da9768812f615c68b13b52e""") + h("c0875924c1c7987947deafd8780acf49"),
)


def aead_seal(key, nonce, ad, plain):
    return b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, key)


def aead_opens(key, nonce, ad, ct):
    try:
        return b.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, key)
    except Exception:
        return None


def gen_aead(files: dict) -> None:
    v = XCHACHA_DRAFT
    assert aead_seal(v["key"], v["nonce"], v["ad"], v["plaintext"]) == v["ciphertext"], \
        "draft-irtf-cfrg-xchacha A.3.1 not reproduced"
    files["aead_xchacha_draft_a31.txt"] = render(
        "aead", "ok", "draft-irtf-cfrg-xchacha-03 section A.3.1 (ciphertext is ciphertext || tag)", dict(v))

    key, nonce = det("aead/key", 32), det("aead/nonce", 24)
    own = [
        ("empty_plaintext", b"", b"sandyq header", "empty plaintext with associated data: ciphertext is the tag alone"),
        ("empty_ad", b"sandyq record body", b"", "no associated data"),
        ("long", det("aead/long", 300), b"\x00" * 7, "300-byte plaintext (several ChaCha20 blocks)"),
    ]
    for case, plain, ad, comment in own:
        ct = aead_seal(key, nonce, ad, plain)
        assert aead_opens(key, nonce, ad, ct) == plain
        files[f"aead_{case}.txt"] = render("aead", "ok", f"{comment}; computed with libsodium via PyNaCl",
                                           dict(key=key, nonce=nonce, ad=ad, plaintext=plain, ciphertext=ct))

    k, n, ad, pt, ct = v["key"], v["nonce"], v["ad"], v["plaintext"], v["ciphertext"]

    def invalid(name, comment, key=k, nonce=n, ad=ad, ct=ct, expect="authentication_failed"):
        if expect == "authentication_failed":
            assert aead_opens(key, nonce, ad, ct) is None, name
        files[name] = render("aead", expect, f"draft A.3.1 vector {comment}",
                             dict(key=key, nonce=nonce, ad=ad, plaintext=pt, ciphertext=ct))

    invalid("aead_flipped_tag.txt", "with bit 0 of the last tag byte flipped", ct=flip(ct, len(ct) - 1))
    invalid("aead_flipped_ciphertext.txt", "with bit 0 of ciphertext byte 0 flipped", ct=flip(ct, 0))
    invalid("aead_wrong_ad.txt", "with bit 0 of associated data byte 0 flipped", ad=flip(ad, 0))
    invalid("aead_missing_ad.txt", "opened with empty associated data", ad=b"")
    invalid("aead_wrong_key.txt", "with bit 0 of key byte 31 flipped", key=flip(k, 31))
    invalid("aead_wrong_nonce.txt", "with bit 0 of nonce byte 23 flipped (beyond the HChaCha20 part)",
            nonce=flip(n, 23))
    invalid("aead_truncated.txt", "with the last byte of the tag removed", ct=ct[:-1])
    invalid("aead_shorter_than_tag.txt", "cut to 15 bytes, shorter than one tag", ct=ct[:15])
    invalid("aead_short_nonce.txt", "with a 23-byte nonce: open must refuse it", nonce=n[:-1])
    invalid("aead_short_key.txt", "with a 31-byte key: the key cannot be built", key=k[:-1], expect="invalid_length")


# ---------------------------------------------------------------- blake2b

RFC7693_ABC = h("""
    ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1
    7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923""")


def gen_blake2b(files: dict) -> None:
    def vec(case, comment, message, length, key=b""):
        digest = hashlib.blake2b(message, digest_size=length, key=key).digest()
        assert nacl.hash.blake2b(message, digest_size=length, key=key, encoder=nacl.encoding.RawEncoder) == digest
        files[f"blake2b_{case}.txt"] = render("blake2b", "ok", comment,
                                              dict(key=key, length=str(length), message=message, digest=digest))
        return digest

    assert vec("rfc7693_abc", "RFC 7693 Appendix A: BLAKE2b-512 of \"abc\"", b"abc", 64) == RFC7693_ABC
    vec("abc_32", "unkeyed 32-byte BLAKE2b of \"abc\" (hashlib.blake2b)", b"abc", 32)
    vec("empty_32", "unkeyed 32-byte BLAKE2b of the empty message", b"", 32)
    vec("keyed_32", "keyed (32-byte key) 32-byte BLAKE2b of \"abc\"", b"abc", 32, det("blake2b/key", 32))
    vec("keyed_64_key_64", "64-byte key (the maximum), 64-byte digest, 200-byte message",
        det("blake2b/msg", 200), 64, det("blake2b/key64", 64))
    vec("min_length_16", "16-byte digest (the minimum) of a 129-byte message (two blocks)",
        det("blake2b/msg129", 129), 16)
    vec("keyed_empty_message", "keyed 32-byte BLAKE2b of the empty message", b"", 32, det("blake2b/key", 32))


# ---------------------------------------------------------------- argon2id

def gen_argon2id(files: dict) -> None:
    salt = det("argon2id/salt", 16)
    mem = nacl.pwhash.argon2id.MEMLIMIT_MIN
    assert mem == 8192 and nacl.pwhash.argon2id.OPSLIMIT_MIN == 1

    def kdf(pw, s, ops, memlimit, length=32):
        return nacl.pwhash.argon2id.kdf(length, pw, s, opslimit=ops, memlimit=memlimit)

    def vec(case, comment, pw, ops, memlimit, expect="ok", key=None, s=salt):
        if key is None:
            key = kdf(pw, s, ops, memlimit)
        files[f"argon2id_{case}.txt"] = render(
            "argon2id", expect, comment,
            dict(passphrase=pw, salt=s, opslimit=str(ops), memlimit=str(memlimit), length="32", key=key))
        return key

    pw = b"correct horse battery staple"
    k2 = vec("ops2_mem8k", "Argon2id13 opslimit 2, memlimit 8192 (libsodium minimum), via PyNaCl", pw, 2, mem)
    k1 = vec("ops1_mem8k", "Argon2id13 at libsodium's floor: opslimit 1, memlimit 8192", pw, 1, mem)
    assert k1 != k2
    vec("ops2_mem64k", "Argon2id13 opslimit 2, memlimit 65536", pw, 2, 65536)
    vec("empty_passphrase", "Argon2id13 of the empty passphrase, opslimit 2, memlimit 8192", b"", 2, mem)

    wrong = b"correct horse battery stapler"
    assert kdf(wrong, salt, 2, mem) != k2
    vec("wrong_passphrase", "argon2id_ops2_mem8k's key with a different passphrase: the derived key must differ",
        wrong, 2, mem, expect="authentication_failed", key=k2)
    other_salt = flip(salt, 0)
    assert kdf(pw, other_salt, 2, mem) != k2
    vec("wrong_salt", "argon2id_ops2_mem8k's key with bit 0 of the salt flipped: the derived key must differ",
        pw, 2, mem, expect="authentication_failed", key=k2, s=other_salt)
    vec("short_salt", "a 15-byte salt: derivation must refuse it", pw, 2, mem,
        expect="invalid_length", key=k2, s=salt[:-1])


# ---------------------------------------------------------------- main

def build(regenerate: bool) -> dict:
    files: dict = {}
    gen_ed25519(files)
    gen_sealedbox(files, regenerate)
    gen_aead(files)
    gen_blake2b(files)
    gen_argon2id(files)
    for name, text in files.items():
        fields = parse(text)
        assert name.startswith(fields["area"] + "_"), name
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    ap.add_argument("--regenerate", action="store_true", help="seal fresh sealed boxes instead of keeping them")
    args = ap.parse_args()

    files = build(args.regenerate)
    return emit(OUT, files, args.check)


if __name__ == "__main__":
    sys.exit(main())
