import Foundation
import Testing
@testable import AisleIndex

/// Word pairs (`PairTerms`): a text group whose fields index pairs holds the pair term of `a b` in
/// exactly the documents and fields where the two-word phrase `a b` (slop 0) matches, whatever the
/// tokens at one position, the order tokens arrive in, the gaps, the segments and the merges. And
/// no term listing (typo look-ups, prefixes) ever shows a pair.
@Suite struct PairTermsTests {
    /// The random corpus's schema with pairs on for every field of the `plain` text group.
    static let schema: Schema = {
        var s = RandomCorpus.schema
        for i in s.fields.indices where s.fields[i].type == .text && s.fields[i].analyzer == "plain" { s.fields[i].pairs = true }
        return s
    }()

    /// The corpus with some documents given two tokens at one position (as synonyms or stems
    /// would) and a field's tokens in shuffled order.
    static func corpus(_ rng: inout SeededRandom, count: Int) -> RandomCorpus {
        var corpus = RandomCorpus(count: count, rng: &rng)
        let title = RandomCorpus.schema.ordinal(of: "title")!, desc = RandomCorpus.schema.ordinal(of: "description")!
        for i in corpus.docs.indices where Int.random(in: 0..<4, using: &rng) == 0 {
            for f in [title, desc] {
                guard var toks = corpus.docs[i].text[f], let t = toks.randomElement(using: &rng) else { continue }
                toks.append((Int.random(in: 0..<3, using: &rng) == 0 ? t.term : RandomCorpus.vocabulary[rng.zipf(12)], t.pos))   // sometimes the same word twice
                if Bool.random(using: &rng) { toks.shuffle(using: &rng) }
                corpus.docs[i].text[f] = toks
            }
        }
        return corpus
    }

    func docs(_ s: Searcher, _ q: Query) throws -> [Int] {
        try s.search(.constant(ConstantQuery(query: q, score: 1)), limit: s.docCount + 1, trackTotalHits: .exact).hits.map { $0.doc }.sorted()
    }

    func scored(_ s: Searcher, _ q: Query) throws -> [ScoredDoc] {
        try s.search(q, limit: s.docCount + 1, trackTotalHits: .exact).hits.sorted { $0.doc < $1.doc }
    }

    /// `pairs` (the corpus indexed with pairs) against `positions` (the same corpus without): the
    /// pair term of `a b` matches where the phrase matches from positions, and the phrase over pairs
    /// scores exactly what the phrase over positions scores.
    func checkPairsEqualPhrases(_ pairs: Searcher, _ positions: Searcher, seed: UInt64, label: String) throws -> Int {
        #expect(pairs.layout.textGroups[0].pairs && !positions.layout.textGroups[0].pairs)
        let words = Array(RandomCorpus.vocabulary.prefix(14)) + ["u1", "u2", "missing0"]
        var nonEmpty = 0
        for a in words {
            for b in words {
                let pair = try #require(PairTerms.term(Array(a.utf8), Array(b.utf8)))
                for mask: FieldMask? in [nil, 1, 4, 5] {
                    let phrase = Query.phrase(PhraseQuery(slot: 0, terms: [Array(a.utf8), Array(b.utf8)], fields: mask))
                    let viaPair = try docs(pairs, .term(TermQuery(slot: 0, term: pair, fields: mask)))
                    let viaPositions = try scored(positions, phrase)
                    if viaPair != viaPositions.map({ $0.doc }) {
                        Issue.record("seed \(seed), \(label): \(a) \(b) in fields \(String(describing: mask)): pair \(viaPair.count) documents, phrase \(viaPositions.count), \(Set(viaPair).symmetricDifference(viaPositions.map { $0.doc }).count) differ")
                    }
                    let phraseOverPairs = try scored(pairs, phrase)
                    if phraseOverPairs.map({ $0.doc }) != viaPositions.map({ $0.doc }) || phraseOverPairs.map({ $0.score }) != viaPositions.map({ $0.score }) {
                        Issue.record("seed \(seed), \(label): phrase \(a) \(b) in fields \(String(describing: mask)) scores differently over pairs")
                    }
                    if !viaPositions.isEmpty { nonEmpty += 1 }
                }
            }
        }
        return nonEmpty
    }

