import Foundation
import Testing
@testable import AisleIndex

/// The HNSW graph against exact search: recall on clustered unit vectors, filters, edge cases.
@Suite struct HNSWTests {
    struct Rng {
        var s: UInt64
        mutating func next() -> Double {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Double(s >> 11) / Double(1 << 53)
        }
        mutating func gaussian() -> Float {
            let u = max(next(), 1e-12), v = next()
            return Float(sqrt(-2 * log(u)) * cos(2 * .pi * v))
        }
    }

    static func unit(_ v: [Float]) -> [Float] {
        let n = sqrt(v.reduce(0) { $0 + $1 * $1 })
        return n > 0 ? v.map { $0 / n } : v
    }

    /// `n` vectors around `clusters` random centres, and `q` queries near random points.
    static func data(n: Int, d: Int, clusters: Int, queries q: Int, seed: UInt64) -> ([[Float]], [[Float]]) {
        var r = Rng(s: seed)
        let centres = (0..<clusters).map { _ in unit((0..<d).map { _ in r.gaussian() }) }
        func near(_ c: [Float], _ spread: Float) -> [Float] { unit(c.map { $0 + spread * r.gaussian() }) }
        let points = (0..<n).map { _ in near(centres[Int(r.next() * Double(clusters))], 0.35) }
        let queries = (0..<q).map { _ in near(points[Int(r.next() * Double(n))], 0.2) }
        return (points, queries)
    }

    func recall(_ got: [(node: Int32, similarity: Float)], _ want: [(node: Int32, similarity: Float)]) -> Double {
        Double(Set(got.map(\.node)).intersection(want.map(\.node)).count) / Double(max(1, want.count))
    }

    @Test func recallAgainstExactSearch() {
        let (points, queries) = Self.data(n: 4000, d: 48, clusters: 25, queries: 200, seed: 7)
        let g = HNSWGraph(dimensions: 48, parameters: .init(m: 12, efConstruction: 100))
        for p in points { g.add(p) }
        #expect(g.count == 4000)
        var total = 0.0, low = 0.0
        for q in queries {
            let exact = g.exact(q, k: 10)
            total += recall(g.search(q, k: 10, ef: 200), exact)
            low += recall(g.search(q, k: 10, ef: 10), exact)
        }
        let r = total / Double(queries.count), rl = low / Double(queries.count)
        // hnswlib (same M, efConstruction) on data made the same way: 0.958 at ef 80, 0.999 at 200.
        #expect(r >= 0.98, "recall@10 at ef 200: \(r)")
        #expect(rl <= r, "a larger ef does not lower recall: \(rl) vs \(r)")
        // Results come best first, and their similarities are the true inner products.
        let res = g.search(queries[0], k: 10, ef: 200)
        #expect(zip(res, res.dropFirst()).allSatisfy { $0.similarity >= $1.similarity })
        for (node, sim) in res {
            let v = points[Int(node)]
            let dot = zip(v, queries[0]).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            #expect(abs(dot - sim) < 1e-4)
        }
    }

    @Test func exactSearchIsBruteForce() {
        let (points, queries) = Self.data(n: 500, d: 19, clusters: 5, queries: 20, seed: 3)   // 19: not a multiple of 8
        let g = HNSWGraph(dimensions: 19)
        for p in points { g.add(p) }
        for q in queries {
            var all: [(node: Int32, sim: Float)] = []
            for (i, p) in points.enumerated() {
                var dot: Float = 0
                for j in 0..<19 { dot += p[j] * q[j] }
                all.append((Int32(i), dot))
            }
            all.sort { $0.sim > $1.sim || ($0.sim == $1.sim && $0.node < $1.node) }
            let want = Array(all.prefix(7))
            let got = g.exact(q, k: 7)
            #expect(got.count == 7)
            for (a, b) in zip(got, want) { #expect(abs(a.similarity - b.sim) < 1e-5) }
        }
    }

    @Test func filtersApplyToResultsOnly() {
        let (points, queries) = Self.data(n: 3000, d: 32, clusters: 20, queries: 100, seed: 11)
        let g = HNSWGraph(dimensions: 32, parameters: .init(m: 12, efConstruction: 100))
        for p in points { g.add(p) }
        // Every third node: the graph is still walked through the others.
        let accept: (Int32) -> Bool = { $0 % 3 == 0 }
        var total = 0.0
        for q in queries {
            let got = g.search(q, k: 10, ef: 100, accept: accept)
            #expect(got.allSatisfy { accept($0.node) })
            total += recall(got, g.exact(q, k: 10, accept: accept))
        }
        #expect(total / Double(queries.count) >= 0.95, "filtered recall@10: \(total / Double(queries.count))")
        // A filter nothing passes: no results.
        #expect(g.search(queries[0], k: 5, ef: 50, accept: { _ in false }).isEmpty)
    }

    @Test func smallGraphs() {
        let g = HNSWGraph(dimensions: 4)
        #expect(g.search([1, 0, 0, 0], k: 3, ef: 10).isEmpty)
        g.add([1, 0, 0, 0])
        #expect(g.search([0, 1, 0, 0], k: 3, ef: 10).map(\.node) == [0])
        g.add([0, 1, 0, 0])
        g.add([0, 0, 1, 0])
        #expect(g.search([0, 0.9, 0.1, 0], k: 2, ef: 10).map(\.node) == [1, 2])
        // The same seed builds the same graph.
        let (points, _) = Self.data(n: 300, d: 8, clusters: 3, queries: 1, seed: 5)
        let a = HNSWGraph(dimensions: 8), b = HNSWGraph(dimensions: 8)
        for p in points { a.add(p); b.add(p) }
        #expect(a.allLinks == b.allLinks && a.entryPoint == b.entryPoint)
    }
}
