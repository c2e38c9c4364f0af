import Foundation
import AisleIndex

/// Builds an index for an evaluation from its inputs (corpus, optional schema, analyzer, format).
public enum EvalIndex {
    public struct Inputs: Sendable, Equatable {
        public var corpus: String
        public var schema: String?
        public var analyzer: String?
        public var format: String?
        public init(corpus: String, schema: String? = nil, analyzer: String? = nil, format: String? = nil) {
            self.corpus = corpus
            self.schema = schema
            self.analyzer = analyzer
            self.format = format
        }
    }

    /// Indexes `inputs` into `directory` (which must not hold an index) and returns the documents indexed.
    @discardableResult
    public static func build(_ inputs: Inputs, into directory: String, threads: Int = 1) throws -> Int {
        guard FileManager.default.fileExists(atPath: inputs.corpus) else { throw EngineError.input("corpus \(inputs.corpus) does not exist") }
        var fmt: CorpusFormat?
        if let f = inputs.format {
            guard let x = CorpusFormat(rawValue: f) else { throw EngineError.input("unknown corpus format \(f) (catalog, jsonl, tsv)") }
            fmt = x
        }
        let given = try inputs.schema.map { try Schemas.load(path: $0) }
        let c = try Corpus(path: inputs.corpus, format: fmt, schema: given)
        var s = c.schema
        if let a = inputs.analyzer {
            guard AnalyzerNames.all.contains(a) else {
                throw EngineError.input("unknown analyzer \(a) (available: \(AnalyzerNames.all.joined(separator: ", ")))")
            }
            s = Schemas.withAnalyzer(s, a)
        }
        var opts = Indexer.Options(threads: max(1, threads))
        opts.sync = false
        opts.progress = false
        return try Indexer(corpus: c, directory: directory, options: opts).run(schema: s).documents
    }

