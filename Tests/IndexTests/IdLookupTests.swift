import Foundation
import Testing
@testable import AisleIndex

@Suite struct IdLookupTests {
    func build(ids: [String], perSegment: Int, merge: Bool) throws -> (Searcher, String) {
        let dir = temporaryDirectory("ids")
        let schema = Schema(idField: "id", fields: [
            FieldDefinition(name: "id", type: .keyword, stored: true),
            FieldDefinition(name: "title", type: .text, analyzer: "plain", stored: true),
        ])
        let w = try IndexWriter(creating: dir, schema: schema, options: .init(sync: false, maxDocsPerSegment: perSegment))
        var doc = IndexDocument()
        for (i, id) in ids.enumerated() {
            doc.reset()
            doc.id = id
            doc.addToken(field: 1, term: "t\(i % 7)", position: 0)
            doc.addStored(field: 0, value: .string(id))
            try w.add(doc)
        }
        try w.commit()
        if merge { try w.forceMerge() }
        return (try Searcher.open(directory: dir), dir)
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everyIdIsFound(sorted: Bool, merge: Bool) throws {
        var rng = SeededRandom(seed: 7)
        var ids = (0..<500).map { String(format: "SKU-%05d", $0 * 3) }
        if !sorted { ids.shuffle(using: &rng) }
        let (s, dir) = try build(ids: ids, perSegment: 130, merge: merge)
        defer { removeDirectory(dir) }
        if sorted { #expect(s.segments.allSatisfy { $0.meta.idsSorted }) }
        for (d, id) in ids.enumerated() {
            #expect(try s.doc(forId: id) == d, "id \(id)")
            #expect(try s.id(of: d) == id)
        }
        for missing in ["SKU-00001", "", "SKU-99999", "A", "ZZZ"] { #expect(try s.doc(forId: missing) == nil) }
    }
}
