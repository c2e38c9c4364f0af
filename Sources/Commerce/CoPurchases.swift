import AisleCatalog
import Foundation
import Synchronization

/// A product bought in the same orders as another one.
public struct BoughtTogether: Sendable, Equatable {
    public var productId: String
    /// Orders that bought both.
    public var orders: Int
    /// `orders` / orders that bought the product asked about (0...1, for display and ranking).
    public var share: Double

    public init(productId: String, orders: Int, share: Double) {
        self.productId = productId
        self.orders = orders
        self.share = share
    }
}

/// "Bought together" (issue 19): co-purchase counts kept by a projection of the order events, so no
/// batch job is needed.
///
/// - `copurchase_products` (product): orders that bought it.
/// - `copurchase_pairs` (product, other): orders that bought both, both directions stored, so the
///   products bought with one product are one index range (`copurchase_pairs_top`).
///
/// Each `OrderPlaced` counts once: its distinct products (a product on two lines counts once) each
/// get +1 order, and each ordered pair of two of them +1 (an order of one product only counts the
/// product). Canceled and expired orders are NOT subtracted: the counts say what shoppers chose to
/// buy together, which a later cancellation (often payment or delivery trouble) does not undo, and
/// a count that only grows is one event per order to apply, never a lookup of the order's lines.
///
/// Exactly once. The counts are sums, so applying an event twice would count it twice (unlike
/// `OrderProjector`, whose apply is idempotent). So this projector reads `OrderPlaced` events after
/// its checkpoint (row `copurchases` of `projector_checkpoints`, a (txid, event id) position) ONLY
/// from transactions below the horizon (`CatalogDatabase.horizon()`, the oldest transaction still
/// running): those have all ended, so no event can later appear behind the checkpoint, and none
/// above the horizon is applied early (it would be applied again when the checkpoint reaches it).
/// A batch's counts and the checkpoint's move are one transaction: a crash loses or repeats
/// nothing. The checkpoint row is locked (`FOR UPDATE`) for the batch, so even two projectors
/// stepping at once apply each event once; the advisory lock `leaderLock` (not the order
/// projector's) only keeps one server doing the work. An order shows in the counts once every
/// transaction that was running when it committed has ended (normally within the 100 ms poll).
public final class CoPurchaseProjector: Sendable {
    public let pool: PostgresPool
    public var url: String { pool.url }
    /// Its row in `projector_checkpoints`.
    public static let name = "copurchases"
    static let leaderLock = "7206410404"
    public static let maxLimit = 1_000

    /// Part of commerce migration 4 (`AnalyticsSchema.feedback`).
    static let schema = """
    CREATE TABLE copurchase_products (
        product_id text COLLATE "C" PRIMARY KEY,
        orders     bigint NOT NULL
    );
    CREATE TABLE copurchase_pairs (
        product_id text COLLATE "C" NOT NULL,
        other_id   text COLLATE "C" NOT NULL,
        orders     bigint NOT NULL,
        PRIMARY KEY (product_id, other_id)
    );
    CREATE INDEX copurchase_pairs_top ON copurchase_pairs (product_id, orders DESC, other_id);
    """

    public init(pool: PostgresPool) { self.pool = pool }

    typealias Position = (txid: String, id: Int64)

    /// One `OrderPlaced` as read: its position and its products (nil for a line without one).
    struct Placed {
        var txid: String
        var id: Int64
        var products: [String]
    }

    /// `OrderPlaced` events after `after` of transactions below `horizon`, in log order, with the
    /// product ids of their lines (read from the event data by PostgreSQL).
    static func read(_ c: PGConnection, after: Position, below horizon: String, limit: Int) throws -> [Placed] {
        var out: [Placed] = []
        for r in try c.exec("""
            SELECT e.id, e.txid::text, l.value->>'product_id'
            FROM (SELECT id, txid, data FROM order_events
                  WHERE aggregate_type = 'order' AND event_type = $5 AND (txid, id) > ($1::xid8, $2::bigint) AND txid < $3::xid8
                  ORDER BY order_events.txid, order_events.id LIMIT $4::int) e
            LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(e.data->'lines') = 'array' THEN e.data->'lines' ELSE '[]'::jsonb END) AS l(value) ON true
            ORDER BY e.txid, e.id
            """, [after.txid, String(after.id), horizon, String(limit), OrderEventType.placed.rawValue]).rows {
            guard let id = r[0].flatMap(Int64.init), let tx = r[1] else {
                throw CommerceError.internalError("co-purchase projector: an unreadable order_events row")
            }
            if out.last?.id != id { out.append(Placed(txid: tx, id: id, products: [])) }
            if let p = r[2] { out[out.count - 1].products.append(p) }
        }
        return out
    }

    /// Adds a batch's counts: +1 per distinct product of each order, +1 per ordered pair of
    /// distinct products of each order. Set-based: two statements whatever the batch's size.
    static func apply(_ c: PGConnection, _ batch: [Placed]) throws {
        var orders: [String] = [], products: [String] = []
        for e in batch {
            for p in Set(e.products) {
                orders.append(String(e.id))
                products.append(p)
            }
        }
        guard !orders.isEmpty else { return }
        let params = [CatalogDatabase.arrayLiteral(orders), CatalogDatabase.arrayLiteral(products)]
        try c.exec("""
            INSERT INTO copurchase_products (product_id, orders)
            SELECT p, count(*) FROM unnest($1::bigint[], $2::text[]) AS u(o, p) GROUP BY p
            ON CONFLICT (product_id) DO UPDATE SET orders = copurchase_products.orders + EXCLUDED.orders
            """, params)
        try c.exec("""
            WITH items AS (SELECT o, p FROM unnest($1::bigint[], $2::text[]) AS u(o, p))
            INSERT INTO copurchase_pairs (product_id, other_id, orders)
            SELECT a.p, b.p, count(*) FROM items a JOIN items b ON a.o = b.o AND a.p <> b.p GROUP BY a.p, b.p
            ON CONFLICT (product_id, other_id) DO UPDATE SET orders = copurchase_pairs.orders + EXCLUDED.orders
            """, params)
    }

