import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import AisleCatalog
import AisleCommerce
import AisleEngine

/// End to end with the `aisle` binary against a real PostgreSQL: `catalog load`, `reindex`,
/// `sync` and `serve` following the catalog.
@Suite(.enabled(if: TestEnv.database != nil, Comment(rawValue: TestEnv.noDatabase)))
struct CatalogCLITests {
    let sample = TestEnv.root + "/corpora/sample-catalog.jsonl"

    struct Env {
        let t: TestDatabase
        let dir: String
        var vars: [String: String]
        init(_ label: String, mongo: String? = nil) throws {
            t = try TestDatabase()
            dir = TestEnv.temp(label)
            vars = ["DATABASE_URL": t.url, "AISLE_ATTRIBUTES": dir + "/product_attributes.json"]
            if let mongo { vars["MONGODB_URI"] = mongo }
        }
        func run(_ args: [String]) throws -> CLI.Run { try CLI.run(args, env: vars) }
        func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static let fields = "price,in_stock,rating,review_count,title,brand,category_path"

    /// The fields both kinds of index have (a catalog index also has `stock`).
    static func comparable(_ e: [String: JSONValue]) -> [String: String] {
        e.mapValues { v in
            Self.fields.split(separator: ",").map { k in "\(k)=\(v[String(k)].map { "\($0)" } ?? "-")" }.joined(separator: "|")
        }
    }

    static let queries = [
        #"{"q": "sofa", "limit": 20}"#, #"{"q": "lamp OR table", "operator": "or", "limit": 20}"#,
        #"{"q": "", "filters": {"attributes.color": ["oatmeal", "black", "white"]}, "limit": 50, "sort": "price_asc"}"#,
        #"{"q": "", "filters": {"category": "Furniture", "price_max": 500}, "limit": 50, "sort": "price_desc"}"#,
    ]

    func assertSameIndex(_ a: String, _ b: String, queries: [String] = Self.queries) throws {
        let ea = Self.comparable(try CLI.export(a, fields: Self.fields))
        let eb = Self.comparable(try CLI.export(b, fields: Self.fields))
        #expect(ea.count == eb.count)
        #expect(Set(ea.keys) == Set(eb.keys))
        let diff = ea.filter { eb[$0.key] != $0.value }.prefix(5)
        #expect(diff.isEmpty, "first differences: \(diff.map { "\($0.key): \($0.value) vs \(eb[$0.key] ?? "absent")" })")
        for q in queries {
            let ra = try CLI.search(a, q), rb = try CLI.search(b, q)
            #expect(ra.total == rb.total, "\(q)")
            #expect(ra.hits.sorted() == rb.hits.sorted(), "\(q)")
        }
    }

