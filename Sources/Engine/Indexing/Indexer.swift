import Foundation
import AisleIndex
import Synchronization

/// Builds an index from a corpus file: reads and analyses it on several threads (each thread takes
/// a contiguous part of the file and fills its own segments), then commits the segments in file
/// order, so document numbers follow the file.
public struct Indexer {
    public struct Options: Sendable {
        public var threads: Int
        /// Index the good lines and report the bad ones instead of stopping at the first.
        public var skipBad = false
        /// Memory for in-memory segments, all threads together.
        public var memoryBudget = 3 << 30
        public var sync = true
        /// Merge into one segment at the end.
        public var merge = false
        public var progress = true
        /// Distinct `attributes.*` keys the index may have at most.
        public var maxPatternFields = IndexLimits.defaultMaxPatternFields

        public init(threads: Int = min(2, ProcessInfo.processInfo.activeProcessorCount), skipBad: Bool = false) {
            self.threads = max(1, threads)
            self.skipBad = skipBad
        }
    }

    public struct Summary: Sendable {
        public var documents: Int
        public var skipped: Int
        /// The first few bad lines (line number, message).
        public var badLines: [(line: Int, message: String)]
        public var segments: Int
        public var indexBytes: UInt64
        public var seconds: Double
    }

    public let corpus: Corpus
    public let directory: String
    public let options: Options

    public init(corpus: Corpus, directory: String, options: Options) {
        self.corpus = corpus
        self.directory = directory
        self.options = options
    }

    /// Builds the index. On a bad line (without `skipBad`) nothing is committed and the error names
    /// the line.
    public func run(schema: Schema) throws -> Summary {
        let schema = Schemas.withDefaultPairs(schema)
        let t0 = Date()
        let writer: IndexWriter
        do {
            var wo = IndexWriter.Options(memoryBudget: options.memoryBudget / options.threads, sync: options.sync)
            wo.maxPatternFields = options.maxPatternFields
            writer = try IndexWriter(creating: directory, schema: schema, options: wo)
        } catch let e as IndexError {
            throw EngineError.input(e.description)
        }
        let parts = corpus.parts(options.threads)
        let progress = ProgressBar(label: "indexing", total: corpus.byteCount, enabled: options.progress ? nil : false)
        let stop = Atomic<Bool>(false)
        let results = Mutex<[Int: PartResult]>([:])
        let skipBad = options.skipBad
        let corpus = self.corpus
        DispatchQueue.concurrentPerform(iterations: parts.count) { pi in
            let r = Self.indexPart(parts[pi], corpus: corpus, writer: writer, skipBad: skipBad, stop: stop, progress: progress)
            results.withLock { $0[pi] = r }
        }
        progress.finish()
        let all = results.withLock { $0 }
        var segments: [SegmentMeta] = []
        var errors: [(line: Int, message: String)] = []
        var docs = 0, skipped = 0
        var failure: Error?
        for pi in 0..<parts.count {
            let r = all[pi]!
            segments += r.segments
            errors += r.bad
            docs += r.documents
            skipped += r.skipped
            if let f = r.failure, failure == nil { failure = f }
        }
        errors.sort { $0.line < $1.line }
        if let failure {
            for s in segments { for f in s.files.keys { try? FileSystem.remove(directory + "/" + f) } }
            if let first = errors.first, !skipBad {
                throw EngineError.badLine(line: first.line, message: first.message + " (nothing was indexed; --skip-bad indexes the other lines)")
            }
            throw failure
        }
        try writer.commit(adding: segments, userData: ["corpus": corpus.path, "format": corpus.format.rawValue])
        if options.merge && segments.count > 1 { try writer.forceMerge() }
        let finalMeta = writer.meta
        return Summary(documents: docs, skipped: skipped, badLines: Array(errors.prefix(20)),
                       segments: finalMeta.segments.count, indexBytes: FileSystem.directorySize(directory),
                       seconds: Date().timeIntervalSince(t0))
    }

    struct PartResult: @unchecked Sendable {
        var segments: [SegmentMeta] = []
        var documents = 0
        var skipped = 0
        var bad: [(line: Int, message: String)] = []
        var failure: Error?
    }

    static func indexPart(_ part: Corpus.Part, corpus: Corpus, writer: IndexWriter, skipBad: Bool, stop: borrowing Atomic<Bool>,
                          progress: ProgressBar) -> PartResult {
        var result = PartResult()
        let t0 = Date()
        do {
            let builder = try DocumentBuilder(writer: writer, format: corpus.format, header: corpus.header)
            var seg = writer.makeSegmentWriter()
            var doc = IndexDocument()
            var lastOffset = part.start
            var sinceReport = 0
            let base = corpus.bytes.baseAddress!
            try corpus.forEachLine(in: part) { line, bytes in
                if stop.load(ordering: .relaxed) { return false }
                do {
                    if corpus.format == .tsv {
                        try builder.build(tsv: bytes, into: &doc)
                    } else {
                        try builder.build(json: bytes, into: &doc)
                    }
                    let known = seg.layout.schema.fields.count
                    if doc.keywords.contains(where: { Int($0.field) >= known }) { writer.refreshLayout(of: seg) }
                    try seg.add(doc)
                    result.documents += 1
                } catch let e as EngineError {
                    result.bad.append((line, e.description))
                    if !skipBad {
                        result.failure = e
                        stop.store(true, ordering: .relaxed)
                        return false
                    }
                    result.skipped += 1
                    if result.bad.count > 20 { result.bad.removeLast() }
                } catch let e as IndexError {
                    result.bad.append((line, e.description))
                    if !skipBad {
                        result.failure = e
                        stop.store(true, ordering: .relaxed)
                        return false
                    }
                    result.skipped += 1
                    if result.bad.count > 20 { result.bad.removeLast() }
                }
                sinceReport += 1
                if sinceReport == 512 {
                    let off = UnsafeRawPointer(bytes.baseAddress!) - base
                    progress.advance(by: off - lastOffset, items: sinceReport)
                    lastOffset = off
                    sinceReport = 0
                }
                if seg.memoryBytes >= writer.options.memoryBudget {
                    if let m = try writer.flush(seg) { result.segments.append(m) }
                    seg = writer.makeSegmentWriter()
                }
                return true
            }
            progress.advance(by: part.end - lastOffset, items: sinceReport)
            if result.failure == nil, !stop.load(ordering: .relaxed) || skipBad {
                let tf = Date()
                if let m = try writer.flush(seg) { result.segments.append(m) }
                if ProcessInfo.processInfo.environment["AISLE_DEBUG_TIMING"] != nil {
                    FileHandle.standardError.write(Data("part \(part.firstLine): add \(tf.timeIntervalSince(t0)) s, flush \(Date().timeIntervalSince(tf)) s, terms \(seg.termCount)\n".utf8))
                }
            } else if result.failure == nil {
                result.failure = EngineError.input("stopped")
            }
        } catch {
            result.failure = error
            stop.store(true, ordering: .relaxed)
        }
        return result
    }
}
