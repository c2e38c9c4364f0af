import Foundation

/// A position in the change log: the last change consumed, in (transaction id, change id) order.
/// Everything at or before it has been applied; a reader continues strictly after it.
public struct ChangePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var txid: UInt64
    public var id: Int64

    public init(txid: UInt64, id: Int64) {
        self.txid = txid
        self.id = id
    }

    public static let start = ChangePosition(txid: 0, id: 0)

    public static func < (a: ChangePosition, b: ChangePosition) -> Bool { (a.txid, a.id) < (b.txid, b.id) }
    public var description: String { "\(txid)/\(id)" }

    /// Keys of an index commit's user data.
    public static let txidKey = "catalog.txid"
    public static let idKey = "catalog.change_id"

    public var userData: [String: String] { [Self.txidKey: String(txid), Self.idKey: String(id)] }

    public init?(userData: [String: String]) {
        guard let t = userData[Self.txidKey].flatMap(UInt64.init), let i = userData[Self.idKey].flatMap(Int64.init) else { return nil }
        self.init(txid: t, id: i)
    }
}

/// One row of the change log.
public struct CatalogChange: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case insert, update, delete
        /// Only price, rating or review_count changed.
        case price
        /// Inventory (available / reserved) changed.
        case stock
    }
    public var position: ChangePosition
    public var productId: String
    public var kind: Kind
}

/// The catalog in PostgreSQL: migrations, batch loading, streaming products with a server-side
/// cursor, and the change log. One connection; one thread at a time.
public final class CatalogDatabase: @unchecked Sendable {
    public let conn: PGConnection

    /// Connects and (by default) applies pending migrations.
    public init(url: String, migrate: Bool = true) throws {
        conn = try PGConnection(url: url)
        if migrate { try self.migrate() }
    }

    /// `--database`, else `DATABASE_URL`.
    public static func url(_ given: String?) -> String? {
        if let given, !given.isEmpty { return given }
        if let e = ProcessInfo.processInfo.environment["DATABASE_URL"], !e.isEmpty { return e }
        return nil
    }

    // MARK: - Migrations

