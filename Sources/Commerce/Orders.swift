import AisleCatalog
import Foundation

/// The answer to placing an order: the order as its first event made it, and whether this was a
/// replay of an earlier request with the same idempotency key.
public struct PlacedOrder: Sendable, Equatable {
    public var order: Order
    public var replayed: Bool
}

/// Orders in PostgreSQL, event-sourced (ARCHITECTURE.md, "Orders"). Placing an order is one READ
/// COMMITTED transaction: the inventory rows of its products are locked in product-id order
/// (`SELECT … ORDER BY product_id FOR UPDATE`), prices and stock are read under those locks, each
/// line is a conditional decrement, and the order, its lines, its first event, the ledger's
/// movements and the idempotency key commit together. Later changes append an event after an
/// optimistic version check on the order's head row.
public struct OrderStore: Sendable {
    let pool: PostgresPool
    /// Seconds an unpaid order holds its stock before the sweeper expires it.
    public var expiry: Int
    static let store = "order store"

    public init(pool: PostgresPool, expiry: Int = 30 * 60) {
        self.pool = pool
        self.expiry = expiry
    }

    /// A 64-bit advisory-lock key per (customer, idempotency key): a second request with the same
    /// key while the first runs finds it taken (409 `in_progress`) instead of waiting.
    static func lockKey(customerId: Int64, key: String) -> Int64 {
        let d = SHA256.digest(Array("aisle-order|\(customerId)|\(key)".utf8))
        return d.prefix(8).reduce(Int64(0)) { ($0 << 8) | Int64($1) }
    }

    // MARK: - Placing

    public func place(customerId: Int64, cart: [(productId: String, quantity: Int)], request: OrderRequest) throws -> PlacedOrder {
        var merged: [String: Int] = [:]
        for line in cart where line.quantity > 0 { merged[line.productId, default: 0] += line.quantity }
        let ids = merged.keys.sorted()
        // The key's lock and the look-up of the key run in one statement, so its snapshot can
        // predate the commit of an earlier request with the key that ended just before the lock
        // was taken: that transaction then fails on the key's primary key (nothing of it stays)
        // and runs again, and this time sees the key and answers the replay.
        let outcome: Result<PlacedOrder, Error> = try inStore(Self.store) {
            try pool.withConnection { c in
                var attempt = 0
                while true {
                    attempt += 1
                    do {
                        return .success(try c.transaction {
                            try placeInTransaction(c, customerId: customerId, ids: ids, merged: merged, request: request)
                        })
                    } catch let e as CommerceError {
                        return .failure(e)   // refused: the transaction is rolled back, the connection is fine
                    } catch let e as CatalogError where e.sqlstate == "23505" && "\(e)".contains("order_idempotency") && attempt < 3 {
                        continue
                    }
                }
            }
        }
        var placed = try outcome.get()
        if placed.replayed {
            // The same answer as the first time: the order as its first event made it.
            guard let first = try order(placed.order.id, upToVersion: 1) else {
                throw CommerceError.internalError("order store: order \(placed.order.id) of an idempotency key has no events")
            }
            placed.order = first
        }
        return placed
    }

