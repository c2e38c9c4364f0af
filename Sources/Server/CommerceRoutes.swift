import AisleCommerce
import AisleEngine
import Foundation
import Hummingbird
import NIOCore

/// Customers, sessions and carts over HTTP (README, "Customers, sessions and carts"). JSON is
/// parsed and written here, at the edge; `Commerce` takes and answers typed values. Handlers run
/// on a pool of their own (hiredis and libpq block), so a slow store never holds up search.
public enum CommerceMount: Sendable {
    case ready(Commerce)
    /// Not configured: every commerce route answers 503 with this reason.
    case missing(String)
}

extension APIServer {
    static let sessionCookie = "aisle_session"

    func addCommerceRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        router.post("/api/v1/customers") { request, _ in
            await api.commerce(request, body: true) { c, body in
                try body.allow(["email", "password", "name"])
                let customer = try c.register(email: try body.string("email"), password: try body.string("password"), name: try body.string("name"))
                return api.json(201, Self.customerJSON(customer))
            }
        }
        router.get("/api/v1/customers/me") { request, _ in
            await api.commerce(request) { c, _ in api.json(200, Self.customerJSON(try c.customer(of: try c.session(token: Self.token(request))))) }
        }
        router.patch("/api/v1/customers/me") { request, _ in
            await api.commerce(request, body: true) { c, body in
                let session = try c.session(token: Self.token(request))
                let change = try Self.customerChange(body)
                return api.json(200, Self.customerJSON(try c.updateCustomer(of: session, change)))
            }
        }
        router.post("/api/v1/sessions") { request, _ in
            await api.commerce(request, body: true, emptyBodyIsObject: true) { c, body in
                let issued: IssuedSession
                if body.has("email") || body.has("password") {
                    try body.allow(["email", "password", "guest_token"])
                    let guest = try body.string("guest_token") ?? Self.token(request)
                    issued = try c.logIn(email: try body.string("email"), password: try body.string("password"), guestToken: guest)
                } else {
                    try body.allow([])
                    issued = try c.startGuestSession()
                }
                var obj = Self.sessionFields(issued.session)
                obj.insert(("token", .string(issued.token)), at: 0)
                if let m = issued.mergedLines { obj.append(("merged_lines", .number(Double(m)))) }
                var r = api.json(201, .object(obj))
                r.headers[.setCookie] = "\(Self.sessionCookie)=\(issued.token); Path=/; Max-Age=\(issued.ttl); HttpOnly; SameSite=Strict"
                r.headers[.cacheControl] = "no-store"
                return r
            }
        }
        router.get("/api/v1/sessions/current") { request, _ in
            await api.commerce(request) { c, _ in api.json(200, .object(Self.sessionFields(try c.session(token: Self.token(request))))) }
        }
        router.delete("/api/v1/sessions/current") { request, _ in
            await api.commerce(request) { c, _ in
                try c.logOut(try c.session(token: Self.token(request)))
                var r = Response(status: .noContent)
                r.headers[.setCookie] = "\(Self.sessionCookie)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
                return r
            }
        }
        router.get("/api/v1/cart") { request, _ in
            await api.commerce(request) { c, _ in
                let view = try c.cart(of: try c.session(token: Self.token(request)))
                return Self.tagged(api.json(200, Self.cartJSON(view)), version: view.version)
            }
        }
        router.delete("/api/v1/cart") { request, _ in
            await api.commerce(request) { c, _ in
                let change = try c.clearCart(try c.session(token: Self.token(request)), ifMatch: try Self.ifMatch(request))
                return Self.tagged(api.json(200, .object([("version", .number(Double(change.version))), ("item_count", .number(0)),
                                                          ("line_count", .number(0))])), version: change.version)
            }
        }
        router.post("/api/v1/cart/items") { request, _ in
            await api.commerce(request, body: true) { c, body in
                let session = try c.session(token: Self.token(request))
                try body.allow(["product_id", "quantity"])
                let change = try c.addItem(session, productId: try body.string("product_id"), quantity: try body.int("quantity"),
                                           ifMatch: try Self.ifMatch(request))
                return Self.tagged(api.json(200, Self.lineJSON(change)), version: change.version)
            }
        }
        router.patch("/api/v1/cart/items/{product_id}") { request, context in
            await api.commerce(request, body: true) { c, body in
                let session = try c.session(token: Self.token(request))
                try body.allow(["quantity"])
                let change = try c.setItem(session, productId: try Self.pathProduct(context), quantity: try body.int("quantity"),
                                           ifMatch: try Self.ifMatch(request))
                return Self.tagged(api.json(200, Self.lineJSON(change)), version: change.version)
            }
        }
        router.delete("/api/v1/cart/items/{product_id}") { request, context in
            await api.commerce(request) { c, _ in
                let session = try c.session(token: Self.token(request))
                let change = try c.removeItem(session, productId: try Self.pathProduct(context), ifMatch: try Self.ifMatch(request))
                return Self.tagged(api.json(200, Self.lineJSON(change)), version: change.version)
            }
        }
    }

    /// Reads the body (when the route has one), then runs `body` on the commerce pool; maps errors.
    func commerce(_ request: Request, body hasBody: Bool = false, emptyBodyIsObject: Bool = false,
                  _ handler: @escaping @Sendable (Commerce, JSONBody) throws -> Response) async -> Response {
        let c: Commerce
        switch commerceMount {
        case .ready(let x): c = x
        case .missing(let why): return commerceMissing(why)
        }
        var parsed = JSONBody(members: [])
        if hasBody {
            switch await read(request, upTo: Self.maxBody, tooLarge: "the request body is larger than \(Self.maxBody / 1024) KiB") {
            case .refused(let r): return r
            case .ok(let buf):
                do {
                    parsed = try JSONBody.parse(buf, emptyIsObject: emptyBodyIsObject)
                } catch {
                    return commerceError(error)
                }
            }
        }
        let body = parsed
        do {
            return try await commercePool.submit { [api = self] in
                do { return try handler(c, body) } catch { return api.commerceError(error) }
            }
        } catch let b as WorkPool.Busy {
            return busy("the server is busy: \(b.queued) cart and session requests are waiting; retry shortly")
        } catch {
            return commerceError(error)
        }
    }

    /// 503 for a route that needs commerce when it is not configured (or could not start); with
    /// Retry-After like every 503 of the API.
    func commerceMissing(_ why: String) -> Response {
        var r = json(503, .object([("error", .string(why))]))
        r.headers[.retryAfter] = "60"
        return r
    }

    func commerceError(_ error: Error) -> Response {
        guard let e = error as? CommerceError else {
            return json(500, .object([("error", .string("internal error: \(error)"))]))
        }
        if case .refused(let refusal) = e {
            let (status, fields) = Self.refusalJSON(refusal)
            var r = json(status, .object(fields))
            if case .inProgress(let s) = refusal { r.headers[.retryAfter] = String(s) }
            return r
        }
        let status: Int
        var extra: [(String, JSONValue)] = []
        switch e {
        case .invalid: status = 400
        case .unauthorized: status = 401
        case .notFound: status = 404
        case .conflict: status = 409
        case .versionMismatch(let v): status = 412; extra.append(("version", .number(Double(v))))
        case .throttled: status = 429
        case .unavailable: status = 503
        case .overflow: status = 422
        case .internalError: status = 500
        case .refused: status = 409
        }
        var r = json(status, .object([("error", .string(e.description))] + extra))
        if case .throttled(let s) = e { r.headers[.retryAfter] = String(s) }
        if case .unavailable = e { r.headers[.retryAfter] = "1" }
        if case .versionMismatch(let v) = e { r.headers[.eTag] = "\"\(v)\"" }
        return r
    }

    // MARK: - Reading requests

    /// The session token: `Authorization: Bearer …`, else the `aisle_session` cookie.
    static func token(_ request: Request) -> String? {
        if let auth = request.headers[.authorization] {
            let parts = auth.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == sessionCookie {
                    return kv[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `If-Match: 7` or `"7"` (or `*`: any version); a malformed one is a 400.
    static func ifMatch(_ request: Request) throws -> Int? {
        guard var v = request.headers[.ifMatch]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if v == "*" { return nil }
        if v.hasPrefix("W/") { v.removeFirst(2) }
        if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
        guard let n = Int(v), n >= 0 else { throw CommerceError.invalid("If-Match must be a cart version (the ETag of GET /api/v1/cart), got \(v.prefix(40))") }
        return n
    }

    static func pathProduct(_ context: BasicRequestContext) throws -> String {
        guard let id = pathId(context.parameters.get("product_id")) else {
            throw CommerceError.invalid("malformed percent escape in the product id")
        }
        return id
    }

    static func tagged(_ r: Response, version: Int) -> Response {
        var r = r
        r.headers[.eTag] = "\"\(version)\""
        r.headers[.cacheControl] = "no-store"
        return r
    }

    static func customerChange(_ body: JSONBody) throws -> CustomerChange {
        try body.allow(["name", "shipping_address"])
        var change = CustomerChange(name: try body.string("name"))
        if let a = body.value("shipping_address") {
            if a.isNull {
                change.shippingAddress = .some(nil)
            } else {
                guard let members = a.objectValue else { throw CommerceError.invalid("shipping_address must be an object or null") }
                let o = JSONBody(members: members, path: "shipping_address.")
                try o.allow(["name", "line1", "line2", "city", "region", "postal_code", "country"])
                change.shippingAddress = .some(ShippingAddress(
                    name: try o.string("name"), line1: try o.required("line1"), line2: try o.string("line2"), city: try o.required("city"),
                    region: try o.string("region"), postalCode: try o.required("postal_code"), country: try o.required("country")))
            }
        }
        return change
    }

    // MARK: - Writing answers

    static func date(_ d: Date) -> String { d.formatted(.iso8601) }

    static func customerJSON(_ c: Customer) -> JSONValue {
        var address: JSONValue = .null
        if let a = c.shippingAddress {
            func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
            address = .object([("name", opt(a.name)), ("line1", .string(a.line1)), ("line2", opt(a.line2)), ("city", .string(a.city)),
                               ("region", opt(a.region)), ("postal_code", .string(a.postalCode)), ("country", .string(a.country))])
        }
        return .object([("id", .number(Double(c.id))), ("email", .string(c.email)), ("name", .string(c.name)),
                        ("shipping_address", address), ("created_at", .string(date(c.createdAt)))])
    }

    static func sessionFields(_ s: Session) -> [(String, JSONValue)] {
        [("kind", .string(s.kind.rawValue)), ("customer_id", s.customerId.map { .number(Double($0)) } ?? .null),
         ("expires_at", .string(date(s.expiresAt)))]
    }

    static func lineJSON(_ c: LineChange) -> JSONValue {
        .object([("product_id", .string(c.productId)), ("quantity", .number(Double(c.quantity))), ("version", .number(Double(c.version))),
                 ("item_count", .number(Double(c.itemCount))), ("line_count", .number(Double(c.lineCount)))])
    }

    static func cartJSON(_ v: CartView) -> JSONValue {
        let items: [JSONValue] = v.items.map { i in
            let warnings: [JSONValue] = i.warnings.map { w in
                switch w {
                case .priceChanged(let was, let now): return .object([("code", .string("price_changed")), ("was", .string(was.formatted())), ("now", .string(now.formatted()))])
                case .outOfStock: return .object([("code", .string("out_of_stock"))])
                case .notEnoughStock(let n): return .object([("code", .string("not_enough_stock")), ("available", .number(Double(n)))])
                case .unavailable: return .object([("code", .string("unavailable"))])
                }
            }
            return .object([("product_id", .string(i.productId)), ("name", i.name.map { .string($0) } ?? .null),
                            ("quantity", .number(Double(i.quantity))), ("price", i.price.map { .string($0.formatted()) } ?? .null),
                            ("subtotal", i.subtotal.map { .string($0.formatted()) } ?? .null),
                            ("added_price", .string(i.addedPrice.formatted())), ("warnings", .array(warnings))])
        }
        return .object([("items", .array(items)), ("total", .string(v.total.formatted())), ("currency", .string(v.currency)),
                        ("item_count", .number(Double(v.itemCount))), ("line_count", .number(Double(v.items.count))),
                        ("version", .number(Double(v.version)))])
    }
}

/// A request body that must be a JSON object; typed accessors name the field in their errors.
struct JSONBody: Sendable {
    var members: [(String, JSONValue)]
    var path = ""

    static func parse(_ buf: ByteBuffer, emptyIsObject: Bool) throws -> JSONBody {
        let text = String(buffer: buf)
        if text.allSatisfy({ $0.isWhitespace }) {
            if emptyIsObject { return JSONBody(members: []) }
            throw CommerceError.invalid("the request needs a JSON object body")
        }
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch { throw CommerceError.invalid("the body is not valid JSON: \(error)") }
        guard let o = v.objectValue else { throw CommerceError.invalid("the body must be a JSON object, got \(v.typeName)") }
        return JSONBody(members: o)
    }

    func value(_ key: String) -> JSONValue? { members.last { $0.0 == key }?.1 }
    func has(_ key: String) -> Bool { value(key) != nil }

    /// A string field; nil when absent or null.
    func string(_ key: String) throws -> String? {
        guard let v = value(key), !v.isNull else { return nil }
        guard let s = v.stringValue else { throw CommerceError.invalid("\(path)\(key) must be a string, got \(v.typeName)") }
        return s
    }

    func required(_ key: String) throws -> String {
        guard let s = try string(key) else { throw CommerceError.invalid("\(path)\(key) is required") }
        return s
    }

    /// A whole-number field; nil when absent.
    func int(_ key: String) throws -> Int? {
        guard let v = value(key), !v.isNull else { return nil }
        guard let d = v.numberValue, let n = Int(exactly: d) else {
            throw CommerceError.invalid("\(path)\(key) must be a whole number, got \(v.typeName == "number" ? "a fraction or a number out of range" : v.typeName)")
        }
        return n
    }

    /// Refuses unknown fields (a typo must not be silently ignored).
    func allow(_ keys: Set<String>) throws {
        if let bad = members.first(where: { !keys.contains($0.0) }) {
            let known = keys.isEmpty ? "none" : keys.sorted().joined(separator: ", ")
            throw CommerceError.invalid("unknown field \(path)\(bad.0.prefix(64)) (known: \(known))")
        }
    }
}
