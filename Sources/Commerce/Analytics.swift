import AisleCatalog
import Foundation
import Synchronization

/// Search analytics (issue 19): what shoppers search, click, put in carts and buy, recorded without
/// slowing the answers and rolled up by day as it is written, so reports read small tables.
///
/// - `analytics_events` keeps every event, partitioned by day (`analytics_events_YYYYMMDD`, made
///   when a day's first event is written); `AnalyticsStore.dropDays(before:)` is the retention.
/// - `analytics_searches` maps a search's `query_id` to its query, session, device and day, so a
///   click names the query it came from.
/// - `analytics_session_queries` is what each session searched each day: a purchase counts as a
///   conversion for each of them (search → purchase in the same session).
/// - `analytics_query_daily` (day, device, query): searches, zero-result searches, clicks, the sum
///   of click positions, conversions. `analytics_funnel_daily` (day, device): searches, clicks,
///   add-to-carts, purchases (orders: a purchase event counts once, however many lines).
/// - `analytics_query_product_daily` (day, query, product; migration 4): clicks and purchases of
///   a product for a query, the ranking signal (`AnalyticsReports.productSignals`).
/// - A purchase is stored as one `analytics_events` row per line (product, quantity, order), or
///   one row without a product when it has no lines.
///
/// Every batch of events and the rollups it changes are written in one transaction, so a report
/// never sees an event without its counts.
enum AnalyticsSchema {
    static let migration = (version: 3, name: "search analytics: events by day, daily rollups", sql: """
    CREATE TABLE analytics_events (
        day        date NOT NULL,
        at         timestamptz NOT NULL,
        kind       text NOT NULL CHECK (kind IN ('search', 'click', 'view', 'add_to_cart', 'purchase')),
        session    text NOT NULL,
        device     text NOT NULL,
        query_id   text,
        query      text,
        total      integer,
        zero       boolean,
        took_us    integer,
        product_id text,
        position   integer,
        order_id   text,
        quantity   integer
    ) PARTITION BY RANGE (day);

    CREATE TABLE analytics_searches (
        query_id text PRIMARY KEY,
        day      date NOT NULL,
        session  text NOT NULL,
        device   text NOT NULL,
        query    text NOT NULL
    );
    CREATE INDEX analytics_searches_day ON analytics_searches (day);

    CREATE TABLE analytics_session_queries (
        day     date NOT NULL,
        session text NOT NULL,
        device  text NOT NULL,
        query   text NOT NULL,
        first_at timestamptz NOT NULL,
        PRIMARY KEY (day, session, query)
    );

    CREATE TABLE analytics_query_daily (
        day          date NOT NULL,
        device       text NOT NULL,
        query        text NOT NULL,
        searches     bigint NOT NULL DEFAULT 0,
        zero_results bigint NOT NULL DEFAULT 0,
        clicks       bigint NOT NULL DEFAULT 0,
        position_sum bigint NOT NULL DEFAULT 0,
        conversions  bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (day, device, query)
    );

    CREATE TABLE analytics_funnel_daily (
        day       date NOT NULL,
        device    text NOT NULL,
        searches  bigint NOT NULL DEFAULT 0,
        clicks    bigint NOT NULL DEFAULT 0,
        carts     bigint NOT NULL DEFAULT 0,
        purchases bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (day, device)
    );
    """)

    /// Migration 4 (issue 19, feeding search and recommendations): the query-product rollup that
    /// ranking reads, and the co-purchase tables the `CoPurchaseProjector` keeps.
    ///
    /// `analytics_query_product_daily` (day, query, product): clicks on the product in the answers
    /// of the query (the day of the search the click names), and purchases of it by sessions that
    /// searched the query earlier that day. A purchase counts 1 per product of the order, whatever
    /// the quantity (orders that bought it, like `conversions` counts orders): one order of 50
    /// screws does not outweigh 50 shoppers.
    static let feedback = (version: 4, name: "search analytics fed back: query-product rollup, co-purchases", sql: """
    CREATE TABLE analytics_query_product_daily (
        day        date NOT NULL,
        query      text NOT NULL,
        product_id text NOT NULL,
        clicks     bigint NOT NULL DEFAULT 0,
        purchases  bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (day, query, product_id)
    );
    """ + CoPurchaseProjector.schema)
}

