#!/usr/bin/env python3
"""A Python CRDT library running the workload sandyq-bench's "peer-crdt" phase runs on Sandyq.

    crdt_peer.py --lib loro|pycrdt|automerge [--records 10000] [--edits 5000]

Two replicas, A and B. A creates R records of 10 string fields, then B receives A's full
state. Both make E concurrent single-field edits (no exchange in between) on overlapping
records, then exchange deltas both ways: each side exports what the other is known to hold
(the other's version at replication, as Sandyq's acknowledgement) and the other imports it.
Finally both states are compared. Prints one JSON object; a library that cannot be imported
is reported with "available": false rather than failing.

The records, the fields edited and the values are the same as the Sandyq phase's
(Sources/SandyqBench/Peers.swift, `PeerWorkload`): keep the two in step.
"""
import argparse
import json
import resource
import sys
import time

FIRST = ["Мұхтар", "Ерлан", "Айгүл", "Жанболат", "Нұрлан", "Әсем", "Гүлнар", "Қайрат",
         "Сәуле", "Дәурен", "Ольга", "Сергей", "Асель", "Ринат", "Бақытжан", "Жұлдыз"]
LAST = ["Ахметов", "Серікбаев", "Құдайбергенов", "Исмаилов", "Оспанов", "Жұмабаев",
        "Төлеуов", "Байғабылов", "Петренко", "Сейітов", "Нұрғалиев", "Әбдірахманов"]
CITIES = ["Алматы", "Астана", "Шымкент", "Ақтөбе", "Жаңаөзен", "Орал", "Қарағанды", "Өскемен"]
REGIONS = ["Алматинская область", "Мангистауская область", "Карагандинская область", "Западно-Казахстанская область"]
ARTICLES = ["174", "405", "272", "400", "274"]
CHARGES = ["Возбуждение социальной розни", "Участие в деятельности запрещённой организации",
           "Призывы к массовым беспорядкам", "Нарушение порядка проведения собрания",
           "Распространение заведомо ложной информации"]
EVENTS = ["Задержан у дома сотрудниками полиции, изъят телефон",
          "Обыск по месту жительства, изъяты ноутбук и листовки",
          "Доставлен в ИВС, адвокат допущен через сутки",
          "Суд санкционировал арест на два месяца"]
SUMMARIES = ["Задержан после публикации поста о митинге; родственники не извещены в срок.",
             "Адвокат сообщает о давлении при допросе; ходатайство об экспертизе отклонено.",
             "Мера пресечения продлена ещё на месяц, свидания с семьёй запрещены.",
             "Освобождён под домашний арест, обязан носить электронный браслет.",
             "Кассационная жалоба подана; ждём назначения даты рассмотрения.",
             "Свидетели защиты не допущены, приговор оглашён в отсутствие прессы."]
STATUSES = ["under_investigation", "detained", "house_arrest", "restricted_freedom", "sentenced",
            "psychiatric_confinement", "released", "acquitted", "exile", "missing", "deceased"]
# Sandyq's eight plain case fields, then the first person's name and the first charge's article.
FIELDS = ["ref", "title", "status", "statusDate", "city", "region", "summary", "notes", "name", "article"]
BATCH = 1000


def date(s):
    return "%d-%02d-%02d" % (2019 + s % 6, 1 + s % 12, 1 + s % 28)


def value(field, s):
    if field == "ref": return "KZ-%07d" % s
    if field == "title": return "%s %s — %s" % (FIRST[s % 16], LAST[s % 12], CHARGES[s % 5])
    if field == "status": return STATUSES[s % 11]
    if field == "statusDate": return date(s)
    if field == "city": return CITIES[s % 8]
    if field == "region": return REGIONS[s % 4]
    if field == "summary": return SUMMARIES[s % 6]
    if field == "notes": return EVENTS[s % 4] + ", " + date(s)
    if field == "name": return "%s %s" % (FIRST[(s * 7) % 16], LAST[(s * 5) % 12])
    if field == "article": return ARTICLES[s % 5]
    raise ValueError(field)


def key(i):
    return "case-%06d" % i


