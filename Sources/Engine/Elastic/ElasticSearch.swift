import Foundation
import AisleIndex

/// One hit of a `_search`.
public struct ElasticHit: Sendable {
    public var doc: Int
    public var id: String
    /// nil when sorted by a field (Elasticsearch's `_score: null`).
    public var score: Float?
    /// The hit's sort values (what `search_after` takes back); nil without an explicit `sort`.
    public var sort: [ElasticValue]?
}

/// An aggregation's answer.
public indirect enum AggregationResult: Sendable {
    public enum Kind: Sendable { case terms, range, histogram, filters }
    /// Buckets (terms, range, histogram, filters); `sumOther` for terms.
    case buckets(Kind, [AggregationBucket], sumOther: Int?, keyed: Bool)
    /// `filter`: one bucket, inline.
    case single(docCount: Int, subs: [NamedAggregationResult])
    /// Statistics of a numeric field over the matches (`count` values).
    case metric(ElasticAggregation.Metric, count: Int, min: Double?, max: Double?, sum: Double)
}

public struct AggregationBucket: Sendable {
    public var key: ElasticValue
    public var keyAsString: String?
    public var from: Double?
    public var to: Double?
    public var docCount: Int
    public var subs: [NamedAggregationResult]
}

public struct NamedAggregationResult: Sendable {
    public var name: String
    public var result: AggregationResult
}

/// A `_search` answer: hits on one snapshot (`searcher`, for `_source` and highlights), totals
/// and aggregations.
public struct ElasticSearchResult: Sendable {
    public var searcher: Searcher
    public var total: Int
    public var totalIsExact: Bool
    public var maxScore: Float?
    public var hits: [ElasticHit]
    public var aggregations: [NamedAggregationResult]
    /// Analysed query terms per text group, for highlighting.
    public var highlightTerms: [Int: Set<[UInt8]>]
}

extension ElasticIndex {
    /// Runs a `_search` on the current snapshot. Errors are Elasticsearch's (400 naming what is
    /// unsupported; 503 on a timeout is left to the caller as `IndexError.timedOut`).
    public func search(_ request: ElasticSearchRequest, deadline: SearchDeadline? = nil) throws -> ElasticSearchResult {
        try serving.searchStarting()
        let searcher = service.searcher
        var run = try ElasticSearchRun(index: self, searcher: searcher, deadline: deadline ?? service.makeDeadline())
        return try run.execute(request)
    }

    /// A field as the DSL names it, with its schema ordinal; nil when the mapping does not know it.
    func resolve(_ name: String, in schema: Schema) -> (field: ElasticField, ordinal: Int)? {
        guard let f = definition.fields[name], let o = schema.ordinal(of: f.field) else { return nil }
        return (f, o)
    }

    /// Byte ranges of `text` whose terms (analysed with text group `group`'s analyzer) are in `terms`.
    public func highlights(in text: String, terms: Set<[UInt8]>, group: Int) -> [Range<Int>] {
        service.highlights(in: text, terms: terms, group: group)
    }

    /// The text group of an Elasticsearch field name (text fields only).
    public func textGroup(of name: String) -> Int? {
        let s = service.searcher
        guard let (f, o) = resolve(name, in: s.layout.schema), f.role == .text else { return nil }
        return s.layout.groupOfField[o]?.group
    }
}

/// The state of one `_search`: the snapshot, the compiled parts and the number of passes made.
struct ElasticSearchRun {
    let index: ElasticIndex
    let searcher: Searcher
    let deadline: SearchDeadline?
    let ctx: SearchService.Context
    let probes: ProbeBudget
    var highlight: [Int: Set<[UInt8]>] = [:]
    var passes = 0
    /// Aggregation passes one request may make (each bucket with sub-aggregations is one).
    static let maxPasses = 1_000
    /// Buckets a histogram may have.
    static let maxHistogramBuckets = 10_000
    /// Values a terms aggregation with `include`/`exclude` may look through.
    static let maxTermsScan = 1_000_000

    init(index: ElasticIndex, searcher: Searcher, deadline: SearchDeadline?) throws {
        self.index = index
        self.searcher = searcher
        self.deadline = deadline
        ctx = try index.service.context(searcher)
        probes = ProbeBudget(limit: index.service.limits.maxProbes)
    }

    var schema: Schema { searcher.layout.schema }
    var layout: SchemaLayout { searcher.layout }

    func bad(_ reason: String) -> ElasticError { ElasticError("illegal_argument_exception", reason) }

    // MARK: - Fields

    func field(_ name: String) -> (field: ElasticField, ordinal: Int)? { index.resolve(name, in: schema) }

    func number(_ v: ElasticValue, for f: ElasticField) throws -> Double {
        switch v {
        case .number(let d): return d
        case .string(let s):
            if f.role == .date, let ms = DateValue.epochMilliseconds(s) { return ms }
            if let d = Double(s), d.isFinite { return d }
            throw ElasticError("parse_exception", f.role == .date ? "failed to parse date field [\(s.prefix(80))]" : "For input string: \"\(s.prefix(80))\"")
        case .bool(let b): return b ? 1 : 0
        case .null: throw bad("a value of field [\(f.field)] must not be null")
        }
    }

    // MARK: - Queries

