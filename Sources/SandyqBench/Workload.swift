import SandyqCore

/// Realistic-looking case records: Kazakh and Russian names in Cyrillic, one charge, one
/// event; edits that move a case along (status, dates, summaries, charge stage). Invented people; the shapes follow seeds/cases.json.
enum Workload {
    static let firstNames = ["Мұхтар", "Ерлан", "Айгүл", "Жанболат", "Нұрлан", "Әсем", "Гүлнар", "Қайрат",
                             "Сәуле", "Дәурен", "Ольга", "Сергей", "Асель", "Ринат", "Бақытжан", "Жұлдыз"]
    static let lastNames = ["Ахметов", "Серікбаев", "Құдайбергенов", "Исмаилов", "Оспанов", "Жұмабаев",
                            "Төлеуов", "Байғабылов", "Петренко", "Сейітов", "Нұрғалиев", "Әбдірахманов"]
    static let cities = ["Алматы", "Астана", "Шымкент", "Ақтөбе", "Жаңаөзен", "Орал", "Қарағанды", "Өскемен"]
    static let charges: [(article: String, part: String, text: String)] = [
        ("174", "1", "Возбуждение социальной розни"),
        ("405", "2", "Участие в деятельности запрещённой организации"),
        ("272", "3", "Призывы к массовым беспорядкам"),
        ("400", "1", "Нарушение порядка проведения собрания"),
        ("274", "2", "Распространение заведомо ложной информации"),
    ]
    static let eventTexts = [
        "Задержан у дома сотрудниками полиции, изъят телефон",
        "Обыск по месту жительства, изъяты ноутбук и листовки",
        "Доставлен в ИВС, адвокат допущен через сутки",
        "Суд санкционировал арест на два месяца",
    ]
    static let summaries = [
        "Задержан после публикации поста о митинге; родственники не извещены в срок.",
        "Адвокат сообщает о давлении при допросе; ходатайство об экспертизе отклонено.",
        "Мера пресечения продлена ещё на месяц, свидания с семьёй запрещены.",
        "Освобождён под домашний арест, обязан носить электронный браслет.",
        "Кассационная жалоба подана; ждём назначения даты рассмотрения.",
        "Свидетели защиты не допущены, приговор оглашён в отсутствие прессы.",
    ]
    static let eventTypes = ["arrest", "search", "interrogation", "hearing"]
    static let stages = ["investigation", "trial", "convicted", "appeal", "dropped", "acquitted"]

    static func pick<T>(_ xs: [T], _ rng: inout SplitMix) -> T { xs[Int(rng.next() % UInt64(xs.count))] }

    static func date(_ rng: inout SplitMix) -> String {
        let y = 2019 + Int(rng.next() % 6), m = 1 + Int(rng.next() % 12), d = 1 + Int(rng.next() % 28)
        return "\(y)-" + (m < 10 ? "0\(m)" : "\(m)") + "-" + (d < 10 ? "0\(d)" : "\(d)")
    }

    /// A new case: status and city, one person (Cyrillic name), one charge (article and
    /// wording), one event (type and date). About 550 bytes of payload, most of it the
    /// per-mutation framing (case id, collection, element id, field name) rather than text.
    static func document(_ i: Int, _ rng: inout SplitMix) -> CaseDocument {
        var d = CaseDocument()
        d.status = pick(["detained", "under_investigation", "house_arrest", "sentenced"], &rng)
        d.city = pick(cities, &rng)
        d.persons = [CaseDocument.Person(name: "\(pick(firstNames, &rng)) \(pick(lastNames, &rng))")]
        let c = pick(charges, &rng)
        var ch = CaseDocument.Charge()
        ch.article = c.article; ch.description = c.text
        d.charges = [ch]
        var e = CaseDocument.Event(type: pick(eventTypes, &rng))
        e.date = date(&rng)
        d.events = [e]
        return d
    }

    /// One field edit on an existing case, superseding what the writer sees (so no conflicts).
    static func edit(_ state: CaseState, _ rng: inout SplitMix) throws -> Mutation {
        switch rng.next() % 6 {
        case 0:
            return try CaseEditor.set(FieldPath(field: "status"), to: pick(CaseSchema.statuses, &rng), in: state)
        case 1:
            return try CaseEditor.set(FieldPath(field: "statusDate"), to: date(&rng), in: state)
        case 2:
            return try CaseEditor.set(FieldPath(field: "summary"), to: pick(summaries, &rng), in: state)
        case 3:
            if let e = state.elements("events").first {
                return try CaseEditor.set(FieldPath(collection: "events", element: e, field: "description"),
                                          to: pick(eventTexts, &rng) + ", " + date(&rng), in: state)
            }
            return try CaseEditor.set(FieldPath(field: "summary"), to: pick(summaries, &rng), in: state)
        case 4:
            if let e = state.elements("charges").first {
                return try CaseEditor.set(FieldPath(collection: "charges", element: e, field: "stage"), to: pick(stages, &rng), in: state)
            }
            return try CaseEditor.set(FieldPath(field: "status"), to: pick(CaseSchema.statuses, &rng), in: state)
        default:
            return try CaseEditor.set(FieldPath(field: "notes"), to: pick(summaries, &rng), in: state)
        }
    }
}
