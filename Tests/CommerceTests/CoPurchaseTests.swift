import Foundation
import Synchronization
import Testing
import AisleCatalog
@testable import AisleCommerce

/// "Bought together": the co-purchase projection of the order events against the real PostgreSQL
/// and Redis of `scripts/test.sh`, compared with counts computed here from the orders placed.
@Suite(.enabled(if: CommerceEnv.ready, Comment(rawValue: CommerceEnv.skipped)))
struct CoPurchaseTests {
    typealias XorShift = AnalyticsTests.XorShift

    /// Products (ids) -> orders, and product|other -> orders, counted naively: each order's
    /// distinct products, each ordered pair of two different ones.
    struct Oracle: Equatable {
        var products: [String: Int] = [:]
        var pairs: [String: Int] = [:]

        mutating func add(_ order: [String]) {
            let distinct = Set(order)
            for p in distinct {
                products[p, default: 0] += 1
                for q in distinct where q != p { pairs[p + "|" + q, default: 0] += 1 }
            }
        }

        init(_ orders: [[String]] = []) { for o in orders { add(o) } }

        /// What the tables hold now.
        static func stored(_ shop: Shop) throws -> Oracle {
            var o = Oracle()
            for r in try shop.sql("SELECT product_id, orders FROM copurchase_products").rows { o.products[r[0]!] = Int(r[1]!)! }
            for r in try shop.sql("SELECT product_id, other_id, orders FROM copurchase_pairs").rows { o.pairs[r[0]! + "|" + r[1]!] = Int(r[2]!)! }
            return o
        }
    }

    static func seed() -> UInt64 {
        ProcessInfo.processInfo.environment["AISLE_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(Int64.max))
    }

    static func request(_ total: Int, key: String = UUID().uuidString) -> OrderRequest {
        OrderRequest(shippingAddress: OrderTests.address, paymentMethodId: "pm_card", expectedTotal: Money(String(total))!, idempotencyKey: key)
    }

    /// The bulk products (1.00 each) with stock enough for any test.
    static func stockUp(_ shop: Shop) throws {
        try shop.sql("UPDATE inventory SET available = 1000000 WHERE product_id LIKE 'bulk%'")
    }

    /// Places an order for `lines` through the order store (no cart); returns its products.
    @discardableResult
    static func place(_ shop: Shop, customer: Int64, _ lines: [(String, Int)]) throws -> [String] {
        let total = lines.reduce(0) { $0 + $1.1 }
        _ = try shop.commerce.orders.place(customerId: customer, cart: lines.map { (productId: $0.0, quantity: $0.1) }, request: request(total))
        return lines.map(\.0)
    }

    func db(_ shop: Shop) throws -> CatalogDatabase { try CatalogDatabase(url: shop.url, migrate: false) }

    /// A few hundred random orders placed through the shop's API (cart, then order), some
    /// canceled, the projector stepping now and then with batches of random sizes, crashing once
    /// before a commit: the counts equal the naive ones over all the orders (canceled ones too,
    /// they are not subtracted), and `boughtTogether` reads them.
    @Test func countsEqualANaiveOracleOverRandomOrders() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (_, s) = try shop.customer()
        let c = shop.commerce
        let seed = Self.seed()
        print("[copurchase] seed \(seed) (replay with AISLE_TEST_SEED=\(seed))")
        var rng = XorShift(seed: seed)
        var orders: [[String]] = []
        var crashed = false
        for i in 0..<240 {
            let n = Int.random(in: 1...5, using: &rng)
            var lines: [(String, Int)] = []
            for _ in 0..<n { lines.append(("bulk\(Int.random(in: 1...15, using: &rng))", Int.random(in: 1...3, using: &rng))) }
            for (p, q) in lines { _ = try c.addItem(s.session, productId: p, quantity: q, ifMatch: nil) }
            let placed = try c.placeOrder(s.session, Self.request(lines.reduce(0) { $0 + $1.1 }))
            #expect(Set(placed.order.lines.map(\.productId)) == Set(lines.map(\.0)))
            orders.append(lines.map(\.0))
            if Int.random(in: 0..<10, using: &rng) == 0 { _ = try c.cancelOrder(placed.order.id, session: s.session, reason: nil) }
            if Int.random(in: 0..<25, using: &rng) == 0 || (i == 120 && !crashed) {
                let db = try db(shop)
                if !crashed {
                    // Dies after applying a batch, before its commit: nothing of it stays.
                    let before = try Oracle.stored(shop)
                    #expect(throws: CommerceError.self) { try CoPurchaseProjector.step(db, limit: 50, crashBeforeCommit: true) }
                    #expect(try Oracle.stored(shop) == before, "seed \(seed), order \(i)")
                    crashed = true
                }
                _ = try CoPurchaseProjector.step(db, limit: Int.random(in: 1...60, using: &rng))
            }
        }
        #expect(try c.coPurchases.catchUp() != nil)
        let want = Oracle(orders)
        #expect(try Oracle.stored(shop) == want, "seed \(seed)")
        #expect(want.pairs.count > 50, "the orders make many pairs")
        // Delivered again? No: nothing is left to apply, and the counts stay.
        #expect(try CoPurchaseProjector.step(try db(shop)) == 0)
        #expect(try c.coPurchases.catchUp() == 0)
        #expect(try Oracle.stored(shop) == want)

        // The reader: most orders first, then by id; share = pair orders / the product's orders.
        for p in ["bulk1", "bulk7", "bulk15"] {
            let all = want.products[p] ?? 0
            let expected = want.pairs.filter { $0.key.hasPrefix(p + "|") }
                .map { BoughtTogether(productId: String($0.key.dropFirst(p.count + 1)), orders: $0.value, share: Double($0.value) / Double(all)) }
                .sorted { $0.orders != $1.orders ? $0.orders > $1.orders : AnalyticsTests.bytesBefore($0.productId, $1.productId) }
            #expect(try c.coPurchases.boughtTogether(productId: p, limit: 1_000) == expected, "\(p), seed \(seed)")
            #expect(try c.coPurchases.boughtTogether(productId: p, limit: 3) == Array(expected.prefix(3)))
            #expect(try c.coPurchases.orders(productId: p) == all)
        }
        #expect(try c.coPurchases.boughtTogether(productId: "never-ordered", limit: 8).isEmpty)
        #expect(failure { try c.coPurchases.boughtTogether(productId: "", limit: 8) } == "invalid")
        #expect(failure { try c.coPurchases.boughtTogether(productId: "bulk1", limit: 0) } == "invalid")
        #expect(failure { try c.coPurchases.boughtTogether(productId: String(repeating: "x", count: 513), limit: 8) } == "invalid")
    }

