import Dispatch

/// A live index: one writer that adds, replaces and deletes documents and updates numeric and
/// boolean values in place, near-real-time snapshots for any number of concurrent searches, and
/// merges in the background.
///
/// - `upsert`, `delete`, `setValues` change the writer's state (buffered documents, tombstones,
///   pending column updates); nothing is visible yet.
/// - `refresh()` publishes a new snapshot (a `Searcher`): buffered documents are written as a small
///   segment (not fsynced), tombstones and column updates become new immutable views of the
///   segments they touch. A search holds one snapshot from start to end, so it always sees one
///   consistent state; refresh never waits for searches and searches never wait for refresh.
/// - `commit()` makes the state durable: unsynced segment files are fsynced, changed tombstones and
///   columns are written as side files named with the new generation, then the commit point is
///   written atomically (temporary file, fsync, rename, directory fsync). After `kill -9` at any
///   moment the index opens at its last commit; files of unfinished work are swept on open.
/// - Merges run on a background queue under a log-structured policy (adjacent segments of the same
///   size level, `mergeFactor` at a time; a segment whose deleted share passes
///   `reclaimDeletesAbove` is rewritten alone). A merge reads immutable views; changes that arrive
///   meanwhile are replayed onto the merged segment through the merge's document map.
///
/// One `LiveIndex` per directory at a time: it holds an exclusive lock on `write.lock`.
public final class LiveIndex: @unchecked Sendable {
    public struct Options: Sendable {
        /// Flush buffered documents to a segment when they take about this many bytes.
        public var memoryBudget: Int = 256 << 20
        /// fsync at commit (off only for throwaway indexes in tests).
        public var sync = true
        /// Which segments to merge; nil: a `LogMergePolicy` of the four settings below.
        public var mergePolicy: (any MergePolicy)?
        /// Segments merged at once, and the ratio between size levels.
        public var mergeFactor = 8
        /// Segments smaller than this count as this big (the lowest level).
        public var minMergeDocs = 2_000
        /// A segment with more than this share of deleted documents is rewritten.
        public var reclaimDeletesAbove = 0.3
        /// Start merges on a background queue after refreshes and commits.
        public var backgroundMerges = true
        /// Past this many segments, the smallest adjacent run is merged whatever the levels.
        public var maxSegments = 48
        /// Verify every file's checksum when opening.
        public var verifyChecksums = true
        /// Instances of pattern fields (`attributes.*` keys) the index may have at most.
        public var maxPatternFields = IndexLimits.defaultMaxPatternFields

        public init() {}
    }

    /// Counters, for monitoring and tests.
    public struct Stats: Sendable {
        public var merges = 0
        public var mergedDocs = 0
        public var mergeFailures = 0
        public var refreshes = 0
        public var commits = 0
        public var flushes = 0
    }

    public let directory: String
    public let options: Options
    let mergePolicy: any MergePolicy
    let writerLock: WriterLock
    let lock = StateLock()
    let mergeQueue = DispatchQueue(label: "aisle.merge", qos: .utility)

    // Writer state (under `lock`).
    var schemaValue: Schema
    var layoutValue: SchemaLayout
    var generation: UInt64
    var previousGeneration: UInt64?
    var nextSegment: Int
    var userData: [String: String]
    var states: [SegmentState]
    var buffer: SegmentWriter?
    var bufferIds: [String: Int] = [:]
    var bufferDeleted: Set<Int> = []
    var bufferUpdates: [Int: [Int: Double?]] = [:]
    var reserved: Set<String> = []
    /// A batch is being applied (`withoutFlushes`): upserts do not write the buffer out.
    var holdFlushes = false
    var dirty = false               // changed since the last published snapshot
    var uncommitted = false         // changed since the last commit
    var mergesRunning = 0
    var isClosed = false
    var statsValue = Stats()
    public internal(set) var lastMergeError: String?

    // The published snapshot (under `publishLock`, held only to read or swap the reference).
    let publishLock = StateLock()
    var current: Searcher

    /// Opens the index in `directory` for writing (it must exist: see `create`).
    /// A path with generations (`CURRENT`) opens its current generation.
    public init(opening root: String, options: Options = Options()) throws {
        let directory = IndexGenerations.resolve(root)
        self.directory = directory
        self.options = options
        mergePolicy = options.mergePolicy ?? LogMergePolicy(mergeFactor: options.mergeFactor, minMergeDocs: options.minMergeDocs,
                                                            reclaimDeletesAbove: options.reclaimDeletesAbove, maxSegments: options.maxSegments)
        guard FileSystem.isDirectory(directory) else { throw IndexError.notAnIndex(path: directory) }
        writerLock = try WriterLock(directory: directory)
        let meta = try IndexMeta.readLatest(directory: directory)
        schemaValue = meta.schema
        layoutValue = try SchemaLayout(meta.schema)
        generation = meta.generation
        nextSegment = meta.nextSegment
        userData = meta.userData
        let layout = layoutValue
        states = try meta.segments.map { m in
            let r = try SegmentReader(directory: directory, meta: m, textFieldCount: layout.textFields.count,
                                      verify: options.verifyChecksums)
            return SegmentState(meta: m, reader: r, synced: true)
        }
        previousGeneration = try IndexMeta.generations(in: directory).first { $0 < meta.generation }
        current = try Searcher(directory: directory, meta: meta, layout: layoutValue, readers: states.map { $0.view })
        lock.withLock { sweepLocked() }
    }

