import Foundation
import Testing
@testable import AisleEngine

/// Hand-checked metric values on small rankings (the arithmetic is in the comments).
@Suite struct RelevanceMetricsTests {
    // The ranking d1 d2 d3 d4; judgments d1 = 0, d2 = 2, d4 = 1, d5 = 3 (d5 never retrieved); d3 unjudged.
    let ranking = ["d1", "d2", "d3", "d4"]
    let gains: [String: Double] = ["d1": 0, "d2": 2, "d4": 1, "d5": 3]

    func close(_ a: Double, _ b: Double, _ eps: Double = 1e-12) -> Bool { abs(a - b) <= eps }

    @Test func ndcgUncondensed() {
        // DCG@4  = 0/log2(2) + 2/log2(3) + 0/log2(4) + 1/log2(5) = 1.2618595071 + 0.4306765581 = 1.6925360652
        // IDCG@4 = 3/log2(2) + 2/log2(3) + 1/log2(4) = 3 + 1.2618595071 + 0.5 = 4.7618595071
        // NDCG@4 = 1.6925360652 / 4.7618595071 = 0.3554359516
        #expect(close(RelevanceMetrics.dcg(ranking, gains: gains, k: 4), 1.6925360652163082))
        #expect(close(RelevanceMetrics.idealDCG(gains: gains, k: 4), 4.7618595071429155))
        #expect(close(RelevanceMetrics.ndcg(ranking, gains: gains, k: 4), 0.35543595158098623))
        // NDCG@1: d1 has gain 0 -> 0.
        #expect(RelevanceMetrics.ndcg(ranking, gains: gains, k: 1) == 0)
        // NDCG@2 = (2/log2(3)) / (3 + 2/log2(3)) = 1.2618595 / 4.2618595 = 0.2960813
        #expect(close(RelevanceMetrics.ndcg(ranking, gains: gains, k: 2), (2 / log2(3.0)) / (3 + 2 / log2(3.0))))
    }

    @Test func ndcgCondensed() {
        // Condensed: the unjudged d3 is removed -> d1 d2 d4.
        // DCG@4 = 0 + 2/log2(3) + 1/log2(4) = 1.2618595071 + 0.5 = 1.7618595071; NDCG = 1.7618595 / 4.7618595 = 0.3699940127
        let condensed = ranking.filter { gains[$0] != nil }
        #expect(condensed == ["d1", "d2", "d4"])
        #expect(close(RelevanceMetrics.ndcg(condensed, gains: gains, k: 4), 0.36999401273810767))
    }

    @Test func ndcgExponentialGain() {
        // Gains 2^g - 1: d2 = 3, d4 = 1, d5 = 7.
        // DCG@4 = 3/log2(3) + 1/log2(5) = 1.8927892607 + 0.4306765581 = 2.3234658188
        // IDCG@4 = 7 + 3/log2(3) + 1/log2(4) = 7 + 1.8927892607 + 0.5 = 9.3927892607; NDCG = 0.2473670
        let exp = gains.mapValues { pow(2, $0) - 1 }
        let want = (3 / log2(3.0) + 1 / log2(5.0)) / (7 + 3 / log2(3.0) + 0.5)
        #expect(close(RelevanceMetrics.ndcg(ranking, gains: exp, k: 4), want))
        #expect(close(want, 0.2473670, 1e-7))
    }

    @Test func ndcgPerfectAndEmpty() {
        // The ideal order scores 1; an empty ranking 0; no positive gain at all 0.
        #expect(close(RelevanceMetrics.ndcg(["d5", "d2", "d4"], gains: gains, k: 10), 1))
        #expect(RelevanceMetrics.ndcg([], gains: gains, k: 10) == 0)
        #expect(RelevanceMetrics.ndcg(["d1"], gains: ["d1": 0], k: 10) == 0)
    }

    @Test func binaryMetrics() {
        // Relevant (gain >= 2): d2 and d5. d2 at rank 2, d5 not retrieved.
        let rel: Set<String> = ["d2", "d5"]
        // AP = (1/2) / 2 = 0.25 (d5 never retrieved counts 0).
        #expect(close(RelevanceMetrics.averagePrecision(ranking, relevant: rel), 0.25))
        // RR = 1/2.
        #expect(close(RelevanceMetrics.reciprocalRank(ranking, relevant: rel), 0.5))
        // P@1 = 0, P@2 = 1/2, P@10 = 1/10 (divided by k, not by the 4 retrieved).
        #expect(RelevanceMetrics.precision(ranking, relevant: rel, k: 1) == 0)
        #expect(close(RelevanceMetrics.precision(ranking, relevant: rel, k: 2), 0.5))
        #expect(close(RelevanceMetrics.precision(ranking, relevant: rel, k: 10), 0.1))
        // Recall@1 = 0, Recall@2 = 1/2, Recall@100 = 1/2.
        #expect(RelevanceMetrics.recall(ranking, relevant: rel, k: 1) == 0)
        #expect(close(RelevanceMetrics.recall(ranking, relevant: rel, k: 100), 0.5))
    }

    @Test func averagePrecisionWithSeveralHits() {
        // Ranking r1 x r2 x x r3, relevant r1 r2 r3 r4:
        // AP = (1/1 + 2/3 + 3/6) / 4 = (1 + 0.6667 + 0.5) / 4 = 0.5416667
        let r = ["r1", "x1", "r2", "x2", "x3", "r3"]
        let rel: Set<String> = ["r1", "r2", "r3", "r4"]
        #expect(close(RelevanceMetrics.averagePrecision(r, relevant: rel), (1 + 2.0 / 3 + 0.5) / 4))
        #expect(RelevanceMetrics.reciprocalRank(r, relevant: rel) == 1)
        #expect(RelevanceMetrics.averagePrecision(r, relevant: []) == 0)
        #expect(RelevanceMetrics.recall(r, relevant: [], k: 10) == 0)
    }
}
