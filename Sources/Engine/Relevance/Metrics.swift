import Foundation

/// Per-query ranking metrics, defined as trec_eval defines them.
///
/// `ranking` is the ranked list of document ids (best first, no duplicates). Graded metrics take
/// each judged document's gain (unjudged documents have gain 0); binary metrics take the set of
/// relevant documents (and the number of relevant documents, which may include documents the
/// ranking never shows).
public enum RelevanceMetrics {
    /// 1 / log2(rank + 1) for rank = i + 1.
    @inline(__always) static func discount(_ i: Int) -> Double { 1 / log2(Double(i + 2)) }

    /// DCG@k with the given gains (linear: gain as is).
    public static func dcg(_ ranking: [String], gains: [String: Double], k: Int) -> Double {
        var s = 0.0
        for (i, d) in ranking.prefix(k).enumerated() {
            if let g = gains[d], g > 0 { s += g * discount(i) }
        }
        return s
    }

    /// Ideal DCG@k: every judged document with a positive gain, best first (trec_eval ndcg_cut).
    public static func idealDCG(gains: [String: Double], k: Int) -> Double {
        let ideal = gains.values.filter { $0 > 0 }.sorted(by: >).prefix(k)
        var s = 0.0
        for (i, g) in ideal.enumerated() { s += g * discount(i) }
        return s
    }

    /// NDCG@k = DCG@k / ideal DCG@k; 0 when no document has a positive gain.
    public static func ndcg(_ ranking: [String], gains: [String: Double], k: Int) -> Double {
        let ideal = idealDCG(gains: gains, k: k)
        return ideal > 0 ? dcg(ranking, gains: gains, k: k) / ideal : 0
    }

    /// Average precision over the whole ranking: Σ precision at each relevant rank / relevant count.
    public static func averagePrecision(_ ranking: [String], relevant: Set<String>) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var hits = 0
        var s = 0.0
        for (i, d) in ranking.enumerated() where relevant.contains(d) {
            hits += 1
            s += Double(hits) / Double(i + 1)
        }
        return s / Double(relevant.count)
    }

    /// 1 / rank of the first relevant document, 0 if none is retrieved.
    public static func reciprocalRank(_ ranking: [String], relevant: Set<String>) -> Double {
        for (i, d) in ranking.enumerated() where relevant.contains(d) { return 1 / Double(i + 1) }
        return 0
    }

    /// Relevant documents in the top k / k (k, not the number retrieved, as trec_eval's P).
    public static func precision(_ ranking: [String], relevant: Set<String>, k: Int) -> Double {
        guard k > 0 else { return 0 }
        return Double(ranking.prefix(k).filter { relevant.contains($0) }.count) / Double(k)
    }

    /// Relevant documents in the top k / all relevant documents.
    public static func recall(_ ranking: [String], relevant: Set<String>, k: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        return Double(ranking.prefix(k).filter { relevant.contains($0) }.count) / Double(relevant.count)
    }
}
