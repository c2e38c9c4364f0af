import Foundation
import Testing
@testable import AisleEngine

/// The evaluator's query sets, gain handling and averaging (score.py's conventions), hand-checked.
@Suite struct RelevanceEvaluatorTests {
    // Home Depot-style grades (1..3, fractional), gain = relevance - 1:
    //   qA: d1 = 3 (gain 2), d2 = 2.5 (gain 1.5), d3 = 1 (gain 0)  -> relevant (gain >= 1.5): d1, d2
    //   qB: d4 = 1.25 (gain 0.25), d5 = 2 (gain 1)                  -> positive gain, nothing relevant
    //   qC: d6 = 1, d7 = 1                                          -> no positive gain
    //   qD: d8 = 3                                                  -> only 1 judgment (< min judged 2)
    //   qE: d9 = 3, d10 = 3                                         -> absent from the run
    let judgments = try! Judgments.parse("""
    query_id\tproduct_id\trelevance
    qA\td1\t3
    qA\td2\t2.5
    qA\td3\t1
    qB\td4\t1.25
    qB\td5\t2
    qC\td6\t1
    qC\td7\t1
    qD\td8\t3
    qE\td9\t3
    qE\td10\t3
    """)
    // qZ is ranked but has no judgments.
    let rankings: [String: [String]] = ["qA": ["x", "d2", "d1"], "qB": ["d5", "d4"], "qC": ["d6"], "qD": ["d8"], "qZ": ["d1"]]

    var homedepotLike: EvalSettings {
        var s = try! EvalSettings.preset("homedepot")
        s.minJudged = 2
        return s
    }

    func close(_ a: Double?, _ b: Double, _ eps: Double = 1e-9) -> Bool { a.map { abs($0 - b) <= eps } ?? false }

