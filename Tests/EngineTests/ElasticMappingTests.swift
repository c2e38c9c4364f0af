import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Elasticsearch mappings and settings → an Aisle schema: what maps to what, what is reported as
/// ignored, what is refused by name; and the schema it gives indexes and searches as mapped.
@Suite struct ElasticMappingTests {
    static let body = #"""
    {"settings": {"number_of_shards": 1, "index": {"number_of_replicas": 0, "refresh_interval": "500ms"}},
     "mappings": {"dynamic": "strict", "properties": {
       "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
       "description": {"type": "text", "analyzer": "english"},
       "brand": {"type": "keyword"},
       "price": {"type": "scaled_float", "scaling_factor": 100},
       "stock": {"type": "integer"},
       "in_stock": {"type": "boolean"},
       "created": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
       "dims": {"properties": {"width": {"type": "float"}, "unit": {"type": "keyword"}}},
       "title": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "english"}}}
     }}}
    """#

    static func definition(_ text: String) throws -> ElasticIndexDefinition {
        try ElasticMapping.definition(try JSONValue.parse(text))
    }

    @Test func aTypicalMappingBecomesASchema() throws {
        let d = try Self.definition(Self.body)
        let byName = Dictionary(uniqueKeysWithValues: d.schema.fields.map { ($0.name, $0) })
        #expect(d.schema.idField == "_id" && byName["_id"]?.type == .keyword && byName["_source"]?.type == .stored)
        #expect(byName["name"] == FieldDefinition(name: "name", type: .text, analyzer: "product", keyword: true, source: "name"))
        #expect(byName["description"]?.analyzer == "english")
        #expect(byName["brand"]?.type == .keyword)
        #expect(byName["price"]?.type == .numeric && byName["price"]?.min == nil)
        #expect(byName["stock"]?.min == -2_147_483_648 && byName["stock"]?.max == 2_147_483_647)
        #expect(byName["in_stock"]?.type == .boolean)
        #expect(byName["created"]?.isDate == true)
        #expect(byName["dims.width"]?.type == .numeric && byName["dims.width"]?.source == "dims.width" && byName["dims.unit"]?.type == .keyword)
        #expect(byName["title"]?.type == .keyword && byName["title.text"] == FieldDefinition(name: "title.text", type: .text, analyzer: "english", source: "title"))
        #expect(byName["name.keyword"] == nil, "a plain keyword multi-field is the text field's keyword side")
        #expect(d.fields["name.keyword"] == ElasticField(field: "name", role: .keyword))
        #expect(d.fields["name"] == ElasticField(field: "name", role: .text))
        #expect(d.fields["created"]?.role == .date && d.fields["_id"]?.role == .id && d.fields["title.text"]?.role == .text)
        #expect(d.strict && d.refreshInterval == 0.5)
        for fragment in ["settings.index.number_of_shards", "settings.index.number_of_replicas", "name.keyword.ignore_above", "price.scaling_factor"] {
            #expect(d.ignored.contains { $0.hasPrefix(fragment) }, "\(fragment) not reported: \(d.ignored)")
        }
        #expect(d.mappings == (try JSONValue.parse(Self.body))["mappings"])
        #expect(try Self.definition("{}").schema.fields.map(\.name) == ["_id", "_source"])
        #expect(try ElasticMapping.definition(nil).fields.count == 1)
    }

    /// `index_phrases` (two-word shingles in Elasticsearch) is Aisle's word pairs; off by default, as
    /// in Elasticsearch. A group of fields uses them when all its fields have them.
    @Test func indexPhrasesAreWordPairs() throws {
        let on = try Self.definition(#"{"mappings": {"properties": {"a": {"type": "text", "index_phrases": true}, "b": {"type": "text", "index_phrases": true}}}}"#)
        #expect(on.schema.fields.filter { $0.type == .text }.allSatisfy { $0.pairs == true })
        #expect(try SchemaLayout(on.schema).textGroups.allSatisfy { $0.pairs })
        let mixed = try Self.definition(#"{"mappings": {"properties": {"a": {"type": "text", "index_phrases": true}, "b": {"type": "text"}}}}"#)
        #expect(try SchemaLayout(mixed.schema).textGroups.allSatisfy { !$0.pairs }, "b has none: the group reads positions")
        let off = try Self.definition(#"{"mappings": {"properties": {"a": {"type": "text", "index_phrases": false}}}}"#)
        #expect(off.schema.fields.first { $0.name == "a" }?.pairs == false)
        #expect(throws: ElasticError.self) { try Self.definition(#"{"mappings": {"properties": {"a": {"type": "text", "index_phrases": "yes"}}}}"#) }
    }

    @Test(arguments: [
        (#"{"mappings": {"properties": {"a": {"type": "nested"}}}}"#, "mapper_parsing_exception", "does not support field type [nested]"),
        (#"{"mappings": {"properties": {"a": {"type": "foo"}}}}"#, "mapper_parsing_exception", "No handler for type [foo] declared on field [a]"),
        (#"{"mappings": {"properties": {"a": {"type": "text", "bogus": 1}}}}"#, "mapper_parsing_exception", "unknown parameter [bogus] on mapper [a] of type [text]"),
        (#"{"mappings": {"properties": {"_a": {"type": "text"}}}}"#, "mapper_parsing_exception", "[_a] is not allowed"),
        (#"{"mappings": {"properties": {"a": {"analyzer": "english"}}}}"#, "mapper_parsing_exception", "No type specified for field [a]"),
        (#"{"mappings": {"properties": {"a": {"type": "keyword", "copy_to": "b"}}}}"#, "mapper_parsing_exception", "[copy_to] on field [a]"),
        (#"{"mappings": {"properties": {"a": {"type": "text", "analyzer": "klingon"}}}}"#, "mapper_parsing_exception", "analyzer [\"klingon\"]"),
        (#"{"mappings": {"properties": {"a": {"type": "date", "format": "dd/MM/yyyy"}}}}"#, "mapper_parsing_exception", "date format"),
        (#"{"mappings": {"_source": {"enabled": false}}}"#, "mapper_parsing_exception", "_source"),
        (#"{"mappings": {"doc": {"properties": {}}}}"#, "mapper_parsing_exception", "Root mapping definition has unsupported parameters: [doc"),
        (#"{"settings": {"analysis": {"analyzer": {"x": {"type": "custom"}}}}}"#, "illegal_argument_exception", "custom analysis"),
        (#"{"settings": {"index.foo": 1}}"#, "illegal_argument_exception", "unknown setting [index.foo]"),
        (#"{"settings": {"refresh_interval": "soon"}}"#, "illegal_argument_exception", "index.refresh_interval"),
        (#"{"aliases": {"x": {}}}"#, "illegal_argument_exception", "aliases"),
        (#"{"mapping": {}}"#, "parsing_exception", "unknown key [mapping]"),
        (#"[1]"#, "parsing_exception", "JSON object"),
    ])
    func refusalsNameWhatIsNotSupported(_ c: (String, String, String)) throws {
        do {
            _ = try Self.definition(c.0)
            Issue.record("accepted: \(c.0)")
        } catch let e as ElasticError {
            #expect(e.type == c.1 && e.reason.contains(c.2) && e.status == 400, "\(c.0): \(e)")
        }
    }

    @Test func intervals() {
        #expect(ElasticMapping.interval(.string("1s")) == 1 && ElasticMapping.interval(.string("250ms")) == 0.25)
        #expect(ElasticMapping.interval(.string("2m")) == 120 && ElasticMapping.interval(.string("-1")) == -1)
        #expect(ElasticMapping.interval(.number(1500)) == 1.5 && ElasticMapping.interval(.string("x")) == nil)
        // Out of range is refused, never a huge or negative interval.
        for bad: JSONValue in [.string("1e300s"), .string("90000s"), .string("-5s"), .number(-5), .number(1e300), .string("nan"), .string("infs")] {
            #expect(ElasticMapping.interval(bad) == nil, "\(bad.jsonText)")
        }
        #expect(ElasticMapping.interval(.number(-1)) == -1 && ElasticMapping.interval(.string("1d")) == nil)
    }

    /// The schema indexes documents as the mapping says: text searched, the keyword side and
    /// multi-fields filterable, dates and nested object numbers in ranges.
    @Test func theSchemaIndexesAndSearchesAsMapped() throws {
        let d = try Self.definition(Self.body)
        let dir = tempDir("es-mapping")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let live = try LiveIndex.create(directory: dir, schema: d.schema, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        func apply(_ line: String) throws {
            var b = Array(line.utf8)
            _ = try b.withUnsafeMutableBufferPointer { try u.apply(line: UnsafeBufferPointer($0)) }
        }
        try apply(#"{"op":"upsert","_id":"1","name":"Red Velvet Sofa","brand":"Acme","price":499.99,"created":"2026-12-01","dims":{"width":2.1,"unit":"m"},"title":"Sofas and couches"}"#)
        try apply(#"{"op":"upsert","_id":"2","name":"Blue Sofa","brand":"Zeta","price":299,"created":"2026-11-01T08:00:00Z","dims":{"width":1.8,"unit":"m"},"title":"Sofas"}"#)
        try apply(#"{"op":"upsert","_id":"3","name":"Red Lamp","brand":"Acme","price":39.5,"created":1764979200000,"title":"Lamps"}"#)
        let svc = try SearchService(searcher: try live.refresh())
        #expect(Set(try svc.ids("sofa")) == ["1", "2"])
        #expect(Set(try svc.ids("couch")) == ["1"], "title.text is analysed with english")
        var r = SearchRequest(q: "red")
        r.filters = [FilterRequest(field: "name", .values(["Red Lamp"]))]   // name.keyword
        #expect(try svc.search(r).hits.map(\.id) == ["3"])
        r = SearchRequest(q: "sofa")
        r.filters = [FilterRequest(field: "created", .range(min: DateValue.epochMilliseconds("2026-11-15"), max: nil))]
        #expect(try svc.search(r).hits.map(\.id) == ["1"])
        r = SearchRequest(q: "sofa")
        r.filters = [FilterRequest(field: "dims.width", .range(min: 2, max: nil)), FilterRequest(field: "dims.unit", .values(["m"]))]
        #expect(try svc.search(r).hits.map(\.id) == ["1"])
        var bad: String?
        do { try apply(#"{"op":"upsert","_id":"4","name":"x","stock":3000000000}"#) } catch { bad = "\(error)" }
        #expect(bad?.contains("stock must be at most 2147483647") == true, "\(bad ?? "accepted")")
    }
}

/// Text fields with different analyzers form several text groups; plain words are then searched
/// in each (a regression: with ranking features on, such a search recursed until the stack
/// overflowed, for any schema with two analyzers).
@Suite struct SeveralTextGroupsTests {
    @Test func plainWordsSearchEveryGroup() throws {
        let schema = Schema(idField: "id", fields: [
            FieldDefinition(name: "id", type: .keyword, stored: true),
            FieldDefinition(name: "name", type: .text, analyzer: "english"),
            FieldDefinition(name: "note", type: .text, analyzer: "standard"),
        ])
        let dir = tempDir("two-groups")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let live = try LiveIndex.create(directory: dir, schema: schema, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        for line in [#"{"id":"1","name":"Red Sofas","note":"a chair"}"#, #"{"id":"2","name":"Lamp","note":"sofa cover"}"#,
                     #"{"id":"3","name":"Table","note":"oak"}"#] {
            var b = Array(("{\"op\":\"upsert\"," + line.dropFirst()).utf8)
            _ = try b.withUnsafeMutableBufferPointer { try u.apply(line: UnsafeBufferPointer($0)) }
        }
        let svc = try SearchService(searcher: try live.refresh())
        #expect(Set(try svc.ids("sofa", op: .or)) == ["1", "2"], "english stems sofas; standard matches sofa")
        #expect(try svc.ids("red chair") == ["1"])
        #expect(Set(try svc.ids("sofa OR oak", op: .or)) == ["1", "2", "3"])
        #expect(try svc.ids("\"sofa cover\"") == ["2"])
        #expect(try svc.ids("sofa -cover", op: .or) == ["1"])
    }
}
