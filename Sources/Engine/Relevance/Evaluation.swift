import Foundation

/// What an evaluation computes and over which queries.
public struct EvalSettings: Sendable, Equatable {
    /// The preset the settings started from (for display), if any.
    public var preset: String?
    public var gain: GainMapping = .identity
    /// When set, NDCG gains are rounded to multiples of 1/S (half up), as score.py hands trec_eval
    /// `round_half_up(gain * S)`; nil: exact fractional gains. Binary relevance uses the unrounded gain.
    public var gainScale: Double?
    /// Only queries with at least this many judgments (any grade) are evaluated.
    public var minJudged = 0
    /// A document is relevant for binary metrics (MAP, MRR, P, recall) when its gain is at least this.
    public var relMinGain = 1.0
    /// Which NDCG variant is reported as `ndcg@k`: condensed (unjudged documents removed first) or not.
    public var condensed = false
    /// Cutoffs for NDCG@k, P@k and judged@k.
    public var cutoffs = [10]
    /// Cutoffs for Recall@k.
    public var recallCutoffs = [100]
    /// How run files are ordered (runs made by searching are already in score, id order).
    public var order: RunOrder = .rank
    /// Average every metric over every evaluated query (as trec_eval -c) instead of NDCG over queries
    /// with some positive gain and binary metrics over queries with a relevant document.
    public var allQueries = false

    public init() {}

    public static let presetNames = ["homedepot", "cranfield"]

    /// The settings of `../shared/bench/score.py --preset NAME`.
    public static func preset(_ name: String) throws -> EvalSettings {
        var s = EvalSettings()
        s.preset = name
        switch name.lowercased() {
        case "homedepot":
            s.gain = .minus1
            s.gainScale = 3
            s.minJudged = 5
            s.relMinGain = 1.5
            s.condensed = true
        case "cranfield":
            s.gain = .cranfield
            s.minJudged = 0
            s.relMinGain = 2
            s.condensed = false
        default:
            throw EngineError.input("unknown preset \"\(name)\" (available: \(presetNames.joined(separator: ", ")))")
        }
        return s
    }

    public func validate() throws {
        guard !cutoffs.isEmpty, cutoffs.allSatisfy({ $0 >= 1 }) else { throw EngineError.input("cutoffs (--k) must be positive integers") }
        guard !recallCutoffs.isEmpty, recallCutoffs.allSatisfy({ $0 >= 1 }) else { throw EngineError.input("recall cutoffs (--recall-k) must be positive integers") }
        guard minJudged >= 0 else { throw EngineError.input("--min-judged must not be negative") }
        if let s = gainScale { guard s > 0, s.isFinite else { throw EngineError.input("--gain-scale must be positive (0 for exact gains)") } }
        guard relMinGain.isFinite else { throw EngineError.input("--rel-min-gain must be a number") }
    }

    /// The primary NDCG metric's name, e.g. `ndcg@10`.
    public var primaryMetric: String { "ndcg@\(cutoffs[0])" }

    public var json: JSONValue {
        var o: [(String, JSONValue)] = []
        if let preset { o.append(("preset", .string(preset))) }
        o.append(("gain", .string(gain.name)))
        o.append(("gain_scale", gainScale.map { .number($0) } ?? .null))
        o.append(("min_judged", .number(Double(minJudged))))
        o.append(("rel_min_gain", .number(relMinGain)))
        o.append(("condensed", .bool(condensed)))
        o.append(("k", .array(cutoffs.map { .number(Double($0)) })))
        o.append(("recall_k", .array(recallCutoffs.map { .number(Double($0)) })))
        o.append(("order", .string(order.rawValue)))
        o.append(("all_queries", .bool(allQueries)))
        return .object(o)
    }