    @Test func querySetsAndZeroResults() throws {
        let r = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: homedepotLike)
        #expect(r.queries == 4)              // qA qB qC qE (qD has 1 judgment)
        #expect(r.queriesNDCG == 3)          // qA qB qE (qC has no positive gain)
        #expect(r.queriesBinary == 2)        // qA qE (qB has nothing with gain >= 1.5)
        #expect(r.zeroResult == 1)
        #expect(r.zeroResultQueries == ["qE"])
        #expect(r.rankedWithoutJudgments == 1)  // qZ
        #expect(r.perQuery.map { $0.id } == ["qA", "qB", "qC", "qE"])
        #expect(r.perQuery[2].values.isEmpty)   // qC takes part in nothing but the count
    }

    @Test func ndcgWithGainsRoundedToThirds() throws {
        // Gains rounded half up to thirds (score.py hands trec_eval round(gain * 3)):
        //   qA: d1 2 -> 6/3, d2 1.5 -> 4.5 -> 5/3.   qB: d4 0.25 -> 0.75 -> 1/3, d5 1 -> 3/3.
        // qA uncondensed [x, d2, d1]: DCG = (5/3)/log2(3) + 2/log2(4) = 1.0515496 + 1 = 2.0515496
        //                             IDCG = 2 + (5/3)/log2(3) = 3.0515496 -> 0.6722976
        // qA condensed [d2, d1]:      DCG = 5/3 + 2/log2(3) = 2.9285262 -> 0.9596849
        // qB [d5, d4] is the ideal order -> 1.   qE (no results) -> 0.
        let r = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: homedepotLike)
        let l3 = log2(3.0)
        let idealA = 2 + (5.0 / 3) / l3
        let uA = ((5.0 / 3) / l3 + 1) / idealA, cA = (5.0 / 3 + 2 / l3) / idealA
        #expect(close(uA, 0.6722976, 1e-7))
        #expect(close(cA, 0.9596849, 1e-7))
        #expect(close(r["ndcg@10_uncondensed"], (uA + 1 + 0) / 3))
        #expect(close(r["ndcg@10_condensed"], (cA + 1 + 0) / 3))
        #expect(r["ndcg@10"] == r["ndcg@10_condensed"])   // the preset reports the condensed figure
        #expect(close(r.perQuery[0].values["ndcg@10_uncondensed"], uA))

        // Exact gains (no rounding): qA uncondensed = (1.5/log2(3) + 1) / (2 + 1.5/log2(3)) = 0.6605958
        var exact = homedepotLike
        exact.gainScale = nil
        let e = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: exact)
        #expect(close(e.perQuery[0].values["ndcg@10_uncondensed"], (1.5 / l3 + 1) / (2 + 1.5 / l3)))
    }

    @Test func binaryMetricsOnTheFullAndCondensedLists() throws {
        // qA relevant d1, d2 in [x, d2, d1]: AP = (1/2 + 2/3) / 2 = 0.5833333, RR = 1/2, recall@100 = 1.
        // condensed [d2, d1]: AP = 1, RR = 1.   qE: all 0.
        let r = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: homedepotLike)
        #expect(close(r["map"], (0.5 + 2.0 / 3) / 2 / 2))
        #expect(close(r["mrr"], 0.25))
        #expect(close(r["recall@100"], 0.5))
        #expect(close(r["p@10"], 0.1))          // (2/10 + 0) / 2
        #expect(close(r["map_condensed"], 0.5))
        #expect(close(r["mrr_condensed"], 0.5))
        // judged@10 over the NDCG queries: qA 2/10, qB 2/10, qE 0 -> 0.1333333
        #expect(close(r["judged@10"], 0.4 / 3))
    }

    @Test func allQueriesAveragesOverEveryEvaluatedQuery() throws {
        var s = homedepotLike
        s.allQueries = true
        let r = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
        let base = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: homedepotLike)
        #expect(r.queriesNDCG == 4 && r.queriesBinary == 4)
        // qC (0) joins NDCG: 3/4 of the old mean; qB (0) and qC (0) join MAP: 2/4 of the old mean.
        #expect(close(r["ndcg@10_condensed"], base["ndcg@10_condensed"]! * 3 / 4))
        #expect(close(r["map"], base["map"]! * 2 / 4))
    }

    @Test func minJudgedAndThresholds() throws {
        var s = EvalSettings()
        s.gain = .minus1
        s.relMinGain = 1       // now qB's d5 (gain 1) is relevant
        let r = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
        #expect(r.queries == 5)   // qD is back (min judged 0)
        #expect(r.queriesBinary == 4)   // qA qB qD qE
        #expect(close(r.perQuery.first { $0.id == "qD" }?.values["ndcg@10"], 1))
        #expect(r.settings.primaryMetric == "ndcg@10")
        #expect(r["ndcg@10"] == r["ndcg@10_uncondensed"])
    }

    @Test func cutoffsAndExponentialGain() throws {
        var s = EvalSettings()
        s.cutoffs = [1, 3]
        s.recallCutoffs = [1]
        let j = try Judgments.parse("q 0 a 1\nq 0 b 2\n")
        let r = try Evaluator.evaluate(rankings: ["q": ["a", "b"]], judgments: j, settings: s)
        // Linear: DCG@3 = 1 + 2/log2(3); ideal = 2 + 1/log2(3). Exponential (1, 3): 1 + 3/log2(3) vs 3 + 1/log2(3).
        let l3 = log2(3.0)
        #expect(close(r["ndcg@3"], (1 + 2 / l3) / (2 + 1 / l3)))
        #expect(close(r["ndcg_exp@3"], (1 + 3 / l3) / (3 + 1 / l3)))
        #expect(close(r["ndcg@1"], 0.5))
        #expect(close(r["ndcg_exp@1"], 1.0 / 3))
        #expect(close(r["p@1"], 1))
        #expect(close(r["recall@1"], 0.5))
        #expect(r.metricNames.first == "ndcg@1")
    }

    @Test func mismatchedFilesAreErrors() throws {
        #expect(throws: EngineError.self) {
            try Evaluator.checkOverlap(rankings: ["x1": ["d"], "x2": ["d"]], judgments: judgments, what: "run")
        }
        try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "run")
        let qs = [QueryRecord(id: "qA", text: "a"), QueryRecord(id: "qB", text: "b")]
        #expect(Evaluator.queriesMissing(from: qs, judgments: judgments, settings: homedepotLike) == ["qC", "qE"])
        var bad = EvalSettings()
        bad.cutoffs = []
        #expect(throws: EngineError.self) { _ = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: bad) }
        var table = EvalSettings()
        table.gain = .table([1: 0, 3: 2])
        #expect(throws: EngineError.self) { _ = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: table) }
    }

    @Test func settingsRoundTripThroughJSON() throws {
        var s = try EvalSettings.preset("cranfield")
        s.cutoffs = [5, 10]
        s.order = .trecEval
        let back = try EvalSettings.parse(s.json)
        #expect(back == s)
        #expect(throws: EngineError.self) { _ = try EvalSettings.parse(.object([("gian", .string("x"))])) }
        #expect(throws: EngineError.self) { _ = try EvalSettings.preset("msmarco") }
    }
}
