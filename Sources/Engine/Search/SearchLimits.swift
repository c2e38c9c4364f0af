import AisleIndex

/// What one search may cost, set by whoever runs the service (`aisle serve --limits FILE|JSON`),
/// whatever a request asks for. The defaults keep the most expensive request a client can send
/// to a bounded amount of work; README ("Limits") lists them.
///
/// - query parts, nesting and prefix expansions (`QueryLimits`): over them the request is refused
///   (400, naming the limit);
/// - typo and compound probes: dictionary look-ups and phrase counts the query rewriting may run;
///   past `maxProbes` the remaining words are searched as typed (the answer still comes);
/// - per-request `ranking` overrides are clamped to the `max*` values below;
/// - `explain` only for pages of at most `maxExplainHits`;
/// - `timeout`: the search stops and answers 503 when it runs longer.
public struct SearchLimits: Sendable, Equatable {
    public var query = QueryLimits()
    public var maxProbes = 64
    /// Unknown words longer than this (bytes) are not split into compounds.
    public var maxCompoundWordBytes = 32
    public var maxExplainHits = 20
    /// Seconds a search may run (0: no limit).
    public var timeout = 2.0

    // Ranking overrides a request may ask for, at most.
    public var maxRescoreWindow = 2_000
    public var maxProximitySlop = 10
    public var maxTypoCandidates = 5
    public var maxTypoRareDocs = 100
    public var maxRelaxBelow = 100
    public var maxFeedbackDocs = 20
    public var maxFeedbackTerms = 50
    public var maxFeedbackKeep = 100
    public var maxCoordinationWords = 16

    public init() {}

    /// No limits beyond the hard ones (for offline tools over trusted input: eval, run).
    public static var offline: SearchLimits {
        var l = SearchLimits()
        l.timeout = 0
        l.maxProbes = Int.max / 2
        l.maxCompoundWordBytes = Int.max / 2
        l.maxExplainHits = SearchRequest.maxLimit
        l.maxRescoreWindow = 100_000
        l.maxProximitySlop = 100
        l.maxTypoCandidates = 16
        l.maxTypoRareDocs = 1_000_000_000
        l.maxRelaxBelow = 10_000
        l.maxFeedbackDocs = 100
        l.maxFeedbackTerms = 200
        l.maxFeedbackKeep = 1_000
        l.maxCoordinationWords = 256
        return l
    }

    /// `o` with every option a request may raise clamped to these maxima.
    public func clamp(_ o: RankingOptions) -> RankingOptions {
        var o = o
        o.rescoreWindow = min(o.rescoreWindow, maxRescoreWindow)
        o.proximitySlop = min(o.proximitySlop, maxProximitySlop)
        o.typoCandidates = min(o.typoCandidates, maxTypoCandidates)
        o.typoRareDocs = min(o.typoRareDocs, maxTypoRareDocs)
        o.relaxBelow = min(o.relaxBelow, maxRelaxBelow)
        o.feedbackDocs = min(o.feedbackDocs, maxFeedbackDocs)
        o.feedbackTerms = min(o.feedbackTerms, maxFeedbackTerms)
        o.feedbackKeep = min(o.feedbackKeep, maxFeedbackKeep)
        o.coordinationMaxWords = min(o.coordinationMaxWords, maxCoordinationWords)
        return o
    }

    public static let keys = ["max_query_parts", "max_query_depth", "max_prefix_expansions", "max_probes",
                              "max_compound_word_bytes", "max_explain_hits", "timeout_ms", "max_rescore_window",
                              "max_proximity_slop", "max_typo_candidates", "max_typo_rare_docs", "max_relax_below",
                              "max_feedback_docs", "max_feedback_terms", "max_feedback_keep", "max_coordination_words"]

    /// Applies `{"timeout_ms": 500, "max_probes": 32, ...}`. Unknown keys and bad values are errors.
    public mutating func apply(_ v: JSONValue) throws {
        guard let obj = v.objectValue else { throw EngineError.input("limits must be a JSON object such as {\"timeout_ms\": 2000}") }
        for (k, x) in obj {
            func int(_ lo: Int, _ hi: Int) throws -> Int {
                guard let d = x.numberValue, let n = Int(exactly: d), n >= lo, n <= hi else {
                    throw EngineError.input("limits.\(k) must be an integer from \(lo) to \(hi)")
                }
                return n
            }
            switch k {
            case "max_query_parts": query.maxNodes = try int(1, 10_000)
            case "max_query_depth": query.maxDepth = try int(1, 256)
            case "max_prefix_expansions": query.maxPrefixExpansions = try int(0, 100_000)
            case "max_probes": maxProbes = try int(0, 100_000)
            case "max_compound_word_bytes": maxCompoundWordBytes = try int(0, 2_000)
            case "max_explain_hits": maxExplainHits = try int(0, SearchRequest.maxLimit)
            case "timeout_ms": timeout = Double(try int(0, 3_600_000)) / 1000
            case "max_rescore_window": maxRescoreWindow = try int(1, 100_000)
            case "max_proximity_slop": maxProximitySlop = try int(0, 100)
            case "max_typo_candidates": maxTypoCandidates = try int(1, 16)
            case "max_typo_rare_docs": maxTypoRareDocs = try int(0, 1_000_000_000)
            case "max_relax_below": maxRelaxBelow = try int(1, 10_000)
            case "max_feedback_docs": maxFeedbackDocs = try int(1, 100)
            case "max_feedback_terms": maxFeedbackTerms = try int(1, 200)
            case "max_feedback_keep": maxFeedbackKeep = try int(0, 1_000)
            case "max_coordination_words": maxCoordinationWords = try int(2, 256)
            default:
                throw EngineError.input("unknown limit \"\(k.prefix(60))\" (\(Self.keys.joined(separator: ", ")))")
            }
        }
    }

    public var json: JSONValue {
        .object([("max_query_parts", .number(Double(query.maxNodes))), ("max_query_depth", .number(Double(query.maxDepth))),
                 ("max_prefix_expansions", .number(Double(query.maxPrefixExpansions))),
                 ("max_probes", .number(Double(maxProbes))), ("max_compound_word_bytes", .number(Double(maxCompoundWordBytes))),
                 ("max_explain_hits", .number(Double(maxExplainHits))), ("timeout_ms", .number((timeout * 1000).rounded())),
                 ("max_rescore_window", .number(Double(maxRescoreWindow))), ("max_proximity_slop", .number(Double(maxProximitySlop))),
                 ("max_typo_candidates", .number(Double(maxTypoCandidates))), ("max_typo_rare_docs", .number(Double(maxTypoRareDocs))),
                 ("max_relax_below", .number(Double(maxRelaxBelow))), ("max_feedback_docs", .number(Double(maxFeedbackDocs))),
                 ("max_feedback_terms", .number(Double(maxFeedbackTerms))), ("max_feedback_keep", .number(Double(maxFeedbackKeep))),
                 ("max_coordination_words", .number(Double(maxCoordinationWords)))])
    }
}

/// Typo and compound probes a query's rewriting may still run (one per query parse).
public final class ProbeBudget: @unchecked Sendable {
    public let limit: Int
    public private(set) var used = 0
    /// Whether some probe was skipped because the budget ran out.
    public private(set) var ranOut = false

    public init(limit: Int) { self.limit = limit }

    /// Takes one probe; false (and `ranOut`) when none is left.
    public func take() -> Bool {
        guard used < limit else { ranOut = true; return false }
        used += 1
        return true
    }
}
