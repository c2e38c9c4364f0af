import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Fields of type `stored`: kept for display as they were sent (scalars, lists, objects as JSON
/// text), never indexed, refused by filters, facets and field queries with a clear message, and
/// kept through merges and reopening.
@Suite struct StoredFieldTests {
    static let schema = Schema(idField: "id", fields: [
        FieldDefinition(name: "id", type: .keyword, stored: true),
        FieldDefinition(name: "title", type: .text, stored: true),
        FieldDefinition(name: "note", type: .stored),
        FieldDefinition(name: "extra", type: .stored),
        FieldDefinition(name: "price", type: .numeric),
    ])

    @Test func storedOnlyFieldsKeepWhatWasSentAndAreNotSearchable() throws {
        try Self.schema.validate()
        let dir = tempDir("stored-only")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        o.backgroundMerges = false
        let live = try LiveIndex.create(directory: dir, schema: Self.schema, options: o)
        let u = try IndexUpdater(index: live)
        func apply(_ line: String) throws {
            var b = Array(line.utf8)
            _ = try b.withUnsafeMutableBufferPointer { try u.apply(line: UnsafeBufferPointer($0)) }
        }
        try apply(#"{"op":"upsert","id":"A","title":"red sofa","note":"zebra stripes \"quoted\"","extra":{"size":[1,2.5],"ok":true,"name":"ü"},"price":3}"#)
        try live.commit()
        try apply(#"{"op":"upsert","id":"B","title":"blue lamp","note":42,"extra":["x","y"]}"#)
        try apply(#"{"op":"upsert","id":"C","title":"green chair","note":2.5,"extra":[{"k":1}]}"#)
        try apply(#"{"op":"upsert","id":"D","title":"plain table","note":true}"#)
        try live.commit()

        func check(_ s: Searcher, _ label: String) throws {
            func stored(_ id: String) throws -> [String: StoredValue] {
                let d = try #require(try s.doc(forId: id), "\(label): \(id) missing")
                return Dictionary(try s.storedFields(of: d).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            }
            let a = try stored("A")
            #expect(a["note"] == .string(#"zebra stripes "quoted""#), "\(label)")
            guard case .string(let json)? = a["extra"] else { Issue.record("\(label): extra of A is \(String(describing: a["extra"]))"); return }
            #expect(try JSONValue.parse(json) == JSONValue.parse(#"{"size":[1,2.5],"ok":true,"name":"ü"}"#), "\(label): \(json)")
            let b = try stored("B")
            #expect(b["note"] == .int(42) && b["extra"] == .list([.string("x"), .string("y")]), "\(label)")
            let c = try stored("C")
            #expect(c["note"] == .double(2.5), "\(label)")
            if case .string(let j)? = c["extra"] { #expect(try JSONValue.parse(j) == JSONValue.parse(#"[{"k":1}]"#)) } else { Issue.record("\(label): extra of C") }
            #expect(try stored("D")["note"] == .bool(true) && stored("D")["extra"] == nil, "\(label)")
            // Not indexed: a word only in a stored field finds nothing; the title still does.
            let svc = try SearchService(searcher: s)
            #expect(try svc.ids("zebra", op: .or).isEmpty, "\(label)")
            #expect(try svc.ids("sofa") == ["A"], "\(label)")
            // Refused with a message naming the field, not silently ignored.
            // A field query on it is a syntax problem: the lenient fallback searches the plain words
            // (and finds nothing, as they are not indexed) and says so.
            let fieldQuery = try svc.search(SearchRequest(q: "note:zebra"))
            #expect(fieldQuery.lenientSyntax && fieldQuery.total == 0, "\(label)")
            var strict = SearchRequest(q: "note:zebra")
            strict.syntax = .strict
            let strictError = failure { _ = try svc.search(strict) }
            #expect(strictError?.contains("display only") == true, "\(label): \(strictError ?? "accepted")")
            var filtered = SearchRequest(q: "sofa")
            filtered.filters = [FilterRequest(field: "note", .values(["zebra"]))]
            #expect(failure { _ = try svc.search(filtered) }?.contains("display only") == true, "\(label)")
            var faceted = SearchRequest(q: "sofa")
            faceted.facets = [FacetRequest(name: "note")]
            #expect(failure { _ = try svc.search(faceted) }?.contains("display only") == true, "\(label)")
            // Returned with the hit when asked for.
            var withFields = SearchRequest(q: "sofa")
            withFields.fields = ["note"]
            #expect(try svc.search(withFields).hits.first?.fields.first { $0.name == "note" }?.value == .string(#"zebra stripes "quoted""#), "\(label)")
        }
        try check(try live.refresh(), "two segments")
        try live.forceMerge()
        try live.commit()
        try check(live.searcher, "merged")
        live.close()
        try check(try Searcher.open(directory: dir), "reopened")
    }

    @Test func schemaRulesForStoredFields() throws {
        func problem(_ f: FieldDefinition) -> String? {
            failure { try Schema(idField: "id", fields: [FieldDefinition(name: "id", type: .keyword), f]).validate() }
        }
        #expect(problem(FieldDefinition(name: "raw.*", type: .stored))?.contains("patterns") == true)
        #expect(problem(FieldDefinition(name: "raw", type: .stored, docValues: true))?.contains("no doc values") == true)
        #expect(problem(FieldDefinition(name: "raw", type: .stored, analyzer: "english"))?.contains("analyzer") == true)
        #expect(problem(FieldDefinition(name: "raw", type: .stored, min: 0))?.contains("numeric") == true)
        #expect(problem(FieldDefinition(name: "raw", type: .stored)) == nil)
        // In a schema file it is "type": "stored".
        let json = try JSONEncoder().encode(Self.schema)
        let back = try JSONDecoder().decode(Schema.self, from: json)
        #expect(back == Self.schema && back.fields[2].type == .stored && back.fields[2].isStored && !back.fields[2].hasDocValues)
    }
}

/// The message of the error `body` throws (nil: it did not throw).
private func failure(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}
