import Foundation
import Testing
@testable import AisleIndex

/// Filters, facets (terms, multi-select, hierarchy, ranges), sorting and paging against a brute-force
/// computation on seeded random corpora.
@Suite struct SearchSpecOracleTests {
    static let S = RandomCorpus.schema
    static let brand = S.ordinal(of: "brand")!, color = S.ordinal(of: "color")!, price = S.ordinal(of: "price")!
    static let category = S.ordinal(of: "category")!, rating = S.ordinal(of: "rating")!, stock = S.ordinal(of: "in_stock")!
    static let tag = S.ordinal(of: "tag")!

    func randomSpec(_ rng: inout SeededRandom, gen: QueryGenerator, previous: [(doc: Int, score: Float, value: Double?)],
                    ids: [String], numbers: [[Int: Double]]) -> SearchSpec {
        var spec = SearchSpec()
        spec.query = Int.random(in: 0..<3, using: &rng) == 0 ? .matchAll : gen.query(&rng)
        func maybe(_ p: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < p }
        if maybe(35) { spec.filters.append(Filter(field: Self.brand, kind: .anyOf(Array(RandomCorpus.brands.shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)))))) }
        if maybe(25) { spec.filters.append(Filter(field: Self.color, kind: .anyOf([RandomCorpus.colors.randomElement(using: &rng)!]))) }
        if maybe(35) {
            let p = ["Home", "Home > Sofas", "Office", "Garden", "Home > Sofas > Loveseats", "Nope"].randomElement(using: &rng)!
            spec.filters.append(Filter(field: Self.category, kind: .path(p)))
        }
        if maybe(40) {
            let lo: Double? = maybe(70) ? Double(Int.random(in: 0...300, using: &rng)) : nil
            let hi: Double? = maybe(70) ? (lo ?? 0) + Double(Int.random(in: 0...700, using: &rng)) : nil
            spec.filters.append(Filter(field: Self.price, kind: .range(min: lo, max: hi)))
        }
        if maybe(15) { spec.filters.append(Filter(field: Self.rating, kind: .range(min: 3.5, max: nil))) }
        if maybe(15) { spec.filters.append(Filter(field: Self.stock, kind: .equals(maybe(80)))) }
        if maybe(15) { spec.filters.append(Filter(field: Self.tag, kind: .anyOf(["sale", "eco"]))) }
        if maybe(50) { spec.facets.append(FacetSpec(field: Self.brand, kind: .terms(size: Int.random(in: 1...4, using: &rng)))) }
        if maybe(30) { spec.facets.append(FacetSpec(field: Self.color, kind: .terms(size: 5))) }
        if maybe(40) {
            let path: String? = [nil, "Home", "Home > Sofas", "Office > Desks"].randomElement(using: &rng)!
            spec.facets.append(FacetSpec(field: Self.category, kind: .hierarchy(path: path, size: 3)))
        }
        if maybe(40) {
            spec.facets.append(FacetSpec(field: Self.price, kind: .ranges(maybe(50) ? nil
                : [NumericRange(from: nil, to: 25), NumericRange(from: 25, to: 100), NumericRange(from: 100, to: nil)])))
        }
        if maybe(20) { spec.facets.append(FacetSpec(field: Self.tag, kind: .terms(size: 2))) }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: spec.sort = .field(Self.price, descending: false)
        case 1: spec.sort = .field(Self.price, descending: true)
        case 2: spec.sort = .field(Self.rating, descending: true)
        default: spec.sort = .relevance
        }
        if maybe(20) {
            // Ranking signals from numeric columns (rating is missing on some documents).
            for f in [Self.rating, Self.price, Self.stock].shuffled(using: &rng).prefix(Int.random(in: 1...2, using: &rng)) {
                let modifier = ScoreBoost.Modifier.allCases.randomElement(using: &rng)!
                // Small totals keep float rounding of the sum well under the comparison's tolerance.
                let weight = Double(Int.random(in: -20...40, using: &rng)) / (modifier == .none ? 1000 : 10)
                spec.boosts.append(ScoreBoost(field: f, weight: weight, modifier: modifier, missing: maybe(50) ? 0 : 2.5))
            }
        }
        if maybe(20) {
            // Two-phase ranking over every match (small windows: `rescoreWithASmallWindow`).
            spec.rescore = Rescore(query: gen.query(&rng), window: 100_000)
        }
        spec.limit = [0, 1, 5, 10, 30].randomElement(using: &rng)!
        spec.offset = maybe(20) ? Int.random(in: 1...15, using: &rng) : 0
        spec.trackTotalHits = .exact
        if maybe(20), let last = previous.randomElement(using: &rng) {
            switch spec.sort {
            case .relevance: spec.searchAfter = .relevance(score: last.score, doc: last.doc)
            case .field(let f, _): spec.searchAfter = .field(value: maybe(15) ? nil : numbers[last.doc][f], id: ids[last.doc])
            }
            spec.offset = 0
        }
        return spec
    }

    func expectedFacet(_ f: FacetSpec, counts: [String: Int], values: [Double]) -> FacetResult {
        var r = FacetResult(field: f.field)
        switch f.kind {
        case .terms(let size):
            let all = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            r.values = all.prefix(size).map { .init(value: $0.key, count: $0.value) }
            r.other = all.dropFirst(size).reduce(0) { $0 + $1.value }
        case .hierarchy(let path, let size):
            let levels = path?.components(separatedBy: " > ") ?? []
            for i in 0..<levels.count {
                let p = levels[0...i].joined(separator: " > ")
                r.path.append(.init(value: p, count: counts.filter { $0.key == p || $0.key.hasPrefix(p + " > ") }.reduce(0) { $0 + $1.value }))
            }
            var children: [String: Int] = [:]
            for (v, n) in counts {
                let parts = v.components(separatedBy: " > ")
                guard parts.count > levels.count, Array(parts[0..<levels.count]) == levels else { continue }
                children[(levels + [parts[levels.count]]).joined(separator: " > "), default: 0] += n
            }
            let sorted = children.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            r.values = sorted.prefix(size).map { .init(value: $0.key, count: $0.value) }
            r.other = sorted.dropFirst(size).reduce(0) { $0 + $1.value }
        case .ranges(let given):
            if let lo = values.min(), let hi = values.max() { r.min = lo; r.max = hi }
            r.valueCount = values.count
            r.sum = values.reduce(0, +)
            if let given {
                r.ranges = given.map { b in .init(from: b.from, to: b.to, count: values.filter { b.contains($0) }.count) }
            } else {
                r.ranges = FacetAccumulator.niceBuckets(values)
            }
        }
        return r
    }

    /// Sorted ids (doc order is id order) and shuffled ids (ties in field sorts compare id strings).
    @Test(arguments: [false, true])
    func filtersFacetsSortingAgreeWithBruteForce(shuffledIds: Bool) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("search-spec")
        let corpus = RandomCorpus(count: 2500, rng: &rng, shuffledIds: shuffledIds)
        let dir = temporaryDirectory("spec")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 900)
        #expect(searcher.docOrderIsIdOrder == !shuffledIds)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: searcher.layout)
        let ids = corpus.docs.map { $0.id }
        var previous: [(doc: Int, score: Float, value: Double?)] = []
        for qi in 0..<250 {
            let spec = randomSpec(&rng, gen: gen, previous: previous, ids: ids, numbers: corpus.docs.map { $0.numbers })
            let ctx = "seed \(seed) case \(qi): \(spec)"
            let want = naive.run(spec)
            let got = try searcher.search(spec)
            check(spec, got: got, want: want, ids: ids, context: ctx)
            if !want.ranked.isEmpty { previous = Array(want.ranked.prefix(40)) }
        }
    }

    /// A search outcome against the brute-force one: total, the page (scores or sort values) and
    /// every facet.
    func check(_ spec: SearchSpec, got: SearchOutcome, want: NaiveSearcher.Outcome, ids: [String], context ctx: String) {
        do {
            #expect(got.totalHits == want.total, "\(ctx): total \(got.totalHits) vs \(want.total)")
            #expect(got.totalIsExact)
            // The expected page.
            var ranked = want.ranked
            if let after = spec.searchAfter {
                switch after {
                case .relevance(let s, let d): ranked = ranked.filter { $0.score < s || ($0.score == s && $0.doc > d) }
                case .field(let v, let id):
                    guard case .field(_, let desc) = spec.sort else { break }
                    // Strictly after (v, id) in the order: values first (missing last), then ids.
                    ranked = ranked.filter { r in
                        switch (r.value, v) {
                        case (nil, nil): return ids[r.doc] > id
                        case (nil, _): return true
                        case (_, nil): return false
                        case (let x?, let y?): return x == y ? ids[r.doc] > id : (desc ? x < y : x > y)
                        }
                    }
                }
            }
            let page = Array(ranked.dropFirst(spec.offset).prefix(spec.limit))
            switch spec.sort {
            case .relevance:
                let all = Dictionary(uniqueKeysWithValues: want.ranked.map { ($0.doc, $0.score) })
                OracleTests.check(got.hits.map { ScoredDoc(doc: $0.doc, score: $0.score) }, page.map { ScoredDoc(doc: $0.doc, score: $0.score) },
                                  all: all, context: ctx)
            case .field:
                #expect(got.hits.map { $0.doc } == page.map { $0.doc }, "\(ctx): order")
                #expect(got.hits.map { $0.sortValue } == page.map { $0.value }, "\(ctx): values")
            }
            #expect(got.facets.count == spec.facets.count)
            for (i, f) in spec.facets.enumerated() where i < got.facets.count {
                let e = expectedFacet(f, counts: want.facets[i], values: want.facetValues[i])
                #expect(got.facets[i] == e, "\(ctx): facet \(i)\n got \(got.facets[i])\nwant \(e)")
            }
        }
    }

    /// A small rescoring window: the hits are a subset of the first query's matches, each scored by
    /// the second query as the naive searcher scores it, in order; the window bounds how many.
    @Test func rescoreWithASmallWindow() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("rescore")
        let corpus = RandomCorpus(count: 1500, rng: &rng)
        let dir = temporaryDirectory("rescore")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 600)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: searcher.layout)
        for qi in 0..<150 {
            var spec = SearchSpec(query: gen.query(&rng), limit: 10)
            let second = gen.query(&rng)
            let window = Int.random(in: 1...40, using: &rng)
            spec.rescore = Rescore(query: second, window: window)
            spec.trackTotalHits = .exact
            let ctx = "seed \(seed) case \(qi): \(spec)"
            let got = try searcher.search(spec)
            let first = Dictionary(uniqueKeysWithValues: naive.search(spec.query).map { ($0.doc, $0.score) })
            let full = Dictionary(uniqueKeysWithValues: naive.search(second).map { ($0.doc, $0.score) })
            #expect(got.totalHits == first.count, "\(ctx): total")
            #expect(got.hits.count <= min(window, 10), "\(ctx): window")
            for h in got.hits {
                #expect(first[h.doc] != nil, "\(ctx): \(h.doc) is not a match of the first query")
                guard let want = full[h.doc] else { Issue.record("\(ctx): \(h.doc) does not match the second query"); continue }
                #expect(abs(want - h.score) <= 1e-4, "\(ctx): score \(h.score) vs \(want)")
            }
            #expect(zip(got.hits, got.hits.dropFirst()).allSatisfy { $0.score >= $1.score }, "\(ctx): order")
            // Every match of both queries among the first query's best `window` is there (the first
            // phase's order decides which; allow near-ties at the window's edge).
            let ranked = naive.search(spec.query)
            if ranked.count > window, abs(ranked[window - 1].score - ranked[window].score) <= 1e-4 { continue }
            let expected = ranked.prefix(window).filter { full[$0.doc] != nil }.count
            #expect(got.hits.count == min(expected, 10), "\(ctx): \(got.hits.count) hits, expected \(min(expected, 10))")
        }
    }

    @Test func niceBuckets() {
        let prices = (1...100).map { Double($0) }
        let b = FacetAccumulator.niceBuckets(prices)
        #expect(b.map { $0.count }.reduce(0, +) == 100)
        #expect(b.count >= 4 && b.count <= 7)
        #expect(b.first?.from == nil && b.last?.to == nil)
        let widths = zip(b.dropFirst().dropLast(), b.dropFirst(2)).map { ($1.from ?? 0) - ($0.from ?? 0) }
        #expect(Set(widths).count <= 1, "equal widths: \(b)")
        #expect(FacetAccumulator.niceBuckets([]).isEmpty)
        #expect(FacetAccumulator.niceBuckets([5, 5, 5]).map { $0.count } == [3])
    }

    @Test func badSpecsAreRejected() throws {
        var rng = SeededRandom(seed: 3)
        let corpus = RandomCorpus(count: 50, rng: &rng)
        let dir = temporaryDirectory("spec-bad")
        defer { removeDirectory(dir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 50)
        let title = Self.S.ordinal(of: "title")!
        for spec in [
            SearchSpec(filters: [Filter(field: title, kind: .range(min: 1, max: 2))]),
            SearchSpec(filters: [Filter(field: Self.price, kind: .anyOf(["x"]))]),
            SearchSpec(filters: [Filter(field: Self.price, kind: .range(min: 5, max: 1))]),
            SearchSpec(filters: [Filter(field: Self.brand, kind: .path("a"))]),
            SearchSpec(facets: [FacetSpec(field: Self.price, kind: .terms(size: 3))]),
            SearchSpec(facets: [FacetSpec(field: Self.brand, kind: .ranges(nil))]),
            SearchSpec(sort: .field(title, descending: false)),
            SearchSpec(filters: [Filter(field: 999, kind: .anyOf(["x"]))]),
        ] {
            #expect(throws: IndexError.self) { _ = try s.search(spec) }
        }
    }
}
