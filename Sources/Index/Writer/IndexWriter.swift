import Synchronization

/// Adds documents to an index and publishes them with `commit()`.
///
/// Simple use: `add(_:)` documents, then `commit()`. Parallel use: each thread takes its own
/// `SegmentWriter` from `makeSegmentWriter()`, fills it, hands it to `flush(_:)`, and the thread that
/// owns the writer calls `commit(adding:)` with the flushed segments in document order. The schema
/// registry (`fieldOrdinal`) and segment naming are thread-safe; everything else belongs to one thread.
public final class IndexWriter: Sendable {
    public struct Options: Sendable {
        /// Flush the in-memory segment when it holds about this many bytes.
        public var memoryBudget: Int = 1 << 30
        /// fsync files and the directory (turn off only for throwaway indexes in tests).
        public var sync = true
        /// Flush after this many documents (tests use it to make many segments).
        public var maxDocsPerSegment = Int.max
        /// Instances of pattern fields (`attributes.*` keys) an index may have at most.
        public var maxPatternFields = IndexLimits.defaultMaxPatternFields
        /// A segment writer's postings arena holds at most 4 GiB: budgets are capped below it.
        public static let maxMemoryBudget = 3 << 30

        public init(memoryBudget: Int = 1 << 30, sync: Bool = true, maxDocsPerSegment: Int = Int.max) {
            self.memoryBudget = min(max(memoryBudget, 1 << 20), Self.maxMemoryBudget)
            self.sync = sync
            self.maxDocsPerSegment = maxDocsPerSegment
        }
    }

    private struct State {
        var meta: IndexMeta
        var layout: SchemaLayout
        /// Segments flushed by `add` since the last commit.
        var pending: [SegmentMeta] = []
        var current: SegmentWriter?
    }

    public let directory: String
    public let options: Options
    private let state: Mutex<State>

    /// Creates a new, empty index in `directory` (which must not hold an index yet).
    public init(creating directory: String, schema: Schema, options: Options = Options()) throws {
        var s = schema
        for i in s.fields.indices where s.fields[i].type == .text && s.fields[i].analyzer == nil {
            s.fields[i].analyzer = "english"
        }
        if let idx = s.ordinal(of: s.idField) {
            s.fields[idx].stored = true
        } else {
            s.fields.insert(FieldDefinition(name: s.idField, type: .keyword, stored: true), at: 0)
        }
        let layout = try SchemaLayout(s)
        try FileSystem.makeDirectories(directory)
        if !(try IndexMeta.generations(in: directory)).isEmpty {
            throw IndexError.schema("an index already exists at \(directory); remove it or choose another directory")
        }
        self.directory = directory
        self.options = options
        state = Mutex(State(meta: IndexMeta(schema: s), layout: layout))
    }

    /// Opens an existing index to add documents to it.
    public init(opening directory: String, options: Options = Options()) throws {
        let meta = try IndexMeta.readLatest(directory: directory)
        let layout = try SchemaLayout(meta.schema)
        self.directory = directory
        self.options = options
        state = Mutex(State(meta: meta, layout: layout))
    }

    public var schema: Schema { state.withLock { $0.meta.schema } }
    public var layout: SchemaLayout { state.withLock { $0.layout } }
    public var meta: IndexMeta { state.withLock { $0.meta } }

    /// Ordinal of a field, creating it if `name` is an instance of a pattern field (`attributes.*`).
    /// nil if the schema has no such field. Thread-safe; ordinals never change once given.
    public func fieldOrdinal(_ name: String) throws -> Int? {
        try fieldOrdinals([name])[0]
    }

    /// Ordinals of several names, the new pattern instances among them added together or not at
    /// all (past `options.maxPatternFields` instances: an error, and the schema is unchanged).
    public func fieldOrdinals(_ names: [String]) throws -> [Int?] {
        try state.withLock { s -> [Int?] in
            var schema = s.meta.schema
            let out = try schema.ordinalsAddingInstances(names, maxInstances: options.maxPatternFields)
            if schema.fields.count != s.meta.schema.fields.count {
                s.layout = try SchemaLayout(schema)
                s.meta.schema = schema
            }
            return out
        }
    }

    // MARK: - Parallel building blocks

    /// A new in-memory segment with the current schema.
    public func makeSegmentWriter() -> SegmentWriter { SegmentWriter(layout: layout) }

