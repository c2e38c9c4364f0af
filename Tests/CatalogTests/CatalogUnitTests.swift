import Foundation
import Testing
import AisleCatalog
import AisleEngine

/// The catalog's value types and the libbson file store (no server needed).
@Suite struct CatalogUnitTests {
    @Test func productRendersAsACatalogRecordTheEngineReads() throws {
        let p = ProductRecord(id: "P\"1", sku: "SKU-1", title: "Oak \"Bench\"\n2", description: "tab\there \\ back", brand: "Acme",
                              category: ["Furniture", "Benches"], price: "129.50", currency: "USD", rating: "4.5",
                              reviewCount: 12, available: 3, reserved: 1)
        let line = p.catalogJSON(attributesJSON: "{\"color\":\"oak\",\"width_in\":48}")
        let v = try JSONValue.parse(line)
        #expect(v["id"]?.stringValue == "P\"1")
        #expect(v["title"]?.stringValue == "Oak \"Bench\"\n2")
        #expect(v["description"]?.stringValue == "tab\there \\ back")
        #expect(v["category"]?.arrayValue?.compactMap { $0.stringValue } == ["Furniture", "Benches"])
        #expect(v["category_path"]?.stringValue == "Furniture > Benches")
        #expect(v["price"]?.numberValue == 129.5)
        #expect(v["rating"]?.numberValue == 4.5)
        #expect(v["stock"]?.numberValue == 2)
        #expect(v["in_stock"]?.boolValue == true)
        #expect(v["attributes"]?["width_in"]?.numberValue == 48)
        var q = p
        q.reserved = 3
        q.rating = nil
        let w = try JSONValue.parse(q.catalogJSON(attributesJSON: nil))
        #expect(w["in_stock"]?.boolValue == false)
        #expect(w["rating"]?.isNull == true)
        #expect(w["attributes"]?.objectValue?.isEmpty == true)
    }

    @Test func validationNamesTheField() {
        func message(_ p: ProductRecord) -> String? {
            do { try p.validate(); return nil } catch { return "\(error)" }
        }
        let ok = ProductRecord(id: "A", title: "T", price: "1.5")
        #expect(message(ok) == nil)
        var p = ok; p.price = "-1"
        #expect(message(p)?.contains("price") == true)
        p = ok; p.price = "NaN"
        #expect(message(p)?.contains("price") == true)
        p = ok; p.title = ""
        #expect(message(p)?.contains("title") == true)
        p = ok; p.rating = "7"
        #expect(message(p)?.contains("rating") == true)
        p = ok; p.status = "gone"
        #expect(message(p)?.contains("status") == true)
        p = ok; p.category = ["A > B"]
        #expect(message(p)?.contains("category") == true)
        #expect(ProductRecord.isDecimal("12") && ProductRecord.isDecimal("0.99") && ProductRecord.isDecimal("1e3"))
        #expect(!ProductRecord.isDecimal("") && !ProductRecord.isDecimal("inf") && !ProductRecord.isDecimal("1,5"))
    }

    @Test func arrayLiteralsAndCopyEscaping() {
        #expect(CatalogDatabase.arrayLiteral(["a", "b\"c", "d\\e", "f,g", ""]) == "{\"a\",\"b\\\"c\",\"d\\\\e\",\"f,g\",\"\"}")
        var b = CopyBuffer()
        b.field("a\tb\nc\\d\re")
        b.field(nil, last: true)
        #expect(String(decoding: b.bytes, as: UTF8.self) == "a\\tb\\nc\\\\d\\re\t\\N\n")
    }

    @Test func positionsRoundTripThroughUserData() {
        let p = ChangePosition(txid: 12345678901, id: 42)
        #expect(ChangePosition(userData: p.userData) == p)
        #expect(ChangePosition(userData: [:]) == nil)
        #expect(ChangePosition(txid: 5, id: 9) < ChangePosition(txid: 6, id: 1))
        #expect(ChangePosition(txid: 6, id: 1) < ChangePosition(txid: 6, id: 2))
    }

