import Testing
import SandyqCore
import SandyqCrypto
import SandyqStore
import SandyqSync
@testable import SandyqNode

// Every module error's `code` is what callers match, so each must be non-empty, dotted and
// unique across the modules. Each type below has one sample per case and a switch with one arm
// a line and no default: a new case does not compile until it has an arm, and the arm widens the
// span of lines the samples must cover, so a case added without a sample fails `everyCase`.

enum ErrorSamples {
    static let core: [CoreError] = [
        .truncated, .malformed("m"), .unsupportedVersion(9), .badSignature, .wrongProject, .brokenChain, .notMember,
        .notAllowed("n"), .revoked, .invalidField("f"), .invalidDocument("d"), .unknownCase("u"), .ambiguousCase("a"),
        .readOnly("r"), .empty, .notABundle, .bundleUnsupportedVersion, .obsoleteVersion, .bundleTruncated,
        .bundleMalformed("m"), .notForMe, .bundleWrongProject, .bundleBadSignature, .decodeTruncated, .decodeMalformed("m"),
        .backupShare(.damaged, "d"),
    ]
    static let coreFirst = #line + 3
    static func line(_ e: CoreError) -> Int {
        switch e {
        case .truncated: return #line
        case .malformed: return #line
        case .unsupportedVersion: return #line
        case .badSignature: return #line
        case .wrongProject: return #line
        case .brokenChain: return #line
        case .notMember: return #line
        case .notAllowed: return #line
        case .revoked: return #line
        case .invalidField: return #line
        case .invalidDocument: return #line
        case .unknownCase: return #line
        case .ambiguousCase: return #line
        case .readOnly: return #line
        case .empty: return #line
        case .notABundle: return #line
        case .bundleUnsupportedVersion: return #line
        case .obsoleteVersion: return #line
        case .bundleTruncated: return #line
        case .bundleMalformed: return #line
        case .notForMe: return #line
        case .bundleWrongProject: return #line
        case .bundleBadSignature: return #line
        case .decodeTruncated: return #line
        case .decodeMalformed: return #line
        case .backupShare: return #line
        }
    }
    static let coreLast = #line - 3

    /// `.bundle` carries a CoreError and its code; the samples above check those.
    static let sync: [SyncError] = [
        .usage("u"), .io("i"), .bundle(.empty), .protocolViolation("p"), .unsupportedVersion, .badNetworkKey, .stale,
        .replayed, .authenticationFailed, .notAllowed("n"), .truncated,
    ]
    static let syncFirst = #line + 3
    static func line(_ e: SyncError) -> Int {
        switch e {
        case .usage: return #line
        case .io: return #line
        case .bundle: return #line
        case .protocolViolation: return #line
        case .unsupportedVersion: return #line
        case .badNetworkKey: return #line
        case .stale: return #line
        case .replayed: return #line
        case .authenticationFailed: return #line
        case .notAllowed: return #line
        case .truncated: return #line
        }
    }
    static let syncLast = #line - 3

    static let store: [StoreError] = [
        .sqlite(code: 1, message: "m"), .newerSchema(found: 9, supported: 1), .corrupt("c"), .wrongPassphrase, .duress,
        .io("i"), .notFound("n"),
    ]
    static let storeFirst = #line + 3
    static func line(_ e: StoreError) -> Int {
        switch e {
        case .sqlite: return #line
        case .newerSchema: return #line
        case .corrupt: return #line
        case .wrongPassphrase: return #line
        case .duress: return #line
        case .io: return #line
        case .notFound: return #line
        }
    }
    static let storeLast = #line - 3

    static let crypto: [CryptoError] = [
        .authenticationFailed, .invalidLength(what: "w", expected: 1, got: 2), .invalidParameters("p"), .outOfMemory,
    ]
    static let cryptoFirst = #line + 3
    static func line(_ e: CryptoError) -> Int {
        switch e {
        case .authenticationFailed: return #line
        case .invalidLength: return #line
        case .invalidParameters: return #line
        case .outOfMemory: return #line
        }
    }
    static let cryptoLast = #line - 3