    /// A query as an index query. `scoring`: in query context (scores count); otherwise filter
    /// context (score 0).
    mutating func compile(_ q: ElasticQuery, scoring: Bool) throws -> Query {
        try deadline?.check()
        switch q {
        case .matchAll(let boost):
            return scoring && boost != 0 ? .constant(ConstantQuery(query: .matchAll, score: boost)) : .matchAll
        case .matchNone:
            return .matchNone
        case .match(let m):
            let t = try text(m, scoring: scoring)
            return scoring ? t : .constant(ConstantQuery(query: t, score: 0))
        case .phrase(let name, let text, let slop, let boost):
            let t = try phrase(name, text, slop: slop, boost: boost)
            return scoring ? t : .constant(ConstantQuery(query: t, score: 0))
        case .terms(let name, let values, let boost):
            guard let (f, o) = field(name) else { return .matchNone }
            guard !values.isEmpty else { return .matchNone }
            let inner: Query
            switch f.role {
            case .id:
                inner = .filter(Filter(field: layout.idOrdinal, kind: .ids(values.map { $0.text })))
            case .keyword:
                inner = .filter(Filter(field: o, kind: .anyOf(values.map { $0.text })))
            case .text:
                // Elasticsearch does not analyse a term: it is matched as an indexed token.
                guard let g = layout.groupOfField[o] else { return .matchNone }
                let ts = values.map { Query.term(TermQuery(slot: g.group, term: $0.text, fields: FieldMask(1) << UInt32(g.member), boost: boost)) }
                for v in values { highlight[g.group, default: []].insert(Array(v.text.utf8)) }
                let t: Query = ts.count == 1 ? ts[0] : .boolean(BooleanQuery(should: ts))
                return scoring ? t : .constant(ConstantQuery(query: t, score: 0))
            case .boolean:
                var flags = Set<Bool>()
                for v in values {
                    switch v {
                    case .bool(let b): flags.insert(b)
                    case .string("true"): flags.insert(true)
                    case .string("false"): flags.insert(false)
                    default: throw bad("Can't parse boolean value [\(v.text.prefix(40))], expected [true] or [false]")
                    }
                }
                inner = flags.count == 2 ? .filter(Filter(field: o, kind: .exists))
                    : .filter(Filter(field: o, kind: .equals(flags.first!)))
            case .numeric, .date:
                let ns = try values.map { try number($0, for: f) }
                let parts = ns.map { Query.filter(Filter(field: o, kind: .range(min: $0, max: $0))) }
                inner = parts.count == 1 ? parts[0] : .boolean(BooleanQuery(should: parts))
            }
            return scoring ? .constant(ConstantQuery(query: inner, score: boost)) : inner
        case .range(let name, let r):
            guard let (f, o) = field(name) else { return .matchNone }
            let inner = Query.filter(Filter(field: o, kind: .bounds(try bounds(r, f, name))))
            return scoring ? .constant(ConstantQuery(query: inner, score: r.boost)) : inner
        case .exists(let name):
            guard let (f, o) = field(name) else { return .matchNone }
            if f.role == .id { return scoring ? .constant(ConstantQuery(query: .matchAll, score: 1)) : .matchAll }
            let inner = Query.filter(Filter(field: o, kind: .exists))
            return scoring ? .constant(ConstantQuery(query: inner, score: 1)) : inner
        case .ids(let ids):
            guard !ids.isEmpty else { return .matchNone }
            let inner = Query.filter(Filter(field: layout.idOrdinal, kind: .ids(ids)))
            return scoring ? .constant(ConstantQuery(query: inner, score: 1)) : inner
        case .prefix(let name, let value, let boost):
            guard let (f, o) = field(name) else { return .matchNone }
            let max = index.service.limits.query.maxPrefixExpansions
            let inner: Query
            switch f.role {
            case .keyword:
                guard let slot = layout.keywordSlotOfField[o] else { return .matchNone }
                inner = .prefix(PrefixQuery(slot: slot, prefix: Array(value.utf8), maxExpansions: max, strict: true))
            case .text:
                guard let g = layout.groupOfField[o] else { return .matchNone }
                inner = .prefix(PrefixQuery(slot: g.group, prefix: Array(value.utf8), fields: FieldMask(1) << UInt32(g.member), maxExpansions: max, strict: true))
            case .id:
                throw bad("prefix queries on [_id] are not supported by Aisle")
            default:
                throw ElasticError("query_shard_exception", "Can only use prefix queries on keyword and text fields - not on [\(name.prefix(80))] which is of type [\(f.role.rawValue)]")
            }
            return scoring ? .constant(ConstantQuery(query: inner, score: boost)) : inner
        case .bool(let b):
            var must: [Query] = []
            for m in b.must { must.append(try compile(m, scoring: scoring)) }
            for m in b.filter { must.append(try compile(m, scoring: false)) }
            var should: [Query] = []
            for s in b.should { should.append(try compile(s, scoring: scoring)) }
            var mustNot: [Query] = []
            for s in b.mustNot { mustNot.append(try compile(s, scoring: false)) }
            let q = try boolQuery(must: must, should: should, mustNot: mustNot, hasRequired: !b.must.isEmpty || !b.filter.isEmpty,
                                  msm: b.minimumShouldMatch)
            return b.boost == 1 || !scoring ? q : Self.scaled(q, by: b.boost)
        }
    }

