import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// A deterministic tiny model for the hybrid tests: each distinct lowercase word of a text is
/// hashed (FNV-1a) into one of 16 dims with a weight in [0.5, 1.5) taken from the hash, and the sum
/// is normalised. Words are de-duplicated and summed in sorted order, so texts with the same set of
/// words get bit-identical vectors (exact ties, broken by doc in the oracle as in the index) and
/// different sets get clearly different ones.
final class HybridHashEmbedder: VectorEmbedder {
    let dimensions = 16

    static func words(_ text: String) -> [String] {
        Set(text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)).sorted()
    }

    static func vector(_ text: String) -> [Float] {
        var v = [Float](repeating: 0, count: 16)
        for w in words(text) {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            v[Int(h % 16)] += 0.5 + Float((h >> 32) & 0xFFFF) / 65536
        }
        let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    func embed(_ texts: [String]) throws -> [[Float]] { texts.map { Self.vector($0) } }
}

/// Hybrid retrieval (lexical, vector and fused) through `SearchService`, each answer checked
/// against an oracle computed here: a brute-force cosine kNN over the catalog's titles with the
/// tiny hash model, the lexical lists and match sets taken from lexical requests, the fusion
/// formulas computed by hand, totals and facets counted over the union in the test.
@Suite struct HybridSearchTests {
    // MARK: - Fixture

    static let model: String = {
        VectorModels.register("test-hash-16-hybrid", embedder: HybridHashEmbedder())
        return "test-hash-16-hybrid"
    }()

    struct Product {
        var id: String, title: String, brand: String, category: [String], price: Double
    }

    static let titleWords = ["kato", "mune", "reto", "sabo", "tiko", "vemo", "wuzo", "yalo",
                             "zeno", "bito", "caro", "dufo", "fegu", "gilo", "hapo", "jiru"]
    static let brands = ["Zorvex", "Quillan", "Mabrix", "Tenvora", "Pelliq", "Drovan"]
    static let categories = [["Ardo", "Bemo"], ["Ardo", "Celo"], ["Domo", "Efo"], ["Domo", "Gado"]]

    struct Fixture {
        var svc: SearchService
        /// The same catalog indexed without a vector field.
        var plain: SearchService
        var products: [Product]
        var byID: [String: Product]
        var docOf: [String: Int]
    }

    static func writeCorpus(_ products: [Product], extra: (Int) -> [String: Any] = { _ in [:] }) -> String {
        let lines = products.enumerated().map { i, p -> String in
            var obj: [String: Any] = ["id": p.id, "title": p.title, "brand": p.brand, "category": p.category,
                                      "category_path": p.category.joined(separator: " > "), "price": p.price, "in_stock": true]
            for (k, v) in extra(i) { obj[k] = v }
            return String(decoding: try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self)
        }
        let dir = tempDir("hybrid-corpus")
        let path = dir + "/catalog.jsonl"
        writeFile(path, lines.joined(separator: "\n") + "\n")
        return path
    }

    /// Indexes `corpus` (the catalog schema) with an optional extra vector field.
    static func index(_ corpus: String, vector: FieldDefinition?) throws -> SearchService {
        let dir = tempDir("hybrid-idx")
        let c = try Corpus(path: corpus)
        var schema = c.schema
        if let vector { schema.fields.append(vector) }
        var opts = Indexer.Options(threads: 1)
        opts.sync = false
        opts.progress = false
        _ = try Indexer(corpus: c, directory: dir, options: opts).run(schema: schema)
        return try SearchService(searcher: try Searcher.open(directory: dir))
    }

