import Foundation
import Testing
@testable import AisleIndex

/// Block bounds from impact vectors (postings format 2 and later), the partition of MaxScore and the
/// statistics that spare counting: each against a brute-force or unpruned answer.
@Suite struct ImpactBoundsTests {
    typealias Vector = [(tf: UInt8, norm: UInt8)]

    /// `a` scores at least as high as `b` for any query: in every field where `b` has the term.
    static func covers(_ a: Vector, _ b: Vector) -> Bool {
        zip(a, b).allSatisfy { x, y in y.tf == 0 || (x.tf >= y.tf && x.norm <= y.norm) }
    }

    /// A product `P0000i` whose title is `words` in random order ("filler" when there are none).
    static func titled(_ i: Int, _ words: [String], title: Int, rng: inout SeededRandom) -> NaiveDoc {
        var d = NaiveDoc(id: "P\(String(format: "%05d", i))")
        var words = words.isEmpty ? ["filler"] : words
        words.shuffle(using: &rng)
        d.text[title] = words.enumerated().map { ($1, $0) }
        d.stored[title] = .string(words.joined(separator: " "))
        return d
    }

    /// `docs` indexed in segments of 2,500 under a temporary directory (removed by the caller), with
    /// the naive searcher over the same documents.
    static func index(_ docs: [NaiveDoc], _ label: String, rng: inout SeededRandom) throws -> (Searcher, NaiveSearcher, String) {
        var corpus = RandomCorpus(count: 0, rng: &rng)
        corpus.docs = docs
        let dir = temporaryDirectory(label)
        let s = try corpus.buildIndex(at: dir, perSegment: 2500)
        return (s, try NaiveSearcher(schema: s.schema, docs: docs), dir)
    }

    static func same(_ a: Vector, _ b: Vector) -> Bool {
        zip(a, b).allSatisfy { $0.tf == $1.tf && ($0.tf == 0 || $0.norm == $1.norm) }
    }

    /// BM25-shaped score with weights `w` and an increasing K table (tf 255 is saturated).
    static func score(_ v: Vector, _ w: [Float], _ kTable: [Float]) -> Float {
        var s: Float = 0
        for (j, f) in v.enumerated() where f.tf > 0 {
            s += bm25Bound(weight: w[j], kMin: kTable[Int(f.norm)], maxTf: f.tf)
        }
        return s
    }