/// One thing a shopper did. Which fields are set depends on `kind` (`AnalyticsEvent.validate`).
public struct AnalyticsEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case search, click, view
        case addToCart = "add_to_cart"
        case purchase
    }

    public var kind: Kind
    /// Microseconds since 1970 (UTC); the day is taken from it.
    public var at: Int64
    public var session: String
    public var device: String
    public var queryId: String?
    public var query: String?
    public var total: Int?
    public var tookMicros: Int?
    public var productId: String?
    public var position: Int?
    public var orderId: String?
    public var quantity: Int?
    /// What a purchase bought (at most `maxLines`); empty for the other kinds. A purchase with
    /// `productId` and no lines is the one-line form: that product, `quantity` (default 1).
    public var lines: [Line]

    /// One line of a purchase: a product and how many.
    public struct Line: Sendable, Equatable {
        public var productId: String
        public var quantity: Int
        public init(productId: String, quantity: Int = 1) {
            self.productId = productId
            self.quantity = quantity
        }
    }

    public init(kind: Kind, at: Int64, session: String, device: String, queryId: String? = nil, query: String? = nil,
                total: Int? = nil, tookMicros: Int? = nil, productId: String? = nil, position: Int? = nil,
                orderId: String? = nil, quantity: Int? = nil, lines: [Line] = []) {
        self.kind = kind
        self.at = at
        self.session = session
        self.device = device
        self.queryId = queryId
        self.query = query
        self.total = total
        self.tookMicros = tookMicros
        self.productId = productId
        self.position = position
        self.orderId = orderId
        self.quantity = quantity
        self.lines = lines
    }

    /// The lines of a purchase as stored: `lines`, or the one-line form's product.
    public var purchaseLines: [Line] {
        guard kind == .purchase else { return [] }
        if lines.isEmpty, let p = productId { return [Line(productId: p, quantity: quantity ?? 1)] }
        return lines
    }

    public static let maxText = 512
    /// Most lines in one purchase.
    public static let maxLines = 100
    /// Largest quantity of an add-to-cart or a purchase line.
    public static let maxQuantity = 10_000
    /// The latest time an event may have: 3000-01-01, in microseconds since 1970.
    public static let maxAt: Int64 = 32_503_680_000_000_000

    /// The first thing wrong with the event, as (field, reason); nil when it can be recorded.
    public func problem() -> (field: String, reason: String)? {
        func text(_ v: String?, _ name: String, required: Bool) -> (String, String)? {
            guard let v else { return required ? (name, "is required for a \(kind.rawValue) event") : nil }
            if v.isEmpty && required { return (name, "must not be empty") }
            if v.utf8.count > Self.maxText { return (name, "is longer than \(Self.maxText) bytes") }
            // PostgreSQL text cannot hold U+0000 (and libpq's parameters end at it): refused here,
            // so one such event cannot fail the batch written with it.
            if v.utf8.contains(0) { return (name, "must not contain U+0000") }
            return nil
        }
        if let p = text(session, "session", required: true) { return p }
        if let p = text(device, "device", required: true) { return p }
        if at < 0 || at > Self.maxAt { return ("at", "is not a time between 1970 and 3000") }
        switch kind {
        case .search:
            if let p = text(queryId, "query_id", required: true) { return p }
            if let p = text(query, "query", required: true) { return p }
            guard let t = total, t >= 0 else { return ("total", "is required for a search event and must not be negative") }
            if t > Int(Int32.max) { return ("total", "must be at most \(Int32.max)") }
        case .click:
            if let p = text(queryId, "query_id", required: true) { return p }
            if let p = text(productId, "product_id", required: true) { return p }
            guard let pos = position, pos >= 1, pos <= 10_000 else { return ("position", "must be from 1 to 10000") }
        case .view:
            if let p = text(productId, "product_id", required: true) { return p }
        case .addToCart:
            if let p = text(productId, "product_id", required: true) { return p }
            if let q = quantity, q < 1 || q > Self.maxQuantity { return ("quantity", "must be from 1 to \(Self.maxQuantity)") }
        case .purchase:
            if let p = text(orderId, "order_id", required: true) { return p }
            if !lines.isEmpty && (productId != nil || quantity != nil) {
                return (productId != nil ? "product_id" : "quantity", "cannot be given with lines (a purchase has lines, or one product_id and quantity)")
            }
            if lines.isEmpty {
                if let p = text(productId, "product_id", required: false) { return p }
                if productId?.isEmpty == true { return ("product_id", "must not be empty") }
                if let q = quantity {
                    guard productId != nil else { return ("quantity", "needs product_id (or give lines)") }
                    if q < 1 || q > Self.maxQuantity { return ("quantity", "must be from 1 to \(Self.maxQuantity)") }
                }
            }
            if lines.count > Self.maxLines { return ("lines", "has \(lines.count) lines; at most \(Self.maxLines)") }
            for (i, l) in lines.enumerated() {
                if l.productId.isEmpty { return ("lines[\(i)].product_id", "must not be empty") }
                if l.productId.utf8.count > Self.maxText { return ("lines[\(i)].product_id", "is longer than \(Self.maxText) bytes") }
                if l.productId.utf8.contains(0) { return ("lines[\(i)].product_id", "must not contain U+0000") }
                if l.quantity < 1 || l.quantity > Self.maxQuantity { return ("lines[\(i)].quantity", "must be from 1 to \(Self.maxQuantity)") }
            }
        }
        // Optional text any event may carry is held to the same rules.
        for (name, v) in [("query_id", queryId), ("query", query), ("product_id", productId), ("order_id", orderId)] {
            if let p = text(v, name, required: false) { return p }
        }
        if kind != .purchase && !lines.isEmpty { return ("lines", "is only for purchase events") }
        if let t = tookMicros, t < 0 || t > Int(Int32.max) { return ("took_us", "must be from 0 to \(Int32.max)") }
        return nil
    }

    /// The UTC day (yyyy-mm-dd) of `at`.
    var day: String { AnalyticsStore.dayString(at) }
}

