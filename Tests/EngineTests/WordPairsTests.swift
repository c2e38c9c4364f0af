import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Word pairs (`PairTerms`, `FieldDefinition.pairs`) change how the proximity bonus is found, never
/// what a search returns: the sample catalog indexed with and without them gives the same hits with
/// the same scores under default ranking, for AND and OR searches of words taken side by side, apart
/// and reversed from its products.
@Suite struct WordPairsTests {
    static func build(pairs: Bool?) throws -> (SearchService, String) {
        let dir = tempDir("pairs")
        let c = try Corpus(path: fixture("sample-catalog.jsonl"))
        var opts = Indexer.Options(threads: 1)
        opts.sync = false
        opts.progress = false
        _ = try Indexer(corpus: c, directory: dir, options: opts).run(schema: Schemas.withPairs(c.schema, pairs))
        return (try SearchService(searcher: try Searcher.open(directory: dir)), dir)
    }

    @Test func searchesAreTheSameWithAndWithoutPairs() throws {
        let (on, dirOn) = try Self.build(pairs: nil)   // the default for the product analyzer: on
        let (off, dirOff) = try Self.build(pairs: false)
        defer { try? FileManager.default.removeItem(atPath: dirOn); try? FileManager.default.removeItem(atPath: dirOff) }
        #expect(on.searcher.layout.textGroups.allSatisfy { $0.pairs }, "product fields index pairs by default")
        #expect(!off.searcher.layout.textGroups.contains { $0.pairs })

        var rng = SystemRandomNumberGenerator()
        var seed = UInt64.random(in: 0..<1_000_000, using: &rng)
        if let s = ProcessInfo.processInfo.environment["AISLE_TEST_SEED"].flatMap(UInt64.init) { seed = s }
        var g = SeededGenerator(seed: seed)
        let lines = try String(contentsOfFile: fixture("sample-catalog.jsonl"), encoding: .utf8).split(separator: "\n")
        var texts: [[String]] = []
        for l in lines {
            guard let v = try? JSONValue.parse(String(l)) else { continue }
            for k in ["title", "description"] {
                guard let s = v[k]?.stringValue else { continue }
                texts.append(s.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "." }).map(String.init))
            }
        }
        #expect(texts.count > 60)
        let noProximity = try RankingPatch.parse(JSONValue.parse("{\"proximity_boost\": 0}"))
        var compared = 0, bonusChangedPage = 0
        for i in 0..<300 {
            let words = texts[Int(g.next() % UInt64(texts.count))]
            guard words.count >= 2 else { continue }
            let n = min(words.count, 2 + Int(g.next() % 3))
            let start = Int(g.next() % UInt64(words.count - n + 1))
            var q = Array(words[start..<(start + n)])
            if i % 4 == 1 { q.reverse() }
            if i % 4 == 2, let extra = texts[Int(g.next() % UInt64(texts.count))].first { q.insert(extra, at: 1) }
            for op in [DefaultOperator.and, .or] {
                var r = SearchRequest(q: q.joined(separator: " "), op: op, limit: 10)
                let a = try on.search(r), b = try off.search(r)
                #expect(a.hits.map { $0.id } == b.hits.map { $0.id } && a.hits.map { $0.score } == b.hits.map { $0.score },
                        "seed \(seed): \(r.q) (\(op))")
                #expect(a.total == b.total, "seed \(seed): \(r.q) (\(op))")
                compared += 1
                r.ranking = noProximity
                if try on.search(r).hits.map({ $0.score }) != a.hits.map({ $0.score }) { bonusChangedPage += 1 }
            }
        }
        #expect(compared > 400, "seed \(seed)")
        // The bonus is at work: it changes many of these pages.
        #expect(bonusChangedPage > 50, "seed \(seed): \(bonusChangedPage) pages changed by proximity")
    }

    @Test func theIndexCommandSwitchesPairs() throws {
        #expect(Schemas.withDefaultPairs(Schemas.withAnalyzer(Schemas.catalog, "plain")).fields.allSatisfy { $0.pairs != true })
        let product = Schemas.withDefaultPairs(Schemas.withDefaultAnalyzer(Schemas.catalog))
        #expect(product.fields.filter { $0.type == .text }.allSatisfy { $0.pairs == true })
        // A schema that says no keeps it.
        #expect(Schemas.withDefaultPairs(Schemas.withPairs(Schemas.catalog, false)).fields.allSatisfy { $0.pairs != true })
        // `pairs` on a keyword field is an error naming the field.
        var bad = Schemas.catalog
        let brand = bad.fields.firstIndex { $0.type == .keyword }!
        bad.fields[brand].pairs = true
        #expect(throws: IndexError.self) { try SchemaLayout(bad) }
    }
}
