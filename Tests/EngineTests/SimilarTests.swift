import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// "More like this" against a brute-force oracle over a random catalog whose title, brand and
/// category words come from disjoint vocabularies the analyzer leaves alone: every widening step's
/// products are computed from the file, and the answer must take them step by step.
@Suite struct SimilarTests {
    struct Product {
        var id: String, title: [String], category: String, price: Double, inStock: Bool
    }

    static let titleWords = ["kato", "mune", "reto", "sabo", "tiko", "vemo", "wuzo", "yalo", "zeno", "bito", "caro", "dufo", "fegu", "gilo"]
    static let categories = ["Ardo > Bemo", "Ardo > Celo", "Domo > Efo", "Domo > Efo > Gado"]

    static let built: (SearchService, [Product]) = {
        var g = SeededGenerator(seed: 1907)
        var products: [Product] = []
        var lines: [String] = []
        for i in 0..<400 {
            let n = Int.random(in: 2...5, using: &g)
            let title = (0..<n).map { _ in titleWords[Int(pow(Double.random(in: 0..<1, using: &g), 2) * Double(titleWords.count))] }
            let cat = categories.randomElement(using: &g)!
            let price = Double(Int.random(in: 100...20_000, using: &g)) / 100
            let p = Product(id: String(format: "P%04d", i), title: title, category: cat, price: price, inStock: Int.random(in: 0..<4, using: &g) > 0)
            products.append(p)
            let obj: [String: Any] = ["id": p.id, "title": title.joined(separator: " "), "brand": "Qux", "category": cat.components(separatedBy: " > "),
                                      "category_path": cat, "price": price, "in_stock": p.inStock]
            lines.append(String(decoding: try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        }
        let dir = tempDir("similar")
        let path = dir + "/catalog.jsonl"
        writeFile(path, lines.joined(separator: "\n") + "\n")
        let (svc, _, _) = try! buildIndex(corpus: path)
        return (svc, products)
    }()

    /// The products each widening step may add, in order (the product itself excluded).
    static func steps(of p: Product, words: [String], in all: [Product], factor: Double) -> [Set<String>] {
        let others = all.filter { $0.id != p.id && $0.inStock }
        // The category filter takes the path and below.
        func sameCategory(_ o: Product) -> Bool { o.category == p.category || o.category.hasPrefix(p.category + " > ") }
        func sharesWord(_ o: Product) -> Bool { !Set(o.title).isDisjoint(with: words) }
        func close(_ o: Product) -> Bool { o.price >= p.price / factor && o.price <= p.price * factor }
        return [
            Set(others.filter { sameCategory($0) && close($0) && sharesWord($0) }.map(\.id)),
            Set(others.filter { sameCategory($0) && sharesWord($0) }.map(\.id)),
            Set(others.filter { sameCategory($0) }.map(\.id)),
            Set(others.filter { sharesWord($0) }.map(\.id)),
        ]
    }

    @Test func similarTakesEachWideningStepInOrder() throws {
        let (svc, products) = Self.built
        var checkedFull = 0
        for p in products.prefix(120) {
            for limit in [3, 8] {
                guard let r = try svc.similar(SimilarRequest(id: p.id, limit: limit)) else {
                    Issue.record("no answer for \(p.id)")
                    continue
                }
                let ids = r.hits.map(\.id)
                #expect(!ids.contains(p.id))
                #expect(Set(ids).count == ids.count, "duplicates for \(p.id): \(ids)")
                // The words: the title's, rarest first (no word only this product has).
                #expect(Set(r.words).isSubset(of: Set(p.title)), "\(r.words) not from \(p.title)")
                let df = { (w: String) in products.filter { $0.title.contains(w) }.count }
                #expect(r.words.map(df) == r.words.map(df).sorted(), "\(p.id): \(r.words) not rarest first")
                #expect(r.words.allSatisfy { df($0) >= 2 })
                let steps = Self.steps(of: p, words: r.words, in: products, factor: 2)
                let union = steps.reduce(into: Set<String>()) { $0.formUnion($1) }
                #expect(ids.count == min(limit, union.count), "\(p.id) limit \(limit): \(ids.count) of \(union.count)")
                // Each product comes from the first step that has it, and steps are taken in order.
                let stepOf = ids.map { id in steps.firstIndex { $0.contains(id) } ?? -1 }
                #expect(!stepOf.contains(-1), "\(p.id): a product no step allows: \(zip(ids, stepOf).filter { $0.1 == -1 })")
                #expect(stepOf == stepOf.sorted(), "\(p.id): steps out of order \(stepOf)")
                // A step is exhausted before the next one is used.
                if let last = stepOf.last {
                    for k in 0..<last { #expect(steps[k].subtracting(steps[0..<k].reduce(into: Set<String>()) { $0.formUnion($1) }).isSubset(of: Set(ids))) }
                }
                if steps[0].count >= limit { checkedFull += 1 }
            }
        }
        #expect(checkedFull > 10, "too few products had a full first step (\(checkedFull)); the catalog does not test the price band")
        #expect(try svc.similar(SimilarRequest(id: "nope", limit: 3)) == nil)
    }

    /// Words in too many products are not searched, unless no other word is left (then the
    /// rarest one is).
    @Test func tooCommonWordsAreLeftOut() throws {
        let (svc, products) = Self.built
        let df = { (w: String) in products.filter { $0.title.contains(w) }.count }
        var limited = 0
        // The median word's frequency: half the vocabulary is "too common".
        let dfs = Self.titleWords.map(df).sorted()
        let threshold = dfs[dfs.count / 2]
        for p in products.prefix(80) {
            var r = SimilarRequest(id: p.id, limit: 5)
            r.minCommonDocs = threshold
            r.maxWordShare = 0
            let res = try #require(try svc.similar(r))
            let telling = Set(p.title).filter { df($0) >= 2 && df($0) <= threshold }
            if telling.isEmpty {
                #expect(res.words.count == 1 && res.words.allSatisfy { w in p.title.allSatisfy { df($0) < 2 || df($0) >= df(w) } }, "\(p.title): \(res.words)")
                limited += 1
            } else {
                #expect(Set(res.words) == telling || (res.words.count == 5 && Set(res.words).isSubset(of: telling)), "\(p.title): \(res.words)")
            }
            #expect(!res.hits.contains { $0.id == p.id })
        }
        #expect(limited > 0 && limited < 80, "the catalog should have titles of common words only, and others: \(limited)")
    }

    @Test func excludedProductsAndBadLimits() throws {
        let (svc, products) = Self.built
        let p = products[0]
        let first = try #require(try svc.similar(SimilarRequest(id: p.id, limit: 5)))
        let dropped = Set(first.hits.prefix(2).map(\.id))
        let again = try #require(try svc.similar(SimilarRequest(id: p.id, limit: 5, exclude: dropped)))
        #expect(again.hits.allSatisfy { !dropped.contains($0.id) })
        #expect(again.hits.allSatisfy { h in products.first { $0.id == h.id }!.inStock })
        for bad in [0, SimilarRequest.maxLimit + 1] {
            #expect(throws: EngineError.self) { try svc.similar(SimilarRequest(id: p.id, limit: bad)) }
        }
    }
}

/// SplitMix64, for a repeatable catalog.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
