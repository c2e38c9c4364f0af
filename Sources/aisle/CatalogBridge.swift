import Foundation
import Synchronization
import AisleCatalog
import AisleEngine
import AisleIndex

// The composition of the catalog (PostgreSQL + attribute documents) with the index: corpus rows
// into catalog records, catalog records into index records (catalog JSON lines), and the change-log
// follower that keeps a live index equal to the catalog.

// MARK: - Corpus rows -> catalog records

/// Reads catalog corpora: the synth catalog JSONL (`../shared/corpora/synth`) and the BigBasket
/// product list (`../shared/corpora/bigbasket/products.jsonl`), told apart by their fields.
struct CorpusRowReader {
    enum Kind: String {
        case synth, bigbasket
    }

    let kind: Kind
    let defaultStock: Int
    private var tape = JSONTape()

    init(firstLine: String, defaultStock: Int) throws {
        self.defaultStock = defaultStock
        guard let v = try? JSONValue.parse(firstLine), v.objectValue != nil else {
            throw CatalogError.input("row 1: not a JSON object (the catalog corpus is JSON lines)")
        }
        if v["product"] != nil && v["sale_price"] != nil {
            kind = .bigbasket
        } else if v["title"] != nil && v["id"] != nil {
            kind = .synth
        } else {
            throw CatalogError.input("row 1: neither a catalog record (id, title, price, …) nor a BigBasket row (index, product, sale_price, …)")
        }
    }

    private func text(_ node: Int?, _ name: String, required: Bool = false) throws -> String? {
        guard let node, tape.kind(node) != .null else {
            if required { throw CatalogError.input("missing \(name)") }
            return nil
        }
        switch tape.kind(node) {
        case .string: return tape.string(node)
        case .number: return String(decoding: tape.rawBytes(node), as: UTF8.self)
        default: throw CatalogError.input("\(name) must be a string")
        }
    }

    /// A decimal as its exact JSON text.
    private func decimal(_ node: Int?, _ name: String, required: Bool = false) throws -> String? {
        guard let node, tape.kind(node) != .null else {
            if required { throw CatalogError.input("missing \(name)") }
            return nil
        }
        let s: String
        switch tape.kind(node) {
        case .number: s = String(decoding: tape.rawBytes(node), as: UTF8.self)
        case .string: s = tape.string(node).trimmingCharacters(in: .whitespaces)
        default: throw CatalogError.input("\(name) must be a number")
        }
        guard ProductRecord.isDecimal(s) else { throw CatalogError.input("\(name) must be a non-negative number, found \(s.prefix(40))") }
        return s
    }

    private func integer(_ node: Int?, _ name: String) throws -> Int? {
        guard let node, tape.kind(node) != .null else { return nil }
        guard tape.kind(node) == .number, let i = tape.integer(node) else { throw CatalogError.input("\(name) must be a whole number") }
        return i
    }

    private func attributeValue(_ n: Int) -> AttributeValue {
        switch tape.kind(n) {
        case .null: return .null
        case .bool: return .bool(tape.bool(n))
        case .string: return .string(tape.string(n))
        case .number:
            let raw = String(decoding: tape.rawBytes(n), as: UTF8.self)
            if let i = Int64(raw) { return .int(i) }
            return .double(tape.number(n))
        case .array: return .array(tape.elements(n).map { attributeValue($0) })
        case .object:
            var f: [AttributeField] = []
            tape.forEachMember(n) { k, v in f.append(AttributeField(tape.string(k), attributeValue(v))) }
            return .document(f)
        }
    }

