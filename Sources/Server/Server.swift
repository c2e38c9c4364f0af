import AisleCommerce
import AisleEngine
import AisleIndex
import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import HTTPTypes
import Synchronization

/// The HTTP JSON API over a search service.
///
/// - `GET /api/v1/products/search?q=&category=&brand=&min_price=&max_price=&in_stock=&sort=&page=&limit=`
///   a shop's category or search page in one request: results, exact total, pages, facets
/// - `POST /api/v1/search`: the query JSON of `aisle search --stdin`
/// - `GET /api/v1/products/{id}`: one product's fields
/// - `GET /healthz`, `GET /api/v1/openapi.json`
public struct APIServer: Sendable {
    public static let maxBody = 64 * 1024
    public static let maxBulkBody = 32 << 20
    public static let maxPageLimit = 100

    /// How the server shares its machine: threads, queues and connection limits.
    public struct Options: Sendable {
        /// Threads that run searches (default: twice the cores, at least 4: a slow search does not
        /// hold up the others).
        public var searchThreads = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
        /// Searches waiting for a thread at most; past that the answer is 503 at once.
        public var searchQueue = 64
        /// Writes run one at a time on their own thread; at most this many wait.
        public var writeQueue = 16
        /// A search running longer than this (seconds) lowers its thread's priority.
        public var demoteAfter = 0.02
        public var connections = ConnectionLimits()
        /// Threads that run cart, session, customer and order requests (they wait on Redis and
        /// PostgreSQL): twice the cores, at least 4. Measured on 2 cores at 1M products (closed
        /// loop, orders): 16 threads gave 301 orders/s with p99 159 ms and starved the catalog sync
        /// and the projector (sold-out p99 4.8 s); 4 threads gave 291 orders/s with p99 27 ms and
        /// sold-out p99 143 ms. Requests beyond the threads wait in the queue, not on the CPU.
        public var commerceThreads = max(4, 2 * ProcessInfo.processInfo.activeProcessorCount)
        public var commerceQueue = 256
        /// Serve the storefront's files from this directory instead of the copies in the binary.
        public var storefrontDirectory: String?
        /// Autocomplete searches remembered per index snapshot (0: none).
        public var suggestMemo = Suggester.defaultMemoEntries
        /// Send `X-Elastic-Product: Elasticsearch` on the Elasticsearch-compatible API (what
        /// elasticsearch-py 8 checks); off by default, because Aisle is not Elasticsearch.
        public var elasticProductHeader = false
        /// Seconds between refreshes of what search learns from analytics (past queries for
        /// autocomplete, the behaviour signal); 0: never (tests call `refreshSearchFeedback`).
        public var feedbackInterval = 60.0
        /// Days of analytics those read (today included).
        public var feedbackDays = 30
        public init() {}
    }

    public let service: SearchService
    /// Autocomplete over `service` (`GET /api/v1/suggest`).
    public let suggester: Suggester
    /// The live index behind the write endpoints (nil: a fixed index, writes answer 405).
    public let serving: ServingIndex?
    /// Bearer token the write endpoints require (nil: writes are disabled).
    public let token: String?
    public let options: Options
    /// Customers, sessions and carts (or why they are not there).
    public let commerceMount: CommerceMount
    /// The indexes of the Elasticsearch-compatible API (`aisle serve --data DIR`); nil: not served.
    public let elastic: ElasticIndexes?
    let searchPool: WorkPool
    let writePool: WorkPool
    let commercePool: WorkPool
    let connections = ConnectionCounter()

    public static let commerceNotConfigured = "commerce is not configured: customers, sessions and carts need REDIS_URL (or --redis) and a catalog database (DATABASE_URL or --database)"

    /// Whether this node should receive traffic, beyond being alive (`GET /readyz`): the
    /// executable wires the catalog follower's state here. Nil: ready whenever the server answers.
    public struct Readiness: Sendable {
        public var ready: Bool
        public var reason: String?
        public var details: [(String, JSONValue)]
        public init(ready: Bool, reason: String? = nil, details: [(String, JSONValue)] = []) {
            self.ready = ready
            self.reason = reason
            self.details = details
        }
    }
    let readiness: (@Sendable () -> Readiness)?

