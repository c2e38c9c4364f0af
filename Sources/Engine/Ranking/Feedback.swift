import Foundation
import AisleIndex

/// Pseudo-relevance feedback (RM3-like, on the products' own text): the best products of a query
/// vote for the words typical of them, and the query is widened with those words, each weighted by
/// its share of the votes.
struct Feedback {
    let searcher: Searcher
    let parser: QueryParser
    let options: RankingOptions

    /// Every term a query searches, per slot.
    static func terms(of q: Query, into out: inout Set<TermKey>) {
        switch q {
        case .term(let t): out.insert(TermKey(slot: t.slot, term: t.term))
        case .phrase(let p): for t in p.terms { out.insert(TermKey(slot: p.slot, term: t)) }
        case .prefix, .matchAll, .matchNone, .filter: break
        case .boolean(let b): for c in b.must + b.should { terms(of: c, into: &out) }
        case .disMax(let d): for c in d.clauses { terms(of: c, into: &out) }
        case .constant(let c): terms(of: c.query, into: &out)
        }
    }

    /// The query widened by the words of `top` (global docs with their scores), or nil when they offer none.
    func expand(_ query: Query, top: [(doc: Int, score: Float)]) throws -> Query? {
        guard !top.isEmpty, let group = parser.layout.textGroups.indices.first else { return nil }
        var queryTerms = Set<TermKey>()
        Self.terms(of: query, into: &queryTerms)
        let fieldNames = Set(parser.layout.textGroups[group].fields.map { parser.layout.schema.fields[$0].name })
        let total = top.reduce(0.0) { $0 + Double(max($1.score, 0)) }
        var votes: [[UInt8]: Double] = [:]
        for (doc, score) in top {
            let weight = total > 0 ? Double(max(score, 0)) / total : 1 / Double(top.count)
            var text = ""
            for (name, value) in try searcher.storedFields(of: doc) where fieldNames.contains(name) {
                if case .string(let s) = value { text += s + " " }
                if case .list(let l) = value { for case .string(let s) in l { text += s + " " } }
            }
            let terms = parser.analyze(text, group: group).map { $0.term }
            guard !terms.isEmpty else { continue }
            let share = weight / Double(terms.count)
            for t in terms where t.count >= 3 && t.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 >= 0x80 })
                && !queryTerms.contains(TermKey(slot: group, term: t)) {
                votes[t, default: 0] += share
            }
        }
        guard !votes.isEmpty else { return nil }
        let n = Double(max(searcher.docCount, 1))
        var scored: [(term: [UInt8], vote: Double, key: Double)] = []
        for (t, v) in votes {
            let df = try searcher.docFrequency(slot: group, term: t)
            guard df >= 2 else { continue }
            let idf = log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5))
            scored.append((t, v, v * idf))
        }
        scored.sort { $0.key > $1.key || ($0.key == $1.key && $0.term.lexicographicallyPrecedes($1.term)) }
        let chosen = scored.prefix(options.feedbackTerms)
        let sum = chosen.reduce(0.0) { $0 + $1.vote }
        guard sum > 0 else { return nil }
        let extra: [Query] = chosen.map {
            .term(TermQuery(slot: group, term: $0.term, boost: Float(options.feedbackWeight * $0.vote / sum)))
        }
        // Only products the query matches: feedback reorders the tail, it does not widen the results.
        return .boolean(BooleanQuery(must: [query], should: extra))
    }
}