    @Test func loadReportsABadRowRollsBackItsBatchAndRerunsIdempotently() throws {
        let e = try Env("badrow")
        defer { e.cleanup() }
        let lines = try String(contentsOfFile: sample, encoding: .utf8).split(separator: "\n").prefix(12).map(String.init)
        var bad = lines
        bad[7] = bad[7].replacingOccurrences(of: #""price": "#, with: #""price": "twelve", "x": "#)
        let file = e.dir + "/bad.jsonl"
        try (bad.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try e.run(["catalog", "load", "--corpus", file, "--batch-size", "5", "--quiet"])
        #expect(r.status == 1)
        #expect(r.err.contains("row 8: price must be a non-negative number"), "\(r.err)")
        #expect(r.err.contains("batch 2 (rows 6-8) was not loaded; 5 rows before it are loaded"), "\(r.err)")
        let db = try CatalogDatabase(url: e.t.url)
        #expect(try db.productCount() == 5)
        // --atomic: nothing at all.
        let e2 = try Env("badrow-atomic")
        defer { e2.cleanup() }
        let r2 = try e2.run(["catalog", "load", "--corpus", file, "--batch-size", "5", "--atomic", "--quiet"])
        #expect(r2.status == 1 && r2.err.contains("row 8:") && r2.err.contains("nothing was loaded"), "\(r2.err)")
        #expect(try CatalogDatabase(url: e2.t.url).productCount() == 0)
        // A row PostgreSQL rejects (a NUL character): its batch is rolled back and named.
        var nul = lines
        nul[10] = nul[10].replacingOccurrences(of: #""title": ""#, with: #""title": "\u0000"#)
        try (nul.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r3 = try e.run(["catalog", "load", "--corpus", file, "--batch-size", "5", "--quiet"])
        #expect(r3.status == 1 && r3.err.contains("row 11: [22021] invalid byte sequence") && r3.err.contains("batch 3 (rows 11-12) was rolled back; 10 rows before it are loaded"), "\(r3.err)")
        #expect(try db.productCount() == 10)
        // Fixed: the rerun loads the rest; a second rerun changes nothing (no change-log rows).
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let ok = try e.run(["catalog", "load", "--corpus", file, "--batch-size", "5", "--quiet"])
        #expect(ok.status == 0 && ok.err.contains("loaded 12 products"), "\(ok.err)")
        #expect(try db.productCount() == 12)
        let head = try db.latestPosition()
        #expect(try e.run(["catalog", "load", "--corpus", file, "--quiet"]).status == 0)
        #expect(try db.latestPosition() == head)
        #expect(try FileAttributeStore(path: e.vars["AISLE_ATTRIBUTES"]!).all().count == 12)
    }

    @Test func reindexEqualsADirectIndexOfTheSameCorpus() throws {
        let e = try Env("reindex")
        defer { e.cleanup() }
        #expect(try e.run(["catalog", "load", "--corpus", sample, "--quiet"]).status == 0)
        let r = try e.run(["reindex", "--index", e.dir + "/catalog", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("reindexed 60 products") && r.err.contains("docs/s") && r.err.contains("consistent with change-log position"), "\(r.err)")
        #expect(try CLI.run(["index", "--corpus", sample, "--index", e.dir + "/direct", "--quiet"]).status == 0)
        try assertSameIndex(e.dir + "/catalog", e.dir + "/direct")
        // A second reindex is a new generation; the first is retired.
        #expect(try e.run(["reindex", "--index", e.dir + "/catalog", "--quiet"]).status == 0)
        #expect(try String(contentsOfFile: e.dir + "/catalog/CURRENT", encoding: .utf8).hasPrefix("gen-000002"))
        #expect(!FileManager.default.fileExists(atPath: e.dir + "/catalog/gen-000001"))
        try assertSameIndex(e.dir + "/catalog", e.dir + "/direct")
    }

    @Test func reindexEqualsDirectIndexOnTheSynthCatalog() throws {
        guard let shared = TestEnv.shared else {
            print("skipped: ../shared/corpora is absent (the synth generator lives there)")
            return
        }
        let e = try Env("synth")
        defer { e.cleanup() }
        let corpus = e.dir + "/synth.jsonl"
        let g = Process()
        g.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        g.arguments = ["python3", shared + "/synth/gen_catalog.py", "--products", "3000", "--seed", "42", "--out", corpus]
        try g.run()
        g.waitUntilExit()
        try #require(g.terminationStatus == 0)
        #expect(try e.run(["catalog", "load", "--corpus", corpus, "--batch-size", "1000", "--quiet"]).status == 0)
        #expect(try e.run(["reindex", "--index", e.dir + "/catalog", "--batch-size", "700", "--quiet"]).status == 0)
        #expect(try CLI.run(["index", "--corpus", corpus, "--index", e.dir + "/direct", "--quiet"]).status == 0)
        try assertSameIndex(e.dir + "/catalog", e.dir + "/direct", queries: Self.queries + [
            #"{"q": "rose gold shelf", "operator": "or", "limit": 30}"#,
            #"{"q": "", "filters": {"attributes.width_in": ["48", "60"]}, "limit": 100, "sort": "price_asc"}"#,
            #"{"q": "rug", "facets": ["brand", "attributes.color"], "limit": 10}"#,
        ])
    }

    @Test func loadsTheBigBasketCatalog() throws {
        guard let shared = TestEnv.shared, FileManager.default.fileExists(atPath: shared + "/bigbasket/products.jsonl") else {
            print("skipped: ../shared/corpora/bigbasket/products.jsonl is absent")
            return
        }
        let e = try Env("bigbasket")
        defer { e.cleanup() }
        let r = try e.run(["catalog", "load", "--corpus", shared + "/bigbasket/products.jsonl", "--quiet"])
        #expect(r.status == 0 && r.err.contains("loaded 6,079 products (bigbasket)"), "\(r.err)")
        let db = try CatalogDatabase(url: e.t.url)
        let p = try #require(try db.product(id: "1"))
        #expect(p.title == "Garlic Oil - Vegetarian Capsule 500 mg" && p.price == "220" && p.currency == "INR")
        #expect(p.category == ["Beauty & Hygiene", "Hair Care", "Hair Oil & Serum"] && p.brand == "Sri Sri Ayurveda")
        #expect(try e.run(["reindex", "--index", e.dir + "/idx", "--quiet"]).status == 0)
        let ex = try CLI.export(e.dir + "/idx", fields: "price")
        #expect(ex.count == 6079 && ex["1"]?["price"]?.numberValue == 220)
    }

    /// Writes a corpus of the sample plus `n` generated products.
    func corpus(_ dir: String, extra n: Int) throws -> String {
        var text = try String(contentsOfFile: sample, encoding: .utf8)
        for i in 0..<n {
            text += #"{"id": "G\#(String(format: "%05d", i))", "title": "Generated widget \#(i) oak", "description": "A widget.", "brand": "Gen \#(i % 7)", "category": ["Home", "Widgets"], "category_path": "Home > Widgets", "price": \#(10 + i % 90).99, "rating": null, "review_count": \#(i), "in_stock": true, "attributes": {"color": "c\#(i % 5)"}}"# + "\n"
        }
        let path = dir + "/corpus.jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The index as the catalog says it should be: active products with price, stock, title.
    func expected(_ db: CatalogDatabase) throws -> [String: String] {
        var out: [String: String] = [:]
        let r = try db.conn.exec("""
            SELECT p.id, p.price::float8::text, coalesce(i.available, 0) - coalesce(i.reserved, 0), p.title
            FROM products p LEFT JOIN inventory i ON i.product_id = p.id WHERE p.status = 'active'
            """)
        for row in r.rows {
            let stock = Int(row[2]!)!
            out[row[0]!] = "\(Double(row[1]!)!)|\(stock)|\(stock > 0)|\(row[3]!)"
        }
        return out
    }

    func actual(_ index: String) throws -> [String: String] {
        try CLI.export(index, fields: "price,stock,in_stock,title").mapValues { v in
            "\(v["price"]?.numberValue ?? -1)|\(Int(v["stock"]?.numberValue ?? -1))|\(v["in_stock"]?.boolValue ?? false)|\(v["title"]?.stringValue ?? "")"
        }
    }

    /// A wave of random catalog changes: prices, stock, titles, deletes, status changes, inserts.
    func wave(_ db: CatalogDatabase, ids: inout [String], seed: inout UInt64, count: Int, tag: String) throws {
        func rnd(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(n))
        }
        for k in 0..<count {
            let id = ids[rnd(ids.count)]
            switch rnd(10) {
            case 0...3: _ = try db.setPrice(id: id, price: "\(rnd(100000) / 100).\(String(format: "%02d", rnd(100)))")
            case 4...5: _ = try db.setStock(id: id, available: rnd(3))
            case 6: try db.conn.exec("UPDATE products SET title = $2 WHERE id = $1", [id, "Retitled \(tag) \(k)"])
            case 7:
                _ = try db.delete(id: id)
                ids.removeAll { $0 == id }
            case 8: _ = try db.setStatus(id: id, status: rnd(2) == 0 ? "draft" : "active")
            default:
                let nid = "N\(tag)\(k)"
                try db.conn.transaction {
                    try db.upsert(products: [ProductRecord(id: nid, title: "New \(tag) \(k) lamp", brand: "Newco", category: ["Home", "New"],
                                                           price: "\(1 + rnd(500)).50", available: rnd(4))])
                }
                ids.append(nid)
            }
        }
    }

    @Test func syncAppliesChangesAndResumesAfterAKillWithoutLoss() throws {
        let e = try Env("sync")
        defer { e.cleanup() }
        let file = try corpus(e.dir, extra: 400)
        #expect(try e.run(["catalog", "load", "--corpus", file, "--quiet"]).status == 0)
        let idx = e.dir + "/idx"
        #expect(try e.run(["reindex", "--index", idx, "--quiet"]).status == 0)
        let db = try CatalogDatabase(url: e.t.url)
        var ids = try db.conn.exec("SELECT id FROM products ORDER BY id").rows.map { $0[0]! }
        var seed: UInt64 = 42
        #expect(try actual(idx) == expected(db))
        // Running: a wave of changes reaches the index.
        let log = e.dir + "/sync.log"
        var p = try CLI.start(["sync", "--index", idx, "--commit-ms", "150"], env: e.vars, log: log)
        try wave(db, ids: &ids, seed: &seed, count: 300, tag: "a")
        let want1 = try expected(db)
        let synced = eventually(30) { (try? actual(idx)) == want1 }
        #expect(synced, "after wave a: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        // kill -9 in the middle of a wave, more changes while it is down, restart.
        let pid = p.processIdentifier
        let killer = Thread {
            usleep(150_000)
            kill(pid, SIGKILL)
        }
        killer.start()
        try wave(db, ids: &ids, seed: &seed, count: 300, tag: "b")
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)
        try wave(db, ids: &ids, seed: &seed, count: 200, tag: "c")
        let r = try e.run(["sync", "--index", idx, "--until-idle", "--commit-ms", "100"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("following the change log from position"), "\(r.err)")
        let want2 = try expected(db)
        let got2 = try actual(idx)
        #expect(got2.count == want2.count)
        let wrong = want2.filter { got2[$0.key] != $0.value }.prefix(5)
        #expect(wrong.isEmpty, "first differences: \(wrong.map { "\($0.key): want \($0.value), got \(got2[$0.key] ?? "absent")" })")
        #expect(Set(got2.keys) == Set(want2.keys))
        #expect(try CLI.run(["check", "--index", idx]).status == 0)
        // Running again from the committed position applies nothing new and changes nothing.
        p = try CLI.start(["sync", "--index", idx], env: e.vars, log: log)
        usleep(500_000)
        p.interrupt()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try actual(idx) == want2)
        let status = try e.run(["catalog", "status", "--index", idx])
        #expect(status.out.contains(", 0 changes after it"), "\(status.out)")
    }

    /// A write transaction left open elsewhere holds the change log's horizon back; changes
    /// committed after it still reach the index while it stays open (applied ahead), and once it
    /// ends the position moves past them without losing or re-breaking anything.
    @Test func syncAppliesCommittedChangesAheadOfASlowTransaction() throws {
        let e = try Env("sync-ahead")
        defer { e.cleanup() }
        let file = try corpus(e.dir, extra: 200)
        #expect(try e.run(["catalog", "load", "--corpus", file, "--quiet"]).status == 0)
        let idx = e.dir + "/idx"
        #expect(try e.run(["reindex", "--index", idx, "--quiet"]).status == 0)
        let db = try CatalogDatabase(url: e.t.url)
        var ids = try db.conn.exec("SELECT id FROM products ORDER BY id").rows.map { $0[0]! }
        var seed: UInt64 = 7
        let log = e.dir + "/sync.log"
        let p = try CLI.start(["sync", "--index", idx, "--commit-ms", "100"], env: e.vars, log: log)
        let slow = try PGConnection(url: e.t.url)
        try slow.exec("BEGIN")
        try slow.exec("SELECT pg_current_xact_id()")
        try wave(db, ids: &ids, seed: &seed, count: 150, tag: "a")
        let want1 = try expected(db)
        let early = eventually(30) { (try? actual(idx)) == want1 }
        #expect(early, "changes behind an open transaction did not reach the index: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let held = try e.run(["catalog", "status", "--index", idx])
        #expect(!held.out.contains(", 0 changes after it"), "the position cannot pass the open transaction: \(held.out)")
        try slow.exec("ROLLBACK")
        try wave(db, ids: &ids, seed: &seed, count: 80, tag: "b")
        let want2 = try expected(db)
        #expect(eventually(30) { (try? actual(idx)) == want2 })
        #expect(eventually(30) { (try? e.run(["catalog", "status", "--index", idx]))?.out.contains(", 0 changes after it") == true })
        p.interrupt()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try actual(idx) == want2)
    }

    static func freePort() -> Int { Int.random(in: 21000..<39000) }

    static func get(_ url: String) -> (Int, JSONValue?) {
        guard let u = URL(string: url) else { return (0, nil) }
        final class Box: @unchecked Sendable { var status = 0; var data = Data() }
        let box = Box()
        let sem = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: u) { d, r, _ in
            box.status = (r as? HTTPURLResponse)?.statusCode ?? 0
            box.data = d ?? Data()
            sem.signal()
        }.resume()
        _ = sem.wait(timeout: .now() + 10)
        return (box.status, try? JSONValue.parse(String(decoding: box.data, as: UTF8.self)))
    }

    @Test func serveFollowsTheCatalogAcrossARebuild() throws {
        let e = try Env("serve")
        defer { e.cleanup() }
        let file = try corpus(e.dir, extra: 50)
        #expect(try e.run(["catalog", "load", "--corpus", file, "--quiet"]).status == 0)
        let idx = e.dir + "/idx"
        #expect(try e.run(["reindex", "--index", idx, "--quiet"]).status == 0)
        let db = try CatalogDatabase(url: e.t.url)
        var port = Self.freePort()
        var server: Process?
        for _ in 0..<5 {
            let s = try CLI.start(["serve", "--index", idx, "--port", String(port), "--refresh-ms", "50"], env: e.vars, log: e.dir + "/serve.log")
            if try eventually(20, { Self.get("http://127.0.0.1:\(port)/healthz").0 == 200 || !s.isRunning }), s.isRunning {
                server = s
                break
            }
            port = Self.freePort()
        }
        let s = try #require(server)
        defer { s.terminate(); s.waitUntilExit() }
        func price(_ id: String) -> Double? {
            let (st, v) = Self.get("http://127.0.0.1:\(port)/api/v1/products/\(id)")
            return st == 200 ? v?["price"]?.numberValue : nil
        }
        #expect(try db.setPrice(id: "S0002", price: "12.34"))
        #expect(eventually(10) { price("S0002") == 12.34 }, "\((try? String(contentsOfFile: e.dir + "/serve.log", encoding: .utf8)) ?? "")")
        // A row the index refuses (a price beyond the schema's maximum, which PostgreSQL's numeric
        // takes) is skipped and reported, never retried forever: the product keeps its last good
        // price and the changes after it are applied.
        #expect(try db.setPrice(id: "S0002", price: "1e300"))
        #expect(try db.setPrice(id: "S0004", price: "7.5"))
        #expect(eventually(10) { price("S0004") == 7.5 }, "\((try? String(contentsOfFile: e.dir + "/serve.log", encoding: .utf8)) ?? "")")
        #expect(price("S0002") == 12.34)
        #expect(((try? String(contentsOfFile: e.dir + "/serve.log", encoding: .utf8)) ?? "").contains("skipped a row the index refuses"))
        #expect(try db.setPrice(id: "S0002", price: "12.34"))
        #expect(try db.delete(id: "G00003"))
        #expect(eventually(10) { Self.get("http://127.0.0.1:\(port)/api/v1/products/G00003").0 == 404 })
        // A title change is an upsert, which joins the attribute documents (the server loads them in
        // the background): the new title is searchable together with the product's attributes.
        try db.conn.exec("UPDATE products SET title = $2 WHERE id = $1", ["G00002", "Retitled beacon lamp"])
        #expect(eventually(10) {
            let (_, r) = Self.get("http://127.0.0.1:\(port)/api/v1/products/search?q=%2Bbeacon%20%2Battributes.color:c2")
            return r?["results"]?.arrayValue?.first?["id"]?.stringValue == "G00002"
        }, "\((try? String(contentsOfFile: e.dir + "/serve.log", encoding: .utf8)) ?? "")")
        // A rebuild publishes a new generation: the server switches and keeps following from the
        // rebuild's position; a change made after the rebuild's snapshot is applied to it.
        #expect(try e.run(["reindex", "--index", idx, "--quiet"]).status == 0)
        #expect(try db.setPrice(id: "S0003", price: "43.21"))
        #expect(eventually(10) {
            let (_, h) = Self.get("http://127.0.0.1:\(port)/healthz")
            return h?["index_generation"]?.stringValue == "gen-000002"
        })
        #expect(eventually(10) { price("S0003") == 43.21 && price("S0002") == 12.34 })
        #expect(Self.get("http://127.0.0.1:\(port)/api/v1/products/G00003").0 == 404)

