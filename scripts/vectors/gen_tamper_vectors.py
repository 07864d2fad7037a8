#!/usr/bin/env python3
"""Generate the tamper corpus in Protocol/vectors/tamper/.

The op vectors (gen_op_vectors.py) judge one op on its own. The defects here need a log
to be judged against: an op by a non-member, an op after its author's revocation, a
chain whose `prev` does not match the stored predecessor, a fork, an op of another
project, an op signed by a key other than its author's, and a member writing what its
role forbids. Each file is one defect: a short log of valid context ops (genesis,
member adds, ...) that a node imports first, then the batch holding the tampered op,
imported as one batch, and the class the tampered op must end in.

Keys, in this order (the file format of Protocol/vectors/ops/):

    area:                admission | revocation | chain | project | signature | role | reading
    expect:              the tampered op's class (Protocol/README.md, "Failure classes")
    comment:             free text: the defect, and the attack it stands for
    project:             the receiving node's project (16 bytes)
    reader_signing_seed: the receiving node's Ed25519 seed (a coordinator admitted in the log)
    reader_box_secret:   the receiving node's X25519 secret key
    log:                 comma-separated envelopes, imported first in one batch; each must land
    batch:               comma-separated envelopes, imported next in one batch
    target:              the id of the op of `batch` that `expect` is about

`expect` is decided by this file's own model of the import path and the view
(Protocol/ops.md sections 4-6), written from the spec, not from the Swift code:
refused at import (wrong_project, bad_signature, not_allowed, broken_chain), else kept
and flagged (fork), else the view's standing of its author (not_member, revoked,
not_allowed), else read (ok) or not (not_for_me).

Signatures follow the chain-vouching rule (ops.md section 6): within one batch, a valid
signature on an author's later op vouches for the ops its `prev` hashes reach in that
batch. So every tampered op meant as bad_signature sits in a batch where no later op of
its author links to it; chain_vouched_middle is the positive control where one does.

Everything is deterministic: Ed25519 signing is, and the sealed boxes of content keys use
fixed ephemeral keys (gen_bundle_vectors.seal_fixed).

Usage:
    python3 scripts/vectors/gen_tamper_vectors.py            # write files
    python3 scripts/vectors/gen_tamper_vectors.py --check    # exit 1 if files differ

Requires: pip install pynacl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nacl.bindings as b

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vectorfiles import emit                       # noqa: E402
import gen_op_vectors as ops                      # noqa: E402  (envelopes, bodies, decoders)
from gen_bundle_vectors import seal_fixed          # noqa: E402  (deterministic sealed boxes)

OUT = ops.REPO / "Protocol" / "vectors" / "tamper"
CLASSES = ops.CLASSES
AREAS = ("admission", "revocation", "chain", "project", "signature", "role", "reading")
KEYS = ("area", "expect", "comment", "project", "reader_signing_seed", "reader_box_secret", "log", "batch", "target")

COORDINATOR, REPORTER_ROLE, LAWYER_ROLE, RELAY_ROLE = 1, 2, 3, 4
T0 = ops.T0


def det(label: str, n: int) -> bytes:
    return ops.det(f"tamper/{label}", n)


class Member(ops.Node):
    def __init__(self, label: str):
        super().__init__(f"tamper/{label}")
        self.label = label
        self.seed = ops.det(f"tamper/{label}/signing seed", 32)


FOUNDER = Member("founder")
READER = Member("reader")          # the receiving node: a coordinator the founder admits
REPORTER = Member("reporter")
LAWYER = Member("lawyer")
RELAY = Member("relay")
COORD2 = Member("second coordinator")
STRANGER = Member("stranger")      # never admitted
NONCE = det("genesis nonce", ops.GENESIS_NONCE_LEN)
PROJECT = ops.derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, NONCE)
OTHER_NONCE = det("other genesis nonce", ops.GENESIS_NONCE_LEN)
OTHER_PROJECT = ops.derive_project(FOUNDER.sign_pk, FOUNDER.box_pk, OTHER_NONCE)
CASE = det("case", ops.CASE_LEN)


def garbage_signature(env: bytes, label: str) -> bytes:
    return env[:-ops.SIG_LEN] + det(f"garbage signature/{label}", ops.SIG_LEN)


class Chain:
    """One author's ops in one project: seq 1, 2, ... each linked to the previous one."""

    def __init__(self, author: Member, project: bytes = PROJECT):
        self.author, self.project = author, project
        self.ops: list[bytes] = []

    @property
    def next(self) -> tuple[int, bytes]:
        return len(self.ops) + 1, ops.op_id(self.ops[-1]) if self.ops else ops.ZERO_ID

    def keep(self, env: bytes) -> bytes:
        """Appends an op made outside `membership`/`sealed` (a forged signature, say)."""
        self.ops.append(env)
        return env

    def membership(self, body: bytes, *, signer: Member | None = None, prev: bytes | None = None) -> bytes:
        seq, link = self.next
        return self.keep(self._sign(ops.KIND_MEMBERSHIP, seq, link if prev is None else prev, body, signer))

    def genesis(self, nonce: bytes = NONCE) -> bytes:
        return self.membership(ops.genesis_body(self.author, nonce))

    def add(self, member: Member, role: int, **kw) -> bytes:
        return self.membership(ops.add_body(member, role), **kw)

    def revoke(self, member: Member, from_seq: int) -> bytes:
        return self.membership(ops.revoke_body(member, from_seq))

    def sealed(self, value: str, readers: list[Member] | None = None, *, signer: Member | None = None,
               prev: bytes | None = None, append: bool = True) -> bytes:
        """A put of `value` into the case's "summary", in a sealing session of its own, sealed to `readers`
        (default: the founder and the reader, the coordinators)."""
        seq, link = self.next
        link = link if prev is None else prev
        label = f"{self.author.label}/{self.project.hex()}/{seq}/{value}"
        session, key, nonce = det(f"session/{label}", ops.SESSION_ID_LEN), det(f"key/{label}", 32), det(f"nonce/{label}", ops.NONCE_LEN)
        rs = sorted(readers if readers is not None else [FOUNDER, READER], key=lambda n: n.box_pk)
        entries = [seal_fixed(key, r.box_pk, det(f"entry/{label}/{r.label}", 32)) for r in rs]
        hdr = ops.header(ops.KIND_SEALED, self.project, self.author.sign_pk, seq, link)
        plain = ops.payload(ops.hlc(T0 + 1000 * seq, 0), [ops.put(CASE, "", "", "summary", value)])
        body = ops.sealed_body(session, entries, nonce, key, plain, hdr)
        env = self._sign(ops.KIND_SEALED, seq, link, body, signer)
        return self.keep(env) if append else env

    def derived(self, value: str, parent_id: bytes, parent_key: bytes, *, announce: bool,
                readers: list[Member] | None = None, append: bool = True) -> bytes:
        """A put of `value` in a session whose key derives from the parent `parent_id` (ops.md
        section 2): flag 2 with the parent key's entries when `announce`, else flag 3."""
        seq, link = self.next
        label = f"{self.author.label}/{self.project.hex()}/{seq}/{value}"
        session, nonce = det(f"session/{label}", ops.SESSION_ID_LEN), det(f"nonce/{label}", ops.NONCE_LEN)
        body = bytes([ops.SEALED_VERSION]) + session
        if announce:
            rs = sorted(readers if readers is not None else [FOUNDER, READER], key=lambda n: n.box_pk)
            entries = [seal_fixed(parent_key, r.box_pk, det(f"entry/{label}/{r.label}", 32)) for r in rs]
            body += b"\x02" + parent_id + ops.u16(len(entries)) + b"".join(entries)
        else:
            body += b"\x03" + parent_id
        hdr = ops.header(ops.KIND_SEALED, self.project, self.author.sign_pk, seq, link)
        plain = ops.payload(ops.hlc(T0 + 1000 * seq, 0), [ops.put(CASE, "", "", "summary", value)])
        key = ops.derive_session_key(parent_key, self.author.sign_pk, session)
        body += nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, hdr, nonce, key)
        env = self._sign(ops.KIND_SEALED, seq, link, body, None)
        return self.keep(env) if append else env

    def _sign(self, kind: int, seq: int, prev: bytes, body: bytes, signer: Member | None) -> bytes:
        signed = ops.header(kind, self.project, self.author.sign_pk, seq, prev) + ops.u32(len(body)) + body
        return signed + (signer or self.author).sign(signed)


