import Foundation
import Testing
@testable import AisleIndex

/// The index against a linear-scan searcher with the same BM25F maths, on seeded random corpora.
@Suite struct OracleTests {
    /// Compares a page of index hits with the naive ranking. Scores must agree within 1e-4 rank by
    /// rank, every returned doc must really score what the index says, and ids may differ only
    /// between near-ties.
    static func check(_ got: [ScoredDoc], _ want: [ScoredDoc], all: [Int: Float], context: String) {
        #expect(got.count == want.count, "\(context): \(got.count) hits, expected \(want.count)")
        for (i, (g, w)) in zip(got, want).enumerated() {
            #expect(abs(g.score - w.score) <= 1e-4, "\(context): rank \(i) score \(g.score) vs \(w.score)")
            guard let truth = all[g.doc] else {
                Issue.record("\(context): doc \(g.doc) returned but does not match")
                continue
            }
            #expect(abs(truth - g.score) <= 1e-4, "\(context): doc \(g.doc) scored \(g.score), naive \(truth)")
            if g.doc != w.doc {
                #expect(abs(g.score - w.score) <= 1e-4, "\(context): rank \(i) doc \(g.doc) vs \(w.doc)")
            }
        }
    }

    /// `check` for a search's page: its hits against ranks `offset ..< offset + k` of the naive
    /// ranking `want` (every match, best first).
    static func check(page got: [SearchHitResult], naive want: [ScoredDoc], offset: Int = 0, k: Int, context: String) {
        let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
        check(got.map { ScoredDoc(doc: $0.doc, score: $0.score) }, Array(want.dropFirst(offset).prefix(k)), all: all, context: context)
    }

    func runOracle(docs: Int, perSegment: Int, queries: Int, merge: Bool, label: String,
                   disjunction: DisjunctionAlgorithm = .auto) throws {
        var (rng, seed) = SeededRandom.fromEnvironment(label)
        let corpus = RandomCorpus(count: docs, rng: &rng)
        let dir = temporaryDirectory(label)
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: perSegment, merge: merge)
        let naive = try NaiveSearcher(schema: searcher.schema, docs: corpus.docs)
        #expect(searcher.docCount == docs)
        if merge { #expect(searcher.segments.count == 1) } else { #expect(searcher.segments.count == (docs + perSegment - 1) / perSegment) }
        let gen = QueryGenerator(layout: searcher.layout)
        for qi in 0..<queries {
            let q = gen.query(&rng)
            let want = naive.search(q)
            let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
            let ctx = "seed \(seed) query \(qi) \(q)"
            for k in [1, 10, 50] {
                // Exact totals: no pruning.
                let exact = try searcher.search(q, limit: k, trackTotalHits: .exact, disjunction: disjunction)
                #expect(exact.totalHits == want.count, "\(ctx): total \(exact.totalHits) vs \(want.count)")
                #expect(exact.totalIsExact)
                Self.check(exact.hits, Array(want.prefix(k)), all: all, context: ctx + " k=\(k) exact")
                // Pruning from the start: same top k.
                let pruned = try searcher.search(q, limit: k, trackTotalHits: .upTo(0), disjunction: disjunction)
                Self.check(pruned.hits, Array(want.prefix(k)), all: all, context: ctx + " k=\(k) pruned")
                #expect(pruned.totalHits <= want.count)
                if pruned.totalIsExact { #expect(pruned.totalHits == want.count, "\(ctx): exact total claimed") }
            }
            // Counting only (no hits, enough counted): the search stops at the count asked for.
            for t in [1, 5] {
                let counted = try searcher.search(q, limit: 0, trackTotalHits: .upTo(t), disjunction: disjunction)
                #expect(counted.hits.isEmpty)
                #expect(counted.totalHits == min(want.count, t), "\(ctx): upTo(\(t)) counted \(counted.totalHits) of \(want.count)")
                if counted.totalIsExact { #expect(counted.totalHits == want.count, "\(ctx): upTo(\(t)) exact total claimed") }
            }
            // Paging: offset 5, limit 7.
            let page = try searcher.search(q, limit: 7, offset: 5, trackTotalHits: .upTo(3), disjunction: disjunction)
            Self.check(page.hits, Array(want.dropFirst(5).prefix(7)), all: all, context: ctx + " page")
        }
    }

    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func smallCorpusManySegments(disjunction: DisjunctionAlgorithm) throws {
        try runOracle(docs: 300, perSegment: 37, queries: 500, merge: false, label: "oracle-small", disjunction: disjunction)
    }

    @Test(arguments: [DisjunctionAlgorithm.maxScore, .blockMaxWand])
    func largerCorpusFewSegments(disjunction: DisjunctionAlgorithm) throws {
        try runOracle(docs: 5000, perSegment: 1800, queries: 300, merge: false, label: "oracle-large", disjunction: disjunction)
    }

    @Test func mergedSegments() throws {
        try runOracle(docs: 1500, perSegment: 400, queries: 200, merge: true, label: "oracle-merged")
    }
}