    static let fixture: Fixture = {
        var g = SeededGenerator(seed: 4242)
        var products: [Product] = []
        for i in 0..<400 {
            let n = Int.random(in: 2...5, using: &g)
            let title = (0..<n).map { _ in
                titleWords[Int(pow(Double.random(in: 0..<1, using: &g), 1.5) * Double(titleWords.count))]
            }.joined(separator: " ")
            let brand = brands[Int(pow(Double.random(in: 0..<1, using: &g), 1.3) * Double(brands.count))]
            products.append(Product(id: String(format: "H%04d", i), title: title, brand: brand,
                                    category: categories.randomElement(using: &g)!,
                                    price: Double(Int.random(in: 100...20_000, using: &g)) / 100))
        }
        let path = writeCorpus(products)
        let vec = FieldDefinition(name: "title_vector", type: .vector, source: "title", dims: 16, model: model)
        let svc = try! index(path, vector: vec)
        let plain = try! index(path, vector: nil)
        // Document numbers, for the oracle's ties (lower doc first).
        let all = try! svc.search(try! request(["q": "", "limit": 1000]))
        precondition(all.hits.count == products.count)
        var docOf: [String: Int] = [:]
        for h in all.hits { docOf[h.id] = h.doc }
        return Fixture(svc: svc, plain: plain, products: products,
                       byID: Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) }), docOf: docOf)
    }()

    // MARK: - Requests

    static func request(_ obj: [String: Any]) throws -> SearchRequest {
        var text = String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self)
        return try text.withUTF8 { p in
            var tape = JSONTape()
            try tape.parse(p)
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
    }

    func run(_ obj: [String: Any], on svc: SearchService? = nil) throws -> SearchResponse {
        try (svc ?? Self.fixture.svc).search(try Self.request(obj))
    }

    enum FilterCase: CustomStringConvertible {
        case none, brand(String), price(Double, Double)

        var json: [String: Any]? {
            switch self {
            case .none: return nil
            case .brand(let b): return ["brand": [b]]
            case .price(let lo, let hi): return ["price_min": lo, "price_max": hi]
            }
        }

        func passes(_ p: Product) -> Bool {
            switch self {
            case .none: return true
            case .brand(let b): return p.brand == b
            case .price(let lo, let hi): return p.price >= lo && p.price <= hi
            }
        }

        var description: String {
            switch self {
            case .none: return "no filter"
            case .brand(let b): return "brand \(b)"
            case .price(let lo, let hi): return "price \(lo)-\(hi)"
            }
        }
    }

    static let filterCases: [FilterCase] = [.none, .brand("Quillan"), .price(40, 120)]
    /// One and two words (AND), a word no title has (no lexical match: the kNN list alone), and a
    /// pair only one of whose words exists (AND finds nothing and relaxes to OR).
    static let queries = ["kato", "mune reto", "sabo", "vemo wuzo", "gilo", "zeno kato", "xylo", "kato xylo"]

    func body(_ q: String, _ filter: FilterCase, _ extra: [String: Any]) -> [String: Any] {
        var o: [String: Any] = ["q": q]
        if let f = filter.json { o["filters"] = f }
        for (k, v) in extra { o[k] = v }
        return o
    }

    // MARK: - Oracle

    /// Brute-force cosine kNN over the products passing `filter`: best first, ties by lower doc.
    /// `nearTies`: check the fixture has no near tie at the list's cut (which products make the
    /// list). Near ties inside the list are allowed: comparisons of order go through
    /// `knnOrderMatches` and `knnList`, which let them come in the index's float order.
    func knnOracle(_ q: String, k: Int, filter: FilterCase, nearTies: Bool = true) -> [(doc: Int, id: String, sim: Double)] {
        let f = Self.fixture
        let qv = HybridHashEmbedder.vector(q).map(Double.init)
        let qn = qv.reduce(0) { $0 + $1 * $1 }.squareRoot()
        var all: [(doc: Int, id: String, sim: Double)] = []
        for p in f.products where filter.passes(p) {
            let v = HybridHashEmbedder.vector(p.title)
            var s = 0.0
            for i in 0..<16 { s += Double(v[i]) * qv[i] }
            all.append((doc: f.docOf[p.id]!, id: p.id, sim: s / qn))
        }
        all.sort { a, b in
            if a.sim != b.sim { return a.sim > b.sim }
            return a.doc < b.doc
        }
        // The fixture must not hold a near tie (different word sets a rounding apart) at the cut,
        // or the index's float similarities could legitimately choose another set.
        if nearTies, k >= 1, k < all.count, all[k - 1].sim != all[k].sim, abs(all[k - 1].sim - all[k].sim) < 1e-6 {
            Issue.record("fixture: near tie at the cut (rank \(k - 1)) for \"\(q)\" \(filter) (\(all[k - 1].sim) vs \(all[k].sim)); change the seed")
        }
        return Array(all.prefix(k))
    }

    /// Ranks of `oracle` inside a near tie: neighbours with different similarities within 1e-6 of
    /// each other (different word sets a rounding apart), with the exact ties on either side. The
    /// index computes similarities in floats, so it may order these products either way.
    static func nearTieRanks(_ oracle: [(doc: Int, id: String, sim: Double)]) -> Set<Int> {
        var ranks = Set<Int>()
        for i in 0..<max(0, oracle.count - 1) where oracle[i].sim != oracle[i + 1].sim && abs(oracle[i].sim - oracle[i + 1].sim) < 1e-6 {
            var lo = i, hi = i + 1
            while lo > 0 && oracle[lo - 1].sim == oracle[i].sim { lo -= 1 }
            while hi + 1 < oracle.count && oracle[hi + 1].sim == oracle[i + 1].sim { hi += 1 }
            ranks.formUnion(lo...hi)
        }
        return ranks
    }

    /// `actual` (documents, best first) is the first `actual.count` of `oracle`: the same document
    /// at every rank, except within a near tie, where it may be any document of that tie.
    func knnOrderMatches(_ actual: [Int], _ oracle: [(doc: Int, id: String, sim: Double)]) -> Bool {
        guard actual.count <= oracle.count, Set(actual).count == actual.count else { return false }
        let near = Self.nearTieRanks(oracle)
        let sim = Dictionary(oracle.map { ($0.doc, $0.sim) }, uniquingKeysWith: { a, _ in a })
        for (i, d) in actual.enumerated() where d != oracle[i].doc {
            guard near.contains(i), let s = sim[d], s != oracle[i].sim, abs(s - oracle[i].sim) < 1e-6 else { return false }
        }
        return true
    }

    /// The brute-force kNN list as fusion sees it: the oracle, with the products of a near tie in
    /// the order the index's float similarities give them (taken from its vector list for the same
    /// request, which must be the oracle's up to such ties).
    func knnList(_ q: String, k: Int, filter: FilterCase) throws -> [Fusion.Item] {
        let oracle = knnOracle(q, k: k, filter: filter)
        guard !Self.nearTieRanks(oracle).isEmpty else { return oracle.map { Fusion.Item(doc: $0.doc, score: Float($0.sim)) } }
        let index = try run(body(q, filter, ["retrieval": ["mode": "vector", "window": k, "num_candidates": 1000], "limit": k])).hits.map(\.doc)
        guard index.count == oracle.count, knnOrderMatches(index, oracle) else {
            Issue.record("\"\(q)\" \(filter) k \(k): the index's vector list is not the oracle's")
            return oracle.map { Fusion.Item(doc: $0.doc, score: Float($0.sim)) }
        }
        let sim = Dictionary(uniqueKeysWithValues: oracle.map { ($0.doc, $0.sim) })
        return index.map { Fusion.Item(doc: $0, score: Float(sim[$0]!)) }
    }

    /// The lexical list hybrid retrieval fuses: the lexical request's best `window`.
    func lexicalList(_ q: String, _ filter: FilterCase, window: Int) throws -> [Fusion.Item] {
        try run(body(q, filter, ["retrieval": "lexical", "limit": window])).hits.map { Fusion.Item(doc: $0.doc, score: $0.score) }
    }

    /// Every product the lexical query matches (sorted by price, so no re-ranking touches the set).
    func lexicalMatches(_ q: String, _ filter: FilterCase) throws -> Set<String> {
        let r = try run(body(q, filter, ["retrieval": "lexical", "limit": 1000, "sort": "price_asc"]))
        #expect(r.total == r.hits.count, "lexical matches of \"\(q)\" beyond one page")
        return Set(r.hits.map(\.id))
    }

    /// `actual` is `expected`'s order up to permutations of results whose expected scores are
    /// within `tol` (fused scores from float similarities): each rank's document has the expected
    /// score of that rank.
    func expectRanking(_ actual: [SearchHit], _ expected: [Fusion.Item], tol: Double, _ label: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.count == expected.count, "\(label): \(actual.count) hits, expected \(expected.count)", sourceLocation: sourceLocation)
        #expect(Set(actual.map(\.doc)).count == actual.count, "\(label): duplicate hits", sourceLocation: sourceLocation)
        let score = Dictionary(expected.map { ($0.doc, Double($0.score)) }, uniquingKeysWith: { a, _ in a })
        for (i, h) in actual.enumerated() where i < expected.count {
            guard let s = score[h.doc] else {
                Issue.record("\(label): rank \(i) is doc \(h.doc) (\(h.id)), not in the expected list", sourceLocation: sourceLocation)
                return
            }
            if abs(s - Double(expected[i].score)) > tol {
                Issue.record("\(label): rank \(i) is doc \(h.doc) (expected score \(s)), expected doc \(expected[i].doc) (score \(expected[i].score))", sourceLocation: sourceLocation)
                return
            }
            #expect(abs(Double(h.score) - s) <= tol, "\(label): doc \(h.doc) scored \(h.score), expected \(s)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - 1. Fusion formulas

    @Test func fusionHandComputedExamples() {
        typealias I = Fusion.Item
        // RRF, k 60, w 0.5: A 0.5/61 + 0.5/62, C 0.5/63 + 0.5/61, B 0.5/62, D 0.5/63.
        let r = Fusion.rrf(lexical: [I(doc: 1, score: 9), I(doc: 2, score: 5), I(doc: 3, score: 1)],
                           vector: [I(doc: 3, score: 0.9), I(doc: 1, score: 0.8), I(doc: 4, score: 0.1)], k: 60, vectorWeight: 0.5)
        #expect(r.map(\.doc) == [1, 3, 2, 4])
        #expect(r.map(\.score) == [Float(0.5 / 61 + 0.5 / 62), Float(0.5 / 61 + 0.5 / 63), Float(0.5 / 62), Float(0.5 / 63)])
        // Equal scores: the lexical rank decides (doc 7 is lexical 1st, doc 5 vector 1st), then the vector rank, then the doc.
        let t = Fusion.rrf(lexical: [I(doc: 7, score: 1)], vector: [I(doc: 5, score: 1)], k: 10, vectorWeight: 0.5)
        #expect(t.map(\.doc) == [7, 5])
        let t2 = Fusion.rrf(lexical: [I(doc: 9, score: 3), I(doc: 8, score: 2)], vector: [I(doc: 8, score: 1), I(doc: 9, score: 1)], k: 5, vectorWeight: 0.5)
        #expect(t2.map(\.doc) == [9, 8])   // equal sums; 9 is better lexically
        // w 0 and w 1: one list alone (the other's documents follow at score 0, by their ranks).
        let lexOnly = Fusion.rrf(lexical: [I(doc: 2, score: 1), I(doc: 1, score: 1)], vector: [I(doc: 3, score: 1)], k: 60, vectorWeight: 0)
        #expect(lexOnly.map(\.doc) == [2, 1, 3] && lexOnly.last?.score == 0)
        // Linear, w 0.2, no cosine given (each candidate's cosine is its similarity in the vector
        // list, else 0): lexical 10, 6, 2 over the best (10) → 1, .6, .2 (not min-max: the last is not 0).
        // 1: .8·1 + .2·.1 = .82; 2: .8·.6 = .48; 3: .8·.2 + .2·.9 = .34; 4 (vector only): .2·.5 = .1.
        let l = Fusion.linear(lexical: [I(doc: 1, score: 10), I(doc: 2, score: 6), I(doc: 3, score: 2)],
                              vector: [I(doc: 3, score: 0.9), I(doc: 4, score: 0.5), I(doc: 1, score: 0.1)], vectorWeight: 0.2)
        #expect(l.map(\.doc) == [1, 2, 3, 4])
        let ls = l.map { Double($0.score) }
        for (a, b) in zip(ls, [0.82, 0.48, 0.34, 0.1]) { #expect(abs(a - b) < 1e-6, "\(ls)") }
        // A cosine for every candidate: it replaces the vector list's similarity, reaches the
        // products outside the vector list, and nil falls back to the list (else 0). w 0.5:
        // 1: .5·1 + .5·.2 = .6; 2: .5·.5 + .5·.8 = .65; 3 (vector only, list .6, cosine .4): .2;
        // 4 (vector only, no cosine): .5·.3 = .15; 5 (lexical 0, no cosine, not in the vector list): 0.
        let cos: [Int: Float] = [1: 0.2, 2: 0.8, 3: 0.4, 9: 1]
        let lc = Fusion.linear(lexical: [I(doc: 1, score: 4), I(doc: 2, score: 2), I(doc: 5, score: 0)],
                               vector: [I(doc: 3, score: 0.6), I(doc: 4, score: 0.3)], vectorWeight: 0.5) { cos[$0] }
        #expect(lc.map(\.doc) == [2, 1, 3, 4, 5], "\(lc)")   // doc 9 (a cosine, in neither list) is no candidate
        for (a, b) in zip(lc.map { Double($0.score) }, [0.65, 0.6, 0.2, 0.15, 0]) { #expect(abs(a - b) < 1e-6, "\(lc)") }
        // Equal lexical scores both map to 1; a product outside the lexical list gets lexical 0.
        let eq = Fusion.linear(lexical: [I(doc: 5, score: 3), I(doc: 6, score: 3)], vector: [I(doc: 6, score: 0.75)], vectorWeight: 0.5)
        #expect(eq.map(\.doc) == [6, 5] && eq.map(\.score) == [0.875, 0.5])
        // w 0: the lexical ratio alone; w 1: the cosine alone.
        let w0 = Fusion.linear(lexical: [I(doc: 1, score: 8), I(doc: 2, score: 2)], vector: [I(doc: 3, score: 0.9)], vectorWeight: 0) { [1: 0.1, 2: 0.9][$0] }
        #expect(w0.map(\.doc) == [1, 2, 3] && w0.map(\.score) == [1, 0.25, 0])
        let w1 = Fusion.linear(lexical: [I(doc: 1, score: 8), I(doc: 2, score: 2)], vector: [I(doc: 3, score: 0.5)], vectorWeight: 1) { [1: 0.25, 2: 0.75][$0] }
        #expect(w1.map(\.doc) == [2, 3, 1] && w1.map(\.score) == [0.75, 0.5, 0.25])
        // Ties: the better lexical rank (7 is lexical 1st, 5 vector 1st, both .5), then the better
        // vector rank (8 and 9 vector only, equal cosines; 9 is ahead in the list).
        let lt = Fusion.linear(lexical: [I(doc: 7, score: 2)], vector: [I(doc: 5, score: 1), I(doc: 9, score: 0.5), I(doc: 8, score: 0.5)],
                               vectorWeight: 0.5) { [7: 0, 9: 0.25, 8: 0.25][$0] }
        #expect(lt.map(\.doc) == [7, 5, 9, 8] && lt.map(\.score) == [0.5, 0.5, 0.125, 0.125], "\(lt)")
        // A best lexical score of 0 (or below) gives every product lexical 0, and negative scores count as 0.
        let z = Fusion.linear(lexical: [I(doc: 1, score: 0), I(doc: 2, score: -1)], vector: [I(doc: 3, score: 0.5)], vectorWeight: 0.5)
        #expect(z.map(\.doc) == [3, 1, 2] && z.map(\.score) == [0.25, 0, 0])
        let neg = Fusion.linear(lexical: [I(doc: 1, score: 4), I(doc: 2, score: -2)], vector: [], vectorWeight: 0.5)
        #expect(neg.map(\.doc) == [1, 2] && neg.map(\.score) == [0.5, 0])
        #expect(Fusion.rrf(lexical: [], vector: [], k: 60, vectorWeight: 0.5).isEmpty)
        #expect(Fusion.linear(lexical: [], vector: [], vectorWeight: 0.5).isEmpty)
    }

    /// The formula, written out per document. Linear: (1 − w)·max(0, lexical score)/(the best
    /// lexical score) (0 outside the lexical list, or when the best is not positive) + w·cosine,
    /// the cosine from `cosine`, else the vector list's similarity, else 0.
    static func bruteForce(_ lex: [Fusion.Item], _ vec: [Fusion.Item], rrfK: Double?, w: Double,
                           cosine: [Int: Float] = [:]) -> [(doc: Int, score: Double)] {
        // A document's first position in each list.
        let lexRanks = Dictionary(lex.enumerated().map { ($1.doc, $0) }, uniquingKeysWith: { a, _ in a })
        let vecRanks = Dictionary(vec.enumerated().map { ($1.doc, $0) }, uniquingKeysWith: { a, _ in a })
        let best = Double(lex.map(\.score).max() ?? 0)
        let docs = Set(lex.map(\.doc)).union(vec.map(\.doc))
        let scored = docs.map { d -> (doc: Int, score: Double, l: Int, v: Int) in
            let lr = lexRanks[d], vr = vecRanks[d]
            var s = 0.0
            if let k = rrfK {
                if let lr { s += (1 - w) / (k + Double(lr + 1)) }
                if let vr { s += w / (k + Double(vr + 1)) }
            } else {
                let lexical = lr.map { best > 0 ? max(0, Double(lex[$0].score)) / best : 0 } ?? 0
                let c = cosine[d].map(Double.init) ?? vr.map { Double(vec[$0].score) } ?? 0
                s = (1 - w) * lexical + w * c
            }
            return (d, s, lr ?? Int.max, vr ?? Int.max)
        }
        return scored.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.l != b.l { return a.l < b.l }
            if a.v != b.v { return a.v < b.v }
            return a.doc < b.doc
        }.map { ($0.doc, $0.score) }
    }

    /// A random list of distinct documents, best score first. `integral`: small whole scores (exact
    /// arithmetic, many ties).
    static func randomList(_ g: inout SeededGenerator, docs: Int, integral: Bool) -> [Fusion.Item] {
        let n = Int.random(in: 0...min(docs, 40), using: &g)
        let ds = Array((0..<docs).shuffled(using: &g).prefix(n))
        let scores = (0..<n).map { _ in integral ? Float(Int.random(in: 0...6, using: &g)) : Float.random(in: 0..<25, using: &g) }
            .sorted(by: >)
        return zip(ds, scores).map { Fusion.Item(doc: $0, score: $1) }
    }

    @Test func fusionMatchesTheFormulaOnRandomLists() {
        var g = SeededGenerator(seed: 77)
        for trial in 0..<600 {
            let integral = trial % 2 == 0
            let docs = [5, 20, 60][trial % 3]
            let lex = Self.randomList(&g, docs: docs, integral: integral)
            let vec = Self.randomList(&g, docs: docs, integral: integral)
            let w = [0, 0.2, 0.5, 0.7, 1, Double.random(in: 0...1, using: &g)][trial % 6]
            let k = [0, 1, 60, Double(Int.random(in: 0...200, using: &g))][trial % 4]
            // Cosines for some of the candidates (and for a document in neither list), in [-1, 1];
            // the others fall back to the vector list. Integral trials use quarters (exact sums).
            var cosine: [Int: Float] = [:]
            if trial % 5 != 0 {
                for d in 0..<docs where Int.random(in: 0..<3, using: &g) > 0 {
                    cosine[d] = integral ? Float(Int.random(in: -4...4, using: &g)) / 4 : Float.random(in: -1...1, using: &g)
                }
            }
            for rrf in [true, false] {
                let got = rrf ? Fusion.rrf(lexical: lex, vector: vec, k: k, vectorWeight: w)
                              : Fusion.linear(lexical: lex, vector: vec, vectorWeight: w) { cosine[$0] }
                let want = Self.bruteForce(lex, vec, rrfK: rrf ? k : nil, w: w, cosine: rrf ? [:] : cosine)
                let label = "trial \(trial) \(rrf ? "rrf k \(k)" : "linear") w \(w) lex \(lex.map { ($0.doc, $0.score) }) vec \(vec.map { ($0.doc, $0.score) }) cosine \(cosine.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })"
                #expect(got.count == want.count, "\(label)")
                if rrf || integral {
                    // Exact arithmetic: the same order and scores.
                    #expect(got.map(\.doc) == want.map(\.doc), "\(label)")
                    #expect(got.map(\.score) == want.map { Float($0.score) }, "\(label)")
                } else {
                    // Real scores: the same scores rank by rank (orders may differ only among near-equal sums).
                    let want = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
                    let wantSorted = want.values.sorted(by: >)
                    for (i, it) in got.enumerated() {
                        #expect(abs(Double(it.score) - (want[it.doc] ?? -1)) < 1e-5 && abs((want[it.doc] ?? -1) - wantSorted[i]) < 1e-5, "\(label) rank \(i)")
                    }
                }
            }
        }
    }

    // MARK: - 2. Vector, hybrid and lexical against the oracle

    @Test func vectorRetrievalIsTheBruteForceTopK() throws {
        let f = Self.fixture
        for q in Self.queries {
            for filter in Self.filterCases {
                // The default window (1000) holds every product with a vector: the list is all of them.
                for (limit, window) in [(10, nil), (50, nil), (20, 20), (15, 40), (1, 1)] as [(Int, Int?)] {
                    var retrieval: [String: Any] = ["mode": "vector", "num_candidates": 1000]
                    if let window { retrieval["window"] = window }
                    let r = try run(body(q, filter, ["retrieval": retrieval, "limit": limit]))
                    let label = "\"\(q)\" \(filter) limit \(limit) window \(window.map(String.init) ?? "-")"
                    let w = window ?? 1000
                    let oracle = knnOracle(q, k: w, filter: filter)
                    if window == nil { #expect(oracle.count == f.products.filter { filter.passes($0) }.count, "\(label)") }
                    #expect(knnOrderMatches(r.hits.map(\.doc), oracle), "\(label): \(r.hits.map(\.id)) vs \(oracle.prefix(limit).map(\.id))")
                    #expect(r.hits.count == min(limit, oracle.count), "\(label)")
                    for (h, o) in zip(r.hits, oracle) { #expect(abs(Double(h.score) - o.sim) < 1e-4, "\(label): \(h.id) \(h.score) vs \(o.sim)") }
                    #expect(r.hits.allSatisfy { filter.passes(f.byID[$0.id]!) }, "\(label)")
                    // Vector retrieval's total is its list.
                    #expect(r.total == oracle.count, "\(label): total \(r.total), list \(oracle.count)")
                    #expect(r.retrieval?.mode == .vector && r.retrieval?.fusion == nil, "\(label)")
                    #expect(r.retrieval?.vectorCandidates == oracle.count && r.retrieval?.window == w, "\(label)")
                }
            }
        }
    }

    /// The default beam is max(num_candidates 100, window): with the default window (1000) it
    /// covers all 400 vectors, so the graph search is exact: every product, in the oracle's order
    /// (ties by lower doc). With a window of 100 or 200 and the default num_candidates, the beam is
    /// the window: the true first ten, and the true similarity at every rank. (Which of several
    /// products tied at the cut it returns is the graph's choice: for "xylo", "gilo" and "vemo wuzo"
    /// the 100th/200th similarity is 0, shared by dozens of products.)
    @Test func vectorRetrievalWithDefaultBeamFindsTheTrueNeighbours() throws {
        let all = Self.fixture.products.count
        for q in Self.queries {
            let r = try run(["q": q, "retrieval": "vector", "limit": 10])
            #expect(knnOrderMatches(r.hits.map(\.doc), knnOracle(q, k: 1000, filter: .none)) && r.hits.count == 10, "\"\(q)\"")
            #expect(r.total == all && r.retrieval?.window == 1000 && r.retrieval?.vectorCandidates == all, "\"\(q)\": total \(r.total), \(String(describing: r.retrieval))")
            // The whole default list.
            let every = try run(["q": q, "retrieval": "vector", "limit": 1000])
            let oracle = knnOracle(q, k: 1000, filter: .none)
            #expect(every.total == all && every.hits.count == all && knnOrderMatches(every.hits.map(\.doc), oracle),
                    "\"\(q)\": the default list is not the exact order of all \(all)")
            for (i, (h, o)) in zip(every.hits, oracle).enumerated() where abs(Double(h.score) - o.sim) > 1e-5 {
                Issue.record("\"\(q)\" default window: rank \(i) has similarity \(h.score), the true one \(o.sim)")
                break
            }
            for k in [100, 200] {
                let long = try run(["q": q, "retrieval": ["mode": "vector", "window": k], "limit": k])
                let oracle = knnOracle(q, k: k, filter: .none, nearTies: false)   // similarities only
                #expect(long.hits.count == k && Set(long.hits.map(\.id)).count == k && long.total == k, "\"\(q)\" k \(k)")
                #expect(knnOrderMatches(Array(long.hits.prefix(10).map(\.doc)), knnOracle(q, k: 1000, filter: .none)), "\"\(q)\" k \(k)")
                for (i, (h, o)) in zip(long.hits, oracle).enumerated() where abs(Double(h.score) - o.sim) > 1e-5 {
                    Issue.record("\"\(q)\" k \(k): rank \(i) has similarity \(h.score), the true one \(o.sim)")
                    break
                }
            }
        }
    }

    struct HybridConfig: CustomStringConvertible {
        var fusion: FusionMethod?
        var rrfK: Double?
        var weight: Double?
        var window: Int?
        /// The nearest neighbours fused (nil: the default, 100).
        var k: Int?
        var limit: Int
        var offset = 0

        var retrieval: [String: Any] {
            var o: [String: Any] = ["mode": "hybrid", "num_candidates": 1000]
            if let fusion { o["fusion"] = fusion.rawValue }
            if let rrfK { o["rrf_k"] = rrfK }
            if let weight { o["vector_weight"] = weight }
            if let window { o["window"] = window }
            if let k { o["k"] = k }
            return o
        }

        var description: String { "fusion \(fusion?.rawValue ?? "-") rrf_k \(rrfK.map { "\($0)" } ?? "-") w \(weight.map { "\($0)" } ?? "-") window \(window.map(String.init) ?? "-") k \(k.map(String.init) ?? "-") offset \(offset) limit \(limit)" }
    }

    static let hybridConfigs: [HybridConfig] = [
        HybridConfig(limit: 50),                                     // the defaults: linear, w 0.4, window 1000, k 100
        HybridConfig(fusion: .rrf, limit: 50),                       // rrf, rrf_k 60, w 0.5, window 1000, k 100
        HybridConfig(fusion: .rrf, rrfK: 5, weight: 0.8, limit: 30),
        HybridConfig(fusion: .linear, weight: 0.6, limit: 30),
        HybridConfig(fusion: .rrf, window: 20, limit: 20),           // a lexical list of 20, 100 neighbours (k > window)
        HybridConfig(fusion: .linear, window: 25, limit: 10, offset: 15),   // a page ending at the window's end
        HybridConfig(fusion: .rrf, window: 30, limit: 10, offset: 15),
        HybridConfig(weight: 0.2, window: 60, limit: 40),            // lexical-only candidates take their own cosines
        HybridConfig(fusion: .linear, weight: 1, window: 40, limit: 40),    // the cosine alone, over the union
        HybridConfig(k: 30, limit: 50),                              // a short kNN list: 30 neighbours, the lexical 1000
        HybridConfig(fusion: .rrf, k: 30, limit: 40),
        HybridConfig(fusion: .rrf, window: 50, k: 10, limit: 20, offset: 30),
        HybridConfig(weight: 0.7, window: 40, k: 1, limit: 40),      // one neighbour
        HybridConfig(fusion: .linear, window: 20, k: 250, limit: 20),       // k > window
        HybridConfig(fusion: .rrf, window: 15, k: 1000, limit: 15),  // every neighbour (the old list of the window's length, and more)
        HybridConfig(k: 1000, limit: 50),
    ]

    /// Every product's cosine with the query's embedding (the test model's vectors of the titles).
    func cosines(_ q: String) -> [Int: Float] {
        Dictionary(uniqueKeysWithValues: knnOracle(q, k: Self.fixture.products.count, filter: .none, nearTies: false).map { ($0.doc, Float($0.sim)) })
    }

    /// Hybrid = the fusion of the lexical request's best `window` and the brute-force kNN list of
    /// `k` (default 100, smaller or larger than the window): rrf exactly (Fusion.rrf, checked
    /// against the formula above); linear by the formula written out (`bruteForce`), every
    /// candidate's cosine computed here from the test model's vectors of the titles, within 1e-5.
    @Test func hybridIsTheFusionOfTheLexicalAndTheBruteForceLists() throws {
        let f = Self.fixture
        for q in Self.queries {
            let cos = cosines(q)
            for filter in Self.filterCases {
                for c in Self.hybridConfigs {
                    let label = "\"\(q)\" \(filter) \(c)"
                    let r = try run(body(q, filter, ["retrieval": c.retrieval, "limit": c.limit, "offset": c.offset]))
                    let window = c.window ?? 1000
                    let k = c.k ?? 100
                    let lex = try lexicalList(q, filter, window: window)
                    let knn = try knnList(q, k: k, filter: filter)
                    let fusion = c.fusion ?? .linear
                    let fused = fusion == .rrf
                        ? Fusion.rrf(lexical: lex, vector: knn, k: c.rrfK ?? 60, vectorWeight: c.weight ?? 0.5)
                        : Self.bruteForce(lex, knn, rrfK: nil, w: c.weight ?? 0.4, cosine: cos).map { Fusion.Item(doc: $0.doc, score: Float($0.score)) }
                    // Every product passing the filter has a vector: the kNN list is the k nearest of
                    // them (all of them when there are at most k).
                    #expect(knn.count == min(k, f.products.filter { filter.passes($0) }.count), "\(label)")
                    #expect(lex.count <= window, "\(label)")
                    let expected = Array(fused.dropFirst(c.offset).prefix(c.limit))
                    if fusion == .rrf {
                        // Ranks only: exactly the oracle's order and scores.
                        #expect(r.hits.map(\.doc) == expected.map(\.doc), "\(label)")
                        #expect(r.hits.map(\.score) == expected.map(\.score), "\(label)")
                    } else {
                        expectRanking(r.hits, expected, tol: 1e-5, label)
                    }
                    #expect(r.hits.allSatisfy { filter.passes(f.byID[$0.id]!) }, "\(label)")
                    let info = try #require(r.retrieval, "\(label)")
                    #expect(info.mode == .hybrid && info.fusion == fusion && info.window == window, "\(label): \(info)")
                    #expect(info.lexicalCandidates == lex.count && info.vectorCandidates == knn.count, "\(label): \(info)")
                }
            }
        }
    }

    /// With the default beam (max(num_candidates 100, k)) the kNN list is the graph's: hybrid must
    /// fuse exactly the list vector retrieval returns for the same beam and `k` neighbours (vector
    /// retrieval's window, its beam max(num_candidates 100, window)), and linear fusion must take
    /// every candidate's cosine from its stored vector (here: the similarities vector retrieval
    /// reports for every product, the same inner products, so scores agree bit for bit). The
    /// lexical list keeps the window's length whatever k is.
    @Test func hybridWithDefaultBeamFusesTheVectorList() throws {
        for q in Self.queries {
            let every = try run(["q": q, "retrieval": "vector", "limit": 1000])
            #expect(every.hits.count == Self.fixture.products.count, "\"\(q)\"")
            let stored = Dictionary(uniqueKeysWithValues: every.hits.map { ($0.doc, $0.score) })
            for filter in Self.filterCases {
                for (window, k) in [(nil, nil), (50, nil), (nil, 30), (50, 30), (50, 200)] as [(Int?, Int?)] {
                    for fusion in [nil] + FusionMethod.allCases as [FusionMethod?] {
                        let label = "\"\(q)\" \(filter) \(fusion?.rawValue ?? "default fusion") window \(window.map(String.init) ?? "default") k \(k.map(String.init) ?? "default")"
                        var retrieval: [String: Any] = ["mode": "hybrid"]
                        if let fusion { retrieval["fusion"] = fusion.rawValue }
                        if let window { retrieval["window"] = window }
                        if let k { retrieval["k"] = k }
                        let w = window ?? 1000
                        let kk = k ?? 100
                        let r = try run(body(q, filter, ["retrieval": retrieval, "limit": 40]))
                        let lex = try lexicalList(q, filter, window: w)
                        let vec = try run(body(q, filter, ["retrieval": ["mode": "vector", "window": kk], "limit": kk])).hits.map { Fusion.Item(doc: $0.doc, score: $0.score) }
                        #expect(vec.count == min(kk, Self.fixture.products.filter { filter.passes($0) }.count), "\(label)")
                        let fused = fusion == .rrf ? Fusion.rrf(lexical: lex, vector: vec, k: 60, vectorWeight: 0.5)
                                                   : Fusion.linear(lexical: lex, vector: vec, vectorWeight: 0.4) { stored[$0] }
                        #expect(r.hits.map(\.doc) == fused.prefix(40).map(\.doc), "\(label)")
                        #expect(r.hits.map(\.score) == fused.prefix(40).map(\.score), "\(label)")
                        #expect(r.retrieval?.fusion == fusion ?? .linear && r.retrieval?.window == w, "\(label)")
                        #expect(r.retrieval?.lexicalCandidates == lex.count && r.retrieval?.vectorCandidates == vec.count, "\(label)")
                    }
                }
            }
        }
    }

    @Test func lexicalEqualsTheDefaultOfAnIndexWithoutVectors() throws {
        let f = Self.fixture
        let extras: [[String: Any]] = [
            ["limit": 20],
            ["limit": 15, "offset": 5, "facets": [["field": "brand", "size": 50], "price", "category"]],
            ["operator": "or", "limit": 40],
            ["sort": "price_asc", "limit": 30],
            ["limit": 5, "search_after": [3.5, 12]],
        ]
        for q in Self.queries + [""] {
            for filter in Self.filterCases {
                for e in extras {
                    let label = "\"\(q)\" \(filter) \(e)"
                    var lexBody = body(q, filter, e)
                    lexBody["retrieval"] = "lexical"
                    let a = try run(lexBody)
                    let b = try run(body(q, filter, e), on: f.plain)
                    let c = try run(lexBody, on: f.plain)
                    #expect(a.retrieval == nil && b.retrieval == nil && c.retrieval == nil, "\(label)")
                    for (x, name) in [(a, "vector index"), (c, "explicit lexical on the plain index")] {
                        #expect(x.hits.map(\.id) == b.hits.map(\.id), "\(label) \(name)")
                        #expect(x.hits.map(\.score) == b.hits.map(\.score), "\(label) \(name)")
                        #expect(x.total == b.total && x.relaxed == b.relaxed, "\(label) \(name)")
                        #expect(x.facets.map(\.name) == b.facets.map(\.name), "\(label) \(name)")
                        #expect(x.facets.map(\.result) == b.facets.map(\.result), "\(label) \(name)")
                        #expect(x.warnings == b.warnings, "\(label) \(name)")
                    }
                }
            }
        }
    }

    // MARK: - 3. Totals and facets over the union

    func brandCounts(_ ids: Set<String>) -> [String: Int] {
        var c: [String: Int] = [:]
        for id in ids { c[Self.fixture.byID[id]!.brand, default: 0] += 1 }
        return c
    }

    func facetCounts(_ r: SearchResponse, _ name: String) -> [String: Int]? {
        guard let f = r.facets.first(where: { $0.name == name }) else { return nil }
        return Dictionary(uniqueKeysWithValues: f.result.values.filter { $0.count > 0 }.map { ($0.value, $0.count) })
    }

    /// The total and the brand facet count lexical matches ∪ the kNN list of k (default 100,
    /// whatever the window; k 1000 is every product passing the filters); vector retrieval counts
    /// its list of the window (with the default window, every product passing the filters; with a
    /// window of 60 the 60 nearest), whatever k says.
    @Test func hybridTotalAndFacetsCountTheUnion() throws {
        let f = Self.fixture
        for q in Self.queries {
            for filter in [FilterCase.none, .price(40, 120), .price(0, 60)] {
                let passing = Set(f.products.filter { filter.passes($0) }.map(\.id))
                let matches = try lexicalMatches(q, filter)
                for (window, k) in [(nil, nil), (60, nil), (nil, 30), (60, 30), (60, 200), (nil, 1000)] as [(Int?, Int?)] {
                    let w = window ?? 1000
                    let kk = k ?? 100
                    let knn = Set(knnOracle(q, k: kk, filter: filter).map(\.id))
                    #expect(knn.count == min(kk, passing.count), "\"\(q)\" \(filter) k \(kk)")
                    if kk == 1000 { #expect(knn == passing, "\"\(q)\" \(filter)") }
                    let union = matches.union(knn)
                    let limit = min(100, w)
                    for fusion in FusionMethod.allCases {
                        let label = "\"\(q)\" \(filter) \(fusion) window \(w) k \(kk)"
                        var retrieval: [String: Any] = ["mode": "hybrid", "fusion": fusion.rawValue, "num_candidates": 1000]
                        if let window { retrieval["window"] = window }
                        if let k { retrieval["k"] = k }
                        let r = try run(body(q, filter, ["retrieval": retrieval, "limit": limit, "facets": [["field": "brand", "size": 50]]]))
                        #expect(r.total == union.count, "\(label): total \(r.total), |lexical ∪ kNN| \(union.count) (lexical \(matches.count), kNN \(knn.count))")
                        #expect(r.totalIsExact, "\(label)")
                        #expect(facetCounts(r, "brand") == brandCounts(union), "\(label)")
                        #expect(r.hits.allSatisfy { filter.passes(f.byID[$0.id]!) && union.contains($0.id) }, "\(label)")
                        #expect(r.hits.count == min(limit, union.count), "\(label)")
                        #expect(r.retrieval?.window == w && r.retrieval?.vectorCandidates == knn.count, "\(label): \(String(describing: r.retrieval))")
                    }
                    // Vector retrieval: the list of the window is the set (k is hybrid's alone).
                    var retrieval: [String: Any] = ["mode": "vector", "num_candidates": 1000]
                    if let window { retrieval["window"] = window }
                    if let k { retrieval["k"] = k }
                    let vknn = Set(knnOracle(q, k: w, filter: filter).map(\.id))
                    if window == nil { #expect(vknn == passing, "\"\(q)\" \(filter)") }
                    let v = try run(body(q, filter, ["retrieval": retrieval, "limit": limit, "facets": [["field": "brand", "size": 50]]]))
                    let vlabel = "\"\(q)\" \(filter) vector window \(w) k \(k.map(String.init) ?? "-")"
                    #expect(v.total == vknn.count && facetCounts(v, "brand") == brandCounts(vknn), "\(vlabel)")
                    #expect(Set(v.hits.map(\.id)).isSubset(of: vknn) && v.hits.count == min(limit, vknn.count), "\(vlabel)")
                    #expect(v.retrieval?.vectorCandidates == vknn.count, "\(vlabel): \(String(describing: v.retrieval))")
                }
            }
        }
    }

    /// A brand filter: hits are of the brand, the total is the filtered union (the kNN list is the
    /// k nearest of the brand: with the default k (100) every product of the brand, as each of the
    /// two brands has fewer; with k 30 or 10 its 30 or 10 nearest, whatever the window), and the
    /// brand facet (multi-select: it ignores the brand filter, as lexical facets do) gives the
    /// selected brand the total and every other brand its lexical matches.
    @Test func hybridWithABrandFilterCountsTheFilteredUnion() throws {
        let f = Self.fixture
        for q in Self.queries {
            for brand in ["Quillan", "Drovan"] {
                let ofBrand = Set(f.products.filter { $0.brand == brand }.map(\.id))
                #expect(ofBrand.count > 30 && ofBrand.count < 100, "fixture: \(ofBrand.count) products of \(brand)")
                for (window, k) in [(nil, nil), (30, nil), (nil, 30), (30, 10), (20, 30)] as [(Int?, Int?)] {
                    let filter = FilterCase.brand(brand)
                    let w = window ?? 1000
                    let kk = k ?? 100
                    let label = "\"\(q)\" \(filter) window \(w) k \(kk)"
                    var retrieval: [String: Any] = ["mode": "hybrid", "num_candidates": 1000]
                    if let window { retrieval["window"] = window }
                    if let k { retrieval["k"] = k }
                    let r = try run(body(q, filter, ["retrieval": retrieval, "limit": min(100, w),
                                                     "facets": [["field": "brand", "size": 50]]]))
                    let matches = try lexicalMatches(q, filter)
                    let knn = Set(knnOracle(q, k: kk, filter: filter).map(\.id))
                    #expect(knn.isSubset(of: ofBrand) && knn.count == min(kk, ofBrand.count), "\(label)")
                    // The default k's kNN list is every product of the brand.
                    if k == nil { #expect(knn == ofBrand, "\(label)") }
                    #expect(r.retrieval?.vectorCandidates == knn.count, "\(label): \(String(describing: r.retrieval))")
                    let union = matches.union(knn)
                    #expect(r.hits.allSatisfy { f.byID[$0.id]!.brand == brand }, "\(label)")
                    #expect(r.total == union.count, "\(label): total \(r.total), union \(union.count)")
                    let counts = try #require(facetCounts(r, "brand"), "\(label)")
                    #expect(counts[brand] == union.count, "\(label): \(counts)")
                    // How the lexical request counts the other brands (multi-select).
                    let lexFacet = try run(body(q, filter, ["retrieval": "lexical", "limit": 0, "facets": [["field": "brand", "size": 50]]]))
                    var expected = facetCounts(lexFacet, "brand") ?? [:]
                    expected[brand] = union.count
                    #expect(counts == expected, "\(label): \(counts) vs \(expected)")
                }
            }
        }
    }

    /// What a shopper sees after ticking another brand in the facet (multi-select): the brand
    /// facet of a brand-filtered hybrid request counts, for the selected brand, the request's own
    /// total, and for every other brand its lexical matches (the nearest neighbours were found
    /// under the current filter, so they are all of the selected brand). Selecting another brand
    /// finds that brand's own nearest neighbours, so its total is at least the count shown
    /// (documented in SearchService+Hybrid.swift and the README).
    @Test func hybridBrandFacetCountsMatchTheTotalAfterSelectingThatBrand() throws {
        for q in ["kato", "mune reto", "xylo"] {
            let r = try run(["q": q, "filters": ["brand": ["Quillan"]], "limit": 0, "facets": [["field": "brand", "size": 50]]])
            let counts = facetCounts(r, "brand") ?? [:]
            #expect((counts["Quillan"] ?? 0) == r.total, "\"\(q)\": the selected brand counts the total")
            for brand in Self.brands where brand != "Quillan" {
                let lexicalTotal = try run(["q": q, "filters": ["brand": [brand]], "limit": 0, "retrieval": "lexical"]).total
                #expect((counts[brand] ?? 0) == lexicalTotal, "\"\(q)\" filtered to Quillan: \(brand) counts its lexical matches")
                let t = try run(["q": q, "filters": ["brand": [brand]], "limit": 0]).total
                #expect(t >= (counts[brand] ?? 0), "\"\(q)\": selecting \(brand) answers at least the count shown")
            }
            // For lexical retrieval the two agree.
            let l = try run(["q": q, "filters": ["brand": ["Quillan"]], "limit": 0, "retrieval": "lexical", "facets": [["field": "brand", "size": 50]]])
            let lc = facetCounts(l, "brand") ?? [:]
            for brand in Self.brands {
                let t = try run(["q": q, "filters": ["brand": [brand]], "limit": 0, "retrieval": "lexical"]).total
                #expect((lc[brand] ?? 0) == t, "lexical \"\(q)\" \(brand)")
            }
        }
    }

    /// A query's exclusions (`-word`, `NOT word`) hold for every retrieval: lexical answers never
    /// show an excluded word's products, and neither should hybrid or vector ones.
    /// (Found by this test: the whole of q was embedded and the neighbours were not checked
    /// against the exclusions, so 46 of the first 100 hybrid hits of "sabo -kato" had kato.)
    @Test func hybridKeepsTheQuerysExclusions() throws {
        let f = Self.fixture
        for q in ["sabo -kato", "mune NOT reto"] {
            let excluded = q.hasSuffix("kato") ? "kato" : "reto"
            let lex = try run(["q": q, "retrieval": "lexical", "limit": 100])
            #expect(!lex.hits.isEmpty && lex.hits.allSatisfy { !HybridHashEmbedder.words(f.byID[$0.id]!.title).contains(excluded) }, "lexical \"\(q)\"")
            for mode in ["hybrid", "vector"] {
                let r = try run(["q": q, "retrieval": mode, "limit": 100])
                let bad = r.hits.filter { HybridHashEmbedder.words(f.byID[$0.id]!.title).contains(excluded) }
                #expect(bad.isEmpty, "\(mode) \"\(q)\": \(bad.count) of \(r.hits.count) hits have \"\(excluded)\", e.g. \(bad.prefix(3).map { "\($0.id) \(f.byID[$0.id]!.title)" })")
            }
        }
    }

    // MARK: - 4. Pagination and sorting

    @Test func hybridPagesConcatenateToOneBigPage() throws {
        for q in Self.queries {
            for filter in Self.filterCases {
                for fusion in FusionMethod.allCases {
                    let label = "\"\(q)\" \(filter) \(fusion)"
                    let retrieval: [String: Any] = ["mode": "hybrid", "fusion": fusion.rawValue]
                    let big = try run(body(q, filter, ["retrieval": retrieval, "limit": 100]))
                    #expect(big.retrieval?.window == 1000 && big.hits.count == min(100, big.total), "\(label)")
                    var pages: [SearchHit] = []
                    for offset in stride(from: 0, to: 100, by: 10) {
                        let p = try run(body(q, filter, ["retrieval": retrieval, "limit": 10, "offset": offset]))
                        #expect(p.total == big.total, "\(label) offset \(offset)")
                        pages += p.hits
                    }
                    #expect(pages.map(\.id) == big.hits.map(\.id), "\(label)")
                    #expect(pages.map(\.score) == big.hits.map(\.score), "\(label)")
                    #expect(Set(pages.map(\.id)).count == pages.count, "\(label): duplicates")
                }
            }
        }
    }

    /// Pages of a larger window (200): every page is cut from the same fused list, the total is
    /// the same on every page, and a page past the window is refused (the window never grows with
    /// the page, so paging can neither repeat nor skip products).
    @Test func hybridPagesPastTheWindowRepeatNothing() throws {
        for q in ["kato", "sabo", "gilo", "xylo"] {
            for fusion in FusionMethod.allCases {
                let retrieval: [String: Any] = ["mode": "hybrid", "fusion": fusion.rawValue, "num_candidates": 1000, "window": 200]
                var pages: [String] = []
                var totals: [Int] = []
                for offset in stride(from: 0, to: 200, by: 10) {
                    let p = try run(["q": q, "retrieval": retrieval, "limit": 10, "offset": offset])
                    pages += p.hits.map(\.id)
                    totals.append(p.total)
                }
                let big = try run(["q": q, "retrieval": retrieval, "limit": 200]).hits.map(\.id)
                let dups = pages.count - Set(pages).count
                #expect(dups == 0, "\"\(q)\" \(fusion): \(dups) products repeated over 20 pages of 10")
                #expect(pages == big, "\"\(q)\" \(fusion): pages of 10 differ from one page of 200 from rank \(zip(pages, big).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
                #expect(Set(totals).count == 1, "\"\(q)\" \(fusion): the total changes from page to page: \(totals)")
                expectBadRequest(["q": q, "retrieval": retrieval, "limit": 10, "offset": 200], "window")
            }
        }
    }

    /// Sorted by price, a page is cut from the union sorted by price: hybrid's union is the lexical
    /// matches and the k nearest (default 100; k 1000: every product passing the filters), vector's
    /// the window's nearest (default 1000: every product passing the filters; 100: the 100 nearest),
    /// whatever k says.
    @Test func hybridSortedByPriceSortsTheUnion() throws {
        let f = Self.fixture
        for q in Self.queries {
            for filter in Self.filterCases {
                let passing = Set(f.products.filter { filter.passes($0) }.map(\.id))
                let matches = try lexicalMatches(q, filter)
                for (window, k) in [(nil, nil), (100, nil), (nil, 30), (100, 1000)] as [(Int?, Int?)] {
                    for mode in ["hybrid", "vector"] {
                        let label = "\"\(q)\" \(filter) \(mode) window \(window.map(String.init) ?? "default") k \(k.map(String.init) ?? "default")"
                        var retrieval: [String: Any] = ["mode": mode, "num_candidates": 1000]
                        if let window { retrieval["window"] = window }
                        if let k { retrieval["k"] = k }
                        let listLength = mode == "vector" ? window ?? 1000 : k ?? 100
                        let knn = Set(knnOracle(q, k: listLength, filter: filter).map(\.id))
                        let big = try run(body(q, filter, ["retrieval": retrieval, "limit": 100, "sort": "price_asc"]))
                        let union = mode == "vector" ? knn : matches.union(knn)
                        if listLength == 1000 { #expect(union == passing, "\(label)") }
                        #expect(big.retrieval?.vectorCandidates == knn.count, "\(label): \(String(describing: big.retrieval))")
                        let sorted = union.map { f.byID[$0]! }.sorted { $0.price != $1.price ? $0.price < $1.price : $0.id < $1.id }.map(\.id)
                        #expect(big.total == union.count, "\(label)")
                        #expect(big.hits.map(\.id) == Array(sorted.prefix(100)), "\(label)")
                        var pages: [String] = []
                        for offset in stride(from: 0, to: 100, by: 10) {
                            let p = try run(body(q, filter, ["retrieval": retrieval, "limit": 10, "offset": offset, "sort": "price_asc"]))
                            #expect(p.total == big.total, "\(label) offset \(offset)")
                            pages += p.hits.map(\.id)
                        }
                        #expect(pages == big.hits.map(\.id), "\(label)")
                        let desc = try run(body(q, filter, ["retrieval": retrieval, "limit": 20, "sort": "price_desc"]))
                        let sortedDesc = union.map { f.byID[$0]! }.sorted { $0.price != $1.price ? $0.price > $1.price : $0.id < $1.id }.map(\.id)
                        #expect(desc.hits.map(\.id) == Array(sortedDesc.prefix(20)), "\(label) desc")
                    }
                }
            }
        }
    }

    // MARK: - 5. Modes, defaults and errors

    func expectBadRequest(_ obj: [String: Any], on svc: SearchService? = nil, _ fragment: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let r = try run(obj, on: svc)
            Issue.record("accepted \(obj): retrieval \(String(describing: r.retrieval)), \(r.hits.count) hits", sourceLocation: sourceLocation)
        } catch let e as EngineError {
            guard case .badRequest(let m) = e else {
                Issue.record("\(obj): \(e) is not a bad request", sourceLocation: sourceLocation)
                return
            }
            #expect(m.contains(fragment), "\(obj): \"\(m)\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(obj): \(error) is not an EngineError", sourceLocation: sourceLocation)
        }
    }

    @Test func badRetrievalRequests() throws {
        let plain = Self.fixture.plain
        // Vector and hybrid retrieval need a vector field.
        for mode in ["vector", "hybrid"] {
            expectBadRequest(["q": "kato", "retrieval": mode], on: plain, "needs a vector field")
            expectBadRequest(["q": "kato", "retrieval": ["mode": mode]], on: plain, "this index has none")
        }
        // Parsing.
        expectBadRequest(["q": "kato", "retrieval": "semantic"], "retrieval must be one of lexical, vector, hybrid")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "dense"]], "retrieval must be one of lexical, vector, hybrid")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "top_k": 5]], "unknown retrieval option \"top_k\"")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "K": 5]], "unknown retrieval option \"K\"")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "top_k": 5]], "(mode, fusion, rrf_k, vector_weight, window, k, num_candidates, field)")
        expectBadRequest(["q": "kato", "retrieval": ["fusion": "max"]], "retrieval fusion must be one of rrf, linear")
        expectBadRequest(["q": "kato", "retrieval": 3], "retrieval must be \"lexical\", \"vector\", \"hybrid\" or an object")
        expectBadRequest(["q": "kato", "retrieval": ["mode": 1]], "retrieval mode must be a string")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "vector_weight": 2]], "vector_weight must be a number between 0 and 1")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "vector_weight": -0.1]], "vector_weight must be a number between 0 and 1")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "window": 0]], "window must be an integer between 1 and 1000")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "window": 1001]], "window must be an integer between 1 and 1000")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "window": 2.5]], "window must be an integer")
        // k: the nearest neighbours hybrid fuses, an integer in 1...1000 (checked whatever the mode).
        for bad in [0, 1001, 2.5, -1, 1e9, "30", true, [30]] as [Any] {
            for mode in ["hybrid", "vector", "lexical"] {
                expectBadRequest(["q": "kato", "retrieval": ["mode": mode, "k": bad]], "retrieval k must be an integer between 1 and 1000")
            }
            expectBadRequest(["q": "kato", "retrieval": ["k": bad]], "retrieval k must be an integer between 1 and 1000")
        }
        // k within range is accepted, also larger than the window (and by vector retrieval, which ignores it).
        for (k, window) in [(1, 1000), (30, 1000), (100, 10), (400, 1000), (1000, 1000), (1000, 1), (999, 5)] {
            let r = try run(["q": "kato", "retrieval": ["mode": "hybrid", "k": k, "window": window], "limit": min(10, window)])
            #expect(r.retrieval?.mode == .hybrid && r.retrieval?.window == window && r.hits.count == min(10, window), "k \(k) window \(window)")
            #expect(r.retrieval?.vectorCandidates == min(k, Self.fixture.products.count), "k \(k) window \(window): \(String(describing: r.retrieval))")
            let v = try run(["q": "kato", "retrieval": ["mode": "vector", "k": k, "window": window], "limit": min(10, window)])
            #expect(v.retrieval?.mode == .vector && v.retrieval?.vectorCandidates == min(window, Self.fixture.products.count), "vector k \(k) window \(window): \(String(describing: v.retrieval))")
        }
        #expect(try run(["q": "kato", "retrieval": ["k": 1000.0]]).retrieval?.vectorCandidates == Self.fixture.products.count)
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "rrf_k": -1]], "rrf_k must be a number between 0 and 10000")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "num_candidates": 0]], "num_candidates must be an integer between 1 and 10000")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "field": ""]], "retrieval field must be a vector field's name")
        // The request's shape.
        expectBadRequest(["q": "kato", "retrieval": "hybrid", "search_after": [1.5, 3]], "search_after pages lexical results")
        expectBadRequest(["q": "kato", "retrieval": "vector", "search_after": [1.5, 3]], "search_after pages lexical results")
        expectBadRequest(["q": "kato", "retrieval": "hybrid", "offset": 995, "limit": 10], "offset + limit must be at most 1000")
        expectBadRequest(["q": "kato", "retrieval": "vector", "offset": 1000, "limit": 1], "offset + limit must be at most 1000")
        // The default mode on a vector index is hybrid: the same limits apply.
        expectBadRequest(["q": "kato", "offset": 995, "limit": 10], "hybrid retrieval ranks the first 1000 results (its window)")
        expectBadRequest(["q": "kato", "offset": 995, "limit": 10], "or \"retrieval\": \"lexical\"")
        // A page ends within the request's window: the window never grows to the page's end.
        for (retrieval, offset, limit) in [(["mode": "hybrid", "window": 50], 45, 10), (["mode": "hybrid", "fusion": "linear", "window": 10], 0, 25),
                                           (["mode": "vector", "window": 10], 10, 1), (["fusion": "rrf", "window": 30], 15, 16)] as [([String: Any], Int, Int)] {
            let window = retrieval["window"] as! Int
            let mode = retrieval["mode"] as? String ?? "hybrid"
            let obj: [String: Any] = ["q": "kato", "retrieval": retrieval, "offset": offset, "limit": limit]
            expectBadRequest(obj, "\(mode) retrieval ranks the first \(window) results (its window): offset + limit must be at most \(window)")
            expectBadRequest(obj, "ask for a larger \"retrieval\": {\"window\": N} (at most 1000) or \"retrieval\": \"lexical\"")
            // The last page within the window is accepted.
            let last = try run(["q": "kato", "retrieval": retrieval, "offset": window - min(limit, window), "limit": min(limit, window)])
            #expect(last.retrieval?.window == window && last.hits.count == min(limit, window), "\(retrieval)")
        }
        // Fields.
        expectBadRequest(["q": "kato", "retrieval": ["mode": "hybrid", "field": "title"]], "retrieval field \"title\" is not a vector field (vector fields: title_vector)")
        expectBadRequest(["q": "kato", "retrieval": ["mode": "vector", "field": "nope"]], "retrieval field \"nope\" is not a vector field")
        expectBadRequest(["q": "kato", "retrieval": ["field": "price"]], "is not a vector field")
        // Vector retrieval needs words.
        expectBadRequest(["q": "", "retrieval": "vector"], "needs words in q")
        expectBadRequest(["q": "   ", "retrieval": ["mode": "vector"]], "needs words in q")
    }

    @Test func defaultsAndAcceptedEdges() throws {
        #expect(RetrievalDefaults.mode == .hybrid && RetrievalDefaults.fusion == .linear && RetrievalDefaults.linearVectorWeight == 0.4)
        #expect(RetrievalDefaults.rrfK == 60 && RetrievalDefaults.rrfVectorWeight == 0.5)
        #expect(RetrievalDefaults.window == 1000 && RetrievalDefaults.maxWindow == 1000 && RetrievalDefaults.numCandidates == 100)
        #expect(RetrievalDefaults.k == 100)
        // On a vector index the default is hybrid, linear, window 1000, k 100; the field is the index's vector field.
        let d = try run(["q": "kato"])
        #expect(d.retrieval?.mode == .hybrid && d.retrieval?.fusion == .linear && d.retrieval?.window == 1000, "\(String(describing: d.retrieval))")
        // The default kNN list is the 100 nearest (of 400 products with a vector), not the window's
        // 1000; the total is the lexical matches ∪ those 100, fewer than every product.
        let katoMatches = try lexicalMatches("kato", .none)
        let kato100 = Set(knnOracle("kato", k: 100, filter: .none).map(\.id))
        #expect(d.retrieval?.vectorCandidates == 100 && d.retrieval?.lexicalCandidates == katoMatches.count, "\(String(describing: d.retrieval))")
        #expect(d.total == katoMatches.union(kato100).count && d.total < Self.fixture.products.count,
                "total \(d.total), lexical \(katoMatches.count), |lexical ∪ 100 nearest| \(katoMatches.union(kato100).count)")
        // k 1000 (the kNN list of the window's length, as before k existed): every product.
        let all = try run(["q": "kato", "retrieval": ["k": 1000]])
        #expect(all.retrieval?.vectorCandidates == Self.fixture.products.count && all.total == Self.fixture.products.count)
        let named = try run(["q": "kato", "retrieval": ["field": "title_vector"]])
        #expect(named.retrieval?.mode == .hybrid && named.hits.map(\.id) == d.hits.map(\.id))
        let rrf = try run(["q": "kato", "retrieval": ["fusion": "rrf"]])
        #expect(rrf.retrieval?.mode == .hybrid && rrf.retrieval?.fusion == .rrf && rrf.retrieval?.window == 1000)
        // The default's options are the documented ones: linear, vector_weight 0.4, window 1000, k 100, num_candidates 100.
        let explicit = try run(["q": "kato", "retrieval": ["mode": "hybrid", "fusion": "linear", "vector_weight": 0.4,
                                                             "window": 1000, "k": 100, "num_candidates": 100, "field": "title_vector"]])
        #expect(explicit.hits.map(\.id) == d.hits.map(\.id) && explicit.hits.map(\.score) == d.hits.map(\.score))
        #expect(explicit.total == d.total && explicit.retrieval == d.retrieval.map { var i = $0; i.embedMicros = explicit.retrieval!.embedMicros; return i })
        // ... and not the old ones (w 0.2, or rrf over windows of 100).
        let old = try run(["q": "kato", "retrieval": ["mode": "hybrid", "fusion": "linear", "vector_weight": 0.2]])
        #expect(old.hits.map(\.score) != d.hits.map(\.score))
        // The old rrf over windows of 100 is now rrf over a lexical list of 100 and the (default) 100
        // nearest: the total still counts every lexical match ∪ the 100 nearest, whatever the window.
        let oldRRF = try run(["q": "kato", "retrieval": ["fusion": "rrf", "window": 100]])
        #expect(oldRRF.retrieval?.window == 100 && oldRRF.retrieval?.vectorCandidates == 100 && oldRRF.total == d.total)
        #expect(oldRRF.retrieval?.lexicalCandidates == min(100, katoMatches.count))
        #expect(oldRRF.hits.map(\.score) != d.hits.map(\.score))
        // rrf's defaults: k 60, vector_weight 0.5.
        let rrfExplicit = try run(["q": "kato", "retrieval": ["fusion": "rrf", "rrf_k": 60, "vector_weight": 0.5]])
        #expect(rrfExplicit.hits.map(\.id) == rrf.hits.map(\.id) && rrfExplicit.hits.map(\.score) == rrf.hits.map(\.score))
        // A larger num_candidates changes nothing here: the default beam (max(num_candidates 100,
        // k 100)) already finds the true 100 nearest of "kato" among 400 vectors, so the total above
        // matched the oracle's, and a beam of 5000 (every vector) finds the same list.
        let beam = try run(["q": "kato", "retrieval": ["num_candidates": 5000]])
        #expect(beam.hits.map(\.id) == d.hits.map(\.id) && beam.hits.map(\.score) == d.hits.map(\.score))
        #expect(beam.total == d.total && beam.retrieval?.vectorCandidates == 100)
        // k > window is allowed: the lexical list keeps the window's length, the kNN list k's.
        let wide = try run(["q": "kato", "retrieval": ["window": 50, "k": 300, "num_candidates": 1000], "limit": 50])
        #expect(wide.retrieval?.window == 50 && wide.retrieval?.lexicalCandidates == min(50, katoMatches.count) && wide.retrieval?.vectorCandidates == 300,
                "\(String(describing: wide.retrieval))")
        #expect(wide.total == katoMatches.union(knnOracle("kato", k: 300, filter: .none).map(\.id)).count && wide.hits.count == 50)
        // A request without words is a lexical browse page, whatever it asked for but vector.
        for q in ["", "  "] {
            let e = try run(["q": q, "limit": 5])
            #expect(e.retrieval == nil && e.total == Self.fixture.products.count)
            let h = try run(["q": q, "limit": 5, "retrieval": "hybrid"])
            #expect(h.retrieval == nil && h.hits.map(\.id) == e.hits.map(\.id))
        }
        // Lexical retrieval keeps lexical paging: search_after and deep offsets.
        let deep = try run(["q": "kato", "retrieval": "lexical", "offset": 995, "limit": 10])
        #expect(deep.retrieval == nil)
        let sa = try run(["q": "kato", "retrieval": "lexical", "limit": 5, "search_after": [1000.0, 0]])
        #expect(sa.retrieval == nil)
        // The largest hybrid page allowed.
        let top = try run(["q": "kato", "retrieval": "hybrid", "offset": 900, "limit": 100])
        #expect(top.retrieval?.window == 1000)
        // The plain index answers explicit lexical and the default alike, with no retrieval info.
        let p = try run(["q": "kato"], on: Self.fixture.plain)
        #expect(p.retrieval == nil)
    }

    /// `explain` with hybrid retrieval answers the page with a warning (SearchService.swift: "explain
    /// covers lexical retrieval only") and no explanations; lexical retrieval still explains.
    /// (Found by this test: the lexical list's request kept `explain` with a limit of the window,
    /// which resolve() refused.)
    @Test func hybridExplainWarnsInsteadOfFailing() throws {
        // A window within max_explain_hits (20) works as documented.
        let small = try run(["q": "kato", "explain": true, "limit": 3, "retrieval": ["mode": "hybrid", "window": 10]])
        #expect(small.hits.count == 3 && small.hits.allSatisfy { $0.explanation == nil })
        #expect(small.warnings.contains { $0.contains("explain covers lexical retrieval only") })
        let lex = try run(["q": "kato", "explain": true, "limit": 3, "retrieval": "lexical"])
        #expect(lex.hits.allSatisfy { $0.explanation != nil })
        // The default window (1000) and k (100).
        for retrieval: Any in ["hybrid", "vector", ["mode": "hybrid", "fusion": "linear"]] {
            do {
                let ex = try run(["q": "kato", "explain": true, "limit": 3, "retrieval": retrieval])
                #expect(ex.hits.count == 3 && ex.hits.allSatisfy { $0.explanation == nil }, "\(retrieval)")
                #expect(ex.warnings.contains { $0.contains("explain covers lexical retrieval only") }, "\(retrieval): \(ex.warnings)")
            } catch {
                Issue.record("retrieval \(retrieval), explain, limit 3: \(error)")
            }
        }
        // The default of a vector index (hybrid) too.
        do {
            let ex = try run(["q": "kato", "explain": true, "limit": 3])
            #expect(ex.retrieval?.mode == .hybrid && ex.warnings.contains { $0.contains("explain covers lexical retrieval only") })
        } catch {
            Issue.record("default retrieval, explain, limit 3: \(error)")
        }
    }

    /// An index whose vector field names a model this program lacks (vectors given in the corpus,
    /// so indexing needed no model), and one whose model fails to load.
    @Test func missingModelFallsBackToLexicalUnlessAskedFor() throws {
        var g = SeededGenerator(seed: 5)
        let products = Self.fixture.products.prefix(60).map { $0 }
        for loads in [false, true] {
            let name = "hybrid-missing-\(UUID().uuidString)"
            if loads {
                VectorModels.register(name, load: { throw EngineError.input("weights not found") })
            }
            let path = Self.writeCorpus(products) { _ in ["emb": (0..<16).map { _ in Double.random(in: -1...1, using: &g) }] }
            let vec = FieldDefinition(name: "emb_vector", type: .vector, source: "emb", dims: 16, model: name)
            let svc = try Self.index(path, vector: vec)
            let plain = try Self.index(path, vector: nil)
            let label = loads ? "a model that fails to load" : "an unknown model"
            // The default: lexical, with a warning naming the field and the model.
            let r = try run(["q": "kato", "limit": 20, "facets": ["brand"]], on: svc)
            let l = try run(["q": "kato", "limit": 20, "facets": ["brand"]], on: plain)
            #expect(r.retrieval == nil, "\(label)")
            #expect(r.hits.map(\.id) == l.hits.map(\.id) && r.total == l.total, "\(label)")
            #expect(r.facets.map(\.result) == l.facets.map(\.result), "\(label)")
            #expect(r.warnings.contains { $0.contains("lexical retrieval only") && $0.contains("emb_vector") && $0.contains(name) }, "\(label): \(r.warnings)")
            // Options without a mode still only ask for the default.
            let o = try run(["q": "kato", "retrieval": ["fusion": "linear"]], on: svc)
            #expect(o.retrieval == nil && !o.warnings.isEmpty, "\(label)")
            // Asked for: an error.
            expectBadRequest(["q": "kato", "retrieval": "hybrid"], on: svc, "hybrid retrieval is unavailable")
            expectBadRequest(["q": "kato", "retrieval": ["mode": "vector"]], on: svc, "vector retrieval is unavailable")
            expectBadRequest(["q": "kato", "retrieval": "hybrid"], on: svc, name)
            // Explicit lexical: no warning.
            let lex = try run(["q": "kato", "retrieval": "lexical"], on: svc)
            #expect(lex.retrieval == nil && lex.warnings.isEmpty, "\(label): \(lex.warnings)")
        }
    }

    // MARK: - 6. JSON

    @Test func responseJSONCarriesRetrieval() throws {
        func json(_ r: SearchResponse) -> String {
            var w = JSONWriter()
            SearchService.json(r, into: &w)
            return w.text
        }
        let h = try run(["q": "mune reto", "limit": 3])
        let text = json(h)
        #expect(text.contains(#""retrieval":{"mode":"hybrid","fusion":"linear","window":1000,"lexical_candidates":"#), "\(text)")
        let v = try JSONValue.parse(text)
        let ri = try #require(v["retrieval"])
        #expect(ri["mode"]?.stringValue == "hybrid" && ri["fusion"]?.stringValue == "linear")
        #expect(ri["window"]?.numberValue == 1000)
        let lexCount = try run(["q": "mune reto", "retrieval": "lexical", "limit": 0]).total
        #expect(ri["lexical_candidates"]?.numberValue == Double(h.retrieval!.lexicalCandidates) && h.retrieval!.lexicalCandidates == lexCount)
        // The default kNN list: the 100 nearest (k), not the window's 1000.
        #expect(ri["vector_candidates"]?.numberValue == 100 && h.retrieval?.vectorCandidates == 100)
        #expect((ri["embed_us"]?.numberValue ?? -1) >= 0)
        #expect(v["hits"]?.arrayValue?.count == 3 && v["total"]?.numberValue == Double(h.total))

        let lin = json(try run(["q": "kato", "retrieval": ["mode": "hybrid", "fusion": "linear", "window": 30], "limit": 2]))
        #expect(lin.contains(#""retrieval":{"mode":"hybrid","fusion":"linear","window":30,"#), "\(lin)")
        #expect(lin.contains(#""vector_candidates":100,"#), "\(lin)")
        let rrf = json(try run(["q": "kato", "retrieval": ["mode": "hybrid", "fusion": "rrf", "window": 100], "limit": 2]))
        #expect(rrf.contains(#""retrieval":{"mode":"hybrid","fusion":"rrf","window":100,"#) && rrf.contains(#""vector_candidates":100,"#), "\(rrf)")
        // An explicit k: smaller, and larger than the window (k itself is not echoed, only the list's length).
        let k30 = json(try run(["q": "kato", "retrieval": ["mode": "hybrid", "k": 30], "limit": 2]))
        #expect(k30.contains(#""retrieval":{"mode":"hybrid","fusion":"linear","window":1000,"#) && k30.contains(#""vector_candidates":30,"#), "\(k30)")
        let k200 = json(try run(["q": "kato", "retrieval": ["mode": "hybrid", "window": 20, "k": 200], "limit": 2]))
        #expect(k200.contains(#""retrieval":{"mode":"hybrid","fusion":"linear","window":20,"lexical_candidates":20,"vector_candidates":200,"#), "\(k200)")
        let vec = json(try run(["q": "kato", "retrieval": "vector", "limit": 2]))
        #expect(vec.contains(#""retrieval":{"mode":"vector","window":1000,"lexical_candidates":0,"vector_candidates":400,"#), "\(vec)")
        // Vector retrieval takes the window's neighbours, whatever k says.
        let vecK = json(try run(["q": "kato", "retrieval": ["mode": "vector", "k": 30], "limit": 2]))
        #expect(vecK.contains(#""retrieval":{"mode":"vector","window":1000,"lexical_candidates":0,"vector_candidates":400,"#), "\(vecK)")
        let vec50 = json(try run(["q": "kato", "retrieval": ["mode": "vector", "window": 50], "limit": 2]))
        #expect(vec50.contains(#""retrieval":{"mode":"vector","window":50,"lexical_candidates":0,"vector_candidates":50,"#), "\(vec50)")
        let lex = json(try run(["q": "kato", "retrieval": "lexical", "limit": 2]))
        #expect(!lex.contains("retrieval"), "\(lex)")
    }
}