def base(*members: tuple[Member, int]) -> tuple[Chain, list[bytes]]:
    """The founder's genesis, the reader's admission as a coordinator, then `members`."""
    f = Chain(FOUNDER)
    log = [f.genesis(), f.add(READER, COORDINATOR)]
    log += [f.add(m, role) for m, role in members]
    return f, log


# ---------------------------------------------------------------- the model (ops.md sections 4-6)

class Node:
    """A receiving node: its store (ops, forks) and its keys; `offer` is OpStore.importEnvelopes
    with Node.screen, `judge` the view's verdict on one stored op."""

    def __init__(self, project: bytes, reader: Member):
        self.project, self.reader = project, reader
        self.ops: dict[bytes, dict] = {}                # id -> decoded envelope
        self.forks: set[tuple[bytes, int]] = set()
        self.refused: dict[bytes, str] = {}

    def at(self, author: bytes, seq: int) -> list[bytes]:
        return [i for i, e in self.ops.items() if e["author"] == author and e["seq"] == seq]

    def offer(self, batch: list[bytes]) -> tuple[int, dict[bytes, str]]:
        refused: dict[bytes, str] = {}
        decoded = []
        for raw in batch:
            try:
                decoded.append(ops.decode_envelope(raw))
            except ops.Refused as e:
                refused[ops.op_id(raw)] = e.cls
        screen = self.membership()
        good = set()
        for e in decoded:
            try:
                ops.verify(e)
                good.add(e["id"])
            except ops.Refused:
                pass
        # A verified op vouches for the op of its author at seq - 1 whose id is its prev, and so on down.
        by_id = {e["id"]: e for e in decoded}
        vouched = set(good)
        frontier = list(good)
        while frontier:
            e = by_id[frontier.pop()]
            below = by_id.get(e["prev"])
            if below and below["author"] == e["author"] and below["seq"] == e["seq"] - 1 and below["id"] not in vouched:
                vouched.add(below["id"])
                frontier.append(below["id"])
        new = 0
        for e in sorted(decoded, key=lambda e: (e["author"], e["seq"])):
            if e["project"] != self.project:
                refused[e["id"]] = "wrong_project"
                continue
            if e["id"] in self.ops:
                continue
            if e["id"] not in vouched:
                refused[e["id"]] = "bad_signature"
                continue
            member = screen["members"].get(e["author"])
            if member is not None:
                if e["kind"] == ops.KIND_MEMBERSHIP and member["role"] != COORDINATOR:
                    refused[e["id"]] = "not_allowed"
                    continue
                if e["kind"] == ops.KIND_SEALED and member["role"] not in (COORDINATOR, REPORTER_ROLE):
                    refused[e["id"]] = "not_allowed"
                    continue
            siblings = self.at(e["author"], e["seq"])
            if e["seq"] > 1:
                before = self.at(e["author"], e["seq"] - 1)
                if before and e["prev"] not in before:
                    refused[e["id"]] = "broken_chain"
                    continue
            self.ops[e["id"]] = e
            new += 1
            if siblings:
                self.forks.add((e["author"], e["seq"]))
        self.refused.update(refused)
        return new, refused

    def membership(self) -> dict:
        """Protocol/membership.md "Derivation": a well-founded fixpoint over revocation ops,
        then the tie-break for concurrent revocations that undo each other."""
        changes = []
        for e in sorted(self.ops.values(), key=lambda e: (e["author"], e["seq"], e["id"])):
            if e["kind"] == ops.KIND_MEMBERSHIP:
                try:
                    changes.append((e, ops.decode_membership(e["body"])))
                except ops.Refused:
                    pass
        genesis = None
        for e, c in changes:
            if (c[0] == "genesis" and e["seq"] == 1 and e["author"] == c[1]
                    and ops.derive_project(c[1], c[2], c[3]) == self.project and (genesis is None or e["id"] < genesis[0]["id"])):
                genesis = (e, c)
        if genesis is None:
            return dict(members={})
        revocations = {}                                 # op id -> (author, target, point)
        for e, c in changes:
            if c[0] == "revoke" and c[1] != e["author"]:
                revocations[e["id"]] = (e["author"], c[1], ("legacy", c[2]))
            elif c[0] == "revoke2" and c[1] != e["author"]:
                revocations[e["id"]] = (e["author"], c[1], ("nothing",) if c[3] is None else ("op", c[3], c[2]))

        def ancestors(author: bytes, point: tuple) -> set:
            held = {i: e for i, e in self.ops.items() if e["author"] == author}
            if point[0] == "nothing":
                return set()
            if point[0] == "legacy":
                at = [i for i, e in held.items() if e["seq"] == point[1]]
                if point[1] == 0 or len(at) != 1:
                    return set()
                cur = at[0]
            else:
                cur = point[1]
            out = set()
            while cur in held and cur not in out:
                out.add(cur)
                e = held[cur]
                below = held.get(e["prev"])
                if e["seq"] <= 1 or below is None or below["seq"] != e["seq"] - 1:
                    break
                cur = e["prev"]
            return out

        g, gc = genesis

        def evaluate(effective: set) -> dict:
            points: dict[bytes, list] = {}
            for op in sorted(effective):
                if op in revocations:
                    points.setdefault(revocations[op][1], []).append(revocations[op][2])
            genuine = {}
            for target, ps in points.items():
                sets = [ancestors(target, p) for p in ps]
                genuine[target] = set.intersection(*sets)

            def stands(e) -> bool:
                return e["id"] == g["id"] or e["author"] not in genuine or e["id"] in genuine[e["author"]]

            members = {gc[1]: dict(role=COORDINATOR, box=gc[2], admitted_by=g["id"], depth=0)}

            def manages(e) -> bool:
                m = members.get(e["author"])
                return m is not None and m["role"] == COORDINATOR and stands(e)

            pending = [(e, c) for e, c in changes if c[0] == "add"]
            progressed = True
            while progressed:
                progressed = False
                rest = []
                for e, c in pending:
                    if not manages(e):
                        rest.append((e, c))
                        continue
                    progressed = True
                    if c[1] not in members:
                        members[c[1]] = dict(role=c[3], box=c[2], admitted_by=e["id"], depth=members[e["author"]]["depth"] + 1)
                    elif c[3] < members[c[1]]["role"]:
                        # The most capable role any standing add gives (codes: 1 coordinator ... 4 relay).
                        members[c[1]]["role"] = c[3]
                pending = rest
            valid = {e["id"] for e, c in changes if e["id"] in revocations and manages(e)}
            for target, ps in points.items():
                if target in members:
                    members[target]["revoked"] = True
                    members[target]["genuine"] = genuine[target]
            return dict(members=members, valid=valid)

        set_aside: set = set()
        lower: set = set()
        for _ in range(len(revocations) + 1):
            lower = set()
            upper: set = set()
            for _ in range(64):
                upper = evaluate(lower)["valid"] - set_aside
                nxt = evaluate(upper)["valid"] - set_aside
                if nxt == lower:
                    break
                lower = nxt
            undecided = upper - lower
            if not undecided:
                break
            optimistic = evaluate(lower)["members"]
            certain = set(evaluate(upper)["members"])
            revoking: dict[bytes, set] = {}
            accusers: dict[bytes, set] = {}
            for op in undecided:
                a, t, _ = revocations[op]
                revoking.setdefault(a, set()).add(t)
                if a in certain:
                    accusers.setdefault(t, set()).add(a)

            def rank(k: bytes) -> tuple:
                m = optimistic.get(k)
                depth = m["depth"] if m else 1 << 62
                tail = (m["admitted_by"] if m else b"") + b"\x00" + k
                # The greatest rank is set aside; the smaller tail loses the last tie.
                return (0 if k in certain else 1, len(revoking.get(k, ())), len(accusers.get(k, ())), -depth,
                        [-x for x in tail] + [1])
            uncertain = {a for a in revoking if a not in certain}
            if uncertain:
                # Rule 1 sets aside every author whose admission hangs on the cycle, in one round.
                set_aside |= {op for op in undecided if revocations[op][0] in uncertain}
                continue
            loser = max(revoking, key=rank)
            set_aside |= {op for op in undecided if revocations[op][0] == loser}
        return evaluate(lower)

    def judge(self, target: bytes) -> str:
        if target in self.refused:
            return self.refused[target]
        e = self.ops[target]
        if (e["author"], e["seq"]) in self.forks:
            return "fork"
        m = self.membership()["members"].get(e["author"])
        if m is None:
            return "not_member"
        if m.get("revoked") and target not in m["genuine"]:
            return "revoked"
        if m["role"] not in (COORDINATOR, REPORTER_ROLE):
            return "not_allowed"
        if e["kind"] == ops.KIND_MEMBERSHIP:
            return "ok"
        body = ops.decode_sealed(e["body"])
        if body["parent_id"] is None:
            key = ops.open_entries(body["entries"] or [], self.reader.box_sk)
        else:
            # The parent slot is the author's own: the first of its flag-2 ops up to this one,
            # in chain order, whose entries open for the reader.
            parent = None
            for o in sorted((o for o in self.ops.values() if o["author"] == e["author"] and o["seq"] <= e["seq"]
                             and o["kind"] == ops.KIND_SEALED), key=lambda o: o["seq"]):
                ob = ops.decode_sealed(o["body"])
                if ob["parent_id"] == body["parent_id"] and ob["parent_entries"] is not None:
                    parent = ops.open_entries(ob["parent_entries"], self.reader.box_sk)
                    if parent is not None:
                        break
            key = None if parent is None else ops.derive_session_key(parent, e["author"], body["session_id"])
        if key is None:
            return "not_for_me"
        plain = b.crypto_aead_xchacha20poly1305_ietf_decrypt(body["ciphertext"], e["header"], body["nonce"], key)
        ops.decode_payload(plain)
        return "ok"