    /// A boolean query with Elasticsearch's rules: without `must`/`filter`, at least one `should`
    /// matches (unless `minimum_should_match` says otherwise); with them, `should` only adds score.
    func boolQuery(must: [Query], should: [Query], mustNot: [Query], hasRequired: Bool, msm: MinimumShouldMatch?) throws -> Query {
        var must = must
        if must.isEmpty && should.isEmpty {
            if mustNot.isEmpty { return .matchAll }
            return .boolean(BooleanQuery(must: [.matchAll], mustNot: mustNot))
        }
        let required = msm.map { $0.required(of: should.count) } ?? (hasRequired ? 0 : 1)
        if must.isEmpty && required == 0 { must = [.matchAll] }
        if must.isEmpty && should.count == 1 && mustNot.isEmpty { return should[0] }
        if should.isEmpty && mustNot.isEmpty && must.count == 1 { return must[0] }
        return .boolean(BooleanQuery(must: must, should: should, mustNot: mustNot, minimumShouldMatch: must.isEmpty ? max(1, required) : required))
    }

    func bounds(_ r: RangeClause, _ f: ElasticField, _ name: String) throws -> NumericBounds {
        guard f.role == .numeric || f.role == .date else {
            throw bad("range queries on field [\(name.prefix(80))] of type [\(f.role.rawValue)] are not supported by Aisle (numeric and date fields only)")
        }
        var b = NumericBounds(min: nil, max: nil)
        if let v = r.gte, v != .null { b.min = try number(v, for: f) }
        if let v = r.gt, v != .null { b.min = try number(v, for: f); b.minInclusive = false }
        if let v = r.lte, v != .null { b.max = try number(v, for: f) }
        if let v = r.lt, v != .null { b.max = try number(v, for: f); b.maxInclusive = false }
        if let lo = b.min, let hi = b.max, lo > hi { b = NumericBounds(min: 1, minInclusive: false, max: 1, maxInclusive: false) }
        return b
    }

    /// Multiplies every boost and fixed score of a query.
    static func scaled(_ q: Query, by f: Float) -> Query {
        switch q {
        case .term(var t): t.boost *= f; return .term(t)
        case .phrase(var p): p.boost *= f; return .phrase(p)
        case .prefix(var p): p.boost *= f; return .prefix(p)
        case .boolean(var b):
            b.must = b.must.map { scaled($0, by: f) }
            b.should = b.should.map { scaled($0, by: f) }
            return .boolean(b)
        case .disMax(var d): d.clauses = d.clauses.map { scaled($0, by: f) }; return .disMax(d)
        case .constant(var c): c.score *= f; c.query = scaled(c.query, by: f); return .constant(c)
        case .matchAll, .matchNone, .filter: return q
        }
    }

    // MARK: - Full text

    /// The index's own search of `text` (typo tolerance, synonyms, compounds, proximity) over its
    /// text fields: what `POST /api/v1/search` runs for `q`.
    mutating func nativeText(_ text: String, op: DefaultOperator) throws -> Query {
        let parser = op == .and ? ctx.parserAnd : ctx.parserOr
        let ranking = RankingOptions.defaults(for: layout)
        var options = ranking
        index.service.rankingOverrides?.apply(to: &options)
        let plain = QueryParser.plainWords(text)
        if plain.isEmpty { return .matchNone }
        let parsed = try parser.parse(plain, expander: index.service.expander(options, ctx: ctx, searcher: searcher, deadline: deadline, probes: probes),
                                      syntax: .lenient)
        if let g = layout.textGroups.indices.first { highlight[g, default: []].formUnion(parsed.highlightTerms) }
        return parsed.query
    }

    mutating func text(_ m: MatchClause, scoring: Bool) throws -> Query {
        guard let fields = m.fields else {
            guard m.type == .bestFields || m.type == .crossFields || m.type == .mostFields else {
                return try perField(m, fields: layout.textFields.map { (schema.fields[$0].name, 1) })
            }
            if m.minimumShouldMatch != nil { throw bad("minimum_should_match needs [fields] on multi_match (Aisle's own search decides it over the index's text fields)") }
            let q = try nativeText(m.text, op: m.op)
            return m.boost == 1 ? q : Self.scaled(q, by: m.boost)
        }
        return try perField(m, fields: fields)
    }

    mutating func perField(_ m: MatchClause, fields: [(name: String, boost: Float)]) throws -> Query {
        if m.type == .crossFields {
            // Fields of one text group are searched as one BM25F field.
            var masks: [Int: (FieldMask, Float)] = [:]
            var others: [(name: String, boost: Float)] = []
            for (name, boost) in fields {
                guard let (f, o) = field(name) else { continue }
                guard f.role == .text, let g = layout.groupOfField[o] else { others.append((name, boost)); continue }
                var e = masks[g.group] ?? (0, boost)
                if e.0 != 0 && e.1 != boost {
                    throw bad("cross_fields with different boosts on fields of one analyzer is not supported by Aisle (fields are searched as one)")
                }
                e.0 |= FieldMask(1) << UInt32(g.member)
                masks[g.group] = e
            }
            var parts: [Query] = []
            for (g, (mask, boost)) in masks.sorted(by: { $0.key < $1.key }) {
                parts.append(try words(m, group: g, mask: mask, boost: boost * m.boost))
            }
            for (name, boost) in others { parts.append(try oneField(m, name: name, boost: boost)) }
            return parts.isEmpty ? .matchNone : parts.count == 1 ? parts[0] : .disMax(DisMaxQuery(clauses: parts, tieBreaker: 1))
        }
        var parts: [Query] = []
        for (name, boost) in fields {
            let q = try oneField(m, name: name, boost: boost)
            if q != .matchNone { parts.append(q) }
        }
        if parts.isEmpty { return .matchNone }
        if parts.count == 1 { return parts[0] }
        switch m.type {
        case .mostFields: return .boolean(BooleanQuery(should: parts))
        default: return .disMax(DisMaxQuery(clauses: parts, tieBreaker: m.tieBreaker))
        }
    }

