#!/usr/bin/env python3
"""Generate the case-model vectors in Protocol/vectors/cases/ (Protocol/cases.md).

Each vector is a set of ops on one case, given as payloads (ops.md section 3) with the op
id and clock each arrives under, and the case's canonical form after all of them are
applied (cases.md, "Canonical form"). The merge is a function of the set: the Swift test
(Tests/SandyqCoreTests/CaseVectorTests.swift) applies the ops in file order, reversed and
rotated, decoding each payload with the real decoder, and compares the canonical bytes.
Written from cases.md alone; no Swift code is consulted.

Keys, `key: value` lines, byte strings in lowercase hex:

    area:       cases
    expect:     ok
    comment:    what the vector shows
    case:       the case id (16 bytes)
    ops:        comma-separated `op id[32] ‖ author[32] ‖ payload`; the payload's clock is the op's clock
    present:    comma-separated `collection/element` (UTF-8 as hex) of present elements, sorted
    canonical:  the canonical form of the case (cases.md)

Usage:
    python3 scripts/vectors/gen_case_vectors.py            # write files
    python3 scripts/vectors/gen_case_vectors.py --check    # exit 1 if files differ
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import run  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "Protocol" / "vectors" / "cases"
T0 = 1_767_225_600_000 << 16


def det(label: str, n: int) -> bytes:
    out, counter = b"", 0
    while len(out) < n:
        out += hashlib.sha512(f"sandyq case vectors/{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def string(s: str) -> bytes:
    b = s.encode()
    return varint(len(b)) + b


# Mutations (ops.md section 3): put 1, add 2, remove 3.
def put(case: bytes, coll: str, elem: str, field: str, value: str, supersedes=()) -> tuple:
    return ("put", case, coll, elem, field, value, tuple(supersedes))


def add(case: bytes, coll: str, elem: str) -> tuple:
    return ("add", case, coll, elem)


def remove(case: bytes, coll: str, elem: str, observed=()) -> tuple:
    return ("remove", case, coll, elem, tuple(observed))


def payload(clock: int, muts: list[tuple]) -> bytes:
    out = bytes([1]) + clock.to_bytes(8, "big") + varint(len(muts))
    for m in muts:
        if m[0] == "put":
            _, c, coll, elem, field, value, sup = m
            out += bytes([1]) + c + string(coll) + string(elem) + string(field) + string(value) + varint(len(sup)) + b"".join(sup)
        elif m[0] == "add":
            _, c, coll, elem = m
            out += bytes([2]) + c + string(coll) + string(elem)
        else:
            _, c, coll, elem, obs = m
            out += bytes([3]) + c + string(coll) + string(elem) + varint(len(obs)) + b"".join(obs)
    return out


class Case:
    """cases.md, "Merge": registers of writes, add-wins observed-remove sets."""

    def __init__(self, cid: bytes):
        self.id = cid
        self.writes: dict[tuple, dict[bytes, str]] = {}     # path -> op id -> value
        self.superseded: dict[tuple, set[bytes]] = {}
        self.tags: dict[str, dict[str, set[bytes]]] = {}     # collection -> element -> add tags
        self.removed: dict[str, dict[str, set[bytes]]] = {}

    def apply(self, op: bytes, muts: list[tuple]) -> None:
        for m in muts:
            if m[1] != self.id:
                continue
            if m[0] == "put":
                path = (m[2], m[3], m[4])
                self.writes.setdefault(path, {}).setdefault(op, m[5])
                self.superseded.setdefault(path, set()).update(m[6])
            elif m[0] == "add":
                self.tags.setdefault(m[2], {}).setdefault(m[3], set()).add(op)
                self.removed.setdefault(m[2], {})
            else:
                self.tags.setdefault(m[2], {})
                self.removed.setdefault(m[2], {}).setdefault(m[3], set()).update(m[4])

    def present(self, coll: str) -> list[str]:
        t, r = self.tags.get(coll, {}), self.removed.get(coll, {})
        return sorted(e for e, tags in t.items() if not tags <= r.get(e, set()))

    def survivors(self, path: tuple) -> list[tuple[bytes, str]]:
        sup = self.superseded.get(path, set())
        return sorted((op, v) for op, v in self.writes[path].items() if op not in sup)

    def canonical(self) -> bytes:
        out = self.id
        for path in sorted(self.writes):
            s = self.survivors(path)
            out += string(path[0]) + string(path[1]) + string(path[2]) + varint(len(s))
            for op, v in s:
                out += op + string(v)
        for coll in sorted(set(self.tags) | set(self.removed)):
            p = self.present(coll)
            out += string(coll) + varint(len(p)) + b"".join(string(e) for e in p)
        return out


def vector(name: str, comment: str, cid: bytes, ops: list[tuple[bytes, bytes, int, list[tuple]]]) -> str:
    c = Case(cid)
    for op, _, _, muts in ops:
        c.apply(op, muts)
    present = [f"{coll}/{e}".encode().hex() for coll in sorted(set(c.tags) | set(c.removed)) for e in c.present(coll)]
    lines = ["area: cases", "expect: ok", f"comment: {comment}", f"case: {cid.hex()}",
             "ops: " + ",".join((op + author + payload(clock, muts)).hex() for op, author, clock, muts in ops),
             "present: " + ",".join(present), f"canonical: {c.canonical().hex()}"]
    return "\n".join(line.rstrip() for line in lines) + "\n\n"


def generate() -> dict[str, str]:
    files: dict[str, str] = {}
    A, B = det("author A", 32), det("author B", 32)
    op = lambda label: det(f"op/{label}", 32)  # noqa: E731
    cid = det("case", 16)
    person = det("person element", 8).hex()
    charge = det("charge element", 8).hex()

    create = [add(cid, "", ""), put(cid, "", "", "title", "Дело Н."), put(cid, "", "", "status", "detained"),
              put(cid, "", "", "statusDate", "2025-11-03"),
              add(cid, "persons", person), put(cid, "persons", person, "name", "Нурлан Н."),
              put(cid, "persons", person, "aliases", "Nurlan N.\nН. Нурлан"),
              add(cid, "charges", charge), put(cid, "charges", charge, "article", "274"),
              put(cid, "charges", charge, "code", "criminal"), add(cid, "tags", "urgent")]
    files["cases_create.txt"] = vector(
        "cases_create", "one op as `case add` writes it: the case marker (add to collection \"\" element \"\"), "
        "case fields, a person and a charge (an add, then a put per field on the element's path), a tag",
        cid, [(op("create"), A, T0, create)])

    c1, c2, c3 = op("title A"), op("title B"), op("title fix")
    files["cases_register_conflict.txt"] = vector(
        "cases_register_conflict", "a created case; A and B set the title concurrently (each superseding the "
        "creation's title): both survive, a conflict; then city is set by A, B fixes city superseding it: one survivor",
        cid, [(op("create"), A, T0, create),
              (c1, A, T0 + 10, [put(cid, "", "", "title", "Дело Нурлана Н.", [op("create")])]),
              (c2, B, T0 + 11, [put(cid, "", "", "title", "Дело Н. (Алматы)", [op("create")])]),
              (c3, A, T0 + 12, [put(cid, "", "", "city", "Алматы")]),
              (op("city fix"), B, T0 + 13, [put(cid, "", "", "city", "Астана", [c3])])])

    t1, t2 = op("tag add A"), op("tag add B")
    files["cases_orset_add_wins.txt"] = vector(
        "cases_orset_add_wins", "tags: A adds `urgent` in the creation op, B removes it observing that add, while A "
        "adds `urgent` again concurrently (an add the remove did not observe): present; `media` is added and removed "
        "(observed): absent; the charge is removed, its field registers stay in the canonical form",
        cid, [(op("create"), A, T0, create),
              (t1, A, T0 + 20, [add(cid, "tags", "urgent")]),
              (op("tag remove"), B, T0 + 21, [remove(cid, "tags", "urgent", [op("create")])]),
              (t2, B, T0 + 22, [add(cid, "tags", "media")]),
              (op("media remove"), A, T0 + 23, [remove(cid, "tags", "media", [t2])]),
              (op("charge remove"), A, T0 + 24, [remove(cid, "charges", charge, [op("create")])])])

    keep = det("kept case", 16)
    files["cases_markers.txt"] = vector(
        "cases_markers", "markers are ordinary fields and elements: `archived` = \"true\", `mergedInto` = the kept "
        "case's id in hex (written by `case merge` in one op that also touches the kept case, whose mutations this "
        "case ignores), and a lawyer in `sharedWith` (element id: the lawyer's signing key in hex)",
        cid, [(op("create"), A, T0, create),
              (op("archive"), A, T0 + 30, [put(cid, "", "", "archived", "true")]),
              (op("merge"), A, T0 + 31, [put(keep, "", "", "title", "Дело Н."), put(cid, "", "", "mergedInto", keep.hex())]),
              (op("share"), A, T0 + 32, [add(cid, "sharedWith", det("lawyer signing key", 32).hex())])])
    return files


if __name__ == "__main__":
    run(OUT, generate)
