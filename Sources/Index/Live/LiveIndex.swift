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
    private let writerLock: WriterLock
    private let lock = StateLock()
    private let mergeQueue = DispatchQueue(label: "aisle.merge", qos: .utility)

    // Writer state (under `lock`).
    private var schemaValue: Schema
    private var layoutValue: SchemaLayout
    private var generation: UInt64
    private var previousGeneration: UInt64?
    private var nextSegment: Int
    private var userData: [String: String]
    private var states: [SegmentState]
    private var buffer: SegmentWriter?
    private var bufferIds: [String: Int] = [:]
    private var bufferDeleted: Set<Int> = []
    private var bufferUpdates: [Int: [Int: Double?]] = [:]
    private var reserved: Set<String> = []
    /// A batch is being applied (`withoutFlushes`): upserts do not write the buffer out.
    private var holdFlushes = false
    private var dirty = false               // changed since the last published snapshot
    private var uncommitted = false         // changed since the last commit
    private var mergesRunning = 0
    private var isClosed = false
    private var statsValue = Stats()
    public private(set) var lastMergeError: String?

    // The published snapshot (under `publishLock`, held only to read or swap the reference).
    private let publishLock = StateLock()
    private var current: Searcher

    /// Opens the index in `directory` for writing (it must exist: see `create`).
    /// A path with generations (`CURRENT`) opens its current generation.
    public init(opening root: String, options: Options = Options()) throws {
        let directory = IndexGenerations.resolve(root)
        self.directory = directory
        self.options = options
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
    public func upsert(_ doc: IndexDocument) throws {
        guard !doc.id.isEmpty else { throw IndexError.invalidDocument("document has no id") }
        try lock.withLock {
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
    private func changeLocked(_ id: String, inBuffer: (Int) -> Void, inSegment: (SegmentState, Int) -> Void) throws -> Bool {
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

    /// Makes everything written so far durable as a new commit (and publishes it).
    @discardableResult
    public func commit(userData extra: [String: String] = [:]) throws -> IndexMeta {
        let m = try lock.withLock { () -> IndexMeta in
            try checkOpen()
            return try commitLocked(extra)
        }
        scheduleMerges()
        return m
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

    /// Blocks until no merge is running (and none would start).
    public func waitForMerges() {
        lock.withLock {
            while mergesRunning > 0 { lock.wait() }
        }
    }

    /// Merges every segment into one (in the calling thread), then publishes. Not committed.
    public func forceMerge() throws {
        let job: MergeJob? = try lock.withLock {
            try checkOpen()
            while mergesRunning > 0 { lock.wait() }
            try flushBufferLocked()
            let all = Array(states.indices)
            guard all.count > 1 || states.contains(where: { $0.deletedCount > 0 }) else { return nil }
            return startMergeLocked(all)
        }
        if let job { runMerge(job) }
        lock.withLock { _ = try? publishLocked() }
    }

    // MARK: - Internals

    private func checkOpen() throws {
        if isClosed { throw IndexError.closed(directory) }
    }

    private enum Location {
        case buffer(Int)
        case segment(Int, Int)
    }

    /// Where the live document with `id` is.
    private func locateLocked(_ id: String) throws -> Location? {
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
    private func flushBufferLocked() throws {
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
    private func publishLocked() throws -> Searcher {
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

    private func commitLocked(_ extra: [String: String]) throws -> IndexMeta {
        try flushBufferLocked()
        states.removeAll { $0.liveDocCount == 0 && !$0.merging }
        let gen = generation + 1
        for st in states {
            if !st.synced && options.sync {
                for name in st.meta.files.keys { try FileSystem.syncFile(directory + "/" + name) }
            }
            st.synced = true
            st.fold()
            if st.deletesDirty {
                if st.deletedCount == 0 {
                    st.meta.deletes = nil
                } else {
                    let name = "\(st.meta.id)_g\(gen).del"
                    let dd = st.currentDeleted()!
                    let w = try IndexFileWriter(path: directory + "/" + name, kind: DeletedDocs.kind, version: DeletedDocs.version)
                    try w.write(dd.encode())
                    let (size, sum) = try w.finish(sync: options.sync)
                    st.meta.deletes = SegmentMeta.SideFile(name: name, info: FileInfo(size: size, checksum: sum), count: dd.count)
                }
                st.deletesDirty = false
            }
            if st.updatesDirty {
                let fields = Set(st.reader.updatedFields).union(st.columns.keys).sorted()
                var builders: [Int: NumericColumnBuilder] = [:]
                for f in fields {
                    var b = NumericColumnBuilder()
                    let col = st.columns[f] ?? st.reader.docValues.numeric[f]
                    for d in 0..<st.meta.docCount { b.add(col?.value(d)) }
                    builders[f] = b
                }
                let name = "\(st.meta.id)_g\(gen).dvu"
                let w = try IndexFileWriter(path: directory + "/" + name, kind: DocValuesFormat.kind, version: DocValuesFormat.version)
                try w.write(DocValuesWriter.encode(numeric: builders, ordinals: [:], docCount: st.meta.docCount))
                let (size, sum) = try w.finish(sync: options.sync)
                st.meta.updates = SegmentMeta.SideFile(name: name, info: FileInfo(size: size, checksum: sum), count: fields.count)
                st.updatesDirty = false
            }
        }
        for (k, v) in extra { userData[k] = v }
        var meta = IndexMeta(schema: schemaValue)
        meta.generation = gen
        meta.segments = states.map { $0.meta }
        meta.nextSegment = nextSegment
        meta.userData = userData
        try meta.write(directory: directory, sync: options.sync)
        previousGeneration = generation
        generation = gen
        uncommitted = buffer.map { $0.docCount > 0 } ?? false
        statsValue.commits += 1
        try publishLocked()
        sweepLocked()
        return meta
    }

    /// Removes files that no commit worth keeping (the newest two) and no current segment needs:
    /// merged-away segments, old side files, leftovers of work a crash interrupted.
    private func sweepLocked() {
        var keep = Set<String>()
        var keepCommits = Set<String>([IndexMeta.fileName(generation)])
        if let p = previousGeneration {
            keepCommits.insert(IndexMeta.fileName(p))
            if let m = try? IndexMeta.read(path: directory + "/" + IndexMeta.fileName(p)) {
                for s in m.segments { keep.formUnion(s.allFiles.keys) }
            }
        }
        for st in states { keep.formUnion(st.meta.allFiles.keys) }
        guard let names = try? FileSystem.list(directory) else { return }
        for name in names {
            if name.hasPrefix("commit_") {
                if !keepCommits.contains(name) { try? FileSystem.remove(directory + "/" + name) }
                continue
            }
            guard name.hasPrefix("seg_"), !keep.contains(name) else { continue }
            let segId = "seg_" + String(name.dropFirst(4).prefix { $0.isNumber })
            if reserved.contains(segId) { continue }
            try? FileSystem.remove(directory + "/" + name)
        }
    }

    // MARK: - Merging

    private struct MergeJob: @unchecked Sendable {
        let sources: [SegmentState]
        let views: [SegmentReader]
        let id: String
        let layout: SchemaLayout
    }

    /// Starts merges the policy asks for (on the merge queue).
    private func scheduleMerges() {
        guard options.backgroundMerges else { return }
        let job: MergeJob? = lock.withLock {
            guard !isClosed, mergesRunning == 0, let pick = pickMergeLocked() else { return nil }
            return startMergeLocked(pick)
        }
        guard let job else { return }
        mergeQueue.async { [self] in
            runMerge(job)
            scheduleMerges()
        }
    }

    private func level(_ st: SegmentState) -> Int {
        var n = max(st.liveDocCount, options.minMergeDocs)
        var l = 0
        let f = max(options.mergeFactor, 2)
        while n >= options.minMergeDocs * f {
            n /= f
            l += 1
        }
        return l
    }

    /// Adjacent segments to merge, oldest first; nil when the index is in shape.
    private func pickMergeLocked() -> [Int]? {
        let f = max(options.mergeFactor, 2)
        var i = 0
        while i < states.count {
            if states[i].merging { i += 1; continue }
            let l = level(states[i])
            var j = i
            while j < states.count && !states[j].merging && level(states[j]) == l { j += 1 }
            if j - i >= f { return Array(i..<(i + f)) }
            i = max(j, i + 1)
        }
        // Reclaim deleted documents.
        if let r = states.indices.first(where: {
            let s = states[$0]
            return !s.merging && s.meta.docCount >= options.minMergeDocs
                && Double(s.deletedCount) > options.reclaimDeletesAbove * Double(s.meta.docCount)
        }) {
            return [r]
        }
        // Too many segments: the adjacent run of `f` with the fewest documents.
        if states.count > options.maxSegments {
            var best: (Int, Int)?
            for s in 0...(states.count - f) {
                let run = states[s..<(s + f)]
                guard !run.contains(where: { $0.merging }) else { continue }
                let docs = run.reduce(0) { $0 + $1.liveDocCount }
                if best == nil || docs < best!.1 { best = (s, docs) }
            }
            if let b = best { return Array(b.0..<(b.0 + f)) }
        }
        return nil
    }

    private func startMergeLocked(_ indexes: [Int]) -> MergeJob {
        let sources = indexes.map { states[$0] }
        for st in sources {
            if st.viewStale { st.makeView() }
            st.merging = true
            st.mergeLog = []
        }
        let id = segmentName(nextSegment)
        nextSegment += 1
        reserved.insert(id)
        mergesRunning += 1
        return MergeJob(sources: sources, views: sources.map { $0.view }, id: id, layout: layoutValue)
    }

    private func runMerge(_ job: MergeJob) {
        var merged: (SegmentMeta, [[Int32]], SegmentReader)?
        var failure: Error?
        do {
            let m = SegmentMerger(directory: directory, layout: job.layout, readers: job.views)
            let meta = try m.merge(into: job.id, sync: false)
            let r = try SegmentReader(directory: directory, meta: meta, textFieldCount: job.layout.textFields.count, verify: false)
            merged = (meta, m.docMaps, r)
        } catch {
            failure = error
        }
        lock.withLock {
            defer {
                mergesRunning -= 1
                reserved.remove(job.id)
                lock.broadcast()
            }
            let first = states.firstIndex { $0 === job.sources[0] }
            let inPlace = first.map { f in
                f + job.sources.count <= states.count && zip(states[f..<(f + job.sources.count)], job.sources).allSatisfy { $0 === $1 }
            } ?? false
            guard let (meta, maps, reader) = merged, inPlace, let f = first else {
                for st in job.sources {
                    st.merging = false
                    st.mergeLog = nil
                }
                if let failure {
                    statsValue.mergeFailures += 1
                    lastMergeError = "\(failure)"
                }
                for name in (try? FileSystem.list(directory)) ?? [] where name.hasPrefix(job.id + ".") {
                    try? FileSystem.remove(directory + "/" + name)
                }
                return
            }
            let st = SegmentState(meta: meta, reader: reader, synced: false)
            for (i, src) in job.sources.enumerated() {
                for change in src.mergeLog ?? [] {
                    switch change {
                    case .delete(let d):
                        let nd = maps[i][d]
                        if nd >= 0 { st.deleteDoc(Int(nd)) }
                    case .set(let d, let field, let v):
                        let nd = maps[i][d]
                        if nd >= 0 { st.setValue(Int(nd), field: field, v) }
                    }
                }
                src.merging = false
                src.mergeLog = nil
            }
            states.replaceSubrange(f..<(f + job.sources.count), with: [st])
            statsValue.merges += 1
            statsValue.mergedDocs += meta.docCount
            uncommitted = true
            if !isClosed { _ = try? publishLocked() }
        }
    }
}

/// The writer's view of one segment: its files, and the tombstones and column updates made since
/// they were opened.
final class SegmentState {
    enum Change {
        case delete(Int)
        case set(Int, Int, Double?)
    }

    var meta: SegmentMeta
    let reader: SegmentReader
    /// Current tombstones when they differ from the reader's.
    private var words: [UInt64]?
    private(set) var deletedCount: Int
    /// Current columns of fields updated since the reader was opened (pending changes folded in).
    private(set) var columns: [Int: NumericColumn] = [:]
    /// Updates not yet folded into `columns`: field -> doc -> value.
    private var pending: [Int: [Int: Double?]] = [:]
    var deletesDirty = false
    var updatesDirty = false
    var synced: Bool
    /// The reader searches use for the state as of the last `makeView()`.
    private(set) var view: SegmentReader
    private(set) var viewStale = false
    var merging = false
    /// Changes made while a merge of this segment runs.
    var mergeLog: [Change]?

    init(meta: SegmentMeta, reader: SegmentReader, synced: Bool) {
        self.meta = meta
        self.reader = reader
        self.synced = synced
        deletedCount = reader.deleted?.count ?? 0
        view = reader
    }

    var liveDocCount: Int { meta.docCount - deletedCount }

    func isLive(_ doc: Int) -> Bool {
        if let w = words { return w[doc >> 6] & (1 << UInt64(doc & 63)) == 0 }
        return reader.isLive(doc)
    }

    func deleteDoc(_ doc: Int) {
        guard doc >= 0 && doc < meta.docCount, isLive(doc) else { return }
        if words == nil {
            words = reader.deleted?.wordArray ?? [UInt64](repeating: 0, count: (meta.docCount + 63) / 64)
        }
        words![doc >> 6] |= 1 << UInt64(doc & 63)
        deletedCount += 1
        deletesDirty = true
        viewStale = true
        mergeLog?.append(.delete(doc))
    }

    func setValue(_ doc: Int, field: Int, _ v: Double?) {
        guard doc >= 0 && doc < meta.docCount else { return }
        pending[field, default: [:]][doc] = .some(v)
        updatesDirty = true
        viewStale = true
        mergeLog?.append(.set(doc, field, v))
    }

    /// Folds pending updates into new columns.
    func fold() {
        guard !pending.isEmpty else { return }
        for (f, changes) in pending {
            let base = columns[f] ?? reader.docValues.numeric[f]
                ?? NumericColumn.encode([Double?](repeating: nil, count: meta.docCount))
            columns[f] = base.applying(changes)
        }
        pending = [:]
    }

    func currentDeleted() -> DeletedDocs? {
        if let w = words { return DeletedDocs(docCount: meta.docCount, words: w) }
        return reader.deleted
    }

    func makeView() {
        fold()
        let d = words == nil ? reader.deleted : currentDeleted()
        view = SegmentReader(sharing: reader, meta: meta, deleted: d, numeric: columns)
        viewStale = false
    }
}
