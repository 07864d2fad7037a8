import Hummingbird
import HTTPTypes

/// Runs before every route: refuses a request for another host name (DNS rebinding) and a form
/// posted from another origin, and stamps every answer, errors included, with headers that keep
/// it out of caches, frames and other sites' scripts.
struct DeskGuard<Context: RequestContext>: RouterMiddleware {
    let desk: Desk

    static var securityHeaders: HTTPFields {
        [
            .cacheControl: "no-store",
            .contentSecurityPolicy:
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
            // same-origin, not no-referrer: under no-referrer a browser posts forms with `Origin: null`.
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Cross-Origin-Opener-Policy")!: "same-origin",
            HTTPField.Name("Cross-Origin-Resource-Policy")!: "same-origin",
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if !hostIsOurs(request) || (request.method != .get && request.method != .head && !originIsOurs(request)) {
            response = Pages.refused(request, desk: desk)
        } else {
            do {
                response = try await next(request, context)
            } catch let e as HTTPError where e.status == .notFound {
                response = Pages.notFound(request, desk: desk)
            } catch {
                response = Pages.failure(request, desk: desk, status: (error as? HTTPError)?.status ?? .internalServerError)
            }
        }
        for f in Self.securityHeaders { response.headers[f.name] = f.value }
        return response
    }

    /// The names this desk answers to; a rebinding attacker's page sends its own.
    func hostIsOurs(_ request: Request) -> Bool {
        guard let h = request.head.authority else { return false }
        return ours.contains(h)
    }

    /// A form must come from one of our own pages; browsers always send Origin with a POST.
    func originIsOurs(_ request: Request) -> Bool {
        guard let o = request.headers[.origin] else { return false }
        return ours.contains { "http://\($0)" == o }
    }

    var ours: [String] {
        let p = desk.port
        return ["127.0.0.1:\(p)", "localhost:\(p)", "[::1]:\(p)"]
    }
}
