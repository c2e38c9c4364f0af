import AisleCatalog
import Foundation
import Synchronization

/// Keeps the read model `order_summaries` from the order events (CQRS). It reads events after its
/// checkpoint in commit-safe order, (txid, id), and only from transactions below the horizon (the
/// oldest still running), so no event can later appear behind the checkpoint. Each batch is applied
/// and the checkpoint moved in one transaction; events already committed above the horizon are
/// applied in the same transaction without moving the checkpoint (so one slow transaction does
/// not delay every order after it). Applying is idempotent (an `OrderPlaced` inserts only
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

    /// Applies a batch of events (in log order) to `table`, the live read model or a rebuild's
    /// fresh one, in three statements whatever the batch's size (a round trip per event would make
    /// the projector fall behind on a busy machine). Idempotent, exactly like applying one event at
    /// a time: an `OrderPlaced` inserts only a missing row; a change applies only to the version
    /// just before it (what the table holds, or what this batch made it).
    static func apply(_ c: PGConnection, _ batch: [Delivered], table: String) throws {
        guard !batch.isEmpty else { return }
        struct Row {
            var customer: Int64, status: String, version: Int, currency: String, total: String
            var items: Int, lines: Int, title: String, placed: String, updated: String
        }
        var stored: [Int64: Int] = [:]
        let ids = Array(Set(batch.map(\.orderId)))
        for r in try c.exec("SELECT order_id, version FROM \(table) WHERE order_id = ANY($1::bigint[])",
                            [CatalogDatabase.arrayLiteral(ids.map(String.init))]).rows {
            if let id = r[0].flatMap(Int64.init), let v = r[1].flatMap(Int.init) { stored[id] = v }
        }
        var inserts: [Int64: Row] = [:], insertOrder: [Int64] = []
        var updates: [Int64: (status: String, version: Int, at: String)] = [:], updateOrder: [Int64] = []
        for e in batch {
            if e.type == .placed {
                guard stored[e.orderId] == nil, inserts[e.orderId] == nil,
                      case .placed(let p) = try OrderEventData.decode(.placed, json: e.data) else { continue }
                inserts[e.orderId] = Row(customer: p.customerId, status: OrderStatus.pending.rawValue, version: 1, currency: p.currency,
                                         total: p.total.formatted(minScale: 0), items: p.lines.reduce(0) { $0 + $1.quantity },
                                         lines: p.lines.count, title: p.lines.first?.title ?? "", placed: e.occurredAt, updated: e.occurredAt)
                insertOrder.append(e.orderId)
                continue
            }
            guard let t = OrderTransition.allCases.first(where: { $0.rule.event == e.type }) else { continue }
            if var row = inserts[e.orderId] {
                guard e.version == row.version + 1 else { continue }
                row.status = t.rule.to.rawValue
                row.version = e.version
                row.updated = e.occurredAt
                inserts[e.orderId] = row
            } else if let v = updates[e.orderId]?.version ?? stored[e.orderId], e.version == v + 1 {
                if updates[e.orderId] == nil { updateOrder.append(e.orderId) }
                updates[e.orderId] = (t.rule.to.rawValue, e.version, e.occurredAt)
            }
        }
        if !insertOrder.isEmpty {
            let rows = insertOrder.map { ($0, inserts[$0]!) }
            try c.exec("""
                INSERT INTO \(table) (order_id, customer_id, status, version, currency, total, item_count, line_count, first_title, placed_at, updated_at)
                SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::text[], $6::numeric[], $7::int[], $8::int[],
                                     $9::text[], $10::timestamptz[], $11::timestamptz[])
                ON CONFLICT (order_id) DO NOTHING
                """, [CatalogDatabase.arrayLiteral(rows.map { String($0.0) }), CatalogDatabase.arrayLiteral(rows.map { String($0.1.customer) }),
                      CatalogDatabase.arrayLiteral(rows.map { $0.1.status }), CatalogDatabase.arrayLiteral(rows.map { String($0.1.version) }),
                      CatalogDatabase.arrayLiteral(rows.map { $0.1.currency }), CatalogDatabase.arrayLiteral(rows.map { $0.1.total }),
                      CatalogDatabase.arrayLiteral(rows.map { String($0.1.items) }), CatalogDatabase.arrayLiteral(rows.map { String($0.1.lines) }),
                      CatalogDatabase.arrayLiteral(rows.map { $0.1.title }), CatalogDatabase.arrayLiteral(rows.map { $0.1.placed }),
                      CatalogDatabase.arrayLiteral(rows.map { $0.1.updated })])
        }
        if !updateOrder.isEmpty {
            let rows = updateOrder.map { ($0, updates[$0]!) }
            try c.exec("""
                UPDATE \(table) s SET status = u.status, version = u.version, updated_at = u.at
                FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[]) AS u(id, status, version, at)
                WHERE s.order_id = u.id AND s.version < u.version
                """, [CatalogDatabase.arrayLiteral(rows.map { String($0.0) }), CatalogDatabase.arrayLiteral(rows.map { $0.1.status }),
                      CatalogDatabase.arrayLiteral(rows.map { String($0.1.version) }), CatalogDatabase.arrayLiteral(rows.map { $0.1.at })])
        }
    }

    static func read(_ c: PGConnection, after: (txid: String, id: Int64), below horizon: String?, limit: Int) throws -> [Delivered] {
        try c.exec("""
            SELECT id, txid::text, aggregate_id, event_type, data::text, version, occurred_at::text FROM order_events
            WHERE aggregate_type = 'order' AND (txid, id) > ($1::xid8, $2::bigint) AND ($3::xid8 IS NULL OR txid < $3::xid8)
            ORDER BY order_events.txid, id LIMIT $4::int
            """, [after.txid, String(after.id), horizon, String(limit)]).rows.map(delivered)
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
    static func step(_ db: CatalogDatabase, limit: Int = ProjectorLeader.batch, crashAfter: Int? = nil) throws -> Int {
        let c = db.conn
        let horizon = try db.horizon()
        return try c.transaction {
            let at = try checkpoint(c)
            let batch = try read(c, after: at, below: horizon, limit: limit)
            if let crashAfter, crashAfter < batch.count {
                try apply(c, Array(batch.prefix(crashAfter)), table: "order_summaries")
                throw CommerceError.internalError("projector: simulated crash after \(crashAfter) events")
            }
            if let last = batch.last {
                try apply(c, batch, table: "order_summaries")
                try c.exec("""
                    INSERT INTO projector_checkpoints (name, txid, event_id) VALUES ($1, $2::xid8, $3)
                    ON CONFLICT (name) DO UPDATE SET txid = EXCLUDED.txid, event_id = EXCLUDED.event_id, updated_at = now()
                    """, [name, last.txid, String(last.id)])
            }
            // Events already committed by transactions at or above the horizon are applied too,
            // without moving the checkpoint past the horizon: an order's events are applied in
            // version order whatever the other orders' transactions do (one slow transaction
            // elsewhere no longer holds back every order committed after it), and the checkpoint
            // still guarantees that none is ever skipped. They come again once below the horizon,
            // and applying is idempotent.
            if batch.count < limit {
                try apply(c, try read(c, from: horizon, limit: limit), table: "order_summaries")
            }
            return batch.count
        }
    }

    /// Committed events of transactions at or above `horizon` (in log order; some of those
    /// transactions may still be running, their events are not visible yet).
    static func read(_ c: PGConnection, from horizon: String, limit: Int) throws -> [Delivered] {
        try c.exec("""
            SELECT id, txid::text, aggregate_id, event_type, data::text, version, occurred_at::text FROM order_events
            WHERE aggregate_type = 'order' AND txid >= $1::xid8
            ORDER BY order_events.txid, id LIMIT $2::int
            """, [horizon, String(limit)]).rows.map(delivered)
    }

    static func delivered(_ r: [String?]) throws -> Delivered {
        guard let id = r[0].flatMap(Int64.init), let tx = r[1], let oid = r[2].flatMap(Int64.init), let type = r[3].flatMap(OrderEventType.init),
              let data = r[4], let v = r[5].flatMap(Int.init), let at = r[6] else {
            throw CommerceError.internalError("projector: an unreadable order_events row")
        }
        return Delivered(id: id, txid: tx, orderId: oid, type: type, data: data, version: v, occurredAt: at)
    }

    /// Applies every finished event not yet applied (when no other projector is the leader).
    /// Returns nil when another process holds the leader lock.
    public func catchUp() throws -> Int? {
        try ProjectorLeader.catchUp(url: url, lock: Self.leaderLock) { try Self.step($0) }
    }

    /// Runs until `stop` is set: becomes the leader when it can, applies batches as events are
    /// notified (and every 100 ms anyway, for events that were below the horizon's reach), and
    /// reconnects after a lost connection.
    public func run(stop: borrowing Atomic<Bool>, log: @Sendable (String) -> Void = { _ in }) {
        ProjectorLeader.run(url: url, lock: Self.leaderLock, name: "order projector", stop: stop, log: log) { try Self.step($0) }
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
        /// Events after the live projector's checkpoint; their orders are not compared.
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
                    try Self.apply(c, batch, table: "order_summaries_rebuild")
                    events += batch.count
                    progress(events)
                    at = (last.txid, last.id)
                }
                let cols = "order_id, customer_id, status, version, currency, total, item_count, line_count, first_title, placed_at, updated_at"
                // Orders with events after the checkpoint are not compared: the live projector may
                // already have applied some of those (it applies committed events ahead of the
                // horizon) or not yet. Every other order must be identical.
                let diff = try c.exec("""
                    SELECT order_id FROM ((SELECT \(cols) FROM order_summaries EXCEPT SELECT \(cols) FROM order_summaries_rebuild)
                                          UNION ALL
                                          (SELECT \(cols) FROM order_summaries_rebuild EXCEPT SELECT \(cols) FROM order_summaries)) d
                    WHERE order_id NOT IN (SELECT aggregate_id FROM order_events WHERE (txid, id) > ($1::xid8, $2::bigint))
                    GROUP BY order_id ORDER BY order_id
                    """, [end.txid, String(end.id)]).rows.compactMap { $0[0].flatMap(Int64.init) }
                let orders = Int(try c.exec("SELECT count(*) FROM order_summaries_rebuild")[0, 0] ?? "0") ?? 0
                let pending = Int(try c.exec("SELECT count(*) FROM order_events WHERE (txid, id) > ($1::xid8, $2::bigint)",
                                             [end.txid, String(end.id)])[0, 0] ?? "0") ?? 0
                return RebuildReport(events: events, orders: orders, differences: Array(diff.prefix(20)), differenceCount: diff.count,
                                     pending: pending, caughtUp: caught)
            }
        }
    }
}