/// Writes batches of events and their rollups to PostgreSQL.
public struct AnalyticsStore: Sendable {
    public let url: String
    public init(url: String) { self.url = url }

    /// The UTC day (yyyy-mm-dd) of a time.
    public static func day(_ date: Date) -> String { dayString(Int64(date.timeIntervalSince1970 * 1_000_000)) }

    static func dayString(_ micros: Int64) -> String {
        var t = time_t(micros / 1_000_000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(format: "%04d-%02d-%02d", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday))
    }

    /// `analytics_events_YYYYMMDD` for a yyyy-mm-dd day (ASCII digits and two dashes, nothing else:
    /// safe as an identifier and as a literal bound).
    static func partition(_ day: String) -> String? {
        let u = Array(day.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
              u.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0.element) })
        else { return nil }
        return "analytics_events_" + String(decoding: u.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
    }

    /// Creates the day's partition when missing.
    static func ensurePartition(_ c: PGConnection, day: String) throws {
        guard let name = partition(day) else { throw CommerceError.internalError("analytics: bad day \(day)") }
        let exists = try c.exec("SELECT to_regclass($1) IS NOT NULL", [name])[0, 0] == "t"
        if exists { return }
        // Identifiers and partition bounds cannot be parameters: the name and the day are digits
        // and dashes made here from a number (`dayString`), checked by `partition`.
        try c.exec("CREATE TABLE IF NOT EXISTS \(name) PARTITION OF analytics_events FOR VALUES FROM ('\(day)') TO ('\(day)'::date + 1)")
    }

    /// Writes `events` (already validated) and updates the rollups, in one transaction.
    public func write(_ events: [AnalyticsEvent]) throws {
        guard !events.isEmpty else { return }
        try inStore(OrderStore.store) {
            let c = try PGConnection(url: url)
            try Self.write(c, events)
        }
    }

    /// Writes `events` (already validated) and their rollups in one transaction on `conn` (a bulk
    /// load keeps one connection for all its batches).
    public func write(_ events: [AnalyticsEvent], on conn: PGConnection) throws {
        guard !events.isEmpty else { return }
        try inStore("analytics store") { try Self.write(conn, events) }
    }

    static func write(_ c: PGConnection, _ events: [AnalyticsEvent]) throws {
        func col(_ es: [AnalyticsEvent], _ f: (AnalyticsEvent) -> String?) -> String { CatalogDatabase.arrayLiteral(es.map(f)) }
        // One row per event, except a purchase: one row per line (product, quantity, order), or
        // one row without a product when it has no lines.
        var rows: [AnalyticsEvent] = []
        rows.reserveCapacity(events.count)
        for e in events {
            let lines = e.purchaseLines
            if lines.isEmpty {
                rows.append(e)
                continue
            }
            for l in lines {
                var r = e
                r.productId = l.productId
                r.quantity = l.quantity
                r.lines = []
                rows.append(r)
            }
        }
        try c.transaction {
            for day in Set(events.map(\.day)).sorted() { try ensurePartition(c, day: day) }
            try c.exec("""
                INSERT INTO analytics_events (day, at, kind, session, device, query_id, query, total, zero, took_us, product_id, position, order_id, quantity)
                SELECT d, to_timestamp(a / 1000000.0), k, s, dv, qi, q, t, t = 0, tk, p, pos, o, qty
                FROM unnest($1::date[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::int[],
                            $10::text[], $11::int[], $12::text[], $13::int[]) AS u(d, a, k, s, dv, qi, q, t, tk, p, pos, o, qty)
                """, [col(rows) { $0.day }, col(rows) { String($0.at) }, col(rows) { $0.kind.rawValue }, col(rows) { $0.session },
                      col(rows) { $0.device }, col(rows) { $0.queryId }, col(rows) { $0.query }, col(rows) { $0.total.map(String.init) },
                      col(rows) { $0.tookMicros.map(String.init) }, col(rows) { $0.productId }, col(rows) { $0.position.map(String.init) },
                      col(rows) { $0.orderId }, col(rows) { $0.quantity.map(String.init) }])
            let searches = events.filter { $0.kind == .search }
            if !searches.isEmpty {
                let params = [col(searches) { $0.queryId }, col(searches) { $0.day }, col(searches) { $0.session },
                              col(searches) { $0.device }, col(searches) { $0.query }, col(searches) { ($0.total ?? 0) == 0 ? "1" : "0" },
                              col(searches) { String($0.at) }]
                let rows = "unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[]) AS u(qi, d, s, dv, q, z, a)"
                try c.exec("""
                    INSERT INTO analytics_searches (query_id, day, session, device, query)
                    SELECT DISTINCT ON (qi) qi, d, s, dv, q FROM \(rows) ORDER BY qi
                    ON CONFLICT (query_id) DO NOTHING
                    """, params)
                try c.exec("""
                    INSERT INTO analytics_session_queries (day, session, device, query, first_at)
                    SELECT DISTINCT ON (d, s, q) d, s, dv, q, to_timestamp(a / 1000000.0) FROM \(rows) ORDER BY d, s, q, a
                    ON CONFLICT (day, session, query) DO UPDATE SET first_at = least(analytics_session_queries.first_at, EXCLUDED.first_at)
                    """, params)
                try c.exec("""
                    INSERT INTO analytics_query_daily (day, device, query, searches, zero_results)
                    SELECT d, dv, q, count(*), sum(z) FROM \(rows) GROUP BY d, dv, q
                    ON CONFLICT (day, device, query) DO UPDATE SET searches = analytics_query_daily.searches + EXCLUDED.searches,
                        zero_results = analytics_query_daily.zero_results + EXCLUDED.zero_results
                    """, params)
            }
            let clicks = events.filter { $0.kind == .click }
            if !clicks.isEmpty {
                // Counted for the query the click came from (its search's day and device); a click
                // whose query_id is unknown is kept as an event but counted for no query.
                try c.exec("""
                    INSERT INTO analytics_query_daily (day, device, query, clicks, position_sum)
                    SELECT s.day, s.device, s.query, count(*), sum(u.pos)
                    FROM unnest($1::text[], $2::int[]) AS u(qi, pos) JOIN analytics_searches s ON s.query_id = u.qi
                    GROUP BY s.day, s.device, s.query
                    ON CONFLICT (day, device, query) DO UPDATE SET clicks = analytics_query_daily.clicks + EXCLUDED.clicks,
                        position_sum = analytics_query_daily.position_sum + EXCLUDED.position_sum
                    """, [col(clicks) { $0.queryId }, col(clicks) { $0.position.map(String.init) }])
                // The same click for (its search's day, query, product): the ranking signal.
                try c.exec("""
                    INSERT INTO analytics_query_product_daily (day, query, product_id, clicks)
                    SELECT s.day, s.query, u.p, count(*)
                    FROM unnest($1::text[], $2::text[]) AS u(qi, p) JOIN analytics_searches s ON s.query_id = u.qi
                    GROUP BY s.day, s.query, u.p
                    ON CONFLICT (day, query, product_id) DO UPDATE SET clicks = analytics_query_product_daily.clicks + EXCLUDED.clicks
                    """, [col(clicks) { $0.queryId }, col(clicks) { $0.productId }])
            }
            let purchases = events.filter { $0.kind == .purchase }
            if !purchases.isEmpty {
                // Each purchase converts every query its session searched that day before it (once each).
                try c.exec("""
                    INSERT INTO analytics_query_daily (day, device, query, conversions)
                    SELECT sq.day, sq.device, sq.query, count(*)
                    FROM unnest($1::date[], $2::text[], $3::bigint[]) AS u(d, s, a)
                    JOIN analytics_session_queries sq ON sq.day = u.d AND sq.session = u.s AND sq.first_at <= to_timestamp(u.a / 1000000.0)
                    GROUP BY sq.day, sq.device, sq.query
                    ON CONFLICT (day, device, query) DO UPDATE SET conversions = analytics_query_daily.conversions + EXCLUDED.conversions
                    """, [col(purchases) { $0.day }, col(purchases) { $0.session }, col(purchases) { String($0.at) }])
                // Each product a purchase bought (once, whatever its quantity or how many of its
                // lines name it) is a purchase for every query its session searched that day
                // before it: (day, query, product) purchases + 1.
                var bought: [(day: String, session: String, at: Int64, product: String)] = []
                for e in purchases {
                    var seen = Set<String>()
                    for l in e.purchaseLines where seen.insert(l.productId).inserted { bought.append((e.day, e.session, e.at, l.productId)) }
                }
                if !bought.isEmpty {
                    try c.exec("""
                        INSERT INTO analytics_query_product_daily (day, query, product_id, purchases)
                        SELECT sq.day, sq.query, u.p, count(*)
                        FROM unnest($1::date[], $2::text[], $3::bigint[], $4::text[]) AS u(d, s, a, p)
                        JOIN analytics_session_queries sq ON sq.day = u.d AND sq.session = u.s AND sq.first_at <= to_timestamp(u.a / 1000000.0)
                        GROUP BY sq.day, sq.query, u.p
                        ON CONFLICT (day, query, product_id) DO UPDATE SET purchases = analytics_query_product_daily.purchases + EXCLUDED.purchases
                        """, [CatalogDatabase.arrayLiteral(bought.map(\.day)), CatalogDatabase.arrayLiteral(bought.map(\.session)),
                              CatalogDatabase.arrayLiteral(bought.map { String($0.at) }), CatalogDatabase.arrayLiteral(bought.map(\.product))])
                }
            }
            // Counted per event: a purchase is one order, however many lines (rows) it has.
            try c.exec("""
                INSERT INTO analytics_funnel_daily (day, device, searches, clicks, carts, purchases)
                SELECT d, dv, count(*) FILTER (WHERE k = 'search'), count(*) FILTER (WHERE k = 'click'),
                       count(*) FILTER (WHERE k = 'add_to_cart'), count(*) FILTER (WHERE k = 'purchase')
                FROM unnest($1::date[], $2::text[], $3::text[]) AS u(d, dv, k)
                GROUP BY d, dv
                ON CONFLICT (day, device) DO UPDATE SET searches = analytics_funnel_daily.searches + EXCLUDED.searches,
                    clicks = analytics_funnel_daily.clicks + EXCLUDED.clicks, carts = analytics_funnel_daily.carts + EXCLUDED.carts,
                    purchases = analytics_funnel_daily.purchases + EXCLUDED.purchases
                """, [col(events) { $0.day }, col(events) { $0.device }, col(events) { $0.kind.rawValue }])
        }
    }
}

