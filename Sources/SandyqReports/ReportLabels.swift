import SandyqCore

/// Words the reports print: headings and the closed lists of the case model, in English
/// and Russian; the language of a piece of data; dates without Foundation.
public enum ReportLabels {
    /// A heading in English and Russian.
    public struct Bilingual: Sendable, Equatable {
        public let en: String
        public let ru: String
        public var plain: String { "\(en) · \(ru)" }
    }

    static func h(_ en: String, _ ru: String) -> Bilingual { Bilingual(en: en, ru: ru) }

    public static let dossier = h("Case dossier", "Досье по делу")
    public static let sanctions = h("Officials proposed for personal sanctions", "Должностные лица, предлагаемые для персональных санкций")
    public static let monitoring = h("Monitoring report", "Мониторинговый отчёт")
    public static let summary = h("Summary", "Краткое описание")
    public static let persons = h("Person", "Лицо")
    public static let statusHistory = h("Status history", "История статуса")
    public static let charges = h("Charges", "Обвинения")
    public static let timeline = h("Timeline", "Хронология")
    public static let officials = h("Officials involved", "Причастные должностные лица")
    public static let sources = h("Sources", "Источники")
    public static let aid = h("Aid given", "Оказанная помощь")
    public static let conflicts = h("Open conflicts", "Неразрешённые расхождения")
    public static let notes = h("Notes", "Примечания")
    public static let custody = h("Chain of custody", "Цепочка хранения")
    public static let evidence = h("Evidence files", "Файлы-доказательства")
    public static let acts = h("Violations", "Нарушения")
    public static let perpetrators = h("Who is responsible", "Кто несёт ответственность")
    public static let detentions = h("Detention", "Содержание под стражей")
    public static let trials = h("Trial", "Суд")
    public static let interventions = h("Interventions", "Обращения и реакция")
    public static let chronology = h("Chronology", "Хронология дела")
    static let evidenceColumns = [h("File", "Файл"), h("SHA-256", "SHA-256"), h("Bytes", "Байт"), h("Attached by", "Кем приложен"),
                                  h("Held whole by", "Целиком хранится у")]

    /// Who holds a file, one node after another: "fingerprint (role, checked time)".
    public static func holders(_ f: DossierReport.EvidenceFile) -> String {
        guard !f.heldBy.isEmpty else { return f.complete ? "—" : "incomplete here · неполный здесь" }
        return f.heldBy.map { x in
            var bits = [x.role ?? "?"]
            if x.checked { bits.append("checked · проверен") }
            if let t = x.time { bits.append(t) }
            return "\(x.node) (\(bits.joined(separator: ", ")))"
        }.joined(separator: "; ")
    }
    public static let reportDate = h("Report date", "Дата отчёта")
    public static let recordedBy = h("Recorded by", "Кем внесено")
    public static let byStatus = h("By status", "По статусу")
    public static let byCharge = h("By charge", "По обвинению")
    public static let byCity = h("By city", "По городу")
    public static let byMonth = h("By month", "По месяцам")
    public static let cases = h("Cases", "Дела")
    public static let count = h("Count", "Число")
    public static let none = h("none recorded", "нет записей")
    public static let notGiven = h("not given", "не указано")

