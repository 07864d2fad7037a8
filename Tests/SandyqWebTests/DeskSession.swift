import Foundation
import HummingbirdTesting
import Testing
import SandyqTestSupport

import Hummingbird
@testable import SandyqNode
@testable import SandyqWeb

/// One browser session on a desk, logged in with its one-time token, through the in-memory
/// router: the request code the route tests share.
struct DeskSession {
    let desk: Desk
    let cookie: String
    let csrf: String

    init(_ desk: Desk) throws {
        self.desk = desk
        let token = try #require(desk.loginToken)
        let s = try #require(desk.login(token: token))
        cookie = "\(Pages.cookie)=\(s.id)"
        csrf = s.csrf
    }

    var app: some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        Routes(desk: desk).register(on: router)
        return Application(router: router)
    }

    func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, String, HTTPFields) {
        try await client.execute(uri: path, method: .get, headers: [.cookie: cookie, .acceptLanguage: "ru"]) {
            ($0.status, String(buffer: $0.body), $0.headers)
        }
    }

    /// A form post; `csrf: nil` leaves the token out.
    func post(_ client: some TestClientProtocol, _ path: String, _ fields: [(String, String)], csrf: String?) async throws
        -> (HTTPResponse.Status, String, HTTPFields)
    {
        let all = (csrf.map { [("csrf", $0)] } ?? []) + fields
        let body = all.map { "\($0.0)=\(Form.encode($0.1))" }.joined(separator: "&")
        return try await client.execute(uri: path, method: .post,
                                        headers: [.cookie: cookie, .acceptLanguage: "ru", .contentType: "application/x-www-form-urlencoded"],
                                        body: ByteBuffer(string: body)) { ($0.status, String(buffer: $0.body), $0.headers) }
    }
}