extension AnalyticsStore {
    /// Retention: drops the event partitions of days before `day` (yyyy-mm-dd), and the query-id
    /// and session maps of those days. The daily rollups stay (they are small). Returns the days
    /// dropped.
    @discardableResult
    public func dropDays(before day: String) throws -> [String] {
        guard Self.partition(day) != nil else { throw CommerceError.invalid("retention day must be yyyy-mm-dd") }
        return try inStore(OrderStore.store) {
            let c = try PGConnection(url: url)
            let names = try c.exec("""
                SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid
                WHERE parent.relname = 'analytics_events' ORDER BY 1
                """).rows.compactMap { $0[0] }
            let cutoff = "analytics_events_" + day.filter(\.isNumber)
            var dropped: [String] = []
            try c.transaction {
                for n in names where n < cutoff && n.count == cutoff.count && n.dropFirst(17).allSatisfy(\.isNumber) {
                    try c.exec("DROP TABLE \(n)")   // a name read from the catalog and checked to be ours
                    let d = n.dropFirst(17)
                    dropped.append("\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))")
                }
                try c.exec("DELETE FROM analytics_searches WHERE day < $1::date", [day])
                try c.exec("DELETE FROM analytics_session_queries WHERE day < $1::date", [day])
            }
            return dropped
        }
    }
}

