/// Adds documents to an index: fills an in-memory segment, flushes it to disk when it outgrows the
/// memory budget, and `commit()` publishes every flushed segment atomically.
/// One writer per index at a time; not thread-safe.
public final class IndexWriter {
    public struct Options: Sendable {
        /// Flush the in-memory segment when it holds about this many bytes.
        public var memoryBudget: Int = 1 << 30
        /// fsync files and the directory (turn off only for throwaway indexes in tests).
        public var sync = true
        /// Flush after this many documents (tests use it to make many segments).
        public var maxDocsPerSegment = Int.max
        public init(memoryBudget: Int = 1 << 30, sync: Bool = true, maxDocsPerSegment: Int = Int.max) {
            self.memoryBudget = memoryBudget
            self.sync = sync
            self.maxDocsPerSegment = maxDocsPerSegment
        }
    }

    public let directory: String
    public private(set) var meta: IndexMeta
    public private(set) var layout: SchemaLayout
    private var current: SegmentWriter
    private let options: Options
    /// Segments flushed since the last commit.
    private var pending: [SegmentMeta] = []

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
        layout = try SchemaLayout(s)
        try FileSystem.makeDirectories(directory)
        if !(try IndexMeta.generations(in: directory)).isEmpty {
            throw IndexError.schema("an index already exists at \(directory); remove it or choose another directory")
        }
        self.directory = directory
        self.options = options
        meta = IndexMeta(schema: s)
        current = SegmentWriter(layout: layout)
    }

    /// Opens an existing index to add documents to it.
    public init(opening directory: String, options: Options = Options()) throws {
        meta = try IndexMeta.readLatest(directory: directory)
        layout = try SchemaLayout(meta.schema)
        self.directory = directory
        self.options = options
        current = SegmentWriter(layout: layout)
    }

    public var schema: Schema { meta.schema }

    /// Documents added (committed or not).
    public var docCount: Int { meta.docCount + pending.reduce(0) { $0 + $1.docCount } + current.docCount }

    /// Ordinal of a field, creating it if `name` is an instance of a pattern field (`attributes.*`).
    /// nil if the schema has no such field.
    public func fieldOrdinal(_ name: String) throws -> Int? {
        if let o = meta.schema.ordinal(of: name) { return o }
        guard let p = meta.schema.pattern(matching: name) else { return nil }
        let o = meta.schema.addInstance(name, of: p)
        layout = try SchemaLayout(meta.schema)
        current.updateLayout(layout)
        return o
    }

    public func add(_ doc: IndexDocument) throws {
        guard !doc.id.isEmpty else { throw IndexError.invalidDocument("document has no id") }
        try current.add(doc)
        if current.docCount >= options.maxDocsPerSegment || current.memoryBytes >= options.memoryBudget { try flush() }
    }

    /// Writes the in-memory segment to disk (not yet visible to readers until `commit`).
    public func flush() throws {
        guard current.docCount > 0 else { return }
        let id = segmentName(meta.nextSegment)
        meta.nextSegment += 1
        pending.append(try current.flush(directory: directory, segmentId: id, sync: options.sync))
        current = SegmentWriter(layout: layout)
    }

    /// Flushes and publishes everything added so far as a new commit; returns it.
    @discardableResult
    public func commit() throws -> IndexMeta {
        try flush()
        var next = meta
        next.segments += pending
        next.generation += 1
        try next.write(directory: directory, sync: options.sync)
        meta = next
        pending.removeAll()
        return meta
    }

    /// Replaces the committed segments with one merged segment (then commits).
    public func forceMerge() throws {
        try commit()
        guard meta.segments.count > 1 else { return }
        let id = segmentName(meta.nextSegment)
        meta.nextSegment += 1
        let merged = try SegmentMerger(directory: directory, layout: layout, segments: meta.segments)
            .merge(into: id, sync: options.sync)
        let old = meta.segments
        var next = meta
        next.segments = [merged]
        next.generation += 1
        try next.write(directory: directory, sync: options.sync)
        meta = next
        for s in old {
            for name in s.files.keys { try? FileSystem.remove(directory + "/" + name) }
        }
        try removeOldCommits()
    }

    /// Deletes commit files older than the current one.
    func removeOldCommits() throws {
        for g in try IndexMeta.generations(in: directory) where g < meta.generation {
            try FileSystem.remove(directory + "/" + IndexMeta.fileName(g))
        }
    }
}

/// "seg_000001"
func segmentName(_ n: Int) -> String {
    let s = String(n)
    return "seg_" + String(repeating: "0", count: max(0, 6 - s.count)) + s
}
