import Foundation
import AisleIndex

/// Builds an index from records that arrive as a stream (a database cursor, not a file): the
/// producer hands batches of typed records to `add`, worker threads analyse and invert them into
/// their own segments (as `Indexer` does for the parts of a file), and `finish` commits the
/// segments with the given user data. `add` blocks while the workers are behind, so memory
/// stays bounded. Batches are taken in order, so each segment's ids increase when the stream's do.
public final class StreamIndexer: @unchecked Sendable {
    public struct Summary: Sendable {
        public var documents: Int
        public var segments: Int
        public var indexBytes: UInt64
        public var seconds: Double
    }

    public let directory: String
    private let writer: IndexWriter
    private let format: CorpusFormat
    private let cond = NSCondition()
    private var queue: [[Record]] = []
    private var closed = false
    private var failure: Error?
    private var segments: [[SegmentMeta]]
    private var documents: [Int]
    private var running: Int
    private let maxQueued: Int
    private let t0 = Date()
    private let progress: ProgressBar?

    /// Creates the index in `directory` (which must not hold one) and starts `options.threads` workers.
    public init(directory: String, schema: Schema, format: CorpusFormat = .catalog, options: Indexer.Options,
                progress: ProgressBar? = nil) throws {
        let schema = Schemas.withDefaultPairs(schema)
        self.directory = directory
        self.format = format
        self.progress = progress
        do {
            var wo = IndexWriter.Options(memoryBudget: options.memoryBudget / options.threads, sync: options.sync)
            wo.maxPatternFields = options.maxPatternFields
            writer = try IndexWriter(creating: directory, schema: schema, options: wo)
        } catch let e as IndexError {
            throw EngineError.input(e.description)
        }
        let n = max(1, options.threads)
        segments = Array(repeating: [], count: n)
        documents = Array(repeating: 0, count: n)
        running = n
        maxQueued = 2 * n
        for w in 0..<n {
            let t = Thread { [self] in work(w) }
            t.name = "aisle-stream-index-\(w)"
            t.start()
        }
    }

    /// Queues a batch of records; blocks while the workers are behind. Throws the first worker
    /// error (a record that could not be indexed).
    public func add(_ records: [Record]) throws {
        cond.lock()
        defer { cond.unlock() }
        while queue.count >= maxQueued && failure == nil { cond.wait() }
        if let failure { throw failure }
        queue.append(records)
        cond.broadcast()
    }

    private func work(_ w: Int) {
        var builder: DocumentBuilder?
        var seg = writer.makeSegmentWriter()
        var doc = IndexDocument()
        func fail(_ e: Error) {
            cond.lock()
            if failure == nil { failure = e }
            cond.broadcast()
            cond.unlock()
        }
        do {
            builder = try DocumentBuilder(writer: writer, format: format)
        } catch {
            fail(error)
        }
        while true {
            cond.lock()
            while queue.isEmpty && !closed && failure == nil { cond.wait() }
            if failure != nil || (queue.isEmpty && closed) {
                cond.unlock()
                break
            }
            let batch = queue.removeFirst()
            cond.broadcast()
            cond.unlock()
            guard let b = builder else { break }
            do {
                for rec in batch {
                    do { try b.build(record: rec, into: &doc) } catch let e as EngineError {
                        let id: String = { if case .text(let s)? = rec[b.idFieldName] { return s }; return "?" }()
                        throw EngineError.input("record \(id.prefix(80)): \(e.description)")
                    }
                    let known = seg.layout.schema.fields.count
                    if doc.keywords.contains(where: { Int($0.field) >= known }) { writer.refreshLayout(of: seg) }
                    try seg.add(doc)
                }
                progress?.advance(by: batch.count, items: batch.count)
                cond.lock()
                documents[w] += batch.count
                cond.unlock()
                if seg.memoryBytes >= writer.options.memoryBudget {
                    if let m = try writer.flush(seg) {
                        cond.lock()
                        segments[w].append(m)
                        cond.unlock()
                    }
                    seg = writer.makeSegmentWriter()
                }
            } catch {
                fail(error)
                break
            }
        }
        do {
            let ok = cond.withLock { failure == nil }
            if ok, let m = try writer.flush(seg) {
                cond.withLock { segments[w].append(m) }
            }
        } catch {
            fail(error)
        }
        cond.withLock {
            running -= 1
            cond.broadcast()
        }
    }

    /// Waits for the workers, then commits every segment with `userData`. On a failure nothing is
    /// committed (the segments written are removed) and the error is thrown.
    public func finish(userData: [String: String]) throws -> Summary {
        cond.lock()
        closed = true
        cond.broadcast()
        while running > 0 { cond.wait() }
        let failure = self.failure
        let segs = segments.flatMap { $0 }
        let docs = documents.reduce(0, +)
        cond.unlock()
        progress?.finish()
        if let failure {
            for s in segs { for f in s.files.keys { try? FileSystem.remove(directory + "/" + f) } }
            throw failure
        }
        try writer.commit(adding: segs, userData: userData)
        return Summary(documents: docs, segments: segs.count, indexBytes: FileSystem.directorySize(directory),
                       seconds: Date().timeIntervalSince(t0))
    }

    /// Stops the workers without committing (after an error of the producer).
    public func abandon() {
        cond.lock()
        if failure == nil { failure = EngineError.input("abandoned") }
        closed = true
        cond.broadcast()
        while running > 0 { cond.wait() }
        let segs = segments.flatMap { $0 }
        cond.unlock()
        progress?.finish()
        for s in segs { for f in s.files.keys { try? FileSystem.remove(directory + "/" + f) } }
    }
}
