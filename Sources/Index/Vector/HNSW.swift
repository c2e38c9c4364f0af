import CVectorMath
import Foundation
import Synchronization

/// Approximate nearest neighbours by inner product over unit vectors (cosine similarity): a
/// hierarchical navigable small world graph (Malkov & Yashunin, 2016), our own.
///
/// - Each node gets a level drawn from an exponential distribution (mL = 1 / ln M); level 0 holds
///   every node with up to 2·M neighbours, the levels above up to M.
/// - Insertion descends greedily from the entry point through the levels above the node's own,
///   then at each of its levels searches `efConstruction` candidates and keeps neighbours by the
///   paper's heuristic (a candidate is kept when it is closer to the new node than to every
///   neighbour kept so far), linking both ways and pruning a neighbour list that grows too long
///   with the same heuristic.
/// - Search descends greedily to level 0, then keeps the best `ef` candidates. A filter (a
///   document predicate) is applied to the results only: filtered-out nodes are still walked
///   through, so the graph stays connected for selective filters; a caller falls back to exact
///   scanning when the filter leaves few documents.
///
/// Node ids are 0..<count, in insertion order (the segment's doc ids). Vectors are kept in one
/// contiguous array. Not thread-safe for insertion; searches of a built graph may run at once.
public final class HNSWGraph: @unchecked Sendable {
    public struct Parameters: Sendable, Equatable {
        public var m = 16
        public var efConstruction = 200
        public var seed: UInt64 = 42
        public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) {
            self.m = m
            self.efConstruction = efConstruction
            self.seed = seed
        }
    }

    public let dimensions: Int
    public let parameters: Parameters
    /// Vectors, `count × dimensions`.
    public private(set) var vectors: [Float] = []
    /// Level 0 (every node): a fixed slot of `1 + 2·M` per node, the count then the neighbours
    /// (one contiguous array, as hnswlib keeps it: the search's hot loop reads no nested arrays).
    var level0: [Int32] = []
    /// The levels above 0 of each node (empty for most).
    var upper: [[[Int32]]] = []
    var stride0: Int { 1 + 2 * parameters.m }
    /// Visited marks reused by searches (one per concurrent search).
    let visitedPool = Mutex<[Visited]>([])
    public private(set) var entryPoint: Int32 = -1
    public private(set) var maxLevel = -1
    var rng: UInt64
    let levelFactor: Double
    /// Visited marks reused by insertions.
    let buildVisited = Visited(0)

    public var count: Int { upper.count }

    /// A graph read from a segment file: its vectors and level 0 are pointers into the mapped
    /// file (kept alive by `owner`); such a graph is searched, never added to.
    struct Mapped: @unchecked Sendable {
        let vectors: UnsafePointer<Float>
        let level0: UnsafePointer<Int32>
        let owner: AnyObject
    }
    var mapped: Mapped?

    @inline(__always) func withVectors<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if let m = mapped { return try body(m.vectors) }
        return try vectors.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(bitPattern: 64)!) }
    }

    @inline(__always) func withLevel0<R>(_ body: (UnsafePointer<Int32>) throws -> R) rethrows -> R {
        if let m = mapped { return try body(m.level0) }
        return try level0.withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(bitPattern: 64)!) }
    }

    /// Node `node`'s vector.
    public func vector(_ node: Int) -> [Float] {
        withVectors { Array(UnsafeBufferPointer(start: $0 + node * dimensions, count: dimensions)) }
    }

    /// A node's neighbours at a level.
    func neighbours(_ node: Int32, _ level: Int) -> [Int32] {
        if level == 0 {
            let base = Int(node) * stride0
            return withLevel0 { l0 in Array(UnsafeBufferPointer(start: l0 + base + 1, count: Int(l0[base]))) }
        }
        return upper[Int(node)][level - 1]
    }

    func setNeighbours(_ node: Int32, _ level: Int, _ list: [Int32]) {
        if level == 0 {
            let base = Int(node) * stride0
            precondition(list.count <= stride0 - 1)
            level0[base] = Int32(list.count)
            for (i, n) in list.enumerated() { level0[base + 1 + i] = n }
        } else {
            upper[Int(node)][level - 1] = list
        }
    }

    /// Every node's neighbours per level (tests: two graphs built alike are equal).
    var allLinks: [[[Int32]]] { (0..<count).map { n in (0...upper[n].count).map { neighbours(Int32(n), $0) } } }

    public init(dimensions: Int, parameters: Parameters = Parameters()) {
        precondition(dimensions > 0 && parameters.m >= 2 && parameters.efConstruction >= 1)
        self.dimensions = dimensions
        self.parameters = parameters
        self.rng = parameters.seed == 0 ? 0x9E37_79B9_7F4A_7C15 : parameters.seed
        self.levelFactor = 1 / log(Double(parameters.m))
    }

    /// A graph read from a file: `level0` and `vectors` point into `owner`'s memory.
    init(dimensions: Int, parameters: Parameters, count: Int, vectors: UnsafePointer<Float>, level0: UnsafePointer<Int32>,
         upper: [[[Int32]]], entryPoint: Int32, maxLevel: Int, owner: AnyObject) {
        precondition(upper.count == count)
        self.dimensions = dimensions
        self.parameters = parameters
        self.rng = 1
        self.levelFactor = 1 / log(Double(parameters.m))
        self.upper = upper
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        self.mapped = Mapped(vectors: vectors, level0: level0, owner: owner)
    }

    /// An owned, growable copy (a merge keeps the largest segment's graph and adds to it).
    func copy(efConstruction: Int) -> HNSWGraph {
        var p = parameters
        p.efConstruction = efConstruction
        let g = HNSWGraph(dimensions: dimensions, parameters: p)
        withVectors { g.vectors = Array(UnsafeBufferPointer(start: $0, count: count * dimensions)) }
        withLevel0 { g.level0 = Array(UnsafeBufferPointer(start: $0, count: count * stride0)) }
        g.upper = upper
        g.entryPoint = entryPoint
        g.maxLevel = maxLevel
        g.rng = parameters.seed &+ UInt64(count) | 1
        return g
    }

    /// The same graph with node `i` renamed `newId[i]` (a permutation).
    func renumbered(_ newId: [Int32]) -> HNSWGraph {
        precondition(newId.count == count)
        let g = HNSWGraph(dimensions: dimensions, parameters: parameters)
        var vs = [Float](repeating: 0, count: count * dimensions)
        var l0 = [Int32](repeating: 0, count: count * stride0)
        var up = [[[Int32]]](repeating: [], count: count)
        withVectors { v in
            withLevel0 { l in
                for old in 0..<count {
                    let n = Int(newId[old])
                    for j in 0..<dimensions { vs[n * dimensions + j] = v[old * dimensions + j] }
                    let src = l + old * stride0
                    l0[n * stride0] = src[0]
                    for j in 0..<Int(src[0]) { l0[n * stride0 + 1 + j] = newId[Int(src[1 + j])] }
                    up[n] = upper[old].map { $0.map { newId[Int($0)] } }
                }
            }
        }
        g.vectors = vs
        g.level0 = l0
        g.upper = up
        g.entryPoint = entryPoint >= 0 ? newId[Int(entryPoint)] : -1
        g.maxLevel = maxLevel
        g.rng = rng
        return g
    }

    /// Exact search over the given nodes only (a selective filter's documents).
    public func exact(_ query: [Float], k: Int, nodes: [Int32]) -> [(node: Int32, similarity: Float)] {
        exactTopK(query, k: k, nodes)
    }

    /// The `k` of `nodes` most similar to `query`, best first, by scanning them all.
    func exactTopK<S: Sequence<Int32>>(_ query: [Float], k: Int, _ nodes: S) -> [(node: Int32, similarity: Float)] {
        precondition(query.count == dimensions)
        guard k > 0 else { return [] }
        var best = Heap<Candidate>(max: false)
        withVectors { v in
            query.withUnsafeBufferPointer { qb in
                for n in nodes {
                    let c = Candidate(sim: Self.dot(v + Int(n) * dimensions, qb.baseAddress!, dimensions), node: n)
                    if best.count < k { best.push(c) } else if c > best.top! {
                        _ = best.pop()
                        best.push(c)
                    }
                }
            }
        }
        return best.elements.sorted { $0 > $1 }.map { ($0.node, $0.sim) }
    }

    /// Greedy descent through the levels above `floor`: from `ep`, move to any more similar
    /// neighbour until none is, level by level (the start of every insertion and search).
    func descend(from ep: Candidate, through top: Int, above floor: Int, _ q: UnsafePointer<Float>, _ v: UnsafePointer<Float>) -> Candidate {
        var ep = ep
        var l = top
        while l > floor {
            var changed = true
            while changed {
                changed = false
                for n in upper[Int(ep.node)][l - 1] {
                    let s = dot(n, q, v)
                    if s > ep.sim {
                        ep = Candidate(sim: s, node: n)
                        changed = true
                    }
                }
            }
            l -= 1
        }
        return ep
    }

    func maxLinks(_ level: Int) -> Int { level == 0 ? 2 * parameters.m : parameters.m }

    func nextRandom() -> Double {
        rng ^= rng << 13
        rng ^= rng >> 7
        rng ^= rng << 17
        return Double(rng >> 11) / Double(1 << 53)
    }

    /// Inner product of node `a`'s vector with `q`.
    @inline(__always)
    func dot(_ node: Int32, _ q: UnsafePointer<Float>, _ v: UnsafePointer<Float>) -> Float {
        Self.dot(v + Int(node) * dimensions, q, dimensions)
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        aisle_dot(a, b, n)
    }

    /// Which inner-product code runs here (`avx512`, `avx2` or `generic`).
    public static var dotKind: String { String(cString: aisle_dot_kind()) }

    /// Visited marks for one search: a generation per node, so clearing is free.
    final class Visited: @unchecked Sendable {   // used by one search at a time (taken from the pool)
        var marks: [UInt32]
        var generation: UInt32 = 0
        init(_ n: Int) { marks = [UInt32](repeating: 0, count: n) }
        func reset(_ n: Int) {
            if marks.count < n { marks.append(contentsOf: [UInt32](repeating: 0, count: n - marks.count)) }
            generation &+= 1
            if generation == 0 {
                for i in marks.indices { marks[i] = 0 }
                generation = 1
            }
        }
        @inline(__always) func insert(_ i: Int32) -> Bool {
            if marks[Int(i)] == generation { return false }
            marks[Int(i)] = generation
            return true
        }
    }

    /// A bounded heap of (similarity, node) pairs.
    struct Candidate: Comparable {
        var sim: Float
        var node: Int32
        static func < (a: Candidate, b: Candidate) -> Bool { a.sim < b.sim || (a.sim == b.sim && a.node > b.node) }
    }

    /// The best `ef` nodes at `level` from `entries`, by similarity to `q` (unsorted), with an
    /// optional acceptance test for the results (walked through either way).
    func searchLayer(_ q: UnsafePointer<Float>, _ v: UnsafePointer<Float>, entries: [Candidate], ef: Int, level: Int,
                     visited: Visited, accept: ((Int32) -> Bool)? = nil) -> [Candidate] {
        var frontier = Heap<Candidate>(max: true)      // the best unexplored first
        var results = Heap<Candidate>(max: false)      // the worst kept first
        frontier.elements.reserveCapacity(ef * 2)
        results.elements.reserveCapacity(ef + 1)
        for e in entries where visited.insert(e.node) {
            frontier.push(e)
            if accept?(e.node) ?? true { results.push(e) }
        }
        var lowerBound = results.count >= ef ? results.top!.sim : -Float.infinity
        let stride = stride0
        withLevel0 { l0 in
            func visit(_ n: Int32) {
                guard visited.insert(n) else { return }
                let s = dot(n, q, v)
                if results.count < ef || s > lowerBound {
                    frontier.push(Candidate(sim: s, node: n))
                    if accept?(n) ?? true {
                        results.push(Candidate(sim: s, node: n))
                        if results.count > ef { _ = results.pop() }
                        if results.count >= ef { lowerBound = results.top!.sim }
                    }
                }
            }
            while let c = frontier.pop() {
                if results.count >= ef && c.sim < lowerBound { break }
                if level == 0 {
                    let p = l0 + Int(c.node) * stride
                    let n = Int(p[0])
                    if n > 0 { aisle_prefetch(v + Int(p[1]) * dimensions) }
                    var j = 1
                    while j <= n {
                        // The next neighbour's vector (its first lines) is fetched while this one is scored.
                        if j < n {
                            let next = v + Int(p[j + 1]) * dimensions
                            aisle_prefetch(next)
                            aisle_prefetch(next + 16)
                        }
                        visit(p[j])
                        j += 1
                    }
                } else {
                    for n in upper[Int(c.node)][level - 1] { visit(n) }
                }
            }
        }
        return results.elements
    }

    /// The paper's neighbour heuristic: candidates by decreasing similarity, each kept when it is
    /// more similar to the base than to every one kept so far; at most `m`.
    func selectNeighbours(_ candidates: [Candidate], m: Int, _ v: UnsafePointer<Float>) -> [Int32] {
        let sorted = candidates.sorted { $0 > $1 }
        var kept: [Int32] = []
        kept.reserveCapacity(m)
        for c in sorted {
            if kept.count >= m { break }
            let cv = v + Int(c.node) * dimensions
            var good = true
            for k in kept where dot(k, cv, v) > c.sim {
                good = false
                break
            }
            if good { kept.append(c.node) }
        }
        return kept
    }

    /// Adds a vector (its id is the current `count`). `vector` must have `dimensions` values.
    @discardableResult
    public func add(_ vector: [Float]) -> Int32 {
        precondition(mapped == nil, "a graph read from a file is not added to")
        precondition(vector.count == dimensions, "a vector of \(vector.count) values for \(dimensions) dimensions")
        let id = Int32(count)
        vectors.append(contentsOf: vector)
        let level = Int(-log(max(nextRandom(), 1e-12)) * levelFactor)
        upper.append([[Int32]](repeating: [], count: level))
        level0.append(contentsOf: repeatElement(0, count: stride0))
        guard entryPoint >= 0 else {
            entryPoint = id
            maxLevel = level
            return id
        }
        let visited = buildVisited
        vectors.withUnsafeBufferPointer { vb in
            let v = vb.baseAddress!
            let q = v + Int(id) * dimensions
            let ep = descend(from: Candidate(sim: dot(entryPoint, q, v), node: entryPoint), through: maxLevel, above: level, q, v)
            var entries = [ep]
            for lv in stride(from: min(level, maxLevel), through: 0, by: -1) {
                visited.reset(count)
                let found = searchLayer(q, v, entries: entries, ef: parameters.efConstruction, level: lv, visited: visited)
                let chosen = selectNeighbours(found, m: parameters.m, v)
                setNeighbours(id, lv, chosen)
                let cap = maxLinks(lv)
                for n in chosen {
                    var list = neighbours(n, lv)
                    list.append(id)
                    if list.count > cap {
                        let nv = v + Int(n) * dimensions
                        let cands = list.map { Candidate(sim: dot($0, nv, v), node: $0) }
                        list = selectNeighbours(cands, m: cap, v)
                    }
                    setNeighbours(n, lv, list)
                }
                entries = found
            }
        }
        if level > maxLevel {
            maxLevel = level
            entryPoint = id
        }
        return id
    }

    /// The `k` nodes most similar to `query` (by inner product), best first. `ef` (≥ k) trades
    /// speed for recall; `accept` filters the results.
    public func search(_ query: [Float], k: Int, ef: Int, accept: ((Int32) -> Bool)? = nil) -> [(node: Int32, similarity: Float)] {
        precondition(query.count == dimensions)
        guard entryPoint >= 0, k > 0 else { return [] }
        let visited = visitedPool.withLock { $0.popLast() } ?? Visited(count)
        visited.reset(count)
        defer { visitedPool.withLock { if $0.count < 64 { $0.append(visited) } } }
        return withVectors { v in
            query.withUnsafeBufferPointer { qb in
                let q = qb.baseAddress!
                let ep = descend(from: Candidate(sim: dot(entryPoint, q, v), node: entryPoint), through: maxLevel, above: 0, q, v)
                let found = searchLayer(q, v, entries: [ep], ef: max(ef, k), level: 0, visited: visited, accept: accept)
                return found.sorted { $0 > $1 }.prefix(k).map { ($0.node, $0.sim) }
            }
        }
    }

    /// Exact search (every node), for checks and for very selective filters.
    public func exact(_ query: [Float], k: Int, accept: ((Int32) -> Bool)? = nil) -> [(node: Int32, similarity: Float)] {
        exactTopK(query, k: k, (0..<Int32(count)).lazy.filter { accept?($0) ?? true })
    }
}

/// A binary heap: the largest on top with `max`, else the smallest.
struct Heap<T: Comparable> {
    var elements: [T] = []
    let max: Bool
    init(max: Bool) { self.max = max }
    var count: Int { elements.count }
    var top: T? { elements.first }
    @inline(__always) func above(_ a: T, _ b: T) -> Bool { max ? a > b : a < b }
    mutating func push(_ x: T) {
        elements.append(x)
        var i = elements.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard above(elements[i], elements[p]) else { break }
            elements.swapAt(i, p)
            i = p
        }
    }
    mutating func pop() -> T? {
        guard !elements.isEmpty else { return nil }
        let out = elements[0]
        let last = elements.removeLast()
        if !elements.isEmpty {
            elements[0] = last
            var i = 0
            let n = elements.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && above(elements[l], elements[m]) { m = l }
                if r < n && above(elements[r], elements[m]) { m = r }
                if m == i { break }
                elements.swapAt(i, m)
                i = m
            }
        }
        return out
    }
}
