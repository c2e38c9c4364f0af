import Foundation

/// A paired comparison of two configurations on the same queries and judgments (B − A).
public struct PairedComparison: Sendable {
    public struct Query: Sendable {
        public var id: String
        public var a: Double
        public var b: Double
        public var delta: Double { b - a }
    }

    public var metric: String
    /// In query id order (code points, as compare.py's query order).
    public var queries: [Query]
    public var meanA: Double
    public var meanB: Double
    public var meanDelta: Double
    /// Standard error of the mean difference (nan for fewer than 2 queries).
    public var standardError: Double
    /// B better, B worse, equal (|delta| ≤ 1e-12).
    public var wins: Int
    public var losses: Int
    public var ties: Int
    /// Two-sided paired randomization (sign-flip) test.
    public var permutations: Int
    public var seed: UInt64
    public var randomizationP: Double
    /// Paired t-test: t statistic, degrees of freedom, two-sided p.
    public var t: Double
    public var degreesOfFreedom: Int
    public var tTestP: Double

    public static let tieEpsilon = 1e-12

    /// Compares two evaluations of the same judgments over the queries both define `metric` for.
    public static func compare(_ a: EvalReport, _ b: EvalReport, metric: String, permutations: Int = 10_000, seed: UInt64 = 1) throws -> PairedComparison {
        guard a.metricNames.contains(metric) else {
            throw EngineError.input("unknown metric \"\(metric)\" (available: \(a.metricNames.joined(separator: ", ")))")
        }
        guard permutations >= 1 else { throw EngineError.input("--permutations must be at least 1") }
        let bq = Dictionary(b.perQuery.map { ($0.id, $0) }, uniquingKeysWith: { x, _ in x })
        var qs: [Query] = []
        for qa in a.perQuery {
            guard let x = qa.values[metric], let y = bq[qa.id]?.values[metric] else { continue }
            qs.append(Query(id: qa.id, a: x, b: y))
        }
        guard !qs.isEmpty else { throw EngineError.input("no query has \(metric) on both sides") }
        return make(metric: metric, queries: qs, permutations: permutations, seed: seed)
    }

    /// The statistics of paired values (as compare.py computes them).
    public static func make(metric: String, queries qs: [Query], permutations: Int, seed: UInt64) -> PairedComparison {
        let n = Double(qs.count)
        let d = qs.map { $0.delta }
        let md = d.reduce(0, +) / n
        let se = qs.count > 1 ? (d.reduce(0) { $0 + ($1 - md) * ($1 - md) } / (n - 1) / n).squareRoot() : .nan
        let p = randomizationTest(d, permutations: permutations, seed: seed)
        let t = se > 0 ? md / se : (md == 0 ? 0 : (md > 0 ? .infinity : -.infinity))
        let df = qs.count - 1
        let tp = df > 0 ? (t.isFinite ? StudentT.twoSidedP(t: t, df: Double(df)) : 0) : .nan
        return PairedComparison(metric: metric, queries: qs,
                                meanA: qs.reduce(0) { $0 + $1.a } / n, meanB: qs.reduce(0) { $0 + $1.b } / n,
                                meanDelta: md, standardError: se,
                                wins: d.filter { $0 > tieEpsilon }.count, losses: d.filter { $0 < -tieEpsilon }.count,
                                ties: d.filter { abs($0) <= tieEpsilon }.count,
                                permutations: permutations, seed: seed, randomizationP: p,
                                t: t, degreesOfFreedom: df, tTestP: tp)
    }

    /// Two-sided paired randomization test: each permutation flips each difference's sign with
    /// probability 1/2 (Python's `random.Random(seed).random() < 0.5`, the same draws as compare.py);
    /// p = (permutations with |Σ| ≥ |observed Σ| + 1) / (permutations + 1).
    public static func randomizationTest(_ d: [Double], permutations: Int, seed: UInt64) -> Double {
        var rng = PythonRandom(seed: seed)
        let obs = abs(d.reduce(0, +))
        var hits = 0
        for _ in 0..<permutations {
            var s = 0.0
            for v in d { s += rng.random() < 0.5 ? v : -v }
            if abs(s) >= obs - 1e-12 { hits += 1 }
        }
        return Double(hits + 1) / Double(permutations + 1)
    }

    /// Queries that got worse, worst first (ties by id).
    public var worse: [Query] {
        queries.filter { $0.delta < -Self.tieEpsilon }.sorted { $0.delta != $1.delta ? $0.delta < $1.delta : Evaluator.codePointLess($0.id, $1.id) }
    }

    /// Queries that got better, best first.
    public var better: [Query] {
        queries.filter { $0.delta > Self.tieEpsilon }.sorted { $0.delta != $1.delta ? $0.delta > $1.delta : Evaluator.codePointLess($0.id, $1.id) }
    }
}

/// Python's `random.Random(seed)` (MT19937 seeded by `init_by_array`, 53-bit `random()`), so
/// randomization tests draw exactly what compare.py draws for the same seed.
public struct PythonRandom: Sendable {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 625

    public init(seed: UInt64) {
        var key: [UInt32] = []
        var s = seed
        while s > 0 {
            key.append(UInt32(truncatingIfNeeded: s))
            s >>= 32
        }
        if key.isEmpty { key = [0] }
        initByArray(key)
    }

    private mutating func initGenrand(_ s: UInt32) {
        mt[0] = s
        for i in 1..<624 {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
        index = 624
    }

    private mutating func initByArray(_ key: [UInt32]) {
        initGenrand(19_650_218)
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
        }
        mt[0] = 0x8000_0000
        index = 624
    }

    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % 624] & 0x7fff_ffff)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_b0df : 0)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// A double in [0, 1) with 53 random bits, as Python's `random()`.
    public mutating func random() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864 + b) * (1.0 / 9_007_199_254_740_992.0)
    }
}

/// Student's t distribution.
public enum StudentT {
    /// P(|T| ≥ |t|) for `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2).
    public static func twoSidedP(t: Double, df: Double) -> Double {
        guard df > 0, t.isFinite else { return .nan }
        return regularizedIncompleteBeta(x: df / (df + t * t), a: df / 2, b: 0.5)
    }

    /// I_x(a, b) by Lentz's continued fraction (Numerical Recipes' betai / betacf).
    public static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lg: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let lx: Double = a * log(x) + b * log(1 - x)
        let lbt = lg + lx
        let bt = exp(lbt)
        if x < (a + 1) / (a + b + 2) { return bt * continuedFraction(x: x, a: a, b: b) / a }
        return 1 - bt * continuedFraction(x: 1 - x, a: b, b: a) / b
    }

    static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300, eps = 1e-15
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < eps { break }
        }
        return h
    }
}