    /// `match` on one field (a `multi_match` field): by the field's kind.
    mutating func oneField(_ m: MatchClause, name: String, boost: Float) throws -> Query {
        if name.contains("*") {
            throw bad("field patterns such as [\(name.prefix(80))] are not supported by Aisle; name the fields, or leave [fields] out to search every text field")
        }
        guard let (f, o) = field(name) else { return .matchNone }
        let b = boost * m.boost
        switch f.role {
        case .text:
            guard let g = layout.groupOfField[o] else { return .matchNone }
            let mask = FieldMask(1) << UInt32(g.member)
            if m.type == .phrase { return try phrase(name, m.text, slop: m.slop, boost: b) }
            return try words(m, group: g.group, mask: mask, boost: b)
        default:
            // Keyword, number, flag, id: the whole text is one value, matched exactly.
            return try compile(.terms(field: name, values: [.string(m.text)], boost: b), scoring: true)
        }
    }

    /// The words of `m.text` in one text group (fields `mask`): terms joined by the operator (or
    /// `minimum_should_match`), typo alternatives with `fuzziness`, the last word a prefix for `bool_prefix`.
    mutating func words(_ m: MatchClause, group: Int, mask: FieldMask, boost: Float) throws -> Query {
        if m.fuzzy {
            if m.minimumShouldMatch != nil { throw bad("minimum_should_match together with fuzziness is not supported by Aisle") }
            if m.type == .boolPrefix { throw bad("fuzziness with bool_prefix is not supported by Aisle") }
            var parser = m.op == .and ? ctx.parserAnd : ctx.parserOr
            parser.defaultFields = Set(layout.textGroups[group].fields.enumerated().filter { mask & (1 << UInt32($0.offset)) != 0 }.map { schema.fields[$0.element].name })
            var options = RankingOptions.defaults(for: layout)
            options.synonyms = false
            options.compounds = false
            options.coordination = false
            options.proximityBoost = 0
            options.typo = true
            let plain = QueryParser.plainWords(m.text)
            if plain.isEmpty { return .matchNone }
            let parsed = try parser.parse(plain, expander: index.service.expander(options, ctx: ctx, searcher: searcher, deadline: deadline, probes: probes),
                                          syntax: .lenient)
            highlight[group, default: []].formUnion(parsed.highlightTerms)
            for t in ctx.parserAnd.analyze(plain, group: group) { highlight[group, default: []].insert(t.term) }
            return boost == 1 ? parsed.query : Self.scaled(parsed.query, by: boost)
        }
        let terms = ctx.parserAnd.analyze(m.text, group: group)
        guard !terms.isEmpty else { return .matchNone }
        guard terms.count <= QueryParser.maxClauses else { throw bad("the query has \(terms.count) words; the limit is \(QueryParser.maxClauses)") }
        for t in terms { highlight[group, default: []].insert(t.term) }
        var clauses = terms.map { Query.term(TermQuery(slot: group, term: $0.term, fields: mask, boost: boost)) }
        if m.type == .boolPrefix {
            // The last word as typed so far: a prefix (of its analysed form).
            let last = terms[terms.count - 1].term
            clauses[clauses.count - 1] = .prefix(PrefixQuery(slot: group, prefix: last, fields: mask, boost: boost,
                                                             maxExpansions: index.service.limits.query.maxPrefixExpansions))
        }
        if clauses.count == 1 { return clauses[0] }
        if let msm = m.minimumShouldMatch {
            let n = msm.required(of: clauses.count)
            return n == 0 ? .boolean(BooleanQuery(must: [.matchAll], should: clauses)) : .boolean(BooleanQuery(should: clauses, minimumShouldMatch: n))
        }
        return m.op == .and ? .boolean(BooleanQuery(must: clauses)) : .boolean(BooleanQuery(should: clauses))
    }

    mutating func phrase(_ name: String, _ text: String, slop: Int, boost: Float) throws -> Query {
        guard let (f, o) = field(name) else { return .matchNone }
        guard f.role == .text, let g = layout.groupOfField[o] else {
            return try compile(.terms(field: name, values: [.string(text)], boost: boost), scoring: true)
        }
        let terms = ctx.parserAnd.analyze(text, group: g.group)
        guard !terms.isEmpty else { return .matchNone }
        guard terms.count <= QueryParser.maxClauses else { throw bad("the phrase has \(terms.count) words; the limit is \(QueryParser.maxClauses)") }
        for t in terms { highlight[g.group, default: []].insert(t.term) }
        let mask = FieldMask(1) << UInt32(g.member)
        if terms.count == 1 { return .term(TermQuery(slot: g.group, term: terms[0].term, fields: mask, boost: boost)) }
        let base = terms[0].position
        return .phrase(PhraseQuery(slot: g.group, terms: terms.map { $0.term }, positions: terms.map { $0.position - base }, slop: slop,
                                   fields: mask, boost: boost))
    }

