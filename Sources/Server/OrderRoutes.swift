import AisleCommerce
import AisleEngine
import Foundation
import Hummingbird
import NIOCore

/// Orders and inventory over HTTP (README, "Orders and inventory"). The shop's routes (payment,
/// shipment, delivery, stock) take the API token; a customer's take their session.
extension APIServer {
    func addOrderRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        router.post("/api/v1/orders") { request, _ in
            await api.commerce(request, body: true) { c, body in
                let session = try c.session(token: Self.token(request))
                let order = try Self.orderRequest(body, key: request.headers.first(where: { $0.name.canonicalName == "idempotency-key" })?.value)
                let placed = try c.placeOrder(session, order)
                if !placed.replayed {
                    // The order records its own purchase, with its lines, for analytics (queued,
                    // never in the way). A cart holds 100 lines by default, as many as an event
                    // takes; a shop configured for more records its first 100.
                    let shopper = Self.shopper(request)
                    let e = AnalyticsEvent(kind: .purchase, at: Int64(Date().timeIntervalSince1970 * 1_000_000), session: shopper.session,
                                           device: shopper.device, orderId: String(placed.order.id),
                                           lines: placed.order.lines.prefix(AnalyticsEvent.maxLines).map {
                                               AnalyticsEvent.Line(productId: $0.productId, quantity: min($0.quantity, AnalyticsEvent.maxQuantity))
                                           })
                    if e.problem() == nil { c.analytics.record(e) }
                }
                var r = api.json(201, Self.orderJSON(placed.order))
                r.headers[.location] = "/api/v1/orders/\(placed.order.id)"
                r.headers[.cacheControl] = "no-store"
                return r
            }
        }
        router.get("/api/v1/orders") { request, _ in
            await api.commerce(request) { c, _ in
                let session = try c.session(token: Self.token(request))
                let qs = try Self.query(request, allowed: ["limit", "before"])
                let limit = try Self.queryInt(qs, "limit", 1...100) ?? 20
                let before = try Self.queryInt(qs, "before", 1...Int.max).map(Int64.init)
                let page = try c.orderHistory(session, limit: limit, before: before)
                let next: JSONValue = page.count == limit ? page.last.map { .number(Double($0.orderId)) } ?? .null : .null
                return api.json(200, .object([("orders", .array(page.map(Self.summaryJSON))), ("next_before", next)]))
            }
        }
        router.get("/api/v1/orders/{id}") { request, context in
            await api.commerce(request) { c, _ in
                let id = try Self.orderId(context)
                let qs = try Self.query(request, allowed: ["as_of"])
                var asOf: Date?
                if let t = try Self.queryOne(qs, "as_of") {
                    guard let d = Self.parseDate(t) else {
                        throw CommerceError.invalid("as_of must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got \(t.prefix(40))")
                    }
                    asOf = d
                }
                let order = try c.order(id, session: try api.orderReader(c, request), asOf: asOf)
                return api.json(200, Self.orderJSON(order))
            }
        }
        router.get("/api/v1/orders/{id}/events") { request, context in
            await api.commerce(request) { c, _ in
                let id = try Self.orderId(context)
                let events = try c.orderEvents(id, session: try api.orderReader(c, request))
                return api.json(200, .object([("order_id", .number(Double(id))), ("events", .array(events.map(Self.eventJSON)))]))
            }
        }
        for (path, t) in [("payment", OrderTransition.pay), ("shipment", .ship), ("delivery", .deliver)] {
            router.post("/api/v1/orders/{id}/\(path)") { request, context in
                if let refused = api.authorize(request) { return refused }
                return await api.commerce(request, body: true, emptyBodyIsObject: true) { c, body in
                    let id = try Self.orderId(context)
                    let change: OrderEventData.Change
                    switch t {
                    case .pay:
                        try body.allow(["reference"])
                        change = .init(reference: try body.string("reference"))
                    case .ship:
                        try body.allow(["carrier", "tracking"])
                        change = .init(carrier: try body.string("carrier"), tracking: try body.string("tracking"))
                    default:
                        try body.allow([])
                        change = .init()
                    }
                    return api.json(200, Self.orderJSON(try c.advanceOrder(id, t, change: change)))
                }
            }
        }
        router.post("/api/v1/orders/{id}/cancel") { request, context in
            await api.commerce(request, body: true, emptyBodyIsObject: true) { c, body in
                let session = try c.session(token: Self.token(request))
                try body.allow(["reason"])
                return api.json(200, Self.orderJSON(try c.cancelOrder(try Self.orderId(context), session: session, reason: try body.string("reason"))))
            }
        }
        router.get("/api/v1/inventory/{product_id}") { request, context in
            await api.commerce(request) { c, _ in
                api.json(200, Self.stockJSON(try c.stock(try Self.pathProduct(context))))
            }
        }
        router.put("/api/v1/inventory/{product_id}") { request, context in
            if let refused = api.authorize(request) { return refused }
            return await api.commerce(request, body: true) { c, body in
                try body.allow(["available", "if_available", "reason"])
                let level = try c.setStock(try Self.pathProduct(context), available: try body.int("available"),
                                           ifAvailable: try body.int("if_available"), reason: try body.string("reason"))
                return api.json(200, Self.stockJSON(level))
            }
        }
    }

    /// Who reads an order: the shop (the API token: nil) or the session's customer.
    func orderReader(_ c: Commerce, _ request: Request) throws -> Session? {
        if let token, !token.isEmpty, let given = Self.token(request),
           Self.constantTimeEqual(Array(given.utf8), Array(token.utf8)) {
            return nil
        }
        return try c.session(token: Self.token(request))
    }

    static func orderId(_ context: BasicRequestContext) throws -> Int64 {
        guard let raw = context.parameters.get("id"), let id = Int64(raw), id > 0 else {
            throw CommerceError.invalid("the order id must be a positive whole number")
        }
        return id
    }

    static func query(_ request: Request, allowed: Set<String>) throws -> QueryString {
        do {
            let qs = try QueryString(request.uri.query)
            if let bad = qs.pairs.first(where: { !allowed.contains($0.0) }) {
                throw CommerceError.invalid("unknown parameter \(bad.0.prefix(40)) (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            return qs
        } catch let e as APIError {
            throw CommerceError.invalid(e.message)
        }
    }

    static func queryOne(_ qs: QueryString, _ k: String) throws -> String? {
        do { return try qs.one(k) } catch let e as APIError { throw CommerceError.invalid(e.message) }
    }

    static func queryInt(_ qs: QueryString, _ k: String, _ range: ClosedRange<Int>) throws -> Int? {
        do { return try qs.int(k, range: range) } catch let e as APIError { throw CommerceError.invalid(e.message) }
    }

    static func orderRequest(_ body: JSONBody, key: String?) throws -> OrderRequest {
        try body.allow(["shipping_address", "payment_method_id", "expected_total"])
        guard let a = body.value("shipping_address"), let members = a.objectValue else {
            throw CommerceError.invalid("shipping_address is required: an object with line1, city, postal_code, country (name, line2, region optional)")
        }
        let o = JSONBody(members: members, path: "shipping_address.")
        try o.allow(["name", "line1", "line2", "city", "region", "postal_code", "country"])
        let address = ShippingAddress(name: try o.string("name"), line1: try o.required("line1"), line2: try o.string("line2"),
                                      city: try o.required("city"), region: try o.string("region"),
                                      postalCode: try o.required("postal_code"), country: try o.required("country"))
        guard let totalText = try body.string("expected_total") else {
            throw CommerceError.invalid("expected_total is required: the cart total the buyer saw, as a decimal string such as \"59.98\"")
        }
        guard let total = Money(totalText), !totalText.hasPrefix("+") else {
            throw CommerceError.invalid("expected_total must be a decimal string such as \"59.98\", got \(totalText.prefix(40))")
        }
        return OrderRequest(shippingAddress: address, paymentMethodId: try body.string("payment_method_id") ?? "",
                            expectedTotal: total, idempotencyKey: try Commerce.idempotencyKey(key))
    }

    // MARK: - Writing answers

    static func addressJSON(_ a: ShippingAddress) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return .object([("name", opt(a.name)), ("line1", .string(a.line1)), ("line2", opt(a.line2)), ("city", .string(a.city)),
                        ("region", opt(a.region)), ("postal_code", .string(a.postalCode)), ("country", .string(a.country))])
    }

    static func orderJSON(_ o: Order) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        let lines: [JSONValue] = o.lines.map { l in
            .object([("product_id", .string(l.productId)), ("title", .string(l.title)), ("brand", opt(l.brand)),
                     ("unit_price", .string(l.unitPrice.formatted())), ("quantity", .number(Double(l.quantity))),
                     ("subtotal", .string(l.subtotal.formatted()))])
        }
        return .object([("id", .number(Double(o.id))), ("customer_id", .number(Double(o.customerId))), ("status", .string(o.status.rawValue)),
                        ("version", .number(Double(o.version))), ("currency", .string(o.currency)), ("total", .string(o.total.formatted())),
                        ("item_count", .number(Double(o.itemCount))), ("lines", .array(lines)),
                        ("shipping_address", addressJSON(o.shippingAddress)), ("payment_method_id", .string(o.paymentMethodId)),
                        ("placed_at", .string(date(o.placedAt))), ("expires_at", .string(date(o.expiresAt))),
                        ("updated_at", .string(date(o.updatedAt))), ("payment_reference", opt(o.paymentReference)),
                        ("carrier", opt(o.carrier)), ("tracking", opt(o.tracking)), ("cancel_reason", opt(o.cancelReason))])
    }

    static func summaryJSON(_ s: OrderSummary) -> JSONValue {
        .object([("id", .number(Double(s.orderId))), ("status", .string(s.status.rawValue)), ("version", .number(Double(s.version))),
                 ("currency", .string(s.currency)), ("total", .string(s.total.formatted())), ("item_count", .number(Double(s.itemCount))),
                 ("line_count", .number(Double(s.lineCount))), ("first_title", .string(s.firstTitle)),
                 ("placed_at", .string(date(s.placedAt))), ("updated_at", .string(date(s.updatedAt)))])
    }

    static func eventJSON(_ e: OrderEvent) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        let data: JSONValue
        switch e.data {
        case .placed(let p):
            data = .object([("customer_id", .number(Double(p.customerId))), ("currency", .string(p.currency)), ("total", .string(p.total.formatted())),
                            ("lines", .array(p.lines.map { l in
                                .object([("product_id", .string(l.productId)), ("title", .string(l.title)), ("brand", opt(l.brand)),
                                         ("unit_price", .string(l.unitPrice.formatted())), ("quantity", .number(Double(l.quantity)))])
                            })),
                            ("shipping_address", addressJSON(p.shippingAddress)), ("payment_method_id", .string(p.paymentMethodId)),
                            ("expires_at", .string(date(p.expiresAt)))])
        case .change(let c):
            var fields: [(String, JSONValue)] = []
            if let r = c.reference { fields.append(("reference", .string(r))) }
            if let r = c.carrier { fields.append(("carrier", .string(r))) }
            if let r = c.tracking { fields.append(("tracking", .string(r))) }
            if let r = c.reason { fields.append(("reason", .string(r))) }
            data = .object(fields)
        }
        return .object([("version", .number(Double(e.version))), ("type", .string(e.type.rawValue)), ("data", data),
                        ("occurred_at", .string(preciseDate(e.occurredAt))), ("actor", .string(e.actor))])
    }

    static func stockJSON(_ s: StockLevel) -> JSONValue {
        .object([("product_id", .string(s.productId)), ("available", .number(Double(s.available))), ("reserved", .number(Double(s.reserved))),
                 ("sellable", .number(Double(s.sellable)))])
    }

    /// ISO 8601 with microseconds (`2026-12-05T23:54:24.989123Z`): event times, so that `as_of`
    /// can name the moment of an event exactly.
    static func preciseDate(_ d: Date) -> String {
        let t = d.timeIntervalSince1970
        var whole = t.rounded(.down)
        var micros = Int(((t - whole) * 1_000_000).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        let base = Date(timeIntervalSince1970: whole).formatted(.iso8601)   // …:SSZ
        let digits = String(micros)
        return base.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// Parses ISO 8601 with or without a fraction of a second (up to microseconds) and a zone.
    static func parseDate(_ text: String) -> Date? {
        guard let tIndex = text.firstIndex(of: "T"), let dot = text[tIndex...].firstIndex(of: ".") else {
            return try? Date(text, strategy: .iso8601)
        }
        let fracEnd = text[text.index(after: dot)...].firstIndex(where: { !$0.isNumber }) ?? text.endIndex
        let frac = text[text.index(after: dot)..<fracEnd]
        guard !frac.isEmpty, frac.count <= 9, let base = try? Date(String(text[..<dot] + text[fracEnd...]), strategy: .iso8601) else { return nil }
        let micros = Double(String(frac.prefix(6)).padding(toLength: 6, withPad: "0", startingAt: 0))! / 1_000_000
        return Date(timeIntervalSince1970: base.timeIntervalSince1970 + micros)
    }

    /// The answer to a refused order or stock change: the code as `error`, details beside it.
    static func refusalJSON(_ r: OrderRefusal) -> (Int, [(String, JSONValue)]) {
        var extra: [(String, JSONValue)] = []
        var status = 409
        switch r {
        case .totalsChanged(let t, let e, let cur):
            extra = [("total", .string(t.formatted())), ("expected_total", .string(e.formatted())), ("currency", .string(cur))]
        case .outOfStock(let p, let a): extra = [("product_id", .string(p)), ("available", .number(Double(a)))]
        case .productUnavailable(let p): extra = [("product_id", .string(p))]
        case .illegalTransition(let s, let t): extra = [("status", .string(s.rawValue)), ("transition", .string(t.rawValue))]
        case .staleStock(let a): extra = [("available", .number(Double(a)))]
        case .keyReused: status = 422
        case .cartEmpty, .inProgress, .versionConflict: break
        }
        return (status, [("error", .string(r.code)), ("message", .string(r.message))] + extra)
    }
}
