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

/// The commerce routes over HTTP, with real PostgreSQL and Redis (`scripts/test.sh` starts them):
/// status codes, cookies, bearer tokens, ETag / If-Match, bad input, a store that is down.
enum CommerceRoutesEnv {
    static let database = ProcessInfo.processInfo.environment["AISLE_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let redis = ProcessInfo.processInfo.environment["AISLE_TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let ready = database != nil && redis != nil
    static let skipped = "AISLE_TEST_DATABASE_URL and AISLE_TEST_REDIS_URL are not both set: commerce route tests skipped (scripts/test.sh starts PostgreSQL and Redis)"
}

@Suite(.enabled(if: CommerceRoutesEnv.ready, Comment(rawValue: CommerceRoutesEnv.skipped)))
struct CommerceRoutesTests {

    /// A database of its own with two products, and a Redis key prefix of its own.
    final class Stores {
        let admin: PGConnection
        let name: String
        let catalog: CatalogDatabase
        let commerce: Commerce

        init(redisURL: String? = nil) throws {
            let base = CommerceRoutesEnv.database!
            admin = try PGConnection(url: base)
            name = "aisle_h_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            try admin.exec("CREATE DATABASE \(name)")
            var url = base
            if let q = url.firstIndex(of: "?") { url = String(url[..<q]) }
            url = String(url[..<url.range(of: "/", options: .backwards)!.lowerBound]) + "/" + name
            catalog = try CatalogDatabase(url: url)
            try catalog.conn.execScript("""
            INSERT INTO products (id, title, price) VALUES ('dime', 'A <b>dime</b>', 0.10), ('a b/c', 'Odd id', 2.50);
            INSERT INTO products (id, title, price, status) VALUES ('old', 'Old', 1, 'discontinued');
            INSERT INTO inventory (product_id, available) VALUES ('dime', 100), ('a b/c', 100);
            """)
            var c = CommerceConfig()
            c.keyPrefix = "h\(UUID().uuidString.prefix(8)):"
            c.password.memoryKiB = 1024
            commerce = try Commerce(redis: try RedisPool(url: redisURL ?? CommerceRoutesEnv.redis!), postgres: PostgresPool(url: url), config: c)
        }