    // MARK: - Filters lifted out of the query

    /// A filter-context clause as a top-level filter, when it is one (the fast path).
    func liftable(_ q: ElasticQuery) throws -> Filter? {
        switch q {
        case .terms(let name, let values, _):
            guard let (f, o) = field(name), !values.isEmpty else { return nil }
            switch f.role {
            case .keyword: return Filter(field: o, kind: .anyOf(values.map { $0.text }))
            case .numeric, .date:
                guard values.count == 1 else { return nil }
                let v = try number(values[0], for: f)
                return Filter(field: o, kind: .range(min: v, max: v))
            case .boolean:
                guard values.count == 1 else { return nil }
                switch values[0] {
                case .bool(let b): return Filter(field: o, kind: .equals(b))
                case .string("true"): return Filter(field: o, kind: .equals(true))
                case .string("false"): return Filter(field: o, kind: .equals(false))
                default: return nil
                }
            default: return nil
            }
        case .range(let name, let r):
            guard let (f, o) = field(name) else { return nil }
            let b = try bounds(r, f, name)
            if b.minInclusive && b.maxInclusive { return Filter(field: o, kind: .range(min: b.min, max: b.max)) }
            return Filter(field: o, kind: .bounds(b))
        case .exists(let name):
            guard let (f, o) = field(name), f.role != .id else { return nil }
            return Filter(field: o, kind: .exists)
        case .ids(let ids):
            return ids.isEmpty ? nil : Filter(field: layout.idOrdinal, kind: .ids(ids))
        default:
            return nil
        }
    }

    /// What one search pass looks at: a query and top-level filters.
    struct Pass {
        var query: Query
        var filters: [Filter]
    }

    /// The root query: its `bool.filter` clauses lifted to filters where they can be, and whether
    /// it is exactly the index's own text search (which then ranks in two phases, as natively).
    mutating func root(_ q: ElasticQuery) throws -> (Pass, native: Bool) {
        if case .bool(let b) = q, b.boost == 1 {
            var filters: [Filter] = []
            var rest: [ElasticQuery] = []
            for c in b.filter {
                if let f = try liftable(c) { filters.append(f) } else { rest.append(c) }
            }
            var must: [Query] = []
            for m in b.must { must.append(try compile(m, scoring: true)) }
            for m in rest { must.append(try compile(m, scoring: false)) }
            var should: [Query] = []
            for s in b.should { should.append(try compile(s, scoring: true)) }
            var mustNot: [Query] = []
            for s in b.mustNot { mustNot.append(try compile(s, scoring: false)) }
            let query = try boolQuery(must: must, should: should, mustNot: mustNot, hasRequired: !b.must.isEmpty || !b.filter.isEmpty,
                                      msm: b.minimumShouldMatch)
            let native = b.must.count == 1 && rest.isEmpty && b.should.isEmpty && b.mustNot.isEmpty && Self.isNative(b.must[0])
            return (Pass(query: query, filters: filters), native)
        }
        return (Pass(query: try compile(q, scoring: true), filters: []), Self.isNative(q))
    }

    static func searchedTerms(_ q: Query, into out: inout [Int: Set<[UInt8]>], layout: SchemaLayout) {
        switch q {
        case .term(let t): if layout.isTextSlot(t.slot) { out[t.slot, default: []].insert(t.term) }
        case .phrase(let p): if layout.isTextSlot(p.slot) { out[p.slot, default: []].formUnion(p.terms) }
        case .boolean(let b): for c in b.must + b.should { searchedTerms(c, into: &out, layout: layout) }
        case .disMax(let d): for c in d.clauses { searchedTerms(c, into: &out, layout: layout) }
        case .constant(let c): if c.score != 0 { searchedTerms(c.query, into: &out, layout: layout) }
        case .prefix, .matchAll, .matchNone, .filter: break
        }
    }

    static func isNative(_ q: ElasticQuery) -> Bool {
        if case .match(let m) = q, m.fields == nil, m.boost == 1, m.type == .bestFields || m.type == .crossFields || m.type == .mostFields { return true }
        return false
    }

    // MARK: - Running

    mutating func run(_ spec: SearchSpec) throws -> SearchOutcome {
        passes += 1
        guard passes <= Self.maxPasses else {
            throw ElasticError("too_many_buckets_exception", "this search needs more than \(Self.maxPasses) aggregation passes (buckets with sub-aggregations); ask for fewer buckets", status: 400)
        }
        var spec = spec
        spec.deadline = deadline
        spec.multiSelect = false
        do { return try searcher.search(spec) } catch let e as IndexError {
            if case .invalidQuery(let m) = e { throw ElasticError("illegal_argument_exception", m) }
            throw e
        }
    }