    /// Settings from their JSON form (a baseline's `settings`): `preset` first, then the other keys.
    public static func parse(_ v: JSONValue) throws -> EvalSettings {
        guard let obj = v.objectValue else { throw EngineError.input("settings must be a JSON object") }
        var s = EvalSettings()
        if let p = v["preset"], !p.isNull {
            guard let name = p.stringValue else { throw EngineError.input("settings.preset must be a string") }
            s = try preset(name)
        }
        func ints(_ x: JSONValue, _ key: String) throws -> [Int] {
            if let n = x.numberValue, let i = Int(exactly: n), (-1_000_000...1_000_000).contains(i) { return [i] }
            guard let a = x.arrayValue else { throw EngineError.input("settings.\(key) must be an integer or a list of integers") }
            return try a.map {
                guard let n = $0.numberValue, let i = Int(exactly: n), (-1_000_000...1_000_000).contains(i) else {
                    throw EngineError.input("settings.\(key) must be a list of integers")
                }
                return i
            }
        }
        for (k, x) in obj {
            switch k {
            case "preset": break
            case "gain":
                guard let g = x.stringValue else { throw EngineError.input("settings.gain must be a string") }
                s.gain = try GainMapping(parsing: g)
            case "gain_scale":
                if x.isNull { s.gainScale = nil } else {
                    guard let n = x.numberValue else { throw EngineError.input("settings.gain_scale must be a number or null") }
                    s.gainScale = n == 0 ? nil : n
                }
            case "min_judged":
                guard let n = x.numberValue, let i = Int(exactly: n), (-1_000_000_000...1_000_000_000).contains(i) else {
                    throw EngineError.input("settings.min_judged must be an integer")
                }
                s.minJudged = i
            case "rel_min_gain":
                guard let n = x.numberValue else { throw EngineError.input("settings.rel_min_gain must be a number") }
                s.relMinGain = n
            case "condensed":
                guard let b = x.boolValue else { throw EngineError.input("settings.condensed must be true or false") }
                s.condensed = b
            case "k": s.cutoffs = try ints(x, k)
            case "recall_k": s.recallCutoffs = try ints(x, k)
            case "order":
                guard let o = x.stringValue.flatMap(RunOrder.init(rawValue:)) else {
                    throw EngineError.input("settings.order must be one of \(RunOrder.allCases.map { $0.rawValue }.joined(separator: ", "))")
                }
                s.order = o
            case "all_queries":
                guard let b = x.boolValue else { throw EngineError.input("settings.all_queries must be true or false") }
                s.allQueries = b
            default:
                throw EngineError.input("unknown settings key \"\(k)\" (preset, gain, gain_scale, min_judged, rel_min_gain, condensed, k, recall_k, order, all_queries)")
            }
        }
        try s.validate()
        return s
    }
}

/// One query's figures.
public struct QueryEvaluation: Sendable {
    public var id: String
    /// Judged documents, documents with a positive gain, relevant documents (binary).
    public var judged: Int
    public var positive: Int
    public var relevant: Int
    /// Documents in the (uncondensed) ranking.
    public var retrieved: Int
    /// Metric -> value; a metric the query does not take part in is absent.
    public var values: [String: Double]
}

/// The result of evaluating rankings against judgments.
public struct EvalReport: Sendable {
    public var settings: EvalSettings
    /// Queries evaluated (judged, with at least `minJudged` judgments).
    public var queries: Int
    /// Queries with some positive gain (NDCG's) and with a relevant document (binary metrics').
    public var queriesNDCG: Int
    public var queriesBinary: Int
    /// Evaluated queries with an empty ranking.
    public var zeroResult: Int
    public var zeroResultQueries: [String]
    /// Metric names in display order.
    public var metricNames: [String]
    public var means: [String: Double]
    /// Standard error over queries of the primary NDCG.
    public var primaryStandardError: Double?
    /// In query id order (by code points, as Python sorts).
    public var perQuery: [QueryEvaluation]
    /// Ranked queries that have no judgments at all (ignored).
    public var rankedWithoutJudgments: Int

    public subscript(metric: String) -> Double? { means[metric] }

    public var json: JSONValue {
        var o: [(String, JSONValue)] = [
            ("queries", .number(Double(queries))),
            ("queries_ndcg", .number(Double(queriesNDCG))),
            ("queries_binary", .number(Double(queriesBinary))),
            ("zero_result", .number(Double(zeroResult))),
        ]
        for m in metricNames { o.append((m, means[m].map { .number($0) } ?? .null)) }
        if let se = primaryStandardError { o.append(("\(settings.primaryMetric)_se", .number(se))) }
        o.append(("run_queries_without_judgments", .number(Double(rankedWithoutJudgments))))
        o.append(("config", settings.json))
        return .object(o)
    }
}

