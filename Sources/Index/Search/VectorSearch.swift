/// A nearest-neighbour search on a vector field: the `k` documents whose vectors have the
/// largest inner product with `vector` among the documents that pass `filters`. Stored vectors
/// are of unit length, so for a unit query vector (as the models make) this is cosine similarity.
public struct KnnQuery: Sendable {
    public var field: Int
    public var vector: [Float]
    public var k: Int
    /// The HNSW search's beam width (≥ k): more finds more of the true neighbours, slower.
    public var numCandidates: Int
    public var filters: [Filter]
    /// A segment whose filtered documents number at most this, or at most `exactShare` of its
    /// vectors, is scanned exactly instead of walking the graph (a walk through a graph whose
    /// nodes are mostly filtered out finds few of them).
    public var exactBelow: Int
    public var exactShare: Double
    public var deadline: SearchDeadline?

    public static let defaultExactBelow = 10_000
    public static let defaultExactShare = 0.05

    public init(field: Int, vector: [Float], k: Int, numCandidates: Int? = nil, filters: [Filter] = [],
                exactBelow: Int = KnnQuery.defaultExactBelow, exactShare: Double = KnnQuery.defaultExactShare) {
        self.field = field
        self.vector = vector
        self.k = k
        self.numCandidates = max(numCandidates ?? k, k)
        self.filters = filters
        self.exactBelow = exactBelow
        self.exactShare = exactShare
    }
}

public struct KnnHit: Sendable, Equatable {
    /// Global document number.
    public var doc: Int
    public var similarity: Float
}

/// How a kNN search went, per segment (for explanations and tests).
public struct KnnStats: Sendable, Equatable {
    public var graphSegments = 0
    public var exactSegments = 0
    public var exactDocuments = 0
}

extension Searcher {
    /// The `k` most similar live documents passing the filters, best first (ties: lower doc first).
    public func knn(_ q: KnnQuery) throws -> [KnnHit] {
        var stats = KnnStats()
        return try knn(q, stats: &stats)
    }

    /// The same, counting in `stats` which segments were walked and which scanned.
    public func knn(_ q: KnnQuery, stats: inout KnnStats) throws -> [KnnHit] {
        guard q.field >= 0, q.field < schema.fields.count, schema.fields[q.field].type == .vector else {
            throw IndexError.invalidQuery("field \(q.field < schema.fields.count && q.field >= 0 ? schema.fields[q.field].name : String(q.field)) is not a vector field")
        }
        let dims = schema.fields[q.field].dims ?? 0
        guard q.vector.count == dims else {
            throw IndexError.invalidQuery("a query vector of \(q.vector.count) numbers for field \(schema.fields[q.field].name), which has \(dims) dims")
        }
        guard q.vector.allSatisfy({ $0.isFinite }) else { throw IndexError.invalidQuery("query vector values must be finite numbers") }
        guard q.k >= 0, q.k <= 100_000, q.numCandidates <= 100_000 else {
            throw IndexError.invalidQuery("k and num_candidates must be between 0 and 100000")
        }
        for f in q.filters { try validate(f) }
        guard q.k > 0 else { return [] }
        var all: [KnnHit] = []
        for si in segments.indices {
            try q.deadline?.throwIfExpired()
            let seg = segments[si]
            guard let vf = seg.vectors[q.field], vf.count > 0 else { continue }
            guard let plan = try filterPlan(q.filters, segment: si, sideways: []) else { continue }
            let base = bases[si]
            var found: [(node: Int32, similarity: Float)]
            let onlyLive = plan.cursors.isEmpty && plan.predicates.allSatisfy { $0 is LiveDocsPredicate }
            if onlyLive {
                stats.graphSegments += 1
                if let del = seg.deleted {
                    found = vf.graph.search(q.vector, k: q.k, ef: q.numCandidates) { !del.isDeleted(Int(vf.docs[Int($0)])) }
                } else {
                    found = vf.graph.search(q.vector, k: q.k, ef: q.numCandidates)
                }
            } else {
                // The filter's documents that have a vector, as nodes.
                var nodes: [Int32] = []
                let driver = try driverScorer(nil, matchAll: true, plan: plan, segment: si)
                let deadline = q.deadline
                while driver.nextDoc() != Scorer.noMoreDocs {
                    if deadline.tick() { break }
                    let d = driver.doc
                    if !plan.predicates.isEmpty && plan.predicates.contains(where: { !$0.matches(d) }) { continue }
                    if let n = vf.node(of: Int(d)) { nodes.append(n) }
                }
                try deadline?.throwIfExpired()
                if let e = driver.corruption ?? plan.corruption { throw IndexError.corrupt(file: seg.meta.id, reason: e) }
                if nodes.count <= q.exactBelow || Double(nodes.count) <= q.exactShare * Double(vf.count) {
                    stats.exactSegments += 1
                    stats.exactDocuments += nodes.count
                    found = vf.graph.exact(q.vector, k: q.k, nodes: nodes)
                } else {
                    stats.graphSegments += 1
                    var bits = [UInt64](repeating: 0, count: (vf.count + 63) / 64)
                    for n in nodes { bits[Int(n) >> 6] |= 1 << UInt64(n & 63) }
                    let accepted = bits
                    found = vf.graph.search(q.vector, k: q.k, ef: q.numCandidates) { accepted[Int($0) >> 6] & (1 << UInt64($0 & 63)) != 0 }
                }
            }
            for f in found { all.append(KnnHit(doc: base + Int(vf.docs[Int(f.node)]), similarity: f.similarity)) }
        }
        all.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.doc < $1.doc) }
        return Array(all.prefix(q.k))
    }

    /// The vector of a live document's field (nil: it has none).
    public func vector(field: Int, doc: Int) -> [Float]? {
        guard let (s, l) = locate(doc), segments[s].isLive(l), let vf = segments[s].vectors[field] else { return nil }
        return vf.vector(ofDoc: l)
    }

    /// The inner product of a live document's vector with `query` (nil: it has none), read in place.
    public func similarity(field: Int, doc: Int, to query: [Float]) -> Float? {
        guard let (s, l) = locate(doc), segments[s].isLive(l), let vf = segments[s].vectors[field], let n = vf.node(of: l),
              query.count == vf.graph.dimensions else { return nil }
        let g = vf.graph
        return g.withVectors { v in query.withUnsafeBufferPointer { HNSWGraph.dot(v + Int(n) * g.dimensions, $0.baseAddress!, g.dimensions) } }
    }

    /// Live documents that have a vector in `field`.
    public func vectorCount(field: Int) -> Int {
        segments.reduce(0) { n, s in
            guard let vf = s.vectors[field] else { return n }
            guard let del = s.deleted else { return n + vf.count }
            return n + vf.docs.reduce(0) { $0 + (del.isDeleted(Int($1)) ? 0 : 1) }
        }
    }
}
