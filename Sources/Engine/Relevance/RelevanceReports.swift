import Foundation
import AisleIndex

/// The relevance tools' inputs and reports: query and judgment files, a query file run against an
/// index, and the text and JSON of a score, a comparison and a gate (what `aisle eval` prints).
public enum RelevanceReports {
    /// One side of a comparison: an index with search options, or a run file.
    public struct Side: Sendable {
        public var name: String
        public var label: String
        public var run: String?
        public var index: String?
        public var options: JSONValue?
        public var synonyms: String?
        public init(name: String, label: String, run: String? = nil, index: String? = nil, options: JSONValue? = nil, synonyms: String? = nil) {
            self.name = name
            self.label = label
            self.run = run
            self.index = index
            self.options = options
            self.synonyms = synonyms
        }
    }

    /// Notes for the user (repeated judgments, left-out queries), printed by the caller.
    public typealias Notes = [String]

    public static func loadJudgments(_ path: String, queries: [QueryRecord]?, queryFile: String?, settings: EvalSettings,
                                     ignoreMissing: Bool, notes: inout Notes) throws -> Judgments {
        var j = try Judgments.read(path: path)
        if j.duplicates > 0 { notes.append("note: \(j.duplicates) judgment\(j.duplicates == 1 ? "" : "s") repeated an earlier (query, document) pair; the last grade counts") }
        if let queries, let queryFile {
            let missing = Evaluator.queriesMissing(from: queries, judgments: j, settings: settings)
            if !missing.isEmpty {
                guard ignoreMissing else { throw Evaluator.missingQueriesError(missing, queryFile: queryFile) }
                notes.append("note: left out \(missing.count) judged quer\(missing.count == 1 ? "y" : "ies") that the query file lacks")
                for q in missing { j.grades[q] = nil }
                j.queryOrder.removeAll { j.grades[$0] == nil }
            }
        }
        return j
    }

    public static func readQueries(_ path: String, notes: inout Notes) throws -> [QueryRecord] {
        guard FileManager.default.fileExists(atPath: path) else { throw EngineError.input("query file \(path) does not exist") }
        let qs: [QueryRecord]
        do { qs = try QueryFile.read(path: path) } catch let EngineError.badLine(line, m) {
            throw EngineError.input("\(path): line \(line): \(m)")
        }
        guard !qs.isEmpty else { throw EngineError.input("the query file \(path) has no queries") }
        var seen = Set<String>()
        let dups = qs.filter { !seen.insert($0.id).inserted }.count
        if dups > 0 { notes.append("note: \(dups) quer\(dups == 1 ? "y id is" : "y ids are") repeated in \(path); the last one counts") }
        return qs
    }

    /// Runs a query file against an index with search options (offline: no limits).
    public static func search(index: String, queries: [QueryRecord], options: JSONValue?, depth: Int, threads: Int,
                              synonyms: String? = nil, behaviour: [BehaviourCounts] = [], progress: ProgressBar? = nil) throws -> SearchRunner.Outcome {
        guard FileManager.default.fileExists(atPath: index) else { throw EngineError.input("index directory \(index) does not exist") }
        let service = try SearchService(searcher: try Searcher.open(directory: index), synonyms: try SynonymSource.from(flag: synonyms),
                                        limits: .offline)
        service.behaviour.replace(behaviour)
        let runner = try SearchRunner(service: service, options: options, depth: depth)
        return runner.run(queries, threads: threads, progress: progress)
    }

    public static func idRankings(_ r: [(query: String, docs: [RankedDoc])]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (q, docs) in r { out[q] = docs.map { $0.id } }
        return out
    }

    public static func idRankings(_ r: [String: [RankedDoc]]) -> [String: [String]] { r.mapValues { $0.map { $0.id } } }

    public static func f4(_ d: Double?) -> String {
        guard let d, d.isFinite else { return "n/a" }
        return String(format: "%.4f", d)
    }