    func spec(_ pass: Pass) -> SearchSpec {
        SearchSpec(query: pass.query, filters: pass.filters, limit: 0, trackTotalHits: .exact)
    }

    mutating func execute(_ r: ElasticSearchRequest) throws -> ElasticSearchResult {
        guard r.from >= 0, r.size >= 0 else { throw bad("[from] and [size] must not be negative") }
        guard r.from + r.size <= SearchRequest.maxWindow else {
            throw bad("Result window is too large, from + size must be less than or equal to: [\(SearchRequest.maxWindow)] but was [\(r.from + r.size)]. See the scroll api for a more efficient way to request large data sets.")
        }
        let (pass, native) = try root(r.query)
        let sort = try sortSpec(r.sort)
        var hitsPass = pass
        if let pf = r.postFilter {
            if let f = try liftable(pf) { hitsPass.filters.append(f) } else {
                let q = try compile(pf, scoring: false)
                hitsPass.query = .boolean(BooleanQuery(must: [hitsPass.query, q]))
            }
        }
        var spec = SearchSpec(query: hitsPass.query, filters: hitsPass.filters, sort: sort, limit: r.size, offset: r.from,
                              searchAfter: try searchAfter(r.searchAfter, sort: sort), trackTotalHits: r.trackTotalHits)
        if spec.searchAfter != nil && r.from != 0 { throw bad("Cannot use [from] parameter with [search_after] other than 0") }
        var aggPass = pass
        if native {
            let full = hitsPass.query
            let recall = full.recallForm()
            if recall != full {
                if sort == .relevance && spec.searchAfter == nil {
                    spec.query = recall
                    let window = max(RankingOptions.defaults(for: layout).rescoreWindow, r.from + r.size)
                    spec.rescore = Rescore(query: full, window: window, maxGain: full.constantGain())
                } else if sort != .relevance {
                    spec.query = recall
                }
                aggPass.query = recall   // the same matches
            }
        }
        // Aggregations that one facet answers ride along with the hits when there is no post_filter.
        var plan = AggregationPlan()
        let together = r.postFilter == nil
        if together { plan = try self.plan(r.aggregations) }
        spec.facets = plan.facets
        let outcome = try run(spec)
        var aggregations: [NamedAggregationResult] = []
        if !r.aggregations.isEmpty {
            aggregations = try aggregate(r.aggregations, in: aggPass, plan: together ? plan : nil,
                                         facets: together ? outcome.facets : nil).results
        }
        var hits: [ElasticHit] = []
        hits.reserveCapacity(outcome.hits.count)
        for (i, h) in outcome.hits.enumerated() {
            if i & 15 == 15 { try deadline?.check() }
            let id = try searcher.id(of: h.doc)
            var sortValues: [ElasticValue]?
            if r.sort != nil {
                switch sort {
                case .relevance: sortValues = [.number(Double(h.score)), .number(Double(h.doc))]
                case .field: sortValues = [h.sortValue.map { .number($0) } ?? .null, .string(id)]
                }
            }
            hits.append(ElasticHit(doc: h.doc, id: id, score: sort == .relevance ? h.score : nil, sort: sortValues))
        }
        let maxScore = sort == .relevance ? hits.compactMap { $0.score }.max() : nil
        // What a hit highlights: every term the query searches (typo corrections and synonyms
        // included), not those it excludes.
        Self.searchedTerms(spec.rescore?.query ?? spec.query, into: &highlight, layout: layout)
        return ElasticSearchResult(searcher: searcher, total: outcome.totalHits, totalIsExact: outcome.totalIsExact, maxScore: maxScore,
                                   hits: hits, aggregations: aggregations, highlightTerms: highlight)
    }

    func sortSpec(_ s: ElasticSort?) throws -> SortSpec {
        guard let s, case .field(let name, let desc) = s else { return .relevance }
        guard let (f, o) = field(name) else {
            throw ElasticError("query_shard_exception", "No mapping found for [\(name.prefix(80))] in order to sort on")
        }
        guard f.role == .numeric || f.role == .date || f.role == .boolean, layout.numericColumns.contains(o) else {
            throw bad("sorting on [\(name.prefix(80))] (a \(f.role.rawValue) field) is not supported by Aisle; sort by _score or by a numeric, date or boolean field")
        }
        return .field(o, descending: desc)
    }

    func searchAfter(_ a: [ElasticValue]?, sort: SortSpec) throws -> SortPosition? {
        guard let a else { return nil }
        switch sort {
        case .relevance:
            guard a.count == 2, case .number(let s) = a[0], case .number(let d) = a[1], let doc = Int(exactly: d), doc >= 0, Float(s).isFinite else {
                throw bad("search_after for _score order is the [score, doc] pair from the last hit's sort")
            }
            return .relevance(score: Float(s), doc: doc)
        case .field:
            guard a.count == 2, case .string(let id) = a[1] else {
                throw bad("search_after is the [value, _id] pair from the last hit's sort")
            }
            switch a[0] {
            case .null: return .field(value: nil, id: id)
            case .number(let v): return .field(value: v, id: id)
            case .bool(let b): return .field(value: b ? 1 : 0, id: id)
            default: throw bad("search_after: the sort value must be a number or null")
            }
        }
    }

    // MARK: - Aggregations