    /// Brings a segment writer's schema up to date (after `fieldOrdinal` added fields).
    public func refreshLayout(of w: SegmentWriter) {
        let l = layout
        if l.schema.fields.count != w.layout.schema.fields.count { w.updateLayout(l) }
    }

    /// Writes a segment writer's documents as a new segment (not visible until committed).
    public func flush(_ w: SegmentWriter) throws -> SegmentMeta? {
        guard w.docCount > 0 else { return nil }
        refreshLayout(of: w)
        let id = state.withLock { s -> String in
            let id = segmentName(s.meta.nextSegment)
            s.meta.nextSegment += 1
            return id
        }
        return try w.flush(directory: directory, segmentId: id, sync: options.sync)
    }

    /// Publishes `segments` (after those already committed) as a new commit.
    @discardableResult
    public func commit(adding segments: [SegmentMeta], userData: [String: String] = [:]) throws -> IndexMeta {
        try state.withLock { s -> IndexMeta in
            var next = s.meta
            next.segments += segments
            next.generation += 1
            for (k, v) in userData { next.userData[k] = v }
            try next.write(directory: directory, sync: options.sync)
            s.meta = next
            return next
        }
    }

    // MARK: - Simple single-threaded API

    /// Adds a document to the writer's own in-memory segment.
    public func add(_ doc: IndexDocument) throws {
        guard !doc.id.isEmpty else { throw IndexError.invalidDocument("document has no id") }
        let w = state.withLock { s -> SegmentWriter in
            if let c = s.current { return c }
            let c = SegmentWriter(layout: s.layout)
            s.current = c
            return c
        }
        refreshLayout(of: w)
        try w.add(doc)
        if w.docCount >= options.maxDocsPerSegment || w.memoryBytes >= options.memoryBudget { try flushCurrent() }
    }

    private func flushCurrent() throws {
        let w = state.withLock { s -> SegmentWriter? in
            let c = s.current
            s.current = nil
            return c
        }
        guard let w, let m = try flush(w) else { return }
        state.withLock { $0.pending.append(m) }
    }

    /// Flushes and publishes everything added so far as a new commit; returns it.
    @discardableResult
    public func commit(userData: [String: String] = [:]) throws -> IndexMeta {
        try flushCurrent()
        let pending = state.withLock { s -> [SegmentMeta] in
            let p = s.pending
            s.pending = []
            return p
        }
        return try commit(adding: pending, userData: userData)
    }

    /// Merges all committed segments into one and commits.
    public func forceMerge() throws {
        try commit()
        let (segments, layout, id) = state.withLock { s -> ([SegmentMeta], SchemaLayout, String) in
            let id = segmentName(s.meta.nextSegment)
            s.meta.nextSegment += 1
            return (s.meta.segments, s.layout, id)
        }
        guard segments.count > 1 else { return }
        let merged = try SegmentMerger(directory: directory, layout: layout, segments: segments).merge(into: id, sync: options.sync)
        try state.withLock { s in
            var next = s.meta
            next.segments = [merged]
            next.generation += 1
            try next.write(directory: directory, sync: options.sync)
            s.meta = next
        }
        for seg in segments {
            for name in seg.files.keys { try? FileSystem.remove(directory + "/" + name) }
        }
        try removeOldCommits()
    }

    /// Deletes commit files older than the current one.
    func removeOldCommits() throws {
        let gen = meta.generation
        for g in try IndexMeta.generations(in: directory) where g < gen {
            try FileSystem.remove(directory + "/" + IndexMeta.fileName(g))
        }
    }

    public var docCount: Int {
        state.withLock { s in s.meta.docCount + s.pending.reduce(0) { $0 + $1.docCount } + (s.current?.docCount ?? 0) }
    }
}

/// "seg_000001"
func segmentName(_ n: Int) -> String {
    let s = String(n)
    return "seg_" + String(repeating: "0", count: max(0, 6 - s.count)) + s
}

/// What turns records into documents needs from a writer: the schema, and ordinals for new
/// instances of pattern fields (`attributes.*`).
public protocol FieldRegistry: AnyObject, Sendable {
    var schema: Schema { get }
    func fieldOrdinal(_ name: String) throws -> Int?
    /// Ordinals of several names; the pattern instances among them are created together or not at all.
    func fieldOrdinals(_ names: [String]) throws -> [Int?]
}

extension IndexWriter: FieldRegistry {}
extension LiveIndex: FieldRegistry {
    public var schema: Schema { currentSchema }
}