    @Test func frontierCoversEveryDocumentAndIsExactWhenSmall() {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-frontier")
        var exactCases = 0, mergedCases = 0
        for round in 0..<3000 {
            let k = Int.random(in: 1...4, using: &rng)
            let m = Int.random(in: 1...128, using: &rng)
            let maxTf = [1, 2, 4, 300].randomElement(using: &rng)!
            let maxNorm = [3, 12, 80].randomElement(using: &rng)!
            var docs: [Vector] = []
            for _ in 0..<m {
                var v: Vector = []
                repeat {
                    v = (0..<k).map { _ in
                        let tf = Int.random(in: 0..<3, using: &rng) == 0 ? 0 : Int.random(in: 1...maxTf, using: &rng)
                        return tf == 0 ? (0, 255) : (UInt8(min(tf, 255)), UInt8(Int.random(in: 1...maxNorm, using: &rng)))
                    }
                } while v.allSatisfy { $0.tf == 0 }
                docs.append(v)
            }
            var f = ImpactFrontier()
            f.reset(fields: k, weights: (0..<k).map { _ in Float.random(in: 0.5...3, using: &rng) },
                    meanLengths: (0..<k).map { _ in Float.random(in: 2...40, using: &rng) })
            for d in docs { f.add { j in (d[j].tf, d[j].norm) } }
            f.reduce(to: 4)
            var out: [UInt8] = []
            f.write(vectors: 4, into: &out)
            #expect(out.count == 4 * k * 2)
            let written: [Vector] = (0..<4).map { a in (0..<k).map { j in (out[(a * k + j) * 2], out[(a * k + j) * 2 + 1]) } }
            let vectors = written.filter { v in v.contains { $0.tf > 0 } }
            let ctx = "seed \(seed) round \(round) k=\(k)"
            // Every document is covered: no document scores above the best vector, for any query.
            for d in docs {
                #expect(vectors.contains { Self.covers($0, d) }, "\(ctx): \(d) above every vector \(vectors)")
            }
            // The brute-force frontier: documents no other (different) document covers.
            var frontier: [Vector] = []
            for d in docs where !frontier.contains(where: { Self.same($0, d) }) {
                if !docs.contains(where: { !Self.same($0, d) && Self.covers($0, d) }) { frontier.append(d) }
            }
            let w = (0..<k).map { _ in Float.random(in: 0.1...10, using: &rng) }
            var kTable = [Float](repeating: 0, count: 256)
            for i in 1..<256 { kTable[i] = kTable[i - 1] + Float.random(in: 0...0.2, using: &rng) }
            let best = docs.map { Self.score($0, w, kTable) }.max()!
            let bound = vectors.map { Self.score($0, w, kTable) }.max()!
            #expect(bound >= best, "\(ctx): bound \(bound) under the best document \(best)")
            if frontier.count <= 4 {
                // Small frontiers are kept as they are: the bound is exact for every query.
                exactCases += 1
                #expect(vectors.count == frontier.count && frontier.allSatisfy { p in vectors.contains { Self.same($0, p) } },
                        "\(ctx): frontier \(frontier) written as \(vectors)")
                #expect(bound == best, "\(ctx): exact frontier, bound \(bound) vs \(best)")
            } else {
                mergedCases += 1
                #expect(vectors.count == 4)
            }
            // Never looser than the field-wise maxima of version 1.
            for v in vectors {
                for j in 0..<k where v[j].tf > 0 {
                    let maxTf = docs.map { $0[j].tf }.max()!
                    let minNorm = docs.filter { $0[j].tf > 0 }.map { $0[j].norm }.min()!
                    #expect(v[j].tf <= maxTf && v[j].norm >= minNorm, "\(ctx): \(v) looser than the maxima")
                }
            }
        }
        #expect(exactCases > 100 && mergedCases > 100, "both kinds of block: \(exactCases) exact, \(mergedCases) merged")
    }

    /// Segments written in older postings versions (one impact vector per block in version 1, no
    /// position index before version 3) search as the naive searcher does, and merging rewrites
    /// them in the current version.
    @Test(arguments: [UInt32(1), 2])
    func olderVersionsStillSearchAndMergeIntoTheCurrentOne(version: UInt32) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-v\(version)")
        let corpus = RandomCorpus(count: 2000, rng: &rng)
        let d1 = temporaryDirectory("impact-old"), d2 = temporaryDirectory("impact-new")
        defer { removeDirectory(d1); removeDirectory(d2) }
        let current = PostingsFormat.version
        let old = try PostingsFormat.$writeVersion.withValue(version) { try corpus.buildIndex(at: d1, perSegment: 700) }
        let new = try corpus.buildIndex(at: d2, perSegment: 700)
        #expect(old.segments.count == 3 && old.segments.allSatisfy { $0.docsFile.version == version })
        #expect(new.segments.allSatisfy { $0.docsFile.version == current })
        let naive = try NaiveSearcher(schema: new.schema, docs: corpus.docs)
        let gen = QueryGenerator(layout: new.layout)
        var queries: [Query] = []
        for _ in 0..<60 { queries.append(gen.query(&rng)) }
        func check(_ s: Searcher, _ label: String) throws {
            for (qi, q) in queries.enumerated() {
                let want = naive.search(q)
                let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
                for k in [1, 10] {
                    let got = try s.search(q, limit: k, trackTotalHits: .upTo(0))
                    OracleTests.check(got.hits, Array(want.prefix(k)), all: all, context: "seed \(seed) \(label) query \(qi) \(q) k=\(k)")
                }
            }
        }
        try check(old, "version \(version)")
        try check(new, "version \(current)")
        // Merging rewrites older postings in the current version.
        let w = try IndexWriter(opening: d1, options: .init(sync: false))
        try w.forceMerge()
        let merged = try Searcher.open(directory: d1)
        #expect(merged.segments.count == 1 && merged.segments[0].docsFile.version == current)
        try check(merged, "merged")
    }

    /// A corpus where the best products hold all three words, and most products one or two: once
    /// the page fills, each word is required (the others' bounds cannot reach the page), and the
    /// candidates leapfrog instead of visiting every posting.
    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func disjunctionsThatBecomeConjunctionsKeepTheExactPage(disjunction: DisjunctionAlgorithm) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-required")
        let L = RandomCorpus.schema
        let title = L.ordinal(of: "title")!, desc = L.ordinal(of: "description")!
        var docs: [NaiveDoc] = []
        for i in 0..<6000 {
            var words: [String] = []
            let all = Int.random(in: 0..<120, using: &rng) == 0
            if all || Int.random(in: 0..<10, using: &rng) < 6 { words.append("common") }
            if all || Int.random(in: 0..<10, using: &rng) < 3 { words.append("mid") }
            if all || Int.random(in: 0..<30, using: &rng) == 0 { words.append("rare") }
            for _ in 0..<Int.random(in: 0...(all ? 1 : 6), using: &rng) { words.append("w\(Int.random(in: 0..<50, using: &rng))") }
            var d = Self.titled(i, words, title: title, rng: &rng)
            if Int.random(in: 0..<2, using: &rng) == 0 {
                let n = Int.random(in: 1...40, using: &rng)
                d.text[desc] = (0..<n).map { p in (["common", "mid", "rare", "w1", "w2"].randomElement(using: &rng)!, p) }
            }
            docs.append(d)
        }
        let (s, naive, dir) = try Self.index(docs, "impact-required", rng: &rng)
        defer { removeDirectory(dir) }
        func t(_ w: String) -> Query { .term(TermQuery(slot: 0, term: w)) }
        let shapes: [Query] = [
            .boolean(BooleanQuery(should: [t("common"), t("mid"), t("rare")])),
            .boolean(BooleanQuery(should: [t("common"), t("rare")])),
            .boolean(BooleanQuery(should: [t("common"), t("mid"), t("rare")], coordination: true)),
            .boolean(BooleanQuery(should: [.disMax(DisMaxQuery(clauses: [t("common"), t("w1")])), t("mid"), t("rare")], coordination: true)),
            .boolean(BooleanQuery(should: [t("common"), t("mid"), t("rare"), t("w3")])),
        ]
        for (qi, q) in shapes.enumerated() {
            let want = naive.search(q)
            let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
            for k in [1, 10, 40] {
                for tracking in [TotalHitsTracking.upTo(0), .upTo(100), .upTo(10_000)] {
                    let got = try s.search(q, limit: k, trackTotalHits: tracking, disjunction: disjunction)
                    OracleTests.check(got.hits, Array(want.prefix(k)), all: all, context: "seed \(seed) shape \(qi) k=\(k) \(tracking)")
                    #expect(got.totalHits <= want.count)
                    if got.totalIsExact { #expect(got.totalHits == want.count) }
                }
            }
        }
    }

    /// A disjunction whose best word alone is in more products than the tracking limit needs no
    /// counting: the total is "at least the limit" at once. Deleted products are never counted in.
    @Test func statisticsVouchForTotalsWithoutCounting() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-totals")
        let corpus = RandomCorpus(count: 2000, rng: &rng)
        let dir = temporaryDirectory("impact-totals")
        defer { removeDirectory(dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let index = try LiveIndex.create(directory: dir, schema: RandomCorpus.schema, options: o)
        defer { index.close() }
        var doc = IndexDocument()
        for (i, d) in corpus.docs.enumerated() {
            d.fill(&doc)
            _ = try index.upsert(doc)
            if i % 700 == 699 { _ = try index.refresh() }
        }
        _ = try index.refresh()
        // Delete half the products with "sofa" so its document frequency overstates the live ones.
        let sofa = corpus.docs.filter { d in d.text.values.contains { $0.contains { $0.term == "sofa" } } }
        for d in sofa.prefix(sofa.count / 2) { #expect(try index.delete(id: d.id)) }
        let s = try index.refresh()
        #expect(s.segments.contains { $0.deleted != nil })
        func t(_ w: String) -> Query { .term(TermQuery(slot: 0, term: w)) }
        // The reference: the same index, counting every match exactly (no pruning, no statistics);
        // statistics include deleted documents, as the index's scores do, so a naive searcher over
        // the live documents would score differently.
        for q in [t("black"), t("sofa"), .boolean(BooleanQuery(should: [t("black"), t("sofa"), t("w30")])),
                  .disMax(DisMaxQuery(clauses: [t("table"), t("lamp")]))] {
            let exact = try s.search(q, limit: 10, trackTotalHits: .exact)
            let count = exact.totalHits
            #expect(count > 50, "seed \(seed) \(q): \(count) matches")
            for limit in [1, 50, count, count + 1, 100_000] {
                let got = try s.search(q, limit: 10, trackTotalHits: .upTo(limit))
                // The same page; scores summed in another order may differ in the last bits.
                #expect(got.hits.map { $0.doc } == exact.hits.map { $0.doc }
                        && zip(got.hits, exact.hits).allSatisfy { abs($0.score - $1.score) <= 1e-4 },
                        "seed \(seed) \(q) upTo(\(limit)): \(got.hits) vs \(exact.hits)")
                if count >= limit {
                    #expect(got.totalHits >= limit && got.totalHits <= count, "seed \(seed) \(q): \(got.totalHits) of \(count), limit \(limit)")
                } else {
                    #expect(got.totalHits == count && got.totalIsExact, "seed \(seed) \(q): \(got.totalHits) of \(count), limit \(limit)")
                }
            }
        }
        // The bound itself never exceeds the live matches, and the checks above met it.
        var largest = 0
        for q in [t("sofa"), t("black"), .boolean(BooleanQuery(should: [t("sofa"), t("oak")])), t("w30"),
                  .boolean(BooleanQuery(must: [t("sofa"), t("black")]))] {
            let ctx = try QueryContext(searcher: s, query: q)
            let bound = s.matchLowerBound(q, ctx: ctx)
            largest = max(largest, bound)
            let live = try s.search(q, limit: 0, trackTotalHits: .exact).totalHits
            #expect(bound >= 0 && bound <= live, "seed \(seed) \(q): bound \(bound) of \(live)")
        }
        #expect(largest >= 50, "seed \(seed): the statistics vouched for \(largest) matches at most")
    }

    /// MaxScore decides per window (up to the first block end among the terms) that a term is
    /// required, or that a candidate needs a second clause, from that window's block bounds; a skip
    /// it takes on that ground must stop at the window's end. Here the bounds change from stretch to
    /// stretch of the postings (strong stretches of short, repetitive titles between long weak
    /// ones), so a skip past the window loses the best products of a later stretch. The shapes
    /// include the engine's proximity form: an OR of word clauses, one of them a word the index
    /// does not know, with a bonus that needs two clauses.
    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func skipsStopAtTheWindowsEnd(disjunction: DisjunctionAlgorithm) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-windows")
        let title = RandomCorpus.schema.ordinal(of: "title")!
        var checked = 0
        for round in 0..<10 {
            var docs: [NaiveDoc] = []
            while docs.count < 5000 {
                // Each word is absent from many stretches: a required word's next product is then far off.
                let strong = Int.random(in: 0..<3, using: &rng) == 0
                let presence = [0, 0, 0, 1, 3, 6, 10]
                var pAlpha = presence.randomElement(using: &rng)!, pBeta = presence.randomElement(using: &rng)!
                // A strong stretch has one of the two words: its best products hold one word only and
                // outscore every mixed product (so no word is needed everywhere).
                if strong { if Bool.random(using: &rng) { pBeta = 0 } else { pAlpha = 0 } }
                for _ in 0..<Int.random(in: 40...400, using: &rng) {
                    var words: [String] = []
                    for (w, p) in [("alpha", pAlpha), ("beta", pBeta), ("gamma", 1)] where Int.random(in: 0..<10, using: &rng) < p {
                        for _ in 0..<(strong ? Int.random(in: 1...6, using: &rng) : 1) { words.append(w) }
                    }
                    for _ in 0..<(strong ? Int.random(in: 0...1, using: &rng) : Int.random(in: 4...30, using: &rng)) {
                        words.append("f\(Int.random(in: 0..<40, using: &rng))")
                    }
                    docs.append(Self.titled(docs.count, words, title: title, rng: &rng))
                }
            }
            let (s, naive, dir) = try Self.index(docs, "impact-windows-\(round)", rng: &rng)
            defer { removeDirectory(dir) }
            func t(_ w: String) -> Query { .term(TermQuery(slot: 0, term: w)) }
            let ab = Query.disMax(DisMaxQuery(clauses: [t("alpha"), t("beta")]))
            for (base, bonusPairs) in [
                (Query.boolean(BooleanQuery(should: [t("alpha"), t("beta")])), [[String]]()),
                (.boolean(BooleanQuery(should: [t("alpha"), t("beta"), t("gamma")])), []),
                (.boolean(BooleanQuery(should: [t("alpha"), t("beta"), t("gamma")], coordination: true)), []),
                (.boolean(BooleanQuery(should: [ab, t("unknownword")])), [["alpha", "unknownword"], ["beta", "unknownword"]]),
                (.boolean(BooleanQuery(should: [ab, t("gamma")])), [["alpha", "gamma"], ["beta", "gamma"]]),
                (.boolean(BooleanQuery(should: [t("alpha"), t("beta")])), [["alpha", "beta"]]),
            ] {
                var full = base
                var rescore: Rescore?
                if !bonusPairs.isEmpty {
                    let pairs = bonusPairs.map { Query.phrase(PhraseQuery(slot: 0, terms: $0.map { Array($0.utf8) }, slop: 0)) }
                    let bonus = Query.constant(ConstantQuery(query: pairs.count == 1 ? pairs[0] : .disMax(DisMaxQuery(clauses: pairs)), score: 1.5))
                    #expect(base.bonusNeedsTwoClauses(bonus))
                    full = .boolean(BooleanQuery(should: [base, bonus]))
                    rescore = Rescore(query: full, window: 1000, maxGain: 1.5, bonus: bonus)
                }
                let want = naive.search(full)
                for k in [1, 3, 10] {
                    var spec = SearchSpec(query: base, limit: k)
                    spec.rescore = rescore
                    spec.trackTotalHits = .upTo(0)
                    spec.facetCache = nil
                    spec.disjunction = disjunction
                    let got = try s.search(spec)
                    OracleTests.check(page: got.hits, naive: want, k: k, context: "seed \(seed) round \(round) \(full) k=\(k) \(disjunction)")
                    checked += 1
                }
            }
        }
        #expect(checked == 10 * 18)
    }

    /// A block whose bounds cannot reach the page is skipped to the first document after it: here
    /// that document (the first of the words' third block) is the best product, so a loop that
    /// skips one document too far, or past the window, loses the page. Both disjunction loops.
    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func aSkippedBlockEndsRightBeforeTheBestProduct(disjunction: DisjunctionAlgorithm) throws {
        var (rng, seed) = SeededRandom.fromEnvironment("impact-block-edge")
        let title = RandomCorpus.schema.ordinal(of: "title")!
        let bs = PostingsFormat.blockSize
        var docs: [NaiveDoc] = []
        for i in 0..<(2 * bs + 40) {
            let words: [String]
            switch i {
            case 0: words = ["alpha", "alpha", "beta"]                         // good: sets the page's bar
            case 2 * bs: words = ["alpha", "alpha", "alpha", "beta", "beta"]  // the best, first of block 3
            default: words = ["alpha", "beta"] + (0..<12).map { "f\($0)" }     // weak: long titles
            }
            docs.append(Self.titled(i, words, title: title, rng: &rng))
        }
        // Products without the words, so that they weigh something (idf).
        for _ in 0..<2000 { docs.append(Self.titled(docs.count, ["f\(Int.random(in: 0..<12, using: &rng))"], title: title, rng: &rng)) }
        let (s, naive, dir) = try Self.index(docs, "impact-block-edge", rng: &rng)
        defer { removeDirectory(dir) }
        func t(_ w: String) -> Query { .term(TermQuery(slot: 0, term: w)) }
        for q in [Query.boolean(BooleanQuery(should: [t("alpha"), t("beta")])),
                  .boolean(BooleanQuery(should: [t("beta"), t("alpha"), t("f3")]))] {
            let want = naive.search(q)
            #expect(want.first?.doc == 2 * bs, "seed \(seed): the corpus is built so the third block's first product is the best")
            let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
            for k in [1, 2] {
                let got = try s.search(q, limit: k, trackTotalHits: .upTo(0), disjunction: disjunction)
                OracleTests.check(got.hits, Array(want.prefix(k)), all: all, context: "seed \(seed) \(q) k=\(k) \(disjunction)")
            }
        }
    }
}
