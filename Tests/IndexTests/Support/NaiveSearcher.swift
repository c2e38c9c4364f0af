import Foundation
@testable import AisleIndex

/// A document of the random test corpus, before indexing.
struct NaiveDoc {
    var id: String
    /// Per text field (by ordinal): tokens with positions.
    var text: [Int: [(term: String, pos: Int)]] = [:]
    /// Per keyword field (by ordinal): values.
    var keywords: [Int: [String]] = [:]
    var stored: [Int: StoredValue] = [:]
    /// Numeric and boolean (1/0) values.
    var numbers: [Int: Double] = [:]
}

/// The reference implementation: evaluates a query by scanning every document, with the BM25F
/// formula written out independently of the index's scorers.
struct NaiveSearcher {
    let schema: Schema
    let layout: SchemaLayout
    let docs: [NaiveDoc]
    let params: BM25Parameters
    let avg: [Int: Float]        // per text field ordinal
    let df: [Int: [String: Int]] // per text field ordinal: term -> docs with term in that field
    /// Per document, per text field: term -> positions (ascending).
    let postings: [[Int: [String: [Int]]]]

    /// Documents that take part in the statistics (N, df, lengths) but never match: tombstones
    /// of a live index, still in their segment until a merge drops them.
    let deleted: Set<Int>

    /// `averageLengths` (per text field ordinal) replaces the computed average field lengths: after
    /// merges dropped deleted documents, the index's averages come from quantised norms.
    init(schema: Schema, docs: [NaiveDoc], deleted: Set<Int> = [], averageLengths: [Int: Float]? = nil) throws {
        self.schema = schema
        layout = try SchemaLayout(schema)
        self.docs = docs
        self.deleted = deleted
        params = schema.bm25Parameters
        var avg: [Int: Float] = [:]
        var df: [Int: [String: Int]] = [:]
        for f in layout.textFields {
            var sum: UInt64 = 0
            var n: UInt32 = 0
            var d: [String: Int] = [:]
            for doc in docs {
                let toks = doc.text[f] ?? []
                if !toks.isEmpty { sum += UInt64(toks.count); n += 1 }
                for t in Set(toks.map { $0.term }) { d[t, default: 0] += 1 }
            }
            avg[f] = n == 0 ? 1 : Float(Double(sum) / Double(n))
            df[f] = d
        }
        self.avg = averageLengths ?? avg
        self.df = df
        postings = docs.map { d in
            var out: [Int: [String: [Int]]] = [:]
            for (f, toks) in d.text {
                var m: [String: [Int]] = [:]
                for t in toks { m[t.term, default: []].append(t.pos) }
                out[f] = m
            }
            return out
        }
    }

    func idf(_ d: Int) -> Float {
        let n = Double(docs.count), x = Double(d)
        return Float(log(1 + (n - x + 0.5) / (x + 0.5)))
    }

    /// K for a document's field: from the quantised length, as the index stores it.
    func kValue(field f: Int, doc: NaiveDoc) -> Float {
        let len = FieldNorm.decode(FieldNorm.encode(UInt32(doc.text[f]?.count ?? 0)))
        return params.k1 * (1 - params.b + params.b * Float(len) / avg[f]!)
    }

    func fieldsOf(slot: Int, mask: FieldMask?) -> [(member: Int, ordinal: Int)] {
        layout.textGroups[slot].fields.enumerated().compactMap { m, o in
            mask == nil || (mask! & (1 << UInt32(m))) != 0 ? (m, o) : nil
        }
    }