/// Takes events from request handlers without blocking them: a bounded queue, written to
/// PostgreSQL in batches by one writer thread. When the queue is full, or the store cannot be
/// written, events are dropped and counted; recording never fails a search.
public final class AnalyticsRecorder: Sendable {
    public let store: AnalyticsStore
    public let capacity: Int
    public let batchSize: Int
    private let queue = Mutex<[AnalyticsEvent]>([])
    /// Events dropped: the queue was full, or their batch could not be written.
    public let dropped = Atomic<Int>(0)
    public let written = Atomic<Int>(0)

    public init(store: AnalyticsStore, capacity: Int = 100_000, batchSize: Int = 5_000) {
        self.store = store
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
    }

    /// Queues an event; false (and counted as dropped) when the queue is full.
    @discardableResult
    public func record(_ event: AnalyticsEvent) -> Bool {
        let ok = queue.withLock { q -> Bool in
            guard q.count < capacity else { return false }
            q.append(event)
            return true
        }
        if !ok { dropped.add(1, ordering: .relaxed) }
        return ok
    }

    /// Queues a batch, as far as there is room; returns how many were taken (the rest is dropped
    /// and counted).
    @discardableResult
    public func record(_ events: [AnalyticsEvent]) -> Int {
        let taken = queue.withLock { q -> Int in
            let n = min(events.count, capacity - q.count)
            if n > 0 { q.append(contentsOf: events.prefix(n)) }
            return max(0, n)
        }
        if taken < events.count { dropped.add(events.count - taken, ordering: .relaxed) }
        return taken
    }

