import AisleEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The storefront (issue 18): a plain HTML/CSS/JavaScript page over the JSON API, served at `/`
/// from `StorefrontAssets` (the files of `Sources/Server/Storefront`, carried in the binary), or
/// from a directory with `aisle serve --storefront DIR` while editing it.
extension APIServer {
    /// No inline script or style, nothing from other origins; the page talks only to this server.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Whether a request for `/` is a browser's (it accepts HTML) rather than an API client's.
    static func wantsHTML(_ request: Request) -> Bool {
        (request.headers[.accept] ?? "").contains("text/html")
    }

    func storefrontFile(_ name: String) -> Response {
        var body: [UInt8]?
        var type = "application/octet-stream"
        if let dir = options.storefrontDirectory {
            // Only the plain file names the page has: no paths, no dot files.
            if name.range(of: "^[A-Za-z0-9_-]+\\.(html|js|css)$", options: .regularExpression) != nil,
               let data = FileManager.default.contents(atPath: dir + "/" + name) {
                body = Array(data)
                type = name.hasSuffix(".html") ? "text/html; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8"
            }
        } else if let f = StorefrontAssets.files[name] {
            body = f.body
            type = f.type
        }
        guard let body else { return json(404, .object([("error", .string("no such file"))])) }
        var headers: HTTPFields = [.contentType: type]
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        if let n = HTTPField.Name("X-Content-Type-Options") { headers[n] = "nosniff" }
        if let n = HTTPField.Name("Referrer-Policy") { headers[n] = "same-origin" }
        headers[.cacheControl] = name.hasSuffix(".html") ? "no-cache" : "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    func addStorefrontRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        router.get("/static/{file}") { _, context in
            api.storefrontFile(context.parameters.get("file") ?? "")
        }
    }
}

/// Refuses state-changing requests that a browser sends from another site: a `POST`, `PUT`,
/// `PATCH` or `DELETE` whose `Sec-Fetch-Site` is `cross-site`, or whose `Origin` is not this
/// server's own, answers 403 before anything is read or changed. Clients that are not browsers
/// (curl, SDKs, Elasticsearch clients) send neither header and are not affected. Together with the
/// session cookie's `SameSite=Strict`, this keeps other sites from logging a shopper in to an
/// account of theirs (login CSRF) or changing a cart.
struct CrossSiteGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .post, .put, .patch, .delete:
            if let name = HTTPField.Name("Sec-Fetch-Site"), request.headers[name] == "cross-site" { return Self.refused() }
            if let originName = HTTPField.Name("Origin"), let origin = request.headers[originName] {
                let host = request.head.authority ?? ""
                let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
                if origin == "null" || originHost.lowercased() != host.lowercased() { return Self.refused() }
            }
        default:
            break
        }
        return try await next(request, context)
    }

    static func refused() -> Response {
        var w = JSONWriter(capacity: 128)
        w.value(.object([("error", .string("cross-site request refused: state-changing requests must come from this shop's own pages"))]))
        return Response(status: .forbidden, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }
}
