import AisleCatalog
import Foundation
import Synchronization

/// Keeps the read model `order_summaries` from the order events (CQRS). It reads events after its
/// checkpoint in commit-safe order, (txid, id), and only from transactions below the horizon (the
/// oldest still running), so no event can later appear behind the checkpoint. Each batch is applied
/// and the checkpoint moved in one transaction. Applying is idempotent (an `OrderPlaced` inserts only
/// when the row is missing, a change applies only to the version just before it), so delivering an
/// event twice changes nothing: the projector is at-least-once and resumes from its checkpoint.
/// One projector writes at a time (a session advisory lock elects it among servers).
public final class OrderProjector: Sendable {
    public let url: String
    public static let name = "order_summaries"
    static let leaderLock = "7206410402"
    static let summaryColumns = """
        order_id, customer_id, status, version, currency, total::text, item_count, line_count, first_title,
        extract(epoch from placed_at)::numeric::text, extract(epoch from updated_at)::numeric::text
        """

    public init(url: String) { self.url = url }

    /// One event as the projector reads it.
    struct Delivered {
        var id: Int64
        var txid: String
        var orderId: Int64
        var type: OrderEventType
        var data: String
        var version: Int
        var occurredAt: String
    }

    /// Applies one event to `table` (the live read model or a rebuild's fresh one). Idempotent.
    static func apply(_ c: PGConnection, _ e: Delivered, table: String) throws {
        if e.type == .placed {
            guard case .placed(let p) = try OrderEventData.decode(.placed, json: e.data) else { return }
            try c.exec("""
                INSERT INTO \(table) (order_id, customer_id, status, version, currency, total, item_count, line_count, first_title, placed_at, updated_at)
                VALUES ($1, $2, 'pending', 1, $3, $4::numeric, $5, $6, $7, $8::timestamptz, $8::timestamptz)
                ON CONFLICT (order_id) DO NOTHING
                """, [String(e.orderId), String(p.customerId), p.currency, p.total.formatted(minScale: 0),
                      String(p.lines.reduce(0) { $0 + $1.quantity }), String(p.lines.count), p.lines.first?.title ?? "", e.occurredAt])
        } else {
            guard let t = OrderTransition.allCases.first(where: { $0.rule.event == e.type }) else { return }
            try c.exec("UPDATE \(table) SET status = $2, version = $3, updated_at = $4::timestamptz WHERE order_id = $1 AND version = $3 - 1",
                       [String(e.orderId), t.rule.to.rawValue, String(e.version), e.occurredAt])
        }
    }

    static func read(_ c: PGConnection, after: (txid: String, id: Int64), below horizon: String?, limit: Int) throws -> [Delivered] {
        try c.exec("""
            SELECT id, txid::text, aggregate_id, event_type, data::text, version, occurred_at::text FROM order_events
            WHERE aggregate_type = 'order' AND (txid, id) > ($1::xid8, $2::bigint) AND ($3::xid8 IS NULL OR txid < $3::xid8)
            ORDER BY order_events.txid, id LIMIT $4::int
            """, [after.txid, String(after.id), horizon, String(limit)]).rows.map { r in
            guard let id = r[0].flatMap(Int64.init), let tx = r[1], let oid = r[2].flatMap(Int64.init), let type = r[3].flatMap(OrderEventType.init),
                  let data = r[4], let v = r[5].flatMap(Int.init), let at = r[6] else {
                throw CommerceError.internalError("projector: an unreadable order_events row")
            }
            return Delivered(id: id, txid: tx, orderId: oid, type: type, data: data, version: v, occurredAt: at)
        }
    }

    static func checkpoint(_ c: PGConnection) throws -> (txid: String, id: Int64) {
        let r = try c.exec("SELECT txid::text, event_id FROM projector_checkpoints WHERE name = $1", [name])
        guard let tx = r.rows.first?[0], let id = r.rows.first?[1].flatMap(Int64.init) else { return ("0", 0) }
        return (tx, id)
    }

    /// One batch: events after the checkpoint and below the horizon, applied, checkpoint moved, in
    /// one transaction. `stopAfter` (tests) applies only that many and then fails before committing
    /// the checkpoint, as a crash between events would. Returns the events applied.
    @discardableResult
    static func step(_ db: CatalogDatabase, limit: Int = 500, crashAfter: Int? = nil) throws -> Int {
        let c = db.conn
        let horizon = try db.horizon()
        return try c.transaction {
            let at = try checkpoint(c)
            let batch = try read(c, after: at, below: horizon, limit: limit)
            guard let last = batch.last else { return 0 }
            for (i, e) in batch.enumerated() {
                if let crashAfter, i == crashAfter { throw CommerceError.internalError("projector: simulated crash after \(i) events") }
                try apply(c, e, table: "order_summaries")
            }
            try c.exec("""
                INSERT INTO projector_checkpoints (name, txid, event_id) VALUES ($1, $2::xid8, $3)
                ON CONFLICT (name) DO UPDATE SET txid = EXCLUDED.txid, event_id = EXCLUDED.event_id, updated_at = now()
                """, [name, last.txid, String(last.id)])
            return batch.count
        }
    }