        // An order that sells the last units: search shows the product out of stock, through the
        // same change log (Commerce writes only PostgreSQL; it knows no index).
        func stock(_ id: String) -> (Bool?, Double?) {
            let (st, v) = Self.get("http://127.0.0.1:\(port)/api/v1/products/\(id)")
            return st == 200 ? (v?["in_stock"]?.boolValue, v?["stock"]?.numberValue) : (nil, nil)
        }
        try CommerceMigrations.migrate(db.conn)
        let pool = PostgresPool(url: e.t.url)
        let buyer = try CustomerStore(pool: pool).create(email: "buyer@example.com", passwordHash: "not-a-login", name: "Buyer")
        #expect(try db.setStock(id: "S0005", available: 2, reserved: 0))
        #expect(eventually(10) { stock("S0005") == (true, 2) })
        let unit = try #require(Money(try db.conn.exec("SELECT price::text FROM products WHERE id = 'S0005'")[0, 0] ?? ""))
        let address = ShippingAddress(line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US")
        let placed = try OrderStore(pool: pool).place(customerId: buyer.id, cart: [("S0005", 2)], request: OrderRequest(
            shippingAddress: address, paymentMethodId: "pm_test", expectedTotal: try unit.multiplied(by: 2), idempotencyKey: "sell-out"))
        #expect(placed.order.lines.map(\.quantity) == [2])
        #expect(eventually(10) { stock("S0005") == (false, 0) }, "\((try? String(contentsOfFile: e.dir + "/serve.log", encoding: .utf8)) ?? "")")
    }