    /// Facets one search pass counts for a level of aggregations, and which facet each uses.
    struct AggregationPlan {
        var facets: [FacetSpec] = []
        /// Per aggregation at this level: the index of its facet (nil: needs its own passes).
        var facetOf: [Int?] = []
    }

    func plan(_ aggs: [NamedAggregation]) throws -> AggregationPlan {
        var p = AggregationPlan()
        for a in aggs {
            var facet: FacetSpec?
            switch a.aggregation {
            case .terms(let name, let size, let include, let exclude, _):
                if let (f, o) = field(name) {
                    guard f.role == .keyword || f.role == .boolean else {
                        throw bad("terms aggregations on [\(name.prefix(80))] (a \(f.role.rawValue) field) are not supported by Aisle; use a keyword or boolean field")
                    }
                    if f.role == .boolean {
                        facet = FacetSpec(field: o, kind: .ranges([NumericRange(from: nil, to: 0.5), NumericRange(from: 0.5, to: nil)]))
                    } else {
                        facet = FacetSpec(field: o, kind: .terms(size: include == nil && exclude == nil ? size : Self.maxTermsScan))
                    }
                }
            case .range(let name, let ranges, _, _):
                if let (f, o) = field(name) {
                    try numericAgg(f, name)
                    facet = FacetSpec(field: o, kind: .ranges(ranges.map { NumericRange(from: $0.from, to: $0.to) }))
                }
            case .histogram(let name, _, _, _, _), .metric(_, let name):
                if let (f, o) = field(name) {
                    try numericAgg(f, name)
                    facet = FacetSpec(field: o, kind: .ranges([]))
                }
            case .filter, .filters:
                break
            }
            if let facet {
                p.facetOf.append(p.facets.count)
                p.facets.append(facet)
            } else {
                p.facetOf.append(nil)
            }
        }
        return p
    }

    func numericAgg(_ f: ElasticField, _ name: String) throws {
        guard f.role == .numeric || f.role == .date || f.role == .boolean else {
            throw bad("field [\(name.prefix(80))] of type [\(f.role.rawValue)] is not supported for this aggregation (numeric and date fields only)")
        }
    }

    /// The aggregations of one level over `pass`: one pass for the facets (unless given), then
    /// the sub-aggregations of each bucket in passes of their own.
    mutating func aggregate(_ aggs: [NamedAggregation], in pass: Pass, plan given: AggregationPlan? = nil,
                            facets givenFacets: [FacetResult]? = nil) throws -> (total: Int, results: [NamedAggregationResult]) {
        let plan = try given ?? self.plan(aggs)
        var facets = givenFacets ?? []
        var total = 0
        if givenFacets == nil {
            var s = spec(pass)
            s.facets = plan.facets
            let o = try run(s)
            facets = o.facets
            total = o.totalHits
        }
        var out: [NamedAggregationResult] = []
        for (i, a) in aggs.enumerated() {
            let facet = plan.facetOf[i].map { facets[$0] }
            out.append(NamedAggregationResult(name: a.name, result: try result(a.aggregation, facet: facet, in: pass)))
        }
        return (total, out)
    }

