import Foundation
import Testing
import AisleCatalog
import AisleEngine
@testable import AisleIndex
import AisleSync

/// The catalog's value types and the libbson file store (no server needed).
@Suite struct CatalogUnitTests {
    /// The JSON line the catalog used to write for the index (before typed records): the oracle
    /// the typed path (`CatalogDocuments`) must build the same index document as.
    static func referenceLine(_ p: ProductRecord, _ attributesJSON: String?) -> String {
        var s = "{\"id\":"
        JSONText.string(p.id, into: &s)
        s += ",\"title\":"
        JSONText.string(p.title, into: &s)
        s += ",\"description\":"
        JSONText.string(p.description, into: &s)
        s += ",\"brand\":"
        if let brand = p.brand { JSONText.string(brand, into: &s) } else { s += "null" }
        s += ",\"category\":["
        for (i, c) in p.category.enumerated() {
            if i > 0 { s += "," }
            JSONText.string(c, into: &s)
        }
        s += "],\"category_path\":"
        JSONText.string(p.categoryPath, into: &s)
        s += ",\"price\":" + p.price + ",\"rating\":" + (p.rating ?? "null") + ",\"review_count\":" + String(p.reviewCount)
        s += ",\"in_stock\":" + (p.inStock ? "true" : "false") + ",\"stock\":" + String(p.stock)
        s += ",\"attributes\":" + (attributesJSON ?? "{}") + "}"
        return s
    }

    /// Everything an index document holds, in a comparable form.
    static func dump(_ d: IndexDocument) -> String {
        func term(_ start: UInt32, _ n: UInt32) -> String { String(decoding: d.bytes[Int(start)..<Int(start + n)], as: UTF8.self) }
        var s = "id \(d.id)\n"
        for t in d.tokens { s += "t \(t.field) \(t.position) \(term(t.start, t.length))\n" }
        for k in d.keywords { s += "k \(k.field) \(term(k.start, k.length))\n" }
        for n in d.numbers { s += "n \(n.field) \(n.value.bitPattern)\n" }
        for v in d.stored { s += "s \(v.field) \(v.value)\n" }
        for l in d.lengthDiscounts { s += "l \(l.field) \(l.count)\n" }
        return s
    }

    /// Catalog rows become index documents as typed records, exactly as they did as JSON lines:
    /// every product of the sample catalog and a hostile one (quotes, control characters, no brand,
    /// no rating, nested, numeric and boolean attributes), field by field.
    @Test func typedRecordsBuildWhatJSONLinesBuilt() throws {
        let dir = TestEnv.temp("typed-records")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var wo = IndexWriter.Options()
        wo.sync = false
        let writer = try IndexWriter(creating: dir, schema: Schemas.withDefaultAnalyzer(Schemas.catalog), options: wo)
        let typed = try DocumentBuilder(writer: writer, format: .catalog)
        let lines = try DocumentBuilder(writer: writer, format: .catalog)
        var cases: [(ProductRecord, AttributeDocument?)] = []
        let text = try String(contentsOfFile: TestEnv.root + "/corpora/sample-catalog.jsonl", encoding: .utf8)
        let rows = text.split(separator: "\n").map(String.init)
        var reader = try CorpusRowReader(firstLine: rows[0], defaultStock: 7)
        for r in rows {
            var b = Array(r.utf8)
            cases.append(try b.withUnsafeMutableBufferPointer { try reader.read(UnsafeBufferPointer($0)) })
        }
        let hostile = ProductRecord(id: "P\"1", sku: "SKU-1", title: "Oak \"Bench\"\n2 1/2\" wide", description: "tab\there \\ back",
                                    brand: nil, category: ["Furniture", "Benches"], price: "129.50", currency: "USD", rating: nil,
                                    reviewCount: 12, available: 3, reserved: 1)
        cases.append((hostile, AttributeDocument(productId: hostile.id, category: nil, attributes: [
            AttributeField("color", .string("oak")), AttributeField("width_in", .int(48)), AttributeField("depth", .double(20.5)),
            AttributeField("height", .double(30)), AttributeField("outdoor", .bool(false)), AttributeField("tags", .array([.string("a"), .string("b")])),
            AttributeField("none", .null)])))
        cases.append((ProductRecord(id: "Z", title: "Plain", price: "0", available: 0), nil))
        var a = IndexDocument(), b = IndexDocument()
        for (p, attrs) in cases {
            try typed.build(record: CatalogDocuments.record(p, attrs), into: &a)
            var line = Array(Self.referenceLine(p, attrs?.attributesJSON).utf8)
            try line.withUnsafeMutableBufferPointer { try lines.build(json: UnsafeBufferPointer($0), into: &b) }
            #expect(Self.dump(a) == Self.dump(b), "\(p.id)")
        }
        // In-place values: the same numbers as the set line had.
        let u = CatalogDocuments.numbers(hostile)
        #expect(u.map { $0.name } == ["price", "rating", "review_count", "stock", "in_stock"])
        if case .number(let d) = u[0].value { #expect(d.text == "129.50" && d.value == 129.5) } else { Issue.record("price") }
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

    /// Readiness from the follower's state: not before the first catch-up, still while it only
    /// lags or the log was unreadable for less than the grace period, not after it.
    @Test func readinessFollowsTheFollowerState() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        var st = CatalogFollower.Status()
        #expect(st.notReadyReason(now: t0)?.contains("catching up") == true)
        st.lastError = "cannot connect to PostgreSQL"
        st.errorSince = t0
        #expect(st.notReadyReason(now: t0 + 100)?.contains("catching up") == true, "never caught up")
        st.atHeadAt = t0 - 5
        #expect(st.notReadyReason(now: t0 + CatalogFollower.Status.errorGrace - 1) == nil, "a hiccup within the grace")
        #expect(st.notReadyReason(now: t0 + CatalogFollower.Status.errorGrace + 1)?.contains("cannot be read for 31 s") == true)
        st.lastError = nil
        st.errorSince = nil
        #expect(st.notReadyReason(now: t0 + 3600) == nil, "lagging alone keeps a node in")
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