    static func checkpoint(_ c: PGConnection, lock: Bool) throws -> Position? {
        let r = try c.exec("SELECT txid::text, event_id FROM projector_checkpoints WHERE name = $1" + (lock ? " FOR UPDATE" : ""), [name])
        guard let tx = r.rows.first?[0], let id = r.rows.first?[1].flatMap(Int64.init) else { return nil }
        return (tx, id)
    }

    /// One batch: `OrderPlaced` events after the checkpoint and below the horizon, counted, and the
    /// checkpoint moved past them, in one transaction. Returns the events applied (0: nothing
    /// finished is waiting). `crashBeforeCommit` (tests) applies the batch and then fails before
    /// moving the checkpoint, as a crash would: the transaction rolls back.
    @discardableResult
    static func step(_ db: CatalogDatabase, limit: Int = ProjectorLeader.batch, crashBeforeCommit: Bool = false) throws -> Int {
        let c = db.conn
        let horizon = try db.horizon()
        return try c.transaction {
            // Looked at without a lock first: an idle poll writes nothing.
            var at = try checkpoint(c, lock: false) ?? ("0", 0)
            var batch = try read(c, after: at, below: horizon, limit: limit)
            if batch.isEmpty { return 0 }
            // The checkpoint row, locked to the commit: another projector's batch waits for this
            // one, then sees the checkpoint moved and reads after it.
            var locked = try checkpoint(c, lock: true)
            if locked == nil {
                try c.exec("INSERT INTO projector_checkpoints (name, txid, event_id) VALUES ($1, '0', 0) ON CONFLICT (name) DO NOTHING", [name])
                locked = try checkpoint(c, lock: true)
            }
            guard let now = locked else { throw CommerceError.internalError("co-purchase projector: no checkpoint row") }
            if now.txid != at.txid || now.id != at.id {
                at = now
                batch = try read(c, after: at, below: horizon, limit: limit)
                if batch.isEmpty { return 0 }
            }
            try apply(c, batch)
            if crashBeforeCommit { throw CommerceError.internalError("co-purchase projector: simulated crash before commit") }
            let last = batch[batch.count - 1]
            try c.exec("UPDATE projector_checkpoints SET txid = $2::xid8, event_id = $3::bigint, updated_at = now() WHERE name = $1",
                       [name, last.txid, String(last.id)])
            return batch.count
        }
    }

    /// Applies every finished order not yet counted. Returns the orders applied, or nil when
    /// another process is the leader (it will apply them).
    public func catchUp() throws -> Int? {
        try ProjectorLeader.catchUp(url: url, lock: Self.leaderLock) { try Self.step($0) }
    }

    /// Runs until `stop` is set: becomes the leader when it can, applies batches as order events
    /// are notified (and every 100 ms anyway: an order waits for the transactions older than it),
    /// and reconnects after a lost connection.
    public func run(stop: borrowing Atomic<Bool>, log: @Sendable (String) -> Void = { _ in }) {
        ProjectorLeader.run(url: url, lock: Self.leaderLock, name: "co-purchase projector", stop: stop, log: log) { try Self.step($0) }
    }

    /// The products most often bought with `productId` (most orders first, then by id bytes), with the
    /// share of its orders that bought each. The product itself is never listed; stock is not
    /// looked at (the caller filters). Empty for a product never ordered.
    public func boughtTogether(productId: String, limit: Int) throws -> [BoughtTogether] {
        guard !productId.isEmpty, productId.utf8.count <= AnalyticsEvent.maxText else {
            throw CommerceError.invalid("product id must have 1 to \(AnalyticsEvent.maxText) bytes")
        }
        guard (1...Self.maxLimit).contains(limit) else { throw CommerceError.invalid("limit must be from 1 to \(Self.maxLimit), got \(limit)") }
        return try inStore(OrderStore.store) {
            try pool.withConnection { c in
                try c.exec("""
                    SELECT p.other_id, p.orders, t.orders FROM copurchase_pairs p JOIN copurchase_products t ON t.product_id = p.product_id
                    WHERE p.product_id = $1 ORDER BY p.orders DESC, p.other_id LIMIT $2::int
                    """, [productId, String(limit)]).rows.map { r in
                        let pair = r[1].flatMap { Int($0) } ?? 0, all = r[2].flatMap { Int($0) } ?? 0
                        return BoughtTogether(productId: r[0] ?? "", orders: pair, share: all == 0 ? 0 : Double(pair) / Double(all))
                    }
            }
        }
    }

    /// Orders counted for a product (0 when never ordered).
    public func orders(productId: String) throws -> Int {
        try inStore(OrderStore.store) {
            try pool.withConnection { c in
                Int(try c.exec("SELECT orders FROM copurchase_products WHERE product_id = $1", [productId]).rows.first?[0] ?? "0") ?? 0
            }
        }
    }
}