    /// A projector that dies between applying a batch and committing it loses nothing and counts
    /// nothing twice: restarted (each time on a new connection, as a new process would be), it
    /// goes on from the last committed checkpoint.
    @Test func aCrashBeforeCommitLosesAndRepeatsNothing() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (customer, _) = try shop.customer()
        var orders: [[String]] = []
        for i in 0..<20 { orders.append(try Self.place(shop, customer: customer.id, [("bulk\(i % 4 + 1)", 1), ("bulk\(i % 3 + 5)", 2), ("bulk9", 1)])) }
        #expect(throws: CommerceError.self) { try CoPurchaseProjector.step(try db(shop), crashBeforeCommit: true) }
        #expect(try Oracle.stored(shop) == Oracle())
        #expect(try shop.sql("SELECT count(*) FROM projector_checkpoints WHERE name = 'copurchases'")[0, 0] == "0")
        #expect(try CoPurchaseProjector.step(try db(shop), limit: 5) == 5)
        #expect(try Oracle.stored(shop) == Oracle(Array(orders.prefix(5))))
        #expect(throws: CommerceError.self) { try CoPurchaseProjector.step(try db(shop), limit: 7, crashBeforeCommit: true) }
        #expect(try Oracle.stored(shop) == Oracle(Array(orders.prefix(5))))
        var applied = 5
        while true {
            let n = try CoPurchaseProjector.step(try db(shop), limit: 4)
            if n == 0 { break }
            applied += n
        }
        #expect(applied == 20)
        #expect(try Oracle.stored(shop) == Oracle(orders))
        // The order projector's checkpoint is its own.
        #expect(try shop.sql("SELECT count(*) FROM projector_checkpoints WHERE name = 'order_summaries'")[0, 0] == "0")
    }

    /// An order whose transaction is still open when the projector runs holds the projector at
    /// the horizon: orders committed after it wait (they are not counted early, which would count
    /// them twice), and once it commits, it and they are counted, once each. A product on two lines
    /// of one order counts once.
    @Test func anOrderOfAnOpenTransactionIsCountedOnceItCommits() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (customer, _) = try shop.customer()
        let db = try db(shop)
        var orders = [try Self.place(shop, customer: customer.id, [("bulk1", 1), ("bulk2", 1)])]
        #expect(try CoPurchaseProjector.step(db) == 1)
        let checkpoint = try shop.sql("SELECT txid::text, event_id FROM projector_checkpoints WHERE name = 'copurchases'").rows

        // Another writer's order, in a transaction it keeps open (its event written the way the
        // order store writes one, with the same product on two lines).
        let slow = try PGConnection(url: shop.url)
        try slow.exec("BEGIN")
        try slow.exec("""
            INSERT INTO order_events (aggregate_id, event_type, data, version, actor)
            VALUES (900001, 'OrderPlaced', '{"lines": [{"product_id": "bulk3", "quantity": 1}, {"product_id": "bulk1", "quantity": 1}, {"product_id": "bulk3", "quantity": 2}]}', 1, 'test')
            """)
        let later = try Self.place(shop, customer: customer.id, [("bulk2", 1), ("bulk3", 1)])
        #expect(try CoPurchaseProjector.step(db) == 0, "the later order is above the horizon")
        #expect(try shop.sql("SELECT txid::text, event_id FROM projector_checkpoints WHERE name = 'copurchases'").rows == checkpoint)
        #expect(try Oracle.stored(shop) == Oracle(orders))

        try slow.exec("COMMIT")
        orders.append(["bulk3", "bulk1", "bulk3"])
        orders.append(later)
        var applied = 0
        while true {
            let n = try CoPurchaseProjector.step(db)
            if n == 0 { break }
            applied += n
        }
        #expect(applied == 2)
        #expect(try Oracle.stored(shop) == Oracle(orders))
        #expect(try shop.commerce.coPurchases.boughtTogether(productId: "bulk3", limit: 8)
                == [BoughtTogether(productId: "bulk1", orders: 1, share: 0.5), BoughtTogether(productId: "bulk2", orders: 1, share: 0.5)])
        // An order of one product counts the product only.
        try Self.place(shop, customer: customer.id, [("bulk4", 3)])
        #expect(try CoPurchaseProjector.step(db) == 1)
        #expect(try shop.sql("SELECT orders FROM copurchase_products WHERE product_id = 'bulk4'")[0, 0] == "1")
        #expect(try shop.sql("SELECT count(*) FROM copurchase_pairs WHERE product_id = 'bulk4' OR other_id = 'bulk4'")[0, 0] == "0")

        // A transaction that rolls back leaves nothing behind it.
        let gone = try PGConnection(url: shop.url)
        try gone.exec("BEGIN")
        try gone.exec("INSERT INTO order_events (aggregate_id, event_type, data, version, actor) VALUES (900002, 'OrderPlaced', '{\"lines\": [{\"product_id\": \"bulk5\"}, {\"product_id\": \"bulk6\"}]}', 1, 'test')")
        let after = try Self.place(shop, customer: customer.id, [("bulk5", 1), ("bulk7", 1)])
        #expect(try CoPurchaseProjector.step(db) == 0)
        try gone.exec("ROLLBACK")
        #expect(try CoPurchaseProjector.step(db) == 1)
        orders.append(["bulk4"])
        orders.append(after)
        #expect(try Oracle.stored(shop) == Oracle(orders))
    }

    /// Several projectors stepping at once (no leader lock taken) still count each order once:
    /// the checkpoint row is locked for each batch.
    @Test func concurrentProjectorsCountEachOrderOnce() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (customer, _) = try shop.customer()
        var rng = XorShift(seed: Self.seed())
        var orders: [[String]] = []
        for _ in 0..<60 {
            let lines = (0..<Int.random(in: 1...4, using: &rng)).map { _ in ("bulk\(Int.random(in: 1...8, using: &rng))", 1) }
            orders.append(try Self.place(shop, customer: customer.id, lines))
        }
        let url = shop.url
        let applied = OrderTests.race(4) { _ -> Int in
            var total = 0
            do {
                let db = try CatalogDatabase(url: url, migrate: false)
                while true {
                    let n = try CoPurchaseProjector.step(db, limit: 3)
                    if n == 0 { return total }
                    total += n
                }
            } catch {
                return -1_000_000
            }
        }
        #expect(applied.reduce(0, +) == 60, "\(applied)")
        #expect(try Oracle.stored(shop) == Oracle(orders))
    }

    /// The simulator's check in small: a product bought with another in 30% of its orders (the
    /// rest of its orders and the shop's other orders random) has that one first in bought
    /// together, with its share.
    @Test func aPlantedPairRanksFirst() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (customer, _) = try shop.customer()
        let seed = Self.seed()
        print("[copurchase] planted pair seed \(seed)")
        var rng = XorShift(seed: seed)
        var orders: [[String]] = []
        var withAnchor = 0, together = 0
        for _ in 0..<300 {
            // Two orders in three have the anchor (bulk1); 30% of those have the partner (bulk2).
            var lines: [(String, Int)] = []
            let anchor = Int.random(in: 0..<3, using: &rng) < 2
            if anchor {
                lines.append(("bulk1", 1))
                withAnchor += 1
                if Double.random(in: 0..<1, using: &rng) < 0.3 { lines.append(("bulk2", 1)); together += 1 }
            }
            // Others: up to three of 20 products (each ~7% of orders), and the partner bought
            // without the anchor too.
            for _ in 0..<Int.random(in: anchor ? 0...3 : 1...3, using: &rng) {
                lines.append(("bulk\(Int.random(in: 2...21, using: &rng))", 1))
            }
            orders.append(try Self.place(shop, customer: customer.id, lines))
        }
        #expect(try shop.commerce.coPurchases.catchUp() == 300)
        let top = try shop.commerce.coPurchases.boughtTogether(productId: "bulk1", limit: 8)
        let want = Oracle(orders)
        #expect(want.products["bulk1"] == withAnchor)
        #expect(top.first?.productId == "bulk2", "seed \(seed): \(top)")
        // bulk2 is also one of the random others (then counted once per order).
        let pair = want.pairs["bulk1|bulk2"] ?? 0
        #expect(pair >= together && top.first?.orders == pair)
        #expect(abs((top.first?.share ?? 0) - Double(pair) / Double(withAnchor)) < 1e-12)
        print("[copurchase] planted 30%: measured share \(String(format: "%.3f", top.first?.share ?? 0)); next \(top.dropFirst().first.map { "\($0.productId) \(String(format: "%.3f", $0.share))" } ?? "-")")
    }

    /// The server's workers keep the counts up to date: an order placed shows in bought together
    /// within a moment, counted once; `catchUp` then finds another leader.
    @Test func theWorkerKeepsItUpToDate() throws {
        let shop = try Shop()
        try Self.stockUp(shop)
        let (_, s) = try shop.customer()
        let c = shop.commerce
        let workers = c.startWorkers(log: { _ in })
        defer { workers.stop() }
        _ = try c.addItem(s.session, productId: "bulk1", quantity: 1, ifMatch: nil)
        _ = try c.addItem(s.session, productId: "bulk2", quantity: 2, ifMatch: nil)
        _ = try c.placeOrder(s.session, Self.request(3))
        var seen: [BoughtTogether] = []
        for _ in 0..<300 where seen.isEmpty {
            seen = try c.coPurchases.boughtTogether(productId: "bulk1", limit: 8)
            usleep(10_000)
        }
        #expect(seen == [BoughtTogether(productId: "bulk2", orders: 1, share: 1)])
        usleep(300_000)
        #expect(try c.coPurchases.boughtTogether(productId: "bulk2", limit: 8) == [BoughtTogether(productId: "bulk1", orders: 1, share: 1)])
        #expect(try c.coPurchases.catchUp() == nil, "the worker is the leader")
    }
}
