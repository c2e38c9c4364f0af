#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A full search request at the index level: the scored query, filters that narrow without
/// changing scores, facets counted over the matches, sort order and paging.
public struct SearchSpec: Sendable {
    public var query: Query
    public var filters: [Filter]
    public var facets: [FacetSpec]
    public var sort: SortSpec
    public var limit: Int
    public var offset: Int
    /// Deep paging: only hits strictly after this position of the sort order.
    public var searchAfter: SortPosition?
    public var trackTotalHits: TotalHitsTracking
    /// Ranking signals from numeric columns (popularity, rating, stock...) added to the text score
    /// when sorting by relevance. They read the current doc values, so in-place updates change
    /// rankings after the next refresh.
    public var boosts: [ScoreBoost]
    /// Two-phase ranking: `query` finds the matches and the best `rescore.window` of them by its
    /// (fast, prunable) score; those are then ranked by `rescore.query`'s score, and those it does
    /// not match are dropped. Relevance order only, without `searchAfter`.
    public var rescore: Rescore?
    /// When the search gives up (`IndexError.timedOut`); nil: never.
    public var deadline: SearchDeadline?
    /// Multi-select facets (true): a filter on a faceted field does not narrow that facet's own
    /// counts. False: every facet counts exactly the hits (Elasticsearch's aggregations).
    public var multiSelect = true
    /// Per-segment match counts and facet counts of faceted searches (nil: count every time).
    public var facetCache: SegmentFacetCache? = .shared
    /// The top-k loop for disjunctions of terms (`.auto`: chosen by the query's shape).
    public var disjunction: DisjunctionAlgorithm = .auto

    public init(query: Query = .matchAll, filters: [Filter] = [], facets: [FacetSpec] = [], sort: SortSpec = .relevance,
                limit: Int = 10, offset: Int = 0, searchAfter: SortPosition? = nil,
                trackTotalHits: TotalHitsTracking = .upTo(10_000), boosts: [ScoreBoost] = []) {
        self.boosts = boosts
        self.query = query
        self.filters = filters
        self.facets = facets
        self.sort = sort
        self.limit = limit
        self.offset = offset
        self.searchAfter = searchAfter
        self.trackTotalHits = trackTotalHits
    }
}

/// A numeric ranking signal: `weight · modifier(value)` is added to a document's text score, with
/// `missing` standing in for documents without a value. Modifiers are applied to values clamped at 0
/// (`log1p`: ln(1 + v), `sqrt`: √v); `none` uses the value as it is.
public struct ScoreBoost: Sendable, Equatable {
    public enum Modifier: String, Sendable, CaseIterable {
        case none, log1p, sqrt
    }

    public var field: Int
    public var weight: Double
    public var modifier: Modifier
    public var missing: Double

    public init(field: Int, weight: Double, modifier: Modifier = .log1p, missing: Double = 0) {
        self.field = field
        self.weight = weight
        self.modifier = modifier
        self.missing = missing
    }

    /// The amount added to the score for a document with `value`.
    @inline(__always) public func contribution(_ value: Double?) -> Double {
        let v = value ?? missing
        switch modifier {
        case .none: return weight * v
        case .log1p: return weight * log1p(Swift.max(0, v))
        case .sqrt: return weight * Swift.max(0, v).squareRoot()
        }
    }

    /// The sum of several boosts' contributions, in the order given (the order fixes rounding).
    public static func total(_ boosts: [ScoreBoost], _ values: (Int) -> Double?) -> Float {
        var sum = 0.0
        for b in boosts { sum += b.contribution(values(b.field)) }
        return Float(sum)
    }
}

/// The second phase of a two-phase ranking (`SearchSpec.rescore`).
public struct Rescore: Sendable, Equatable {
    public var query: Query
    public var window: Int
    /// When the second query scores every document at most `maxGain` above the first (fixed
    /// bonuses), the first phase keeps only documents within `maxGain` of the page's last score, and
    /// prunes accordingly: the result is then the same as rescoring every match (up to `window`).
    public var maxGain: Float?
    /// With `maxGain`: the second query's fixed bonuses alone, when the second query's score is
    /// exactly the first's plus the bonuses that match. Rescoring then tests only the bonuses
    /// (a phrase stops at its first occurrence) instead of scoring the words again.
    public var bonus: Query?

    public init(query: Query, window: Int, maxGain: Float? = nil, bonus: Query? = nil) {
        self.query = query
        self.window = window
        self.maxGain = maxGain
        self.bonus = maxGain == nil ? nil : bonus
    }
}

