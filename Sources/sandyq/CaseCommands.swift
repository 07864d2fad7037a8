import ArgumentParser
import Foundation
import SandyqNode

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Record, change and read cases.",
        subcommands: [Add.self, Edit.self, Show.self, List.self, EventCommand.self, Conflicts.self, Resolve.self,
                      Archive.self, Import.self, Share.self, Duplicates.self, Merge.self, CaseAttach.self, Withdraw.self])

    /// Fields a person can give as flags on `case add` and `case edit`.
    struct CaseFields: ParsableArguments {
        @Option(help: "A short title.") var title: String?
        @Option(help: "Status: \(CaseSchema.statuses.joined(separator: ", ")).") var status: String?
        @Option(help: "Date the status took effect (YYYY-MM-DD).") var statusDate: String?
        @Option(help: "City.") var city: String?
        @Option(help: "Region.") var region: String?
        @Option(help: "Summary.") var summary: String?
        @Option(help: "Free-text notes.") var notes: String?
        @Option(help: "An external reference, e.g. seed-01.") var ref: String?

        var pairs: [(String, String)] {
            [("title", title), ("status", status), ("statusDate", statusDate), ("city", city), ("region", region),
             ("summary", summary), ("notes", notes), ("ref", ref)].compactMap { k, v in v.map { (k, $0) } }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a new case from a JSON document (--file FILE, --stdin), at the prompt (a terminal and no flags), or from flags.",
            discussion: "On a write-only node give the text with --stdin, --file or at the prompt: flags leave it in shell history and the process list.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var fields: CaseFields
        @Option(help: "A person's name (repeat for several).") var person: [String] = []
        @Option(help: "A charge as CODE:ARTICLE, e.g. criminal:405 (repeat for several).") var charge: [String] = []
        @Option(help: "A tag (repeat for several).") var tag: [String] = []
        @Option(help: "Read the case as JSON from FILE ('-' for stdin).") var file: String?
        @Flag(help: "Read the case as JSON from stdin (as --file -).") var stdin = false

        /// The content flags given, by name, for the write-only warning.
        var contentFlags: [String] {
            fields.pairs.map { ContentInput.flagName($0.0) } + (person.isEmpty ? [] : ["person"])
                + (charge.isEmpty ? [] : ["charge"]) + (tag.isEmpty ? [] : ["tag"])
        }

        func validate() throws {
            if stdin && file != nil { throw ValidationError("give --stdin or --file, not both") }
        }

        func run() throws {
            try sandyq.run {
                var doc: CaseDocument
                if let source = stdin ? "-" : file {
                    doc = try decodeJSON(CaseDocument.self, from: try readInput(source))
                } else if contentFlags.isEmpty && ContentInput.stdinIsTerminal {
                    doc = CaseAddPrompt.read()
                } else {
                    doc = CaseDocument()
                }
                for (k, v) in fields.pairs {
                    switch k {
                    case "title": doc.title = v
                    case "status": doc.status = v
                    case "statusDate": doc.statusDate = v
                    case "city": doc.city = v
                    case "region": doc.region = v
                    case "summary": doc.summary = v
                    case "notes": doc.notes = v
                    default: doc.ref = v
                    }
                }
                for p in person { doc.persons = (doc.persons ?? []) + [CaseDocument.Person(name: p)] }
                for c in charge {
                    let parts = c.split(separator: ":", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { throw CLIError(.usage, "--charge wants CODE:ARTICLE, e.g. criminal:405") }
                    var ch = CaseDocument.Charge(); ch.code = parts[0]; ch.article = parts[1]
                    doc.charges = (doc.charges ?? []) + [ch]
                }
                if !tag.isEmpty { doc.tags = (doc.tags ?? []) + tag }
                let n = try node.open()
                ContentInput.warnIfWriteOnly(n, flags: contentFlags)
                let warnings = try n.search.duplicateWarnings(for: [doc])[0]
                let id = try PhaseFile.writing { try n.cases.add(doc) }
                DuplicateWarnings.printToStderr(warnings.map { DuplicateWarnings.text($0) })
                if output.json {
                    struct Out: Encodable { var id: String; var warnings: [DuplicateWarningJSON] }
                    try printJSON(Out(id: id.description, warnings: warnings.map {
                        DuplicateWarningJSON(sameAs: $0.caseId, sameAsRef: $0.ref, name: $0.matchedName, existingName: $0.name, score: $0.score)
                    }))
                } else { say("Recorded case \(id.short) (\(id))") }
            }
        }
    }

    struct Edit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change case fields, or an element's field with --set COLLECTION/ELEMENT/FIELD=VALUE.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id (or a unique prefix of it, or its ref).") var caseRef: String
        @OptionGroup var fields: CaseFields
        @Option(help: "FIELD=VALUE or COLLECTION/ELEMENT/FIELD=VALUE (repeatable).") var set: [String] = []
        @Option(help: "Add a person by name.") var addPerson: [String] = []
        @Option(help: "Add a tag.") var addTag: [String] = []
        @Option(help: "Add an element to COLLECTION (acts, perpetrators, detentions, trials, interventions, sources, ...) with the --with fields.")
        var add: String?
        @Option(help: "FIELD=VALUE of the element --add adds (repeatable); a link (an act's victim) takes an element id or a unique prefix.")
        var with: [String] = []
        @Option(help: "Retract an element: COLLECTION/ELEMENT (e.g. events/3fa2).") var remove: [String] = []
        @Option(help: "Read changes from FILE ('-' for stdin): a JSON object of FIELD or COLLECTION/ELEMENT/FIELD to VALUE.")
        var file: String?
        @Flag(help: "Read the changes from stdin (as --file -).") var stdin = false

        var contentFlags: [String] {
            fields.pairs.map { ContentInput.flagName($0.0) } + (set.isEmpty ? [] : ["set"])
                + (addPerson.isEmpty ? [] : ["add-person"]) + (addTag.isEmpty ? [] : ["add-tag"]) + (add == nil ? [] : ["add"])
        }

        func validate() throws {
            if stdin && file != nil { throw ValidationError("give --stdin or --file, not both") }
            if add == nil && !with.isEmpty { throw ValidationError("--with gives the fields of the element --add adds; give --add COLLECTION") }
            if add != nil && with.isEmpty { throw ValidationError("--add \(add ?? "") needs its fields: --with FIELD=VALUE") }
        }

        func run() throws {
            try sandyq.run {
                var changes = fields.pairs.map { (FieldPath(field: $0.0), $0.1) }
                for s in set { changes.append(try parseAssignment(s)) }
                if let source = stdin ? "-" : file {
                    let object = try decodeJSON([String: String].self, from: try readInput(source))
                    for (k, v) in object.sorted(by: { $0.key < $1.key }) { changes.append((try parseAssignment(k + "=").0, v)) }
                } else if contentFlags.isEmpty && remove.isEmpty && ContentInput.stdinIsTerminal {
                    while let line = ContentInput.prompt("FIELD=VALUE (empty line to finish): ") { changes.append(try parseAssignment(line)) }
                }
                guard !changes.isEmpty || !addPerson.isEmpty || !addTag.isEmpty || !remove.isEmpty || add != nil else {
                    throw CLIError(.usage, "nothing to change: give a field flag, --set, --add-person, --add-tag, --add or --remove")
                }
                var adding: [String: String] = [:]
                for w in with {
                    guard let eq = w.firstIndex(of: "="), eq != w.startIndex else { throw CLIError(.usage, "--with '\(w)' is not FIELD=VALUE") }
                    adding[String(w[..<eq])] = String(w[w.index(after: eq)...])
                }
                let removals = try remove.map { r in
                    let parts = r.split(separator: "/").map(String.init)
                    guard parts.count == 2 else { throw CLIError(.usage, "--remove wants COLLECTION/ELEMENT, e.g. events/3fa2") }
                    return (collection: parts[0], element: parts[1])
                }
                let n = try node.open()
                // Every element named is found before the first write: a bad --remove leaves the case as it was.
                let resolved = try removals.map { (collection: $0.collection, element: try n.cases.element($0.element, of: $0.collection, inCase: caseRef)) }
                ContentInput.warnIfWriteOnly(n, flags: contentFlags)
                var added: String?
                try PhaseFile.writing {
                    if !changes.isEmpty { try n.cases.set(caseRef, fields: changes) }
                    for p in addPerson { try n.cases.addElement(caseRef, collection: "persons", fields: ["name": p]) }
                    for t in addTag { try n.cases.addElement(caseRef, collection: "tags", fields: [:], element: t) }
                    if let add { added = try n.cases.addElement(caseRef, collection: add, fields: adding) }
                    for r in resolved { try n.cases.removeElement(caseRef, collection: r.collection, element: r.element) }
                }
                let c = try n.cases.state(caseRef)
                if output.json { try printJSON(c.document) } else {
                    say("Updated case \(c.id.short)" + (added.map { "; added \(add ?? "") element \($0)" } ?? ""))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one case.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let c = try n.cases.state(caseRef)
                if output.json { try printJSON(CaseJSON(c)); return }
                say(CaseText.render(c), multiline: true)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cases, optionally filtered.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only cases with this status.") var status: String?
        @Option(help: "Only cases with a charge under this article, e.g. 405.") var charge: String?
        @Option(help: "Only cases in this city.") var city: String?
        @Flag(help: "Include archived cases.") var archived = false
        @Flag(help: "Include cases merged into another (`case merge`).") var merged = false

        struct Row: Encodable {
            var id: String; var ref: String?; var title: String?; var status: String?; var city: String?
            var persons: [String]; var charges: [String]; var archived: Bool; var conflicts: Int
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let rows = try n.cases.list().filter { c in
                    (archived || !c.isArchived) && (merged || c.mergedTarget == nil)
                        && (status == nil || c.value("status") == status)
                        && (city == nil || c.value("city")?.lowercased() == city?.lowercased())
                        && (charge == nil || c.elements("charges").contains { c.value("charges", $0, "article") == charge })
                }.map { c in
                    Row(id: c.id.description, ref: c.value("ref"), title: c.value("title"), status: c.value("status"),
                        city: c.value("city"), persons: c.elements("persons").compactMap { c.value("persons", $0, "name") },
                        charges: c.elements("charges").compactMap { e in c.value("charges", e, "article").map { "\(c.value("charges", e, "code") ?? "")/\($0)" } },
                        archived: c.isArchived, conflicts: c.conflicts.count)
                }
                if output.json { try printJSON(rows); return }
                for r in rows {
                    let who = r.persons.joined(separator: ", ")
                    say("\(r.id.prefix(8))  \((r.status ?? "-").padding(toLength: 22, withPad: " ", startingAt: 0))  \(r.city ?? "-")  \(who.isEmpty ? (r.title ?? "") : who)\(r.conflicts > 0 ? "  [\(r.conflicts) conflict(s)]" : "")\(r.archived ? "  [archived]" : "")")
                }
                if rows.isEmpty && !output.json { say("no cases") }
            }
        }
    }

    struct EventCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "event", abstract: "Timeline events.", subcommands: [AddEvent.self])

        struct AddEvent: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a timeline event to a case.")
            @OptionGroup var node: NodeOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "Case id, prefix or ref.") var caseRef: String
            @Option(help: "arrest, search, interrogation, hearing, verdict, appeal, transfer, torture, release, other.") var type: String?
            @Option(help: "YYYY-MM-DD.") var date: String?
            @Option(help: "Where it happened.") var place: String?
            @Option(help: "What happened.") var description: String?
            @Option(help: "A source reference (repeatable).") var source: [String] = []
            @Option(help: "Read the event from FILE ('-' for stdin): a JSON object with type, date, place, description, sources.")
            var file: String?
            @Flag(help: "Read the event from stdin (as --file -).") var stdin = false

            struct EventJSON: Decodable { var type: String?; var date: String?; var place: String?; var description: String?; var sources: [String]? }

            var contentFlags: [String] {
                [("date", date), ("place", place), ("description", description)].compactMap { $0.1 == nil ? nil : $0.0 }
                    + (source.isEmpty ? [] : ["source"])
            }

            func validate() throws {
                if stdin && file != nil { throw ValidationError("give --stdin or --file, not both") }
            }

            func run() throws {
                try sandyq.run {
                    var e = EventJSON(type: type, date: date, place: place, description: description, sources: source.isEmpty ? nil : source)
                    if let src = stdin ? "-" : file {
                        let j = try decodeJSON(EventJSON.self, from: try readInput(src))
                        e = EventJSON(type: j.type ?? type, date: j.date ?? date, place: j.place ?? place,
                                      description: j.description ?? description, sources: j.sources ?? e.sources)
                    } else if contentFlags.isEmpty && ContentInput.stdinIsTerminal {
                        e.type = e.type ?? ContentInput.prompt("Type (arrest, search, hearing, verdict, ... other): ")
                        e.date = ContentInput.prompt("Date (YYYY-MM-DD, empty to skip): ")
                        e.place = ContentInput.prompt("Place (empty to skip): ")
                        e.description = ContentInput.prompt("What happened (empty to skip): ")
                    }
                    guard let type = e.type else { throw CLIError(.usage, "give the event's --type (or \"type\" in --file / --stdin)") }
                    let n = try node.open()
                    ContentInput.warnIfWriteOnly(n, flags: contentFlags)
                    var f = ["type": type]
                    if let date = e.date { f["date"] = date }
                    if let place = e.place { f["place"] = place }
                    if let description = e.description { f["description"] = description }
                    if let sources = e.sources, !sources.isEmpty { f["sources"] = sources.joined(separator: "\n") }
                    let added = try PhaseFile.writing { try n.cases.addElement(caseRef, collection: "events", fields: f) }
                    if output.json { try printJSON(["event": added]) } else { say("Added event \(added)") }
                }
            }
        }
    }

    struct Conflicts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List fields that concurrent edits left with several values.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            struct Value: Encodable { var value: String; var op: String; var author: String; var shown: Bool }
            var caseId: String; var field: String; var values: [Value]
        }

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let v = try n.view()
                var rows: [Row] = []
                for (c, list) in try n.cases.conflicts() {
                    for k in list {
                        let winner = k.writes.last?.op
                        rows.append(Row(caseId: c.id.description, field: k.path.description, values: k.writes.map {
                            .init(value: $0.value, op: $0.op.description,
                                  author: v.membership.members[$0.author]?.node.fingerprint ?? Hex.encode($0.author.bytes.prefix(6)),
                                  shown: $0.op == winner)
                        }))
                    }
                }
                if output.json { try printJSON(rows); return }
                if rows.isEmpty { say("no conflicts") }
                for r in rows {
                    say("case \(r.caseId.prefix(8))  \(r.field):")
                    for x in r.values { say("  \(x.shown ? "*" : " ") \(x.value)    (by \(x.author), op \(x.op.prefix(12)))") }
                }
                if !rows.isEmpty { say("Resolve with: sandyq case resolve CASE FIELD VALUE   (* marks the value shown meanwhile)") }
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Settle a conflict: write VALUE superseding every value the field has now.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Argument(help: "The field, e.g. city or persons/ELEMENT/name.") var field: String
        @Argument(help: "The value to keep.") var value: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let (path, _) = try parseAssignment("\(field)=\(value)")
                try n.cases.set(caseRef, fields: [(path, value)])
                let c = try n.cases.state(caseRef)
                if output.json { try printJSON(["caseId": c.id.description, "field": path.description, "value": value]) } else {
                    say("Resolved \(path) on case \(c.id.short) to: \(value)")
                }
            }
        }
    }

    struct Withdraw: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw a case everywhere: every node that syncs drops its records, files and keys.",
            discussion: "For when a witness withdraws consent or a record endangers someone. It cannot be undone: the records are gone from this node at once and from each peer when the withdrawal reaches it. Coordinators only.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Flag(help: "Also withdraw the cases merged with it (they hold the same facts).") var withMerged = false
        @Option(help: "Withdraw one element only, as COLLECTION/ELEMENT (e.g. sources/3f2a…): the rest of the case stays.") var element: String?
        @Option(help: "Why it is withdrawn. Sealed to coordinators, kept after the case is gone; write no names.") var reason: String = ""

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let r: WithdrawalReport
                if let element {
                    let parts = element.split(separator: "/", maxSplits: 1).map(String.init)
                    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                        throw CLIError(.usage, "--element takes COLLECTION/ELEMENT, e.g. sources/3f2a9c01d4e5b6a7")
                    }
                    r = try n.cases.withdraw(caseRef, collection: parts[0], element: parts[1], reason: reason)
                } else {
                    r = try n.cases.withdraw(caseRef, withMerged: withMerged, reason: reason)
                }
                if output.json { try printJSON(r) } else {
                    say("Withdrew \(element == nil ? "case " : "")\(r.cases.joined(separator: ", ")): \(r.ops) record op(s) and \(r.files) file(s) dropped here; each peer drops them when the withdrawal reaches it.")
                }
            }
        }
    }

    struct Archive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archive a case (kept in the log; hidden from lists unless --archived).")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Flag(help: "Bring an archived case back.") var undo = false

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                try n.cases.archive(caseRef, archived: !undo)
                let c = try n.cases.state(caseRef)
                if output.json { try printJSON(["caseId": c.id.description, "archived": c.isArchived ? "true" : "false"]) } else {
                    say("\(undo ? "Unarchived" : "Archived") case \(c.id.short)")
                }
            }
        }
    }

    struct Share: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Share a case with a lawyer: its history through new sealed keys (no new copies), and every later change.")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "Case id, prefix or ref.") var caseRef: String
        @Option(help: "The lawyer's node id or fingerprint.") var with: String

        func run() throws {
            try sandyq.run {
                let n = try node.open()
                let lawyer = try resolveMember(with, in: n)
                try n.members.share(caseRef, with: lawyer)
                let c = try n.cases.state(caseRef)
                if output.json { try printJSON(["caseId": c.id.description, "lawyer": lawyer.fingerprint]) } else {
                    say("Shared case \(c.id.short) with \(lawyer.fingerprint); sync it to them.")
                }
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record many cases from a JSON file ({\"cases\": [...]}, as in seeds/cases.json).")
        @OptionGroup var node: NodeOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The JSON file ('-' for stdin).") var file: String

        func run() throws {
            try sandyq.run {
                // A file that does not read as cases is bad data (65), not a bad command line.
                let coll = try decodeJSON(CaseDocument.Collection.self, from: try readInput(file), failing: .corrupt)
                if let f = coll.format, !CaseDocument.formatsRead.contains(f) {
                    throw CLIError(.corrupt, "\(file) has format '\(f)'; this build reads \(CaseDocument.formatsRead.joined(separator: " and "))")
                }
                let n = try node.open()
                let warnings = try n.search.duplicateWarnings(for: coll.cases)
                let ids = try PhaseFile.writing { try n.cases.importCases(coll.cases) }
                var lines: [String] = [], json: [DuplicateWarningJSON] = [], total = 0
                for (i, ws) in warnings.enumerated() {
                    for w in ws {
                        total += 1
                        // Nobody reads 100,000 lines: the first ones, then a count (--json lists every one).
                        if lines.count < DuplicateWarnings.shownAtMost {
                            lines.append("case \(i + 1)\(coll.cases[i].ref.map { " (\($0))" } ?? ""): " + DuplicateWarnings.text(w, ids: ids))
                        }
                        if output.json {
                            json.append(DuplicateWarningJSON(index: i + 1, caseId: ids[i].description, ref: coll.cases[i].ref,
                                                             sameAs: DuplicateWarnings.resolve(w.caseId, ids), sameAsRef: w.ref,
                                                             name: w.matchedName, existingName: w.name, score: w.score))
                        }
                    }
                }
                if total > lines.count {
                    lines.append("\(total - lines.count) more possible duplicates not shown (\(total) in all); `sandyq case import --json` lists every one, `sandyq case duplicates` the pairs")
                }
                DuplicateWarnings.printToStderr(lines)
                if output.json {
                    struct Out: Encodable { var imported: [String]; var warnings: [DuplicateWarningJSON] }
                    try printJSON(Out(imported: ids.map(\.description), warnings: json)); return
                }
                say("Imported \(ids.count) cases")
            }
        }
    }
}

/// `a=b` or `collection/element/field=value`.
func parseAssignment(_ s: String) throws -> (FieldPath, String) {
    guard let eq = s.firstIndex(of: "=") else { throw CLIError(.usage, "'\(s)' is not FIELD=VALUE") }
    let key = String(s[..<eq]), value = String(s[s.index(after: eq)...])
    let parts = key.split(separator: "/").map(String.init)
    switch parts.count {
    case 1: return (FieldPath(field: parts[0]), value)
    case 3: return (FieldPath(collection: parts[0], element: parts[1], field: parts[2]), value)
    default: throw CLIError(.usage, "'\(key)' is not FIELD or COLLECTION/ELEMENT/FIELD")
    }
}

func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let d = FileManager.default.contents(atPath: path) else { throw CLIError(.notFound, "cannot read \(path)") }
    return d
}

/// `failing` is the kind of error for JSON that does not decode: usage for the content of one
/// command (`case add`, `edit`, `event add`), corrupt for a file of cases to import.
func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, failing kind: NodeError.Kind = .usage) throws -> T {
    do { return try JSONDecoder().decode(type, from: data) } catch let DecodingError.dataCorrupted(ctx) {
        throw CLIError(kind, "not valid JSON: \(ctx.debugDescription)")
    } catch let DecodingError.keyNotFound(key, ctx) {
        throw CLIError(kind, "JSON lacks '\(key.stringValue)' at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))")
    } catch let DecodingError.typeMismatch(_, ctx) {
        throw CLIError(kind, "JSON has the wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)")
    } catch {
        throw CLIError(kind, "cannot read the JSON: \(error)")
    }
}