    /// nil = no match.
    func evaluate(_ q: Query, _ doc: NaiveDoc, _ docIndex: Int) -> Float? {
        switch q {
        case .matchAll: return 0
        case .matchNone: return nil
        case .filter(let f): return passes(f, doc) ? 0 : nil
        case .term(let t):
            let term = String(decoding: t.term, as: UTF8.self)
            if !layout.isTextSlot(t.slot) {
                let f = layout.keywordFields[t.slot - layout.textGroups.count]
                if f == layout.idOrdinal { return doc.id == term ? 0 : nil }
                return (doc.keywords[f] ?? []).contains(term) ? 0 : nil
            }
            var s: Float = 0
            var matched = false
            for (_, f) in fieldsOf(slot: t.slot, mask: t.fields) {
                let tf = postings[docIndex][f]?[term]?.count ?? 0
                guard tf > 0 else { continue }
                matched = true
                let w = t.boost * schema.fields[f].effectiveBoost * idf(df[f]![term] ?? 0) * (params.k1 + 1)
                s += w / (1 + kValue(field: f, doc: doc) / Float(tf))
            }
            return matched ? s : nil
        case .phrase(let p):
            let terms = p.terms.map { String(decoding: $0, as: UTF8.self) }
            if terms.count == 1 {
                return evaluate(.term(TermQuery(slot: p.slot, term: p.terms[0], fields: p.fields, boost: p.boost)), doc, docIndex)
            }
            let offs = p.positions.map { Int($0 - p.positions[0]) }
            var s: Float = 0
            var matched = false
            for (_, f) in fieldsOf(slot: p.slot, mask: p.fields) {
                let lists = terms.map { t in postings[docIndex][f]?[t] ?? [] }
                guard lists.allSatisfy({ !$0.isEmpty }) else { continue }
                let pf = naivePhraseFreq(lists, terms: terms, offsets: offs, slop: p.slop)
                guard pf > 0 else { continue }
                matched = true
                var idfSum: Float = 0
                for t in terms { idfSum += idf(df[f]![t] ?? 0) }
                let w = p.boost * schema.fields[f].effectiveBoost * idfSum * (params.k1 + 1)
                s += w / (1 + kValue(field: f, doc: doc) / Float(pf))
            }
            return matched ? s : nil
        case .prefix(let p):
            return evaluate(expand(p), doc, docIndex)
        case .boolean(let b):
            var s: Float = 0
            for m in b.must {
                guard let x = evaluate(m, doc, docIndex) else { return nil }
                s += x
            }
            for m in b.mustNot where evaluate(m, doc, docIndex) != nil { return nil }
            var nShould = 0
            for m in b.should {
                if let x = evaluate(m, doc, docIndex) { s += x; nShould += 1 }
            }
            if b.must.isEmpty {
                if b.should.isEmpty { return b.mustNot.isEmpty ? nil : s }
                if nShould < max(1, b.minimumShouldMatch) { return nil }
                if b.coordination && b.should.count > 1 { return s * Float(nShould) / Float(b.should.count) }
            } else if nShould < b.minimumShouldMatch {
                return nil
            }
            return s
        case .disMax(let d):
            var s: Float = 0
            var m: Float = 0
            var any = false
            for c in d.clauses {
                guard let x = evaluate(c, doc, docIndex) else { continue }
                any = true
                s += x
                if x > m { m = x }
            }
            return any ? (d.tieBreaker == 0 ? m : m + d.tieBreaker * (s - m)) : nil
        case .constant(let c):
            return evaluate(c.query, doc, docIndex) == nil ? nil : c.score
        }
    }

    /// Expands prefix queries once per search rather than once per document.
    func rewritePrefixes(_ q: Query) -> Query {
        switch q {
        case .prefix(let p): return expand(p)
        case .boolean(let b):
            return .boolean(BooleanQuery(must: b.must.map(rewritePrefixes), should: b.should.map(rewritePrefixes),
                                         mustNot: b.mustNot.map(rewritePrefixes), minimumShouldMatch: b.minimumShouldMatch,
                                         coordination: b.coordination))
        case .disMax(let d):
            return .disMax(DisMaxQuery(clauses: d.clauses.map(rewritePrefixes), tieBreaker: d.tieBreaker))
        case .constant(let c):
            return .constant(ConstantQuery(query: rewritePrefixes(c.query), score: c.score))
        default: return q
        }
    }

    func expand(_ p: PrefixQuery) -> Query {
        let prefix = String(decoding: p.prefix, as: UTF8.self)
        var vocab = Set<String>()
        if layout.isTextSlot(p.slot) {
            for f in layout.textGroups[p.slot].fields { for d in docs { for t in d.text[f] ?? [] { vocab.insert(t.term) } } }
        } else {
            let f = layout.keywordFields[p.slot - layout.textGroups.count]
            for d in docs { for v in (f == layout.idOrdinal ? [d.id] : d.keywords[f] ?? []) { vocab.insert(v) } }
        }
        let terms = vocab.filter { $0.utf8.starts(with: prefix.utf8) }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .prefix(p.maxExpansions)
        if terms.isEmpty { return .matchNone }
        return .boolean(BooleanQuery(should: terms.map { .term(TermQuery(slot: p.slot, term: $0, fields: p.fields, boost: p.boost)) }))
    }

    /// Brute force over every combination of positions.
    func naivePhraseFreq(_ lists: [[Int]], terms: [String], offsets: [Int], slop: Int) -> Int {
        var count = 0
        for p0 in Set(lists[0]) {
            var found = false
            func rec(_ i: Int, _ chosen: [Int]) {
                if found { return }
                if i == lists.count {
                    // distinct positions for identical terms
                    for a in 0..<chosen.count {
                        for b in (a + 1)..<chosen.count where terms[a] == terms[b] && chosen[a] == chosen[b] { return }
                    }
                    let rel = chosen.enumerated().map { $1 - offsets[$0] }
                    if rel.max()! - rel.min()! <= slop { found = true }
                    return
                }
                for p in lists[i] { rec(i + 1, chosen + [p]) }
            }
            rec(1, [p0])
            if found { count += 1 }
        }
        return count
    }

