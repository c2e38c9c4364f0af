import AisleIndex

/// How a search finds its candidates: the inverted index (BM25F and the ranking features), the
/// nearest neighbours of the query's embedding, or both fused into one list.
public enum RetrievalMode: String, Sendable, CaseIterable {
    case lexical, vector, hybrid
}

/// How hybrid retrieval fuses the lexical and the nearest-neighbour lists.
public enum FusionMethod: String, Sendable, CaseIterable {
    /// Reciprocal rank fusion: Σ weight / (k + rank) over the two lists (ranks only).
    case rrf
    /// (1 − w)·lexical score / the best lexical score + w·cosine similarity to the query, over
    /// the union of both lists (a product outside the lexical list has lexical 0; every
    /// candidate's cosine comes from its stored vector).
    case linear
}

/// A request's `retrieval`: `"hybrid"`, or `{"mode": "hybrid", "fusion": "linear",
/// "vector_weight": 0.4, "rrf_k": 60, "window": 1000, "k": 100, "num_candidates": 100,
/// "field": "title_vector"}`; unset keys take the defaults (`RetrievalDefaults`).
public struct RetrievalRequest: Sendable, Equatable {
    public var mode: RetrievalMode?
    public var fusion: FusionMethod?
    public var rrfK: Double?
    public var vectorWeight: Double?
    public var window: Int?
    /// Nearest neighbours hybrid retrieval fuses (vector retrieval takes `window` of them).
    public var k: Int?
    public var numCandidates: Int?
    public var field: String?

    public init(mode: RetrievalMode? = nil) { self.mode = mode }

    static let keys = "mode, fusion, rrf_k, vector_weight, window, k, num_candidates, field"