def edits(side, records, count):
    """(record, field, value) for one side's concurrent edits. A edits records 0..E-1, B the
    records from R/4 on, so some records are edited on both sides; on even ones both sides
    write the same field (a true conflict), on odd ones different fields."""
    out = []
    for k in range(count):
        if side == "A":
            r = k % records
            f = r % 10
            s = 1_000_000 + k
        else:
            r = (records // 4 + k) % records
            f = (r + r % 2) % 10
            s = 2_000_000 + k
        out.append((r, FIELDS[f], value(FIELDS[f], s)))
    return out


class Loro:
    name = "loro"

    def __init__(self):
        import loro
        self.m = loro
        self.version = getattr(loro, "LORO_VERSION", None) or _dist_version("loro")

    def new(self):
        return self.m.LoroDoc()

    def create(self, doc, records):
        root = doc.get_map("records")
        for i in range(records):
            rec = root.insert_container(key(i), self.m.LoroMap())
            for f in FIELDS:
                rec.insert(f, value(f, i))
            if (i + 1) % BATCH == 0:
                doc.commit()
        doc.commit()

    def edit(self, doc, es):
        root = doc.get_map("records")
        for n, (r, f, v) in enumerate(es):
            root.get(key(r)).container.insert(f, v)
            if (n + 1) % BATCH == 0:
                doc.commit()
        doc.commit()

    def full(self, doc):
        return doc.export(self.m.ExportMode.Snapshot())

    def version_of(self, doc):
        return doc.oplog_vv

    def delta(self, doc, since):
        return doc.export(self.m.ExportMode.Updates(since))

    def apply(self, doc, data):
        doc.import_(data)

    def state(self, doc):
        return doc.get_deep_value()


class Pycrdt:
    name = "pycrdt"

    def __init__(self):
        import pycrdt
        self.m = pycrdt
        self.version = _dist_version("pycrdt")

    def new(self):
        d = self.m.Doc()
        d["records"] = self.m.Map()
        return d

    def create(self, doc, records):
        root = doc.get("records", type=self.m.Map)
        for start in range(0, records, BATCH):
            with doc.transaction():
                for i in range(start, min(records, start + BATCH)):
                    root[key(i)] = self.m.Map({f: value(f, i) for f in FIELDS})

    def edit(self, doc, es):
        root = doc.get("records", type=self.m.Map)
        for start in range(0, len(es), BATCH):
            with doc.transaction():
                for r, f, v in es[start:start + BATCH]:
                    root[key(r)][f] = v

    def full(self, doc):
        return doc.get_update()

    def version_of(self, doc):
        return doc.get_state()

    def delta(self, doc, since):
        return doc.get_update(since)

    def apply(self, doc, data):
        doc.apply_update(data)

    def state(self, doc):
        return doc.get("records", type=self.m.Map).to_py()


class Automerge:
    """Automerge's Python bindings have no "changes since" export: deltas go through its sync
    protocol (heads and Bloom filters, then the missing changes), counted per direction."""
    name = "automerge"

    def __init__(self):
        from automerge import core
        self.core = core
        self.version = _dist_version("automerge")

    def new(self):
        return self.core.Document()

    def create(self, doc, records):
        c = self.core
        for start in range(0, records, BATCH):
            with doc.transaction() as tx:
                for i in range(start, min(records, start + BATCH)):
                    rec = tx.put_object(c.ROOT, key(i), c.ObjType.Map)
                    for f in FIELDS:
                        tx.put(rec, f, c.ScalarType.Str, value(f, i))

    def edit(self, doc, es):
        c = self.core
        for start in range(0, len(es), BATCH):
            with doc.transaction() as tx:
                for r, f, v in es[start:start + BATCH]:
                    tx.put(tx.get(c.ROOT, key(r))[1], f, c.ScalarType.Str, v)

    def full(self, doc):
        return doc.save()

    def new_from(self, data):
        return self.core.Document.load(data)

    def version_of(self, doc):
        return None

    def exchange(self, a, b):
        sa, sb = self.core.SyncState(), self.core.SyncState()
        gen = recv = 0.0
        ab = ba = rounds = 0
        while rounds < 100:
            rounds += 1
            t = time.perf_counter()
            m = a.generate_sync_message(sa)
            mb = m.encode() if m is not None else None
            gen += time.perf_counter() - t
            if mb is not None:
                ab += len(mb)
                t = time.perf_counter()
                b.receive_sync_message(sb, self.core.Message.decode(mb))
                recv += time.perf_counter() - t
            t = time.perf_counter()
            n = b.generate_sync_message(sb)
            nb = n.encode() if n is not None else None
            gen += time.perf_counter() - t
            if nb is not None:
                ba += len(nb)
                t = time.perf_counter()
                a.receive_sync_message(sa, self.core.Message.decode(nb))
                recv += time.perf_counter() - t
            if mb is None and nb is None:
                break
        return gen, recv, ab, ba, rounds

    def state(self, doc):
        c = self.core

        def walk(obj):
            out = {}
            for k in doc.keys(obj):
                v = doc.get(obj, k)
                out[k] = walk(v[1]) if v[0] == c.ObjType.Map else v[0][1]
            return out
        return walk(c.ROOT)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return None


def peak_mib():
    # VmHWM is this process's own; ru_maxrss also counts the parent's RSS at fork (Linux keeps it across exec).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Clock:
    def __init__(self):
        self.w, self.c = time.perf_counter(), time.process_time()

    def stop(self):
        return time.perf_counter() - self.w, time.process_time() - self.c


def run(lib, records, count):
    out = {"lib": lib.name, "version": lib.version, "available": True, "records": records,
           "fields": len(FIELDS), "edits_per_side": count, "batch": BATCH,
           "python": sys.version.split()[0], "peak_start_MiB": peak_mib()}
    ea, eb = edits("A", records, count), edits("B", records, count)
    both = {r for r, _, _ in ea} & {r for r, _, _ in eb}
    out["records_edited_on_both_sides"] = len(both)
    out["same_field_conflicts"] = len({(r, f) for r, f, _ in ea} & {(r, f) for r, f, _ in eb})

    a = lib.new()
    t = Clock()
    lib.create(a, records)
    out["create_s"], out["create_cpu_s"] = t.stop()

    # Replication: B starts from A's full state.
    t = Clock()
    full = lib.full(a)
    if hasattr(lib, "new_from"):
        b = lib.new_from(full)
    else:
        b = lib.new()
        lib.apply(b, full)
    out["replicate_s"], out["replicate_cpu_s"] = t.stop()
    out["full_bytes"] = len(full)
    # What each side is known to hold once B has A's state (B's acknowledgement).
    va, vb = lib.version_of(a), lib.version_of(b)

    t = Clock()
    lib.edit(a, ea)
    out["edits_a_s"], out["edits_a_cpu_s"] = t.stop()
    t = Clock()
    lib.edit(b, eb)
    out["edits_b_s"], out["edits_b_cpu_s"] = t.stop()

    if hasattr(lib, "exchange"):
        t = Clock()
        gen, recv, ab, ba, rounds = lib.exchange(a, b)
        out["delta_exchange_s"], out["delta_exchange_cpu_s"] = t.stop()
        out["delta_export_s"], out["delta_import_s"] = gen, recv
        out["delta_a_to_b_bytes"], out["delta_b_to_a_bytes"] = ab, ba
        out["sync_rounds"] = rounds
    else:
        t = Clock()
        d_ab = lib.delta(a, vb)
        d_ba = lib.delta(b, va)
        out["delta_export_s"], out["delta_export_cpu_s"] = t.stop()
        t = Clock()
        lib.apply(b, d_ab)
        lib.apply(a, d_ba)
        out["delta_import_s"], out["delta_import_cpu_s"] = t.stop()
        out["delta_exchange_s"] = out["delta_export_s"] + out["delta_import_s"]
        out["delta_exchange_cpu_s"] = out["delta_export_cpu_s"] + out["delta_import_cpu_s"]
        out["delta_a_to_b_bytes"] = len(d_ab)
        out["delta_b_to_a_bytes"] = len(d_ba)

    t = Clock()
    sa, sb = lib.state(a), lib.state(b)
    out["compare_s"], _ = t.stop()
    out["converged"] = sa == sb
    # The merged state must hold every record and, where only one side wrote a field, its value.
    recs = sa.get("records", sa) if isinstance(sa, dict) else {}
    out["records_after"] = len(recs)
    written_b = {(r, f) for r, f, _ in eb}
    only_a = [(r, f, v) for r, f, v in ea if (r, f) not in written_b]
    out["one_sided_edits_visible"] = all(recs.get(key(r), {}).get(f) == v for r, f, v in only_a)
    out["peak_MiB"] = peak_mib()
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", required=True, choices=["loro", "pycrdt", "automerge"])
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--edits", type=int, default=5_000)
    a = p.parse_args()
    try:
        lib = {"loro": Loro, "pycrdt": Pycrdt, "automerge": Automerge}[a.lib]()
    except Exception as e:  # not installed: the bench reports it and goes on
        print(json.dumps({"lib": a.lib, "available": False, "error": "%s: %s" % (type(e).__name__, e)}))
        return 0
    try:
        out = run(lib, a.records, a.edits)
    except Exception as e:
        out = {"lib": a.lib, "version": lib.version, "available": True, "failed": True,
               "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