/// The leadership and the loop shared by the projectors of the order events (the order summaries,
/// the co-purchases): a session advisory lock elects one process; the leader applies batches of at
/// most `batch` events, at once while batches come full, else as events are notified (and every
/// 100 ms); a lost connection is retried every second, reported once.
enum ProjectorLeader {
    static let batch = 500

    /// Every batch now, on a connection of its own; nil when another process holds `lock`.
    static func catchUp(url: String, lock: String, step: (CatalogDatabase) throws -> Int) throws -> Int? {
        try inStore(OrderStore.store) {
            let db = try CatalogDatabase(url: url, migrate: false)
            guard try db.conn.exec("SELECT pg_try_advisory_lock($1::bigint)", [lock])[0, 0] == "t" else { return nil }
            defer { _ = try? db.conn.exec("SELECT pg_advisory_unlock($1::bigint)", [lock]) }
            var total = 0
            while true {
                let n = try step(db)
                total += n
                if n == 0 { return total }
            }
        }
    }

    static func run(url: String, lock: String, name: String, stop: borrowing Atomic<Bool>, log: @Sendable (String) -> Void,
                    step: (CatalogDatabase) throws -> Int) {
        var reported = false
        while !stop.load(ordering: .relaxed) {
            do {
                let db = try CatalogDatabase(url: url, migrate: false)
                try db.conn.listen(OrderSchema.notifyChannel)
                while !stop.load(ordering: .relaxed) {
                    if try db.conn.exec("SELECT pg_try_advisory_lock($1::bigint)", [lock])[0, 0] == "t" { break }
                    _ = try db.conn.waitForNotifications(timeout: 1)
                }
                reported = false
                while !stop.load(ordering: .relaxed) {
                    if try step(db) == batch { continue }
                    _ = try db.conn.waitForNotifications(timeout: 0.1)
                }
            } catch {
                if !reported { log("\(name): \(error); retrying every second") }
                reported = true
                for _ in 0..<10 where !stop.load(ordering: .relaxed) { usleep(100_000) }
            }
        }
    }
}