    /// One row: its product and attribute document (nil when it has no attributes).
    mutating func read(_ line: UnsafeBufferPointer<UInt8>) throws -> (ProductRecord, AttributeDocument?) {
        do { try tape.parse(line) } catch { throw CatalogError.input(error.description) }
        let root = tape.root
        guard tape.kind(root) == .object else { throw CatalogError.input("a row must be a JSON object") }
        func m(_ k: String) -> Int? { tape.member(root, k) }
        var p: ProductRecord
        var attrs: [AttributeField]?
        switch kind {
        case .synth:
            var category: [String] = []
            if let c = m("category"), tape.kind(c) == .array {
                for e in tape.elements(c) {
                    guard tape.kind(e) == .string else { throw CatalogError.input("category must be a list of strings") }
                    category.append(tape.string(e))
                }
            } else if let path = try text(m("category_path"), "category_path") ?? text(m("category"), "category") {
                category = path.components(separatedBy: ProductRecord.categorySeparator)
            }
            let inStock: Bool
            if let s = m("in_stock"), tape.kind(s) != .null {
                guard tape.kind(s) == .bool else { throw CatalogError.input("in_stock must be true or false") }
                inStock = tape.bool(s)
            } else {
                inStock = true
            }
            let stock = try integer(m("stock"), "stock") ?? (inStock ? defaultStock : 0)
            p = ProductRecord(id: try text(m("id"), "id", required: true)!, sku: try text(m("sku"), "sku"),
                              title: try text(m("title"), "title", required: true)!,
                              description: try text(m("description"), "description") ?? "",
                              brand: try text(m("brand"), "brand"), category: category,
                              price: try decimal(m("price"), "price", required: true)!,
                              listPrice: try decimal(m("list_price"), "list_price"),
                              currency: try text(m("currency"), "currency") ?? "USD",
                              rating: try decimal(m("rating"), "rating"),
                              reviewCount: try integer(m("review_count"), "review_count") ?? 0,
                              status: try text(m("status"), "status") ?? "active",
                              available: stock, reserved: 0)
            if let a = m("attributes"), tape.kind(a) != .null {
                guard tape.kind(a) == .object else { throw CatalogError.input("attributes must be an object") }
                if case .document(let f) = attributeValue(a) { attrs = f }
            }
        case .bigbasket:
            let cat = [try text(m("category"), "category"), try text(m("sub_category"), "sub_category"), try text(m("type"), "type")]
                .compactMap { $0 }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            p = ProductRecord(id: try text(m("index"), "index", required: true)!,
                              title: try text(m("product"), "product", required: true)!,
                              description: try text(m("description"), "description") ?? "",
                              brand: try text(m("brand"), "brand").flatMap { $0.isEmpty ? nil : $0 }, category: cat,
                              price: try decimal(m("sale_price"), "sale_price", required: true)!,
                              listPrice: try decimal(m("market_price"), "market_price"), currency: "INR",
                              rating: try decimal(m("rating"), "rating"), reviewCount: 0, status: "active",
                              available: defaultStock, reserved: 0)
        }
        try p.validate()
        let doc = attrs.map { AttributeDocument(productId: p.id, category: p.category.isEmpty ? nil : p.categoryPath, attributes: $0) }
        return (p, doc)
    }
}

// MARK: - Catalog records -> index change lines

enum CatalogLines {
    /// `{"op":"upsert", …the product as a catalog record…}`
    static func upsert(_ p: ProductRecord, _ attrs: AttributeDocument?) -> String {
        let json = p.catalogJSON(attributesJSON: attrs?.attributesJSON)
        return "{\"op\":\"upsert\"," + json.dropFirst()
    }

    /// The numbers that change in place: price, rating, review_count, stock, in_stock.
    static func set(_ p: ProductRecord) -> String {
        var s = "{\"op\":\"set\",\"id\":"
        JSONText.string(p.id, into: &s)
        s += ",\"price\":" + p.price + ",\"rating\":" + (p.rating ?? "null") + ",\"review_count\":" + String(p.reviewCount)
        s += ",\"stock\":" + String(p.stock) + ",\"in_stock\":" + (p.inStock ? "true" : "false") + "}"
        return s
    }

    static func delete(_ id: String) -> String {
        var s = "{\"op\":\"delete\",\"id\":"
        JSONText.string(id, into: &s)
        return s + "}"
    }
}

// MARK: - Following the change log

/// Keeps the live index of a `ServingIndex` equal to the catalog: reads the change log after the
/// position stored in the index's last commit, re-reads each changed product's current row (and
/// attribute document) and applies it (an in-place `set` when only price, rating, review count or
/// stock changed; otherwise upsert, or delete when the product is gone or not active), then
/// commits the index together with the new position in the commit's user data. Re-reading the
/// current state makes each application idempotent and independent of order, so replaying after a
/// crash (at least once) converges to the catalog. LISTEN/NOTIFY wakes the loop; the log decides.
/// When a rebuild publishes a new generation, the position is taken from its commit (the rebuild's
/// snapshot), so changes made during the rebuild are replayed onto it.
final class CatalogSync: @unchecked Sendable {
    struct Options {
        var commitInterval: Double = 1.0
        var batch = 2000
        var idleWait = 0.5
    }

