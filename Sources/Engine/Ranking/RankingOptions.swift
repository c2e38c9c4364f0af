import AisleIndex

/// Query-time ranking features, each switchable per request (`"ranking": {...}` in a JSON request)
/// or per server (`--ranking FILE`). The defaults are the configuration measured best on real
/// product searches (RELEVANCE.md).
public struct RankingOptions: Sendable, Equatable {
    /// Typo tolerance for words the index does not know.
    public var typo = true
    /// Words shorter than this get no correction; from `typoTwoEdits` letters on, two edits are allowed.
    public var typoMinLength = 3
    public var typoTwoEdits = 6
    /// How many corrections a word may expand to: candidates whose frequency (two-edit ones counted
    /// at a fifth) is at least `typoKeep` times the best candidate's, at most this many.
    public var typoCandidates = 3
    public var typoKeep = 0.1
    /// Weight of a corrected term relative to the typed one (times √(its frequency share)).
    public var typoWeight = 0.7
    /// A known word is still corrected when a candidate is this many times more frequent and the word
    /// itself is in at most `typoRareDocs` documents (misspellings present in a few titles).
    public var typoRareRatio = 50.0
    public var typoRareDocs = 0

    /// Query-time synonyms (from the server's synonyms file, if any).
    public var synonyms = true
    /// Weight of a synonym's terms relative to the typed words.
    public var synonymWeight = 0.7

    /// Compounds: an unknown word split into two known words that appear together (`tvstand` →
    /// "tv stand"), and two adjacent words joined into a known word (`dish washer` → dishwasher).
    public var compounds = true
    public var compoundWeight = 1.0

    /// Coordination: with operator "or", a product's score is scaled by the share of the query's
    /// words it matches (queries of at most `coordinationMaxWords` words).
    public var coordination = true
    public var coordinationMaxWords = 6

    /// Proximity: each pair of consecutive query words found side by side (within `proximitySlop`
    /// extra positions) adds `proximityBoost` times the query's mean word weight.
    public var proximityBoost = 0.3
    public var proximitySlop = 0

    /// Pseudo-relevance feedback: with operator "or", the products after the first `feedbackKeep`
    /// are ordered by the query plus the `feedbackTerms` words most typical of the top
    /// `feedbackDocs` products, so the tail of a long result list favours products like the best
    /// ones. The results themselves (and totals, facets) are the query's; pages that end within the
    /// first `feedbackKeep` results are unchanged and cost nothing extra.
    public var feedback = true
    public var feedbackDocs = 10
    public var feedbackTerms = 30
    public var feedbackWeight = 1.0
    public var feedbackKeep = 10

    /// Two-phase ranking: a rewritten query's matches are found and ranked without the proximity
    /// bonuses on the pruned MaxScore path, keeping every product within the bonuses' total of the
    /// page's last score (at most `rescoreWindow`); those are then ranked with the bonuses.
    public var rescoreWindow = 1000

    /// AND → OR relaxation: with operator "and", when the strict query finds fewer than
    /// `relaxBelow` products, the words become optional (products matching more of them first).
    public var relax = true
    public var relaxBelow = 1

    /// Shoppers' behaviour (opt-in, off by default): within the first `behaviourWindow` products
    /// by relevance, a product's score is multiplied by 1 + `behaviourWeight` × its boost for this
    /// query (0 to 1: its click and purchase rate, smoothed and capped; see `BehaviourSignals`),
    /// so a product shoppers chose can move up by at most that factor and a new one is not buried.
    public var behaviour = false
    public var behaviourWeight = 0.5
    public var behaviourWindow = 100

    public init() {}

    /// Everything off: plain BM25F over the typed words.
    public static var none: RankingOptions {
        var o = RankingOptions()
        o.typo = false
        o.synonyms = false
        o.compounds = false
        o.proximityBoost = 0
        o.coordination = false
        o.feedback = false
        o.relax = false
        return o
    }

    /// An index's defaults: every feature for indexes analysed for people (`product`, `english`,
    /// `standard`); plain BM25 when every text field uses `plain` or `keyword`, the analyzers for
    /// exact, engine-to-engine comparable term matching (as the benchmarks against other engines
    /// use).
    public static func defaults(for layout: SchemaLayout) -> RankingOptions {
        let raw = !layout.textGroups.isEmpty && layout.textGroups.allSatisfy { $0.analyzer == "plain" || $0.analyzer == "keyword" }
        return raw ? .none : RankingOptions()
    }

    public var expandsWords: Bool { typo || synonyms || compounds || coordination || proximityBoost > 0 }

    /// Applies `{"typo": false, "proximity_boost": 0.5, ...}` on top of these options. Unknown keys and
    /// wrong types are errors.
    public mutating func apply(_ v: JSONValue) throws {
        try RankingPatch.parse(v).apply(to: &self)
    }

