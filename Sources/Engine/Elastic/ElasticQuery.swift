import AisleIndex

/// A value in a query (`term`, `terms`, `range`, `search_after`): a string, a number or a flag.
public enum ElasticValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public var text: String {
        switch self {
        case .string(let s): return s
        case .number(let d): return RequestResolver.keywordText(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

/// `minimum_should_match`: a count (negative: all but that many) or a percentage of the optional clauses.
public enum MinimumShouldMatch: Sendable, Equatable {
    case count(Int)
    case percent(Int)

    /// How many of `n` optional clauses must match.
    public func required(of n: Int) -> Int {
        switch self {
        case .count(let c): return c >= 0 ? min(c, n) : max(0, n + c)
        case .percent(let p):
            let x = Int((Double(n) * Double(abs(p)) / 100).rounded(.down))
            return p >= 0 ? min(x, n) : max(0, n - x)
        }
    }
}

/// How `multi_match` combines its fields (Elasticsearch's types Aisle supports).
public enum MultiMatchType: String, Sendable, CaseIterable {
    /// The best field's score (plus `tie_breaker` times the others').
    case bestFields = "best_fields"
    /// The sum of the fields' scores.
    case mostFields = "most_fields"
    /// The fields as one field (Aisle's BM25F over the fields).
    case crossFields = "cross_fields"
    /// `match_phrase` on each field, the best one scoring.
    case phrase
    /// Every word but the last as a term, the last as a prefix, on each field.
    case boolPrefix = "bool_prefix"
}

/// A full-text clause: `match` (one field), `multi_match` (several, or the index's text fields).
public struct MatchClause: Sendable, Equatable {
    /// Fields with their boosts (`title^3`); nil: the index's text fields, searched the way
    /// Aisle's own search does (typo tolerance, synonyms, compounds, proximity).
    public var fields: [(name: String, boost: Float)]?
    public var text: String
    public var type: MultiMatchType = .bestFields
    public var op: DefaultOperator = .or
    /// `fuzziness: AUTO`: typo alternatives of each word.
    public var fuzzy = false
    public var minimumShouldMatch: MinimumShouldMatch?
    public var tieBreaker: Float = 0
    public var slop = 0
    public var boost: Float = 1

    public init(fields: [(name: String, boost: Float)]?, text: String) {
        self.fields = fields
        self.text = text
    }

    public static func == (a: MatchClause, b: MatchClause) -> Bool {
        a.fields?.map { $0.name } == b.fields?.map { $0.name } && a.fields?.map { $0.boost } == b.fields?.map { $0.boost }
            && a.text == b.text && a.type == b.type && a.op == b.op && a.fuzzy == b.fuzzy
            && a.minimumShouldMatch == b.minimumShouldMatch && a.tieBreaker == b.tieBreaker && a.slop == b.slop && a.boost == b.boost
    }
}

/// `range` bounds (numbers, or date strings on date fields).
public struct RangeClause: Sendable, Equatable {
    public var gt: ElasticValue?
    public var gte: ElasticValue?
    public var lt: ElasticValue?
    public var lte: ElasticValue?
    public var boost: Float = 1
    public init() {}
}

/// `bool`.
public struct BoolClause: Sendable, Equatable {
    public var must: [ElasticQuery] = []
    public var should: [ElasticQuery] = []
    public var filter: [ElasticQuery] = []
    public var mustNot: [ElasticQuery] = []
    public var minimumShouldMatch: MinimumShouldMatch?
    public var boost: Float = 1
    public init() {}
}

/// The query DSL subset Aisle answers, as typed values (the HTTP edge parses the JSON).
public indirect enum ElasticQuery: Sendable, Equatable {
    case matchAll(boost: Float)
    case matchNone
    case match(MatchClause)
    /// `match_phrase` (one field).
    case phrase(field: String, text: String, slop: Int, boost: Float)
    /// `term` (one value) and `terms` (any of them).
    case terms(field: String, values: [ElasticValue], boost: Float)
    case range(field: String, RangeClause)
    case exists(field: String)
    case ids([String])
    case prefix(field: String, value: String, boost: Float)
    case bool(BoolClause)
}

/// An aggregation request.
public indirect enum ElasticAggregation: Sendable, Equatable {
    public enum Include: Sendable, Equatable {
        /// A Lucene-style regular expression over the whole value.
        case pattern(String)
        case values([String])
    }
    public enum Metric: String, Sendable, CaseIterable {
        case stats, min, max, avg, sum
        case valueCount = "value_count"
    }
    public struct RangeBucket: Sendable, Equatable {
        public var key: String?
        public var from: Double?
        public var to: Double?
        public init(key: String?, from: Double?, to: Double?) {
            self.key = key
            self.from = from
            self.to = to
        }
    }

    case terms(field: String, size: Int, include: Include?, exclude: Include?, subs: [NamedAggregation])
    case range(field: String, ranges: [RangeBucket], keyed: Bool, subs: [NamedAggregation])
    case histogram(field: String, interval: Double, offset: Double, minDocCount: Int, subs: [NamedAggregation])
    case filter(ElasticQuery, subs: [NamedAggregation])
    case filters([(key: String?, query: ElasticQuery)], keyed: Bool, subs: [NamedAggregation])
    case metric(Metric, field: String)

    public static func == (a: ElasticAggregation, b: ElasticAggregation) -> Bool {
        switch (a, b) {
        case let (.terms(f1, s1, i1, e1, x1), .terms(f2, s2, i2, e2, x2)): return f1 == f2 && s1 == s2 && i1 == i2 && e1 == e2 && x1 == x2
        case let (.range(f1, r1, k1, x1), .range(f2, r2, k2, x2)): return f1 == f2 && r1 == r2 && k1 == k2 && x1 == x2
        case let (.histogram(f1, i1, o1, m1, x1), .histogram(f2, i2, o2, m2, x2)): return f1 == f2 && i1 == i2 && o1 == o2 && m1 == m2 && x1 == x2
        case let (.filter(q1, x1), .filter(q2, x2)): return q1 == q2 && x1 == x2
        case let (.filters(b1, k1, x1), .filters(b2, k2, x2)):
            return b1.map { $0.key } == b2.map { $0.key } && b1.map { $0.query } == b2.map { $0.query } && k1 == k2 && x1 == x2
        case let (.metric(m1, f1), .metric(m2, f2)): return m1 == m2 && f1 == f2
        default: return false
        }
    }
}

public struct NamedAggregation: Sendable, Equatable {
    public var name: String
    public var aggregation: ElasticAggregation
    public init(name: String, aggregation: ElasticAggregation) {
        self.name = name
        self.aggregation = aggregation
    }
}

/// `sort`: relevance or one numeric, boolean or date field.
public enum ElasticSort: Sendable, Equatable {
    case score
    case field(String, descending: Bool)
}

/// A `_search` body as typed values.
public struct ElasticSearchRequest: Sendable, Equatable {
    public var query: ElasticQuery = .matchAll(boost: 1)
    public var postFilter: ElasticQuery?
    public var from = 0
    public var size = 10
    /// nil: relevance, and hits carry no `sort`.
    public var sort: ElasticSort?
    public var searchAfter: [ElasticValue]?
    public var trackTotalHits: TotalHitsTracking = .upTo(10_000)
    public var aggregations: [NamedAggregation] = []
    public init() {}
}
