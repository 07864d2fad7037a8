"""Generate the LAN discovery vectors in Protocol/vectors/lan/.

Protocol/transports.md ("LAN discovery"). One file per case, `key: value` lines, byte strings
in lowercase hex. Keys:

    area:         beacon | rendezvous
    expect:       ok, or why a reader drops it: authentication_failed (no window's key opens it),
                  unsupported_version, malformed (longer than a beacon can be), truncated
                  (shorter than one can be) (Protocol/README.md, "Failure classes")
    comment:      free text
    network_key, window                    (both) the inputs
    group, port                            (rendezvous) where window's beacons go
    packet                                 (beacon) the UDP payload
    open_windows                           (beacon) the windows the reader tries, comma-separated
    node_signing, node_box, tcp_port       (beacon ok) what it says

Computed from the spec with hashlib's BLAKE2b and PyNaCl's XChaCha20-Poly1305; the node is the
op vectors' founder and the network key the invitation vectors' filler.

Usage:
    python3 scripts/vectors/gen_lan_vectors.py            # write files
    python3 scripts/vectors/gen_lan_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nacl.bindings as b

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import run                         # noqa: E402
import gen_op_vectors as ops                        # noqa: E402

OUT = ops.REPO / "Protocol" / "vectors" / "lan"
VERSION = 1
MAX_PADDING = 63
NETWORK_KEY = ops.det("network key", 32)
NODE = ops.FOUNDER
WINDOW = 2_941_200          # a 600-second window of December 2025


def rendezvous(key: bytes, window: int) -> tuple[str, int]:
    d = hashlib.blake2b(f"sandyq lan addr {window}".encode(), key=key, digest_size=32).digest()
    return f"239.255.{d[0] % 255}.{d[1]}", 49152 + ((d[2] << 8) | d[3]) % 16384


def window_key(key: bytes, window: int) -> bytes:
    return hashlib.blake2b(f"sandyq lan key {window}".encode(), key=key, digest_size=32).digest()


def seal(window: int, tcp_port: int, padding: int, nonce: bytes, version: int = VERSION, key: bytes = NETWORK_KEY) -> bytes:
    plain = bytes([version]) + tcp_port.to_bytes(2, "big") + NODE.sign_pk + NODE.box_pk + bytes(padding)
    return nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, None, nonce, window_key(key, window))


def beacon(expect: str, comment: str, packet: bytes, open_windows: list[int], tcp_port: int | None = None) -> str:
    lines = [f"area: beacon", f"expect: {expect}", f"comment: {comment}", f"network_key: {NETWORK_KEY.hex()}",
             f"window: {WINDOW}", f"open_windows: {','.join(map(str, open_windows))}", f"packet: {packet.hex()}"]
    if expect == "ok":
        lines += [f"node_signing: {NODE.sign_pk.hex()}", f"node_box: {NODE.box_pk.hex()}", f"tcp_port: {tcp_port}"]
    return "\n".join(lines) + "\n\n"


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    for name, w in (("now", WINDOW), ("next", WINDOW + 1), ("zero", 0)):
        group, port = rendezvous(NETWORK_KEY, w)
        files[f"rendezvous_{name}.txt"] = "\n".join([
            "area: rendezvous", "expect: ok", f"comment: window {w}", f"network_key: {NETWORK_KEY.hex()}",
            f"window: {w}", f"group: {group}", f"port: {port}"]) + "\n\n"
    nonce = ops.det("lan nonce", 24)
    ok = seal(WINDOW, 7447, 17, nonce)
    assert len(ok) == 24 + 67 + 17 + 16
    windows = [WINDOW, WINDOW + 1, WINDOW - 1]
    files["beacon_ok.txt"] = beacon("ok", "port 7447, 17 bytes of padding, read in its own window", ok, windows, 7447)
    files["beacon_ok_no_padding.txt"] = beacon(
        "ok", "no padding: the shortest beacon (107 bytes)", seal(WINDOW, 1, 0, ops.det("lan nonce 2", 24)), windows, 1)
    files["beacon_ok_most_padding.txt"] = beacon(
        "ok", "63 bytes of padding: the longest beacon (170 bytes)", seal(WINDOW, 65535, MAX_PADDING, ops.det("lan nonce 3", 24)),
        windows, 65535)
    files["beacon_ok_previous_window.txt"] = beacon(
        "ok", "sealed in the window before the reader's: a clock a little behind", seal(WINDOW - 1, 7447, 5, nonce),
        windows, 7447)
    files["beacon_far_window.txt"] = beacon(
        "authentication_failed", "sealed two windows ahead: outside what the reader tries", seal(WINDOW + 2, 7447, 5, nonce), windows)
    files["beacon_other_network.txt"] = beacon(
        "authentication_failed", "sealed under another project's network key", seal(WINDOW, 7447, 5, nonce, key=ops.det("other network key", 32)),
        windows)
    files["beacon_flipped.txt"] = beacon("authentication_failed", "one ciphertext bit flipped", ops.flip(ok, 40), windows)
    files["beacon_version_2.txt"] = beacon("unsupported_version", "version 2, sealed correctly", seal(WINDOW, 7447, 5, nonce, version=2), windows)
    files["beacon_too_long.txt"] = beacon("malformed", "64 bytes of padding: one byte over", seal(WINDOW, 7447, 64, nonce), windows)
    files["beacon_truncated.txt"] = beacon("authentication_failed", "the last byte cut off: the tag no longer verifies", ok[:-1], windows)
    plain = bytes([VERSION]) + (7447).to_bytes(2, "big") + NODE.sign_pk
    short = nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, None, nonce, window_key(NETWORK_KEY, WINDOW))
    files["beacon_short_plaintext.txt"] = beacon("truncated", "the box key left out (35 bytes of plaintext), sealed correctly: shorter than any beacon", short, windows)
    return files


if __name__ == "__main__":
    run(OUT, generate)