/// Computes the metrics of rankings against judgments, as `../shared/bench/score.py` and trec_eval do.
///
/// - Gains: `settings.gain` of each grade (optionally rounded to 1/`gainScale`); unjudged documents
///   have gain 0. Relevant (binary metrics): unrounded gain ≥ `relMinGain`.
/// - Queries: those in the judgments with ≥ `minJudged` judgments. NDCG is averaged over those with
///   some positive gain, binary metrics over those with a relevant document (or all with
///   `allQueries`). A query missing from the rankings counts 0 everywhere (a zero-result query).
/// - NDCG@k (trec_eval's ndcg_cut): linear gain, discount 1/log2(rank + 1), ideal = all judged
///   documents by gain; `ndcg_exp` the same with gain 2^g − 1. `_condensed`: unjudged documents
///   removed from the ranking first; `ndcg@k` is the variant `settings.condensed` picks.
/// - MAP (whole ranking), MRR, P@k, Recall@k on the full ranking; `_condensed` variants on the
///   condensed one. `judged@k`: share of judged documents in the top k (full ranking).
public enum Evaluator {
    public static func metricNames(_ s: EvalSettings) -> [String] {
        var names: [String] = []
        for k in s.cutoffs {
            names += ["ndcg@\(k)", "ndcg@\(k)_condensed", "ndcg@\(k)_uncondensed",
                      "ndcg_exp@\(k)", "ndcg_exp@\(k)_condensed", "ndcg_exp@\(k)_uncondensed"]
        }
        names += ["map", "mrr"] + s.cutoffs.map { "p@\($0)" } + s.recallCutoffs.map { "recall@\($0)" }
        names += ["map_condensed", "mrr_condensed"] + s.cutoffs.map { "p@\($0)_condensed" }
            + s.recallCutoffs.map { "recall@\($0)_condensed" }
        names += s.cutoffs.map { "judged@\($0)" }
        return names
    }

    /// Whether a metric is averaged over the NDCG query set (else over the binary one).
    static func isGraded(_ m: String) -> Bool { m.hasPrefix("ndcg") || m.hasPrefix("judged") }

    static func roundHalfUp(_ x: Double) -> Double { (x + 0.5 + 1e-9).rounded(.down) }

