import AisleCommerce
import AisleEngine
import Foundation
import Hummingbird
import NIOCore

/// Search analytics over HTTP (issue 19): `POST /api/v1/events` takes what the storefront saw
/// shoppers do; searches are recorded by the server itself. Events are checked here, at the edge,
/// and queued on `Commerce.analytics` (never waiting for PostgreSQL).
extension APIServer {
    /// Largest events body, and most events in one batch.
    static let maxEventsBody = 1 << 20
    static let maxEventsPerBatch = 1_000
    /// Request headers naming the shopper's session and device for the searches they make.
    static let sessionHeader = "X-Aisle-Session"
    static let deviceHeader = "X-Aisle-Device"

    func addAnalyticsRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        addAnalyticsReportRoutes(router)
        router.post("/api/v1/events") { request, _ in
            let c: Commerce
            switch api.commerceMount {
            case .ready(let x): c = x
            case .missing(let why): return api.commerceMissing("analytics needs the commerce database: " + why)
            }
            let read = await api.read(request, upTo: Self.maxEventsBody, tooLarge: "the events body is larger than \(Self.maxEventsBody / 1024) KiB")
            guard case .ok(let buf) = read else { return read.response! }
            do {
                let events = try Self.events(JSONBody.parse(buf, emptyIsObject: false), now: Int64(Date().timeIntervalSince1970 * 1_000_000))
                let taken = c.analytics.record(events)
                return api.json(202, .object([("accepted", .number(Double(taken))), ("dropped", .number(Double(events.count - taken)))]))
            } catch let e as TooManyEvents {
                return api.json(413, .object([("error", .string("at most \(Self.maxEventsPerBatch) events in one batch, got \(e.count)"))]))
            } catch {
                return api.commerceError(error)
            }
        }
    }

    struct TooManyEvents: Error { var count: Int }

    /// The report routes: the API token; `from` and `to` (yyyy-mm-dd, both included; default the
    /// last 30 days), `limit` (1 to 1000, default 50) where the report is a list of queries.
    func addAnalyticsReportRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        /// Runs `report` on the range (and limit) the request asks for; answers its members after
        /// `from` and `to`.
        func route(_ path: String, limited: Bool,
                   _ report: @escaping @Sendable (AnalyticsReports, String, String, Int) throws -> [(String, JSONValue)]) {
            router.get(RouterPath(path)) { request, _ in
                if let denied = api.authorize(request) { return denied }
                return await api.commerce(request) { c, _ in
                    let qs = try Self.query(request, allowed: limited ? ["from", "to", "limit"] : ["from", "to"])
                    let now = Date()
                    let to = try qs.one("to") ?? AnalyticsStore.day(now)
                    let from = try qs.one("from") ?? AnalyticsStore.day(now.addingTimeInterval(-29 * 86_400))
                    let limit = try Self.queryInt(qs, "limit", 1...AnalyticsReports.maxLimit) ?? 50
                    let members = try report(c.analyticsReports, from, to, limit)
                    return api.json(200, .object([("from", .string(from)), ("to", .string(to))] + members))
                }
            }
        }
        route("/api/v1/analytics/queries", limited: true) { r, from, to, limit in
            [("queries", .array(try r.topQueries(from: from, to: to, limit: limit).map(Self.queryRowJSON)))]
        }
        route("/api/v1/analytics/zero-results", limited: true) { r, from, to, limit in
            [("queries", .array(try r.zeroResultQueries(from: from, to: to, limit: limit).map(Self.queryRowJSON)))]
        }
        route("/api/v1/analytics/funnel", limited: false) { r, from, to, _ in
            [("days", .array(try r.funnel(from: from, to: to).map { d in
                .object([("day", .string(d.day)), ("device", .string(d.device)), ("searches", .number(Double(d.searches))),
                         ("clicks", .number(Double(d.clicks))), ("carts", .number(Double(d.carts))), ("purchases", .number(Double(d.purchases)))])
            }))]
        }
    }

    static func queryRowJSON(_ r: AnalyticsReports.QueryRow) -> JSONValue {
        .object([("query", .string(r.query)), ("searches", .number(Double(r.searches))), ("zero_results", .number(Double(r.zeroResults))),
                 ("clicks", .number(Double(r.clicks))), ("click_through_rate", .number(r.clickThroughRate)),
                 ("mean_click_position", r.meanClickPosition.map { .number($0) } ?? .null),
                 ("conversions", .number(Double(r.conversions))), ("conversion_rate", .number(r.conversionRate))])
    }

    /// `{"events": [...]}` as typed events; the first bad one is a 400 naming it
    /// (`events[3].position must be from 1 to 10000`, `events[2].lines[0].quantity ...`). Searches
    /// are not taken: the server records its own.
    static func events(_ body: JSONBody, now: Int64) throws -> [AnalyticsEvent] {
        try body.allow(["events"])
        guard let v = body.value("events") else { throw CommerceError.invalid("events is required (an array of events)") }
        guard let list = v.arrayValue else { throw CommerceError.invalid("events must be an array, got \(v.typeName)") }
        guard list.count <= maxEventsPerBatch else { throw TooManyEvents(count: list.count) }
        var out: [AnalyticsEvent] = []
        out.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let o = item.objectValue else { throw CommerceError.invalid("events[\(i)] must be an object, got \(item.typeName)") }
            var e = JSONBody(members: o)
            e.path = "events[\(i)]."
            out.append(try AnalyticsEventJSON.event(e, now: now, searches: false))
        }
        return out
    }
}