    /// A column or field name.
    public static func field(_ f: String) -> Bilingual {
        switch f {
        case "name": h("Name", "Имя")
        case "aliases": h("Other spellings", "Другие написания")
        case "birthYear": h("Born", "Год рождения")
        case "city": h("City", "Город")
        case "region": h("Region", "Регион")
        case "affiliation": h("Affiliation", "Принадлежность")
        case "code": h("Kind", "Вид")
        case "article": h("Article", "Статья")
        case "part": h("Part", "Часть")
        case "description": h("Description", "Описание")
        case "stage": h("Stage", "Стадия")
        case "type": h("Event", "Событие")
        case "date": h("Date", "Дата")
        case "place": h("Place", "Место")
        case "sources": h("Sources", "Источники")
        case "agency": h("Agency", "Ведомство")
        case "position": h("Position", "Должность")
        case "act": h("Act", "Действие")
        case "kind": h("Kind", "Вид")
        case "reference": h("Reference", "Ссылка")
        case "reliability": h("Reliability", "Надёжность")
        case "note": h("Note", "Заметка")
        case "provider": h("Provider", "Кто оказал")
        case "status": h("Status", "Статус")
        case "statusDate": h("Since", "С даты")
        case "title": h("Title", "Заголовок")
        case "ref": h("Reference", "Номер")
        case "summary": h("Summary", "Описание")
        case "notes": h("Notes", "Примечания")
        case "tags": h("Tags", "Метки")
        case "caseId": h("Case", "Дело")
        case "mergedInto": h("Merged into", "Объединено с")
        case "victim": h("Victim", "Пострадавший")
        case "datePrecision": h("Date precision", "Точность даты")
        case "consequences": h("Consequences", "Последствия")
        case "violation": h("Violation", "Нарушение")
        case "official": h("Official", "Должностное лицо")
        case "involvement": h("Involvement", "Степень участия")
        case "person": h("Person held", "Кого содержат")
        case "facility": h("Place of detention", "Место содержания")
        case "from": h("From", "С")
        case "until": h("Until", "По")
        case "whereabouts": h("Whereabouts", "Местонахождение")
        case "counsel": h("Lawyer", "Защитник")
        case "familyContact": h("Family contact", "Связь с семьёй")
        case "conditions": h("Conditions", "Условия содержания")
        case "court": h("Court", "Суд")
        case "caseNumber": h("Case number", "Номер дела")
        case "judge": h("Judge", "Судья")
        case "prosecutor": h("Prosecutor", "Прокурор")
        case "verdict": h("Verdict", "Решение суда")
        case "verdictDate": h("Verdict date", "Дата решения")
        case "sentenceKind": h("Sentence", "Вид наказания")
        case "sentenceTerm": h("Term", "Срок")
        case "bans": h("Bans", "Запреты")
        case "appeal": h("Appeals", "Обжалование")
        case "body": h("Approached", "Куда обращались")
        case "progress": h("Where it stands", "Состояние")
        case "response": h("Response", "Ответ")
        case "relation": h("Source's relation", "Отношение источника")
        case "consent": h("Consent", "Согласие")
        default: h(f, f)
        }
    }

    /// A field's name where a collection names it otherwise (an act's `type` is the violation).
    public static func field(_ f: String, in collection: String) -> Bilingual {
        switch (collection, f) {
        case ("acts", "type"): h("Violation", "Нарушение")
        case ("detentions", "type"): h("Kind of detention", "Вид содержания")
        case ("interventions", "kind"): h("Form", "Форма обращения")
        default: field(f)
        }
    }

    /// What a chronology line records: the closed-list value, or for a detention's end "released or moved".
    public static func chronologyKind(_ l: DossierReport.ChronologyEntry) -> String {
        let what = l.kind == "until" ? "end of detention · окончание содержания" : value(l.field, l.kind)
        switch l.collection {
        case "detentions" where l.kind != "until": return "taken into detention · взят под стражу: \(what)"
        case "trials": return "verdict · решение суда: \(what)"
        case "status": return "status · статус: \(what)"
        default: return what
        }
    }