    /// Applies the migrations not yet applied; returns their versions. Safe to run concurrently
    /// (an advisory lock serialises migrators) and repeatedly.
    @discardableResult
    public func migrate() throws -> [Int] {
        try conn.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        try conn.exec("SELECT pg_advisory_lock($1::bigint)", ["7206410201"])
        defer { _ = try? conn.exec("SELECT pg_advisory_unlock($1::bigint)", ["7206410201"]) }
        let done = Set(try conn.exec("SELECT version FROM schema_migrations").rows.compactMap { $0[0].flatMap(Int.init) })
        var applied: [Int] = []
        for m in CatalogMigrations.all where !done.contains(m.version) {
            do {
                try conn.transaction {
                    try conn.execScript(m.sql)
                    try conn.exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [String(m.version), m.name])
                }
            } catch {
                throw CatalogError.database(message: "migration \(m.version) (\(m.name)) failed: \(error)", sqlstate: (error as? CatalogError)?.sqlstate)
            }
            applied.append(m.version)
        }
        return applied
    }

    public func schemaVersion() throws -> Int {
        Int(try conn.exec("SELECT coalesce(max(version), 0) FROM schema_migrations")[0, 0] ?? "0") ?? 0
    }

    // MARK: - Loading

    private var stageReady = false

    /// Inserts or updates a batch of products with their inventory, in the caller's transaction:
    /// COPY into a temporary staging table, then categories (level by level), brands, products
    /// and inventory with `INSERT … ON CONFLICT`. Rows equal to what is stored are not touched
    /// (so reloading the same file writes no change-log rows). Ids must be unique in the batch.
    public func upsert(products: [ProductRecord]) throws {
        if !stageReady {
            try conn.exec("""
            CREATE TEMP TABLE IF NOT EXISTS aisle_stage (id text, sku text, title text, description text, brand text,
                category_path text, depth integer, price numeric, list_price numeric, currency text, rating numeric,
                review_count integer, status text, available integer, reserved integer)
            """)
            stageReady = true
        }
        try conn.exec("TRUNCATE aisle_stage")
        var buf = CopyBuffer()
        var maxDepth = 0
        for p in products {
            buf.field(p.id)
            buf.field(p.sku)
            buf.field(p.title)
            buf.field(p.description)
            buf.field(p.brand)
            buf.field(p.category.isEmpty ? nil : p.categoryPath)
            buf.field(String(p.category.count))
            buf.field(p.price)
            buf.field(p.listPrice)
            buf.field(p.currency)
            buf.field(p.rating)
            buf.field(String(p.reviewCount))
            buf.field(p.status)
            buf.field(String(p.available))
            buf.field(String(p.reserved), last: true)
            maxDepth = max(maxDepth, p.category.count)
        }
        try conn.copyIn("COPY aisle_stage FROM STDIN", data: buf.bytes)
        if maxDepth > 0 {
            for d in 1...maxDepth {
                try conn.exec("""
                INSERT INTO categories (path, name, parent_id, depth)
                SELECT x.path, x.name, parent.id, $1::int
                FROM (SELECT DISTINCT array_to_string(lv[1:$1::int], ' > ') AS path, lv[$1::int] AS name,
                             array_to_string(lv[1:$1::int - 1], ' > ') AS ppath
                      FROM (SELECT string_to_array(category_path, ' > ') AS lv FROM aisle_stage WHERE depth >= $1::int) s) x
                LEFT JOIN categories parent ON $1::int > 1 AND parent.path = x.ppath
                ORDER BY x.path
                ON CONFLICT (path) DO NOTHING
                """, [String(d)])
            }
        }
        try conn.exec("INSERT INTO brands (name) SELECT DISTINCT brand FROM aisle_stage WHERE brand IS NOT NULL ORDER BY 1 ON CONFLICT (name) DO NOTHING")
        try conn.exec("""
        INSERT INTO products AS p (id, sku, title, description, brand_id, category_id, price, list_price, currency, rating, review_count, status)
        SELECT s.id, s.sku, s.title, s.description, b.id, c.id, s.price, s.list_price, s.currency, s.rating, s.review_count, s.status
        FROM aisle_stage s LEFT JOIN brands b ON b.name = s.brand LEFT JOIN categories c ON c.path = s.category_path
        ORDER BY s.id
        ON CONFLICT (id) DO UPDATE SET sku = EXCLUDED.sku, title = EXCLUDED.title, description = EXCLUDED.description,
            brand_id = EXCLUDED.brand_id, category_id = EXCLUDED.category_id, price = EXCLUDED.price,
            list_price = EXCLUDED.list_price, currency = EXCLUDED.currency, rating = EXCLUDED.rating,
            review_count = EXCLUDED.review_count, status = EXCLUDED.status
        WHERE (p.sku, p.title, p.description, p.brand_id, p.category_id, p.price, p.list_price, p.currency, p.rating,
               p.review_count, p.status)
              IS DISTINCT FROM
              (EXCLUDED.sku, EXCLUDED.title, EXCLUDED.description, EXCLUDED.brand_id, EXCLUDED.category_id, EXCLUDED.price,
               EXCLUDED.list_price, EXCLUDED.currency, EXCLUDED.rating, EXCLUDED.review_count, EXCLUDED.status)
        """)
        try conn.exec("""
        INSERT INTO inventory AS i (product_id, available, reserved)
        SELECT id, available, reserved FROM aisle_stage ORDER BY id
        ON CONFLICT (product_id) DO UPDATE SET available = EXCLUDED.available, reserved = EXCLUDED.reserved, updated_at = now()
        WHERE (i.available, i.reserved) IS DISTINCT FROM (EXCLUDED.available, EXCLUDED.reserved)
        """)
    }

    // MARK: - Reading products

    static let productSelect = """
    SELECT p.id, p.sku, p.title, p.description, b.name, c.path, p.price, p.list_price, p.currency, p.rating,
           p.review_count, p.status, coalesce(i.available, 0), coalesce(i.reserved, 0)
    FROM products p LEFT JOIN brands b ON b.id = p.brand_id LEFT JOIN categories c ON c.id = p.category_id
    LEFT JOIN inventory i ON i.product_id = p.id
    """

    static func product(_ v: PGResultView, _ r: Int) -> ProductRecord {
        let path = v.string(r, 5)
        return ProductRecord(id: v.string(r, 0) ?? "", sku: v.string(r, 1), title: v.string(r, 2) ?? "",
                             description: v.string(r, 3) ?? "", brand: v.string(r, 4),
                             category: path.map { $0.components(separatedBy: ProductRecord.categorySeparator) } ?? [],
                             price: v.string(r, 6) ?? "0", listPrice: v.string(r, 7), currency: v.string(r, 8) ?? "USD",
                             rating: v.string(r, 9), reviewCount: v.int(r, 10) ?? 0, status: v.string(r, 11) ?? "active",
                             available: v.int(r, 12) ?? 0, reserved: v.int(r, 13) ?? 0)
    }

    /// The current rows of these products (any status); missing ids are absent from the answer.
    public func products(ids: [String]) throws -> [ProductRecord] {
        guard !ids.isEmpty else { return [] }
        return try conn.withResult(Self.productSelect + " WHERE p.id = ANY($1::text[])", [Self.arrayLiteral(ids)]) { v in
            (0..<v.rowCount).map { Self.product(v, $0) }
        }
    }

    public func product(id: String) throws -> ProductRecord? { try products(ids: [id]).first }

    /// What a full rebuild reads: the active products in id order through a server-side cursor
    /// (`DECLARE … CURSOR` / `FETCH batchSize`), in one REPEATABLE READ READ ONLY transaction.
    /// `start` gets the position the rows are consistent with (every change not in this snapshot
    /// comes after it in the change log) and the number of rows; `batch` gets the rows in order.
    public func streamProducts(batchSize: Int = 2000, start: (ChangePosition, Int) throws -> Void,
                               batch: ([ProductRecord]) throws -> Void) throws {
        try conn.transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") {
            let head = try conn.exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text, (SELECT count(*) FROM products WHERE status = 'active')")
            let xmin = UInt64(head[0, 0] ?? "0") ?? 0
            // Rows of transactions from xmin on may be missing from this snapshot: replay them all.
            try start(ChangePosition(txid: xmin, id: 0), Int(head[0, 1] ?? "0") ?? 0)
            try conn.exec("DECLARE aisle_products NO SCROLL CURSOR FOR " + Self.productSelect + " WHERE p.status = 'active' ORDER BY p.id")
            while true {
                let rows = try conn.withResult("FETCH \(max(1, batchSize)) FROM aisle_products") { v in
                    (0..<v.rowCount).map { Self.product(v, $0) }
                }
                if rows.isEmpty { break }
                try batch(rows)
            }
            try conn.exec("CLOSE aisle_products")
        }
    }

    public func productCount(activeOnly: Bool = false) throws -> Int {
        Int(try conn.exec("SELECT count(*) FROM products" + (activeOnly ? " WHERE status = 'active'" : ""))[0, 0] ?? "0") ?? 0
    }

    // MARK: - Changes (the catalog API used by tools, tests and benchmarks)

    public func setPrice(id: String, price: String) throws -> Bool {
        try conn.exec("UPDATE products SET price = $2::numeric WHERE id = $1", [id, price]).affected > 0
    }

    public func setStock(id: String, available: Int, reserved: Int? = nil) throws -> Bool {
        try conn.exec("UPDATE inventory SET available = $2::int, reserved = coalesce($3::int, reserved), updated_at = now() WHERE product_id = $1",
                      [id, String(available), reserved.map(String.init)]).affected > 0
    }

    public func setStatus(id: String, status: String) throws -> Bool {
        try conn.exec("UPDATE products SET status = $2 WHERE id = $1", [id, status]).affected > 0
    }

    public func delete(id: String) throws -> Bool {
        try conn.exec("DELETE FROM products WHERE id = $1", [id]).affected > 0
    }

    /// Records in the change log that these products' attribute documents changed (their
    /// `attributes_version` goes up; the trigger logs an update). Call after writing the documents.
    @discardableResult
    public func touchAttributes(ids: [String]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try conn.exec("UPDATE products SET attributes_version = attributes_version + 1 WHERE id = ANY($1::text[])",
                             [Self.arrayLiteral(ids)]).affected
    }

    // MARK: - The change log

    /// Up to `limit` changes after `position`, in log order, only from transactions that have all
    /// finished (below the oldest running one), so a later read can never find a change that
    /// belongs before the last one returned.
    public func changes(after position: ChangePosition, limit: Int = 5000) throws -> [CatalogChange] {
        try changeBatch(after: position, limit: limit, ahead: false).ready
    }

    /// What the follower reads in one go (one horizon for both): `ready`, as `changes(after:)`
    /// gives them (below the horizon: the position may move past them), and `ahead`, changes
    /// already committed by transactions at or above the horizon (at most `limit`). Applying
    /// `ahead` early is safe for a consumer that re-reads each product's current row; it must
    /// not move its position past the horizon for them.
    public struct ChangeBatch: Sendable {
        public var ready: [CatalogChange]
        public var ahead: [CatalogChange]
    }

    public func changeBatch(after position: ChangePosition, limit: Int = 5000, ahead: Bool = true) throws -> ChangeBatch {
        let horizon = try horizon()
        let ready = try readChanges("""
            SELECT id, txid::text, product_id, kind FROM catalog_changes
            WHERE (txid, id) > ($1::xid8, $2::bigint) AND txid < $3::xid8
            ORDER BY catalog_changes.txid, id LIMIT $4::int
            """, [String(position.txid), String(position.id), horizon, String(limit)])
        guard ahead, ready.count < limit else { return ChangeBatch(ready: ready, ahead: []) }
        return ChangeBatch(ready: ready, ahead: try readChanges("""
            SELECT id, txid::text, product_id, kind FROM catalog_changes
            WHERE txid >= $1::xid8 AND (txid, id) > ($2::xid8, $3::bigint)
            ORDER BY catalog_changes.txid, id LIMIT $4::int
            """, [horizon, String(position.txid), String(position.id), String(limit)]))
    }

    private func readChanges(_ sql: String, _ params: [String?]) throws -> [CatalogChange] {
        try conn.withResult(sql, params) { v in
            (0..<v.rowCount).compactMap { r in
                guard let id = v.string(r, 0).flatMap(Int64.init), let tx = v.string(r, 1).flatMap(UInt64.init),
                      let pid = v.string(r, 2), let kind = v.string(r, 3).flatMap(CatalogChange.Kind.init) else { return nil }
                return CatalogChange(position: ChangePosition(txid: tx, id: id), productId: pid, kind: kind)
            }
        }
    }

    private var seesEveryBackend: Bool?

    /// The oldest transaction id that may still add rows to the change log: the oldest running
    /// transaction of this database (transaction ids are cluster-wide, and one in another database
    /// cannot write here, so it must not hold the log back), else the snapshot's xmax. The snapshot
    /// is taken first, then the running transactions of this database are read: one that started
    /// in between has an id at or above the snapshot's xmax. Roles that cannot see other roles'
    /// backends (neither superuser nor pg_read_all_stats) use the cluster-wide xmin instead
    /// (correct too, only slower to move past unrelated long transactions).
    public func horizon() throws -> String {
        if seesEveryBackend == nil {
            seesEveryBackend = try conn.exec("SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')")[0, 0] == "t"
        }
        let snap = try conn.exec("SELECT pg_current_snapshot()::text")[0, 0] ?? "0:0:"
        guard seesEveryBackend == true else {
            return try conn.exec("SELECT pg_snapshot_xmin($1::pg_snapshot)::text", [snap])[0, 0] ?? "0"
        }
        return try conn.exec("""
            SELECT coalesce(min(x), pg_snapshot_xmax($1::pg_snapshot))::text
            FROM pg_snapshot_xip($1::pg_snapshot) AS x
            WHERE (x::text::numeric % 4294967296) IN (
                SELECT backend_xid::text::numeric FROM pg_stat_activity
                WHERE datname = current_database() AND backend_xid IS NOT NULL
                UNION ALL
                SELECT transaction::text::numeric FROM pg_prepared_xacts WHERE database = current_database())
            """, [snap])[0, 0] ?? "0"
    }

    /// The position after every finished change now in the log.
    public func latestPosition() throws -> ChangePosition {
        let horizon = try horizon()
        let r = try conn.exec("SELECT txid::text, id FROM catalog_changes WHERE txid < $1::xid8 ORDER BY catalog_changes.txid DESC, id DESC LIMIT 1", [horizon])
        guard r.count > 0, let t = r[0, 0].flatMap(UInt64.init), let i = r[0, 1].flatMap(Int64.init) else { return .start }
        return ChangePosition(txid: t, id: i)
    }

    /// Changes in the log after `position` (finished or not).
    public func pendingChanges(after position: ChangePosition) throws -> Int {
        Int(try conn.exec("SELECT count(*) FROM catalog_changes WHERE (txid, id) > ($1::xid8, $2::bigint)",
                          [String(position.txid), String(position.id)])[0, 0] ?? "0") ?? 0
    }

    /// Deletes change-log rows older than `days` days (positions stay valid: they are compared, not looked up).
    @discardableResult
    public func pruneChanges(olderThanDays days: Double) throws -> Int {
        try conn.exec("DELETE FROM catalog_changes WHERE changed_at < now() - make_interval(secs => $1::float8)",
                      [String(days * 86400)]).affected
    }

    /// Listens on the change log's NOTIFY channel.
    public func listen() throws { try conn.listen(CatalogMigrations.channel) }

    /// Waits until the change log is notified or `timeout` passes.
    @discardableResult
    public func waitForChanges(timeout: Double) throws -> Bool {
        !(try conn.waitForNotifications(timeout: timeout)).isEmpty
    }

    /// A PostgreSQL array literal (`{"a","b"}`) for a `$n::text[]` parameter.
    public static func arrayLiteral(_ values: [String]) -> String { arrayLiteral(values.map { Optional($0) }) }

    /// The same, with nil elements as NULL (`{"a",NULL}`).
    public static func arrayLiteral(_ values: [String?]) -> String {
        var s = "{"
        for (i, v) in values.enumerated() {
            if i > 0 { s += "," }
            guard let v else { s += "NULL"; continue }
            s += "\""
            for c in v.unicodeScalars {
                if c == "\"" || c == "\\" { s += "\\" }
                s.unicodeScalars.append(c)
            }
            s += "\""
        }
        return s + "}"
    }
}