    public init(service: SearchService, serving: ServingIndex? = nil, token: String? = nil, options: Options = Options(),
                commerce: CommerceMount = .missing(APIServer.commerceNotConfigured), elastic: ElasticIndexes? = nil,
                readiness: (@Sendable () -> Readiness)? = nil) {
        self.readiness = readiness
        self.service = service
        suggester = Suggester(service: service, memoEntries: options.suggestMemo)
        self.elastic = elastic
        self.commerceMount = commerce
        self.serving = serving
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.options = options
        searchPool = WorkPool(name: "aisle-search", threads: options.searchThreads, queueLimit: options.searchQueue)
        writePool = WorkPool(name: "aisle-write", threads: 1, queueLimit: options.writeQueue)
        commercePool = WorkPool(name: "aisle-commerce", threads: options.commerceThreads, queueLimit: options.commerceQueue)
    }

    /// Runs a search-side handler on the search pool, with the service's deadline (counted from
    /// now, queueing included); 503 when the pool is full or the deadline passes.
    func searching(_ body: @escaping @Sendable (SearchDeadline?) throws -> Response) async -> Response {
        let deadline = service.makeDeadline()
        let pool = searchPool
        if let d = deadline, options.demoteAfter > 0 {
            d.slowAfter = UInt64(options.demoteAfter * 1e9)
            d.onSlow = { WorkPool.demoteCurrentThread(pool) }
        }
        do {
            return try await pool.submit { [api = self] in
                if let d = deadline, d.checkNow() { throw IndexError.timedOut(milliseconds: Int(api.service.limits.timeout * 1000)) }
                return api.handle { try body(deadline) }
            }
        } catch let b as WorkPool.Busy {
            return busy("the server is busy: \(b.queued) searches are waiting; retry shortly")
        } catch {
            return handle { throw error }
        }
    }

    /// Runs a write on the write thread (one at a time, in arrival order); 503 when its queue is full.
    func writing(_ body: @escaping @Sendable () throws -> Response) async -> Response {
        do {
            return try await writePool.submit { [api = self] in api.handle { try body() } }
        } catch let b as WorkPool.Busy {
            return busy("the server is busy: \(b.queued) writes are waiting; retry shortly")
        } catch {
            return handle { throw error }
        }
    }