    public var queued: Int { queue.withLock { $0.count } }

    /// Writes what is queued, a batch at a time, on `conn`. Returns the events written; a batch
    /// that cannot be written is dropped and counted, and the error thrown.
    @discardableResult
    func drain(_ conn: PGConnection) throws -> Int {
        var total = 0
        while true {
            let batch = queue.withLock { q -> [AnalyticsEvent] in
                let b = Array(q.prefix(batchSize))
                q.removeFirst(b.count)
                return b
            }
            if batch.isEmpty { return total }
            let n: Int
            do {
                n = try salvage(conn, batch)
            } catch {
                dropped.add(batch.count, ordering: .relaxed)
                throw error
            }
            written.add(n, ordering: .relaxed)
            total += n
        }
    }

    /// Writes a batch; when PostgreSQL refuses its data (SQLSTATE class 22, data exception, or 23,
    /// integrity: an event `problem()` did not foresee), the halves are written apart, down to
    /// the single events that fail, which are dropped and counted: one bad event never costs the
    /// good ones written with it. Other errors (the store is down) are thrown.
    func salvage(_ conn: PGConnection, _ batch: [AnalyticsEvent]) throws -> Int {
        do {
            try AnalyticsStore.write(conn, batch)
            return batch.count
        } catch let e as CatalogError where e.sqlstate.map({ $0.hasPrefix("22") || $0.hasPrefix("23") }) ?? false {
            guard batch.count > 1 else {
                dropped.add(1, ordering: .relaxed)
                return 0
            }
            let mid = batch.count / 2
            return try salvage(conn, Array(batch[..<mid])) + salvage(conn, Array(batch[mid...]))
        }
    }

    /// Writes what is queued now (tests, shutdown).
    @discardableResult
    public func flush() throws -> Int {
        try inStore(OrderStore.store) { try drain(try PGConnection(url: store.url)) }
    }

    /// The writer: drains the queue every `interval` seconds until `stop` is set, reconnecting
    /// after a lost connection.
    public func run(stop: borrowing Atomic<Bool>, interval: Double = 0.2, log: @Sendable (String) -> Void = { _ in }) {
        var conn: PGConnection?
        var reported = false
        while true {
            let stopping = stop.load(ordering: .relaxed)
            do {
                if conn == nil { conn = try PGConnection(url: store.url) }
                try drain(conn!)
                reported = false
            } catch {
                conn = nil
                if !reported { log("analytics: \(error); events are dropped and counted until the store is back") }
                reported = true
            }
            if stopping { return }
            usleep(UInt32(interval * 1_000_000))
        }
    }
}

/// Reports over the daily rollups (never the events), for a range of days.
public struct AnalyticsReports: Sendable {
    public struct QueryRow: Sendable, Equatable {
        public var query: String
        public var searches: Int
        public var zeroResults: Int
        public var clicks: Int
        public var positionSum: Int
        public var conversions: Int
        /// Clicks per search.
        public var clickThroughRate: Double { searches == 0 ? 0 : Double(clicks) / Double(searches) }
        /// Mean position clicked (nil without clicks).
        public var meanClickPosition: Double? { clicks == 0 ? nil : Double(positionSum) / Double(clicks) }
        /// Searches that ended in a purchase in the same session (per search).
        public var conversionRate: Double { searches == 0 ? 0 : Double(conversions) / Double(searches) }