/// A filter on one field (by ordinal). Filters on the same field as a requested facet do not
/// narrow that facet's own counts (multi-select facets).
public struct Filter: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// Any of these exact values (keyword fields).
        case anyOf([String])
        /// The path or anything below it (keyword fields with a hierarchy).
        case path(String)
        /// min <= value <= max, either bound optional (numeric fields).
        case range(min: Double?, max: Double?)
        /// Boolean fields.
        case equals(Bool)
        /// A numeric range with each bound inclusive or not (nil: open).
        case bounds(NumericBounds)
        /// Documents with a value: numeric and keyword columns, keyword postings, text norms.
        case exists
        /// Documents with one of these ids (the field is ignored).
        case ids([String])
    }

    public var field: Int
    public var kind: Kind

    public init(field: Int, kind: Kind) {
        self.field = field
        self.kind = kind
    }
}

/// A numeric range whose bounds may each be exclusive.
public struct NumericBounds: Sendable, Hashable {
    public var min: Double?
    public var minInclusive: Bool
    public var max: Double?
    public var maxInclusive: Bool
    public init(min: Double?, minInclusive: Bool = true, max: Double?, maxInclusive: Bool = true) {
        self.min = min
        self.minInclusive = minInclusive
        self.max = max
        self.maxInclusive = maxInclusive
    }
    @inline(__always) public func contains(_ v: Double) -> Bool {
        if let lo = min, minInclusive ? v < lo : v <= lo { return false }
        if let hi = max, maxInclusive ? v > hi : v >= hi { return false }
        return true
    }
}

/// What to count over the matches.
public struct FacetSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The `size` most frequent values (ties: value order), plus the count of the others.
        case terms(size: Int)
        /// For a hierarchy field: counts along `path` (each level) and of the children of its last level
        /// (the top level's values when `path` is nil), at most `size` children.
        case hierarchy(path: String?, size: Int)
        /// Numeric ranges [from, to): given ones, or "nice" automatic ones from the matches' values.
        case ranges([NumericRange]?)
    }

    public var field: Int
    public var kind: Kind

    public init(field: Int, kind: Kind) {
        self.field = field
        self.kind = kind
    }
}

public struct NumericRange: Sendable, Hashable {
    public var from: Double?
    public var to: Double?
    public init(from: Double?, to: Double?) {
        self.from = from
        self.to = to
    }

    @inline(__always) func contains(_ v: Double) -> Bool {
        (from.map { v >= $0 } ?? true) && (to.map { v < $0 } ?? true)
    }
}

public enum SortSpec: Sendable, Equatable {
    /// By score, best first; ties by document order.
    case relevance
    /// By a numeric field; documents without a value last; ties by id.
    case field(Int, descending: Bool)
}

/// A position in a sort order, for `searchAfter`: the last hit of the previous page.
public enum SortPosition: Sendable, Equatable {
    case relevance(score: Float, doc: Int)
    /// value nil = documents without a value.
    case field(value: Double?, id: String)
}

public struct FacetResult: Sendable, Equatable {
    public struct Count: Sendable, Equatable {
        public var value: String
        public var count: Int
        public init(value: String, count: Int) {
            self.value = value
            self.count = count
        }
    }

    public struct RangeCount: Sendable, Equatable {
        public var from: Double?
        public var to: Double?
        public var count: Int
    }

    public var field: Int
    /// Terms: the top values. Hierarchy: the children of the deepest selected level.
    public var values: [Count] = []
    /// Terms and hierarchy children: documents with a value not among `values`.
    public var other: Int = 0
    /// Hierarchy: each level of the selected path with its count.
    public var path: [Count] = []
    /// Ranges.
    public var ranges: [RangeCount] = []
    public var min: Double?
    public var max: Double?
    /// Numeric fields: how many values were counted and their sum (for statistics).
    public var valueCount = 0
    public var sum = 0.0
}

public struct SearchHitResult: Sendable, Equatable {
    public var doc: Int
    public var score: Float
    /// The sort field's value (field sorts).
    public var sortValue: Double?

    public init(doc: Int, score: Float, sortValue: Double? = nil) {
        self.doc = doc
        self.score = score
        self.sortValue = sortValue
    }
}

public struct SearchOutcome: Sendable {
    public var hits: [SearchHitResult]
    public var totalHits: Int
    public var totalIsExact: Bool
    public var facets: [FacetResult]

    public init(hits: [SearchHitResult], totalHits: Int, totalIsExact: Bool, facets: [FacetResult]) {
        self.hits = hits
        self.totalHits = totalHits
        self.totalIsExact = totalIsExact
        self.facets = facets
    }
}