    func busy(_ message: String) -> Response {
        var r = json(503, .object([("error", .string(message))]))
        r.headers[.retryAfter] = "1"
        return r
    }

    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let api = self
        router.add(middleware: CrossSiteGuard())
        router.head("/healthz") { _, _ in Response(status: .ok) }
        router.get("/healthz") { _, _ in
            let s = api.service.searcher
            var obj: [(String, JSONValue)] = [("status", .string("ok")), ("documents", .number(Double(s.liveDocCount))),
                                              ("segments", .number(Double(s.segments.count))),
                                              ("commit", .number(Double(s.meta.generation))),
                                              ("searches_running", .number(Double(api.searchPool.active))),
                                              ("searches_queued", .number(Double(api.searchPool.queued))),
                                              ("searches_refused", .number(Double(api.searchPool.rejected.load(ordering: .relaxed)))),
                                              ("searches_demoted", .number(Double(api.searchPool.demotions.load(ordering: .relaxed)))),
                                              ("connections", .number(Double(api.connections.open.load(ordering: .relaxed)))),
                                              ("connections_refused", .number(Double(api.connections.refused.load(ordering: .relaxed)))),
                                              ("connections_timed_out", .number(Double(api.connections.timedOut.load(ordering: .relaxed))))]
            func cache(_ c: CacheStatistics) -> JSONValue {
                .object([("hits", .number(Double(c.hits))), ("misses", .number(Double(c.misses))),
                         ("evictions", .number(Double(c.evictions))), ("entries", .number(Double(c.entries))),
                         ("bytes", .number(Double(c.bytes))), ("capacity_bytes", .number(Double(c.capacityBytes)))])
            }
            obj.append(("facet_cache", cache(SegmentFacetCache.shared.statistics)))
            obj.append(("stored_block_cache", cache(StoredBlockCache.shared.statistics)))
            if let sv = api.serving {
                obj.append(("index_generation", .string(sv.generationName)))
                obj.append(("writable", .bool(sv.updater != nil && api.token != nil)))
                if let e = sv.lastError { obj.append(("last_error", .string(e))) }
            }
            return api.json(200, .object(obj))
        }
        // Readiness: 200 only when the node serves what the catalog holds (a load balancer's check).
        router.get("/readyz") { _, _ in
            guard let r = api.readiness?() else { return api.json(200, .object([("ready", .bool(true))])) }
            var obj: [(String, JSONValue)] = [("ready", .bool(r.ready))]
            if let why = r.reason { obj.append(("reason", .string(why))) }
            obj += r.details
            return api.json(r.ready ? 200 : 503, .object(obj))
        }
        addCommerceRoutes(router)
        addAnalyticsRoutes(router)
        addOrderRoutes(router)
        addRecommendationRoutes(router)
        router.get("/api/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPI.document)))
        }
        router.get("/api/v1/products/search") { request, _ in
            let query = request.uri.query
            let shopper = Self.shopper(request)
            return await api.searching { d in try api.productSearch(query: query, deadline: d, shopper: shopper) }
        }
        router.get("/api/v1/suggest") { request, _ in
            await api.searching { d in
                let qs = try QueryString(request.uri.query)
                for (k, _) in qs.pairs where k != "q" && k != "limit" { throw APIError.badRequest("unknown parameter \"\(k.prefix(60))\" (q, limit)") }
                var r = SuggestRequest(q: try qs.one("q") ?? "")
                if let l = try qs.one("limit") {
                    guard let n = Int(l) else { throw APIError.badRequest("limit must be an integer from 1 to \(SuggestRequest.maxLimit)") }
                    r.limit = n
                }
                let res = try api.suggester.suggest(r, deadline: d)
                var w = JSONWriter(capacity: 2048)
                Suggester.json(res, into: &w)
                return api.bytes(200, w.bytes)
            }
        }
        router.get("/api/v1/products/{id}") { _, context in
            guard let id = Self.pathId(context.parameters.get("id")) else { return api.badPath() }
            return await api.searching { _ in try api.product(id: id) }
        }
        router.put("/api/v1/products/{id}") { request, context in
            if let denied = api.authorize(request) { return denied }
            guard let id = Self.pathId(context.parameters.get("id")) else { return api.badPath() }
            let read = await api.read(request, upTo: Self.maxBody, tooLarge: "request body larger than \(Self.maxBody) bytes")
            guard case .ok(let body) = read else { return read.response! }
            let query = request.uri.query
            return await api.writing { try api.write(query) { u in try api.put(id: id, body: body, updater: u) } }
        }
        router.patch("/api/v1/products/{id}") { request, context in
            if let denied = api.authorize(request) { return denied }
            guard let id = Self.pathId(context.parameters.get("id")) else { return api.badPath() }
            let read = await api.read(request, upTo: Self.maxBody, tooLarge: "request body larger than \(Self.maxBody) bytes")
            guard case .ok(let body) = read else { return read.response! }
            let query = request.uri.query
            return await api.writing { try api.write(query) { u in try api.patch(id: id, body: body, updater: u) } }
        }
        router.delete("/api/v1/products/{id}") { request, context in
            if let denied = api.authorize(request) { return denied }
            guard let id = Self.pathId(context.parameters.get("id")) else { return api.badPath() }
            let query = request.uri.query
            return await api.writing { try api.write(query) { u in try api.delete(id: id, updater: u) } }
        }
        router.post("/api/v1/products/_bulk") { request, _ in
            if let denied = api.authorize(request) { return denied }
            let read = await api.read(request, upTo: Self.maxBulkBody, tooLarge: "bulk body larger than \(Self.maxBulkBody) bytes; send smaller batches")
            guard case .ok(let body) = read else { return read.response! }
            let query = request.uri.query
            return await api.writing { try api.write(query) { u in try api.bulk(body: body, query: query, updater: u) } }
        }
        router.post("/api/v1/search") { request, _ in
            let read = await api.read(request, upTo: Self.maxBody, tooLarge: "request body larger than \(Self.maxBody) bytes")
            guard case .ok(let body) = read else { return read.response! }
            return await api.searching { d in
                // `?index=NAME`: an index of `--data` (the Elasticsearch-compatible API's), searched natively.
                let qs = try QueryString(request.uri.query)
                for (k, _) in qs.pairs where k != "index" { throw APIError.badRequest("unknown parameter \"\(k.prefix(60))\" (index)") }
                var service = api.service
                if let name = try qs.one("index") {
                    do {
                        let target = try api.esTarget(name)
                        try target.serving.searchStarting()
                        service = target.service
                    } catch let e as ElasticError {
                        throw e.status == 404 ? APIError.notFound(e.reason) : APIError.badRequest(e.reason)
                    }
                }
                return try api.search(body: body, deadline: d, service: service)
            }
        }
        // `/`: the storefront for browsers; with `--data`, Elasticsearch's cluster information for
        // API clients (they do not ask for HTML).
        router.get("/") { request, _ in
            if api.elastic != nil && !Self.wantsHTML(request) { return api.esJSON(request, 200, api.clusterInfo()) }
            return api.storefrontFile("index.html")
        }
        addStorefrontRoutes(router)
        // The Elasticsearch-compatible routes exist only with `--data` (without it,
        // `/{anything}` stays an unknown route, 404).
        if elastic != nil { addElasticRoutes(router) }
        return router
    }

    /// The HTTP/1 channel: connection cap, idle and read timeouts.
    func serverBuilder() -> HTTPServerBuilder {
        let limits = options.connections, counter = connections
        return .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, counter: counter)]))
    }

    /// Runs the server until it is stopped.
    public func run(host: String, port: Int, onStart: (@Sendable () -> Void)? = nil) async throws {
        suggester.warm()   // autocomplete's phrases are read from the catalog in the background
        let feedback = startSearchFeedback()
        defer { feedback?.stop() }
        let app = Application(router: makeRouter(), server: serverBuilder(),
                              configuration: .init(address: .hostname(host, port: port), serverName: "aisle"),
                              onServerRunning: { _ in onStart?() })
        try await app.runService()
        searchPool.stop()
        writePool.stop()
    }

    // MARK: - Handlers

    /// A product id from the path, percent-decoded (`zz%20sp%20ace` is the id `zz sp ace`); nil when
    /// the escapes are malformed.
    static func pathId(_ raw: String?) -> String? {
        guard let raw else { return "" }
        return try? QueryString.decode(Substring(raw), plusIsSpace: false)
    }

    /// A request body, or the answer when it cannot be had: 413 when it is larger than the limit,
    /// 400 when it cannot be read (a malformed chunked encoding). A body can be read only once.
    enum Body {
        case ok(ByteBuffer)
        case refused(Response)
        var response: Response? { if case .refused(let r) = self { return r }; return nil }
    }

    func read(_ request: Request, upTo limit: Int, tooLarge message: String) async -> Body {
        do {
            return .ok(try await request.body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            return .refused(tooLarge(message))
        } catch {
            return .refused(json(400, .object([("error", .string("the request body could not be read: \(error)"))])))
        }
    }

    func tooLarge(_ message: String) -> Response { json(413, .object([("error", .string(message))])) }

    func badPath() -> Response { json(400, .object([("error", .string("malformed percent escape in the product id"))])) }

    func handle(_ body: () throws -> Response) -> Response {
        do {
            return try body()
        } catch let e as APIError {
            return json(e.status, .object([("error", .string(e.message))]))
        } catch let e as EngineError {
            return json(400, .object([("error", .string(e.description))]))
        } catch let e as IndexError {
            if case .invalidQuery(let m) = e { return json(400, .object([("error", .string(m))])) }
            if case .invalidDocument(let m) = e { return json(400, .object([("error", .string(m))])) }
            if case .timedOut = e {
                var r = json(503, .object([("error", .string(e.description + "; narrow the query or retry"))]))
                r.headers[.retryAfter] = "1"
                return r
            }
            return json(500, .object([("error", .string("internal error: \(e.description)"))]))
        } catch {
            return json(500, .object([("error", .string("internal error: \(error)"))]))
        }
    }

    func json(_ status: Int, _ v: JSONValue) -> Response {
        var w = JSONWriter(capacity: 1024)
        w.value(v)
        return bytes(status, w.bytes)
    }

    func bytes(_ status: Int, _ b: [UInt8]) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: b)))
    }

    static let searchParameters: Set<String> = ["q", "category", "brand", "min_price", "max_price", "in_stock", "sort", "page", "limit", "retrieval"]
    /// The sorts the shop page offers.
    static let pageSorts: [SortRequest] = [.relevance, .field(ProductFields.price, descending: false), .field(ProductFields.price, descending: true),
                                           .field(ProductFields.rating, descending: nil), .field(ProductFields.reviewCount, descending: nil)]

    /// The shop page: parameters to a request with brand, category and price facets, exact total.
    /// The session and device a search is recorded for (`X-Aisle-Session`, `X-Aisle-Device`).
    static func shopper(_ request: Request) -> (session: String, device: String) {
        func header(_ n: String) -> String? { HTTPField.Name(n).flatMap { request.headers[$0] }.flatMap { $0.isEmpty ? nil : $0 } }
        return (header(sessionHeader) ?? "anonymous", header(deviceHeader) ?? "unknown")
    }

    func productSearch(query: String?, deadline: SearchDeadline? = nil, shopper: (session: String, device: String) = ("anonymous", "unknown")) throws -> Response {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let qs = try QueryString(query)
        for (k, _) in qs.pairs where !Self.searchParameters.contains(k) && !k.hasPrefix("attributes.") {
            throw APIError.badRequest("unknown parameter \"\(k)\" (q, category, brand, min_price, max_price, in_stock, attributes.*, sort, page, limit, retrieval)")
        }
        let limit = try qs.int("limit", range: 1...Self.maxPageLimit) ?? 20
        let page = try qs.int("page", range: 1...10_000) ?? 1
        guard (page - 1) * limit + limit <= SearchRequest.maxWindow else {
            throw APIError.badRequest("page \(page) with limit \(limit) is beyond the first \(SearchRequest.maxWindow) results; narrow the search")
        }
        var req = SearchRequest(q: try qs.one("q") ?? "", op: .and, limit: limit, offset: (page - 1) * limit)
        req.trackTotalHits = .exact
        if let r = try qs.one("retrieval"), !r.isEmpty {
            guard let m = RetrievalMode(rawValue: r) else {
                throw APIError.badRequest("retrieval must be one of \(RetrievalMode.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(r.prefix(40))\"")
            }
            req.retrieval = RetrievalRequest(mode: m)
        } else if req.offset + req.limit > RetrievalDefaults.window {
            // Pages past the hybrid window are lexical (hybrid ranks the first `window` results).
            req.retrieval = RetrievalRequest(mode: .lexical)
        }
        typealias F = ProductFields
        req.fields = [F.title, F.brand, F.price, F.categoryPath, F.inStock]
        var filters: [FilterRequest] = []
        if let c = try qs.one("category"), !c.isEmpty { filters.append(FilterRequest(field: F.category, .values([c]))) }
        let brands = qs.all("brand").filter { !$0.isEmpty }
        if !brands.isEmpty { filters.append(FilterRequest(field: F.brand, .values(brands))) }
        let lo = try qs.number("min_price"), hi = try qs.number("max_price")
        if lo != nil || hi != nil {
            if let lo, let hi, lo > hi { throw APIError.badRequest("filter price: minimum \(lo) is above maximum \(hi)") }
            filters.append(FilterRequest(field: F.price, .range(min: lo, max: hi), key: "min_price/max_price"))
        }
        if let s = try qs.one("in_stock"), !s.isEmpty {
            guard s == "true" || s == "false" else { throw APIError.badRequest("in_stock must be true or false") }
            filters.append(FilterRequest(field: F.inStock, .flag(s == "true")))
        }
        for (k, _) in qs.pairs where k.hasPrefix(F.attributePrefix) && !filters.contains(where: { $0.field == k }) {
            filters.append(FilterRequest(field: k, .values(qs.all(k))))
        }
        req.filters = filters
        if let s = try qs.one("sort"), !s.isEmpty {
            let known = Self.pageSorts.map { $0.name }
            guard let sort = Self.pageSorts.first(where: { $0.name == s }) else {
                throw APIError.badRequest("sort must be one of \(known.joined(separator: ", ")), got \"\(s.prefix(40))\"")
            }
            req.sort = sort
        }
        req.facets = [FacetRequest(name: F.brand, size: 20), FacetRequest(name: F.category), FacetRequest(name: F.price)]
        let res = try service.search(req, startedAt: t0, deadline: deadline)
        // Every answer has a query id (clicks name it); searches with words are recorded for
        // analytics, on the queue (never waiting for the store, never failing the search).
        let queryId = UUID().uuidString.lowercased()
        if case .ready(let c) = commerceMount, !req.q.isEmpty {
            let e = AnalyticsEvent(kind: .search, at: Int64(Date().timeIntervalSince1970 * 1_000_000), session: shopper.session,
                                   device: shopper.device, queryId: queryId, query: req.q, total: res.total,
                                   tookMicros: Int((DispatchTime.now().uptimeNanoseconds - t0) / 1000))
            if e.problem() == nil { c.analytics.record(e) }
        }
        var w = JSONWriter(capacity: 4096)
        w.raw("{\"query_id\":")
        w.string(queryId)
        w.raw(",\"results\":[")
        for (i, h) in res.hits.enumerated() {
            if i > 0 { w.raw(",") }
            func field(_ n: String) -> StoredValue? { h.fields.first { $0.name == n }?.value }
            var obj: [(String, JSONValue)] = [("id", .string(h.id))]
            let title: String = { if case .string(let t)? = field(F.title) { return t }; return "" }()
            obj.append(("title", .string(title)))
            obj.append(("brand", field(F.brand)?.json ?? .null))
            obj.append(("price", field(F.price)?.json ?? .null))
            obj.append(("category", field(F.categoryPath)?.json ?? .null))
            obj.append(("in_stock", field(F.inStock)?.json ?? .null))
            obj.append(("snippet", .string(Snippets.highlight(title, ranges: service.highlights(in: title, terms: res.highlightTerms)))))
            obj.append(("score", .number(Double(h.score))))
            w.value(.object(obj))
        }
        let pages = (res.total + limit - 1) / limit
        w.raw("],\"total\":")
        w.number(res.total)
        w.raw(",\"page\":")
        w.number(page)
        w.raw(",\"pages\":")
        w.number(pages)
        w.raw(",\"facets\":{")
        for (i, f) in res.facets.enumerated() {
            if i > 0 { w.raw(",") }
            switch f.name {
            case ProductFields.brand: w.key("brands")
            case ProductFields.category: w.key("categories")
            default: w.key("price_ranges")
            }
            if f.name == ProductFields.price {
                w.value(SearchService.facetJSON(f)["ranges"] ?? .array([]))
            } else {
                w.value(SearchService.facetJSON(f))
            }
        }
        if let p = res.facets.first(where: { $0.name == ProductFields.price })?.result {
            w.raw("},\"price_stats\":")
            w.value(.object([("min", p.min.map { .number($0) } ?? .null), ("max", p.max.map { .number($0) } ?? .null)]))
        } else {
            w.raw("}")
        }
        if res.relaxed { w.raw(",\"relaxed\":true") }
        if res.lenientSyntax { w.raw(",\"query_syntax\":\"lenient\"") }
        if !res.warnings.isEmpty {
            w.raw(",\"warnings\":")
            w.value(.array(res.warnings.map { .string($0) }))
        }
        w.raw(",\"took_us\":")
        w.number(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
        w.raw("}")
        return bytes(200, w.bytes)
    }

    func search(body: ByteBuffer, deadline: SearchDeadline? = nil, service: SearchService? = nil) throws -> Response {
        let service = service ?? self.service
        let t0 = DispatchTime.now().uptimeNanoseconds
        let data = Array(body.readableBytesView)
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; send the query JSON") }
        let req = try data.withUnsafeBufferPointer { p -> SearchRequest in
            var tape = JSONTape()
            do { try tape.parse(p) } catch let e as JSONError { throw APIError.badRequest(e.description) }
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
        let res = try service.search(req, startedAt: t0, deadline: deadline)
        var w = JSONWriter(capacity: 4096)
        SearchService.json(res, into: &w)
        return bytes(200, w.bytes)
    }

    func product(id: String) throws -> Response {
        guard !id.isEmpty, id.utf8.count <= IndexLimits.maxIdBytes else { throw APIError.badRequest("a product id is 1 to \(IndexLimits.maxIdBytes) bytes") }
        let s = service.searcher
        guard let doc = try s.doc(forId: id) else { throw APIError.notFound("no product with id \"\(id)\"") }
        var obj: [(String, JSONValue)] = [("id", .string(id))]
        for (n, v) in try service.displayFields(doc: doc, wanted: ["*"], in: s) where n != s.schema.idField {
            obj.append((n, v.json))
        }
        return json(200, .object(obj))
    }

    // MARK: - Writes

    /// nil when the request may write; else the answer: 403 when writes are disabled, 401 when
    /// the bearer token is missing or wrong (nothing is read or changed).
    func authorize(_ request: Request) -> Response? {
        guard let token else {
            return json(403, .object([("error", .string("writes are disabled: start aisle serve with --token or AISLE_API_TOKEN"))]))
        }
        let header = request.headers[.authorization] ?? ""
        let given = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
        guard Self.constantTimeEqual(Array(given.utf8), Array(token.utf8)) else {
            var r = json(401, .object([("error", .string(given.isEmpty ? "missing bearer token (Authorization: Bearer ...)" : "wrong bearer token"))]))
            r.headers[.wwwAuthenticate] = "Bearer realm=\"aisle\""
            return r
        }
        return nil
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }

    /// Runs a write against the live index; `?refresh=true` makes it searchable before answering.
    func write(_ query: String?, _ body: (IndexUpdater) throws -> Response) throws -> Response {
        guard let serving else {
            throw APIError(status: 405, message: "this server serves a fixed index; writes need aisle serve over a live index")
        }
        guard let u = serving.updater else {
            throw APIError(status: 409, message: "another process holds this index's write lock; this server only follows its commits")
        }
        let qs = try QueryString(query)
        for (k, _) in qs.pairs where !["refresh", "atomic"].contains(k) {
            throw APIError.badRequest("unknown parameter \"\(k.prefix(40))\" (refresh, atomic)")
        }
        let response = try body(u)
        if let r = try qs.one("refresh"), r == "true" || r == "wait_for" { try serving.refreshNow() }
        return response
    }

    static func checkId(_ id: String) throws {
        guard !id.isEmpty, id.utf8.count <= IndexLimits.maxIdBytes else {
            throw APIError.badRequest("a product id is 1 to \(IndexLimits.maxIdBytes) bytes")
        }
    }

    /// PUT: the body is the product (a JSON object, parsed once); its id (if any) must be the path's.
    func put(id: String, body: ByteBuffer, updater: IndexUpdater) throws -> Response {
        try Self.checkId(id)
        let data = Array(body.readableBytesView)
        guard let open = data.firstIndex(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }), data[open] == UInt8(ascii: "{") else {
            throw APIError.badRequest("the body must be the product as a JSON object")
        }
        try Self.writing {
            try data.withUnsafeBufferPointer { p in
                do { try updater.upsert(id: id, body: p) } catch let e as EngineError { throw APIError.badRequest(e.description) }
            }
        }
        return json(200, .object([("result", .string("upserted")), ("id", .string(id))]))
    }

    /// PATCH: numeric and boolean fields set in place (the body parsed once).
    func patch(id: String, body: ByteBuffer, updater: IndexUpdater) throws -> Response {
        try Self.checkId(id)
        let data = Array(body.readableBytesView)
        let found = try Self.writing {
            try data.withUnsafeBufferPointer { p in
                do { return try updater.set(id: id, body: p) } catch let e as EngineError { throw APIError.badRequest(e.description) }
            }
        }
        guard found else { throw APIError.notFound("no product with id \"\(id)\"") }
        return json(200, .object([("result", .string("updated")), ("id", .string(id))]))
    }

    /// Runs one write: a document the index refuses is 400; an index that cannot write (a full
    /// disk, a closed writer) is 503, and nothing of the write was applied.
    static func writing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as IndexError {
            switch e {
            case .invalidDocument(let m), .schema(let m): throw APIError.badRequest(m)
            case .io, .closed:
                throw APIError(status: 503, message: "the index could not write (\(e.description)); nothing was changed, retry later")
            default: throw e
            }
        }
    }

    func delete(id: String, updater: IndexUpdater) throws -> Response {
        try Self.checkId(id)
        guard try Self.writing({ try updater.apply(RecordChange.delete(id: id)) }) else { throw APIError.notFound("no product with id \"\(id)\"") }
        return json(200, .object([("result", .string("deleted")), ("id", .string(id))]))
    }

    /// NDJSON of change lines; bad lines are reported and skipped (`atomic=true`: the batch is
    /// rejected whole, 400, nothing applied).
    func bulk(body: ByteBuffer, query: String?, updater: IndexUpdater) throws -> Response {
        let qs = try QueryString(query)
        let atomic = try qs.one("atomic") == "true"
        let data = Array(body.readableBytesView)
        guard !data.isEmpty else { throw APIError.badRequest("the body is empty; send change lines (NDJSON)") }
        let report = try data.withUnsafeBufferPointer { try updater.apply(lines: $0, atomic: atomic) }
        if report.stoppedAtLine != nil {
            // The index could not write: the report lists what was applied; the rest can be resent.
            var r = json(503, report.json)
            r.headers[.retryAfter] = "1"
            return r
        }
        return json(report.rejected ? 400 : 200, report.json)
    }
}

