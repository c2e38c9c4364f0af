import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import AisleEngine
@testable import AisleIndex
@testable import AisleServer

/// The write endpoints over a live index: bearer tokens, PUT / PATCH / DELETE, NDJSON bulk,
/// visibility after refresh, bad input.
@Suite(.serialized) struct WriteTests {
    static let token = "t0ken-for-tests"

    /// A fresh live index of the sample catalog, served.
    static func serving() throws -> (ServingIndex, SearchService, String) {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let dir = NSTemporaryDirectory() + "aisle-write-\(UUID().uuidString)"
        let c = try Corpus(path: url.path + "/corpora/sample-catalog.jsonl")
        var o = Indexer.Options(threads: 1)
        o.sync = false
        o.progress = false
        _ = try Indexer(corpus: c, directory: dir, options: o).run(schema: c.schema)
        var so = ServingIndex.Options()
        so.live.sync = false
        let sv = try ServingIndex(root: dir, options: so)
        return (sv, try SearchService(source: { sv.searcher }), dir)
    }

    struct Answer {
        var status: Int
        var json: JSONValue
        var headers: HTTPFields
    }

    func call(_ api: APIServer, _ method: HTTPRequest.Method, _ uri: String, body: String? = nil, token: String? = WriteTests.token) async throws -> Answer {
        var h = HTTPFields()
        if let token { h[.authorization] = "Bearer \(token)" }
        let headers = h
        return try await Application(router: api.makeRouter()).test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
                Answer(status: Int(r.status.code), json: try JSONValue.parse(String(buffer: r.body)), headers: r.headers)
            }
        }
    }

    func price(_ api: APIServer, _ id: String) async throws -> Double? {
        try await call(api, .get, "/api/v1/products/\(id)").json["price"]?.numberValue
    }

    @Test func tokensGuardEveryWrite() async throws {
        let (sv, service, dir) = try Self.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: Self.token)
        let before = try await price(api, "S0001")
        for (method, uri, body) in [(HTTPRequest.Method.patch, "/api/v1/products/S0001", "{\"price\": 1}"),
                                    (.put, "/api/v1/products/S0001", "{\"title\": \"x\"}"),
                                    (.delete, "/api/v1/products/S0001", nil),
                                    (.post, "/api/v1/products/_bulk", "{\"op\":\"delete\",\"id\":\"S0001\"}")] {
            let missing = try await call(api, method, uri + "?refresh=true", body: body, token: nil)
            #expect(missing.status == 401, "\(method) \(uri) without a token")
            #expect(missing.headers[.wwwAuthenticate] != nil)
            let wrong = try await call(api, method, uri + "?refresh=true", body: body, token: "nope")
            #expect(wrong.status == 401)
            #expect(wrong.json["error"]?.stringValue == "wrong bearer token")
        }
        try sv.refreshNow()
        #expect(try await price(api, "S0001") == before, "a refused write changed nothing")
        #expect(try await call(api, .get, "/api/v1/products/S0001").status == 200)
        // No token configured: writes are disabled.
        let closed = APIServer(service: service, serving: sv, token: nil)
        let r = try await call(closed, .patch, "/api/v1/products/S0001", body: "{\"price\": 1}")
        #expect(r.status == 403)
        #expect(r.json["error"]?.stringValue?.contains("AISLE_API_TOKEN") == true)
        // A fixed index: 405.
        let fixed = APIServer(service: service, serving: nil, token: Self.token)
        #expect(try await call(fixed, .delete, "/api/v1/products/S0001").status == 405)
    }

    @Test func writesBecomeSearchable() async throws {
        let (sv, service, dir) = try Self.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: Self.token)
        // PATCH in place: filters, sorting and display see it.
        var r = try await call(api, .patch, "/api/v1/products/S0002?refresh=true", body: "{\"price\": 0.5, \"in_stock\": false}")
        #expect(r.status == 200)
        #expect(try await price(api, "S0002") == 0.5)
        r = try await call(api, .post, "/api/v1/search", body: "{\"q\": \"\", \"sort\": \"price_asc\", \"limit\": 1}", token: nil)
        #expect(r.json["hits"]?.arrayValue?.first?["id"]?.stringValue == "S0002")
        r = try await call(api, .post, "/api/v1/search", body: "{\"q\": \"\", \"filters\": {\"in_stock\": false, \"price_max\": 0.5}}", token: nil)
        #expect(r.json["total"]?.numberValue == 1)
        // PUT a new product, then replace it.
        r = try await call(api, .put, "/api/v1/products/Z1?refresh=true", body: "{\"title\": \"Saffron hammock\", \"brand\": \"Zed\", \"price\": 42}")
        #expect(r.status == 200)
        r = try await call(api, .get, "/api/v1/products/search?q=saffron+hammock", token: nil)
        #expect(r.json["total"]?.numberValue == 1)
        r = try await call(api, .put, "/api/v1/products/Z1?refresh=true", body: "{\"id\": \"Z1\", \"title\": \"Teal hammock\", \"price\": 43}")
        #expect(r.status == 200)
        #expect(try await call(api, .get, "/api/v1/products/search?q=saffron", token: nil).json["total"]?.numberValue == 0)
        #expect(try await call(api, .get, "/api/v1/products/search?q=teal+hammock", token: nil).json["total"]?.numberValue == 1)
        #expect(try await call(api, .get, "/healthz", token: nil).json["documents"]?.numberValue == 61)
        // DELETE, then 404.
        #expect(try await call(api, .delete, "/api/v1/products/Z1?refresh=true").status == 200)
        #expect(try await call(api, .delete, "/api/v1/products/Z1").status == 404)
        #expect(try await call(api, .get, "/api/v1/products/Z1", token: nil).status == 404)
        #expect(try await call(api, .patch, "/api/v1/products/Z1", body: "{\"price\": 1}").status == 404)
        // Without refresh=true the background refresh publishes it.
        sv.start()
        r = try await call(api, .patch, "/api/v1/products/S0003", body: "{\"price\": 7.25}")
        #expect(r.status == 200)
        var seen = false
        for _ in 0..<100 where !seen {
            try await Task.sleep(nanoseconds: 20_000_000)
            seen = try await price(api, "S0003") == 7.25
        }
        #expect(seen, "a write was not searchable within 2 s")
    }


    /// In-place values reach scoring: a numeric boost ranks by the patched value after refresh.
    @Test func patchedValuesChangeBoostedRankings() async throws {
        let (sv, service, dir) = try Self.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: Self.token)
        let body = "{\"q\": \"sofa\", \"operator\": \"or\", \"limit\": 20, \"boost\": [{\"field\": \"popularity\", \"weight\": 100, \"modifier\": \"none\"}]}"
        let plain = "{\"q\": \"sofa\", \"operator\": \"or\", \"limit\": 20}"
        func ids(_ a: Answer) -> [String] { a.json["hits"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [] }
        let textOrder = ids(try await call(api, .post, "/api/v1/search", body: plain, token: nil))
        var r = try await call(api, .post, "/api/v1/search", body: body, token: nil)
        let before = r.json["hits"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(before.count >= 3, "the sample catalog has several sofas")
        let last = try #require(before.last)
        #expect(before.first != last)
        // The weakest hit gets the best rating: it must come first once refreshed, with the boost in its score.
        r = try await call(api, .patch, "/api/v1/products/\(last)?refresh=true", body: "{\"popularity\": 50}")
        #expect(r.status == 200)
        r = try await call(api, .post, "/api/v1/search", body: body, token: nil)
        let after = r.json["hits"]?.arrayValue ?? []
        #expect(after.first?["id"]?.stringValue == last)
        #expect((after.first?["score"]?.numberValue ?? 0) >= 5000)
        #expect(after.count == before.count, "boosts change order, not matches")
        // Without the boost the order is the text order again.
        #expect(ids(try await call(api, .post, "/api/v1/search", body: plain, token: nil)) == textOrder)
        #expect(Set(textOrder) == Set(before))
        // Explain names the boost; bad boosts are clear errors.
        r = try await call(api, .post, "/api/v1/search",
                           body: "{\"q\": \"sofa\", \"limit\": 1, \"explain\": true, \"boost\": \"rating\"}", token: nil)
        let explanation = r.json["hits"]?.arrayValue?.first?["explanation"]
        #expect(explanation?["details"]?.arrayValue?.last?["description"]?.stringValue == "numeric boosts")
        r = try await call(api, .post, "/api/v1/search", body: "{\"q\": \"sofa\", \"boost\": \"title\"}", token: nil)
        #expect(r.status == 400)
        #expect(r.json["error"]?.stringValue?.contains("cannot boost by \"title\"") == true)
        r = try await call(api, .post, "/api/v1/search", body: "{\"q\": \"sofa\", \"boost\": {\"field\": \"rating\", \"modifier\": \"cube\"}}", token: nil)
        #expect(r.status == 400)
    }
    @Test func bulkReportsBadLinesAndAtomicRejects() async throws {
        let (sv, service, dir) = try Self.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: Self.token)
        let good = "{\"op\":\"set\",\"id\":\"S0004\",\"price\":3}\n{\"op\":\"delete\",\"id\":\"S0005\"}\n"
        let bad = "{\"op\":\"set\",\"id\":\"S0006\",\"title\":\"x\"}\nnot json\n{\"op\":\"delete\",\"id\":\"NOPE\"}\n"
        var r = try await call(api, .post, "/api/v1/products/_bulk?atomic=true&refresh=true", body: good + bad)
        #expect(r.status == 400)
        #expect(r.json["rejected"]?.boolValue == true)
        #expect(r.json["applied"]?.numberValue == 0)
        #expect(r.json["errors"]?.arrayValue?.map { $0["line"]?.numberValue } == [3, 4])
        #expect(try await price(api, "S0004") != 3)
        r = try await call(api, .post, "/api/v1/products/_bulk?refresh=true", body: good + bad)
        #expect(r.status == 200)
        #expect(r.json["applied"]?.numberValue == 2)
        #expect(r.json["not_found"]?.arrayValue?.first?["line"]?.numberValue == 5)
        #expect(r.json["errors"]?.arrayValue?.count == 2)
        #expect(try await price(api, "S0004") == 3)
        #expect(try await call(api, .get, "/api/v1/products/S0005", token: nil).status == 404)
        // Bad bodies and parameters.
        #expect(try await call(api, .patch, "/api/v1/products/S0004", body: "{\"price\": \"cheap\"}").status == 400)
        #expect(try await call(api, .patch, "/api/v1/products/S0004", body: "{\"colour\": 1}").json["error"]?.stringValue?.contains("unknown field") == true)
        #expect(try await call(api, .patch, "/api/v1/products/S0004", body: "[1").status == 400)
        #expect(try await call(api, .put, "/api/v1/products/S0004", body: "{\"id\": \"OTHER\", \"title\": \"x\"}").status == 400)
        #expect(try await call(api, .put, "/api/v1/products/S0004", body: "42").status == 400)
        #expect(try await call(api, .post, "/api/v1/products/_bulk", body: "").status == 400)
        #expect(try await call(api, .delete, "/api/v1/products/S0004?refreh=true").status == 400)
        #expect(try await price(api, "S0004") == 3, "bad requests changed nothing")
    }

    @Test func typoVocabulariesOfNewSegmentsAreBuiltInTheBackground() async throws {
        let (sv, service, dir) = try Self.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        func built(_ s: Searcher) -> Bool {
            s.segments.allSatisfy { seg in s.layout.textGroups.indices.allSatisfy { seg.fuzzy.isBuilt(slot: $0) } }
        }
        func waitUntilBuilt() async throws -> Bool {
            for _ in 0..<500 {
                sv.tick()
                if built(sv.searcher) { return true }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            return false
        }
        #expect(!built(sv.searcher), "nothing is built when the index opens")
        #expect(try await waitUntilBuilt(), "the opened segments' vocabularies are built")
        let first = sv.fuzzyVocabulariesWarmed
        #expect(first > 0)
        // A write makes a new segment; after the refresh, it is built too (and the old ones not again).
        let api = APIServer(service: service, serving: sv, token: Self.token)
        let put = try await call(api, .put, "/api/v1/products/W0001?refresh=true", body: #"{"title": "Quartzite Kettle"}"#)
        #expect(put.status == 200 || put.status == 201)
        #expect(sv.searcher.segments.count >= 2)
        #expect(try await waitUntilBuilt())
        #expect(sv.fuzzyVocabulariesWarmed > first)
        #expect(sv.fuzzyVocabulariesWarmed <= first + sv.searcher.layout.textGroups.count * (sv.searcher.segments.count - 1))
        // And a typo query finds the new product through it.
        let r = try await call(api, .post, "/api/v1/search", body: #"{"q": "qaurtzite kettle", "operator": "and"}"#, token: nil)
        #expect(r.json["hits"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["W0001"])
    }

    @Test func servingSwitchesToARebuiltGenerationAndRetiresTheOld() throws {
        let (sv0, _, dir) = try Self.serving()
        sv0.close()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var so = ServingIndex.Options()
        so.live.sync = false
        so.watchInterval = 0
        let sv = try ServingIndex(root: dir, options: so)
        defer { sv.close() }
        var old: Searcher? = sv.searcher
        #expect(old?.liveDocCount == 60)
        // A rebuild publishes a generation with 10 products.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let lines = try String(contentsOfFile: url.path + "/corpora/sample-catalog.jsonl", encoding: .utf8).split(separator: "\n").prefix(10)
        let small = dir + ".small.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: small, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: small) }
        let name = try IndexGenerations.begin(root: dir)
        let c = try Corpus(path: small)
        var o = Indexer.Options(threads: 1)
        o.sync = false
        o.progress = false
        _ = try Indexer(corpus: c, directory: dir + "/" + name, options: o).run(schema: c.schema)
        try IndexGenerations.publish(root: dir, name: name, sync: false)
        sv.tick()
        #expect(sv.searcher.liveDocCount == 10)
        #expect(sv.generationName == name)
        #expect(sv.updater != nil, "the server writes to the new generation")
        // The old generation stays while a search holds a snapshot of it.
        let rootFiles = { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("seg_") } }
        sv.tick()
        #expect(try !rootFiles().isEmpty)
        #expect(try old?.doc(forId: "S0050") != nil)
        old = nil
        sv.tick()
        #expect(try rootFiles().isEmpty, "the retired generation was not removed")
    }
}