    static let node: [NodeError.Kind] = [.usage, .wrongPassphrase, .corrupt, .notFound, .notForMe, .conflict, .refused, .failure]
    static let nodeFirst = #line + 3
    static func line(_ k: NodeError.Kind) -> Int {
        switch k {
        case .usage: return #line
        case .wrongPassphrase: return #line
        case .corrupt: return #line
        case .notFound: return #line
        case .notForMe: return #line
        case .conflict: return #line
        case .refused: return #line
        case .failure: return #line
        }
    }
    static let nodeLast = #line - 3

    /// Every code a caller can see, each once (`SyncError.bundle` reuses Core's).
    static var allCodes: [String] {
        core.map(\.code) + sync.filter { if case .bundle = $0 { false } else { true } }.map(\.code) + store.map(\.code)
            + crypto.map(\.code) + node.map(\.code)
    }
}

@Suite struct ErrorCodeTests {
    typealias S = ErrorSamples

    @Test func everyCase() {
        #expect(S.core.map(S.line).sorted() == Array(S.coreFirst...S.coreLast), "CoreError: one sample per case")
        #expect(S.sync.map(S.line).sorted() == Array(S.syncFirst...S.syncLast), "SyncError: one sample per case")
        #expect(S.store.map(S.line).sorted() == Array(S.storeFirst...S.storeLast), "StoreError: one sample per case")
        #expect(S.crypto.map(S.line).sorted() == Array(S.cryptoFirst...S.cryptoLast), "CryptoError: one sample per case")
        #expect(S.node.map(S.line).sorted() == Array(S.nodeFirst...S.nodeLast), "NodeError.Kind: one sample per case")
    }

    @Test func codesAreDottedAndUniqueAcrossModules() {
        let codes = S.allCodes
        for c in codes { #expect(c.wholeMatch(of: /[a-z]+\.[a-z]+(-[a-z]+)*/) != nil, "\(c) is not area.dotted-name") }
        let repeated = Dictionary(grouping: codes, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(repeated.isEmpty, "codes used twice: \(repeated)")
    }

    @Test func eachModuleHasItsOwnPrefix() {
        for e in S.core { #expect(["op", "case", "bundle", "decode", "backup"].contains(e.code.prefix { $0 != "." }), "\(e.code)") }
        for e in S.sync {
            if case let .bundle(b) = e { #expect(e.code == b.code); continue }
            #expect(["sync", "handshake"].contains(e.code.prefix { $0 != "." }), "\(e.code)")
        }
        for e in S.store { #expect(e.code.hasPrefix("store.")) }
        for e in S.crypto { #expect(e.code.hasPrefix("crypto.")) }
        for k in S.node { #expect(k.code.hasPrefix("node.")) }
    }

    /// A NodeError made from a module error keeps that error's code and message.
    @Test func nodeErrorKeepsTheCodeBehindIt() {
        let errors: [any Error] = S.core + S.sync + S.store + S.crypto
        for e in errors {
            let n = NodeError.from(e)
            #expect(n.code == (e as? CoreError)?.code ?? (e as? SyncError)?.code ?? (e as? StoreError)?.code ?? (e as? CryptoError)?.code)
            #expect(n.message == "\(e)")
        }
        #expect(NodeError(.conflict, "c").code == "node.conflict")
        #expect(NodeError.from(CoreError.unknownCase("x")).kind == .notFound)
        #expect(NodeError.from(CoreError.badSignature).kind == .corrupt)
        #expect(NodeError.from(StoreError.wrongPassphrase).kind == .wrongPassphrase)
        for m in [MediaError.notStrippable(.pdf), .malformed("x"), .truncated] {
            let n = NodeError.from(m as any Error)
            #expect(n.code == m.code && n.message == "\(m)" && n.kind == .corrupt)
        }
    }

    /// The Protocol/ failure classes the vectors and the CLI's refusals use are unchanged by the codes.
    @Test func failureClassesStay() {
        #expect(CoreError.badSignature.failureClass == "bad_signature")
        #expect(CoreError.bundleBadSignature.failureClass == "bad_signature")
        #expect(CoreError.notABundle.failureClass == "malformed")
        #expect(CoreError.obsoleteVersion.failureClass == "unsupported_version")
        #expect(CoreError.notForMe.failureClass == "not_for_me")
        #expect(CoreError.readOnly("r").failureClass == nil)
    }
}
