import AisleCatalog
import Foundation

/// A product's stock: `available` units on the shelf, of which `reserved` are held elsewhere;
/// `available - reserved` can be sold.
public struct StockLevel: Sendable, Equatable {
    public var productId: String
    public var available: Int
    public var reserved: Int
    public var sellable: Int { max(0, available - reserved) }
}

/// One row of the stock ledger.
public struct StockMovement: Sendable, Equatable {
    public var productId: String
    public var delta: Int
    public var availableAfter: Int
    public var reason: String
    public var orderId: Int64?
}

/// Stock in the catalog's `inventory` table, with its ledger (`stock_movements`, written by a
/// trigger for every change of `available`, whoever makes it).
public struct InventoryStore: Sendable {
    let pool: PostgresPool
    static let store = "inventory"

    public init(pool: PostgresPool) { self.pool = pool }

    public func level(_ productId: String) throws -> StockLevel? {
        try inStore(Self.store) {
            try pool.withConnection { c in
                let r = try c.exec("SELECT available, reserved FROM inventory WHERE product_id = $1", [productId])
                if let row = r.rows.first {
                    return StockLevel(productId: productId, available: row[0].flatMap(Int.init) ?? 0, reserved: row[1].flatMap(Int.init) ?? 0)
                }
                // A product without an inventory row has none.
                let exists = try c.exec("SELECT 1 FROM products WHERE id = $1", [productId]).count > 0
                return exists ? StockLevel(productId: productId, available: 0, reserved: 0) : nil
            }
        }
    }

    /// Sets `available` (the shop counted its shelf, or received goods). `ifAvailable`: only when
    /// the stock is still that (optimistic check; 409 `stale_stock` otherwise). The ledger gets one
    /// movement with `reason`.
    public func set(_ productId: String, available: Int, ifAvailable: Int?, reason: String) throws -> StockLevel {
        let outcome: Result<StockLevel, Error> = try inStore(Self.store) {
            try pool.withConnection { c in
                do {
                    return .success(try c.transaction {
                        let r = try c.exec("SELECT available, reserved FROM inventory WHERE product_id = $1 FOR UPDATE", [productId])
                        try c.exec("SELECT set_config('aisle.stock_reason', $1, true), set_config('aisle.stock_order', '', true)", [reason])
                        guard let row = r.rows.first else {
                            guard try c.exec("SELECT 1 FROM products WHERE id = $1 FOR KEY SHARE", [productId]).count > 0 else {
                                throw CommerceError.notFound("no product with id \(productId)")
                            }
                            if let ifAvailable, ifAvailable != 0 { throw CommerceError.refused(.staleStock(available: 0)) }
                            try c.exec("INSERT INTO inventory (product_id, available, reserved) VALUES ($1, $2, 0)", [productId, String(available)])
                            return StockLevel(productId: productId, available: available, reserved: 0)
                        }
                        let current = row[0].flatMap(Int.init) ?? 0
                        if let ifAvailable, ifAvailable != current { throw CommerceError.refused(.staleStock(available: current)) }
                        try c.exec("UPDATE inventory SET available = $2, updated_at = now() WHERE product_id = $1", [productId, String(available)])
                        return StockLevel(productId: productId, available: available, reserved: row[1].flatMap(Int.init) ?? 0)
                    })
                } catch let e as CommerceError {
                    return .failure(e)
                }
            }
        }
        return try outcome.get()
    }

    /// The ledger of one product, oldest first (at most `limit` rows, the newest ones).
    public func movements(_ productId: String, limit: Int = 100) throws -> [StockMovement] {
        try inStore(Self.store) {
            try pool.withConnection { c in
                try c.exec("""
                    SELECT product_id, delta, available_after, reason, order_id FROM
                      (SELECT * FROM stock_movements WHERE product_id = $1 ORDER BY id DESC LIMIT $2::int) m ORDER BY id
                    """, [productId, String(limit)]).rows.map { r in
                    StockMovement(productId: r[0] ?? "", delta: r[1].flatMap(Int.init) ?? 0, availableAfter: r[2].flatMap(Int.init) ?? 0,
                                  reason: r[3] ?? "", orderId: r[4].flatMap(Int64.init))
                }
            }
        }
    }

    /// What `aisle inventory check` found.
    public struct CheckReport: Sendable {
        public var products: Int
        public var movements: Int
        public var orders: Int
        public var orderLines: Int
        /// The first violation of each invariant that has one, in the order they are checked.
        public var violations: [String]
    }

