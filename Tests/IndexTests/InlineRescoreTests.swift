import Foundation
import Testing
@testable import AisleIndex

/// Two-phase ranking with fixed bonuses (`Rescore.maxGain`, proximity in the engine): the second
/// query rescores documents as they are collected, only those that could still reach the page.
/// The page must be the best `k` by the second query's score over every match, as a brute-force
/// scan finds them, whatever the bonuses, the page size, the filters and the segments.
@Suite struct InlineRescoreTests {
    /// `additive`: the rescore names the bonuses alone (`Rescore.bonus`), so documents are scored
    /// as their first score plus the bonuses they match (each bonus only tested for a match).
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func pagesAreTheBestBySecondQuery(facets: Bool, additive: Bool) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("inline-rescore")
        let corpus = RandomCorpus(count: 900, rng: &rng)
        let dir = temporaryDirectory("inline-rescore")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 250, merge: false)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: searcher.layout)
        let brand = searcher.schema.ordinal(of: "brand")!
        var checked = 0
        for qi in 0..<150 {
            let base = gen.query(&rng)
            // One to three optional bonuses, each a fixed score for documents another query matches
            // (a phrase, a term, anything): the second query adds at most their sum.
            var bonuses: [Query] = []
            var gain: Float = 0
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let c = Float(Int.random(in: 1...40, using: &rng)) / 10
                bonuses.append(.constant(ConstantQuery(query: gen.query(&rng), score: c)))
                gain += c
            }
            let full = Query.boolean(BooleanQuery(must: [base], should: bonuses))
            let k = [1, 3, 10, 25][qi % 4]
            let offset = qi % 5 == 0 ? 5 : 0
            var spec = SearchSpec(query: base, limit: k, offset: offset)
            let bonus: Query? = additive ? (bonuses.count == 1 ? bonuses[0] : .boolean(BooleanQuery(should: bonuses))) : nil
            spec.rescore = Rescore(query: full, window: 1000, maxGain: gain, bonus: bonus)
            spec.trackTotalHits = qi % 2 == 0 ? .exact : .upTo(0)
            if facets { spec.facets = [FacetSpec(field: brand, kind: .terms(size: 3))] }
            spec.facetCache = nil
            let got = try searcher.search(spec)
            let want = naive.search(naive.rewritePrefixes(full))
            let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
            let page = Array(want.dropFirst(offset).prefix(k))
            OracleTests.check(got.hits.map { ScoredDoc(doc: $0.doc, score: $0.score) }, page, all: all,
                              context: "seed \(seed) query \(qi) \(full) k \(k) offset \(offset)")
            if spec.trackTotalHits == .exact { #expect(got.totalHits == want.count, "seed \(seed) query \(qi): total") }
            checked += want.isEmpty ? 0 : 1
        }
        #expect(checked > 50)
    }

    /// Two-term phrases take a shortcut (`PhraseMatcher.pairFrequency`); it must count what the
    /// general search counts, for any slop, order, and the same term twice.
    @Test func twoTermShortcutCountsWhatTheSearchCounts() {
        var (rng, seed) = SeededRandom.fromEnvironment("phrase-pairs")
        var nonzero = 0
        for i in 0..<4000 {
            func list() -> ArraySlice<UInt32> {
                let n = Int.random(in: 0...6, using: &rng)
                return ArraySlice(Set((0..<n).map { _ in UInt32.random(in: 0...20, using: &rng) }).sorted())
            }
            let a = list()
            let same = i % 5 == 0
            let b = same ? a : list()
            let offsets: [Int32] = [Int32.random(in: 0...3, using: &rng), Int32.random(in: 0...3, using: &rng)]
            let sameAs = same ? [0, 0] : [0, 1]
            let slop = Int.random(in: 0...4, using: &rng)
            let fast = PhraseMatcher.frequency(positions: [a, b], offsets: offsets, sameAs: sameAs, slop: slop)
            let search = PhraseMatcher.searchFrequency(positions: [a, b], offsets: offsets, sameAs: sameAs, slop: slop)
            #expect(fast == search, "seed \(seed) case \(i): \(a) \(b) offsets \(offsets) same \(same) slop \(slop)")
            let first = a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    PhraseMatcher.pairFrequency(x, y, distance: Int64(offsets[1]) - Int64(offsets[0]), slop: slop,
                                                same: slop > 0 && same, first: true)
                }
            }
            #expect(first == min(search, 1), "seed \(seed) case \(i): first occurrence")
            if search > 0 { nonzero += 1 }
        }
        #expect(nonzero > 500)
    }
}
