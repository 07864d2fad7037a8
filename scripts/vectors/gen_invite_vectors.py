#!/usr/bin/env python3
"""Generate the invitation, join reply and six-digit code vectors in Protocol/vectors/invite/.

Protocol/membership.md ("Invitation", "Join reply", "Short authentication string"). One file
per case, `key: value` lines, byte strings in lowercase hex. Keys:

    area:     invite | reply | sas
    expect:   ok | malformed | truncated | unsupported_version   (Protocol/README.md, "Failure classes")
    comment:  free text
    text:                                  (invite, reply) the code as given to the parser
    canonical:                             (ok) the code as this build writes it
    project, network_key, inviter_signing, inviter_box, role, nonce     (invite ok) what it holds
    nonce, joiner_signing, joiner_box                                   (reply ok) what it holds
    network_key, nonce, inviter_signing, inviter_box, joiner_signing, joiner_box, h, sas   (sas)

For `invite` and `reply`, every `expect` but `ok` means the parser answers "not an invitation"
(or "not a join reply"): the classes only say which rule the text breaks. `sas` vectors are all
`ok`: `h` and `sas` are what both sides must compute.

Everything is computed here, from the spec, with hashlib's BLAKE2b and Python's base64: the
keys are the op vectors' founder (inviter) and reporter (joiner), and the network key and the
nonce are the op vectors' deterministic fillers, so the worked example in membership.md is
`invite_ok.txt`, `reply_ok.txt` and `sas_worked_example.txt`; the generator fails if the
document no longer shows those texts and digits.

Usage:
    python3 scripts/vectors/gen_invite_vectors.py            # write files
    python3 scripts/vectors/gen_invite_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import emit                       # noqa: E402
import gen_op_vectors as ops                      # noqa: E402  (the founder's and reporter's keys, the fillers)

OUT = ops.REPO / "Protocol" / "vectors" / "invite"
SPEC = ops.REPO / "Protocol" / "membership.md"
CLASSES = ("ok", "malformed", "truncated", "unsupported_version")

INVITE_VERSION, REPLY_VERSION = 1, 1
INVITE_BODY, REPLY_BODY = 130, 81
REPORTER_ROLE = 2

INVITER, JOINER = ops.FOUNDER, ops.REPORTER
NETWORK_KEY = ops.det("network key", 32)
NONCE = ops.det("invitation nonce", 16)


ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def base32(data: bytes) -> str:
    """RFC 4648, lowercase, no padding (Protocol/README.md)."""
    return base64.b32encode(data).decode().rstrip("=").lower()


def check(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()[:4]


def invite_body(role: int = REPORTER_ROLE, nonce: bytes = NONCE, version: int = INVITE_VERSION) -> bytes:
    body = (bytes([version]) + ops.PROJECT + NETWORK_KEY + INVITER.sign_pk + INVITER.box_pk
            + bytes([role]) + nonce)
    assert len(body) == INVITE_BODY
    return body


def reply_body(version: int = REPLY_VERSION) -> bytes:
    body = bytes([version]) + NONCE + JOINER.sign_pk + JOINER.box_pk
    assert len(body) == REPLY_BODY
    return body


def code(prefix: str, body: bytes) -> str:
    return prefix + base32(body + check(body))


def sas(network_key: bytes, nonce: bytes) -> tuple[bytes, str]:
    h = hashlib.blake2b(b"sandyq-sas" + nonce + INVITER.sign_pk + INVITER.box_pk + JOINER.sign_pk + JOINER.box_pk,
                        digest_size=16, key=network_key).digest()
    n = struct.unpack(">Q", h[:8])[0] % 1_000_000
    digits = f"{n:06d}"
    return h, f"{digits[:3]}-{digits[3:]}"


def render(fields: list[tuple[str, str]]) -> str:
    assert dict(fields)["expect"] in CLASSES
    return "".join(f"{k}: {v}\n" for k, v in fields) + "\n"


def invite(expect: str, comment: str, text: str, role: int = REPORTER_ROLE, nonce: bytes = NONCE) -> str:
    fields = [("area", "invite"), ("expect", expect), ("comment", comment), ("text", text)]
    if expect == "ok":
        fields += [("canonical", code("sqi-", invite_body(role, nonce))), ("project", ops.PROJECT.hex()),
                   ("network_key", NETWORK_KEY.hex()), ("inviter_signing", INVITER.sign_pk.hex()),
                   ("inviter_box", INVITER.box_pk.hex()), ("role", str(role)), ("nonce", nonce.hex())]
    return render(fields)


def reply(expect: str, comment: str, text: str) -> str:
    fields = [("area", "reply"), ("expect", expect), ("comment", comment), ("text", text)]
    if expect == "ok":
        fields += [("canonical", code("sqr-", reply_body())), ("nonce", NONCE.hex()),
                   ("joiner_signing", JOINER.sign_pk.hex()), ("joiner_box", JOINER.box_pk.hex())]
    return render(fields)


def sas_vector(comment: str, network_key: bytes, nonce: bytes) -> str:
    h, digits = sas(network_key, nonce)
    return render([("area", "sas"), ("expect", "ok"), ("comment", comment), ("network_key", network_key.hex()),
                   ("nonce", nonce.hex()), ("inviter_signing", INVITER.sign_pk.hex()), ("inviter_box", INVITER.box_pk.hex()),
                   ("joiner_signing", JOINER.sign_pk.hex()), ("joiner_box", JOINER.box_pk.hex()),
                   ("h", h.hex()), ("sas", digits)])


def flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    inv = code("sqi-", invite_body())
    rep = code("sqr-", reply_body())
    h, digits = sas(NETWORK_KEY, NONCE)

    # The worked example in membership.md is these three files: the document must still show them.
    spec = SPEC.read_text()
    for shown in (inv, rep, h.hex(), digits):
        assert shown in spec, f"membership.md's worked example no longer shows {shown[:24]}..."
    assert len(inv) == 4 + 215 and len(rep) == 4 + 136

    files["invite_ok.txt"] = invite("ok", "membership.md's worked example: the founder invites the reporter's device as a reporter", inv)
    files["invite_ok_relay.txt"] = invite(
        "ok", "role 4 (relay), another nonce: the highest role code", code("sqi-", invite_body(4, ops.det("relay nonce", 16))),
        role=4, nonce=ops.det("relay nonce", 16))
    files["invite_ok_upper_case.txt"] = invite("ok", "the worked example in upper case after the prefix: accepted", "sqi-" + inv[4:].upper())
    # The last letter carries 2 data bits and 3 unused ones; the unused ones are not checked.
    last = ALPHABET.index(inv[-1])
    files["invite_ok_unused_bits.txt"] = invite(
        "ok", "the worked example with the 3 unused low bits of the last letter set: the same invitation",
        inv[:-1] + ALPHABET[last | 7])
    files["invite_bad_check.txt"] = invite(
        "malformed", "the last check byte flipped: a mistyped code", "sqi-" + base32(flip_last(invite_body() + check(invite_body()))))
    files["invite_role_0.txt"] = invite("malformed", "role code 0, check recomputed", code("sqi-", invite_body(0)))
    files["invite_role_5.txt"] = invite("malformed", "role code 5, check recomputed", code("sqi-", invite_body(5)))
    files["invite_version_2.txt"] = invite(
        "unsupported_version", "version byte 2, check recomputed", code("sqi-", invite_body(version=2)))
    files["invite_truncated.txt"] = invite(
        "truncated", "the body one byte short (129 + 4 bytes), check recomputed", code("sqi-", invite_body()[:-1]))
    files["invite_trailing_byte.txt"] = invite(
        "malformed", "one byte more (131 + 4 bytes), check recomputed", code("sqi-", invite_body() + b"\x00"))
    files["invite_wrong_prefix.txt"] = invite("malformed", "the invitation's base32 under the reply's prefix sqr-", "sqr-" + inv[4:])
    files["invite_no_prefix.txt"] = invite("malformed", "the base32 alone, without sqi-", inv[4:])
    files["invite_not_base32.txt"] = invite(
        "malformed", "a '1' in place of the fifth character: not in the base32 alphabet", inv[:8] + "1" + inv[9:])

    files["reply_ok.txt"] = reply("ok", "membership.md's worked example: the reporter's device answers the invitation", rep)
    files["reply_bad_check.txt"] = reply(
        "malformed", "the last check byte flipped", "sqr-" + base32(flip_last(reply_body() + check(reply_body()))))
    files["reply_version_2.txt"] = reply("unsupported_version", "version byte 2, check recomputed", code("sqr-", reply_body(2)))
    files["reply_truncated.txt"] = reply("truncated", "the body one byte short, check recomputed", code("sqr-", reply_body()[:-1]))
    files["reply_as_invitation.txt"] = reply("malformed", "the reply's base32 under the invitation's prefix sqi-", "sqi-" + rep[4:])

    files["sas_worked_example.txt"] = sas_vector("membership.md's worked example", NETWORK_KEY, NONCE)
    other = ops.det("another network key", 32)
    assert sas(other, NONCE)[1] != digits
    files["sas_other_network_key.txt"] = sas_vector(
        "the worked example's keys and nonce under another network key: other digits", other, NONCE)
    # The first filler nonce whose number is below 1000: the digits are zero-padded to "000-ddd".
    i = 0
    while int(sas(NETWORK_KEY, ops.det(f"sas padding nonce/{i}", 16))[0][:8].hex(), 16) % 1_000_000 >= 1000:
        i += 1
    padded = ops.det(f"sas padding nonce/{i}", 16)
    assert sas(NETWORK_KEY, padded)[1].startswith("000-")
    files["sas_leading_zeros.txt"] = sas_vector(f"a nonce (filler {i}) whose number is below 1000: written with leading zeros",
                                                NETWORK_KEY, padded)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args()
    return emit(OUT, generate(), args.check)


if __name__ == "__main__":
    sys.exit(main())