    /// Python's string order (code points), for query ids.
    public static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    public static func evaluate(rankings: [String: [String]], judgments: Judgments, settings s: EvalSettings) throws -> EvalReport {
        try s.validate()
        let names = metricNames(s)
        var per: [QueryEvaluation] = []
        var zeroQueries: [String] = []
        var nNDCG = 0, nBin = 0
        let qids = judgments.grades.keys.sorted(by: codePointLess)
        for q in qids {
            let grades = judgments.grades[q]!
            guard grades.count >= s.minJudged else { continue }
            var gains: [String: Double] = [:]
            for (d, g) in grades { gains[d] = try s.gain.gain(g) }
            let hasPositive = gains.values.contains { $0 > 0 }
            let relevant = Set(gains.filter { $0.value >= s.relMinGain }.keys)
            let full = rankings[q] ?? []
            if full.isEmpty { zeroQueries.append(q) }
            var qe = QueryEvaluation(id: q, judged: grades.count, positive: gains.values.filter { $0 > 0 }.count,
                                     relevant: relevant.count, retrieved: full.count, values: [:])
            let inNDCG = s.allQueries || hasPositive
            let inBin = s.allQueries || !relevant.isEmpty
            if inNDCG { nNDCG += 1 }
            if inBin { nBin += 1 }
            let cond = full.filter { gains[$0] != nil }
            if inNDCG {
                var g = gains
                if let scale = s.gainScale { for (d, x) in g { g[d] = roundHalfUp(x * scale) / scale } }
                var ge: [String: Double] = [:]
                for (d, x) in g { ge[d] = pow(2, x) - 1 }
                for k in s.cutoffs {
                    let c = RelevanceMetrics.ndcg(cond, gains: g, k: k), u = RelevanceMetrics.ndcg(full, gains: g, k: k)
                    let ce = RelevanceMetrics.ndcg(cond, gains: ge, k: k), ue = RelevanceMetrics.ndcg(full, gains: ge, k: k)
                    qe.values["ndcg@\(k)_condensed"] = c
                    qe.values["ndcg@\(k)_uncondensed"] = u
                    qe.values["ndcg@\(k)"] = s.condensed ? c : u
                    qe.values["ndcg_exp@\(k)_condensed"] = ce
                    qe.values["ndcg_exp@\(k)_uncondensed"] = ue
                    qe.values["ndcg_exp@\(k)"] = s.condensed ? ce : ue
                    qe.values["judged@\(k)"] = Double(full.prefix(k).filter { gains[$0] != nil }.count) / Double(k)
                }
            }
            if inBin {
                for (list, suffix) in [(full, ""), (cond, "_condensed")] {
                    qe.values["map" + suffix] = RelevanceMetrics.averagePrecision(list, relevant: relevant)
                    qe.values["mrr" + suffix] = RelevanceMetrics.reciprocalRank(list, relevant: relevant)
                    for k in s.cutoffs { qe.values["p@\(k)" + suffix] = RelevanceMetrics.precision(list, relevant: relevant, k: k) }
                    for k in s.recallCutoffs { qe.values["recall@\(k)" + suffix] = RelevanceMetrics.recall(list, relevant: relevant, k: k) }
                }
            }
            per.append(qe)
        }
        var means: [String: Double] = [:]
        for m in names {
            let n = isGraded(m) ? nNDCG : nBin
            guard n > 0 else { continue }
            var sum = 0.0
            for qe in per { if let v = qe.values[m] { sum += v } }
            means[m] = sum / Double(n)
        }
        var se: Double?
        let primary = s.primaryMetric
        let pv = per.compactMap { $0.values[primary] }
        if pv.count > 1 {
            let m = pv.reduce(0, +) / Double(pv.count)
            se = (pv.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(pv.count - 1) / Double(pv.count)).squareRoot()
        }
        let unjudged = rankings.keys.filter { judgments.grades[$0] == nil }.count
        return EvalReport(settings: s, queries: per.count, queriesNDCG: nNDCG, queriesBinary: nBin, zeroResult: zeroQueries.count,
                          zeroResultQueries: zeroQueries, metricNames: names, means: means, primaryStandardError: se,
                          perQuery: per, rankedWithoutJudgments: unjudged)
    }

    /// Judged queries (with at least `minJudged` judgments) that a query file lacks, in judgment order.
    public static func queriesMissing(from queries: [QueryRecord], judgments: Judgments, settings: EvalSettings) -> [String] {
        let have = Set(queries.map { $0.id })
        return judgments.queryOrder.filter { !have.contains($0) && judgments.grades[$0]!.count >= settings.minJudged }
    }

    /// The error for judged queries a query file lacks (they could only count as zero-result queries).
    public static func missingQueriesError(_ missing: [String], queryFile: String) -> EngineError {
        .input("the judgments have \(missing.count) quer\(missing.count == 1 ? "y" : "ies") that the query file \(queryFile) lacks (\(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", ..." : "")); use the matching query file, or --ignore-missing-queries to leave them out")
    }

    /// Checks that rankings and judgments belong together: an error when no ranked query is judged.
    public static func checkOverlap(rankings: [String: [String]], judgments: Judgments, what: String) throws {
        let ranked = rankings.keys.filter { !(rankings[$0] ?? []).isEmpty }
        guard !ranked.isEmpty else { return }
        if !ranked.contains(where: { judgments.grades[$0] != nil }) {
            let r = ranked.sorted(by: codePointLess).prefix(3).joined(separator: ", ")
            let j = judgments.queryOrder.prefix(3).joined(separator: ", ")
            throw EngineError.input("no query of the \(what) has judgments: the \(what) has query ids such as \(r), the judgments \(j); are these files from the same collection?")
        }
    }
}
