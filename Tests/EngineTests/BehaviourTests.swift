import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// The opt-in behaviour ranking signal: its smoothing and cap, and what it does to a result list
/// (against the list without it, recomputed by hand).
@Suite struct BehaviourTests {
    static let built: SearchService = try! buildIndex(corpus: fixture("sample-catalog.jsonl")).0

    @Test func boostsAreSmoothedAndCapped() {
        var t = BehaviourSignals.Tuning()
        t.prior = 10
        t.purchaseWeight = 3
        t.cap = 0.5
        t.minEvents = 2
        let b = BehaviourSignals.boosts([
            BehaviourCounts(query: "Oak Table", searches: 10, productId: "a", clicks: 4, purchases: 1),   // (4+3)/20 = 0.35 → 0.7
            BehaviourCounts(query: "oak  table", searches: 10, productId: "a", clicks: 1, purchases: 0),  // same pair: 8/20 → 0.8
            BehaviourCounts(query: "oak table", searches: 10, productId: "b", clicks: 30, purchases: 10), // capped at 1
            BehaviourCounts(query: "oak table", searches: 10, productId: "c", clicks: 1, purchases: 0),   // below minEvents
            BehaviourCounts(query: "rare", searches: 2, productId: "a", clicks: 2, purchases: 0),          // 2/12 → 0.333
            BehaviourCounts(query: "  ", searches: 2, productId: "a", clicks: 9, purchases: 0),
        ], tuning: t)
        #expect(b["oak table"]?["a"].map { abs($0 - 0.8) < 1e-6 } == true, "\(b)")
        #expect(b["oak table"]?["b"] == 1)
        #expect(b["oak table"]?["c"] == nil)
        #expect(b["rare"]?["a"].map { abs($0 - Float(2.0 / 12 / 0.5)) < 1e-6 } == true)
        #expect(b.count == 2)
    }

    @Test func chosenProductsMoveUpWithinTheWindowOnly() throws {
        let svc = Self.built
        func run(_ q: String, behaviour: Bool, limit: Int = 10, offset: Int = 0, weight: Double = 0.5, window: Int = 100) throws -> SearchResponse {
            var r = SearchRequest(q: q, op: .or, limit: limit, offset: offset)
            r.trackTotalHits = .exact
            r.facets = [FacetRequest(name: ProductFields.brand)]
            r.ranking = try RankingPatch.parse(.object([("behaviour", .bool(behaviour)), ("behaviour_weight", .number(weight)),
                                                        ("behaviour_window", .number(Double(window))), ("feedback", .bool(false))]))
            return try svc.search(r)
        }
        let q = "table lamp set"
        let plain = try run(q, behaviour: false, limit: 30)
        #expect(plain.hits.count >= 6, "the sample catalog should match several products")
        let ids = plain.hits.map(\.id)
        // Boost the fifth product fully and the second a little.
        svc.behaviour.replace([BehaviourCounts(query: q, searches: 10, productId: ids[4], clicks: 50, purchases: 5),
                               BehaviourCounts(query: q, searches: 10, productId: ids[1], clicks: 3, purchases: 0)])
        defer { svc.behaviour.replace([]) }
        let boosts = try #require(svc.behaviour.boosts(for: "Table  LAMP set"))
        // The expected order: scores times 1 + 0.5 × boost, stable.
        func expectedOrder(weight: Float) -> [String] {
            var scored: [(id: String, score: Float, rank: Int)] = []
            for (i, h) in plain.hits.enumerated() {
                let b: Float = boosts[h.id] ?? 0
                scored.append((h.id, h.score * (1 + weight * b), i))
            }
            scored.sort { $0.score > $1.score || ($0.score == $1.score && $0.rank < $1.rank) }
            return scored.map(\.id)
        }
        let expected = expectedOrder(weight: 0.5)
        #expect(expected != ids, "the boosts should change the order")
        let on = try run(q, behaviour: true, limit: 30)
        #expect(on.hits.map(\.id) == expected, "\(on.hits.map(\.id)) != \(expected)")
        #expect(on.total == plain.total)
        #expect(on.facets.first?.result.values.map(\.count) == plain.facets.first?.result.values.map(\.count))
        // Off by default, and off: the plain order.
        #expect(try svc.search(SearchRequest(q: q, op: .or, limit: 30)).hits.map(\.id) == (try svc.search({ () -> SearchRequest in
            var r = SearchRequest(q: q, op: .or, limit: 30); r.ranking = try RankingPatch.parse(.object([("behaviour", .bool(false))])); return r }())).hits.map(\.id))
        // Pages are slices of the same list.
        let page2 = try run(q, behaviour: true, limit: 3, offset: 3)
        #expect(page2.hits.map(\.id) == Array(expected[3..<min(6, expected.count)]))
        // A product after the window does not move.
        let small = try run(q, behaviour: true, limit: 30, window: 3)
        #expect(Array(small.hits.map(\.id)[3...]) == Array(ids[3...]), "\(small.hits.map(\.id))")
        #expect(Set(small.hits.map(\.id)[..<3]) == Set(ids[..<3]))
        // The cap: a fully boosted product gains at most 1 + weight.
        let heavy = try run(q, behaviour: true, limit: 30, weight: 10)
        #expect(heavy.hits.map(\.id) == expectedOrder(weight: 10))
        let before = Dictionary(uniqueKeysWithValues: plain.hits.map { ($0.id, $0.score) })
        #expect(heavy.hits.allSatisfy { h in before[h.id].map { h.score >= $0 && h.score <= $0 * 11 * 1.0001 } ?? false })
    }
}