    /// A value from one of the model's closed lists, in both languages; other values as they are.
    public static func value(_ field: String, _ v: String) -> String {
        let t: [String: String]
        switch field {
        case "status":
            t = ["under_investigation": "under investigation · под следствием", "detained": "detained · под стражей",
                 "house_arrest": "house arrest · домашний арест", "restricted_freedom": "restricted freedom · ограничение свободы",
                 "sentenced": "sentenced · осуждён(а)", "psychiatric_confinement": "psychiatric confinement · принудительное лечение",
                 "released": "released · освобождён(а)", "acquitted": "acquitted · оправдан(а)", "exile": "in exile · в эмиграции",
                 "missing": "missing · пропал(а) без вести", "deceased": "deceased · погиб(ла)"]
        case "agency":
            t = ["police": "police · полиция", "knb": "KNB · КНБ", "prosecutor": "prosecutor's office · прокуратура",
                 "court": "court · суд", "akimat": "akimat · акимат", "penitentiary": "penitentiary · УИС", "other": "other · другое"]
        case "type":
            t = ["arrest": "arrest · задержание", "search": "search · обыск", "interrogation": "interrogation · допрос",
                 "hearing": "hearing · заседание", "verdict": "verdict · приговор", "appeal": "appeal · апелляция",
                 "transfer": "transfer · этапирование", "torture": "torture · пытки", "release": "release · освобождение",
                 "other": "other · другое",
                 "arbitrary_detention": "arbitrary detention · произвольное задержание",
                 "denial_of_medical_care": "denial of medical care · отказ в медицинской помощи",
                 "forced_psychiatric_treatment": "forced psychiatric treatment · принудительное психиатрическое лечение",
                 "activity_ban": "ban on activity · запрет на деятельность", "travel_ban": "travel ban · запрет на выезд",
                 "red_notice": "Interpol red notice · «красное уведомление» Интерпола",
                 "extradition_request": "extradition request · запрос об экстрадиции", "asset_freeze": "assets frozen · арест имущества",
                 "pressure_on_relatives": "pressure on relatives · давление на родственников",
                 "prosecution": "criminal prosecution · уголовное преследование", "surveillance": "surveillance · слежка",
                 "temporary_holding": "temporary holding facility · ИВС", "pretrial": "pre-trial detention · СИЗО",
                 "administrative": "administrative arrest · административный арест", "house_arrest": "house arrest · домашний арест",
                 "psychiatric": "psychiatric hospital · психиатрическая больница", "penal_colony": "penal colony · исправительная колония"]
        case "datePrecision":
            t = ["exact": "exact · точная", "month": "month known · известен месяц", "year": "year known · известен год",
                 "circa": "about · приблизительно", "before": "before · до", "after": "after · после"]
        case "involvement":
            t = ["gave_order": "gave the order · отдал приказ", "carried_out": "carried it out · исполнил",
                 "failed_to_prevent": "failed to prevent · не предотвратил", "complicit": "complicit · соучастник"]
        case "whereabouts": t = ["disclosed": "disclosed · сообщено", "denied": "withheld · скрывают", "unknown": "unknown · неизвестно"]
        case "counsel": t = ["own": "own lawyer · по выбору", "state_appointed": "state-appointed · по назначению", "denied": "denied · отказано"]
        case "familyContact": t = ["allowed": "allowed · разрешена", "restricted": "restricted · ограничена", "denied": "denied · запрещена"]
        case "verdict":
            t = ["pending": "pending · не вынесено", "convicted": "convicted · обвинительный приговор", "acquitted": "acquitted · оправдан(а)",
                 "dismissed": "dismissed · дело прекращено", "returned": "returned for investigation · возвращено на доследование"]
        case "sentenceKind":
            t = ["imprisonment": "imprisonment · лишение свободы", "restricted_freedom": "restricted freedom · ограничение свободы",
                 "suspended": "suspended · условно", "fine": "fine · штраф", "compulsory_treatment": "compulsory treatment · принудительное лечение",
                 "none": "none · без наказания"]
        case "body":
            t = ["un_wgad": "UN Working Group on Arbitrary Detention · Рабочая группа ООН по произвольным задержаниям",
                 "un_hrc": "UN Human Rights Committee · Комитет ООН по правам человека",
                 "un_special_rapporteur": "UN Special Rapporteur · Специальный докладчик ООН",
                 "european_parliament": "European Parliament · Европейский парламент", "osce": "OSCE · ОБСЕ",
                 "council_of_europe": "Council of Europe · Совет Европы", "ngo": "NGO · правозащитная организация",
                 "government": "a government · правительство", "other": "other · другое"]
        case "progress":
            t = ["planned": "planned · готовится", "sent": "sent · отправлено", "acknowledged": "received · получено",
                 "answered": "answered · получен ответ", "decided": "decided · принято решение", "closed": "closed · закрыто"]
        case "relation":
            t = ["victim": "the victim · сам пострадавший", "witness": "witness · свидетель", "relative": "relative · родственник",
                 "lawyer": "lawyer · адвокат", "media": "media · СМИ", "official_document": "official document · официальный документ",
                 "other": "other · другое"]
        case "consent": t = ["given": "given · дано", "limited": "limited · с ограничениями", "not_asked": "not asked · не запрашивалось",
                             "withdrawn": "withdrawn · отозвано"]
        case "code": t = ["criminal": "criminal · уголовное", "administrative": "administrative · административное"]
        case "stage":
            t = ["investigation": "investigation · следствие", "trial": "trial · суд", "convicted": "convicted · осуждён(а)",
                 "appeal": "appeal · апелляция", "dropped": "dropped · прекращено", "acquitted": "acquitted · оправдан(а)"]
        case "kind":
            t = ["document": "document · документ", "url": "web page · веб-страница", "witness": "witness · свидетель",
                 "media": "media · СМИ", "legal": "legal · юридическая", "humanitarian": "humanitarian · гуманитарная",
                 "communication": "individual communication · индивидуальное сообщение", "opinion": "opinion · мнение",
                 "urgent_appeal": "urgent appeal · срочное обращение", "resolution": "resolution · резолюция", "letter": "letter · письмо",
                 "protest": "protest · протест", "statement": "statement · заявление"]
        case "reliability":
            t = ["high": "high · высокая", "medium": "medium · средняя", "low": "low · низкая", "unverified": "unverified · не проверено"]
        default: t = [:]
        }
        return t[v] ?? v
    }

