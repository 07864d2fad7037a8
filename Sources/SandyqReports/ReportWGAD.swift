import SandyqCore

/// A draft individual communication to the UN Working Group on Arbitrary Detention, laid out in
/// the sections of its model questionnaire (I identity, II arrest, III detention, IV circumstances,
/// V domestic steps, VI the source), filled from what the case records. A draft for a lawyer:
/// every answer the case does not hold is marked to be completed, never guessed, and the legal
/// categories are left to the lawyer; the facts that bear on them are listed.
public struct WGADDraft: Codable, Sendable {
    /// One question of the questionnaire and what the case answers.
    public struct Answer: Codable, Sendable, Equatable {
        public var question: String
        /// What the case records; empty when it records nothing (the draft then says so).
        public var values: [String]
    }

    public struct Section: Codable, Sendable {
        public var number: String
        public var title: String
        public var answers: [Answer]
    }

    public var generated: String
    public var caseId: String
    public var ref: String?
    /// The person the communication is about: the victim of the first arbitrary detention, else the first person.
    public var subject: String?
    public var sections: [Section]

    /// Marks a question the case does not answer.
    public static let toComplete = "[to be completed · заполнить]"

    public init(_ d: DossierReport) {
        generated = d.generated
        caseId = d.caseId
        ref = d.field("ref")
        let acts = d.acts ?? [], perps = d.perpetrators ?? [], detentions = d.detentions ?? [], trials = d.trials ?? []
        let detention = acts.first { $0.value("type") == "arbitrary_detention" }
        let subjectID = detention?.fields.first { $0.field == "victim" }?.link
            ?? detentions.first?.fields.first { $0.field == "person" }?.link
        let person = d.persons.first { $0.id == subjectID } ?? d.persons.first
        subject = person?.value("name")
        func v(_ s: String?...) -> [String] { s.compactMap { $0 }.filter { !$0.isEmpty } }
        func label(_ f: String, _ x: String?) -> String? { x.map { ReportLabels.value(f, $0) } }
        /// Officials who took part in `act` in one of `degrees`, named with their agency.
        func who(_ act: DossierReport.Item?, _ degrees: Set<String>) -> [String] {
            guard let act else { return [] }
            return perps.filter { p in
                p.fields.first { $0.field == "violation" }?.link == act.id && degrees.contains(p.value("involvement") ?? "")
            }.compactMap { $0.value("official") }
        }
        let arrestEvent = d.timeline.first { $0.value("type") == "arrest" }
        let laws = d.charges.map { c in
            [label("code", c.value("code")), c.value("article").map { "art. \($0)" }, c.value("part").map { "part \($0)" }, c.value("description")]
                .compactMap { $0 }.joined(separator: ", ")
        }

        var s: [Section] = []
        s.append(Section(number: "I", title: "Identity · Личность", answers: [
            Answer(question: "Family name and first name · Фамилия и имя", values: v(person?.value("name"))),
            Answer(question: "Other spellings of the name · Другие написания имени",
                   values: person?.value("aliases")?.split(separator: "\n").map(String.init) ?? []),
            Answer(question: "Birth date or age · Дата рождения или возраст", values: v(person?.value("birthYear"))),
            Answer(question: "Profession and/or activity · Род занятий", values: v(person?.value("affiliation"))),
            Answer(question: "Address of usual residence · Место жительства", values: v(person?.value("city"))),
        ]))
        s.append(Section(number: "II", title: "Arrest · Арест", answers: [
            Answer(question: "Date of arrest · Дата ареста",
                   values: v([detention?.value("date"), label("datePrecision", detention?.value("datePrecision"))].compactMap { $0 }
                       .joined(separator: ", ")).filter { !$0.isEmpty } + (detention == nil ? v(arrestEvent?.value("date")) : [])),
            Answer(question: "Place of arrest · Место ареста", values: v(detention?.value("place") ?? arrestEvent?.value("place"))),
            Answer(question: "Forces who carried out the arrest · Кто производил арест",
                   values: who(detention, ["carried_out", "complicit"])),
            Answer(question: "Was a warrant or other decision by a public authority shown? · Был ли предъявлен ордер", values: []),
            Answer(question: "Authority who issued the warrant or decision · Кто выдал ордер или решение",
                   values: who(detention, ["gave_order"])),
            Answer(question: "Relevant legislation applied · Применённые нормы", values: laws),
        ]))
        var detained: [Answer] = []
        for x in detentions {
            let span = [x.value("from"), x.value("until") ?? "continuing · продолжается"].compactMap { $0 }.joined(separator: " – ")
            detained += [
                Answer(question: "Date and duration of detention · Дата и срок содержания", values: v(span)),
                Answer(question: "Place of detention · Место содержания",
                       values: v([label("type", x.value("type")), x.value("facility")].compactMap { $0 }.joined(separator: ": "))),
                Answer(question: "Whereabouts disclosed to the family · Сообщено ли местонахождение",
                       values: v(label("whereabouts", x.value("whereabouts")))),
                Answer(question: "Access to a lawyer · Доступ к защитнику", values: v(label("counsel", x.value("counsel")))),
                Answer(question: "Contact with family · Связь с семьёй", values: v(label("familyContact", x.value("familyContact")))),
                Answer(question: "Conditions of detention · Условия содержания", values: v(x.value("conditions"))),
            ]
        }
        if detained.isEmpty {
            detained.append(Answer(question: "Date, duration and place of detention · Дата, срок и место содержания", values: []))
        }
        detained.append(Answer(question: "Authorities that ordered the detention · Кто распорядился о содержании",
                               values: Array(Set(acts.flatMap { who($0, ["gave_order"]) })).sorted()
                                   + trials.compactMap { t in t.value("court").map { [$0, t.value("judge")].compactMap { $0 }.joined(separator: ", ") } }))
        detained.append(Answer(question: "Reasons for the detention imputed by the authorities · Вменяемые основания", values: laws))
        s.append(Section(number: "III", title: "Detention · Содержание под стражей", answers: detained))

        var circumstances = [Answer(question: "Summary · Краткое описание", values: v(d.field("summary")))]
        circumstances.append(Answer(question: "Violations recorded · Зафиксированные нарушения", values: acts.map { a in
            [a.value("date"), label("type", a.value("type")), a.value("victim"), a.value("place"), a.value("consequences"), a.value("description")]
                .compactMap { $0 }.joined(separator: "; ")
        }))
        circumstances.append(Answer(question: "Trial · Суд", values: trials.map { t in
            [t.value("court"), t.value("caseNumber"), t.value("judge").map { "judge · судья \($0)" }, label("verdict", t.value("verdict")),
             t.value("verdictDate"), label("sentenceKind", t.value("sentenceKind")), t.value("sentenceTerm"), t.value("bans")]
                .compactMap { $0 }.joined(separator: "; ")
        }))
        // What bears on the categories, for the lawyer to weigh: the draft states facts, not conclusions.
        var bearing: [String] = []
        for x in detentions {
            if x.value("counsel") == "denied" || x.value("counsel") == "state_appointed" {
                bearing.append("Counsel · защитник: \(label("counsel", x.value("counsel"))!) (fair trial · справедливый суд)")
            }
            if x.value("whereabouts") == "denied" { bearing.append("Whereabouts withheld · местонахождение скрывали") }
            if x.value("familyContact") == "denied" { bearing.append("Family contact denied · связь с семьёй запрещена") }
        }
        for a in acts where ["torture", "denial_of_medical_care", "forced_psychiatric_treatment"].contains(a.value("type") ?? "") {
            bearing.append("\(label("type", a.value("type"))!)\(a.value("date").map { ", \($0)" } ?? "")")
        }
        circumstances.append(Answer(question: "Facts that bear on the categories of arbitrariness (for counsel to assess) · Факты для оценки категорий",
                                    values: bearing))
        s.append(Section(number: "IV", title: "Circumstances, and why the detention is arbitrary · Обстоятельства и основания считать задержание произвольным",
                         answers: circumstances))

        s.append(Section(number: "V", title: "Domestic steps and remedies · Внутренние меры и средства защиты", answers: [
            Answer(question: "Appeals and complaints · Обжалования и жалобы", values: trials.compactMap { $0.value("appeal") }
                + d.timeline.filter { $0.value("type") == "appeal" }.map { [$0.value("date"), $0.value("description")].compactMap { $0 }.joined(separator: ": ") }),
            Answer(question: "Other international procedures · Другие международные процедуры", values: (d.interventions ?? []).map { i in
                [i.value("date"), label("body", i.value("body")), label("kind", i.value("kind")), i.value("reference"), label("progress", i.value("progress")),
                 i.value("response")].compactMap { $0 }.joined(separator: "; ")
            }),
        ]))
        s.append(Section(number: "VI", title: "Source of the communication · Источник сообщения", answers: [
            Answer(question: "Full name and address of the person(s) submitting the information · Кто направляет сообщение", values: []),
            Answer(question: "Sources of the information · Источники сведений", values: d.sources.map { x in
                [x.value("reference"), label("relation", x.value("relation")), label("reliability", x.value("reliability"))].compactMap { $0 }.joined(separator: "; ")
            }),
            Answer(question: "Consent of the person concerned or their family · Согласие",
                   values: d.sources.compactMap { x in x.value("consent").map { "\(x.value("reference") ?? ""): \(ReportLabels.value("consent", $0))" } }),
        ]))
        sections = s
    }

    /// The draft as Markdown, for a lawyer's word processor.
    public var markdown: String {
        var o = ["# Draft communication to the UN Working Group on Arbitrary Detention · Проект сообщения в Рабочую группу ООН по произвольным задержаниям", ""]
        o.append("- **Case** · Дело: `\(caseId)`\(ref.map { " (\(ReportMarkdown.inline($0)))" } ?? "")")
        if let subject { o.append("- **Concerning** · В отношении: \(ReportMarkdown.inline(subject))") }
        o.append("- **Drafted** · Составлено: \(generated)")
        o.append("")
        o.append("_A draft from the case record. Answers marked \(Self.toComplete) are not in the record; check every answer against the sources before sending. "
                 + "Черновик по материалам дела: проверьте каждый ответ по источникам перед отправкой._")
        for sec in sections {
            o.append(""); o.append("## \(sec.number). \(sec.title)"); o.append("")
            for (i, a) in sec.answers.enumerated() {
                o.append("\(i + 1). **\(a.question)**")
                if a.values.isEmpty { o.append("   \(Self.toComplete)") }
                for x in a.values { o.append("   - \(ReportMarkdown.inline(x))") }
            }
        }
        return o.joined(separator: "\n") + "\n"
    }
}