    /// A fresh temporary directory (the caller removes it).
    public static func temporaryDirectory(_ label: String) throws -> String {
        let p = NSTemporaryDirectory() + "aisle-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// A stored relevance baseline: the configuration (how to build or find the index, the queries, the
/// judgments, the search options, the evaluation settings) and the metric values it gave.
///
/// ```json
/// {"description": "...", "corpus": "../sample-catalog.jsonl", "analyzer": "english",
///  "queries": "queries.tsv", "qrels": "qrels.tsv", "options": {"operator": "or"}, "depth": 100,
///  "settings": {"gain": "identity", "rel_min_gain": 2, "k": [5, 10], "recall_k": [20]},
///  "tolerance": 0.01, "metrics": {"ndcg@10": 0.8123, "map": 0.7011}}
/// ```
/// Relative paths are relative to the baseline file's directory. Give `corpus` (the gate builds a
/// temporary index from it) or `index` (an existing index directory).
public struct RelevanceBaseline: Sendable {
    public var path: String
    public var description: String?
    public var index: EvalIndex.Inputs?
    public var indexDirectory: String?
    public var queries: String
    public var qrels: String
    public var options: JSONValue?
    public var depth: Int
    public var settings: EvalSettings
    public var tolerance: Double?
    /// Gated metrics and their baseline values, in file order (empty before the first `--update`).
    public var metrics: [(String, Double)]
    public var zeroResult: Int?
    public var queryCount: Int?

    public static let defaultTolerance = 0.01

    var directory: String { (path as NSString).deletingLastPathComponent }

    /// A path of the baseline resolved against the baseline's directory (as written when absolute).
    public func resolve(_ p: String) -> String {
        if p.hasPrefix("/") { return p }
        let d = directory
        return d.isEmpty ? p : d + "/" + p
    }

    public static func load(path: String) throws -> RelevanceBaseline {
        guard FileManager.default.fileExists(atPath: path) else { throw EngineError.input("baseline \(path) does not exist") }
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError.input("cannot read baseline \(path)") }
        let v: JSONValue
        do { v = try JSONValue.parse(String(decoding: data, as: UTF8.self)) } catch {
            throw EngineError.input("baseline \(path): \(error.description)")
        }
        do {
            return try parse(v, path: path)
        } catch let EngineError.input(m) {
            throw EngineError.input("baseline \(path): \(m)")
        }
    }

    public static func parse(_ v: JSONValue, path: String) throws -> RelevanceBaseline {
        guard let obj = v.objectValue else { throw EngineError.input("a baseline is a JSON object") }
        func str(_ k: String) throws -> String? {
            guard let x = v[k], !x.isNull else { return nil }
            guard let s = x.stringValue else { throw EngineError.input("\"\(k)\" must be a string") }
            return s
        }
        let known = ["description", "corpus", "schema", "analyzer", "format", "index", "queries", "qrels", "options",
                     "depth", "settings", "tolerance", "metrics", "zero_result", "queries_evaluated", "measured_with"]
        for (k, _) in obj where !known.contains(k) {
            throw EngineError.input("unknown key \"\(k)\" (known: \(known.joined(separator: ", ")))")
        }
        guard let queries = try str("queries") else { throw EngineError.input("\"queries\" (the query file) is missing") }
        guard let qrels = try str("qrels") else { throw EngineError.input("\"qrels\" (the judgment file) is missing") }
        var b = RelevanceBaseline(path: path, description: try str("description"), index: nil, indexDirectory: try str("index"),
                                  queries: queries, qrels: qrels, options: nil, depth: SearchRunner.defaultDepth,
                                  settings: EvalSettings(), tolerance: nil, metrics: [])
        if let corpus = try str("corpus") {
            b.index = EvalIndex.Inputs(corpus: corpus, schema: try str("schema"), analyzer: try str("analyzer"), format: try str("format"))
        }
        guard (b.index == nil) != (b.indexDirectory == nil) else {
            throw EngineError.input("give either \"corpus\" (to build the index) or \"index\" (an index directory)")
        }
        if let o = v["options"], !o.isNull {
            guard o.objectValue != nil else { throw EngineError.input("\"options\" must be a JSON object of search request keys") }
            b.options = o
        }
        if let d = v["depth"] {
            guard let n = d.numberValue, let depth = Int(exactly: n), depth >= 1, depth <= 1_000_000 else {
                throw EngineError.input("\"depth\" must be a positive integer")
            }
            b.depth = depth
        }
        if let s = v["settings"] { b.settings = try EvalSettings.parse(s) }
        if let t = v["tolerance"], !t.isNull {
            guard let n = t.numberValue, n >= 0 else { throw EngineError.input("\"tolerance\" must be a non-negative number") }
            b.tolerance = n
        }
        if let m = v["metrics"], !m.isNull {
            guard let o = m.objectValue else { throw EngineError.input("\"metrics\" must be an object of metric names and values") }
            b.metrics = try o.map { k, x in
                guard let n = x.numberValue else { throw EngineError.input("metric \(k) must be a number") }
                return (k, n)
            }
        }
        if let z = v["zero_result"]?.numberValue {
            guard let n = Int(exactly: z), n >= 0 else { throw EngineError.input("\"zero_result\" must be a non-negative integer") }
            b.zeroResult = n
        }
        if let q = v["queries_evaluated"]?.numberValue {
            guard let n = Int(exactly: q), n >= 0 else { throw EngineError.input("\"queries_evaluated\" must be a non-negative integer") }
            b.queryCount = n
        }
        return b
    }

    /// The metrics a new baseline gates: for each cutoff NDCG condensed and uncondensed, then MAP,
    /// MRR, P@k and Recall@k.
    public static func defaultMetrics(_ s: EvalSettings) -> [String] {
        s.cutoffs.flatMap { ["ndcg@\($0)_condensed", "ndcg@\($0)_uncondensed"] } + ["map", "mrr"]
            + s.cutoffs.map { "p@\($0)" } + s.recallCutoffs.map { "recall@\($0)" }
    }

    /// The baseline as JSON, with metric values from `report`.
    public func json(updatedFrom report: EvalReport) -> JSONValue {
        var o: [(String, JSONValue)] = []
        if let description { o.append(("description", .string(description))) }
        if let index {
            o.append(("corpus", .string(index.corpus)))
            if let s = index.schema { o.append(("schema", .string(s))) }
            if let a = index.analyzer { o.append(("analyzer", .string(a))) }
            if let f = index.format { o.append(("format", .string(f))) }
        }
        if let indexDirectory { o.append(("index", .string(indexDirectory))) }
        o.append(("queries", .string(queries)))
        o.append(("qrels", .string(qrels)))
        o.append(("options", options ?? .object([])))
        o.append(("depth", .number(Double(depth))))
        o.append(("settings", settings.json))
        o.append(("tolerance", .number(tolerance ?? Self.defaultTolerance)))
        let names = metrics.isEmpty ? Self.defaultMetrics(settings) : metrics.map { $0.0 }
        o.append(("metrics", .object(names.compactMap { m in
            report.means[m].map { (m, .number(($0 * 1e6).rounded() / 1e6)) }
        })))
        o.append(("zero_result", .number(Double(report.zeroResult))))
        o.append(("queries_evaluated", .number(Double(report.queries))))
        return .object(o)
    }

    public func write(updatedFrom report: EvalReport) throws {
        let text = PrettyJSON.text(json(updatedFrom: report)) + "\n"
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
            throw EngineError.input("cannot write baseline \(path): \(error.localizedDescription)")
        }
    }
}