        public init(query: String, searches: Int, zeroResults: Int, clicks: Int, positionSum: Int, conversions: Int) {
            self.query = query
            self.searches = searches
            self.zeroResults = zeroResults
            self.clicks = clicks
            self.positionSum = positionSum
            self.conversions = conversions
        }
    }

    public struct FunnelRow: Sendable, Equatable {
        public var day: String
        public var device: String
        public var searches: Int
        public var clicks: Int
        public var carts: Int
        public var purchases: Int

        public init(day: String, device: String, searches: Int, clicks: Int, carts: Int, purchases: Int) {
            self.day = day
            self.device = device
            self.searches = searches
            self.clicks = clicks
            self.carts = carts
            self.purchases = purchases
        }
    }

    /// How much a query led to clicks and purchases (autocomplete ranks past queries by it).
    public struct QueryEngagement: Sendable, Equatable {
        public var query: String
        public var searches: Int
        public var clicks: Int
        /// Purchases in the same session after the query was searched, that day.
        public var conversions: Int
        /// clicks + conversions: the order `queryEngagement` lists them in.
        public var engagement: Int { clicks + conversions }

        public init(query: String, searches: Int, clicks: Int, conversions: Int) {
            self.query = query
            self.searches = searches
            self.clicks = clicks
            self.conversions = conversions
        }
    }

    /// What shoppers did with one product in the answers of one query (a ranking signal).
    public struct ProductSignal: Sendable, Equatable {
        public var query: String
        /// Searches of the query over the whole range (the same on each of its rows).
        public var searches: Int
        public var productId: String
        /// Clicks on the product in the answers of the query.
        public var clicks: Int
        /// Orders that bought the product from sessions that searched the query earlier that day
        /// (one per order, whatever the quantity).
        public var purchases: Int

        public init(query: String, searches: Int, productId: String, clicks: Int, purchases: Int) {
            self.query = query
            self.searches = searches
            self.productId = productId
            self.clicks = clicks
            self.purchases = purchases
        }
    }

    public let url: String
    public init(url: String) { self.url = url }

    public static let maxDays = 366
    /// Most rows `queryEngagement` and `productSignals` answer (they feed search, not a page).
    public static let maxSignalRows = 1_000_000
    public static let maxLimit = 1_000

    /// Checks a range of days (yyyy-mm-dd, both included).
    public static func checkRange(from: String, to: String) throws {
        for (name, d) in [("from", from), ("to", to)] {
            guard Self.date(d) != nil else { throw CommerceError.invalid("\(name) must be a day, yyyy-mm-dd, got \"\(d.prefix(40))\"") }
        }
        let a = Self.date(from)!, b = Self.date(to)!
        guard a <= b else { throw CommerceError.invalid("from \(from) is after to \(to)") }
        guard b.timeIntervalSince(a) / 86_400 < Double(maxDays) else { throw CommerceError.invalid("a report covers at most \(maxDays) days") }
    }

    public static func date(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        guard let d = f.date(from: s), f.string(from: d) == s else { return nil }
        return d
    }

    func rows(_ sql: String, _ params: [String?]) throws -> [[String?]] {
        try inStore(OrderStore.store) { try PGConnection(url: url).exec(sql, params).rows }
    }

    static func queryRow(_ r: [String?]) -> QueryRow {
        func n(_ i: Int) -> Int { r[i].flatMap { Int($0) } ?? 0 }
        return QueryRow(query: r[0] ?? "", searches: n(1), zeroResults: n(2), clicks: n(3), positionSum: n(4), conversions: n(5))
    }

    /// The most searched queries, with click-through, mean click position and conversion.
    public func topQueries(from: String, to: String, limit: Int) throws -> [QueryRow] {
        try queries(from: from, to: to, limit: limit, by: .searches)
    }

    /// Queries that found nothing, by how often.
    public func zeroResultQueries(from: String, to: String, limit: Int) throws -> [QueryRow] {
        try queries(from: from, to: to, limit: limit, by: .zeroResults)
    }

    /// The rollup column a query list is ranked by.
    private enum Rank: String {
        case searches
        case zeroResults = "zero_results"
    }