    mutating func result(_ a: ElasticAggregation, facet: FacetResult?, in pass: Pass) throws -> AggregationResult {
        switch a {
        case .metric(let m, _):
            guard let f = facet else { return .metric(m, count: 0, min: nil, max: nil, sum: 0) }
            return .metric(m, count: f.valueCount, min: f.min, max: f.max, sum: f.sum)
        case .terms(let name, let size, let include, let exclude, let subs):
            guard let facet, let (f, o) = field(name) else { return .buckets(.terms, [], sumOther: 0, keyed: false) }
            var buckets: [AggregationBucket] = []
            var other = 0
            if f.role == .boolean {
                let counts = [(true, facet.ranges.count > 1 ? facet.ranges[1].count : 0), (false, facet.ranges.first?.count ?? 0)]
                    .filter { $0.1 > 0 }.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && !$0.0) }
                let inc = try include.map { try Self.matcher($0) }, exc = try exclude.map { try Self.matcher($0) }
                for (b, n) in counts {
                    if let inc, !inc(b ? "true" : "false") { continue }
                    if let exc, exc(b ? "true" : "false") { continue }
                    if buckets.count >= size { other += n; continue }
                    buckets.append(AggregationBucket(key: .number(b ? 1 : 0), keyAsString: b ? "true" : "false", docCount: n, subs: []))
                }
                for i in buckets.indices where !subs.isEmpty {
                    let flag = buckets[i].keyAsString == "true"
                    buckets[i].subs = try aggregate(subs, in: Pass(query: pass.query, filters: pass.filters + [Filter(field: o, kind: .equals(flag))])).results
                }
                return .buckets(.terms, buckets, sumOther: other, keyed: false)
            }
            if include == nil && exclude == nil {
                buckets = facet.values.map { AggregationBucket(key: .string($0.value), docCount: $0.count, subs: []) }
                other = facet.other
            } else {
                let inc = try include.map { try Self.matcher($0) }, exc = try exclude.map { try Self.matcher($0) }
                for c in facet.values {
                    if let inc, !inc(c.value) { continue }
                    if let exc, exc(c.value) { continue }
                    if buckets.count < size { buckets.append(AggregationBucket(key: .string(c.value), docCount: c.count, subs: [])) } else { other += c.count }
                }
            }
            for i in buckets.indices where !subs.isEmpty {
                buckets[i].subs = try aggregate(subs, in: Pass(query: pass.query, filters: pass.filters + [Filter(field: o, kind: .anyOf([buckets[i].key.text]))])).results
            }
            return .buckets(.terms, buckets, sumOther: other, keyed: false)
        case .range(let name, let ranges, let keyed, let subs):
            guard let facet, let (_, o) = field(name) else {
                return .buckets(.range, ranges.map { AggregationBucket(key: .string(Self.rangeKey($0)), from: $0.from, to: $0.to, docCount: 0, subs: []) }, sumOther: nil, keyed: keyed)
            }
            var buckets: [AggregationBucket] = []
            for (r, c) in zip(ranges, facet.ranges) {
                var b = AggregationBucket(key: .string(Self.rangeKey(r)), from: r.from, to: r.to, docCount: c.count, subs: [])
                if !subs.isEmpty {
                    b.subs = try aggregate(subs, in: Pass(query: pass.query, filters: pass.filters + [
                        Filter(field: o, kind: .bounds(NumericBounds(min: r.from, max: r.to, maxInclusive: false)))])).results
                }
                buckets.append(b)
            }
            return .buckets(.range, buckets, sumOther: nil, keyed: keyed)
        case .histogram(let name, let interval, let offset, let minDocCount, let subs):
            guard let facet, let lo = facet.min, let hi = facet.max, let (_, o) = field(name) else {
                return .buckets(.histogram, [], sumOther: nil, keyed: false)
            }
            let first = ((lo - offset) / interval).rounded(.down), last = ((hi - offset) / interval).rounded(.down)
            let span = last - first   // not finite when the interval is tiny against the values
            guard span.isFinite, span < Double(Self.maxHistogramBuckets) else {
                let wanted = span.isFinite && span < 1e18 ? String(Int64(span) + 1) : "more than 10^18"
                throw ElasticError("too_many_buckets_exception", "Trying to create too many buckets. Must be less than or equal to: [\(Self.maxHistogramBuckets)] but was [\(wanted)]. Use a larger interval.")
            }
            let edges = stride(from: first, through: last, by: 1).map { NumericRange(from: $0 * interval + offset, to: ($0 + 1) * interval + offset) }
            var s = spec(pass)
            s.facets = [FacetSpec(field: o, kind: .ranges(edges))]
            let counts = try run(s).facets[0].ranges
            var buckets: [AggregationBucket] = []
            for (e, c) in zip(edges, counts) where c.count >= minDocCount {
                var b = AggregationBucket(key: .number(e.from!), docCount: c.count, subs: [])
                if !subs.isEmpty {
                    b.subs = try aggregate(subs, in: Pass(query: pass.query, filters: pass.filters + [
                        Filter(field: o, kind: .bounds(NumericBounds(min: e.from, max: e.to, maxInclusive: false)))])).results
                }
                buckets.append(b)
            }
            return .buckets(.histogram, buckets, sumOther: nil, keyed: false)
        case .filter(let q, let subs):
            let sub = try narrowed(pass, by: q)
            let (total, results) = try aggregate(subs, in: sub)
            return .single(docCount: total, subs: results)
        case .filters(let named, let keyed, let subs):
            var buckets: [AggregationBucket] = []
            for (i, (key, q)) in named.enumerated() {
                let sub = try narrowed(pass, by: q)
                let (total, results) = try aggregate(subs, in: sub)
                buckets.append(AggregationBucket(key: key.map { .string($0) } ?? .number(Double(i)), docCount: total, subs: results))
            }
            return .buckets(.filters, buckets, sumOther: nil, keyed: keyed)
        }
    }

    mutating func narrowed(_ pass: Pass, by q: ElasticQuery) throws -> Pass {
        if let f = try liftable(q) { return Pass(query: pass.query, filters: pass.filters + [f]) }
        let c = try compile(q, scoring: false)
        return Pass(query: .boolean(BooleanQuery(must: [pass.query, c])), filters: pass.filters)
    }

    /// Elasticsearch's range bucket key: `from-to` with `*` for an open end.
    static func rangeKey(_ r: ElasticAggregation.RangeBucket) -> String {
        if let k = r.key { return k }
        func f(_ d: Double?) -> String { d.map { String($0) } ?? "*" }
        return f(r.from) + "-" + f(r.to)
    }

    /// `include` / `exclude` as a test: a list of values, or a regular expression that must match
    /// the whole value (`LuceneRegex`: linear time, whatever the pattern).
    static func matcher(_ include: ElasticAggregation.Include) throws -> (String) -> Bool {
        switch include {
        case .values(let vs):
            let set = Set(vs)
            return { set.contains($0) }
        case .pattern(let p):
            guard p.utf8.count <= 1000 else { throw ElasticError("illegal_argument_exception", "the include/exclude pattern is longer than 1000 bytes") }
            let re: LuceneRegex
            do { re = try LuceneRegex(p) } catch {
                throw ElasticError("illegal_argument_exception", "invalid include/exclude regular expression [\(p.prefix(80))]: \(error)")
            }
            return { re.matches($0) }
        }
    }
}