    @Test func connectionErrorsNameTheServer() {
        #expect(PGConnection.describe("postgresql://user:secret@db.example:5433/shop?sslmode=disable") == "db.example:5433/shop")
        #expect(PGConnection.describe("host=127.0.0.1 port=1 dbname=x") == "127.0.0.1:1/x")
        do {
            _ = try PGConnection(url: "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2")
            Issue.record("connected to port 1")
        } catch {
            #expect("\(error)".hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:1/postgres: "), "\(error)")
        }
        do {
            _ = try MongoAttributeStore(uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300")
            Issue.record("connected to port 1")
        } catch {
            #expect("\(error)".hasPrefix("cannot connect to MongoDB at 127.0.0.1:1: "), "\(error)")
        }
    }

    static func sampleDocs() -> [AttributeDocument] {
        [
            AttributeDocument(productId: "P2", category: "Rugs > Area Rugs", attributes: [
                AttributeField("color", .string("deep blue \"navy\"")), AttributeField("rug_size", .string("5' x 8'")),
                AttributeField("width_in", .int(60)), AttributeField("big", .int(1 << 40)), AttributeField("ratio", .double(0.25)),
                AttributeField("dimmable", .bool(true)), AttributeField("none", .null),
                AttributeField("tags", .array([.string("a"), .int(2)])),
                AttributeField("dims", .document([AttributeField("h", .double(1.5)), AttributeField("w", .int(3))])),
            ], lastUpdated: 1_700_000_000_123),
            AttributeDocument(productId: "P1", category: nil, attributes: [AttributeField("café", .string("crème"))], lastUpdated: 5),
        ]
    }

    @Test func fileStoreRoundTripsExtendedJSONThroughLibbson() throws {
        let dir = TestEnv.temp("attrs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/product_attributes.json"
        let docs = Self.sampleDocs()
        let a = try FileAttributeStore(path: path)
        try a.upsert(docs)
        // Appended lines are canonical extended JSON, one per document, readable by another instance.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == 2)
        #expect(text.contains("\"$numberLong\" : \"1099511627776\"") && text.contains("\"$date\""), "\(text)")
        let b = try FileAttributeStore(path: path)
        #expect(try b.documents(ids: ["P1", "P2", "P3"]) == ["P1": docs[1], "P2": docs[0]])
        // A later line replaces an earlier one; flush rewrites sorted and unique, keeping _id.
        var changed = docs[0]
        changed.attributes = [AttributeField("color", .string("red"))]
        try a.upsert([changed])
        #expect(try b.documents(ids: ["P2"])["P2"] == changed)    // b picks up the appended line
        let oid = text.split(separator: "\n").first { $0.contains("\"P2\"") }!.split(separator: "\"$oid\" : \"")[1].prefix(24)
        try a.flush()
        let after = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(after.count == 2 && after[0].contains("\"P1\"") && after[1].contains("\"P2\"") && after[1].contains(oid))
        #expect(try b.all() == [docs[1], changed])                 // b reloads after the rename
        #expect(try a.delete(ids: ["P1", "nope"]) == 1)
        #expect(try FileAttributeStore(path: path).all() == [changed])
    }

    @Test func fileStoreReportsABadLineByNumber() throws {
        let dir = TestEnv.temp("badattrs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.json"
        try """
        {"product_id": "P1", "category": "X", "attributes": {"color": "red"}, "last_updated": {"$date": "2024-01-13T12:00:00Z"}}
        {"product_id": "P2", "attributes": {"color": }

        """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try FileAttributeStore(path: path)
            Issue.record("a bad line was accepted")
        } catch {
            #expect("\(error)".contains("line 2"), "\(error)")
        }
        // Relaxed extended JSON (as mongoexport writes by default) reads too.
        try """
        {"_id": {"$oid": "65a2b0c0f1e2d3c4b5a69788"}, "product_id": "P1", "category": "X", "attributes": {"color": "red", "n": 3}, "last_updated": {"$date": "2024-01-13T12:00:00Z"}}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let d = try #require(try FileAttributeStore(path: path).documents(ids: ["P1"])["P1"])
        #expect(d.attributes == [AttributeField("color", .string("red")), AttributeField("n", .int(3))])
        #expect(d.lastUpdated == 1_705_147_200_000)
    }

    @Test(.enabled(if: TestEnv.mongo != nil, Comment(rawValue: TestEnv.noMongo)))
    func mongoStoreAgainstTheWireServer() throws {
        let db = "aisle_u_" + UUID().uuidString.prefix(8).lowercased()
        let base = TestEnv.mongo!
        let uri = base.replacingOccurrences(of: "/?", with: "/\(db)?")
        let m = try MongoAttributeStore(uri: uri)
        #expect(m.location.contains("\(db).product_attributes"))
        let docs = Self.sampleDocs()
        try m.upsert(docs)
        #expect(try m.documents(ids: ["P1", "P2", "P3"]) == ["P1": docs[1], "P2": docs[0]])
        var changed = docs[0]
        changed.attributes = [AttributeField("color", .string("red"))]
        try m.upsert([changed])                                     // replaces by product_id
        #expect(try m.all() == [docs[1], changed])                  // sorted by product_id
        // Many documents: cursors with getMore batches.
        let many = (0..<2500).map { AttributeDocument(productId: String(format: "Q%05d", $0), category: "C", attributes: [AttributeField("i", .int(Int64($0)))], lastUpdated: 1) }
        try m.upsert(many)
        #expect(try m.all().count == 2502)
        let some = try m.documents(ids: many.map { $0.productId }.filter { $0.hasSuffix("7") })
        #expect(some.count == 250 && some["Q01237"]?.attributes == [AttributeField("i", .int(1237))])
        #expect(try m.delete(ids: ["P1", "Q00000"]) == 2)
        #expect(try m.documents(ids: ["P1", "Q00000", "Q00001"]).keys.sorted() == ["Q00001"])
    }
}