    /// Creates an empty index with `schema` in `directory` and opens it.
    public static func create(directory: String, schema: Schema, options: Options = Options()) throws -> LiveIndex {
        var wo = IndexWriter.Options()
        wo.sync = options.sync
        let w = try IndexWriter(creating: directory, schema: schema, options: wo)
        try w.commit()
        return try LiveIndex(opening: directory, options: options)
    }

    deinit {
        writerLock.release()
    }

    // MARK: - Reading

    /// The newest published snapshot. Cheap; hold it for the whole of one search.
    public var searcher: Searcher { publishLock.withLock { current } }

    public var layout: SchemaLayout { lock.withLock { layoutValue } }
    public var currentSchema: Schema { lock.withLock { schemaValue } }
    public var stats: Stats { lock.withLock { statsValue } }
    public var segmentCount: Int { lock.withLock { states.count } }
    public var committedGeneration: UInt64 { lock.withLock { generation } }
    /// Whether there are changes not yet committed.
    public var hasUncommittedChanges: Bool { lock.withLock { uncommitted } }
    /// Whether there are changes not yet visible to searches.
    public var hasUnpublishedChanges: Bool { lock.withLock { dirty } }

    /// Ordinal of a field, creating it if `name` is an instance of a pattern field (`attributes.*`).
    public func fieldOrdinal(_ name: String) throws -> Int? {
        try fieldOrdinals([name])[0]
    }

    /// Ordinals of several names, the new pattern instances among them added together or not at
    /// all (past `options.maxPatternFields` instances: an error, and the schema is unchanged).
    public func fieldOrdinals(_ names: [String]) throws -> [Int?] {
        try lock.withLock {
            var schema = schemaValue
            let out = try schema.ordinalsAddingInstances(names, maxInstances: options.maxPatternFields)
            if schema.fields.count != schemaValue.fields.count {
                layoutValue = try SchemaLayout(schema)
                schemaValue = schema
            }
            return out
        }
    }

    // MARK: - Writing

    /// Adds a document, replacing any live document with the same id.
    ///
    /// Either the document is accepted (in memory; searchable at the next refresh, durable at the
    /// next commit) or the call throws and nothing changed: a full buffer is written out *before*
    /// the document is added, so an I/O error (a full disk) refuses this document instead of
    /// failing after it was taken in.
    /// Returns whether it replaced a live document with the same id.
    @discardableResult
    public func upsert(_ doc: IndexDocument) throws -> Bool {
        guard !doc.id.isEmpty else { throw IndexError.invalidDocument("document has no id") }
        return try lock.withLock {
            try checkOpen()
            if let b = buffer, b.memoryBytes >= options.memoryBudget, !holdFlushes { try flushBufferLocked() }
            let previous = try locateLocked(doc.id)
            let w: SegmentWriter
            if let b = buffer {
                w = b
                if w.layout.schema.fields.count != layoutValue.schema.fields.count { w.updateLayout(layoutValue) }
            } else {
                w = SegmentWriter(layout: layoutValue)
                buffer = w
            }
            let d = w.docCount
            try w.add(doc)
            // The old version goes only once the new one is in.
            switch previous {
            case .buffer(let old): bufferDeleted.insert(old)
            case .segment(let s, let old): states[s].deleteDoc(old)
            case nil: break
            }
            bufferIds[doc.id] = d
            dirty = true
            uncommitted = true
            return previous != nil
        }
    }

    /// Whether a live document has this id, counting changes not yet refreshed.
    public func contains(id: String) throws -> Bool {
        try lock.withLock {
            try checkOpen()
            return try locateLocked(id) != nil
        }
    }