    /// The language a piece of text is written in, as a BCP 47 tag: Kazakh when it has a
    /// letter only Kazakh uses, Ukrainian for ї є ґ (or і without ы э ъ), Russian for other
    /// Cyrillic, English for Latin, nil when there are no letters.
    public static func language(of text: String) -> String? {
        var cyr = false, latin = false, kazakh = false, ukr = false, i = false, russianOnly = false
        for s in text.unicodeScalars {
            switch s.value {
            case 0x04D9, 0x04D8, 0x0493, 0x0492, 0x049B, 0x049A, 0x04A3, 0x04A2, 0x04E9, 0x04E8, 0x04B1, 0x04B0,
                 0x04AF, 0x04AE, 0x04BB, 0x04BA: kazakh = true; cyr = true
            case 0x0457, 0x0407, 0x0454, 0x0404, 0x0491, 0x0490: ukr = true; cyr = true
            case 0x0456, 0x0406: i = true; cyr = true
            case 0x044B, 0x042B, 0x044D, 0x042D, 0x044A, 0x042A, 0x0451, 0x0401: russianOnly = true; cyr = true
            case 0x0400...0x04FF: cyr = true
            case 0x41...0x5A, 0x61...0x7A: latin = true
            default: break
            }
        }
        if kazakh { return "kk" }
        if ukr || (i && !russianOnly) { return "uk" }
        if i && russianOnly { return "kk" }
        if cyr { return "ru" }
        if latin { return "en" }
        return nil
    }

    /// The most common language among `texts` (ties to Russian, the coalition's lingua franca).
    public static func language(ofAll texts: [String]) -> String {
        var n: [String: Int] = [:]
        for t in texts { if let l = language(of: t), l != "en" { n[l, default: 0] += t.count } }
        return n.max { ($0.value, $0.key == "ru" ? 1 : 0) < ($1.value, $1.key == "ru" ? 1 : 0) }?.key ?? "ru"
    }

    /// Milliseconds since 1970 as `YYYY-MM-DD HH:MM UTC`.
    public static func utc(millis: UInt64) -> String {
        let secs = Int64(millis / 1000)
        let days = secs >= 0 ? secs / 86_400 : (secs - 86_399) / 86_400
        let rem = secs - days * 86_400
        let (y, m, d) = civil(days: days)
        func two(_ x: Int64) -> String { x < 10 ? "0\(x)" : "\(x)" }
        return "\(y)-\(two(m))-\(two(d)) \(two(rem / 3600)):\(two(rem % 3600 / 60)) UTC"
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
    static func civil(days z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
