import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing
import AisleCatalog
import AisleCommerce
@testable import AisleEngine
@testable import AisleServer

/// Recommendations and what search learns from analytics, over HTTP with real PostgreSQL and
/// Redis: bought together from orders placed through the order store (the co-purchase
/// projection), out-of-stock and the product itself left out, similar products after them;
/// past queries that led to clicks in autocomplete; the behaviour signal reordering a search.
@Suite(.enabled(if: CommerceRoutesEnv.ready, Comment(rawValue: CommerceRoutesEnv.skipped)))
struct RecommendationRoutesTests {
    typealias Answer = CommerceRoutesTests.Answer

    func call(_ app: some ApplicationProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
              headers: HTTPFields = [:]) async throws -> Answer {
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
                let text = String(buffer: r.body)
                return Answer(status: Int(r.status.code), headers: r.headers, body: text.isEmpty ? nil : try JSONValue.parse(text))
            }
        }
    }

    /// The sample catalog's products in the commerce database at 1.00 each, with stock.
    static func catalog(_ stores: CommerceRoutesTests.Stores) throws {
        let ids = (1...60).map { String(format: "S%04d", $0) }
        try stores.catalog.conn.exec("""
            INSERT INTO products (id, title, price) SELECT id, 'Sample ' || id, 1.00 FROM unnest($1::text[]) AS id
            """, [CatalogDatabase.arrayLiteral(ids)])
        try stores.catalog.conn.exec("INSERT INTO inventory (product_id, available) SELECT id, 100000 FROM unnest($1::text[]) AS id",
                                     [CatalogDatabase.arrayLiteral(ids)])
    }

    static func order(_ c: Commerce, customer: Int64, _ products: [String]) throws {
        let req = OrderRequest(shippingAddress: ShippingAddress(line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US"),
                               paymentMethodId: "pm_card_1", expectedTotal: Money(String(products.count))!, idempotencyKey: UUID().uuidString)
        _ = try c.orders.place(customerId: customer, cart: products.map { (productId: $0, quantity: 1) }, request: req)
    }

    @Test func boughtTogetherFirstThenSimilar() async throws {
        let stores = try CommerceRoutesTests.Stores()
        try Self.catalog(stores)
        let c = stores.commerce
        let customer = try c.register(email: "rec@example.com", password: "correct horse", name: "Rec")
        // S0005 (an oak coffee table) in 20 orders: with S0006 in 6 (30%), S0020 in 3, S0007 in 4
        // (out of stock in the index), S0001 in 1.
        var orders: [[String]] = []
        orders += Array(repeating: ["S0005", "S0006"], count: 6)
        orders += Array(repeating: ["S0005", "S0020", "S0007"], count: 3)
        orders += [["S0005", "S0007", "S0001"]]
        orders += Array(repeating: ["S0005"], count: 10)
        orders += Array(repeating: ["S0006", "S0020"], count: 5)   // not S0005's: must not count for it
        for o in orders { try Self.order(c, customer: customer.id, o) }
        #expect(try c.coPurchases.catchUp() != nil)

        let app = Application(router: APIServer(service: ServerTests.service, commerce: .ready(c)).makeRouter())
        let r = try await call(app, .get, "/api/v1/products/S0005/recommendations?limit=8")
        #expect(r.status == 200 && r["product_id"]?.stringValue == "S0005")
        let recs = try #require(r["recommendations"]?.arrayValue)
        let ids = recs.compactMap { $0["id"]?.stringValue }
        let bought = recs.filter { $0["source"]?.stringValue == "bought_together" }
        #expect(bought.compactMap { $0["id"]?.stringValue } == ["S0006", "S0020", "S0001"], "\(ids)")
        #expect(bought.compactMap { $0["orders"]?.numberValue } == [6, 3, 1])
        #expect(bought.compactMap { $0["share"]?.numberValue } == [0.3, 0.15, 0.05])
        #expect(Array(ids.prefix(3)) == ["S0006", "S0020", "S0001"], "bought together comes first: \(ids)")
        // After them, what more-like-this gives with those left out (the similar products are
        // only the in-stock ones sharing a word or the category: fewer than 8 in this catalog).
        let similar = try #require(try ServerTests.service.similar(SimilarRequest(id: "S0005", limit: 5, exclude: ["S0006", "S0020", "S0001"])))
        #expect(Array(ids.dropFirst(3)) == similar.hits.map(\.id), "\(ids)")
        #expect(ids.count > 3 && ids.count <= 8 && Set(ids).count == ids.count, "\(ids)")
        #expect(!ids.contains("S0005") && !ids.contains("S0007"))
        #expect(recs.allSatisfy { $0["in_stock"] == .bool(true) })
        #expect(recs.dropFirst(3).allSatisfy { $0["source"]?.stringValue == "similar" })
        #expect(r["warnings"] == nil)

        // Without commerce: similar products only.
        let plain = Application(router: APIServer(service: ServerTests.service).makeRouter())
        let p = try await call(plain, .get, "/api/v1/products/S0005/recommendations?limit=4")
        #expect(p.status == 200 && p["recommendations"]?.arrayValue?.count == 4)
        #expect(p["recommendations"]?.arrayValue?.allSatisfy { $0["source"]?.stringValue == "similar" } == true)
        // Bad requests.
        #expect(try await call(app, .get, "/api/v1/products/NOPE/recommendations").status == 404)
        for bad in ["limit=0", "limit=51", "limit=x", "colour=red"] {
            let b = try await call(app, .get, "/api/v1/products/S0005/recommendations?\(bad)")
            #expect(b.status == 400 && b["error"]?.stringValue != nil, "\(bad)")
        }
    }

    @Test func pastQueriesAndTheBehaviourSignalLearnFromClicks() async throws {
        let stores = try CommerceRoutesTests.Stores()
        let c = stores.commerce
        var o = APIServer.Options()
        o.feedbackInterval = 0
        let service = try SearchService(searcher: ServerTests.service.searcher)
        let api = APIServer(service: service, options: o, commerce: .ready(c))
        let app = Application(router: api.makeRouter())
        func search(_ body: String) async throws -> [String] {
            try #require(try await call(app, .post, "/api/v1/search", body)["hits"]?.arrayValue).compactMap { $0["id"]?.stringValue }
        }
        let plain = try await search(#"{"q": "table lamp set", "operator": "or", "limit": 10}"#)
        #expect(plain.count >= 5)
        let chosen = plain[4]
        // Twelve shoppers search it and click the fifth product.
        var events: [String] = []
        for i in 0..<12 {
            var h: HTTPFields = [:]
            h[HTTPField.Name("X-Aisle-Session")!] = "shopper-\(i)"
            h[HTTPField.Name("X-Aisle-Device")!] = "desktop"
            let s = try await call(app, .get, "/api/v1/products/search?q=table+lamp+set", headers: h)
            let qid = try #require(s["query_id"]?.stringValue)
            events.append(#"{"type": "click", "session": "shopper-\#(i)", "device": "desktop", "query_id": "\#(qid)", "product_id": "\#(chosen)", "position": 5}"#)
        }
        #expect(try await call(app, .post, "/api/v1/events", "{\"events\": [\(events.joined(separator: ","))]}").status == 202)
        try c.analytics.flush()
        // Before a refresh nothing is learnt; after it, both are.
        let before = try await call(app, .get, "/api/v1/suggest?q=table+la")
        #expect(before.status == 200 && !(before["suggestions"]?.arrayValue ?? []).contains { $0["text"]?.stringValue == "table lamp set" })
        let refreshed = try #require(try api.refreshSearchFeedback())
        #expect(refreshed.queries == 1 && refreshed.pairs == 1, "\(refreshed)")
        let sug = try await call(app, .get, "/api/v1/suggest?q=table+la")
        #expect(sug["suggestions"]?.arrayValue?.first?["text"]?.stringValue == "table lamp set", "\(String(describing: sug.body))")
        let on = try await search(#"{"q": "table lamp set", "operator": "or", "limit": 10, "ranking": {"behaviour": true}}"#)
        let off = try await search(#"{"q": "table lamp set", "operator": "or", "limit": 10}"#)
        #expect(off == plain, "off by default: \(off)")
        #expect(on.firstIndex(of: chosen)! < 4, "the clicked product moves up: \(on)")
        #expect(Set(on) == Set(plain))
    }
}