# ---------------------------------------------------------------- files

def render(name: str, fields: dict) -> str:
    assert list(fields) == [k for k in KEYS if k in fields] and all(k in fields for k in KEYS), name
    assert fields["area"] in AREAS and fields["expect"] in CLASSES, name
    assert name.startswith(fields["area"] + "_") and name.endswith(".txt"), name
    assert "\n" not in fields["comment"] and fields["comment"], name
    lines = []
    for k, v in fields.items():
        if isinstance(v, list):
            v = ",".join(x.hex() for x in v)
        elif isinstance(v, bytes):
            v = v.hex()
        lines.append(f"{k}: {v}")
    return "\n".join(lines) + "\n\n"


class Corpus:
    def __init__(self):
        self.files: dict[str, str] = {}

    def add(self, name: str, expect: str, comment: str, log: list[bytes], batch: list[bytes], target: bytes) -> None:
        area = name.split("_", 1)[0]
        assert target in batch, name
        node = Node(PROJECT, READER)
        new, refused = node.offer(log)
        assert new == len(log) and not refused, f"{name}: the log is not valid context: {refused}"
        node.offer(batch)
        got = node.judge(ops.op_id(target))
        assert got == expect, f"{name}: built as {expect}, judged {got}"
        fields = dict(area=area, expect=expect, comment=comment, project=PROJECT, reader_signing_seed=READER.seed,
                      reader_box_secret=READER.box_sk, log=log, batch=batch, target=ops.op_id(target))
        file = f"{name}.txt"
        assert file not in self.files, file
        self.files[file] = render(file, fields)