    /// Runs `body` (a batch of changes) without writing the buffer out in between: the buffer is
    /// written first if it is full, so no change of the batch can fail on I/O (it may exceed the
    /// memory budget by the batch's size). An error before `body` runs changes nothing.
    public func withoutFlushes<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            try checkOpen()
            if let b = buffer, b.memoryBytes >= options.memoryBudget { try flushBufferLocked() }
            holdFlushes = true
        }
        defer { lock.withLock { holdFlushes = false } }
        return try body()
    }

    /// Deletes the live document with `id`; false if there is none.
    @discardableResult
    public func delete(id: String) throws -> Bool {
        try lock.withLock {
            try changeLocked(id, inBuffer: { d in
                bufferDeleted.insert(d)
                bufferIds[id] = nil
            }, inSegment: { st, d in st.deleteDoc(d) })
        }
    }

    /// Sets numeric or boolean (1/0) values of the live document with `id` in place (nil removes
    /// the value); false if there is no such document. Fields must be numeric or boolean fields
    /// with doc values.
    @discardableResult
    public func setValues(id: String, _ values: [(field: Int, value: Double?)]) throws -> Bool {
        try lock.withLock {
            try checkOpen()   // before validating, so a closed writer says so
            for (f, v) in values {
                guard f >= 0, f < schemaValue.fields.count else { throw IndexError.invalidDocument("no field with ordinal \(f)") }
                let def = schemaValue.fields[f]
                guard (def.type == .numeric || def.type == .boolean), layoutValue.numericColumns.contains(f) else {
                    throw IndexError.invalidDocument("field \(def.name) is not a numeric or boolean field with doc values; it cannot be set in place")
                }
                if let v, !v.isFinite { throw IndexError.invalidDocument("field \(def.name): \(v) is not a finite number") }
            }
            return try changeLocked(id, inBuffer: { d in
                for (f, v) in values { bufferUpdates[d, default: [:]][f] = .some(v) }
            }, inSegment: { st, d in
                for (f, v) in values { st.setValue(d, field: f, v) }
            })
        }
    }

    /// Applies a change to the live document with `id` wherever it is; false if there is none.
    func changeLocked(_ id: String, inBuffer: (Int) -> Void, inSegment: (SegmentState, Int) -> Void) throws -> Bool {
        try checkOpen()
        switch try locateLocked(id) {
        case .buffer(let d): inBuffer(d)
        case .segment(let s, let d): inSegment(states[s], d)
        case nil: return false
        }
        dirty = true
        uncommitted = true
        return true
    }

    /// Publishes everything written so far to searches and returns the new snapshot.
    @discardableResult
    public func refresh() throws -> Searcher {
        let s = try lock.withLock { () -> Searcher in
            try checkOpen()
            try flushBufferLocked()
            return try publishLocked()
        }
        scheduleMerges()
        return s
    }

    /// Refreshes only if something changed; returns whether it did.
    @discardableResult
    public func refreshIfChanged() throws -> Bool {
        guard lock.withLock({ dirty }) else { return false }
        try refresh()
        return true
    }

    /// Waits for running merges, commits nothing, and releases the writer lock. Uncommitted
    /// changes are lost (call `commit()` first).
    public func close() {
        let empty: Searcher? = lock.withLock {
            isClosed = true
            while mergesRunning > 0 { lock.wait() }
            var meta = IndexMeta(schema: schemaValue)
            meta.generation = generation
            return try? Searcher(directory: directory, meta: meta, layout: layoutValue, readers: [])
        }
        // Searches that still hold a snapshot keep it; the writer lets go of its own.
        if let empty { publishLock.withLock { current = empty } }
        writerLock.release()
    }

    // MARK: - Internals

    func checkOpen() throws {
        if isClosed { throw IndexError.closed(directory) }
    }

    enum Location {
        case buffer(Int)
        case segment(Int, Int)
    }

    /// Where the live document with `id` is.
    func locateLocked(_ id: String) throws -> Location? {
        if let d = bufferIds[id], !bufferDeleted.contains(d) { return .buffer(d) }
        let slot = layoutValue.keywordSlotOfField[layoutValue.idOrdinal] ?? -1
        for i in states.indices.reversed() {
            let st = states[i]
            if let d = try st.reader.doc(forId: id, idSlot: slot, includeDeleted: true) {
                if st.isLive(d) { return .segment(i, d) }
            }
        }
        return nil
    }

    /// Writes the buffered documents as a new (unsynced) segment.
    func flushBufferLocked() throws {
        guard let w = buffer, w.docCount > 0 else { return }
        if w.layout.schema.fields.count != layoutValue.schema.fields.count { w.updateLayout(layoutValue) }
        let id = segmentName(nextSegment)
        nextSegment += 1
        let m = try w.flush(directory: directory, segmentId: id, sync: false)
        let r = try SegmentReader(directory: directory, meta: m, textFieldCount: layoutValue.textFields.count, verify: false)
        let st = SegmentState(meta: m, reader: r, synced: false)
        for d in bufferDeleted { st.deleteDoc(d) }
        for (d, ch) in bufferUpdates {
            for (f, v) in ch { st.setValue(d, field: f, v) }
        }
        states.append(st)
        buffer = nil
        bufferIds = [:]
        bufferDeleted = []
        bufferUpdates = [:]
        statsValue.flushes += 1
        dirty = true
    }

    @discardableResult
    func publishLocked() throws -> Searcher {
        states.removeAll { $0.liveDocCount == 0 && !$0.merging }
        for st in states where st.viewStale { st.makeView() }
        var meta = IndexMeta(schema: schemaValue)
        meta.generation = generation
        meta.segments = states.map { $0.meta }
        meta.nextSegment = nextSegment
        meta.userData = userData
        let s = try Searcher(directory: directory, meta: meta, layout: layoutValue, readers: states.map { $0.view },
                             sharing: publishLock.withLock { current })
        publishLock.withLock { current = s }
        dirty = buffer.map { $0.docCount > 0 } ?? false
        statsValue.refreshes += 1
        return s
    }
}