/// The relevance gate: evaluates a baseline's configuration and compares with its stored values.
public enum RelevanceGate {
    public struct Check: Sendable {
        public var metric: String
        public var baseline: Double
        public var current: Double
        public var delta: Double { current - baseline }
        public var failed: Bool
    }

    public struct Result: Sendable {
        public var checks: [Check]
        public var tolerance: Double
        public var report: EvalReport
        public var failures: [(query: String, message: String)]
        public var passed: Bool { !checks.contains { $0.failed } }
        /// One line per failed metric: `ndcg@10 dropped from 0.8123 to 0.7011 (−0.1112; tolerance 0.01)`.
        public var failureMessages: [String] {
            checks.filter { $0.failed }.map {
                String(format: "%@ dropped from %.4f to %.4f (%+.4f; tolerance %g)", $0.metric, $0.baseline, $0.current, $0.delta, tolerance)
            }
        }
    }

    /// Evaluates the baseline's configuration (building its index in a temporary directory when it
    /// names a corpus); `options` replaces the stored search options' keys it names.
    public static func evaluate(_ b: RelevanceBaseline, options over: JSONValue? = nil, threads: Int = 1,
                                progress: Bool = false) throws -> (EvalReport, SearchRunner.Outcome) {
        let queries = try QueryFile.read(path: b.resolve(b.queries))
        guard !queries.isEmpty else { throw EngineError.input("the query file \(b.resolve(b.queries)) has no queries") }
        let judgments = try Judgments.read(path: b.resolve(b.qrels))
        let missing = Evaluator.queriesMissing(from: queries, judgments: judgments, settings: b.settings)
        guard missing.isEmpty else { throw Evaluator.missingQueriesError(missing, queryFile: b.resolve(b.queries)) }
        var dir: String
        var temp: String?
        if var inputs = b.index {
            inputs.corpus = b.resolve(inputs.corpus)
            inputs.schema = inputs.schema.map { b.resolve($0) }
            let t = try EvalIndex.temporaryDirectory("gate")
            temp = t
            dir = t + "/index"
            do { try EvalIndex.build(inputs, into: dir, threads: threads) } catch {
                try? FileManager.default.removeItem(atPath: t)
                throw error
            }
        } else {
            dir = b.resolve(b.indexDirectory!)
        }
        defer { if let temp { try? FileManager.default.removeItem(atPath: temp) } }
        var options = b.options
        if let over {
            options = .object(SearchOptions.merge(b.options?.objectValue ?? [], over.objectValue ?? []))
        }
        let service = try SearchService(searcher: try Searcher.open(directory: dir), limits: .offline)
        let runner = try SearchRunner(service: service, options: options, depth: b.depth)
        let bar = progress ? ProgressBar(label: "gate", total: queries.count, unit: "queries") : nil
        let outcome = runner.run(queries, threads: threads, progress: bar)
        bar?.finish()
        var rankings: [String: [String]] = [:]
        for (q, docs) in outcome.rankings { rankings[q] = docs.map { $0.id } }
        try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "query file")
        return (try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: b.settings), outcome)
    }

    /// Compares a report with the baseline's values: a metric fails when it dropped by more than the tolerance.
    public static func check(_ b: RelevanceBaseline, report: EvalReport, tolerance: Double? = nil) throws -> [Check] {
        let tol = tolerance ?? b.tolerance ?? RelevanceBaseline.defaultTolerance
        return try b.metrics.map { m, old in
            guard let new = report.means[m] else {
                throw EngineError.input("the baseline gates \(m), which this evaluation does not compute (available: \(report.metricNames.joined(separator: ", ")))")
            }
            return Check(metric: m, baseline: old, current: new, failed: new < old - tol - 1e-12)
        }
    }

    /// Evaluates and checks in one go.
    public static func run(_ b: RelevanceBaseline, options: JSONValue? = nil, tolerance: Double? = nil, threads: Int = 1,
                           progress: Bool = false) throws -> Result {
        let (report, outcome) = try evaluate(b, options: options, threads: threads, progress: progress)
        let checks = try check(b, report: report, tolerance: tolerance)
        return Result(checks: checks, tolerance: tolerance ?? b.tolerance ?? RelevanceBaseline.defaultTolerance,
                      report: report, failures: outcome.failures)
    }
}

/// Indented JSON for files people read and diff (objects one member a line; arrays of scalars inline).
public enum PrettyJSON {
    public static func text(_ v: JSONValue, indent: String = "") -> String {
        switch v {
        case .object(let o):
            if o.isEmpty { return "{}" }
            let inner = indent + "  "
            let members = o.map { k, x in inner + JSONValue.string(k).jsonText + ": " + text(x, indent: inner) }
            return "{\n" + members.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let a):
            if a.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }) { return v.jsonText }
            let inner = indent + "  "
            return "[\n" + a.map { inner + text($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            return v.jsonText
        }
    }
}
