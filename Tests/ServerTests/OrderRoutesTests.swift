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

/// The order and inventory routes over HTTP, with real PostgreSQL and Redis: status codes, error
/// codes and their details, idempotent replays byte for byte, the shop's token, bad input.
@Suite(.enabled(if: CommerceRoutesEnv.ready, Comment(rawValue: CommerceRoutesEnv.skipped)))
struct OrderRoutesTests {
    typealias Answer = CommerceRoutesTests.Answer

    func call(_ app: some ApplicationProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
              headers: HTTPFields = [:]) async throws -> (Answer, String) {
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
                let text = String(buffer: r.body)
                return (Answer(status: Int(r.status.code), headers: r.headers, body: text.isEmpty ? nil : try JSONValue.parse(text)), text)
            }
        }
    }

    static let body = #"{"shipping_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}, "payment_method_id": "pm_card_1", "expected_total": "%@"}"#

    @Test func placeReplayTransitionAndRead() async throws {
        let stores = try CommerceRoutesTests.Stores()
        let c = stores.commerce
        let app = Application(router: APIServer(service: ServerTests.service, token: "shop-token", commerce: .ready(c)).makeRouter())
        _ = try c.register(email: "ann@example.com", password: "correct horse", name: "Ann")
        let s = try c.logIn(email: "ann@example.com", password: "correct horse", guestToken: nil)
        var auth: HTTPFields = [.authorization: "Bearer \(s.token)"]
        let shop: HTTPFields = [.authorization: "Bearer shop-token"]
        _ = try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 3}"#, headers: auth)

        // No key, a malformed body, a stale total: nothing is placed.
        #expect(try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.30"), headers: auth).0.status == 400)
        auth[HTTPField.Name("Idempotency-Key")!] = "order-1"
        let noAddress = try await call(app, .post, "/api/v1/orders", #"{"payment_method_id": "pm_1", "expected_total": "0.30"}"#, headers: auth)
        #expect(noAddress.0.status == 400 && noAddress.0["error"]?.stringValue?.contains("shipping_address") == true)
        let badTotal = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.3x"), headers: auth)
        #expect(badTotal.0.status == 400 && badTotal.0["error"]?.stringValue?.contains("expected_total") == true)
        let stale = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.20"), headers: auth)
        #expect(stale.0.status == 409 && stale.0["error"]?.stringValue == "totals_changed" && stale.0["total"]?.stringValue == "0.30")
        let guest = try c.startGuestSession()
        let asGuest = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.30"),
                                     headers: [.authorization: "Bearer \(guest.token)", HTTPField.Name("Idempotency-Key")!: "g"])
        #expect(asGuest.0.status == 401)

        // Placed, then the same request again: the same bytes.
        let placed = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.30"), headers: auth)
        #expect(placed.0.status == 201 && placed.0["status"]?.stringValue == "pending" && placed.0["total"]?.stringValue == "0.30")
        let id = try #require(placed.0["id"]?.numberValue).description.replacingOccurrences(of: ".0", with: "")
        #expect(placed.0.headers[.location] == "/api/v1/orders/\(id)")
        #expect(placed.0["lines"]?.arrayValue?.first?["title"]?.stringValue == "A <b>dime</b>")
        let replay = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.30"), headers: auth)
        #expect(replay.0.status == 201 && replay.1 == placed.1)
        let reused = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0.31"), headers: auth)
        #expect(reused.0.status == 422 && reused.0["error"]?.stringValue == "idempotency_key_reused")
        auth[HTTPField.Name("Idempotency-Key")!] = "order-2"
        let empty = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "0"), headers: auth)
        #expect(empty.0.status == 409 && empty.0["error"]?.stringValue == "cart_empty")

        // Out of stock names the product and what is left.
        _ = try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 98}"#, headers: auth)
        let short = try await call(app, .post, "/api/v1/orders", String(format: Self.body, "9.80"), headers: auth)
        #expect(short.0.status == 409 && short.0["error"]?.stringValue == "out_of_stock" && short.0["product_id"]?.stringValue == "dime"
                && short.0["available"]?.numberValue == 97)

        // The shop's transitions need the token; illegal ones are 409 with the status.
        #expect(try await call(app, .post, "/api/v1/orders/\(id)/payment", "{}", headers: auth).0.status == 401)
        let paid = try await call(app, .post, "/api/v1/orders/\(id)/payment", #"{"reference": "ch_1"}"#, headers: shop)
        #expect(paid.0.status == 200 && paid.0["status"]?.stringValue == "paid" && paid.0["payment_reference"]?.stringValue == "ch_1")
        let early = try await call(app, .post, "/api/v1/orders/\(id)/delivery", "{}", headers: shop)
        #expect(early.0.status == 409 && early.0["error"]?.stringValue == "illegal_transition" && early.0["status"]?.stringValue == "paid")
        #expect(try await call(app, .post, "/api/v1/orders/\(id)/shipment", #"{"carrier": "UPS", "oops": 1}"#, headers: shop).0.status == 400)
        #expect(try await call(app, .post, "/api/v1/orders/\(id)/shipment", #"{"carrier": "UPS"}"#, headers: shop).0.status == 200)
        let cancel = try await call(app, .post, "/api/v1/orders/\(id)/cancel", "{}", headers: auth)
        #expect(cancel.0.status == 409 && cancel.0["transition"]?.stringValue == "cancel")

        // Reading: owner or shop; the audit trail; as_of; the history from the read model.
        #expect(try await call(app, .get, "/api/v1/orders/\(id)", headers: auth).0["status"]?.stringValue == "shipped")
        #expect(try await call(app, .get, "/api/v1/orders/\(id)", headers: shop).0.status == 200)
        #expect(try await call(app, .get, "/api/v1/orders/\(id)", headers: [.authorization: "Bearer \(guest.token)"]).0.status == 401)
        #expect(try await call(app, .get, "/api/v1/orders/999999", headers: shop).0.status == 404)
        #expect(try await call(app, .get, "/api/v1/orders/abc", headers: shop).0.status == 400)
        let trail = try await call(app, .get, "/api/v1/orders/\(id)/events", headers: auth)
        let events = try #require(trail.0["events"]?.arrayValue)
        #expect(events.map { $0["type"]?.stringValue ?? "" } == ["OrderPlaced", "OrderPaid", "OrderShipped"])
        #expect(events[1]["data"]?["reference"]?.stringValue == "ch_1" && events[1]["actor"]?.stringValue == "shop")
        let placedAt = try #require(events[0]["occurred_at"]?.stringValue)
        #expect(try await call(app, .get, "/api/v1/orders/\(id)?as_of=\(placedAt)", headers: auth).0["status"]?.stringValue == "pending")
        #expect(try await call(app, .get, "/api/v1/orders/\(id)?as_of=yesterday", headers: auth).0.status == 400)
        #expect(try await call(app, .get, "/api/v1/orders/\(id)?as_of=2000-01-01T00:00:00Z", headers: auth).0.status == 404)
        _ = try c.projector.catchUp()
        let history = try await call(app, .get, "/api/v1/orders?limit=5", headers: auth)
        #expect(history.0.status == 200 && history.0["orders"]?.arrayValue?.count == 1 && history.0["orders"]?.arrayValue?.first?["status"]?.stringValue == "shipped")
        #expect(try await call(app, .get, "/api/v1/orders?limit=0", headers: auth).0.status == 400)
        #expect(try await call(app, .get, "/api/v1/orders?page=2", headers: auth).0.status == 400)
    }

    @Test func inventoryReadsAndGuardedWrites() async throws {
        let stores = try CommerceRoutesTests.Stores()
        let app = Application(router: APIServer(service: ServerTests.service, token: "shop-token", commerce: .ready(stores.commerce)).makeRouter())
        let shop: HTTPFields = [.authorization: "Bearer shop-token"]
        let level = try await call(app, .get, "/api/v1/inventory/dime")
        #expect(level.0.status == 200 && level.0["available"]?.numberValue == 100 && level.0["sellable"]?.numberValue == 100)
        #expect(try await call(app, .get, "/api/v1/inventory/a%20b%2Fc").0["product_id"]?.stringValue == "a b/c")
        #expect(try await call(app, .get, "/api/v1/inventory/nope").0.status == 404)
        #expect(try await call(app, .put, "/api/v1/inventory/dime", #"{"available": 5}"#).0.status == 401)
        let stale = try await call(app, .put, "/api/v1/inventory/dime", #"{"available": 5, "if_available": 99}"#, headers: shop)
        #expect(stale.0.status == 409 && stale.0["error"]?.stringValue == "stale_stock" && stale.0["available"]?.numberValue == 100)
        let set = try await call(app, .put, "/api/v1/inventory/dime", #"{"available": 5, "if_available": 100, "reason": "count"}"#, headers: shop)
        #expect(set.0.status == 200 && set.0["available"]?.numberValue == 5)
        #expect(try await call(app, .put, "/api/v1/inventory/dime", #"{"available": "5"}"#, headers: shop).0.status == 400)
        #expect(try await call(app, .put, "/api/v1/inventory/dime", #"{"available": 5, "reason": "DROP TABLE"}"#, headers: shop).0.status == 400)
        #expect(try stores.commerce.inventory.movements("dime").map(\.reason) == ["opening", "count"])
        // Without a configured token the shop's writes are disabled.
        let open = Application(router: APIServer(service: ServerTests.service, commerce: .ready(stores.commerce)).makeRouter())
        #expect(try await call(open, .put, "/api/v1/inventory/dime", #"{"available": 5}"#, headers: shop).0.status == 403)
    }
}