    private func placeInTransaction(_ c: PGConnection, customerId: Int64, ids: [String], merged: [String: Int],
                                    request: OrderRequest) throws -> PlacedOrder {
        let cid = String(customerId)
        // One round trip: the key's lock, and what an earlier request with the key left.
        let seen = try c.exec("""
            SELECT pg_try_advisory_xact_lock($1::bigint), i.request_hash, i.order_id
            FROM (SELECT 1) one LEFT JOIN order_idempotency i ON i.customer_id = $2 AND i.key = $3
            """, [String(Self.lockKey(customerId: customerId, key: request.idempotencyKey)), cid, request.idempotencyKey])
        guard seen[0, 0] == "t" else { throw CommerceError.refused(.inProgress(retryAfter: 1)) }
        if let hash = seen[0, 1] {
            guard hash == request.fingerprint else { throw CommerceError.refused(.keyReused) }
            guard let id = seen[0, 2].flatMap(Int64.init) else { throw CommerceError.internalError("order store: an idempotency row without an order") }
            // A placeholder; `place` reads the order's first event after this read-only transaction.
            return PlacedOrder(order: Order(id: id, customerId: customerId, status: .pending, version: 1, currency: "", total: .zero, lines: [],
                                            shippingAddress: request.shippingAddress, paymentMethodId: "", placedAt: Date(), expiresAt: Date(),
                                            updatedAt: Date()), replayed: true)
        }
        guard !ids.isEmpty else { throw CommerceError.refused(.cartEmpty) }

        // Lock the stock rows in product-id order (every writer of inventory takes them in this
        // order, so two orders cannot deadlock), then read prices and stock under the locks.
        let rows = try c.exec("""
            SELECT i.product_id, i.available, i.reserved, p.title, p.price::text, p.currency, p.status, b.name
            FROM inventory i JOIN products p ON p.id = i.product_id LEFT JOIN brands b ON b.id = p.brand_id
            WHERE i.product_id = ANY($1::text[]) ORDER BY i.product_id FOR UPDATE OF i
            """, [CatalogDatabase.arrayLiteral(ids)])
        var found: [String: [String?]] = [:]
        for row in rows.rows { if let id = row[0] { found[id] = row } }
        var lines: [OrderLine] = []
        var total = Money.zero
        var currency: String?
        for id in ids {
            let q = merged[id]!
            guard let row = found[id] else {
                let active = try c.exec("SELECT status = 'active' FROM products WHERE id = $1", [id]).rows.first?[0] == "t"
                throw CommerceError.refused(active ? .outOfStock(productId: id, available: 0) : .productUnavailable(productId: id))
            }
            guard row[6] == "active", let title = row[3], let price = row[4].flatMap(Money.init) else {
                throw CommerceError.refused(.productUnavailable(productId: id))
            }
            let sub = try price.multiplied(by: q)
            total = try total.adding(sub)
            currency = currency ?? (row[5] ?? "USD").trimmingCharacters(in: .whitespaces)
            lines.append(OrderLine(productId: id, title: title, brand: row[7], unitPrice: price, quantity: q, subtotal: sub))
        }
        let cur = currency ?? "USD"
        guard total == request.expectedTotal else {
            throw CommerceError.refused(.totalsChanged(total: total, expected: request.expectedTotal, currency: cur))
        }
        for line in lines {
            let row = found[line.productId]!
            let sellable = (row[1].flatMap(Int.init) ?? 0) - (row[2].flatMap(Int.init) ?? 0)
            guard sellable >= line.quantity else { throw CommerceError.refused(.outOfStock(productId: line.productId, available: max(0, sellable))) }
        }

        // The head row, and the ledger's reason and order for the decrements (local to this transaction).
        let head = try c.exec("""
            WITH o AS (INSERT INTO orders (customer_id, status, version, expires_at)
                       VALUES ($1, 'pending', 1, clock_timestamp() + make_interval(secs => $2::int)) RETURNING id, expires_at)
            SELECT o.id, extract(epoch from o.expires_at)::numeric::text,
                   set_config('aisle.stock_reason', 'order', true), set_config('aisle.stock_order', o.id::text, true)
            FROM o
            """, [cid, String(expiry)])
        guard let oid = head[0, 0], let orderId = Int64(oid), let expiresAt = Self.date(head[0, 1]) else {
            throw CommerceError.internalError("order store: INSERT INTO orders returned no id")
        }
        let decremented = try c.exec("""
            UPDATE inventory i SET available = i.available - l.q, updated_at = now()
            FROM unnest($1::text[], $2::int[]) AS l(id, q)
            WHERE i.product_id = l.id AND i.available - i.reserved >= l.q
            """, [CatalogDatabase.arrayLiteral(lines.map(\.productId)), CatalogDatabase.arrayLiteral(lines.map { String($0.quantity) })]).affected
        guard decremented == lines.count else {
            throw CommerceError.internalError("order store: \(lines.count - decremented) locked stock rows changed under their lock")
        }
        // The lines with their snapshot, the first event and the idempotency key: one statement.
        let data = OrderEventData.Placed(customerId: customerId, currency: cur, total: total, lines: lines, shippingAddress: request.shippingAddress,
                                         paymentMethodId: request.paymentMethodId, expiresAt: expiresAt)
        let actor = "customer:\(customerId)"
        let written = try c.exec("""
            WITH l AS (INSERT INTO order_lines (order_id, line_no, product_id, title, brand, unit_price, quantity)
                       SELECT $1, x.n, x.id, x.t, nullif(x.b, ''), x.p, x.q
                       FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::int[]) AS x(n, id, t, b, p, q)),
                 k AS (INSERT INTO order_idempotency (customer_id, key, request_hash, order_id) VALUES ($8, $9, $10, $1))
            INSERT INTO order_events (aggregate_id, event_type, data, version, actor) VALUES ($1, 'OrderPlaced', $11::jsonb, 1, $12)
            RETURNING extract(epoch from occurred_at)::numeric::text
            """, [oid, CatalogDatabase.arrayLiteral(lines.indices.map { String($0 + 1) }), CatalogDatabase.arrayLiteral(lines.map(\.productId)),
                  CatalogDatabase.arrayLiteral(lines.map(\.title)), CatalogDatabase.arrayLiteral(lines.map { $0.brand ?? "" }),
                  CatalogDatabase.arrayLiteral(lines.map { $0.unitPrice.formatted(minScale: 0) }),
                  CatalogDatabase.arrayLiteral(lines.map { String($0.quantity) }), cid, request.idempotencyKey, request.fingerprint,
                  try OrderEventData.placed(data).json(), actor])
        guard let at = Self.date(written[0, 0]) else { throw CommerceError.internalError("order store: the first event has no time") }
        let event = OrderEvent(orderId: orderId, version: 1, type: .placed, data: .placed(data), occurredAt: at, actor: actor)
        guard let order = try Order.fold([event]) else { throw CommerceError.internalError("order store: a new order folds to nothing") }
        return PlacedOrder(order: order, replayed: false)
    }