def build() -> dict:
    c = Corpus()

    # admission: ops by someone no coordinator admitted are kept, and count for nothing
    _, log = base()
    op = Chain(STRANGER).sealed("written by a stranger")
    c.add("admission_sealed_by_stranger", "not_member",
          "a stranger's validly signed sealed op, sealed to both coordinators: kept (its admission may still come) "
          "but shown in no view", log, [op], op)

    _, log = base()
    op = Chain(STRANGER).add(STRANGER, COORDINATOR)
    c.add("admission_add_by_stranger", "not_member",
          "a stranger's membership op making itself a coordinator: only an admitted coordinator's adds count",
          log, [op], op)

    # revocation: a revoked member's ops after fromSeq are quarantined; up to it they stand
    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log += [r.sealed("before the revocation"), f.revoke(REPORTER, 1)]
    op = r.sealed("after the revocation")
    c.add("revocation_sealed_after_revoke", "revoked",
          "the reporter's seq 2 after the founder revoked it from seq 1: a seized device writing on",
          log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    log.append(f.revoke(REPORTER, 1))
    op = Chain(REPORTER).sealed("before the revocation")
    c.add("revocation_sealed_up_to_revoke", "ok",
          "positive control: the reporter's seq 1, arriving after its revocation from seq 1, still counts",
          log, [op], op)

    f, log = base((COORD2, COORDINATOR))
    log.append(f.revoke(COORD2, 0))
    op = Chain(COORD2).add(STRANGER, COORDINATOR)
    c.add("revocation_add_after_revoke", "revoked",
          "a coordinator revoked from seq 0 admits a stranger as coordinator at its seq 1: a revoked "
          "key must not mint new members", log, [op], op)

    # revocation (v2): the named op and its chain ancestors stand, nothing else of that author
    f, log = base((COORD2, COORDINATOR))
    c2 = Chain(COORD2)
    first, genuine2, genuine3 = c2.sealed("one"), c2.sealed("two"), c2.sealed("three")
    log += [first, genuine3, f.membership(ops.revoke_body_v2(COORD2, ops.op_id(genuine3), 3))]
    fork = Chain(COORD2)
    fork.keep(first)
    op = fork.add(STRANGER, COORDINATOR)
    c.add("revocation_fork_below_named_op", "revoked",
          "a seizer forks the revoked coordinator's chain at seq 2 (below the named seq 3; this node never held the "
          "genuine seq 2) with a member add: not an ancestor of the named op, so quarantined, not obeyed",
          log, [op], op)
    c.add("revocation_ancestor_of_named_op", "ok",
          "positive control: the genuine seq 2, arriving after the revocation that named seq 3, is its ancestor and stands",
          log, [genuine2], genuine2)

    f, log = base((COORD2, COORDINATOR))
    c2 = Chain(COORD2)
    log.append(c2.membership(ops.revoke_body_v2(FOUNDER, ops.op_id(log[2]), 3)))
    op = f.add(STRANGER, COORDINATOR)
    c.add("revocation_of_founder", "revoked",
          "a second coordinator revokes the founder's seized device, naming its seq 3; the seizer's later add of its "
          "own coordinator with the founder's key is quarantined: the founder is revocable like anyone",
          log, [op], op)

    f, log = base((COORD2, COORDINATOR))
    c2 = Chain(COORD2)
    log.append(f.membership(ops.revoke_body_v2(COORD2, None, 0)))
    op = c2.sealed("written with a key revoked from its first op")
    c.add("revocation_v2_nothing", "revoked",
          "a version 2 revoke with seq 0 and the zero id: not even the member's first op counts", log, [op], op)

    # chain: prev must be the stored predecessor; two ops at one seq are a fork
    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    op = r.sealed("spliced", prev=ops.blake2b(b"no such op", 32), append=False)
    c.add("chain_prev_mismatch", "broken_chain",
          "the reporter's seq 2, validly signed, whose prev is not the id of its stored seq 1: an op spliced "
          "into a chain it does not extend", log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    op = r.sealed("linked elsewhere", prev=ops.op_id(log[0]), append=False)
    c.add("chain_prev_other_author", "broken_chain",
          "the reporter's seq 2 whose prev is the founder's genesis (another author's op) instead of its own seq 1",
          log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log += [r.sealed("first"), r.sealed("second")]
    op = Chain(REPORTER)
    op.keep(log[-2])
    op = op.sealed("second, other version")
    c.add("chain_fork", "fork",
          "a second, different seq 2 of the reporter with the same prev: a copied key used on two devices; "
          "kept and flagged, never silently chosen between", log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    op = r.sealed("second")
    c.add("chain_extends_head", "ok",
          "positive control: the reporter's seq 2 linked to its stored seq 1", log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    middle = r.keep(garbage_signature(r.sealed("second", append=False), "vouched middle"))
    head = r.sealed("third")
    c.add("chain_vouched_middle", "ok",
          "positive control: the reporter's seq 2 carries 64 garbage bytes for a signature, but its seq 3 in "
          "the same batch is validly signed and its prev is seq 2's id: the head vouches for the hash below it",
          log, [middle, head], middle)

    # project: an op valid in another project is refused here
    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER, OTHER_PROJECT).sealed("for the other project")
    c.add("project_sealed_other_project", "wrong_project",
          "the reporter's validly signed sealed op of another project (the same founder's) replayed into this one",
          log, [op], op)

    _, log = base()
    other = Chain(FOUNDER, OTHER_PROJECT)
    other.genesis(OTHER_NONCE)
    op = other.add(STRANGER, COORDINATOR)
    c.add("project_add_other_project", "wrong_project",
          "the founder's admission of a stranger as coordinator in another project, replayed into this one: "
          "the header names the other project", log, [op], op)

    # signature: bytes no key in the header signed, with nothing later in the batch to vouch for them
    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER).sealed("in the reporter's name", signer=STRANGER)
    c.add("signature_other_key", "bad_signature",
          "a sealed op whose author field is the reporter but which the stranger signed: forged authorship",
          log, [op], op)

    f, log = base()
    op = f.add(STRANGER, COORDINATOR, signer=STRANGER)
    c.add("signature_add_claims_founder", "bad_signature",
          "the founder's seq 3, linked to its seq 2, admitting the stranger as coordinator, signed by the stranger: "
          "a takeover needs the founder's key", log, [op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    first = r.sealed("first")
    op = r.keep(garbage_signature(r.sealed("second", append=False), "head"))
    c.add("signature_garbage_head", "bad_signature",
          "the reporter's seq 1 then seq 2 in one batch; seq 2 (the head) has a garbage signature, and nothing "
          "later vouches for it", log, [first, op], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    honest = r.sealed("second", append=False)
    op = garbage_signature(honest, "not linked")
    r.keep(honest)
    later = r.sealed("third")
    c.add("signature_garbage_not_linked", "bad_signature",
          "the reporter's seq 2 with a garbage signature, and its validly signed seq 3 in the same batch; seq 3's "
          "prev is the id of the honest seq 2, not of these bytes, so it vouches for nothing here",
          log, [op, later], op)

    f, log = base((REPORTER, REPORTER_ROLE))
    r = Chain(REPORTER)
    log.append(r.sealed("first"))
    op = r.keep(garbage_signature(r.sealed("second", append=False), "other author"))
    s = Chain(STRANGER)
    s.keep(log[-1])  # the stranger's seq 2 links to bytes in the reporter's name
    voucher = s.sealed("vouching in another's name", prev=ops.op_id(op))
    c.add("signature_vouched_by_other_author", "bad_signature",
          "the reporter's seq 2 with a garbage signature, and in the same batch a stranger's validly signed seq 2 "
          "whose prev is its id: only an op's own author can vouch for it", log, [op, voucher], op)

    # role: a member this node knows writing what its role forbids is refused at the door
    _, log = base((LAWYER, LAWYER_ROLE))
    op = Chain(LAWYER).sealed("a lawyer's note")
    c.add("role_lawyer_sealed", "not_allowed", "a sealed op signed by an admitted lawyer: lawyers only read",
          log, [op], op)

    _, log = base((RELAY, RELAY_ROLE))
    op = Chain(RELAY).sealed("a relay's note")
    c.add("role_relay_sealed", "not_allowed",
          "a sealed op signed by an admitted relay: a relay stores and forwards, and writes nothing", log, [op], op)

    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER).add(STRANGER, COORDINATOR)
    c.add("role_reporter_add", "not_allowed",
          "an admitted reporter admits the stranger as coordinator: only coordinators change membership",
          log, [op], op)

    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER).revoke(READER, 0)
    c.add("role_reporter_revoke", "not_allowed",
          "an admitted reporter revokes the reader (a coordinator) from seq 0", log, [op], op)

    _, log = base((LAWYER, LAWYER_ROLE))
    op = Chain(LAWYER).add(STRANGER, LAWYER_ROLE)
    c.add("role_lawyer_add", "not_allowed", "an admitted lawyer admits the stranger as a lawyer", log, [op], op)

    _, log = base((RELAY, RELAY_ROLE))
    op = Chain(RELAY).revoke(REPORTER, 0)
    c.add("role_relay_revoke", "not_allowed", "an admitted relay revokes a member", log, [op], op)

    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER).sealed("a reporter's note")
    c.add("role_reporter_sealed", "ok", "positive control: a sealed op by an admitted reporter, read by the reader",
          log, [op], op)

    # reading: valid and counted, but not sealed to this node
    _, log = base((REPORTER, REPORTER_ROLE))
    op = Chain(REPORTER).sealed("for the founder only", readers=[FOUNDER])
    c.add("reading_not_sealed_to_reader", "not_for_me",
          "the reporter's op sealed to the founder alone (its key entry opens for no one else): stored and "
          "forwarded, unreadable here", log, [op], op)

    # reading: parents are per author, so one member cannot take over another's parent id
    shared_id = det("parent id", ops.SESSION_ID_LEN)
    victim, attacker = sorted([FOUNDER, REPORTER], key=lambda m: m.sign_pk, reverse=True)
    f, log = base((REPORTER, REPORTER_ROLE))
    chains = {FOUNDER.sign_pk: f, REPORTER.sign_pk: Chain(REPORTER)}
    log.append(chains[victim.sign_pk].derived("the batch's first case", shared_id, det("victim parent", 32), announce=True))
    log.append(chains[attacker.sign_pk].derived("a planted parent", shared_id, det("attacker parent", 32), announce=True))
    op = chains[victim.sign_pk].derived("the batch's second case", shared_id, det("victim parent", 32), announce=False)
    c.add("reading_parent_id_taken_by_another", "ok",
          f"the {attacker.label} announces the {victim.label}'s parent id with a key of its own (its ops sort first); "
          f"the {victim.label}'s next session names that parent only (flag 3) and is still read: a parent's slot "
          "is (author, parent id)", log, [op], op)
    return c.files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args()

    files = build()
    return emit(OUT, files, args.check)


if __name__ == "__main__":
    sys.exit(main())