    @Test(.enabled(if: TestEnv.mongo != nil, Comment(rawValue: TestEnv.noMongo)))
    func theMongoPathLoadsAndReindexesLikeTheFilePath() throws {
        let db = "aisle_c_" + UUID().uuidString.prefix(8).lowercased()
        let uri = TestEnv.mongo!.replacingOccurrences(of: "/?", with: "/\(db)?")
        let m = try Env("mongo", mongo: uri)
        defer { m.cleanup() }
        let f = try Env("mongo-file")
        defer { f.cleanup() }
        for e in [m, f] {
            let r = try e.run(["catalog", "load", "--corpus", sample, "--batch-size", "25", "--quiet"])
            #expect(r.status == 0, "\(r.err)")
            #expect(try e.run(["reindex", "--index", e.dir + "/idx", "--batch-size", "16", "--quiet"]).status == 0)
        }
        let ma = try MongoAttributeStore(uri: uri).all()
        let fa = try FileAttributeStore(path: f.vars["AISLE_ATTRIBUTES"]!).all()
        #expect(ma.count == 60 && ma.count == fa.count && zip(ma, fa).allSatisfy { $0.sameContent(as: $1) })
        try assertSameIndex(m.dir + "/idx", f.dir + "/idx")
        // An attribute change written through the store and marked in PostgreSQL reaches the index.
        let store = try MongoAttributeStore(uri: uri)
        var d = try #require(try store.documents(ids: ["S0002"])["S0002"])
        d.attributes = [AttributeField("color", .string("tangerine"))]
        try store.upsert([d])
        let cdb = try CatalogDatabase(url: m.t.url)
        #expect(try cdb.touchAttributes(ids: ["S0002"]) == 1)
        #expect(try m.run(["sync", "--index", m.dir + "/idx", "--until-idle"]).status == 0)
        #expect(try CLI.search(m.dir + "/idx", #"{"q": "", "filters": {"attributes.color": ["tangerine"]}}"#).hits.map { $0.prefix(5) } == ["S0002"])
    }
}