    /// Applies every finished event not yet applied (when no other projector is the leader).
    /// Returns nil when another process holds the leader lock.
    public func catchUp() throws -> Int? {
        try inStore(OrderStore.store) {
            let db = try CatalogDatabase(url: url, migrate: false)
            guard try db.conn.exec("SELECT pg_try_advisory_lock($1::bigint)", [Self.leaderLock])[0, 0] == "t" else { return nil }
            defer { _ = try? db.conn.exec("SELECT pg_advisory_unlock($1::bigint)", [Self.leaderLock]) }
            var total = 0
            while true {
                let n = try Self.step(db)
                total += n
                if n == 0 { return total }
            }
        }
    }

    /// Runs until `stop` is set: becomes the leader when it can, applies batches as events are
    /// notified (and every 100 ms anyway, for events that were below the horizon's reach), and
    /// reconnects after a lost connection.
    public func run(stop: borrowing Atomic<Bool>, log: @Sendable (String) -> Void = { _ in }) {
        var reported = false
        while !stop.load(ordering: .relaxed) {
            do {
                let db = try CatalogDatabase(url: url, migrate: false)
                try db.conn.listen(OrderSchema.notifyChannel)
                while !stop.load(ordering: .relaxed) {
                    if try db.conn.exec("SELECT pg_try_advisory_lock($1::bigint)", [Self.leaderLock])[0, 0] == "t" { break }
                    _ = try db.conn.waitForNotifications(timeout: 1)
                }
                reported = false
                while !stop.load(ordering: .relaxed) {
                    if try Self.step(db) == 500 { continue }
                    _ = try db.conn.waitForNotifications(timeout: 0.1)
                }
            } catch {
                if !reported { log("order projector: \(error); retrying every second") }
                reported = true
                for _ in 0..<10 where !stop.load(ordering: .relaxed) { usleep(100_000) }
            }
        }
    }

    static func summary(_ r: [String?]) throws -> OrderSummary {
        guard let id = r[0].flatMap(Int64.init), let cid = r[1].flatMap(Int64.init), let st = r[2].flatMap(OrderStatus.init),
              let v = r[3].flatMap(Int.init), let cur = r[4], let total = r[5].flatMap(Money.init), let items = r[6].flatMap(Int.init),
              let lines = r[7].flatMap(Int.init), let title = r[8], let placed = OrderStore.date(r[9]), let updated = OrderStore.date(r[10]) else {
            throw CommerceError.internalError("order store: an unreadable order_summaries row")
        }
        return OrderSummary(orderId: id, customerId: cid, status: st, version: v, currency: cur, total: total, itemCount: items,
                            lineCount: lines, firstTitle: title, placedAt: placed, updatedAt: updated)
    }

    /// What `aisle orders rebuild` found.
    public struct RebuildReport: Sendable {
        public var events: Int
        public var orders: Int
        /// Order ids whose live row differs from the rebuilt one (or exists on one side only), at most 20.
        public var differences: [Int64]
        public var differenceCount: Int
        /// Events not yet applied by the live projector (after its checkpoint), not compared.
        public var pending: Int
        /// Applied by this run's catch-up before comparing (nil: another projector is running).
        public var caughtUp: Int?
    }

    /// Replays every event up to the live checkpoint into a fresh table, with the projector's own
    /// apply, and compares it row by row with the live read model, in one REPEATABLE READ snapshot
    /// (the checkpoint and the live rows move together, so they agree with each other there).
    public func rebuild(progress: (Int) -> Void = { _ in }) throws -> RebuildReport {
        let caught = try catchUp()
        return try inStore(OrderStore.store) {
            let db = try CatalogDatabase(url: url, migrate: false)
            let c = db.conn
            return try c.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ") {
                try c.exec("CREATE TEMP TABLE order_summaries_rebuild (LIKE order_summaries INCLUDING ALL) ON COMMIT DROP")
                let end = try Self.checkpoint(c)
                var at: (txid: String, id: Int64) = ("0", 0)
                var events = 0
                while true {
                    let batch = try Self.read(c, after: at, below: nil, limit: 5000).filter {
                        (UInt64($0.txid) ?? 0, $0.id) <= (UInt64(end.txid) ?? 0, end.id)
                    }
                    guard let last = batch.last else { break }
                    for e in batch { try Self.apply(c, e, table: "order_summaries_rebuild") }
                    events += batch.count
                    progress(events)
                    at = (last.txid, last.id)
                }
                let cols = "order_id, customer_id, status, version, currency, total, item_count, line_count, first_title, placed_at, updated_at"
                let diff = try c.exec("""
                    SELECT order_id FROM ((SELECT \(cols) FROM order_summaries EXCEPT SELECT \(cols) FROM order_summaries_rebuild)
                                          UNION ALL
                                          (SELECT \(cols) FROM order_summaries_rebuild EXCEPT SELECT \(cols) FROM order_summaries)) d
                    GROUP BY order_id ORDER BY order_id
                    """).rows.compactMap { $0[0].flatMap(Int64.init) }
                let orders = Int(try c.exec("SELECT count(*) FROM order_summaries_rebuild")[0, 0] ?? "0") ?? 0
                let pending = Int(try c.exec("SELECT count(*) FROM order_events WHERE (txid, id) > ($1::xid8, $2::bigint)",
                                             [end.txid, String(end.id)])[0, 0] ?? "0") ?? 0
                return RebuildReport(events: events, orders: orders, differences: Array(diff.prefix(20)), differenceCount: diff.count,
                                     pending: pending, caughtUp: caught)
            }
        }
    }
}
