import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import AisleEngine
@testable import AisleIndex
@testable import AisleServer
#if canImport(Glibc)
import Glibc
#endif

/// What an anonymous attacker could do to `aisle serve` (issue 13), over HTTP: each request that
/// crashed or stalled the server, kept as a regression test, and the admission control and
/// connection limits.
@Suite(.serialized) struct ServerHardeningTests {
    struct Answer {
        var status: Int
        var json: JSONValue
        var headers: HTTPFields
    }

    static func call(_ api: APIServer, _ method: HTTPRequest.Method, _ uri: String, body: String? = nil,
                     token: String? = WriteTests.token) async throws -> Answer {
        var h = HTTPFields()
        if let token { h[.authorization] = "Bearer \(token)" }
        let headers = h
        return try await Application(router: api.makeRouter()).test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
                Answer(status: Int(r.status.code), json: (try? JSONValue.parse(String(buffer: r.body))) ?? .null, headers: r.headers)
            }
        }
    }

    @Test func requestsThatCrashedTheServerAreAnswered() async throws {
        let (sv, service, dir) = try WriteTests.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: WriteTests.token)
        for (body, status) in [(#"{"filters": {"brand": 1e300}}"#, 200), (#"{"filters": {"brand": 1e999}}"#, 400),
                               (#"{"q": "sofa", "search_after": [1.0, 1e19]}"#, 400), (#"{"q": "sofa", "search_after": [1.0, 1e999]}"#, 400),
                               (#"{"q": "sofa", "filters": {"price": {"min": 1e999}}}"#, 400)] {
            let a = try await Self.call(api, .post, "/api/v1/search", body: body)
            #expect(a.status == status, "\(body): \(a.status) \(a.json)")
        }
        // PATCH 1e999 no longer deletes the price; absurd numbers are refused, naming the field.
        let before = try await Self.call(api, .get, "/api/v1/products/S0001").json["price"]?.numberValue
        for body in [#"{"price": 1e999}"#, #"{"price": -1}"#, #"{"price": 1e300}"#, #"{"rating": 1e308}"#, #"{"price": -1e300}"#] {
            let a = try await Self.call(api, .patch, "/api/v1/products/S0001?refresh=true", body: body)
            #expect(a.status == 400, "\(body): \(a.status)")
            #expect(a.json["error"]?.stringValue?.contains(body.contains("rating") ? "rating" : (body.contains("1e999") ? "out of range" : "price")) == true,
                    "\(body): \(a.json)")
        }
        let put = try await Self.call(api, .put, "/api/v1/products/S0001?refresh=true", body: #"{"title": "x", "price": -3}"#)
        #expect(put.status == 400 && put.json["error"]?.stringValue?.contains("price must be at least 0") == true)
        let after = try await Self.call(api, .get, "/api/v1/products/S0001").json
        #expect(after["price"]?.numberValue == before && before != nil)
        #expect(after["title"]?.stringValue != "x")
    }

    /// Found by scripts/abuse.py: ids in product URLs are percent-decoded, HEAD /healthz answers.
    @Test func productIdsInPathsArePercentDecoded() async throws {
        let (sv, service, dir) = try WriteTests.serving()
        defer { sv.close(); try? FileManager.default.removeItem(atPath: dir) }
        let api = APIServer(service: service, serving: sv, token: WriteTests.token)
        let put = try await Self.call(api, .put, "/api/v1/products/zz%20sp%C3%A9ce%2Fx?refresh=true", body: #"{"title": "Spaced sofa", "price": 3}"#)
        #expect(put.status == 200 && put.json["id"]?.stringValue == "zz spéce/x")
        let got = try await Self.call(api, .get, "/api/v1/products/zz%20sp%C3%A9ce%2Fx")
        #expect(got.status == 200 && got.json["title"]?.stringValue == "Spaced sofa")
        let patched = try await Self.call(api, .patch, "/api/v1/products/zz%20sp%C3%A9ce%2Fx?refresh=true", body: #"{"price": 4}"#)
        #expect(patched.status == 200)
        #expect(try await Self.call(api, .get, "/api/v1/products/zz%zz").status == 400)
        #expect(try await Self.call(api, .delete, "/api/v1/products/zz%20sp%C3%A9ce%2Fx").status == 200)
        #expect(try await Self.call(api, .head, "/healthz").status == 200)
    }

    @Test func shoppersTypingIsNeverAnError() async throws {
        let api = APIServer(service: ServerTests.service)
        for q in [#"1/2%22%20pipe%20(copper"#, "sofa%20AND", "sofa%20OR", "%22velvet", "colour:red", "(((", "-", "AND"] {
            let a = try await Self.call(api, .get, "/api/v1/products/search?q=\(q)")
            #expect(a.status == 200, "\(q): \(a.status) \(a.json)")
        }
        let a = try await Self.call(api, .get, "/api/v1/products/search?q=sofa%20AND")
        #expect(a.json["query_syntax"]?.stringValue == "lenient" && (a.json["total"]?.numberValue ?? 0) > 0)
        // The JSON API is lenient by default; "syntax": "strict" keeps the precise errors.
        let strict = try await Self.call(api, .post, "/api/v1/search", body: #"{"q": "sofa AND", "syntax": "strict"}"#)
        #expect(strict.status == 400 && strict.json["error"]?.stringValue?.contains("AND at column 6") == true)
        let lenient = try await Self.call(api, .post, "/api/v1/search", body: #"{"q": "sofa AND"}"#)
        #expect(lenient.status == 200 && lenient.json["query_syntax"]?.stringValue == "lenient")
    }

    @Test func aSearchPastItsDeadlineIs503WithRetryAfter() async throws {
        var limits = SearchLimits()
        limits.timeout = 1e-9
        let service = try SearchService(searcher: ServerTests.service.searcher, limits: limits)
        let api = APIServer(service: service)
        for (m, uri, body) in [(HTTPRequest.Method.get, "/api/v1/products/search?q=sofa", nil as String?),
                               (.post, "/api/v1/search", #"{"q": "sofa"}"#)] {
            let a = try await Self.call(api, m, uri, body: body)
            #expect(a.status == 503 && a.headers[.retryAfter] == "1", "\(uri): \(a.status)")
            #expect(a.json["error"]?.stringValue?.contains("deadline") == true)
        }
    }

    @Test func aFullQueueIs503AtOnceAndHealthIsNeverQueued() async throws {
        var o = APIServer.Options()
        o.searchThreads = 2
        o.searchQueue = 1
        let api = APIServer(service: ServerTests.service, options: o)
        let gate = DispatchSemaphore(value: 0)
        defer { for _ in 0..<3 { gate.signal() } }
        // Two running, then one waiting: the pool is full. (Each step waits for the pool to settle,
        // at most 10 s, so a submit never races the threads' start.)
        func settle(_ done: () -> Bool) async throws {
            let end = Date(timeIntervalSinceNow: 10)
            while !done() && Date() < end { try await Task.sleep(nanoseconds: 1_000_000) }
        }
        var blockers: [Task<Int, Error>] = []
        for _ in 0..<2 { blockers.append(Task { try await api.searchPool.submit { gate.wait(); return 1 } }) }
        try await settle { api.searchPool.active == 2 }
        blockers.append(Task { try await api.searchPool.submit { gate.wait(); return 1 } })
        try await settle { api.searchPool.queued == 1 }
        #expect(api.searchPool.active == 2 && api.searchPool.queued == 1)
        let t0 = Date()
        let busy = try await Self.call(api, .get, "/api/v1/products/search?q=sofa")
        #expect(busy.status == 503 && busy.headers[.retryAfter] == "1" && busy.json["error"]?.stringValue?.contains("busy") == true)
        let health = try await Self.call(api, .get, "/healthz")
        #expect(health.status == 200 && health.json["searches_running"]?.numberValue == 2 && health.json["searches_queued"]?.numberValue == 1)
        #expect((health.json["searches_refused"]?.numberValue ?? 0) >= 1)
        #expect(Date().timeIntervalSince(t0) < 5)
        for _ in 0..<3 { gate.signal() }
        for b in blockers { _ = try? await b.value }
        let ok = try await Self.call(api, .get, "/api/v1/products/search?q=sofa")
        #expect(ok.status == 200)
    }

    @Test func aPoolThreadThatRanLongRunsAtLowerPriorityUntilReplaced() async throws {
        let pool = WorkPool(name: "test", threads: 1, queueLimit: 4)
        let demoted = try await pool.submit { () -> Bool in
            WorkPool.demoteCurrentThread(pool)
            return sched_getscheduler(0) == WorkPool.schedIdle || getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == 10
        }
        #expect(demoted && pool.demotions.load(ordering: .relaxed) == 1)
        // The next job runs at normal priority again (the thread restored it, or a fresh one runs it).
        let next = try await pool.submit { (sched_getscheduler(0), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)) }
        #expect(next.0 == WorkPool.schedOther && next.1 == 0)
        pool.stop()
    }

    /// Seeded random query strings for `GET /api/v1/products/search` (the query-string adapter):
    /// every answer is 200 or 400, with JSON. `AISLE_FUZZ_SEED` replays.
    @Test func theQueryStringAdapterNeverTraps() throws {
        let seed = ProcessInfo.processInfo.environment["AISLE_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(Int64.max))
        print("[fuzz query-string] seed \(seed) (replay with AISLE_FUZZ_SEED=\(seed))")
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        func pick(_ a: [String]) -> String { a[Int(next() % UInt64(a.count))] }
        let keys = ["q", "category", "brand", "min_price", "max_price", "in_stock", "sort", "page", "limit", "attributes.color",
                    "attributes.", "nosuch", "", "q[]", "%", "%zz", "%C3", "%00"]
        let values = ["sofa", "1/2%22+pipe+(copper", "sofa+AND", "%22velvet", "-1", "0", "1e999", "1e19", "-9223372036854775809",
                      "9999999999999999999999", "NaN", "inf", "true", "maybe", "price_asc", "x", "Furniture+%3E+Living+Room", "%FF%FE",
                      "%", "%2", "%G0", "a%00b", "10000", "101", "2.5", "", "%E2%80%AE", String(repeating: "a", count: 3000),
                      String(repeating: "(", count: 300), String(repeating: "NOT+", count: 600)]
        let api = APIServer(service: ServerTests.service)
        var counts: [Int: Int] = [:]
        let n = ProcessInfo.processInfo.environment["AISLE_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1500
        for _ in 0..<n {
            let query = (0..<Int(next() % 6)).map { _ in pick(keys) + (next() % 5 == 0 ? "" : "=" + pick(values)) }
                .joined(separator: pick(["&", "&", "&&", ";"]))
            let r = api.handle { try api.productSearch(query: query) }
            counts[Int(r.status.code), default: 0] += 1
            #expect(r.status.code == 200 || r.status.code == 400, "\(query.prefix(200)): \(r.status.code)")
        }
        print("[fuzz query-string] answers by status: \(counts.sorted { $0.key < $1.key })")
        #expect(counts[200, default: 0] > 0 && counts[400, default: 0] > 0)
    }
}