    /// Verifies the invariants in one consistent snapshot (REPEATABLE READ, read only):
    /// 1. nothing negative: available ≥ 0 and reserved ≥ 0;
    /// 2. per product: stock now = stock at start (0) + the sum of its movements;
    /// 3. every order line has exactly one `order` movement of −quantity;
    /// 4. a canceled or expired order has exactly one release movement of +quantity per line, and
    ///    no other order has any;
    /// 5. every movement of an order belongs to one of its lines;
    /// 6. each order's head (status, version) matches its events (versions 1…n, no gaps).
    public func check() throws -> CheckReport {
        try inStore(Self.store) {
            try pool.withConnection { c in
                try c.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
                    func count(_ sql: String) throws -> Int { Int(try c.exec(sql)[0, 0] ?? "0") ?? 0 }
                    var v: [String] = []
                    if let r = try c.exec("SELECT product_id, available, reserved FROM inventory WHERE available < 0 OR reserved < 0 ORDER BY 1 LIMIT 1").rows.first {
                        v.append("negative stock: product \(r[0] ?? "?") has available \(r[1] ?? "?"), reserved \(r[2] ?? "?")")
                    }
                    if let r = try c.exec("""
                        SELECT coalesce(i.product_id, m.product_id), coalesce(i.available, 0), coalesce(m.total, 0)
                        FROM inventory i FULL JOIN (SELECT product_id, sum(delta) AS total FROM stock_movements GROUP BY product_id) m
                          ON m.product_id = i.product_id
                        WHERE coalesce(i.available, 0) <> coalesce(m.total, 0) ORDER BY 1 LIMIT 1
                        """).rows.first {
                        v.append("ledger mismatch: product \(r[0] ?? "?") has available \(r[1] ?? "?") but its movements sum to \(r[2] ?? "?")")
                    }
                    if let r = try c.exec("""
                        SELECT l.order_id, l.product_id, l.quantity FROM order_lines l
                        WHERE (SELECT count(*) FROM stock_movements m WHERE m.order_id = l.order_id AND m.product_id = l.product_id
                               AND m.reason = 'order' AND m.delta = -l.quantity) <> 1
                           OR (SELECT count(*) FROM stock_movements m WHERE m.order_id = l.order_id AND m.product_id = l.product_id
                               AND m.reason = 'order') <> 1
                        ORDER BY 1, 2 LIMIT 1
                        """).rows.first {
                        v.append("order line without its movement: order \(r[0] ?? "?"), product \(r[1] ?? "?") (quantity \(r[2] ?? "?")) has no single 'order' movement of -\(r[2] ?? "?")")
                    }
                    if let r = try c.exec("""
                        SELECT o.id, l.product_id, o.status FROM orders o JOIN order_lines l ON l.order_id = o.id
                        WHERE (SELECT count(*) FROM stock_movements m WHERE m.order_id = o.id AND m.product_id = l.product_id
                               AND m.reason IN ('cancel', 'expire'))
                              <> CASE WHEN o.status IN ('canceled', 'expired') THEN 1 ELSE 0 END
                           OR (o.status IN ('canceled', 'expired') AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.order_id = o.id
                               AND m.product_id = l.product_id AND m.reason IN ('cancel', 'expire') AND m.delta = l.quantity))
                        ORDER BY 1, 2 LIMIT 1
                        """).rows.first {
                        v.append("stock release mismatch: order \(r[0] ?? "?") (\(r[2] ?? "?")), product \(r[1] ?? "?")")
                    }
                    if let r = try c.exec("""
                        SELECT m.id, m.order_id, m.product_id FROM stock_movements m
                        WHERE m.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = m.order_id AND l.product_id = m.product_id)
                        ORDER BY 1 LIMIT 1
                        """).rows.first {
                        v.append("movement \(r[0] ?? "?") names order \(r[1] ?? "?") but that order has no line for product \(r[2] ?? "?")")
                    }
                    if let r = try c.exec("""
                        SELECT o.id, o.status, o.version, e.n, e.maxv, e.last_type FROM orders o
                        LEFT JOIN (SELECT aggregate_id, count(*) AS n, max(version) AS maxv,
                                          (array_agg(event_type ORDER BY version DESC))[1] AS last_type
                                   FROM order_events WHERE aggregate_type = 'order' GROUP BY aggregate_id) e ON e.aggregate_id = o.id
                        WHERE e.n IS NULL OR e.n <> o.version OR e.maxv <> o.version OR e.last_type <> CASE o.status
                            WHEN 'pending' THEN 'OrderPlaced' WHEN 'paid' THEN 'OrderPaid' WHEN 'shipped' THEN 'OrderShipped'
                            WHEN 'delivered' THEN 'OrderDelivered' WHEN 'canceled' THEN 'OrderCanceled' ELSE 'OrderExpired' END
                        ORDER BY 1 LIMIT 1
                        """).rows.first {
                        v.append("order \(r[0] ?? "?") is \(r[1] ?? "?") at version \(r[2] ?? "?") but has \(r[3] ?? "no") events (last \(r[5] ?? "none"))")
                    }
                    return CheckReport(products: try count("SELECT count(*) FROM inventory"), movements: try count("SELECT count(*) FROM stock_movements"),
                                       orders: try count("SELECT count(*) FROM orders"), orderLines: try count("SELECT count(*) FROM order_lines"),
                                       violations: v)
                }
            }
        }
    }
}