    /// A number as the settings show it (`3`, `2.5`).
    public static func num(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    public static func settingsLine(_ s: EvalSettings) -> String {
        var parts: [String] = []
        if let p = s.preset { parts.append("preset \(p)") }
        parts.append("gain \(s.gain.name)" + (s.gainScale.map { " (rounded to 1/\(num($0)))" } ?? ""))
        parts.append("relevant: gain >= \(num(s.relMinGain))")
        parts.append("min judged \(s.minJudged)")
        parts.append("ndcg@k = \(s.condensed ? "condensed" : "uncondensed")")
        parts.append("run order \(s.order.rawValue)")
        if s.allQueries { parts.append("all queries averaged") }
        return parts.joined(separator: ", ")
    }

    public static func tsvField(_ s: String) -> String {
        s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
    }

    // MARK: - Score

    public static func scoreText(_ r: EvalReport, label: String) -> String {
        let s = r.settings
        var out = "run: \(label)\n"
        out += "settings: \(settingsLine(s))\n"
        out += "queries: \(r.queries) judged with >= \(s.minJudged) judgments (NDCG over \(r.queriesNDCG) with a positive gain, binary metrics over \(r.queriesBinary) with a relevant document)\n"
        out += "zero_result: \(r.zeroResult)\n"
        let width = (r.metricNames.map { $0.count }.max() ?? 10) + 2
        for m in r.metricNames {
            var line = m.padding(toLength: width, withPad: " ", startingAt: 0) + f4(r.means[m])
            if m == s.primaryMetric {
                line += "  (\(s.condensed ? "condensed" : "uncondensed")" + (r.primaryStandardError.map { ", standard error \(f4($0))" } ?? "") + ")"
            }
            out += line + "\n"
        }
        if r.rankedWithoutJudgments > 0 {
            out += "note: \(r.rankedWithoutJudgments) ranked queries have no judgments (ignored)\n"
        }
        return String(out.dropLast())
    }

    public static func perQueryText(_ r: EvalReport, texts: [String: String], format: String?, path: String) throws -> String {
        let fmt = format ?? ((path.hasSuffix(".jsonl") || path.hasSuffix(".json")) ? "jsonl" : "tsv")
        var out = ""
        switch fmt {
        case "tsv":
            out = "query_id\ttext\tjudged\trelevant\tretrieved\t" + r.metricNames.joined(separator: "\t") + "\n"
            for q in r.perQuery {
                out += "\(tsvField(q.id))\t\(tsvField(texts[q.id] ?? ""))\t\(q.judged)\t\(q.relevant)\t\(q.retrieved)"
                for m in r.metricNames { out += "\t" + (q.values[m].map { String(format: "%.6f", $0) } ?? "") }
                out += "\n"
            }
        case "jsonl":
            for q in r.perQuery {
                var o: [(String, JSONValue)] = [("query_id", .string(q.id))]
                if let t = texts[q.id] { o.append(("text", .string(t))) }
                o += [("judged", .number(Double(q.judged))), ("relevant", .number(Double(q.relevant))),
                      ("retrieved", .number(Double(q.retrieved)))]
                for m in r.metricNames { if let v = q.values[m] { o.append((m, .number(v))) } }
                out += JSONValue.object(o).jsonText + "\n"
            }
        default:
            throw EngineError.input("--per-query-format must be tsv or jsonl")
        }
        return out
    }

    // MARK: - Compare

    public static func summaryMetrics(_ r: EvalReport) -> [String] {
        let s = r.settings
        return s.cutoffs.flatMap { ["ndcg@\($0)_condensed", "ndcg@\($0)_uncondensed"] } + ["map", "mrr"]
            + s.cutoffs.map { "p@\($0)" } + s.recallCutoffs.map { "recall@\($0)" }
    }

    public static func comparisonText(_ c: PairedComparison, a: Side, b: Side, ra: EvalReport, rb: EvalReport, texts: [String: String], worst: Int) -> String {
        var out = "settings: \(settingsLine(ra.settings))\n"
        out += "A: \(a.label)\nB: \(b.label)\n\n"
        out += "metric                 A        B      B - A\n"
        for m in summaryMetrics(ra) {
            let x = ra.means[m], y = rb.means[m]
            out += m.padding(toLength: 20, withPad: " ", startingAt: 0) + "  \(f4(x))   \(f4(y))   "
            out += (x != nil && y != nil ? String(format: "%+.4f", y! - x!) : "n/a") + "\n"
        }
        out += "zero_result".padding(toLength: 20, withPad: " ", startingAt: 0)
            + String(format: "  %6d   %6d   %+d\n", ra.zeroResult, rb.zeroResult, rb.zeroResult - ra.zeroResult)
        out += "\n\(c.metric) over \(c.queries.count) queries: A \(f4(c.meanA)), B \(f4(c.meanB))\n"
        out += String(format: "B - A = %+.4f  (SE %.4f, 95%% CI %+.4f .. %+.4f)\n", c.meanDelta, c.standardError,
                      c.meanDelta - 1.96 * c.standardError, c.meanDelta + 1.96 * c.standardError)
        out += "queries better \(c.wins), worse \(c.losses), tied \(c.ties)\n"
        out += String(format: "paired randomization test (%d sign flips, seed %llu): p = %.4g\n", c.permutations, c.seed, c.randomizationP)
        out += String(format: "paired t-test: t = %.3f, df = %d, p = %.4g\n", c.t, c.degreesOfFreedom, c.tTestP)
        let w = c.worse
        if w.isEmpty {
            out += "no query got worse"
        } else if worst <= 0 {
            out += "\(w.count) queries got worse (list them with --worst N)"
        } else {
            out += "queries that got worse (\(min(worst, w.count)) of \(w.count), worst first):\n"
            for q in w.prefix(worst) {
                out += String(format: "  %+.4f  %.4f -> %.4f  ", q.delta, q.a, q.b) + q.id
                if let t = texts[q.id] { out += "  \"\(t)\"" }
                out += "\n"
            }
            out = String(out.dropLast())
        }
        return out
    }

    public static func comparisonJSON(_ c: PairedComparison, a: Side, b: Side, ra: EvalReport, rb: EvalReport, texts: [String: String], worst: Int) -> JSONValue {
        func sideJSON(_ s: Side, _ r: EvalReport) -> JSONValue {
            var o: [(String, JSONValue)] = [("label", .string(s.label))]
            if let run = s.run { o.append(("run", .string(run))) }
            if let i = s.index { o.append(("index", .string(i))) }
            if let opts = s.options { o.append(("options", opts)) }
            o.append(("mean", .number(c.queries.isEmpty ? .nan : (s.name == "a" ? c.meanA : c.meanB))))
            o.append(("zero_result", .number(Double(r.zeroResult))))
            o.append(("metrics", .object(r.metricNames.compactMap { m in r.means[m].map { (m, .number($0)) } })))
            return .object(o)
        }
        func q(_ x: PairedComparison.Query) -> JSONValue {
            var o: [(String, JSONValue)] = [("query_id", .string(x.id))]
            if let t = texts[x.id] { o.append(("text", .string(t))) }
            o += [("a", .number(x.a)), ("b", .number(x.b)), ("delta", .number(x.delta))]
            return .object(o)
        }
        return .object([
            ("metric", .string(c.metric)), ("queries", .number(Double(c.queries.count))),
            ("a", sideJSON(a, ra)), ("b", sideJSON(b, rb)),
            ("mean_delta", .number(c.meanDelta)), ("standard_error", .number(c.standardError)),
            ("wins", .number(Double(c.wins))), ("losses", .number(Double(c.losses))), ("ties", .number(Double(c.ties))),
            ("randomization", .object([("permutations", .number(Double(c.permutations))), ("seed", .number(Double(c.seed))),
                                       ("p", .number(c.randomizationP))])),
            ("t_test", .object([("t", .number(c.t)), ("df", .number(Double(c.degreesOfFreedom))), ("p", .number(c.tTestP))])),
            ("worse", .array(c.worse.prefix(worst).map(q))),
            ("config", ra.settings.json),
        ])
    }

    /// Per query A, B and the difference: TSV, or JSON lines for a `.jsonl` / `.json` path.
    public static func comparisonPerQuery(_ c: PairedComparison, texts: [String: String], path: String) -> String {
        var out = ""
        if path.hasSuffix(".jsonl") || path.hasSuffix(".json") {
            for q in c.queries {
                var o: [(String, JSONValue)] = [("query_id", .string(q.id))]
                if let t = texts[q.id] { o.append(("text", .string(t))) }
                o += [("a", .number(q.a)), ("b", .number(q.b)), ("delta", .number(q.delta))]
                out += JSONValue.object(o).jsonText + "\n"
            }
        } else {
            out = "query_id\ttext\ta\tb\tdelta\n"
            for q in c.queries {
                out += "\(tsvField(q.id))\t\(tsvField(texts[q.id] ?? ""))\t" + String(format: "%.6f\t%.6f\t%+.6f", q.a, q.b, q.delta) + "\n"
            }
        }
        return out
    }

    // MARK: - Gate

    public static func gateJSON(_ result: RelevanceGate.Result, baseline b: RelevanceBaseline) -> JSONValue {
        var o: [(String, JSONValue)] = [("passed", .bool(result.passed)), ("tolerance", .number(result.tolerance))]
        o.append(("checks", .array(result.checks.map {
            .object([("metric", .string($0.metric)), ("baseline", .number($0.baseline)), ("current", .number($0.current)),
                     ("delta", .number($0.delta)), ("failed", .bool($0.failed))])
        })))
        o.append(("zero_result", .object([("baseline", b.zeroResult.map { .number(Double($0)) } ?? .null),
                                          ("current", .number(Double(result.report.zeroResult)))])))
        return .object(o)
    }

    public static func gateText(_ result: RelevanceGate.Result, baseline b: RelevanceBaseline, path: String) -> String {
        var out = "baseline: \(path) (\(result.report.queries) queries; tolerance \(num(result.tolerance)))"
        for c in result.checks {
            let mark = c.failed ? "FAIL" : (c.delta > result.tolerance ? "better" : "ok")
            out += String(format: "\n  %@ %.4f -> %.4f  (%+.4f)  %@", c.metric.padding(toLength: 22, withPad: " ", startingAt: 0),
                          c.baseline, c.current, c.delta, mark)
        }
        if let z = b.zeroResult, z != result.report.zeroResult {
            out += "\n  zero_result            \(z) -> \(result.report.zeroResult)"
        }
        return out
    }
}