    struct Status {
        var position: ChangePosition?
        var committed: ChangePosition?
        var applied = 0
        var sets = 0
        var upserts = 0
        var deletes = 0
        /// Rows the index refused (a price out of range, too many attribute keys...): skipped and
        /// reported, never retried forever.
        var skipped = 0
        var lastSkipped: String?
        var lastError: String?
        var running = false
    }

    let url: String
    let attributeStore: AttributeStoreLoader
    let serving: ServingIndex
    let options: Options
    private let stopFlag = Atomic<Bool>(false)
    private let state = Mutex(Status())
    private var thread: Thread?
    private let log: (String) -> Void

    init(url: String, attributes: AttributeStoreLoader, serving: ServingIndex, options: Options = Options(),
         log: @escaping (String) -> Void = { stderr($0) }) {
        self.url = url
        self.attributeStore = attributes
        self.serving = serving
        self.options = options
        self.log = log
    }

    /// The attribute documents, waiting for them only when a change needs them (an upsert).
    var attributes: any AttributeStore { get throws { try attributeStore.get() } }

    var status: Status { state.withLock { $0 } }

    func start() {
        state.withLock { $0.running = true }
        let t = Thread { [self] in
            run()
            state.withLock { $0.running = false }
        }
        t.name = "aisle-catalog-sync"
        thread = t
        t.start()
    }

