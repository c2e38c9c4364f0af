import Foundation
import Synchronization
import AisleCatalog
import AisleEngine
import AisleIndex

/// Keeps the live index of a `ServingIndex` equal to the catalog: reads the change log after the
/// position stored in the index's last commit, re-reads each changed product's current row (and
/// attribute document) and applies it (an in-place `set` when only price, rating, review count or
/// stock changed; otherwise upsert, or delete when the product is gone or not active), then
/// commits the index together with the new position in the commit's user data. Re-reading the
/// current state makes each application idempotent and independent of order, so replaying after a
/// crash (at least once) converges to the catalog. LISTEN/NOTIFY wakes the loop; the log decides.
/// When a rebuild publishes a new generation, the position is taken from its commit (the rebuild's
/// snapshot), so changes made during the rebuild are replayed onto it.
public final class CatalogFollower: @unchecked Sendable {
    public struct Options: Sendable {
        public var commitInterval: Double = 1.0
        public var batch = 2000
        public var idleWait = 0.5
        public init() {}
    }

    public struct Status: Sendable {
        public var position: ChangePosition?
        public var committed: ChangePosition?
        public var applied = 0
        public var sets = 0
        public var upserts = 0
        public var deletes = 0
        /// Rows the index refused (a price out of range, too many attribute keys...): skipped and
        /// reported, never retried forever.
        public var skipped = 0
        public var lastSkipped: String?
        public var lastError: String?
        public var running = false
        /// When the follower last had every change of the log applied (a read of the log that
        /// came back short of a full batch, or empty); nil until it first catches up.
        public var atHeadAt: Date?
        /// Since when `lastError` has been set without a successful read in between.
        public var errorSince: Date?

        public init() {}

        /// How long the change log may be unreadable before a node stops being ready.
        public static let errorGrace = 30.0

        /// Whether a node following the catalog should receive traffic (nil: ready; else why not).
        /// Not before it has applied the whole change log since it started (a restart, a new node),
        /// and not once the log has been unreadable for `errorGrace`. A node that only lags behind
        /// a large change stays ready: every node lags alike, and taking them all out would serve
        /// nothing.
        public func notReadyReason(now: Date = Date()) -> String? {
            guard atHeadAt != nil else { return "catching up with the catalog's change log" }
            if lastError != nil, let since = errorSince, now.timeIntervalSince(since) > Self.errorGrace {
                return "the change log cannot be read for \(Int(now.timeIntervalSince(since))) s"
            }
            return nil
        }
    }

    public let url: String
    let attributeStore: AttributeStoreLoader
    public let serving: ServingIndex
    public let options: Options
    private let stopFlag = Atomic<Bool>(false)
    private let state = Mutex(Status())
    /// Signalled when the loop ends and when `stop()` is called (no polling).
    private let ended = NSCondition()
    private var thread: Thread?
    private var finished = false
    private let log: @Sendable (String) -> Void

    public init(url: String, attributes: AttributeStoreLoader, serving: ServingIndex, options: Options = Options(),
                log: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.url = url
        self.attributeStore = attributes
        self.serving = serving
        self.options = options
        self.log = log
    }

    /// The attribute documents, waiting for them only when a change needs them (an upsert).
    var attributes: any AttributeStore { get throws { try attributeStore.get() } }

    public var status: Status { state.withLock { $0 } }

    public func start() {
        state.withLock { $0.running = true }
        let t = Thread { [self] in
            run()
            state.withLock { $0.running = false }
            ended.withLock {
                finished = true
                ended.broadcast()
            }
        }
        t.name = "aisle-catalog-sync"
        thread = t
        t.start()
    }

    /// Stops the loop and waits for it; the last applied position is committed with the index.
    public func stop() {
        ended.withLock {
            stopFlag.store(true, ordering: .relaxed)
            ended.broadcast()
            while thread != nil && !finished { ended.wait() }
        }
    }

    public var stopped: Bool { stopFlag.load(ordering: .relaxed) }