    /// Queries with a positive sum of `rank`'s column over the days, most first.
    private func queries(from: String, to: String, limit: Int, by rank: Rank) throws -> [QueryRow] {
        let column = rank.rawValue
        try Self.checkRange(from: from, to: to)
        return try rows("""
            SELECT query, sum(searches), sum(zero_results), sum(clicks), sum(position_sum), sum(conversions) FROM analytics_query_daily
            WHERE day BETWEEN $1::date AND $2::date GROUP BY query HAVING sum(\(column)) > 0
            ORDER BY sum(\(column)) DESC, query LIMIT $3::int
            """, [from, to, String(min(max(limit, 1), Self.maxLimit))]).map(Self.queryRow)
    }

    /// Searches and zero-result searches per day (the trend of the HTML report).
    public func daily(from: String, to: String) throws -> [(day: String, searches: Int, zeroResults: Int)] {
        try Self.checkRange(from: from, to: to)
        return try rows("""
            SELECT day::text, sum(searches), sum(zero_results) FROM analytics_query_daily
            WHERE day BETWEEN $1::date AND $2::date GROUP BY day ORDER BY day
            """, [from, to]).map { r in (r[0] ?? "", r[1].flatMap { Int($0) } ?? 0, r[2].flatMap { Int($0) } ?? 0) }
    }

    /// Search → click → cart → purchase, by day and device.
    public func funnel(from: String, to: String) throws -> [FunnelRow] {
        try Self.checkRange(from: from, to: to)
        return try rows("""
            SELECT day::text, device, searches, clicks, carts, purchases FROM analytics_funnel_daily
            WHERE day BETWEEN $1::date AND $2::date ORDER BY day, device
            """, [from, to]).map { r in
                func n(_ i: Int) -> Int { r[i].flatMap { Int($0) } ?? 0 }
                return FunnelRow(day: r[0] ?? "", device: r[1] ?? "", searches: n(2), clicks: n(3), carts: n(4), purchases: n(5))
            }
    }

    static func checkSignalLimit(_ limit: Int) throws {
        guard (1...maxSignalRows).contains(limit) else { throw CommerceError.invalid("limit must be from 1 to \(maxSignalRows), got \(limit)") }
    }

    /// Queries that led to clicks or purchases over the days, most engaged first (clicks +
    /// conversions, then the query's bytes), with their searches: what autocomplete ranks past queries
    /// by. Reads `analytics_query_daily` only.
    public func queryEngagement(from: String, to: String, limit: Int) throws -> [QueryEngagement] {
        try Self.checkRange(from: from, to: to)
        try Self.checkSignalLimit(limit)
        return try rows("""
            SELECT query, sum(searches), sum(clicks), sum(conversions) FROM analytics_query_daily
            WHERE day BETWEEN $1::date AND $2::date GROUP BY query HAVING sum(clicks) + sum(conversions) > 0
            ORDER BY sum(clicks) + sum(conversions) DESC, query COLLATE "C" LIMIT $3::int
            """, [from, to, String(limit)]).map { r in
                func n(_ i: Int) -> Int { r[i].flatMap { Int($0) } ?? 0 }
                return QueryEngagement(query: r[0] ?? "", searches: n(1), clicks: n(2), conversions: n(3))
            }
    }

    /// Per query and product, clicks and purchases over the days, with the query's searches over
    /// the days: ordered by query (bytes), then most clicks + purchases, then product. Only pairs with a
    /// click or a purchase exist. Reads `analytics_query_product_daily` and
    /// `analytics_query_daily` only.
    public func productSignals(from: String, to: String, limit: Int) throws -> [ProductSignal] {
        try Self.checkRange(from: from, to: to)
        try Self.checkSignalLimit(limit)
        return try rows("""
            WITH p AS (SELECT query, product_id, sum(clicks) AS clicks, sum(purchases) AS purchases FROM analytics_query_product_daily
                       WHERE day BETWEEN $1::date AND $2::date GROUP BY query, product_id),
                 s AS (SELECT query, sum(searches) AS searches FROM analytics_query_daily
                       WHERE day BETWEEN $1::date AND $2::date AND query IN (SELECT query FROM p) GROUP BY query)
            SELECT p.query, coalesce(s.searches, 0), p.product_id, p.clicks, p.purchases FROM p LEFT JOIN s USING (query)
            ORDER BY p.query COLLATE "C", p.clicks + p.purchases DESC, p.product_id COLLATE "C" LIMIT $3::int
            """, [from, to, String(limit)]).map { r in
                func n(_ i: Int) -> Int { r[i].flatMap { Int($0) } ?? 0 }
                return ProductSignal(query: r[0] ?? "", searches: n(1), productId: r[2] ?? "", clicks: n(3), purchases: n(4))
            }
    }
}
