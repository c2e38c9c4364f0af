import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

@Suite struct IndexingTests {
    @Test func sampleCatalogIsSearchable() throws {
        let (svc, summary, dir) = try buildIndex(corpus: fixture("sample-catalog.jsonl"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.documents == 60)
        #expect(summary.skipped == 0)
        // Stemming: "sofas" finds both sofas; title hits rank first.
        let sofas = try svc.ids("sofas")
        #expect(Set(sofas.prefix(2)) == ["S0001", "S0002"])
        // Accent folding: "cafe" and "creme brulee" match the accented titles.
        #expect(try svc.ids("cafe bistro") == ["S0055"])
        #expect(try svc.ids("creme brulee") == ["S0056"])
        // Possessive: "chefs" / "chef's".
        #expect(try svc.ids("chef's knife").first == "S0038")
        // Phrase vs words.
        #expect(try svc.ids(#""coffee table""#).sorted() == ["S0005", "S0006"])
        // Exclusion.
        #expect(!(try svc.ids("coffee -glass")).contains("S0006"))
        // Dynamic attribute fields became keyword fields.
        let s = svc.searcher
        #expect(s.schema.ordinal(of: "attributes.color") != nil)
        #expect(try svc.ids(#"attributes.color:"emerald green""#) == ["S0001"])
        // Stored fields come back.
        let hit = try svc.search({ var r = SearchRequest(q: "espresso"); r.fields = ["title", "price"]; return r }()).hits[0]
        #expect(hit.id == "S0034")
        #expect(hit.fields.contains { $0.name == "title" && $0.value == .string("Espresso Machine with Milk Frother") })
        #expect(hit.fields.contains { $0.name == "price" && $0.value == .int(399) })
        // Id lookup.
        #expect(try s.doc(forId: "S0034") == 33)
    }

    @Test func tsvCorpus() throws {
        let (svc, summary, dir) = try buildIndex(corpus: fixture("sample-products.tsv"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.documents == 4)
        #expect(try svc.ids("copper pipe") == ["H2"])
        #expect(try svc.ids("drill OR bulb", op: .and).sorted() == ["H1", "H4"])
    }

    func corpusFile(_ lines: [String], ext: String = "jsonl") -> String {
        let p = tempDir("corpus") + "/c." + ext
        writeFile(p, lines.joined(separator: "\n") + "\n")
        return p
    }

    static let good = #"{"id":"P1","title":"Blue sofa","description":"x","brand":"A","category":["F","S","T"],"category_path":"F > S > T","price":10,"rating":null,"review_count":0,"in_stock":true,"attributes":{"color":"blue"}}"#

    @Test(arguments: [
        (#"{"id":"P2","title":"Red sofa","category_path":"F","price":"cheap"}"#, "field price: expected a number"),
        (#"{"id":"P2","title":"Red sofa","category_path":"F","price":1,"in_stock":"maybe"}"#, "field in_stock: expected true or false"),
        (#"{"title":"No id","category_path":"F"}"#, "missing id"),
        (#"{"id":"P2","title":"Broken", "category_path": }"#, "invalid JSON at column"),
        (#"["not", "an", "object"]"#, "must be a JSON object"),
        (#"{"id":{"x":1},"title":"t","category_path":"F"}"#, "the id must be a string or a number"),
    ])
    func badLineIsReportedWithItsNumber(_ bad: String, _ fragment: String) throws {
        let path = corpusFile([Self.good, Self.good.replacingOccurrences(of: "P1", with: "P3"), bad, Self.good.replacingOccurrences(of: "P1", with: "P4")])
        do {
            _ = try buildIndex(corpus: path)
            Issue.record("bad line accepted: \(bad)")
        } catch let e as EngineError {
            #expect(e.description.contains("line 3"), "\(e)")
            #expect(e.description.contains(fragment), "\(e)")
        }
        // With skip-bad the rest is indexed and the bad line counted.
        let (svc, summary, dir) = try buildIndex(corpus: path, skipBad: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(summary.documents == 3)
        #expect(summary.skipped == 1)
        #expect(summary.badLines.first?.line == 3)
        #expect(svc.searcher.docCount == 3)
    }

    @Test func badLineLeavesNoIndexBehind() throws {
        let path = corpusFile([Self.good, "{oops"])
        let dir = tempDir("nothing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let c = try Corpus(path: path)
        var o = Indexer.Options(threads: 1)
        o.sync = false
        o.progress = false
        #expect(throws: EngineError.self) { _ = try Indexer(corpus: c, directory: dir, options: o).run(schema: c.schema) }
        #expect(throws: IndexError.self) { _ = try Searcher.open(directory: dir) }
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)).isEmpty)
    }

    @Test func tsvWithWrongColumnCount() throws {
        let path = tempDir("tsv") + "/p.tsv"
        writeFile(path, "id\ttitle\nA\tone\nB\ttwo\textra\n")
        #expect {
            _ = try buildIndex(corpus: path)
        } throws: { e in
            "\(e)".contains("line 3") && "\(e)".contains("expected 2 tab-separated columns, found 3")
        }
    }

    @Test func schemaFileErrorsAreClear() throws {
        let p = tempDir("schema") + "/s.json"
        writeFile(p, #"{"id_field": "id", "fields": [{"name": "id", "type": "keyword"}, {"name": "t", "type": "txet"}]}"#)
        #expect { _ = try Schemas.load(path: p) } throws: { "\($0)".contains("schema") && "\($0)".contains("fields") }
        writeFile(p, #"{"id_field": "id", "fields": [{"name": "id", "type": "keyword"}, {"name": "t", "type": "text", "boost": -1}]}"#)
        #expect { _ = try Schemas.load(path: p) } throws: { "\($0)".contains("boost must be a positive number") }
        writeFile(p, #"{"id_field": "id", "fields": [{"name": "id", "type": "keyword"}, {"name": "title", "type": "text", "analyzer": "plain", "boost": 2}]}"#)
        let s = try Schemas.load(path: p)
        #expect(s.fields[1].boost == 2)
    }

    @Test func parallelBuildMatchesSerialBuild() throws {
        // A corpus big enough to be split between two threads.
        var lines: [String] = []
        let words = ["sofa", "lamp", "oak", "blue", "rug", "desk", "chair", "steel", "glass", "wool"]
        for i in 0..<60_000 {
            let t = (0..<6).map { words[(i * 7 + $0 * 3) % words.count] }.joined(separator: " ")
            lines.append(#"{"id":"P\#(String(format: "%06d", i))","title":"\#(t) \#(i % 97)","description":"\#(String(repeating: "filler text ", count: 40))","brand":"B\#(i % 13)","category":["D","C","L\#(i % 5)"],"category_path":"D > C > L\#(i % 5)","price":\#(i % 500),"attributes":{"k\#(i % 3)":"v"}}"#)
        }
        let path = corpusFile(lines)
        let (a, sa, da) = try buildIndex(corpus: path, threads: 1)
        let (b, sb, db) = try buildIndex(corpus: path, threads: 2)
        defer { try? FileManager.default.removeItem(atPath: da); try? FileManager.default.removeItem(atPath: db) }
        #expect(sa.documents == 60_000 && sb.documents == 60_000)
        #expect(b.searcher.segments.count == 2)
        for q in ["sofa", "blue oak", "42", "lamp -rug", "\"oak blue\"", "b3"] {
            for op in [DefaultOperator.and, .or] {
                var r = SearchRequest(q: q, op: op, limit: 20)
                r.trackTotalHits = .exact
                let x = try a.search(r), y = try b.search(r)
                #expect(x.total == y.total, "\(q)")
                #expect(x.hits.map { $0.id } == y.hits.map { $0.id }, "\(q)")
                #expect(zip(x.hits, y.hits).allSatisfy { abs($0.score - $1.score) < 1e-4 })
            }
        }
        // Every document keeps its place: doc numbers follow the file.
        for d in stride(from: 0, to: 60_000, by: 7919) { #expect(try b.searcher.id(of: d) == String(format: "P%06d", d)) }
    }
}