    // MARK: - Filters, facets, sorting

    func passes(_ f: Filter, _ d: NaiveDoc) -> Bool {
        switch f.kind {
        case .anyOf(let vs): return (d.keywords[f.field] ?? []).contains { vs.contains($0) }
        case .path(let p):
            return (d.keywords[f.field] ?? []).contains { $0 == p || $0.hasPrefix(p + " > ") }
        case .range(let lo, let hi):
            guard let v = d.numbers[f.field] else { return false }
            return (lo.map { v >= $0 } ?? true) && (hi.map { v <= $0 } ?? true)
        case .equals(let b):
            guard let v = d.numbers[f.field] else { return false }
            return v == (b ? 1 : 0)
        case .bounds(let b):
            guard let v = d.numbers[f.field] else { return false }
            return b.contains(v)
        case .exists:
            return d.numbers[f.field] != nil || !(d.keywords[f.field] ?? []).isEmpty || !(d.text[f.field] ?? []).isEmpty
        case .ids(let ids):
            return ids.contains(d.id)
        }
    }

    struct Outcome {
        var ranked: [(doc: Int, score: Float, value: Double?)]
        var total: Int
        var facets: [[String: Int]]          // terms / hierarchy leaf counts per facet
        var facetValues: [[Double]]          // numeric values per range facet
    }

    /// The whole result of a SearchSpec, by brute force.
    func run(_ spec: SearchSpec) -> Outcome {
        let q = rewritePrefixes(spec.query)
        var scores: [Int: Float] = [:]
        for (i, d) in docs.enumerated() where !deleted.contains(i) { if let s = evaluate(q, d, i) { scores[i] = s } }
        let facetFields = Set(spec.facets.map { $0.field })
        var ranked: [(doc: Int, score: Float, value: Double?)] = []
        var facets = Array(repeating: [String: Int](), count: spec.facets.count)
        var facetValues = Array(repeating: [Double](), count: spec.facets.count)
        for (i, d) in docs.enumerated() {
            guard let s = scores[i] else { continue }
            let failing = spec.filters.filter { !passes($0, d) }
            if failing.isEmpty {
                var v: Double?
                if case .field(let f, _) = spec.sort { v = d.numbers[f] }
                let boosted = spec.sort == .relevance && !spec.boosts.isEmpty ? s + ScoreBoost.total(spec.boosts) { d.numbers[$0] } : s
                ranked.append((i, boosted, v))
            }
            for (fi, f) in spec.facets.enumerated() {
                // Multi-select: a facet ignores filters on its own field.
                guard failing.allSatisfy({ spec.multiSelect && $0.field == f.field && facetFields.contains($0.field) }) else { continue }
                switch f.kind {
                case .ranges:
                    if let v = d.numbers[f.field] { facetValues[fi].append(v) }
                default:
                    for v in Set(d.keywords[f.field] ?? []) { facets[fi][v, default: 0] += 1 }
                }
            }
        }
        let total = ranked.count
        switch spec.sort {
        case .relevance:
            ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
            if let r = spec.rescore, spec.searchAfter == nil {
                // The best `window` by the first query, scored by the second; unmatched ones dropped.
                let rq = rewritePrefixes(r.query)
                ranked = ranked.prefix(r.window).compactMap { h in
                    guard let s = evaluate(rq, docs[h.doc], h.doc) else { return nil }
                    let d = docs[h.doc]
                    return (h.doc, spec.boosts.isEmpty ? s : s + ScoreBoost.total(spec.boosts) { d.numbers[$0] }, nil)
                }
                ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
            }
        case .field(_, let desc):
            ranked.sort { a, b in
                switch (a.value, b.value) {
                case (nil, nil): break
                case (nil, _): return false
                case (_, nil): return true
                case (let x?, let y?): if x != y { return desc ? x > y : x < y }
                }
                if docs[a.doc].id != docs[b.doc].id { return docs[a.doc].id < docs[b.doc].id }
                return a.doc < b.doc
            }
        }
        return Outcome(ranked: ranked, total: total, facets: facets, facetValues: facetValues)
    }

    /// Every match, best first (score desc, doc asc).
    func search(_ q: Query) -> [ScoredDoc] {
        var out: [ScoredDoc] = []
        let q = rewritePrefixes(q)
        for (i, d) in docs.enumerated() where !deleted.contains(i) {
            if let s = evaluate(q, d, i) { out.append(ScoredDoc(doc: i, score: s)) }
        }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
        return out
    }
}
