import Foundation
import Testing
@testable import AisleIndex

/// `Query.filter` anywhere in a boolean query, and the bounds, exists and ids filters (at the top
/// level and in queries), against the brute-force searcher; facets without multi-select.
@Suite struct FilterQueryOracleTests {
    static let S = RandomCorpus.schema
    static let price = S.ordinal(of: "price")!, rating = S.ordinal(of: "rating")!, brand = S.ordinal(of: "brand")!
    static let color = S.ordinal(of: "color")!, tag = S.ordinal(of: "tag")!, stock = S.ordinal(of: "in_stock")!
    static let title = S.ordinal(of: "title")!, description = S.ordinal(of: "description")!

    func randomFilter(_ rng: inout SeededRandom, ids: [String]) -> Filter {
        func maybe(_ p: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < p }
        switch Int.random(in: 0..<7, using: &rng) {
        case 0:
            // Bounds on values that exist (ties at the edges test exclusivity).
            let lo = Double(Int.random(in: 0...500, using: &rng)), hi = lo + Double(Int.random(in: 0...400, using: &rng))
            return Filter(field: Self.price, kind: .bounds(NumericBounds(min: maybe(80) ? lo : nil, minInclusive: maybe(50),
                                                                        max: maybe(80) ? hi : nil, maxInclusive: maybe(50))))
        case 1:
            return Filter(field: Self.rating, kind: .bounds(NumericBounds(min: 3, minInclusive: maybe(50), max: 4.5, maxInclusive: maybe(50))))
        case 2:
            return Filter(field: [Self.rating, Self.brand, Self.tag, Self.title, Self.description, Self.color].randomElement(using: &rng)!, kind: .exists)
        case 3:
            var some = (0..<Int.random(in: 1...6, using: &rng)).map { _ in ids.randomElement(using: &rng)! }
            if maybe(30) { some.append("no-such-id") }
            return Filter(field: 0, kind: .ids(some))
        case 4:
            return Filter(field: Self.brand, kind: .anyOf(Array(RandomCorpus.brands.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))))
        case 5:
            return Filter(field: Self.tag, kind: .anyOf([RandomCorpus.tags.randomElement(using: &rng)!]))
        default:
            return Filter(field: Self.stock, kind: .equals(maybe(70)))
        }
    }

    func randomQuery(_ rng: inout SeededRandom, gen: QueryGenerator, ids: [String], depth: Int = 0) -> Query {
        func maybe(_ p: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < p }
        if depth > 1 || maybe(30) { return maybe(50) ? .filter(randomFilter(&rng, ids: ids)) : gen.query(&rng) }
        var b = BooleanQuery()
        for _ in 0..<Int.random(in: 0...2, using: &rng) { b.must.append(randomQuery(&rng, gen: gen, ids: ids, depth: depth + 1)) }
        for _ in 0..<Int.random(in: 0...3, using: &rng) { b.should.append(randomQuery(&rng, gen: gen, ids: ids, depth: depth + 1)) }
        for _ in 0..<Int.random(in: 0...1, using: &rng) { b.mustNot.append(.filter(randomFilter(&rng, ids: ids))) }
        if b.must.isEmpty && b.should.isEmpty { b.must = [.filter(randomFilter(&rng, ids: ids))] }
        if !b.should.isEmpty && maybe(30) { b.minimumShouldMatch = Int.random(in: 1...b.should.count, using: &rng) }
        return .boolean(b)
    }

    @Test func filterClausesAnywhereAgreeWithBruteForce() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("filter-query")
        let corpus = RandomCorpus(count: 2000, rng: &rng)
        let dir = temporaryDirectory("filter-query")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 700)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: searcher.layout)
        let ids = corpus.docs.map { $0.id }
        for qi in 0..<300 {
            let q = randomQuery(&rng, gen: gen, ids: ids)
            var spec = SearchSpec(query: q, limit: 10)
            spec.trackTotalHits = .exact
            let ctx = "seed \(seed) case \(qi): \(q)"
            let want = naive.search(q)
            let got = try searcher.search(spec)
            #expect(got.totalHits == want.count, "\(ctx): total \(got.totalHits) vs \(want.count)")
            OracleTests.check(page: got.hits, naive: want, k: 10, context: ctx)
        }
    }

    /// Top-level bounds, exists and ids filters with facets that count exactly the hits
    /// (`multiSelect: false`), including a filter on a faceted field.
    @Test func topLevelFiltersWithoutMultiSelect() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("filter-spec")
        let corpus = RandomCorpus(count: 1500, rng: &rng)
        let dir = temporaryDirectory("filter-spec")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 600)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: searcher.layout)
        let ids = corpus.docs.map { $0.id }
        for qi in 0..<200 {
            var spec = SearchSpec(query: Int.random(in: 0..<3, using: &rng) == 0 ? .matchAll : gen.query(&rng), limit: 5)
            for _ in 0..<Int.random(in: 1...3, using: &rng) { spec.filters.append(randomFilter(&rng, ids: ids)) }
            spec.facets = [FacetSpec(field: Self.brand, kind: .terms(size: 3)), FacetSpec(field: Self.price, kind: .ranges([]))]
            spec.multiSelect = false
            spec.trackTotalHits = .exact
            let ctx = "seed \(seed) case \(qi): \(spec.filters)"
            let want = naive.run(spec)
            let got = try searcher.search(spec)
            #expect(got.totalHits == want.total, "\(ctx): total \(got.totalHits) vs \(want.total)")
            let counts = want.facets[0].sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            #expect(got.facets[0].values.map { $0.value } == counts.prefix(3).map { $0.key }, "\(ctx): brand facet")
            #expect(got.facets[0].values.map { $0.count } == counts.prefix(3).map { $0.value }, "\(ctx): brand counts")
            #expect(got.facets[0].other == counts.dropFirst(3).reduce(0) { $0 + $1.value }, "\(ctx): other")
            let prices = want.facetValues[1]
            #expect(got.facets[1].valueCount == prices.count && got.facets[1].min == prices.min() && got.facets[1].max == prices.max(),
                    "\(ctx): price stats")
            #expect(abs(got.facets[1].sum - prices.reduce(0, +)) <= 1e-9 * max(1, abs(prices.reduce(0, +))), "\(ctx): price sum")
        }
    }

    @Test func strictPrefixRefusesTooManyTerms() throws {
        var rng = SeededRandom(seed: 5)
        let corpus = RandomCorpus(count: 300, rng: &rng)
        let dir = temporaryDirectory("strict-prefix")
        defer { removeDirectory(dir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 100)
        // "w" starts 50 words of the vocabulary: more than 5.
        let q = Query.prefix(PrefixQuery(slot: 0, prefix: Array("w".utf8), maxExpansions: 5, strict: true))
        #expect(throws: IndexError.self) { _ = try s.search(SearchSpec(query: q)) }
        let loose = Query.prefix(PrefixQuery(slot: 0, prefix: Array("w".utf8), maxExpansions: 5))
        _ = try s.search(SearchSpec(query: loose))
        let enough = Query.prefix(PrefixQuery(slot: 0, prefix: Array("w".utf8), maxExpansions: 1000, strict: true))
        #expect(try s.search(SearchSpec(query: enough, trackTotalHits: .exact)).totalHits > 0)
    }

    @Test func badFilterClausesAreRejected() throws {
        var rng = SeededRandom(seed: 3)
        let corpus = RandomCorpus(count: 50, rng: &rng)
        let dir = temporaryDirectory("filter-bad")
        defer { removeDirectory(dir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 50)
        for q in [Query.filter(Filter(field: Self.title, kind: .bounds(NumericBounds(min: 1, max: 2)))),
                  .filter(Filter(field: Self.price, kind: .bounds(NumericBounds(min: 5, max: 1)))),
                  .filter(Filter(field: Self.price, kind: .bounds(NumericBounds(min: .nan, max: 1)))),
                  .filter(Filter(field: 999, kind: .exists))] {
            #expect(throws: IndexError.self) { _ = try s.search(SearchSpec(query: .boolean(BooleanQuery(should: [.matchAll, q])))) }
        }
    }
}
