/// A query: a recipe for a set of documents and how to score them. Terms are already analysed
/// (the engine runs the field's analyzer); `slot` is the text group or keyword field they belong to.
public indirect enum Query: Sendable, Hashable {
    /// A term in a text group (BM25F-scored) or a keyword field (score 0: a filter).
    case term(TermQuery)
    /// Terms at given relative positions, within `slop`, in the same field.
    case phrase(PhraseQuery)
    /// Every term of the slot that starts with a prefix (expanded at search time).
    case prefix(PrefixQuery)
    case boolean(BooleanQuery)
    /// Any of the clauses; the score is the best clause's, plus `tieBreaker` times the others'
    /// (alternatives of one word: a typo correction, a synonym, a compound).
    case disMax(DisMaxQuery)
    /// The documents of `query`, each scoring `score` (a fixed bonus, e.g. for words found side by side).
    case constant(ConstantQuery)
    /// Every document, score 0.
    case matchAll
    /// No document.
    case matchNone
    /// The documents passing a filter (a range, a value, existence, ids), score 0: a filter that
    /// can sit anywhere in a boolean query (inside `should` or `mustNot`, nested).
    case filter(Filter)
}

/// Which fields of a text group a query looks at, as a mask of member indexes (nil: all of them).
public typealias FieldMask = UInt32

public struct TermQuery: Sendable, Equatable, Hashable {
    public var slot: Int
    public var term: [UInt8]
    public var fields: FieldMask?
    public var boost: Float

    public init(slot: Int, term: [UInt8], fields: FieldMask? = nil, boost: Float = 1) {
        self.slot = slot
        self.term = term
        self.fields = fields
        self.boost = boost
    }

    public init(slot: Int, term: String, fields: FieldMask? = nil, boost: Float = 1) {
        self.init(slot: slot, term: Array(term.utf8), fields: fields, boost: boost)
    }
}

public struct PhraseQuery: Sendable, Hashable {
    public var slot: Int
    public var terms: [[UInt8]]
    /// Relative position of each term (from the analyzer, so removed stop words leave their gap).
    public var positions: [Int32]
    public var slop: Int
    public var fields: FieldMask?
    public var boost: Float

    public init(slot: Int, terms: [[UInt8]], positions: [Int32]? = nil, slop: Int = 0, fields: FieldMask? = nil,
                boost: Float = 1) {
        self.slot = slot
        self.terms = terms
        self.positions = positions ?? terms.indices.map { Int32($0) }
        self.slop = slop
        self.fields = fields
        self.boost = boost
    }
}

public struct PrefixQuery: Sendable, Hashable {
    public var slot: Int
    public var prefix: [UInt8]
    public var fields: FieldMask?
    public var boost: Float
    /// At most this many terms (the first ones in byte order) are searched.
    public var maxExpansions: Int
    /// More terms than `maxExpansions` is an error (`IndexError.invalidQuery`) instead of a search
    /// of the first ones.
    public var strict = false

    /// Terms a prefix expands to at most, unless told otherwise.
    public static let defaultMaxExpansions = 64

    public init(slot: Int, prefix: [UInt8], fields: FieldMask? = nil, boost: Float = 1, maxExpansions: Int = PrefixQuery.defaultMaxExpansions,
                strict: Bool = false) {
        self.strict = strict
        self.slot = slot
        self.prefix = prefix
        self.fields = fields
        self.boost = boost
        self.maxExpansions = maxExpansions
    }
}

/// must: every clause matches (scores add up); should: optional, adds score (with no must clause,
/// at least `minimumShouldMatch` (default 1) must match); mustNot: excludes.
/// `coordination` (only without must clauses): the summed score is multiplied by the share of
/// should clauses the document matches, so products with more of the words rank first.
public struct BooleanQuery: Sendable, Hashable {
    public var must: [Query]
    public var should: [Query]
    public var mustNot: [Query]
    public var minimumShouldMatch: Int
    public var coordination: Bool

    public init(must: [Query] = [], should: [Query] = [], mustNot: [Query] = [], minimumShouldMatch: Int = 0,
                coordination: Bool = false) {
        self.must = must
        self.should = should
        self.mustNot = mustNot
        self.minimumShouldMatch = minimumShouldMatch
        self.coordination = coordination
    }
}

public struct ConstantQuery: Sendable, Hashable {
    public var query: Query
    public var score: Float

    public init(query: Query, score: Float) {
        self.query = query
        self.score = score
    }
}

public struct DisMaxQuery: Sendable, Hashable {
    public var clauses: [Query]
    public var tieBreaker: Float

    public init(clauses: [Query], tieBreaker: Float = 0) {
        self.clauses = clauses
        self.tieBreaker = tieBreaker
    }
}

extension Query {
    /// All terms of all clauses (for statistics).
    func collectTerms(into out: inout [TermKey]) {
        switch self {
        case .term(let t): out.append(TermKey(slot: t.slot, term: t.term))
        case .phrase(let p): for t in p.terms { out.append(TermKey(slot: p.slot, term: t)) }
        case .prefix: break
        case .boolean(let b):
            for q in b.must { q.collectTerms(into: &out) }
            for q in b.should { q.collectTerms(into: &out) }
            for q in b.mustNot { q.collectTerms(into: &out) }
        case .disMax(let d):
            for q in d.clauses { q.collectTerms(into: &out) }
        case .constant(let c):
            c.query.collectTerms(into: &out)
        case .matchAll, .matchNone, .filter: break
        }
    }
}

public struct TermKey: Hashable, Sendable {
    public var slot: Int
    public var term: [UInt8]
    public init(slot: Int, term: [UInt8]) {
        self.slot = slot
        self.term = term
    }
}