    /// Stops the loop; the last applied position is committed with the index.
    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        while let t = thread, !t.isFinished { usleep(10_000) }
    }

    var stopped: Bool { stopFlag.load(ordering: .relaxed) }

    private func note(_ e: Error) {
        let m = (e as? CatalogError)?.description ?? describe(e)
        let changed = state.withLock { s -> Bool in
            defer { s.lastError = m }
            return s.lastError != m
        }
        if changed { log("catalog sync: \(m)") }
    }

    private func pause(_ seconds: Double) {
        var left = seconds
        while left > 0 && !stopped {
            usleep(50_000)
            left -= 0.05
        }
    }

    private func run() {
        var db: CatalogDatabase?
        var live: LiveIndex?
        var position = ChangePosition.start
        var committed = ChangePosition.start
        var lastCommit = Date()
        func commitPosition(force: Bool) {
            guard let l = live, position != committed,
                  force || Date().timeIntervalSince(lastCommit) >= options.commitInterval else { return }
            do {
                try l.commit(userData: position.userData)
                committed = position
                lastCommit = Date()
                let p = position
                state.withLock { $0.committed = p }
            } catch {
                note(error)
            }
        }
        while !stopped {
            do {
                if db == nil {
                    let d = try CatalogDatabase(url: url)
                    try d.listen()
                    db = d
                }
                guard let updater = serving.updater else {
                    throw CatalogError.input("the index is open for writing by another process; not following the catalog")
                }
                if live !== updater.index {
                    commitPosition(force: true)
                    let l = updater.index
                    guard let p = ChangePosition(userData: l.searcher.meta.userData) else {
                        throw CatalogError.input("the index \(serving.root) has no change-log position in its commit (it was not built by `aisle reindex`); run `aisle reindex --index \(serving.root)` first")
                    }
                    live = l
                    position = p
                    committed = p
                    state.withLock { $0.position = p; $0.committed = p }
                    log("catalog sync: following the change log from position \(p) (generation \(serving.generationName))")
                }
                let changes = try db!.changes(after: position, limit: options.batch)
                if changes.isEmpty {
                    commitPosition(force: false)
                    try db!.waitForChanges(timeout: min(options.idleWait, options.commitInterval))
                    continue
                }
                try apply(changes, db: db!, updater: updater)
                position = changes.last!.position
                let p = position
                state.withLock { $0.position = p; $0.lastError = nil }
                commitPosition(force: false)
            } catch let e as IndexError {
                if case .closed = e { live = nil; continue }   // a new generation: start over from its position
                note(e)
                pause(1)
            } catch let e as CatalogError {
                note(e)
                if case .unavailable = e { db = nil }
                if case .input = e { pause(5) } else { pause(1) }
            } catch {
                note(error)
                pause(1)
            }
        }
        commitPosition(force: true)
    }

    /// Applies one batch of changes (each product once, in its current state).
    func apply(_ changes: [CatalogChange], db: CatalogDatabase, updater: IndexUpdater) throws {
        var order: [String] = []
        var kinds: [String: Set<CatalogChange.Kind>] = [:]
        for c in changes {
            if kinds[c.productId] == nil { order.append(c.productId) }
            kinds[c.productId, default: []].insert(c.kind)
        }
        var rows: [String: ProductRecord] = [:]
        for p in try db.products(ids: order) { rows[p.id] = p }
        let numbersOnly: Set<CatalogChange.Kind> = [.price, .stock]
        let full = order.filter { id in rows[id]?.isActive == true && !kinds[id]!.isSubset(of: numbersOnly) }
        var docs = full.isEmpty ? [:] : try attributes.documents(ids: full)
        var sets = 0, upserts = 0, deletes = 0
        for id in order {
            let line: String
            guard let p = rows[id], p.isActive else {
                try applyLine(CatalogLines.delete(id), updater)
                deletes += 1
                continue
            }
            if kinds[id]!.isSubset(of: numbersOnly) {
                if try applyLine(CatalogLines.set(p), updater) {
                    sets += 1
                    continue
                }
                // Not in the index (yet): add it whole.
                if docs[id] == nil, let d = try attributes.documents(ids: [id])[id] { docs[id] = d }
            }
            line = CatalogLines.upsert(p, docs[id])
            try applyLine(line, updater)
            upserts += 1
        }
        state.withLock {
            $0.applied += order.count
            $0.sets += sets
            $0.upserts += upserts
            $0.deletes += deletes
        }
    }

    @discardableResult
    private func applyLine(_ line: String, _ updater: IndexUpdater) throws -> Bool {
        var bytes = Array(line.utf8)
        return try bytes.withUnsafeMutableBufferPointer { b in
            func skip(_ message: String) -> Bool {
                // A row the index cannot take (a price beyond the schema's range, too many attribute
                // keys): reported and skipped, so one bad row never stops the sync; the product keeps
                // its last good state in the index.
                let m = "catalog sync: skipped a row the index refuses: \(message) (change \(line.prefix(120)))"
                log(m)
                state.withLock { $0.skipped += 1; $0.lastSkipped = m }
                return true
            }
            do {
                return try updater.apply(line: UnsafeBufferPointer(b)).1
            } catch let e as EngineError {
                return skip(e.description)
            } catch let e as IndexError {
                switch e {
                case .invalidDocument(let m), .schema(let m): return skip(m)
                default: throw e
                }
            }
        }
    }
}

/// An attribute store opened on a thread of its own (the file store reads the whole file, seconds
/// for a million documents), so that a server answers searches and applies price and stock changes
/// meanwhile; what needs the documents waits for them.
final class AttributeStoreLoader: @unchecked Sendable {
    private let cond = NSCondition()
    private var result: Result<any AttributeStore, Error>?

    /// Already open.
    init(ready store: any AttributeStore) {
        result = .success(store)
    }

    /// Opens the store in the background.
    init(opening open: @escaping @Sendable () throws -> any AttributeStore) {
        let t = Thread { [self] in
            let r = Result { try open() }
            cond.lock()
            result = r
            cond.broadcast()
            cond.unlock()
        }
        t.name = "aisle-attribute-store"
        t.start()
    }

    func get() throws -> any AttributeStore {
        cond.lock()
        while result == nil { cond.wait() }
        let r = result!
        cond.unlock()
        return try r.get()
    }
}

/// Where a command's stores are: `--database` / DATABASE_URL, `--attributes` / MONGODB_URI / the file.
struct CatalogStores {
    let url: String
    let attributes: any AttributeStore

    static func open(database: String?, attributes file: String?, mongo: String? = nil) throws -> CatalogStores {
        guard let url = CatalogDatabase.url(database) else {
            throw CatalogError.input("no database: give --database URL or set DATABASE_URL (scripts/services.sh start gives a local one)")
        }
        return CatalogStores(url: url, attributes: try AttributeStores.open(mongoURI: mongo, file: file))
    }
}
