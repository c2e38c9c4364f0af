import Foundation
import Testing
@testable import AisleEngine

/// Paired comparison: Python-compatible random draws, the randomization test, the t-test.
@Suite struct RelevanceComparisonTests {
    @Test func pythonRandomDrawsWhatPythonDraws() {
        // python3 -c "import random; r = random.Random(1); print([r.random() for _ in range(3)])"
        var r = PythonRandom(seed: 1)
        #expect(r.random() == 0.13436424411240122)
        #expect(r.random() == 0.8474337369372327)
        #expect(r.random() == 0.763774618976614)
        var z = PythonRandom(seed: 0)
        #expect(z.random() == 0.8444218515250481)
        var big = PythonRandom(seed: (1 << 40) + 5)   // a seed of two 32-bit words
        #expect(big.random() == 0.5043802970418443)
    }

    @Test func studentTMatchesScipy() {
        // scipy.stats.t.sf(t, df) * 2
        #expect(abs(StudentT.twoSidedP(t: 2.0, df: 10) - 0.07338803477074037) < 1e-12)
        #expect(abs(StudentT.twoSidedP(t: -0.5, df: 3) - 0.651447964848151) < 1e-12)
        #expect(abs(StudentT.twoSidedP(t: 3.3, df: 100) - 0.0013406195219600942) < 1e-12)
        #expect(StudentT.twoSidedP(t: 0, df: 5) == 1)
    }

    @Test func statisticsOfAHandMadePair() {
        // deltas +0.25, +0.25, 0, -0.125 (exact in binary): mean 0.09375;
        // SE = sqrt(((.15625² + .15625² + .09375² + .21875²) / 3) / 4)
        let qs = [("a", 0.5, 0.75), ("b", 0.25, 0.5), ("c", 0.375, 0.375), ("d", 0.625, 0.5)].map {
            PairedComparison.Query(id: $0.0, a: $0.1, b: $0.2)
        }
        let c = PairedComparison.make(metric: "m", queries: qs, permutations: 2000, seed: 1)
        #expect(c.meanDelta == 0.09375)
        #expect(c.meanA == 0.4375 && c.meanB == 0.53125)
        let se = ((0.15625 * 0.15625 * 2 + 0.09375 * 0.09375 + 0.21875 * 0.21875) / 3 / 4).squareRoot()
        #expect(abs(c.standardError - se) < 1e-15)
        #expect(c.wins == 2 && c.losses == 1 && c.ties == 1)
        #expect(c.worse.map { $0.id } == ["d"])
        #expect(c.better.map { $0.id } == ["a", "b"])   // equal deltas: by id
        // Sign patterns of (.25, .25, -.125) (the 0 changes nothing): |sum| >= 0.375 when the two .25
        // share a sign (|±.5 ± .125| is .375 or .625), i.e. 4 of 8 patterns -> p ≈ 0.5.
        #expect(abs(c.randomizationP - 0.5) < 0.05)
        // The same draws as compare.py: random.Random(1), 2000 x 4 calls to random() < 0.5.
        #expect(c.randomizationP == 0.49075462268865566)
        #expect(c.t == 0.09375 / se)
        #expect(c.degreesOfFreedom == 3)
        // scipy.stats.ttest_rel([.75, .5, .375, .5], [.5, .25, .375, .625]).pvalue
        #expect(abs(c.tTestP - 0.3910022189557705) < 1e-12)
    }

    @Test func aClearImprovementIsSignificant() {
        let qs = (0..<200).map { i in PairedComparison.Query(id: "q\(i)", a: 0.5, b: 0.5 + 0.05 + 0.01 * Double(i % 7) - 0.03) }
        let c = PairedComparison.make(metric: "m", queries: qs, permutations: 1000, seed: 7)
        #expect(c.randomizationP == 1.0 / 1001)   // no permutation reaches the observed sum
        #expect(c.tTestP < 1e-10)
        // Identical sides: nothing changes, p = 1.
        let same = PairedComparison.make(metric: "m", queries: qs.map { .init(id: $0.id, a: $0.a, b: $0.a) }, permutations: 100, seed: 1)
        #expect(same.randomizationP == 1)
        #expect(same.ties == 200)
    }

    @Test func compareReports() throws {
        let j = try Judgments.parse("q1 0 a 1\nq1 0 b 1\nq2 0 c 1\nq3 0 d 1\n")
        let s = EvalSettings()
        let ra = try Evaluator.evaluate(rankings: ["q1": ["a", "b"], "q2": ["x", "c"], "q3": ["d"]], judgments: j, settings: s)
        let rb = try Evaluator.evaluate(rankings: ["q1": ["a", "b"], "q2": ["c"], "q3": ["x", "y", "d"]], judgments: j, settings: s)
        let c = try PairedComparison.compare(ra, rb, metric: "mrr")
        // q1 1 -> 1, q2 1/2 -> 1, q3 1 -> 1/3
        #expect(c.queries.map { $0.delta } == [0, 0.5, 1.0 / 3 - 1])
        #expect(c.worse.map { $0.id } == ["q3"])
        #expect(throws: EngineError.self) { _ = try PairedComparison.compare(ra, rb, metric: "ndcg@7") }
    }
}
