import AisleCommerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import AisleEngine
@testable import AisleIndex
@testable import AisleServer

/// Every endpoint and the bad-input cases, on the sample catalog.
@Suite struct ServerTests {
    static let service: SearchService = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let dir = NSTemporaryDirectory() + "aisle-server-\(UUID().uuidString)"
        let c = try! Corpus(path: url.path + "/corpora/sample-catalog.jsonl")
        var o = Indexer.Options(threads: 1)
        o.sync = false
        o.progress = false
        _ = try! Indexer(corpus: c, directory: dir, options: o).run(schema: c.schema)
        return try! SearchService(searcher: try! Searcher.open(directory: dir))
    }()

    func app() -> some ApplicationProtocol {
        Application(router: APIServer(service: Self.service).makeRouter())
    }

    func get(_ uri: String) async throws -> (Int, JSONValue) {
        try await app().test(.router) { client in
            try await client.execute(uri: uri, method: .get) { r in
                (r.status.code, try JSONValue.parse(String(buffer: r.body)))
            }
        }
    }

    func post(_ uri: String, _ body: String) async throws -> (Int, JSONValue) {
        try await app().test(.router) { client in
            try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: body)) { r in
                (r.status.code, try JSONValue.parse(String(buffer: r.body)))
            }
        }
    }

    @Test func health() async throws {
        let (s, v) = try await get("/healthz")
        #expect(s == 200)
        #expect(v["status"]?.stringValue == "ok")
        #expect(v["documents"]?.numberValue == 60)
    }

    /// /healthz is liveness (with the caches' figures); /readyz answers what the readiness hook
    /// says: 503 with the reason while a node is not to receive traffic, 200 once it is.
    @Test func readinessFollowsTheHook() async throws {
        let (hs, hv) = try await get("/healthz")
        #expect(hs == 200 && hv["facet_cache"]?["capacity_bytes"] != nil && hv["stored_block_cache"]?["hits"] != nil)
        let (rs, _) = try await get("/readyz")
        #expect(rs == 200, "without a hook, a server that answers is ready")
        let state = Mutex(false)
        let api = APIServer(service: Self.service, readiness: {
            state.withLock { $0 } ? APIServer.Readiness(ready: true)
                : APIServer.Readiness(ready: false, reason: "catching up with the catalog's change log",
                                      details: [("catalog_position", .string("none"))])
        })
        try await Application(router: api.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { r in
                let v = try JSONValue.parse(String(buffer: r.body))
                #expect(r.status.code == 503 && v["ready"]?.boolValue == false)
                #expect(v["reason"]?.stringValue?.contains("catching up") == true && v["catalog_position"] != nil)
            }
            // Liveness does not depend on readiness.
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status.code == 200) }
            state.withLock { $0 = true }
            try await client.execute(uri: "/readyz", method: .get) { r in
                let v = try JSONValue.parse(String(buffer: r.body))
                #expect(r.status.code == 200)
                #expect(v["ready"]?.boolValue == true)
            }
        }
    }

    @Test func openAPIDocumentIsValidJSON() async throws {
        let (s, v) = try await get("/api/v1/openapi.json")
        #expect(s == 200)
        #expect(v["openapi"]?.stringValue == "3.0.3")
        #expect(v["paths"]?["/api/v1/products/search"] != nil)
        #expect(v["paths"]?["/api/v1/products/{id}"]?["patch"] != nil)
        #expect(v["paths"]?["/api/v1/products/_bulk"]?["post"] != nil)
        #expect(v["components"]?["securitySchemes"]?["bearer"] != nil)
        #expect(v["paths"]?["/{index}/_bulk"]?["post"] != nil && v["paths"]?["/{index}/_doc/{id}"]?["get"] != nil)
        #expect(v["paths"]?["/api/v1/suggest"]?["get"] != nil && v["paths"]?["/{index}/_search"]?["post"] != nil)
        #expect(v["paths"]?["/api/v1/events"]?["post"] != nil && v["paths"]?["/api/v1/analytics/funnel"]?["get"] != nil)
        #expect(v["paths"]?["/readyz"]?["get"] != nil && v["components"]?["schemas"]?["CacheStatistics"] != nil)
    }

    /// The HTML analytics report shows queries as text and fetches nothing.
    @Test func analyticsReportPageEscapesQueries() {
        let hostile = "<script>alert(1)</script> \"sofa\" & 'co'"
        let row = AnalyticsReports.QueryRow(query: hostile, searches: 3, zeroResults: 1, clicks: 1, positionSum: 2, conversions: 1)
        let page = AnalyticsReportPage.html(from: "2026-05-01", to: "2026-05-31", top: [row], zero: [row],
                                            funnel: [AnalyticsReports.FunnelRow(day: "2026-05-02", device: "<b>x</b>", searches: 3, clicks: 1, carts: 1, purchases: 1)],
                                            daily: [("2026-05-02", 3, 1)])
        #expect(!page.contains("<script") && !page.contains("<b>"))
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;sofa&quot; &amp; &#39;co&#39;"))
        // Charts drawn in the file; nothing loaded from anywhere.
        #expect(page.contains("<svg") && !page.contains("src=") && !page.contains("href=") && !page.contains("<link"))
    }

    @Test func storefrontIsServedWithAStrictPolicy() async throws {
        let app = Application(router: APIServer(service: Self.service).makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get, headers: [.accept: "text/html,application/xhtml+xml"]) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
                let csp = r.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
                let html = String(buffer: r.body)
                #expect(html.contains("data-testid=\"search-input\"") && html.contains("/static/app.js"))
                // No inline script or style: every <script> has a src, and no style attributes.
                #expect(!html.contains("<script>") && !html.contains(" style=") && !html.contains("onclick="))
            }
            try await client.execute(uri: "/static/app.js", method: .get) { r in
                #expect(r.status == .ok && r.headers[.contentType]?.hasPrefix("text/javascript") == true)
                let js = String(buffer: r.body)
                // Data reaches the page as text: the script never assigns HTML.
                #expect(!js.contains("innerHTML") && !js.contains("outerHTML") && !js.contains("insertAdjacentHTML") && !js.contains("document.write"))
            }
            for bad in ["/static/..%2FServer.swift", "/static/nope.js", "/static/.hidden", "/static/app.js.bak"] {
                try await client.execute(uri: bad, method: .get) { r in #expect(r.status == .notFound, "\(bad)") }
            }
        }
    }

    @Test func crossSiteWritesAreRefused() async throws {
        let app = Application(router: APIServer(service: Self.service).makeRouter())
        try await app.test(.router) { client in
            // Another site's page (Origin or Sec-Fetch-Site say so): 403 before anything runs.
            for headers: HTTPFields in [[HTTPField.Name("Origin")!: "https://evil.example"], [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"],
                                        [HTTPField.Name("Origin")!: "null"]] {
                for (method, uri) in [(HTTPRequest.Method.post, "/api/v1/sessions"), (.post, "/api/v1/cart/items"), (.delete, "/api/v1/sessions/current"),
                                      (.patch, "/api/v1/products/S0001"), (.post, "/api/v1/orders")] {
                    try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: "{}")) { r in
                        #expect(r.status == .forbidden, "\(method) \(uri) \(headers)")
                        #expect(String(buffer: r.body).contains("cross-site"))
                    }
                }
            }
            // The shop's own page (same origin) and clients that are not browsers pass the guard
            // (and meet the route: here commerce is not configured, so not 403).
            for headers: HTTPFields in [[HTTPField.Name("Origin")!: "http://localhost"], [:], [HTTPField.Name("Sec-Fetch-Site")!: "same-origin"]] {
                try await client.execute(uri: "/api/v1/cart/items", method: .post, headers: headers, body: ByteBuffer(string: "{}")) { r in
                    #expect(r.status != .forbidden, "\(headers): \(r.status)")
                }
            }
            // Reads are not affected.
            try await client.execute(uri: "/api/v1/products/S0001", method: .get, headers: [HTTPField.Name("Origin")!: "https://evil.example"]) { r in
                #expect(r.status == .ok)
            }
        }
    }

    @Test func suggestRoute() async throws {
        // One server (its autocomplete reads the catalog's phrases once); before they are read,
        // products are answered and a warning says so.
        let api = APIServer(service: Self.service)
        func get(_ uri: String) async throws -> (Int, JSONValue) {
            try await Application(router: api.makeRouter()).test(.router) { client in
                try await client.execute(uri: uri, method: .get) { r in (r.status.code, try JSONValue.parse(String(buffer: r.body))) }
            }
        }
        var (s, v) = try await get("/api/v1/suggest?q=coffee%20ta&limit=3")
        #expect(s == 200)
        #expect(v["query"]?.stringValue == "coffee ta*")
        #expect((v["products"]?.arrayValue?.count ?? 0) >= 1 && (v["products"]?.arrayValue?.count ?? 0) <= 3)
        #expect(v["took_us"]?.numberValue != nil && v["suggestions"]?.arrayValue != nil && v["categories"]?.arrayValue != nil)
        for _ in 0..<250 where v["warnings"] != nil {
            try await Task.sleep(nanoseconds: 20_000_000)
            (s, v) = try await get("/api/v1/suggest?q=coffee%20ta&limit=3")
        }
        #expect(v["warnings"] == nil)
        #expect(v["suggestions"]?.arrayValue?.first?["text"]?.stringValue?.hasPrefix("coffee tab") == true, "\(v)")
        for bad in ["/api/v1/suggest?q=a&limit=0", "/api/v1/suggest?q=a&limit=x", "/api/v1/suggest?q=a&bogus=1",
                    "/api/v1/suggest?q=" + String(repeating: "a", count: 201)] {
            let (bs, bv) = try await get(bad)
            #expect(bs == 400 && bv["error"]?.stringValue != nil, "\(bad): \(bs)")
        }
    }

    @Test func categoryPage() async throws {
        let (s, v) = try await get("/api/v1/products/search?category=Furniture+%3E+Living+Room&sort=price_asc&limit=2&page=2")
        #expect(s == 200)
        #expect(v["total"]?.numberValue == 7)
        #expect(v["pages"]?.numberValue == 4)
        #expect(v["page"]?.numberValue == 2)
        let results = try #require(v["results"]?.arrayValue)
        #expect(results.map { $0["id"]?.stringValue } == ["S0004", "S0005"])   // 279.00, 329.50
        #expect(results[0]["brand"]?.stringValue == "Acme Living")
        #expect(results[0]["price"]?.numberValue == 279)
        #expect(results[0]["category"]?.stringValue == "Furniture > Living Room > Accent Chairs")
        #expect(v["facets"]?["brands"]?.arrayValue?.count == 4)
        #expect(v["facets"]?["categories"]?["path"]?.arrayValue?.count == 2)
        #expect((v["facets"]?["price_ranges"]?.arrayValue ?? []).reduce(0) { $0 + ($1["count"]?.numberValue ?? 0) } == 7)
        #expect(v["took_us"]?.numberValue != nil)
    }

    @Test func searchWithBrandsAndPrices() async throws {
        let (s, v) = try await get("/api/v1/products/search?q=chair&brand=Acme+Living&brand=Sunhaven&max_price=200")
        #expect(s == 200)
        let ids = Set((v["results"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
        #expect(ids == ["S0008", "S0055"])   // 189.99 dining chairs, 139.00 bistro chairs
        let snippet = v["results"]?.arrayValue?.first { $0["id"]?.stringValue == "S0055" }?["snippet"]?.stringValue
        #expect(snippet == "Café Bistro <em>Chairs</em>, Set of 2")
        // Multi-select: with only Sunhaven ticked, the brand facet still counts Acme's chairs under the price filter.
        let (_, one) = try await get("/api/v1/products/search?q=chair&brand=Sunhaven&max_price=200")
        #expect(one["results"]?.arrayValue?.map { $0["id"]?.stringValue } == ["S0055"])
        let brands = one["facets"]?["brands"]?.arrayValue ?? []
        #expect(brands.contains { $0["value"]?.stringValue == "Acme Living" && $0["count"]?.numberValue == 1 })
        #expect(brands.contains { $0["value"]?.stringValue == "Sunhaven" && $0["count"]?.numberValue == 1 })
        #expect(!brands.contains { $0["value"]?.stringValue == "Zed Design" })   // its chair costs 259
    }

    /// Lexical retrieval asked for by name answers as the default does on an index without vectors.
    @Test func lexicalRetrievalByName() async throws {
        let (s1, a) = try await get("/api/v1/products/search?q=chair")
        let (s2, b) = try await get("/api/v1/products/search?q=chair&retrieval=lexical")
        #expect(s1 == 200 && s2 == 200)
        #expect(a["results"]?.arrayValue?.map { $0["id"]?.stringValue } == b["results"]?.arrayValue?.map { $0["id"]?.stringValue })
        #expect(a["total"]?.numberValue == b["total"]?.numberValue)
    }

    @Test func postSearchAndProduct() async throws {
        let (s, v) = try await post("/api/v1/search", #"{"q":"lamp","facets":["brand"],"fields":["title"],"limit":1}"#)
        #expect(s == 200)
        #expect(v["hits"]?.arrayValue?.count == 1)
        #expect(v["facets"]?["brand"]?.arrayValue?.first?["value"]?.stringValue == "Lumen")
        let (ps, p) = try await get("/api/v1/products/S0034")
        #expect(ps == 200)
        #expect(p["title"]?.stringValue == "Espresso Machine with Milk Frother")
        #expect(p["price"]?.numberValue == 399)
        #expect(p["brand"]?.stringValue == "Cafeteria")
        let (ns, n) = try await get("/api/v1/products/NOPE")
        #expect(ns == 404)
        #expect(n["error"]?.stringValue?.contains("no product") == true)
    }

    @Test(arguments: [
        ("/api/v1/products/search?colour=red", "unknown parameter \"colour\""),
        ("/api/v1/products/search?limit=5000", "limit must be an integer from 1 to 100"),
        ("/api/v1/products/search?limit=ten", "limit must be an integer"),
        ("/api/v1/products/search?page=0", "page must be an integer"),
        ("/api/v1/products/search?min_price=cheap", "min_price must be a number"),
        ("/api/v1/products/search?min_price=50&max_price=10", "above maximum"),
        ("/api/v1/products/search?sort=cheapest", "sort must be one of"),
        ("/api/v1/products/search?in_stock=maybe", "in_stock must be true or false"),
        ("/api/v1/products/search?q=%ZZ", "malformed percent escape"),
        ("/api/v1/products/search?q=a&q=b", "given 2 times"),
        ("/api/v1/products/search?page=600&limit=20", "beyond the first 10000"),
        ("/api/v1/products/search?q=chair&retrieval=semantic", "retrieval must be one of lexical, vector, hybrid"),
        ("/api/v1/products/search?q=chair&retrieval=hybrid", "needs a vector field, and this index has none"),
    ])
    func badQueries(_ uri: String, _ fragment: String) async throws {
        let (s, v) = try await get(uri)
        #expect(s == 400, "\(uri)")
        #expect(v["error"]?.stringValue?.contains(fragment) == true, "\(uri): \(v)")
    }

    @Test func longQueryIsRejected() async throws {
        let (s, v) = try await get("/api/v1/products/search?q=" + String(repeating: "a+", count: 1500))
        #expect(s == 400)
        #expect(v["error"]?.stringValue?.contains("limit is 2000") == true)
    }

    @Test(arguments: [
        ("{oops", "invalid JSON"),
        ("", "body is empty"),
        (#"{"q":"x","limit":99999}"#, "limit must be between"),
        (#"{"q":"x","wat":1}"#, "unknown key \"wat\""),
        (#"{"q":"x","filters":{"colour":"red"}}"#, "unknown filter"),
        (#"[1,2]"#, "must be a JSON object"),
        (#"{"q":"x","retrieval":"vector"}"#, "needs a vector field"),
        (#"{"q":"x","retrieval":{"mode":"hybrid","fusion":"max"}}"#, "retrieval fusion must be one of rrf, linear"),
        (#"{"q":"x","retrieval":{"vector_weight":2}}"#, "vector_weight must be a number between 0 and 1"),
    ])
    func badBodies(_ body: String, _ fragment: String) async throws {
        let (s, v) = try await post("/api/v1/search", body)
        #expect(s == 400)
        #expect(v["error"]?.stringValue?.contains(fragment) == true, "\(body): \(v)")
    }

    @Test func oversizedBody() async throws {
        let big = #"{"q":""# + String(repeating: "a", count: 70_000) + #""}"#
        let (s, v) = try await post("/api/v1/search", big)
        #expect(s == 413)
        #expect(v["error"]?.stringValue?.contains("larger than") == true)
    }
}