    @Test func pairsMatchWherePhrasesMatch() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("pair-terms")
        let corpus = Self.corpus(&rng, count: 1200)
        let dir = temporaryDirectory("pair-terms"), plainDir = temporaryDirectory("pair-terms-positions")
        defer { removeDirectory(dir); removeDirectory(plainDir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 400, schema: Self.schema)
        let positions = try corpus.buildIndex(at: plainDir, perSegment: 400)
        #expect(s.segments.count == 3)
        let nonEmpty = try checkPairsEqualPhrases(s, positions, seed: seed, label: "three segments")
        #expect(nonEmpty > 200, "seed \(seed): pairs that match something: \(nonEmpty)")

        // Merged into one segment: the merge carries the pairs over.
        let dir2 = temporaryDirectory("pair-terms-merged")
        defer { removeDirectory(dir2) }
        let merged = try corpus.buildIndex(at: dir2, perSegment: 400, merge: true, schema: Self.schema)
        #expect(merged.segments.count == 1)
        _ = try checkPairsEqualPhrases(merged, positions, seed: seed, label: "merged")
    }

    /// Proximity bonuses made of word pairs, as the engine builds them over a pairs index, rescored
    /// as documents are collected (`bonusClauseNeeds` and `bonusNeedsTwoClauses` read a pair as the
    /// phrase of its words). Pages must be the brute-force best by words plus bonuses (the naive
    /// searcher reads the same bonuses as phrases), for AND and OR, any page size.
    @Test(arguments: [true, false]) func pairBonusesKeepTheBestPages(and: Bool) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("pair-bonuses")
        let corpus = Self.corpus(&rng, count: 1600)
        let dir = temporaryDirectory("pair-bonuses")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 800, schema: Self.schema)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        var checked = 0
        for qi in 0..<120 {
            let n = Int.random(in: 2...4, using: &rng)
            var words: [[UInt8]] = []
            while words.count < n {
                let w = Array(RandomCorpus.vocabulary[rng.zipf(and ? 8 : 14)].utf8)
                if !words.contains(w) { words.append(w) }
            }
            let clauses = words.map { Query.term(TermQuery(slot: 0, term: $0)) }
            let base: Query = and ? .boolean(BooleanQuery(must: clauses)) : .boolean(BooleanQuery(should: clauses, coordination: qi % 2 == 0))
            var viaPairs: [Query] = [], viaPhrases: [Query] = []
            var gain: Float = 0
            for i in 0..<(n - 1) {
                // Now and then a second pair in the bonus (a word's alternative, as typos add).
                var pairs = [(words[i], words[i + 1])]
                if qi % 4 == 0 { pairs.append((words[i + 1], words[i])) }
                let c = Float(Int.random(in: 5...60, using: &rng)) / 10
                let p = try pairs.map { Query.term(TermQuery(slot: 0, term: try #require(PairTerms.term($0.0, $0.1)))) }
                let f = pairs.map { Query.phrase(PhraseQuery(slot: 0, terms: [$0.0, $0.1])) }
                viaPairs.append(.constant(ConstantQuery(query: p.count == 1 ? p[0] : .disMax(DisMaxQuery(clauses: p)), score: c)))
                viaPhrases.append(.constant(ConstantQuery(query: f.count == 1 ? f[0] : .disMax(DisMaxQuery(clauses: f)), score: c)))
                gain += c
            }
            func one(_ qs: [Query]) -> Query { qs.count == 1 ? qs[0] : .boolean(BooleanQuery(should: qs)) }
            let k = [1, 3, 10][qi % 3]
            var spec = SearchSpec(query: base, limit: k)
            spec.rescore = Rescore(query: .boolean(BooleanQuery(should: [base] + viaPairs)), window: 1000, maxGain: gain, bonus: one(viaPairs))
            spec.trackTotalHits = qi % 5 == 0 ? .upTo(100) : .upTo(0)
            spec.facetCache = nil
            let got = try searcher.search(spec)
            let full = Query.boolean(BooleanQuery(should: [base] + viaPhrases))
            let want = naive.search(full)
            OracleTests.check(page: got.hits, naive: want, k: k, context: "seed \(seed) query \(qi) k \(k)")
            checked += want.isEmpty ? 0 : 1
        }
        #expect(checked > 90, "seed \(seed)")
    }

    @Test func termListingsNeverShowPairs() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("pair-listings")
        let corpus = Self.corpus(&rng, count: 400)
        let dir = temporaryDirectory("pair-listings")
        defer { removeDirectory(dir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 400, schema: Self.schema)
        // The dictionary does hold pairs ...
        var pairsInDictionary = 0
        var it = try s.segments[0].terms.makeIterator()
        while try it.next() { if it.slot == 0 && PairTerms.isPair(it.key[2...]) { pairsInDictionary += 1 } }
        #expect(pairsInDictionary > 100, "seed \(seed)")
        #expect(try s.segments[0].spaceUsage().pairTerms == pairsInDictionary, "aisle inspect counts them")
        // ... but an empty prefix lists words only, and typo look-ups never offer a pair.
        let all = try s.rewrite(.prefix(PrefixQuery(slot: 0, prefix: [], maxExpansions: 100_000)))
        guard case .boolean(let b) = all else { Issue.record("seed \(seed): prefix rewrote to \(all)"); return }
        #expect(!b.should.isEmpty)
        for q in b.should { if case .term(let t) = q { #expect(!PairTerms.isPair(t.term), "seed \(seed)") } }
        for w in ["sofa", "blak", "w1", "ww12", "u1"] {
            for c in try s.fuzzyTerms(slot: 0, term: Array(w.utf8), maxEdits: 2, prefixLength: 0, limit: 1000) {
                #expect(!PairTerms.isPair(c.term), "seed \(seed): \(w) offered a pair")
            }
        }
    }

    @Test func aTokenThatCouldPassForAPairIsRefused() throws {
        let dir = temporaryDirectory("pair-refused")
        defer { removeDirectory(dir) }
        let w = try IndexWriter(creating: dir, schema: Self.schema, options: .init(sync: false))
        let title = Self.schema.ordinal(of: "title")!
        var doc = IndexDocument()
        doc.id = "bad"
        let bytes: [UInt8] = [0xFF, 0x61, 0x62]
        bytes.withUnsafeBufferPointer { doc.addToken(field: title, term: $0, position: 0) }
        doc.addStored(field: 0, value: .string("bad"))
        #expect(throws: IndexError.self) { try w.add(doc) }
        doc.reset()
        doc.id = "good"
        doc.addToken(field: title, term: "oak", position: 0)
        doc.addToken(field: title, term: "table", position: 1)
        doc.addStored(field: 0, value: .string("good"))
        try w.add(doc)
        try w.commit()
        let s = try Searcher.open(directory: dir)
        #expect(s.docCount == 1)
        let pair = try #require(PairTerms.term(Array("oak".utf8), Array("table".utf8)))
        #expect(try s.docFrequency(slot: 0, term: pair) == 1)
        #expect(PairTerms.words(pair).map { [$0.first, $0.second] } == [Array("oak".utf8), Array("table".utf8)])
        #expect(PairTerms.display(pair) == "\"oak table\" (word pair)")
        // Too long to be a term: not a pair.
        #expect(PairTerms.term([UInt8](repeating: 0x61, count: 200), [UInt8](repeating: 0x62, count: 60)) == nil)
    }
}