        deinit { _ = try? admin.exec("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }

    struct Answer {
        var status: Int
        var headers: HTTPFields
        var body: JSONValue?
        subscript(_ key: String) -> JSONValue? { body?[key] }
    }

    func app(_ mount: CommerceMount) -> some ApplicationProtocol {
        Application(router: APIServer(service: ServerTests.service, commerce: mount).makeRouter())
    }

    func call(_ app: some ApplicationProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
              headers: HTTPFields = [:]) async throws -> Answer {
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
                let text = String(buffer: r.body)
                return Answer(status: Int(r.status.code), headers: r.headers, body: text.isEmpty ? nil : try JSONValue.parse(text))
            }
        }
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    @Test func guestCartWithTheCookieThenLoginMergesIt() async throws {
        let stores = try Stores()
        let app = app(.ready(stores.commerce))
        let start = try await call(app, .post, "/api/v1/sessions")
        #expect(start.status == 201 && start["kind"]?.stringValue == "guest" && start["customer_id"]?.isNull == true)
        let token = try #require(start["token"]?.stringValue)
        let cookie = try #require(start.headers[.setCookie])
        #expect(cookie == "aisle_session=\(token); Path=/; Max-Age=1800; HttpOnly; SameSite=Strict")
        let jar: HTTPFields = [.cookie: "theme=dark; aisle_session=\(token)"]

        let add = try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 3}"#, headers: jar)
        #expect(add.status == 200 && add["quantity"]?.numberValue == 3 && add.headers[.eTag] == "\"1\"")
        let cart = try await call(app, .get, "/api/v1/cart", headers: jar)
        #expect(cart.status == 200 && cart.headers[.eTag] == "\"1\"")
        #expect(cart["total"]?.stringValue == "0.30" && cart["currency"]?.stringValue == "USD" && cart["item_count"]?.numberValue == 3)
        let line = try #require(cart["items"]?.arrayValue?.first)
        #expect(line["price"]?.stringValue == "0.10" && line["subtotal"]?.stringValue == "0.30" && line["name"]?.stringValue == "A <b>dime</b>")

        let reg = try await call(app, .post, "/api/v1/customers", #"{"email": "Ann@Example.com", "password": "correct horse", "name": "Ann"}"#)
        #expect(reg.status == 201 && reg["email"]?.stringValue == "Ann@Example.com" && reg["id"]?.numberValue != nil)
        #expect(reg.body.map { "\($0)" }?.contains("correct horse") == false)
        let dup = try await call(app, .post, "/api/v1/customers", #"{"email": "ann@example.com", "password": "correct horse", "name": "Ann"}"#)
        #expect(dup.status == 409)

        // Logging in with the guest cookie merges its cart and ends the guest session.
        let login = try await call(app, .post, "/api/v1/sessions", #"{"email": "ann@example.com", "password": "correct horse"}"#, headers: jar)
        #expect(login.status == 201 && login["kind"]?.stringValue == "customer" && login["merged_lines"]?.numberValue == 1)
        let customerToken = try #require(login["token"]?.stringValue)
        #expect(login.headers[.setCookie]?.contains("Max-Age=1209600; HttpOnly; SameSite=Strict") == true)
        let mine = try await call(app, .get, "/api/v1/cart", headers: Self.bearer(customerToken))
        #expect(mine["items"]?.arrayValue?.first?["quantity"]?.numberValue == 3)
        #expect(try await call(app, .get, "/api/v1/cart", headers: jar).status == 401)

        let me = try await call(app, .get, "/api/v1/customers/me", headers: Self.bearer(customerToken))
        #expect(me.status == 200 && me["name"]?.stringValue == "Ann")
        let patched = try await call(app, .patch, "/api/v1/customers/me",
                                     #"{"name": "Ann B", "shipping_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}}"#,
                                     headers: Self.bearer(customerToken))
        #expect(patched.status == 200 && patched["shipping_address"]?["city"]?.stringValue == "Springfield")

        let out = try await call(app, .delete, "/api/v1/sessions/current", headers: Self.bearer(customerToken))
        #expect(out.status == 204 && out.headers[.setCookie]?.contains("Max-Age=0") == true)
        #expect(try await call(app, .get, "/api/v1/customers/me", headers: Self.bearer(customerToken)).status == 401)
    }

    @Test func wrongPasswordAndUnknownEmailLookTheSame() async throws {
        let stores = try Stores()
        let app = app(.ready(stores.commerce))
        _ = try await call(app, .post, "/api/v1/customers", #"{"email": "ann@example.com", "password": "correct horse", "name": "Ann"}"#)
        let wrong = try await call(app, .post, "/api/v1/sessions", #"{"email": "ann@example.com", "password": "wrong horse"}"#)
        let unknown = try await call(app, .post, "/api/v1/sessions", #"{"email": "zed@example.com", "password": "wrong horse"}"#)
        #expect(wrong.status == 401 && unknown.status == 401 && wrong.body == unknown.body)
        for _ in 0..<4 { _ = try await call(app, .post, "/api/v1/sessions", #"{"email": "ann@example.com", "password": "wrong horse"}"#) }
        let throttled = try await call(app, .post, "/api/v1/sessions", #"{"email": "ann@example.com", "password": "correct horse"}"#)
        #expect(throttled.status == 429 && Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 0)
    }

    @Test func ifMatchAndETag() async throws {
        let stores = try Stores()
        let app = app(.ready(stores.commerce))
        let token = try #require(try await call(app, .post, "/api/v1/sessions", "{}")["token"]?.stringValue)
        var h = Self.bearer(token)
        _ = try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 1}"#, headers: h)
        h[.ifMatch] = "\"0\""
        let stale = try await call(app, .patch, "/api/v1/cart/items/dime", #"{"quantity": 5}"#, headers: h)
        #expect(stale.status == 412 && stale["version"]?.numberValue == 1 && stale.headers[.eTag] == "\"1\"")
        h[.ifMatch] = "\"1\""
        let fresh = try await call(app, .patch, "/api/v1/cart/items/dime", #"{"quantity": 5}"#, headers: h)
        #expect(fresh.status == 200 && fresh["quantity"]?.numberValue == 5 && fresh.headers[.eTag] == "\"2\"")
        h[.ifMatch] = "soon"
        #expect(try await call(app, .delete, "/api/v1/cart", headers: h).status == 400)
        h[.ifMatch] = "2"
        let cleared = try await call(app, .delete, "/api/v1/cart", headers: h)
        #expect(cleared.status == 200 && cleared["version"]?.numberValue == 3)
    }

    @Test func badInputGetsAClearErrorAndChangesNothing() async throws {
        let stores = try Stores()
        let app = app(.ready(stores.commerce))
        let token = try #require(try await call(app, .post, "/api/v1/sessions")["token"]?.stringValue)
        let h = Self.bearer(token)
        let cases: [(HTTPRequest.Method, String, String?, Int, String)] = [
            (.post, "/api/v1/cart/items", "{", 400, "not valid JSON"),
            (.post, "/api/v1/cart/items", "[1]", 400, "must be a JSON object"),
            (.post, "/api/v1/cart/items", "", 400, "JSON object body"),
            (.post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 1.5}"#, 400, "whole number"),
            (.post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 1e300}"#, 400, "whole number"),
            (.post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": "2"}"#, 400, "whole number"),
            (.post, "/api/v1/cart/items", #"{"product_id": 7, "quantity": 1}"#, 400, "product_id must be a string"),
            (.post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 1, "qty": 2}"#, 400, "unknown field qty"),
            (.post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 0}"#, 400, "quantity must be"),
            (.post, "/api/v1/cart/items", #"{"product_id": "nope", "quantity": 1}"#, 404, "no product"),
            (.post, "/api/v1/cart/items", #"{"product_id": "old", "quantity": 1}"#, 409, "not for sale"),
            (.patch, "/api/v1/cart/items/dime", #"{"quantity": 1}"#, 404, "not in the cart"),
            (.patch, "/api/v1/cart/items/%zz", #"{"quantity": 1}"#, 400, "percent escape"),
            (.delete, "/api/v1/cart/items/dime", nil, 404, "not in the cart"),
            (.post, "/api/v1/customers", #"{"email": "x", "password": "correct horse", "name": "X"}"#, 400, "email must be"),
            (.post, "/api/v1/sessions", #"{"guest_token": "abc"}"#, 400, "unknown field"),
            (.post, "/api/v1/cart/items", String(repeating: " ", count: 70_000), 413, "larger than"),
        ]
        for (method, uri, body, status, message) in cases {
            let a = try await call(app, method, uri, body, headers: h)
            #expect(a.status == status && a["error"]?.stringValue?.contains(message) == true, "\(method) \(uri) \(body?.prefix(60) ?? ""): \(a.status) \(String(describing: a.body))")
        }
        // Percent-encoded ids in the path reach the right line.
        _ = try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "a b/c", "quantity": 2}"#, headers: h)
        let odd = try await call(app, .patch, "/api/v1/cart/items/a%20b%2Fc", #"{"quantity": 4}"#, headers: h)
        #expect(odd.status == 200 && odd["quantity"]?.numberValue == 4)
        let cart = try await call(app, .get, "/api/v1/cart", headers: h)
        #expect(cart["items"]?.arrayValue?.count == 1 && cart["version"]?.numberValue == 2)
        // No session, a malformed one, a wrong scheme: 401 naming what to do.
        for headers: HTTPFields in [[:], [.authorization: "Bearer nope"], [.authorization: "Basic abc"], [.cookie: "aisle_session="]] {
            let a = try await call(app, .get, "/api/v1/cart", headers: headers)
            #expect(a.status == 401 && a["error"]?.stringValue?.contains("session") == true)
        }
    }

    @Test func notConfiguredOrStoreDownIs503AndSearchGoesOn() async throws {
        let missing = app(.missing(APIServer.commerceNotConfigured))
        let a = try await call(missing, .get, "/api/v1/cart")
        #expect(a.status == 503 && a["error"]?.stringValue?.contains("REDIS_URL") == true)
        #expect(try await call(missing, .get, "/api/v1/products/search?q=sofa").status == 200)

        let stores = try Stores(redisURL: "redis://127.0.0.1:1/0")
        let down = app(.ready(stores.commerce))
        let b = try await call(down, .post, "/api/v1/sessions")
        #expect(b.status == 503 && b["error"]?.stringValue == "cart store unavailable: Redis at 127.0.0.1:1: Connection refused")
        #expect(b.headers[.retryAfter] == "1")
        #expect(try await call(down, .get, "/api/v1/products/search?q=sofa").status == 200)
        // Customers live in PostgreSQL: registering still works.
        #expect(try await call(down, .post, "/api/v1/customers", #"{"email": "a@b.co", "password": "correct horse", "name": "A"}"#).status == 201)
    }

    /// Searches are recorded with a query id; the storefront's events are checked, queued and
    /// written; the rollups count them (issue 19).
    @Test func searchesAndEventsAreRecorded() async throws {
        let stores = try Stores()
        let app = app(.ready(stores.commerce))
        var h: HTTPFields = [:]
        h[HTTPField.Name("X-Aisle-Session")!] = "sess-1"
        h[HTTPField.Name("X-Aisle-Device")!] = "phone"
        let s = try await call(app, .get, "/api/v1/products/search?q=sofa", headers: h)
        let qid = try #require(s["query_id"]?.stringValue)
        #expect(s.status == 200 && qid.count == 36)
        let again = try await call(app, .get, "/api/v1/products/search?q=sofa", headers: h)
        #expect(again["query_id"]?.stringValue != qid)
        let browse = try await call(app, .get, "/api/v1/products/search?category=Furniture")
        #expect(browse["query_id"]?.stringValue?.count == 36)   // an id, though a browse page is not recorded

        let events = """
        {"events": [
          {"type": "click", "session": "sess-1", "device": "phone", "query_id": "\(qid)", "product_id": "S0001", "position": 2},
          {"type": "view", "session": "sess-1", "device": "phone", "product_id": "S0001", "at": 1780000000000},
          {"type": "add_to_cart", "session": "sess-1", "device": "phone", "product_id": "S0001", "quantity": 1},
          {"type": "purchase", "session": "sess-1", "device": "phone", "order_id": "42"}
        ]}
        """
        let ok = try await call(app, .post, "/api/v1/events", events)
        #expect(ok.status == 202 && ok["accepted"]?.numberValue == 4 && ok["dropped"]?.numberValue == 0, "\(String(describing: ok.body))")
        #expect(try stores.commerce.analytics.flush() == 6)   // the two searches with words (not the browse page) and the four events
        let db = stores.catalog.conn
        let row = try db.exec("SELECT searches, zero_results, clicks, position_sum, conversions FROM analytics_query_daily WHERE query = 'sofa' AND device = 'phone'").rows
        #expect(row.count == 1 && row[0] == ["2", "0", "1", "2", "1"], "\(row)")
        let funnel = try db.exec("SELECT sum(searches), sum(clicks), sum(carts), sum(purchases) FROM analytics_funnel_daily").rows
        #expect(funnel.first == ["2", "1", "1", "1"], "\(funnel)")

        // Bad events: a 400 that names the event and the field; nothing is queued.
        for (body, says) in [
            (#"{"events": [{"type": "click", "session": "s", "device": "d", "query_id": "q", "product_id": "p", "position": 0}]}"#, "events[0].position"),
            (#"{"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p"}, {"type": "search", "session": "s", "device": "d"}]}"#, "events[1].type"),
            (#"{"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p", "colour": "red"}]}"#, "events[0].colour"),
            (#"{"events": [{"type": "purchase", "session": "s", "device": "d"}]}"#, "events[0].order_id"),
            (#"{"events": [{"type": "view", "device": "d", "product_id": "p"}]}"#, "events[0].session"),
            // Would wrap round into the accepted range if multiplied to microseconds unchecked.
            (#"{"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p", "at": 9000000000000000000}]}"#, "events[0].at"),
            (#"{"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p", "at": -1}]}"#, "events[0].at"),
            (#"{"events": {}}"#, "events must be an array"),
            (#"[1, 2]"#, "JSON object"),
            (#"{"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p"#, "not valid JSON"),
        ] {
            let r = try await call(app, .post, "/api/v1/events", body)
            #expect(r.status == 400 && (r["error"]?.stringValue ?? "").contains(says), "\(body): \(String(describing: r.body))")
        }
        #expect(stores.commerce.analytics.queued == 0)
        // Too many events, or too many bytes: 413.
        let one = #"{"type": "view", "session": "s", "device": "d", "product_id": "p"}"#
        let many = "{\"events\": [" + Array(repeating: one, count: 1_001).joined(separator: ",") + "]}"
        #expect(try await call(app, .post, "/api/v1/events", many).status == 413)
        let huge = "{\"events\": [{\"type\": \"view\", \"session\": \"" + String(repeating: "x", count: 1 << 20) + "\"}]}"
        #expect(try await call(app, .post, "/api/v1/events", huge).status == 413)
        // Without the commerce database: 503, and searches go on.
        let none = self.app(.missing("not configured"))
        let missing = try await call(none, .post, "/api/v1/events", #"{"events": []}"#)
        #expect(missing.status == 503 && missing.headers[.retryAfter] != nil)
        #expect(try await call(none, .get, "/api/v1/products/search?q=sofa").status == 200)
    }

    /// A purchase carries its lines (issue 19: purchase = order id and lines): `lines`, or the
    /// one-product form; one event row per line; the funnel counts the purchase once; an order
    /// placed over HTTP records its purchase with the order's lines. Bad lines are a 400 naming
    /// the event, the line and the field.
    @Test func purchasesCarryTheirLines() async throws {
        let stores = try Stores()
        let c = stores.commerce
        let app = app(.ready(c))
        let at = 1_780_000_000_000
        let events = """
        {"events": [
          {"type": "purchase", "session": "s1", "device": "phone", "order_id": "o1", "at": \(at),
           "lines": [{"product_id": "p1", "quantity": 2}, {"product_id": "p2"}, {"product_id": "p1", "quantity": 1}]},
          {"type": "purchase", "session": "s1", "device": "phone", "order_id": "o2", "at": \(at + 1), "product_id": "p3", "quantity": 4},
          {"type": "purchase", "session": "s1", "device": "phone", "order_id": "o3", "at": \(at + 2)},
          {"type": "purchase", "session": "s1", "device": "phone", "order_id": "o4", "at": \(at + 3), "lines": []}
        ]}
        """
        let ok = try await call(app, .post, "/api/v1/events", events)
        #expect(ok.status == 202 && ok["accepted"]?.numberValue == 4, "\(String(describing: ok.body))")
        #expect(try c.analytics.flush() == 4)
        let db = stores.catalog.conn
        let rows = try db.exec("SELECT order_id, product_id, quantity FROM analytics_events WHERE kind = 'purchase' ORDER BY order_id, product_id, quantity").rows
        #expect(rows == [["o1", "p1", "1"], ["o1", "p1", "2"], ["o1", "p2", "1"], ["o2", "p3", "4"], ["o3", nil, nil], ["o4", nil, nil]], "\(rows)")
        #expect(try db.exec("SELECT purchases FROM analytics_funnel_daily")[0, 0] == "4", "four orders, six rows")

        for (body, says) in [
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p", "quantity": 0}]}"#,
             "events[0].lines[0].quantity must be from 1 to 10000"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p"}, {"quantity": 2}]}"#,
             "events[0].lines[1].product_id is required"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p", "colour": "red"}]}"#,
             "events[0].lines[0].colour"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": ""}]}"#,
             "events[0].lines[0].product_id must not be empty"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p", "quantity": 1.5}]}"#,
             "events[0].lines[0].quantity must be a whole number"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": {"product_id": "p"}}"#,
             "events[0].lines must be an array"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": ["p"]}"#,
             "events[0].lines[0] must be an object"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "product_id": "p", "lines": [{"product_id": "p"}]}"#,
             "events[0].product_id cannot be given with lines"),
            (#"{"type": "purchase", "session": "s", "device": "d", "order_id": "o", "quantity": 2}"#,
             "events[0].quantity needs product_id"),
            (#"{"type": "view", "session": "s", "device": "d", "product_id": "p", "lines": [{"product_id": "p"}]}"#,
             "events[0].lines is only for purchase events"),
            ("{\"type\": \"purchase\", \"session\": \"s\", \"device\": \"d\", \"order_id\": \"o\", \"lines\": ["
                + Array(repeating: #"{"product_id": "p"}"#, count: 101).joined(separator: ",") + "]}",
             "events[0].lines has 101 lines; at most 100"),
        ] {
            let r = try await call(app, .post, "/api/v1/events", #"{"events": ["# + body + "]}")
            #expect(r.status == 400 && (r["error"]?.stringValue ?? "").contains(says), "\(body): \(String(describing: r.body))")
        }
        // A bad line in the third event: named, nothing of the batch queued.
        let third = """
        {"events": [{"type": "view", "session": "s", "device": "d", "product_id": "p"}, {"type": "view", "session": "s", "device": "d", "product_id": "p"},
                    {"type": "purchase", "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p", "quantity": 10001}]}]}
        """
        let r = try await call(app, .post, "/api/v1/events", third)
        #expect(r.status == 400 && r["error"]?.stringValue == "events[2].lines[0].quantity must be from 1 to 10000", "\(String(describing: r.body))")
        #expect(c.analytics.queued == 0)

        // An order placed over HTTP records its purchase with its lines (not again on a replay).
        _ = try c.register(email: "ann@example.com", password: "correct horse", name: "Ann")
        let s = try c.logIn(email: "ann@example.com", password: "correct horse", guestToken: nil)
        var auth = Self.bearer(s.token)
        auth[HTTPField.Name("X-Aisle-Session")!] = "sess-9"
        auth[HTTPField.Name("X-Aisle-Device")!] = "desktop"
        #expect(try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "dime", "quantity": 3}"#, headers: auth).status == 200)
        #expect(try await call(app, .post, "/api/v1/cart/items", #"{"product_id": "a b/c", "quantity": 1}"#, headers: auth).status == 200)
        auth[HTTPField.Name("Idempotency-Key")!] = "order-lines-1"
        let order = #"{"shipping_address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}, "payment_method_id": "pm_card_1", "expected_total": "2.80"}"#
        let placed = try await call(app, .post, "/api/v1/orders", order, headers: auth)
        #expect(placed.status == 201, "\(String(describing: placed.body))")
        let id = try #require(placed["id"]?.numberValue).description.replacingOccurrences(of: ".0", with: "")
        #expect(try await call(app, .post, "/api/v1/orders", order, headers: auth).status == 201)   // a replay
        #expect(try c.analytics.flush() == 1)
        let bought = try db.exec("SELECT session, device, product_id, quantity FROM analytics_events WHERE kind = 'purchase' AND order_id = $1 ORDER BY product_id", [id]).rows
        #expect(bought == [["sess-9", "desktop", "a b/c", "1"], ["sess-9", "desktop", "dime", "3"]], "\(bought)")
    }

    /// The reports read the rollups: top queries with click-through, mean click position and
    /// conversion; zero-result queries; the funnel by day and device. The API token is needed.
    @Test func analyticsReportsReadTheRollups() async throws {
        let stores = try Stores()
        let app = Application(router: APIServer(service: ServerTests.service, token: "tok", commerce: .ready(stores.commerce)).makeRouter())
        let day1: Int64 = 1_780_000_000_000_000, day2 = day1 + 86_400_000_000   // 2026-05-28 and -29
        func search(_ id: String, _ q: String, _ total: Int, at: Int64, session: String, device: String) -> AnalyticsEvent {
            AnalyticsEvent(kind: .search, at: at, session: session, device: device, queryId: id, query: q, total: total)
        }
        try AnalyticsStore(url: stores.commerce.postgres.url).write([
            search("a", "sofa", 5, at: day1, session: "s1", device: "phone"),
            search("b", "zzz", 0, at: day1 + 1, session: "s1", device: "phone"),
            search("c", "zzz", 0, at: day1 + 2, session: "s2", device: "phone"),
            AnalyticsEvent(kind: .click, at: day1 + 3, session: "s1", device: "phone", queryId: "a", productId: "dime", position: 3),
            AnalyticsEvent(kind: .addToCart, at: day1 + 4, session: "s1", device: "phone", productId: "dime", quantity: 1),
            AnalyticsEvent(kind: .purchase, at: day1 + 5, session: "s1", device: "phone", orderId: "7"),
            search("d", "sofa", 9, at: day2, session: "s3", device: "desktop"),
            search("e", "lamp", 2, at: day2 + 1, session: "s3", device: "desktop"),
        ])
        let auth = Self.bearer("tok")
        let range = "from=2026-05-28&to=2026-05-29"
        let q = try await call(app, .get, "/api/v1/analytics/queries?" + range, headers: auth)
        #expect(q.status == 200, "\(String(describing: q.body))")
        let rows = q["queries"]?.arrayValue ?? []
        #expect(rows.compactMap { $0["query"]?.stringValue } == ["sofa", "zzz", "lamp"])
        let sofa = try #require(rows.first)
        #expect(sofa["searches"]?.numberValue == 2 && sofa["clicks"]?.numberValue == 1 && sofa["click_through_rate"]?.numberValue == 0.5)
        #expect(sofa["mean_click_position"]?.numberValue == 3 && sofa["conversions"]?.numberValue == 1 && sofa["conversion_rate"]?.numberValue == 0.5)
        // zzz was searched by s1 before the purchase too: converted once; s2's search did not.
        #expect(rows[1]["conversions"]?.numberValue == 1 && rows[1]["mean_click_position"]?.isNull == true)
        let one = try await call(app, .get, "/api/v1/analytics/queries?" + range + "&limit=1", headers: auth)
        #expect(one["queries"]?.arrayValue?.count == 1)
        let z = try await call(app, .get, "/api/v1/analytics/zero-results?" + range, headers: auth)
        #expect(z["queries"]?.arrayValue?.map { [$0["query"]?.stringValue ?? "", String($0["zero_results"]?.numberValue ?? -1)] } == [["zzz", "2.0"]])
        let f = try await call(app, .get, "/api/v1/analytics/funnel?" + range, headers: auth)
        let days = f["days"]?.arrayValue ?? []
        #expect(days.map { [$0["day"]?.stringValue ?? "", $0["device"]?.stringValue ?? ""] } == [["2026-05-28", "phone"], ["2026-05-29", "desktop"]])
        #expect(days.first.map { [$0["searches"], $0["clicks"], $0["carts"], $0["purchases"]].map { $0?.numberValue ?? -1 } } == [3, 1, 1, 1])
        // Only the day asked for.
        let d2 = try await call(app, .get, "/api/v1/analytics/queries?from=2026-05-29&to=2026-05-29", headers: auth)
        #expect(d2["queries"]?.arrayValue?.compactMap { $0["query"]?.stringValue } == ["lamp", "sofa"])

        #expect(try await call(app, .get, "/api/v1/analytics/queries?" + range).status == 401)
        for bad in ["from=2026-13-01&to=2026-05-29", "from=2026-05-29&to=2026-05-28", "from=2025-01-01&to=2026-05-29", "colour=red", "limit=0", "from=x"] {
            let r = try await call(app, .get, "/api/v1/analytics/queries?" + bad, headers: auth)
            #expect(r.status == 400 && r["error"]?.stringValue?.isEmpty == false, "\(bad): \(String(describing: r.body))")
        }
        #expect(try await call(app, .get, "/api/v1/analytics/funnel?limit=5", headers: auth).status == 400)
    }
}

/// The lines of `aisle analytics load` (the parser it shares with POST /api/v1/events): good lines
/// become events, searches included; a bad line's error names the field.
@Suite struct AnalyticsLoadParsingTests {
    @Test func goodLines() throws {
        let search = try AnalyticsEventJSON.line(#"{"type": "search", "at": 1780000000000, "session": "s1", "device": "phone", "query_id": "q1", "query": "oak table", "total": 12, "took_us": 850}"#)
        #expect(search == AnalyticsEvent(kind: .search, at: 1_780_000_000_000_000, session: "s1", device: "phone", queryId: "q1", query: "oak table",
                                         total: 12, tookMicros: 850))
        let zero = try AnalyticsEventJSON.line(#"{"type":"search","at":0,"session":"s","device":"d","query_id":"q","query":"zzz","total":0}"#)
        #expect(zero.total == 0 && zero.at == 0)
        let click = try AnalyticsEventJSON.line(#"{"type": "click", "at": 1780000001000, "session": "s1", "device": "phone", "query_id": "q1", "product_id": "p7", "position": 2}"#)
        #expect(click == AnalyticsEvent(kind: .click, at: 1_780_000_001_000_000, session: "s1", device: "phone", queryId: "q1", productId: "p7", position: 2))
        let cart = try AnalyticsEventJSON.line(#"{"type": "add_to_cart", "at": 1, "session": "s", "device": "d", "product_id": "p", "quantity": 3}"#)
        #expect(cart.kind == .addToCart && cart.quantity == 3)
        let purchase = try AnalyticsEventJSON.line(#"{"type": "purchase", "at": 1780000060000, "session": "s1", "device": "phone", "order_id": "o1", "lines": [{"product_id": "p7", "quantity": 2}, {"product_id": "p8"}]}"#)
        #expect(purchase.lines == [.init(productId: "p7", quantity: 2), .init(productId: "p8", quantity: 1)] && purchase.orderId == "o1")
        let single = try AnalyticsEventJSON.line(#"{"type": "purchase", "at": 1, "session": "s", "device": "d", "order_id": "o", "product_id": "p", "quantity": 5}"#)
        #expect(single.lines == [.init(productId: "p", quantity: 5)] && single.productId == nil && single.quantity == nil)
        let unicode = try AnalyticsEventJSON.line(#"{"type": "view", "at": 1, "session": "s", "device": "d", "product_id": "Stuhl \u00fc \"x\""}"#)
        #expect(unicode.productId == "Stuhl ü \"x\"")
    }

    @Test func badLinesNameTheField() {
        for (line, says) in [
            (#"{"type": "search", "session": "s", "device": "d", "query_id": "q", "query": "x", "total": 1}"#, "at is required"),
            (#"{"type": "search", "at": 1, "session": "s", "device": "d", "query_id": "q", "query": "x"}"#, "total is required"),
            (#"{"type": "search", "at": 1, "session": "s", "device": "d", "query": "x", "total": 1}"#, "query_id is required"),
            (#"{"type": "click", "at": 1, "session": "s", "device": "d", "query_id": "q", "product_id": "p", "position": 0}"#, "position must be from 1 to 10000"),
            (#"{"type": "purchase", "at": 1, "session": "s", "device": "d", "order_id": "o", "lines": [{"product_id": "p", "quantity": 0}]}"#, "lines[0].quantity must be from 1 to 10000"),
            (#"{"type": "refund", "at": 1, "session": "s", "device": "d"}"#, "type must be search, click, view, add_to_cart or purchase"),
            (#"{"type": "view", "at": 1, "session": "s", "device": "d", "product_id": "p", "colour": "red"}"#, "unknown field colour"),
            (#"{"type": "view", "at": -5, "session": "s", "device": "d", "product_id": "p"}"#, "at must be milliseconds since 1970"),
            (#"{"type": "view", "at": "yesterday", "session": "s", "device": "d", "product_id": "p"}"#, "at must be a whole number"),
            (#"{"type": "view", "at": 1, "device": "d", "product_id": "p"}"#, "session is required"),
            (#"{"type": "search", "at": 1, "session": "s", "device": "d", "query_id": "q", "query": "x", "total": -1}"#, "total is required for a search event and must not be negative"),
            (#"{"type": "search", "at": 1, "session": "s", "device": "d", "query_id": "q", "query": "x", "total": 1, "took_us": -1}"#, "took_us must be from 0 to 2147483647"),
            (#"[1, 2]"#, "must be a JSON object"),
            (#"{"type": "view", "at": 1, "session": "s""#, "not valid JSON"),
            ("", "not valid JSON"),
        ] {
            do {
                let e = try AnalyticsEventJSON.line(line)
                Issue.record("\(line) was taken: \(e)")
            } catch {
                #expect("\(error)".contains(says), "\(line): \(error)")
            }
        }
    }
}