/// Analytics events as JSON objects: the events of `POST /api/v1/events` and the lines of
/// `aisle analytics load`, read by one parser, so both take the same fields and name a bad one
/// the same way.
///
/// Fields: `type` (search, click, view, add_to_cart, purchase), `session`, `device`, `at`
/// (milliseconds since 1970), `query_id`, `product_id`, `position`, `order_id`, `quantity`,
/// `lines` (a purchase's `[{"product_id": "p1", "quantity": 2}]`, quantity default 1) and, for
/// searches only, `query`, `total`, `took_us`. A purchase's single `product_id` (and `quantity`)
/// is its one line.
public enum AnalyticsEventJSON {
    static let fields: Set<String> = ["type", "session", "device", "at", "query_id", "product_id", "position", "order_id", "quantity", "lines"]
    static let searchFields: Set<String> = ["query", "total", "took_us"]

    /// One event object. Field names in errors start with `e.path` (`events[3].`); `now` is the
    /// time of an event without `at` (nil: `at` is required); `searches`: whether search events
    /// (and their fields) are taken.
    static func event(_ e: JSONBody, now: Int64?, searches: Bool) throws -> AnalyticsEvent {
        let path = e.path
        try e.allow(searches ? fields.union(searchFields) : fields)
        let type = try e.required("type")
        guard let kind = AnalyticsEvent.Kind(rawValue: type), searches || kind != .search else {
            throw CommerceError.invalid("\(path)type must be \(searches ? "search, " : "")click, view, add_to_cart or purchase, got \"\(type.prefix(40))\"")
        }
        // `at`: milliseconds since 1970. Checked before it is made microseconds, so no value wraps
        // round into the accepted range.
        let at: Int64
        if let ms = try e.int("at") {
            guard (0...AnalyticsEvent.maxAt / 1000).contains(Int64(ms)) else {
                throw CommerceError.invalid("\(path)at must be milliseconds since 1970, before the year 3000")
            }
            at = Int64(ms) * 1000
        } else if let now {
            at = now
        } else {
            throw CommerceError.invalid("\(path)at is required (milliseconds since 1970)")
        }
        var lines: [AnalyticsEvent.Line] = []
        var linesGiven = false
        if let v = e.value("lines"), !v.isNull {
            guard kind == .purchase else { throw CommerceError.invalid("\(path)lines is only for purchase events") }
            guard let list = v.arrayValue else { throw CommerceError.invalid("\(path)lines must be an array, got \(v.typeName)") }
            guard list.count <= AnalyticsEvent.maxLines else {
                throw CommerceError.invalid("\(path)lines has \(list.count) lines; at most \(AnalyticsEvent.maxLines)")
            }
            linesGiven = true
            if list.isEmpty && e.value("product_id") != nil {
                throw CommerceError.invalid("\(path)lines cannot be given with product_id (a purchase has lines, or one product_id and quantity)")
            }
            for (j, item) in list.enumerated() {
                guard let o = item.objectValue else { throw CommerceError.invalid("\(path)lines[\(j)] must be an object, got \(item.typeName)") }
                var l = JSONBody(members: o)
                l.path = "\(path)lines[\(j)]."
                try l.allow(["product_id", "quantity"])
                lines.append(AnalyticsEvent.Line(productId: try l.required("product_id"), quantity: try l.int("quantity") ?? 1))
            }
        }
        var event = AnalyticsEvent(kind: kind, at: at, session: try e.required("session"), device: try e.required("device"),
                                   queryId: try e.string("query_id"), query: try e.string("query"), total: try e.int("total"),
                                   tookMicros: try e.int("took_us"), productId: try e.string("product_id"),
                                   position: try e.int("position"), orderId: try e.string("order_id"), quantity: try e.int("quantity"),
                                   lines: lines)
        // A purchase's single product_id (and quantity) is its one line.
        if kind == .purchase, !linesGiven, let p = event.productId, event.problem() == nil {
            event.lines = [AnalyticsEvent.Line(productId: p, quantity: event.quantity ?? 1)]
            event.productId = nil
            event.quantity = nil
        }
        if let p = event.problem() { throw CommerceError.invalid("\(path)\(p.field) \(p.reason)") }
        return event
    }

    /// One line of an events file (JSON lines, `aisle analytics load`): an event object with `at`;
    /// searches are taken. Errors name the field (`lines[0].quantity must be from 1 to 10000`).
    public static func line(_ text: String) throws -> AnalyticsEvent {
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch { throw CommerceError.invalid("not valid JSON: \(error)") }
        guard let o = v.objectValue else { throw CommerceError.invalid("must be a JSON object, got \(v.typeName)") }
        return try event(JSONBody(members: o), now: nil, searches: true)
    }
}
