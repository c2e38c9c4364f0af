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
    @Test(arguments: [(false, false, DisjunctionAlgorithm.maxScore), (true, false, .maxScore), (false, true, .maxScore),
                      (true, true, .maxScore), (false, true, .blockMaxWand), (true, false, .blockMaxWand)])
    func pagesAreTheBestBySecondQuery(facets: Bool, additive: Bool, disjunction: DisjunctionAlgorithm) throws {
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
            spec.disjunction = disjunction
            let got = try searcher.search(spec)
            let want = naive.search(naive.rewritePrefixes(full))
            OracleTests.check(page: got.hits, naive: want, offset: offset, k: k,
                              context: "seed \(seed) query \(qi) \(full) k \(k) offset \(offset)")
            if spec.trackTotalHits == .exact { #expect(got.totalHits == want.count, "seed \(seed) query \(qi): total") }
            checked += want.isEmpty ? 0 : 1
        }
        #expect(checked > 50)
    }

    /// Proximity as the engine builds it: an OR of word clauses (a term, or the best of a word's
    /// alternatives; coordinated or not) plus, for adjacent clauses, a fixed bonus when a phrase of
    /// their terms occurs. When every bonus needs two clauses (`Query.bonusNeedsTwoClauses`), MaxScore
    /// bounds one-clause documents without the gain; pages must still be the brute-force best.
    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func wordClauseBonusesKeepTheBestPages(disjunction: DisjunctionAlgorithm) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("inline-rescore-clauses")
        let corpus = RandomCorpus(count: 1200, rng: &rng)
        let dir = temporaryDirectory("inline-rescore-clauses")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 400, merge: false)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        // Frequent words (phrases occur), and now and then a rare one that alone can outscore
        // documents with two words (so pruning must not assume every hit has two clauses).
        func word() -> [UInt8] {
            Int.random(in: 0..<5, using: &rng) == 0 ? Array("u\(Int.random(in: 0..<60, using: &rng))".utf8)
                : Array(RandomCorpus.vocabulary[rng.zipf(14)].utf8)
        }
        var needsTwo = 0, checked = 0
        for qi in 0..<240 {
            let n = Int.random(in: 2...4, using: &rng)
            var words: [[[UInt8]]] = []
            for _ in 0..<n { words.append((0..<Int.random(in: 1...3, using: &rng)).map { _ in word() }) }
            // Mostly distinct words per clause; sometimes a word in two clauses (no shortcut then).
            if qi % 7 != 0 { for i in 1..<n { words[i] = words[i].filter { w in !words[..<i].contains { $0.contains(w) } } } }
            words = words.filter { !$0.isEmpty }
            guard words.count >= 2 else { continue }
            let clauses: [Query] = words.map { ws in
                let ts = Array(Set(ws)).sorted { $0.lexicographicallyPrecedes($1) }.map { Query.term(TermQuery(slot: 0, term: $0)) }
                return ts.count == 1 ? ts[0] : .disMax(DisMaxQuery(clauses: ts))
            }
            let base = Query.boolean(BooleanQuery(should: clauses, coordination: qi % 3 != 0))
            var bonuses: [Query] = []
            var gain: Float = 0
            for i in 0..<(words.count - 1) {
                let slop = [0, 0, 1, 2].randomElement(using: &rng)!
                var pairs: [Query] = []
                for a in Set(words[i]) { for b in Set(words[i + 1]) { pairs.append(.phrase(PhraseQuery(slot: 0, terms: [a, b], slop: slop))) } }
                let c = Float(Int.random(in: 5...40, using: &rng)) / 10
                bonuses.append(.constant(ConstantQuery(query: pairs.count == 1 ? pairs[0] : .disMax(DisMaxQuery(clauses: pairs)), score: c)))
                gain += c
            }
            let bonus: Query = bonuses.count == 1 ? bonuses[0] : .boolean(BooleanQuery(should: bonuses))
            if base.bonusNeedsTwoClauses(bonus) { needsTwo += 1 }
            let full = Query.boolean(BooleanQuery(should: [base] + bonuses))
            let k = [1, 5, 10][qi % 3]
            var spec = SearchSpec(query: base, limit: k)
            spec.rescore = Rescore(query: full, window: 1000, maxGain: gain, bonus: bonus)
            spec.trackTotalHits = .upTo(0)
            spec.facetCache = nil
            spec.disjunction = disjunction
            let got = try searcher.search(spec)
            let want = naive.search(full)
            OracleTests.check(page: got.hits, naive: want, k: k, context: "seed \(seed) query \(qi) \(full) k \(k)")
            checked += want.isEmpty ? 0 : 1
        }
        #expect(needsTwo > 80, "seed \(seed): the two-clause bound applied to \(needsTwo) queries")
        #expect(checked > 100)
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
