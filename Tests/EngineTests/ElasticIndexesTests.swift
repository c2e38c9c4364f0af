import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// The indexes of the Elasticsearch-compatible API: created from a mapping under a data
/// directory, documents built with `_source` kept byte for byte, strict mappings, names, reopening
/// and deleting.
@Suite struct ElasticIndexesTests {
    static let mapping = try! JSONValue.parse(#"""
    {"mappings": {"dynamic": "strict", "properties": {
      "name": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
      "price": {"type": "double"},
      "dims": {"properties": {"width": {"type": "float"}}}}}}
    """#)

    func add(_ index: ElasticIndex, _ id: String, _ json: String) throws {
        let bytes = Array(json.utf8)
        let doc = try bytes.withUnsafeBufferPointer { try index.document(id: id, source: $0) }
        try index.serving.live!.upsert(doc)
    }

    func error(_ body: () throws -> Void) -> ElasticError? {
        do { try body(); return nil } catch let e as ElasticError { return e } catch { return ElasticError("unexpected", "\(error)") }
    }

    @Test func createIndexDocumentsReopenAndDelete() throws {
        let dir = tempDir("es-indexes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = ServingIndex.Options()
        o.live.sync = false
        var reg = try ElasticIndexes(directory: dir, options: o)
        let products = try reg.create("products", body: Self.mapping)
        #expect(reg.names == ["products"] && products.definition.strict)
        let sent = #"{"name": "Red  Sofa", "price": 499.5, "dims": {"width": 2.1}, "name_note": null}"#
        // Strict: an unmapped field is refused by name; a mapped object is fine.
        #expect(error { try add(products, "1", sent) }?.type == "strict_dynamic_mapping_exception")
        let ok = #"{"name": "Red  Sofa", "price": 499.5, "dims": {"width": 2.1}}"#
        try add(products, "1", ok)
        try add(products, "2", #"{"name": "Blue Lamp", "price": 20}"#)
        let inner = error { try add(products, "3", #"{"name": "x", "dims": {"depth": 3}}"#) }
        #expect(inner?.type == "strict_dynamic_mapping_exception" && inner?.reason.contains("[depth] within [dims]") == true, "\(String(describing: inner))")
        #expect(error { try add(products, "4", #"{"_id": "4", "name": "x"}"#) }?.type == "document_parsing_exception")
        #expect(error { try add(products, "5", #"{"price": "cheap"}"#) }?.type == "document_parsing_exception")
        #expect(error { try add(products, "6", #"[1]"#) }?.type == "document_parsing_exception")
        let s = try products.serving.live!.refresh()
        let d1 = try #require(try s.doc(forId: "1"))
        #expect(try s.storedFields(of: d1).first { $0.name == "_source" }?.value == .string(ok), "_source is the document as sent")
        #expect(try products.service.ids("sofa") == ["1"])
        var r = SearchRequest(q: "")
        r.filters = [FilterRequest(field: "name", .values(["Blue Lamp"]))]
        #expect(try products.service.search(r).hits.map(\.id) == ["2"])
        try products.serving.live!.commit()
        // Names, duplicates.
        #expect(error { try reg.create("products", body: nil) }?.type == "resource_already_exists_exception")
        for bad in ["Products", "_x", "-x", "a b", "a/b", "a*", ".", "..", "", String(repeating: "a", count: 256)] {
            #expect(error { try reg.create(bad, body: nil) }?.type == "invalid_index_name_exception", "\(bad.prefix(20))")
        }
        #expect(error { try reg.create("bad-mapping", body: try JSONValue.parse(#"{"mappings": {"properties": {"a": {"type": "nested"}}}}"#)) }?.type == "mapper_parsing_exception")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad-mapping"), "a refused mapping leaves nothing behind")
        // Reopened (as a restarted server would): the same index, uuid and documents.
        let uuid = products.uuid
        reg.close()
        try FileManager.default.createDirectory(atPath: dir + "/.creating-leftover", withIntermediateDirectories: false)
        reg = try ElasticIndexes(directory: dir, options: o)
        let again = try reg.index("products")
        #expect(again.uuid == uuid && again.definition.strict && reg.names == ["products"])
        #expect(try again.service.ids("lamp") == ["2"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/.creating-leftover"), "a half-made index is swept at start")
        // Deleted: gone, files removed, 404 afterwards.
        try reg.delete("products")
        #expect(reg.names.isEmpty && !FileManager.default.fileExists(atPath: dir + "/products"))
        let missing = error { _ = try reg.index("products") }
        #expect(missing?.type == "index_not_found_exception" && missing?.status == 404)
        #expect(error { try reg.delete("products") }?.status == 404)
        reg.close()
        // A data directory that is a file: a clear error, nothing created.
        let file = dir + "/plain-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        var message = ""
        do { _ = try ElasticIndexes(directory: file, options: o) } catch { message = "\(error)" }
        #expect(message.contains("exists and is not a directory"), "\(message)")
    }
}