    /// Sets one option by its key, checked.
    mutating func set(_ k: String, _ x: RankingPatch.Value) throws {
        func bool() throws -> Bool {
            guard case .bool(let b) = x else { throw EngineError.badRequest("ranking.\(k) must be true or false") }
            return b
        }
        func number(_ lo: Double, _ hi: Double) throws -> Double {
            guard case .number(let n) = x, n.isFinite, n >= lo, n <= hi else {
                throw EngineError.badRequest("ranking.\(k) must be a number from \(lo) to \(hi)")
            }
            return n
        }
        func int(_ lo: Int, _ hi: Int) throws -> Int {
            let n = try number(Double(lo), Double(hi))
            guard let i = Int(exactly: n) else { throw EngineError.badRequest("ranking.\(k) must be an integer") }
            return i
        }
        switch k {
        case "typo": typo = try bool()
        case "typo_min_length": typoMinLength = try int(1, 64)
        case "typo_two_edits": typoTwoEdits = try int(1, 64)
        case "typo_candidates": typoCandidates = try int(1, 16)
        case "typo_weight": typoWeight = try number(0, 10)
        case "typo_keep": typoKeep = try number(0, 1)
        case "coordination": coordination = try bool()
        case "coordination_max_words": coordinationMaxWords = try int(2, 256)
        case "typo_rare_ratio": typoRareRatio = try number(0, 1e9)
        case "typo_rare_docs": typoRareDocs = try int(0, 1_000_000_000)
        case "synonyms": synonyms = try bool()
        case "synonym_weight": synonymWeight = try number(0, 10)
        case "compounds": compounds = try bool()
        case "compound_weight": compoundWeight = try number(0, 10)
        case "proximity_boost": proximityBoost = try number(0, 100)
        case "proximity_slop": proximitySlop = try int(0, 100)
        case "feedback": feedback = try bool()
        case "feedback_docs": feedbackDocs = try int(1, 100)
        case "feedback_terms": feedbackTerms = try int(1, 200)
        case "feedback_weight": feedbackWeight = try number(0, 100)
        case "feedback_keep": feedbackKeep = try int(0, 1000)
        case "rescore_window": rescoreWindow = try int(1, 100_000)
        case "relax": relax = try bool()
        case "relax_below": relaxBelow = try int(1, 10_000)
        case "behaviour": behaviour = try bool()
        case "behaviour_weight": behaviourWeight = try number(0, 10)
        case "behaviour_window": behaviourWindow = try int(1, 1000)
        default:
            throw EngineError.badRequest("unknown ranking option \"\(k.prefix(60))\" (\(Self.keys.joined(separator: ", ")))")
        }
    }

    public static let keys = ["typo", "typo_min_length", "typo_two_edits", "typo_candidates", "typo_keep", "typo_weight",
                              "typo_rare_ratio", "typo_rare_docs", "synonyms", "synonym_weight", "compounds", "compound_weight",
                              "coordination", "coordination_max_words",
                              "proximity_boost", "proximity_slop", "feedback", "feedback_docs", "feedback_terms",
                              "feedback_weight", "feedback_keep", "rescore_window", "relax", "relax_below",
                              "behaviour", "behaviour_weight", "behaviour_window"]

    public var json: JSONValue {
        .object([("typo", .bool(typo)), ("typo_min_length", .number(Double(typoMinLength))),
                 ("typo_two_edits", .number(Double(typoTwoEdits))), ("typo_candidates", .number(Double(typoCandidates))),
                 ("typo_weight", .number(typoWeight)), ("typo_keep", .number(typoKeep)),
                 ("coordination", .bool(coordination)), ("coordination_max_words", .number(Double(coordinationMaxWords))), ("typo_rare_ratio", .number(typoRareRatio)),
                 ("typo_rare_docs", .number(Double(typoRareDocs))), ("synonyms", .bool(synonyms)),
                 ("synonym_weight", .number(synonymWeight)), ("compounds", .bool(compounds)),
                 ("compound_weight", .number(compoundWeight)), ("proximity_boost", .number(proximityBoost)),
                 ("proximity_slop", .number(Double(proximitySlop))), ("feedback", .bool(feedback)),
                 ("feedback_docs", .number(Double(feedbackDocs))), ("feedback_terms", .number(Double(feedbackTerms))),
                 ("feedback_weight", .number(feedbackWeight)), ("feedback_keep", .number(Double(feedbackKeep))),
                 ("rescore_window", .number(Double(rescoreWindow))), ("relax", .bool(relax)),
                 ("relax_below", .number(Double(relaxBelow))), ("behaviour", .bool(behaviour)),
                 ("behaviour_weight", .number(behaviourWeight)), ("behaviour_window", .number(Double(behaviourWindow)))])
    }
}

/// Changes to ranking options (a request's `ranking`, a server's `--ranking`), checked when parsed:
/// each key is a known option and each value in its range.
public struct RankingPatch: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case bool(Bool)
        case number(Double)
    }

    public struct Change: Sendable, Equatable {
        public var key: String
        public var value: Value
    }

    public private(set) var changes: [Change] = []

    public init() {}

    /// `{"typo": false, "rescore_window": 500}`; unknown keys, wrong types and values out of range
    /// are errors.
    public static func parse(_ v: JSONValue) throws -> RankingPatch {
        guard let obj = v.objectValue else { throw EngineError.badRequest("ranking must be an object such as {\"typo\": false}") }
        var patch = RankingPatch()
        var probe = RankingOptions()
        for (k, x) in obj {
            let value: Value
            switch x {
            case .bool(let b): value = .bool(b)
            case .number(let n): value = .number(n)
            default: value = .number(.nan)   // the option's own check names what it takes
            }
            try probe.set(k, value)
            patch.changes.append(Change(key: k, value: value))
        }
        return patch
    }

    public var isEmpty: Bool { changes.isEmpty }

    /// The options with these changes (each was checked when parsed).
    public func apply(to o: inout RankingOptions) {
        for c in changes { try? o.set(c.key, c.value) }
    }
}