    /// Appends one event; a duplicate (aggregate, version) is a lost race (`LostRace`).
    static func append(_ c: PGConnection, orderId: Int64, version: Int, type: OrderEventType, data: OrderEventData, actor: String) throws -> OrderEvent {
        do {
            let r = try c.exec("""
                INSERT INTO order_events (aggregate_id, event_type, data, version, actor) VALUES ($1, $2, $3::jsonb, $4, $5)
                RETURNING extract(epoch from occurred_at)::numeric::text
                """, [String(orderId), type.rawValue, try data.json(), String(version), actor])
            guard let at = date(r[0, 0]) else { throw CommerceError.internalError("order store: an event without a time") }
            return OrderEvent(orderId: orderId, version: version, type: type, data: data, occurredAt: at, actor: actor)
        } catch let e as CatalogError where e.sqlstate == "23505" {
            throw LostRace()
        }
    }

    struct LostRace: Error {}

    /// Seconds since 1970 as PostgreSQL writes them (`extract(epoch from …)::numeric::text`).
    static func date(_ text: String?) -> Date? { text.flatMap(Double.init).map { Date(timeIntervalSince1970: $0) } }

    // MARK: - Reading

    static let eventColumns = "aggregate_id, version, event_type, data::text, extract(epoch from occurred_at)::numeric::text, actor"

    static func events(_ c: PGConnection, _ id: Int64, asOf: Date? = nil, upToVersion: Int? = nil) throws -> [OrderEvent] {
        var sql = "SELECT \(eventColumns) FROM order_events WHERE aggregate_type = 'order' AND aggregate_id = $1"
        var params: [String?] = [String(id)]
        if let asOf {
            params.append(String(format: "%.6f", asOf.timeIntervalSince1970))
            sql += " AND occurred_at <= to_timestamp($\(params.count)::float8)"
        }
        if let upToVersion {
            params.append(String(upToVersion))
            sql += " AND version <= $\(params.count)::int"
        }
        return try c.exec(sql + " ORDER BY version", params).rows.map(Self.event)
    }

    static func event(_ row: [String?]) throws -> OrderEvent {
        guard let id = row[0].flatMap(Int64.init), let v = row[1].flatMap(Int.init), let type = row[2].flatMap(OrderEventType.init),
              let json = row[3], let t = row[4].flatMap(Double.init), let actor = row[5] else {
            throw CommerceError.internalError("order store: an unreadable order_events row")
        }
        return OrderEvent(orderId: id, version: v, type: type, data: try OrderEventData.decode(type, json: json),
                          occurredAt: Date(timeIntervalSince1970: t), actor: actor)
    }

    /// The order as its events say, now or as of a time (nil: there was no such order then).
    public func order(_ id: Int64, asOf: Date? = nil, upToVersion: Int? = nil) throws -> Order? {
        try inStore(Self.store) { try pool.withConnection { c in try Order.fold(try Self.events(c, id, asOf: asOf, upToVersion: upToVersion)) } }
    }

    /// The order's audit trail.
    public func events(_ id: Int64) throws -> [OrderEvent] {
        try inStore(Self.store) { try pool.withConnection { try Self.events($0, id) } }
    }

    /// A customer's orders from the read model, newest first; `before` is the last id of the previous page.
    public func history(customerId: Int64, limit: Int, before: Int64?) throws -> [OrderSummary] {
        try inStore(Self.store) {
            try pool.withConnection { c in
                try c.exec("""
                    SELECT \(OrderProjector.summaryColumns) FROM order_summaries
                    WHERE customer_id = $1 AND ($2::bigint IS NULL OR order_id < $2::bigint)
                    ORDER BY order_id DESC LIMIT $3::int
                    """, [String(customerId), before.map(String.init), String(limit)]).rows.map(OrderProjector.summary)
            }
        }
    }