    public static func parse(_ v: JSONValue) throws -> RetrievalRequest {
        func mode(_ s: String) throws -> RetrievalMode {
            guard let m = RetrievalMode(rawValue: s) else {
                throw EngineError.badRequest("retrieval must be one of \(RetrievalMode.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(s.prefix(40))\"")
            }
            return m
        }
        if let s = v.stringValue { return RetrievalRequest(mode: try mode(s)) }
        guard let obj = v.objectValue else {
            throw EngineError.badRequest("retrieval must be \"lexical\", \"vector\", \"hybrid\" or an object (\(keys))")
        }
        var r = RetrievalRequest()
        for (k, x) in obj {
            switch k {
            case "mode":
                guard let s = x.stringValue else { throw EngineError.badRequest("retrieval mode must be a string") }
                r.mode = try mode(s)
            case "fusion":
                guard let s = x.stringValue, let f = FusionMethod(rawValue: s) else {
                    throw EngineError.badRequest("retrieval fusion must be one of \(FusionMethod.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                r.fusion = f
            case "rrf_k":
                guard let n = x.numberValue, n.isFinite, n >= 0, n <= 10_000 else { throw EngineError.badRequest("retrieval rrf_k must be a number between 0 and 10000") }
                r.rrfK = n
            case "vector_weight":
                guard let n = x.numberValue, n.isFinite, n >= 0, n <= 1 else { throw EngineError.badRequest("retrieval vector_weight must be a number between 0 and 1") }
                r.vectorWeight = n
            case "window":
                guard let n = x.numberValue, let i = Int(exactly: n), i >= 1, i <= RetrievalDefaults.maxWindow else {
                    throw EngineError.badRequest("retrieval window must be an integer between 1 and \(RetrievalDefaults.maxWindow)")
                }
                r.window = i
            case "k":
                guard let n = x.numberValue, let i = Int(exactly: n), i >= 1, i <= RetrievalDefaults.maxWindow else {
                    throw EngineError.badRequest("retrieval k must be an integer between 1 and \(RetrievalDefaults.maxWindow)")
                }
                r.k = i
            case "num_candidates":
                guard let n = x.numberValue, let i = Int(exactly: n), i >= 1, i <= 10_000 else {
                    throw EngineError.badRequest("retrieval num_candidates must be an integer between 1 and 10000")
                }
                r.numCandidates = i
            case "field":
                guard let s = x.stringValue, !s.isEmpty else { throw EngineError.badRequest("retrieval field must be a vector field's name") }
                r.field = s
            default:
                throw EngineError.badRequest("unknown retrieval option \"\(k.prefix(40))\" (\(keys))")
            }
        }
        return r
    }
}

/// The defaults of retrieval. An index with a vector field searches hybrid by default, fused by
/// the method chosen on the Home Depot development queries (RELEVANCE.md, "Semantic retrieval");
/// an index without one searches lexically.
public enum RetrievalDefaults {
    public static let mode = RetrievalMode.hybrid
    public static let fusion = FusionMethod.linear
    public static let rrfK = 60.0
    public static let rrfVectorWeight = 0.5
    public static let linearVectorWeight = 0.4
    /// The lexical list's length (and vector retrieval's); pages end within it.
    public static let window = 1_000
    /// Nearest neighbours fused with the lexical list (every lexical candidate gets its cosine
    /// from its stored vector anyway: a longer list adds products the lexical search missed, and
    /// beyond 100 those no longer reach the first pages on the development queries).
    public static let k = 100
    /// Hybrid and vector pages end within this many results.
    public static let maxWindow = 1_000
    /// Beam width of the HNSW search (at least `k`; vector retrieval: at least the window).
    public static let numCandidates = 100
}

/// A request's retrieval with every default filled in, for one index.
struct RetrievalPlan: Sendable {
    var mode: RetrievalMode
    var fusion: FusionMethod
    var rrfK: Double
    var vectorWeight: Double
    var window: Int
    var k: Int
    var numCandidates: Int
    /// The vector field (ordinal).
    var field: Int
    /// Its model, loaded.
    var embedder: any VectorEmbedder
}

/// Fusing a lexical list and a nearest-neighbour list into one ranking.
public enum Fusion {
    public struct Item: Sendable, Equatable {
        public var doc: Int
        public var score: Float
    }

    /// Reciprocal rank fusion: (1 − w) / (k + lexical rank) + w / (k + vector rank), ranks from 1;
    /// a document missing from a list gets nothing from it. Ties: the better lexical rank, then the
    /// better vector rank, then the lower doc.
    public static func rrf(lexical: [Item], vector: [Item], k: Double, vectorWeight w: Double) -> [Item] {
        var score: [Int: Double] = [:]
        var lexRank: [Int: Int] = [:], vecRank: [Int: Int] = [:]
        for (i, h) in lexical.enumerated() where lexRank[h.doc] == nil {
            lexRank[h.doc] = i
            score[h.doc, default: 0] += (1 - w) / (k + Double(i + 1))
        }
        for (i, h) in vector.enumerated() where vecRank[h.doc] == nil {
            vecRank[h.doc] = i
            score[h.doc, default: 0] += w / (k + Double(i + 1))
        }
        return order(score, lexRank, vecRank)
    }

    /// Linear fusion: (1 − w)·(lexical score / the best lexical score) + w·cosine, over the union
    /// of the two lists. `cosine` gives a candidate's similarity to the query (from its stored
    /// vector); nil falls back to its similarity in the vector list, else 0. A product outside the
    /// lexical list has lexical 0. Ties: the better lexical rank, then the better vector rank,
    /// then the lower doc.
    public static func linear(lexical: [Item], vector: [Item], vectorWeight w: Double,
                              cosine: (Int) -> Float? = { _ in nil }) -> [Item] {
        let best = Double(lexical.map(\.score).max() ?? 0)
        var lexRank: [Int: Int] = [:], vecRank: [Int: Int] = [:]
        var lexScore: [Int: Double] = [:], vecScore: [Int: Double] = [:]
        for (i, h) in lexical.enumerated() where lexRank[h.doc] == nil {
            lexRank[h.doc] = i
            lexScore[h.doc] = best > 0 ? max(0, Double(h.score)) / best : 0
        }
        for (i, h) in vector.enumerated() where vecRank[h.doc] == nil {
            vecRank[h.doc] = i
            vecScore[h.doc] = Double(h.score)
        }
        var score: [Int: Double] = [:]
        for d in Set(lexRank.keys).union(vecRank.keys) {
            let c = cosine(d).map(Double.init) ?? vecScore[d] ?? 0
            score[d] = (1 - w) * (lexScore[d] ?? 0) + w * c
        }
        return order(score, lexRank, vecRank)
    }

    static func order(_ score: [Int: Double], _ lexRank: [Int: Int], _ vecRank: [Int: Int]) -> [Item] {
        let docs = score.keys.sorted { a, b in
            let sa = score[a]!, sb = score[b]!
            if sa != sb { return sa > sb }
            let la = lexRank[a] ?? Int.max, lb = lexRank[b] ?? Int.max
            if la != lb { return la < lb }
            let va = vecRank[a] ?? Int.max, vb = vecRank[b] ?? Int.max
            if va != vb { return va < vb }
            return a < b
        }
        return docs.map { Item(doc: $0, score: Float(score[$0]!)) }
    }
}
