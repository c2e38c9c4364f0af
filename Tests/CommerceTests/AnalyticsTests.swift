import Foundation
import Testing
import Synchronization
import AisleCatalog
@testable import AisleCommerce

/// Search analytics against the real PostgreSQL: events written in batches through the bounded
/// queue, day partitions, and daily rollups compared with counts computed here from the events.
@Suite struct AnalyticsTests {
    /// xorshift64*: seedable, so a failure can be replayed with AISLE_TEST_SEED.
    struct XorShift: RandomNumberGenerator {
        var x: UInt64
        init(seed: UInt64) { x = seed == 0 ? 0x2545F4914F6CDD1D : seed }
        mutating func next() -> UInt64 {
            x ^= x >> 12
            x ^= x << 25
            x ^= x >> 27
            return x &* 0x2545F4914F6CDD1D
        }
    }

    struct Rollup: Equatable, CustomStringConvertible {
        var searches = 0, zero = 0, clicks = 0, positionSum = 0, conversions = 0
        var description: String { "s\(searches) z\(zero) c\(clicks) p\(positionSum) v\(conversions)" }
    }

    /// Random shop traffic over several days, in time order: sessions (each on one device) search,
    /// click results of their searches (and now and then an unknown query id), view, add to cart
    /// and buy.
    static func traffic(_ rng: inout XorShift, count: Int, start: Int64) -> [AnalyticsEvent] {
        let queries = ["sofa", "oak table", "lamp", "rug", "zzz nothing", "Tisch \"quoted\" \\ back"]
        let devices = ["desktop", "phone", "tablet"]
        var events: [AnalyticsEvent] = []
        var searched: [(id: String, session: String)] = []
        var at = start
        for i in 0..<count {
            at += Int64.random(in: 1...400_000_000, using: &rng)   // up to ~7 minutes apart: four to five days in 1,500 events
            let s = Int.random(in: 0..<25, using: &rng)
            let session = "s\(s)", device = devices[s % devices.count]
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3:
                let q = queries.randomElement(using: &rng)!
                let id = "q\(i)"
                searched.append((id, session))
                events.append(AnalyticsEvent(kind: .search, at: at, session: session, device: device, queryId: id, query: q,
                                             total: q.hasPrefix("zzz") ? 0 : Int.random(in: 1...500, using: &rng), tookMicros: 900))
            case 4...5:
                let id = searched.isEmpty || Int.random(in: 0..<15, using: &rng) == 0 ? "unknown\(i)" : searched.randomElement(using: &rng)!.id
                events.append(AnalyticsEvent(kind: .click, at: at, session: session, device: device, queryId: id,
                                             productId: "p\(Int.random(in: 1...50, using: &rng))", position: Int.random(in: 1...20, using: &rng)))
            case 6: events.append(AnalyticsEvent(kind: .view, at: at, session: session, device: device, productId: "p1"))
            case 7...8: events.append(AnalyticsEvent(kind: .addToCart, at: at, session: session, device: device, productId: "p2", quantity: 1))
            default:
                // Purchases: no lines, the one-product form, or up to four lines (a product may
                // come twice; it is bought once).
                var e = AnalyticsEvent(kind: .purchase, at: at, session: session, device: device, orderId: "o\(i)")
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: break
                case 1:
                    e.productId = "p\(Int.random(in: 1...8, using: &rng))"
                    e.quantity = Int.random(in: 1...3, using: &rng)
                default:
                    e.lines = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                        AnalyticsEvent.Line(productId: "p\(Int.random(in: 1...8, using: &rng))", quantity: Int.random(in: 1...5, using: &rng))
                    }
                }
                events.append(e)
            }
        }
        return events
    }

    /// The rollups, computed naively from the events in order. `products` is day|query|product ->
    /// [clicks, purchases].
    static func expected(_ events: [AnalyticsEvent]) -> (queries: [String: Rollup], funnel: [String: [Int]], products: [String: [Int]]) {
        var q: [String: Rollup] = [:]
        var products: [String: [Int]] = [:]
        var funnel: [String: [Int]] = [:]
        var byId: [String: AnalyticsEvent] = [:]
        var firstSearch: [String: (at: Int64, device: String)] = [:]   // day|session|query
        for e in events {
            let fk = e.day + "|" + e.device
            var f = funnel[fk] ?? [0, 0, 0, 0]
            switch e.kind {
            case .search:
                byId[e.queryId!] = byId[e.queryId!] ?? e
                let k = e.day + "|" + e.device + "|" + e.query!
                q[k, default: Rollup()].searches += 1
                if e.total == 0 { q[k, default: Rollup()].zero += 1 }
                let sk = e.day + "|" + e.session + "|" + e.query!
                if firstSearch[sk] == nil { firstSearch[sk] = (e.at, e.device) }
                f[0] += 1
            case .click:
                if let s = byId[e.queryId!] {
                    let k = s.day + "|" + s.device + "|" + s.query!
                    q[k, default: Rollup()].clicks += 1
                    q[k, default: Rollup()].positionSum += e.position!
                    products[s.day + "|" + s.query! + "|" + e.productId!, default: [0, 0]][0] += 1
                }
                f[1] += 1
            case .addToCart: f[2] += 1
            case .purchase:
                for (sk, v) in firstSearch where v.at <= e.at {
                    let parts = sk.split(separator: "|", maxSplits: 2).map(String.init)
                    guard parts[0] == e.day, parts[1] == e.session else { continue }
                    q[parts[0] + "|" + v.device + "|" + parts[2], default: Rollup()].conversions += 1
                    let bought = Set(e.lines.map(\.productId) + (e.productId.map { [$0] } ?? []))
                    for p in bought { products[parts[0] + "|" + parts[2] + "|" + p, default: [0, 0]][1] += 1 }
                }
                f[3] += 1
            case .view: break
            }
            funnel[fk] = f
        }
        return (q, funnel, products)
    }

    /// Byte order, as PostgreSQL's "C" collation sorts.
    static func bytesBefore(_ a: String, _ b: String) -> Bool { Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8)) }

    @Test func rollupsAgreeWithTheEventsAndOldDaysAreDropped() throws {
        guard CommerceEnv.ready else { print(CommerceEnv.skipped); return }
        let shop = try Shop()
        let seed = ProcessInfo.processInfo.environment["AISLE_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(Int64.max))
        print("[analytics] seed \(seed) (replay with AISLE_TEST_SEED=\(seed))")
        var rng = XorShift(seed: seed)
        let start: Int64 = 1_780_000_000_000_000   // 2026-05-28
        let events = Self.traffic(&rng, count: 1_500, start: start)
        let recorder = AnalyticsRecorder(store: AnalyticsStore(url: shop.url), capacity: 100_000, batchSize: 97)
        // In slices of random sizes, flushed as they come (so searches and their clicks, and
        // purchases, land in different batches as well as in the same one).
        var i = 0
        while i < events.count {
            let n = min(events.count - i, Int.random(in: 1...300, using: &rng))
            #expect(recorder.record(Array(events[i..<(i + n)])) == n)
            try recorder.flush()
            i += n
        }
        #expect(recorder.written.load(ordering: .relaxed) == events.count)
        #expect(recorder.dropped.load(ordering: .relaxed) == 0)

        let db = try PGConnection(url: shop.url)
        let want = Self.expected(events)
        var got: [String: Rollup] = [:]
        for r in try db.exec("SELECT day::text, device, query, searches, zero_results, clicks, position_sum, conversions FROM analytics_query_daily").rows {
            let v = r.map { $0 ?? "" }
            got[v[0] + "|" + v[1] + "|" + v[2]] = Rollup(searches: Int(v[3])!, zero: Int(v[4])!, clicks: Int(v[5])!, positionSum: Int(v[6])!, conversions: Int(v[7])!)
        }
        // The traffic exercises every rollup column.
        #expect(want.queries.values.contains { $0.conversions > 0 } && want.queries.values.contains { $0.zero > 0 }
                && want.queries.values.contains { $0.clicks > 0 }, "seed \(seed)")
        #expect(got == want.queries, "seed \(seed)")
        var funnel: [String: [Int]] = [:]
        for r in try db.exec("SELECT day::text, device, searches, clicks, carts, purchases FROM analytics_funnel_daily").rows {
            let v = r.map { $0 ?? "" }
            funnel[v[0] + "|" + v[1]] = [Int(v[2])!, Int(v[3])!, Int(v[4])!, Int(v[5])!]
        }
        #expect(funnel == want.funnel, "seed \(seed)")

        // The query-product rollup: clicks per (search day, query, product), and each product a
        // purchase bought once per query its session searched before it that day.
        var products: [String: [Int]] = [:]
        for r in try db.exec("SELECT day::text, query, product_id, clicks, purchases FROM analytics_query_product_daily").rows {
            let v = r.map { $0 ?? "" }
            products[v[0] + "|" + v[1] + "|" + v[2]] = [Int(v[3])!, Int(v[4])!]
        }
        #expect(want.products.values.contains { $0[1] > 0 } && want.products.values.contains { $0[0] > 0 }, "seed \(seed)")
        #expect(products == want.products, "seed \(seed)")

        // The readers that feed search, over the whole range, against sums of the oracle.
        let reports = AnalyticsReports(url: shop.url)
        let from = "2026-05-27", to = "2026-06-10"
        var perQuery: [String: Rollup] = [:]
        for (k, v) in want.queries {
            let query = String(k.split(separator: "|", maxSplits: 2)[2])
            perQuery[query, default: Rollup()].searches += v.searches
            perQuery[query, default: Rollup()].clicks += v.clicks
            perQuery[query, default: Rollup()].conversions += v.conversions
        }
        let engaged = perQuery.filter { $0.value.clicks + $0.value.conversions > 0 }
            .map { AnalyticsReports.QueryEngagement(query: $0.key, searches: $0.value.searches, clicks: $0.value.clicks, conversions: $0.value.conversions) }
            .sorted { $0.engagement != $1.engagement ? $0.engagement > $1.engagement : Self.bytesBefore($0.query, $1.query) }
        #expect(try reports.queryEngagement(from: from, to: to, limit: 1_000) == engaged, "seed \(seed)")
        #expect(try reports.queryEngagement(from: from, to: to, limit: 2) == Array(engaged.prefix(2)))
        var signals: [String: [Int]] = [:]
        for (k, v) in want.products {
            let parts = k.split(separator: "|", maxSplits: 2).map(String.init)
            signals[parts[1] + "|" + parts[2], default: [0, 0]][0] += v[0]
            signals[parts[1] + "|" + parts[2], default: [0, 0]][1] += v[1]
        }
        let wantSignals = signals.map { k, v in
            let qp = k.split(separator: "|", maxSplits: 1).map(String.init)
            return AnalyticsReports.ProductSignal(query: qp[0], searches: perQuery[qp[0]]?.searches ?? 0, productId: qp[1], clicks: v[0], purchases: v[1])
        }.sorted { a, b in
            if a.query != b.query { return Self.bytesBefore(a.query, b.query) }
            if a.clicks + a.purchases != b.clicks + b.purchases { return a.clicks + a.purchases > b.clicks + b.purchases }
            return Self.bytesBefore(a.productId, b.productId)
        }
        #expect(try reports.productSignals(from: from, to: to, limit: 100_000) == wantSignals, "seed \(seed)")
        // One day only: that day's rows.
        let firstDay = events[0].day
        let oneDay = try reports.productSignals(from: firstDay, to: firstDay, limit: 100_000)
        #expect(oneDay.reduce(0) { $0 + $1.clicks + $1.purchases }
                == want.products.filter { $0.key.hasPrefix(firstDay + "|") }.values.reduce(0) { $0 + $1[0] + $1[1] }, "seed \(seed)")
        #expect(throws: CommerceError.self) { try reports.productSignals(from: from, to: to, limit: 0) }
        #expect(throws: CommerceError.self) { try reports.queryEngagement(from: to, to: from, limit: 10) }

        // One partition per day, holding that day's events: a purchase is a row per line.
        let days = Dictionary(grouping: events, by: \.day).mapValues { $0.reduce(0) { $0 + max(1, $1.purchaseLines.count) } }
        #expect(try db.exec("SELECT count(*) FROM analytics_events WHERE kind = 'purchase' AND product_id IS NOT NULL")[0, 0]
                == String(events.reduce(0) { $0 + $1.purchaseLines.count }))
        #expect(days.count >= 3, "seed \(seed): \(days.keys.sorted())")
        for (day, n) in days {
            let name = AnalyticsStore.partition(day)!
            #expect(try db.exec("SELECT count(*) FROM \(name)")[0, 0] == String(n), "\(day)")
        }

        // Retention: the days before the last one go; the rollups stay.
        let last = days.keys.sorted().last!
        let dropped = try AnalyticsStore(url: shop.url).dropDays(before: last)
        #expect(dropped == days.keys.sorted().dropLast().map { $0 })
        #expect(try db.exec("SELECT count(*) FROM analytics_events")[0, 0] == String(days[last]!))
        #expect(try db.exec("SELECT count(*) FROM analytics_searches WHERE day < $1::date", [last])[0, 0] == "0")
        #expect(try db.exec("SELECT count(*) FROM analytics_query_daily")[0, 0] == String(want.queries.count))
        #expect(try db.exec("SELECT count(*) FROM analytics_query_product_daily")[0, 0] == String(want.products.count))
        // Writing to a dropped day makes its partition again.
        let old = AnalyticsEvent(kind: .view, at: start, session: "late", device: "phone", productId: "p1")
        try AnalyticsStore.write(db, [old])
        #expect(try db.exec("SELECT count(*) FROM analytics_events WHERE day = $1::date", [old.day])[0, 0] == "1")
    }

    /// An event PostgreSQL refuses (here a total beyond its integer column, which `problem()` now
    /// refuses too but the queue does not check) costs only itself: the good events written in
    /// the same batch are kept, the bad one is dropped and counted.
    @Test func oneBadEventDoesNotCostItsBatch() throws {
        guard CommerceEnv.ready else { print(CommerceEnv.skipped); return }
        let shop = try Shop()
        let recorder = AnalyticsRecorder(store: AnalyticsStore(url: shop.url), capacity: 100, batchSize: 50)
        let at: Int64 = 1_780_000_000_000_000
        var events = (0..<20).map { i in AnalyticsEvent(kind: .view, at: at + Int64(i), session: "s\(i)", device: "d", productId: "p") }
        events.insert(AnalyticsEvent(kind: .search, at: at, session: "bad", device: "d", queryId: "q-bad", query: "x", total: 5_000_000_000), at: 7)
        events.insert(AnalyticsEvent(kind: .search, at: at, session: "bad", device: "d", queryId: "q-bad2", query: "y", total: 1, tookMicros: 4_000_000_000), at: 15)
        #expect(recorder.record(events) == 22)
        #expect(try recorder.flush() == 20)
        #expect(recorder.dropped.load(ordering: .relaxed) == 2)
        #expect(recorder.written.load(ordering: .relaxed) == 20)
        let db = try PGConnection(url: shop.url)
        #expect(try db.exec("SELECT count(*) FROM analytics_events")[0, 0] == "20")
        #expect(try db.exec("SELECT sum(searches) + sum(clicks) FROM analytics_funnel_daily")[0, 0] == "0")
    }

    @Test func retentionKeepsTheLastDays() throws {
        guard CommerceEnv.ready else { print(CommerceEnv.skipped); return }
        let shop = try Shop(config: { $0.analyticsRetentionDays = 2 })
        let day: Int64 = 86_400_000_000, first: Int64 = 1_779_969_600_000_000   // 2026-05-28 12:00 UTC
        try AnalyticsStore(url: shop.url).write((0..<4).map { i in
            AnalyticsEvent(kind: .view, at: first + Int64(i) * day, session: "s", device: "d", productId: "p")
        })
        let now = Date(timeIntervalSince1970: Double(first + 3 * day) / 1e6)   // 2026-05-31 12:00
        #expect(try shop.commerce.applyAnalyticsRetention(now: now) == ["2026-05-28", "2026-05-29"])
        let db = try PGConnection(url: shop.url)
        #expect(try db.exec("SELECT string_agg(day::text, ',' ORDER BY day) FROM analytics_events")[0, 0] == "2026-05-30,2026-05-31")
        #expect(try shop.commerce.applyAnalyticsRetention(now: now).isEmpty)
    }

    @Test func aFullQueueDropsAndCounts() throws {
        let recorder = AnalyticsRecorder(store: AnalyticsStore(url: "postgresql://127.0.0.1:1/none"), capacity: 10)
        let e = AnalyticsEvent(kind: .view, at: 1_780_000_000_000_000, session: "s", device: "d", productId: "p")
        for _ in 0..<7 { #expect(recorder.record(e)) }
        #expect(recorder.record(Array(repeating: e, count: 5)) == 3)
        #expect(!recorder.record(e))
        #expect(recorder.dropped.load(ordering: .relaxed) == 3)
        #expect(recorder.queued == 10)
        // The store is down: the flush fails and the queued events wait for it (nothing more is
        // dropped than the queue could not take).
        #expect(throws: (any Error).self) { try recorder.flush() }
        #expect(recorder.dropped.load(ordering: .relaxed) == 3)
        #expect(recorder.queued == 10)
    }

    @Test func badEventsNameTheField() {
        let at: Int64 = 1_780_000_000_000_000
        let cases: [(AnalyticsEvent, String)] = [
            (AnalyticsEvent(kind: .search, at: at, session: "", device: "d", queryId: "q", query: "x", total: 1), "session"),
            (AnalyticsEvent(kind: .search, at: at, session: "s", device: "d", query: "x", total: 1), "query_id"),
            (AnalyticsEvent(kind: .search, at: at, session: "s", device: "d", queryId: "q", query: "x"), "total"),
            (AnalyticsEvent(kind: .click, at: at, session: "s", device: "d", queryId: "q", productId: "p", position: 0), "position"),
            (AnalyticsEvent(kind: .click, at: at, session: "s", device: "d", queryId: "q", position: 1), "product_id"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d"), "order_id"),
            (AnalyticsEvent(kind: .view, at: -1, session: "s", device: "d", productId: "p"), "at"),
            (AnalyticsEvent(kind: .view, at: at, session: String(repeating: "s", count: 600), device: "d", productId: "p"), "session"),
            (AnalyticsEvent(kind: .addToCart, at: at, session: "s", device: "d", productId: "p", quantity: 0), "quantity"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o", lines: [.init(productId: "p", quantity: 0)]), "lines[0].quantity"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o",
                            lines: [.init(productId: "p"), .init(productId: "q", quantity: 10_001)]), "lines[1].quantity"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o", lines: [.init(productId: "")]), "lines[0].product_id"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o",
                            lines: [.init(productId: String(repeating: "p", count: 513))]), "lines[0].product_id"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o",
                            lines: (0..<101).map { .init(productId: "p\($0)") }), "lines"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", productId: "p", orderId: "o", lines: [.init(productId: "p")]), "product_id"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o", quantity: 2), "quantity"),
            (AnalyticsEvent(kind: .view, at: at, session: "s", device: "d", productId: "p", lines: [.init(productId: "p")]), "lines"),
            // U+0000 cannot be stored as PostgreSQL text: refused in every text field, so it
            // never fails the batch it would be written with.
            (AnalyticsEvent(kind: .view, at: at, session: "s\u{0}", device: "d", productId: "p"), "session"),
            (AnalyticsEvent(kind: .view, at: at, session: "s", device: "\u{0}", productId: "p"), "device"),
            (AnalyticsEvent(kind: .view, at: at, session: "s", device: "d", productId: "p\u{0}q"), "product_id"),
            (AnalyticsEvent(kind: .view, at: at, session: "s", device: "d", queryId: "q\u{0}", productId: "p"), "query_id"),
            (AnalyticsEvent(kind: .search, at: at, session: "s", device: "d", queryId: "q", query: "so\u{0}fa", total: 1), "query"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o\u{0}"), "order_id"),
            (AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o", lines: [.init(productId: "\u{0}")]), "lines[0].product_id"),
            // The columns are 32-bit integers.
            (AnalyticsEvent(kind: .search, at: at, session: "s", device: "d", queryId: "q", query: "x", total: 3_000_000_000), "total"),
            (AnalyticsEvent(kind: .search, at: at, session: "s", device: "d", queryId: "q", query: "x", total: 1, tookMicros: 3_000_000_000), "took_us"),
        ]
        for (e, field) in cases { #expect(e.problem()?.field == field, "\(e)") }
        #expect(AnalyticsEvent(kind: .view, at: at, session: "s", device: "d", productId: "p").problem() == nil)
        let full = AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", orderId: "o",
                                  lines: (0..<100).map { .init(productId: String(repeating: "p", count: 500) + "\($0)", quantity: 10_000) })
        #expect(full.problem() == nil)
        let one = AnalyticsEvent(kind: .purchase, at: at, session: "s", device: "d", productId: "p", orderId: "o", quantity: 3)
        #expect(one.problem() == nil && one.purchaseLines == [.init(productId: "p", quantity: 3)])
        #expect(AnalyticsStore.dayString(at) == "2026-05-28")
        #expect(AnalyticsStore.partition("2026-05-28") == "analytics_events_20260528")
        #expect(AnalyticsStore.partition("2026-05-28'; DROP") == nil)
        for bad in ["2026'05'28", "2026-05-2x", "\u{0662}026-05-28", "2026/05/28", "26-05-28", ""] {
            #expect(AnalyticsStore.partition(bad) == nil, "\(bad)")
        }
    }
}