    // MARK: - Changing

    /// Applies a transition: folds the events, checks the table, moves the head row from the
    /// version it read (`UPDATE … WHERE version = $seen`: a concurrent change makes it miss, and
    /// the whole attempt is retried from a fresh read), appends the event and, for cancel and
    /// expiry, puts the stock back. `owner`: only this customer's order (others are not found).
    public func transition(_ id: Int64, _ t: OrderTransition, actor: String, owner: Int64? = nil,
                           change: OrderEventData.Change = .init()) throws -> Order {
        for _ in 0..<8 {
            let result: Result<Order?, Error> = try inStore(Self.store) {
                try pool.withConnection { c in
                    do {
                        return .success(try c.transaction { () -> Order? in
                            let events = try Self.events(c, id)
                            guard let order = try Order.fold(events), owner == nil || order.customerId == owner else {
                                throw CommerceError.notFound("no order \(id)")
                            }
                            return try apply(c, order: order, events: events, t, actor: actor, change: change)
                        })
                    } catch is LostRace {
                        return .success(nil)
                    } catch let e as CommerceError {
                        return .failure(e)
                    }
                }
            }
            if let order = try result.get() { return order }
        }
        throw CommerceError.refused(.versionConflict)
    }

    /// In the caller's transaction: nil when the version race was lost (the caller rolls back or retries).
    func apply(_ c: PGConnection, order: Order, events: [OrderEvent], _ t: OrderTransition, actor: String,
               change: OrderEventData.Change) throws -> Order? {
        let rule = t.rule
        guard rule.from.contains(order.status) else { throw CommerceError.refused(.illegalTransition(status: order.status, transition: t)) }
        let next = order.version + 1
        let moved = try c.exec("UPDATE orders SET status = $2, version = $3 WHERE id = $1 AND version = $4",
                               [String(order.id), rule.to.rawValue, String(next), String(order.version)]).affected
        guard moved == 1 else { throw LostRace() }
        let event = try Self.append(c, orderId: order.id, version: next, type: rule.event, data: .change(change), actor: actor)
        if rule.releasesStock {
            try c.exec("SELECT set_config('aisle.stock_reason', $1, true), set_config('aisle.stock_order', $2, true)",
                       [t.rawValue, String(order.id)])
            let ids = CatalogDatabase.arrayLiteral(order.lines.map(\.productId))
            try c.exec("SELECT product_id FROM inventory WHERE product_id = ANY($1::text[]) ORDER BY product_id FOR UPDATE", [ids])
            try c.exec("""
                UPDATE inventory i SET available = i.available + l.q, updated_at = now()
                FROM unnest($1::text[], $2::int[]) AS l(id, q) WHERE i.product_id = l.id
                """, [ids, CatalogDatabase.arrayLiteral(order.lines.map { String($0.quantity) })])
        }
        return try Order.fold(events + [event])
    }

    /// Expires unpaid orders whose time is up, one per transaction (each locks its head row with
    /// `FOR UPDATE SKIP LOCKED`, so several sweepers, or a customer cancelling, never block each
    /// other). Returns how many expired.
    @discardableResult
    public func expireDue(max: Int = 1000, failed: (Int64, Error) -> Void = { _, _ in }) throws -> Int {
        var done = 0
        // An order that cannot be expired (unreadable history) is reported and passed over in this
        // sweep, so one bad order does not hold back every other expiry.
        var skipped: [Int64] = []
        while done < max {
            var current: Int64?
            let expired: Bool
            do {
                expired = try inStore(Self.store) {
                    try pool.withConnection { c in
                        try c.transaction {
                            let due = try c.exec("""
                                SELECT id FROM orders WHERE status = 'pending' AND expires_at <= clock_timestamp()
                                  AND NOT (id = ANY($1::bigint[]))
                                ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED
                                """, [CatalogDatabase.arrayLiteral(skipped.map(String.init))])
                            guard let id = due.rows.first?[0].flatMap(Int64.init) else { return false }
                            current = id
                            let events = try Self.events(c, id)
                            guard let order = try Order.fold(events) else { throw CommerceError.internalError("order \(id) has no events") }
                            _ = try apply(c, order: order, events: events, .expire, actor: "system:expiry",
                                          change: .init(reason: "unpaid after \(expiry) s"))
                            return true
                        }
                    }
                }
            } catch let e as CommerceError {
                guard case .internalError = e, let id = current else { throw e }
                failed(id, e)
                skipped.append(id)
                continue
            }
            guard expired else { break }
            done += 1
        }
        return done
    }
}