    private func note(_ e: Error) {
        let m = (e as? CatalogError)?.description ?? (e as? IndexError)?.description ?? (e as? EngineError)?.description ?? "\(e)"
        let changed = state.withLock { s -> Bool in
            defer { s.lastError = m }
            if s.lastError == nil { s.errorSince = Date() }
            return s.lastError != m
        }
        if changed { log("catalog sync: \(m)") }
    }

    /// Waits `seconds`, or less when `stop()` is called.
    private func pause(_ seconds: Double) {
        ended.withLock {
            let until = Date(timeIntervalSinceNow: seconds)
            while !stopped && ended.wait(until: until) {}
        }
    }

    private func run() {
        var db: CatalogDatabase?
        var live: LiveIndex?
        var position = ChangePosition.start
        var committed = ChangePosition.start
        var lastCommit = Date()
        var appliedAhead = Set<ChangePosition>()
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
                    appliedAhead.removeAll()
                    state.withLock { $0.position = p; $0.committed = p }
                    log("catalog sync: following the change log from position \(p) (generation \(serving.generationName))")
                }
                // Changes below the horizon move the position; changes already committed above
                // it are applied at once too (a slow transaction elsewhere must not delay, say, a
                // sold-out product by its whole duration) and remembered, so that they are not
                // applied again when the position reaches them.
                let batch = try db!.changeBatch(after: position, limit: options.batch)
                let fresh = batch.ready.filter { !appliedAhead.contains($0.position) }
                    + batch.ahead.filter { !appliedAhead.contains($0.position) }
                if fresh.isEmpty && batch.ready.isEmpty {
                    state.withLock { $0.atHeadAt = Date(); $0.lastError = nil; $0.errorSince = nil }
                    commitPosition(force: false)
                    try db!.waitForChanges(timeout: min(options.idleWait, options.commitInterval))
                    continue
                }
                if !fresh.isEmpty { try apply(fresh, db: db!, updater: updater) }
                for c in batch.ahead { appliedAhead.insert(c.position) }
                if let last = batch.ready.last {
                    position = last.position
                    appliedAhead = appliedAhead.filter { $0 > last.position }
                }
                let p = position
                let atHead = batch.ready.count < options.batch
                state.withLock {
                    $0.position = p
                    $0.lastError = nil
                    $0.errorSince = nil
                    if atHead { $0.atHeadAt = Date() }
                }
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
            guard let p = rows[id], p.isActive else {
                try apply(.delete(id: id), updater)
                deletes += 1
                continue
            }
            if kinds[id]!.isSubset(of: numbersOnly) {
                if try apply(.set(id: id, values: CatalogDocuments.numbers(p)), updater) {
                    sets += 1
                    continue
                }
                // Not in the index (yet): add it whole.
                if docs[id] == nil, let d = try attributes.documents(ids: [id])[id] { docs[id] = d }
            }
            try apply(.upsert(CatalogDocuments.record(p, docs[id])), updater)
            upserts += 1
        }
        state.withLock {
            $0.applied += order.count
            $0.sets += sets
            $0.upserts += upserts
            $0.deletes += deletes
        }
    }

    /// Applies one typed change; a row the index refuses (a price beyond the schema's range, too
    /// many attribute keys) is reported and skipped, so one bad row never stops the sync: the
    /// product keeps its last good state in the index.
    @discardableResult
    private func apply(_ change: RecordChange, _ updater: IndexUpdater) throws -> Bool {
        func skip(_ message: String) -> Bool {
            let m = "catalog sync: skipped a row the index refuses: \(message) (product \(Self.id(of: change).prefix(80)))"
            log(m)
            state.withLock { $0.skipped += 1; $0.lastSkipped = m }
            return true
        }
        do {
            return try updater.apply(change)
        } catch let e as EngineError {
            return skip(e.description)
        } catch let e as IndexError {
            switch e {
            case .invalidDocument(let m), .schema(let m): return skip(m)
            default: throw e
            }
        }
    }

    static func id(of change: RecordChange) -> String {
        switch change {
        case .upsert(let r): if case .text(let s)? = r[ProductFields.id] { return s }; return "?"
        case .set(let id, _), .delete(let id): return id
        }
    }
}

