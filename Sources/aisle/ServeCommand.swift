import ArgumentParser
import Foundation
import AisleCatalog
import AisleCommerce
import AisleEngine
import AisleIndex
import AisleServer
import AisleSync

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the search HTTP API over an index, with live writes.",
        discussion: """
        The server is the index's writer (unless another process holds its write lock: then it
        follows that writer's commits, read-only). Accepted writes are searchable within
        --refresh-ms and committed every --commit-ms. Write endpoints (PUT / PATCH / DELETE
        /api/v1/products/{id}, POST /api/v1/products/_bulk) need `Authorization: Bearer TOKEN`,
        the token from --token or AISLE_API_TOKEN; without one, writes are disabled. When a rebuild
        (`aisle index --replace`) publishes a new generation, the server switches to it.
        """
    )

    @Option(help: "The index directory.") var index: String
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port.") var port: Int = 8080
    @Option(help: "Bearer token for write endpoints (default: $AISLE_API_TOKEN).") var token: String?
    @Option(help: "Make accepted writes searchable within this many milliseconds.") var refreshMs: Int = 100
    @Option(help: "Commit accepted writes at most this many milliseconds after they arrive.") var commitMs: Int = 2000
    @Option(help: ArgumentHelp("What one search may cost, over the defaults: a JSON object or a file holding one (e.g. '{\"timeout_ms\": 1000}'); see README, \"Limits\".",
                               valueName: "json|file"))
    var limits: String?
    @Option(help: "Threads that run searches (default: twice the cores, at least 4).") var searchThreads: Int?
    @Option(help: "Searches that may wait for a thread; more are answered 503 at once.") var searchQueue: Int = 64
    @Option(help: "A search running longer than this many milliseconds lowers its thread's priority (0: never).") var demoteAfterMs: Int = 20
    @Option(help: "Threads that run cart, session, customer and order requests (default: twice the cores, at least 4). More threads run more PostgreSQL transactions at once; on a saturated machine that only lengthens the tail.") var commerceThreads: Int?
    @Option(help: "Open connections at most; more are closed at once.") var maxConnections: Int = 512
    @Option(help: "Close a connection with no request in progress after this many milliseconds (slow or idle clients).") var idleTimeoutMs: Int = 15_000
    @Option(help: "A request's body must arrive within this many milliseconds of its head.") var readTimeoutMs: Int = 10_000
    @Option(help: "Distinct attributes.* keys the index may have at most; a write adding more is refused.") var maxAttributeFields = IndexLimits.defaultMaxPatternFields
    @Option(help: "A directory for the indexes of the Elasticsearch-compatible API (PUT /{index}, _doc, _bulk...); created if missing.") var data: String?
    @Option(help: "Serve the storefront's files from this directory (while editing them) instead of the copies built into aisle.") var storefront: String?
    @Option(help: "Seconds between refreshes of what search learns from analytics (past queries that led to clicks and sales for autocomplete; the behaviour ranking signal); 0: never.") var searchFeedbackSeconds = 60.0
    @Option(help: "Days of analytics that search learns from (today included).") var searchFeedbackDays = 30
    @Option(help: "Autocomplete searches and products remembered per index snapshot (0: none; the memo starts over at every refresh).") var suggestMemo = Suggester.defaultMemoEntries
    @Flag(help: "Send X-Elastic-Product: Elasticsearch on the Elasticsearch-compatible API (elasticsearch-py 8 needs it). Off by default: Aisle is not Elasticsearch.") var elasticsearchProductHeader = false
    @Option(help: "Memory for per-segment match counts, facet counts and best hits of faceted and sorted searches, in MiB (0: off; default: $AISLE_FACET_CACHE_MB, else 256). Updates never serve a stale count: an entry names the segment's tombstone and column versions.") var facetCacheMb: Int?
    @Option(help: "Memory for recently decompressed stored-field blocks (the hits' titles, prices...), in MiB (0: off; default: $AISLE_STORED_CACHE_MB, else 64).") var storedCacheMb: Int?
    @OptionGroup var rankingFlags: RankingFlags
    @OptionGroup(title: "Catalog (follow PostgreSQL's change log when a database is given or DATABASE_URL is set)") var catalog: ServeCatalogOptions
    @OptionGroup(title: "Customers, sessions and carts (need Redis and the catalog's PostgreSQL)") var commerce: CommerceOptions

    func run() async throws {
        let serving: ServingIndex
        let service: SearchService
        do {
            var o = ServingIndex.Options()
            o.refreshInterval = Double(max(5, refreshMs)) / 1000
            o.commitInterval = Double(max(10, commitMs)) / 1000
            guard (0...65535).contains(port) else { throw EngineError.input("--port must be from 0 (any free port) to 65535, got \(port)") }
            guard searchThreads.map({ (1...1024).contains($0) }) ?? true, (0...100_000).contains(searchQueue),
                  (1...1_000_000).contains(maxConnections), idleTimeoutMs >= 0, readTimeoutMs >= 0 else {
                throw EngineError.input("--search-threads must be 1 to 1024, --search-queue 0 to 100000, --max-connections 1 to 1000000, timeouts not negative")
            }
            guard (1...50_000).contains(maxAttributeFields) else { throw EngineError.input("--max-attribute-fields must be from 1 to 50000") }
            guard (0...1 << 20).contains(facetCacheMb ?? 0), (0...1 << 20).contains(storedCacheMb ?? 0) else {
                throw EngineError.input("--facet-cache-mb and --stored-cache-mb must be from 0 (off) to 1048576")
            }
            if let mb = facetCacheMb { SegmentFacetCache.shared.capacityBytes = mb << 20 }
            if let mb = storedCacheMb { StoredBlockCache.shared.capacityBytes = mb << 20 }
            o.live.maxPatternFields = maxAttributeFields
            serving = try ServingIndex(root: index, options: o)
            service = try SearchService(source: { serving.searcher }, ranking: try rankingFlags.options(),
                                        synonyms: try rankingFlags.synonymSource(), limits: try Self.loadLimits(limits))
        } catch {
            throw fail(describe(error))
        }
        var options = APIServer.Options()
        if let searchThreads { options.searchThreads = searchThreads }
        options.searchQueue = searchQueue
        if let commerceThreads {
            guard (1...1024).contains(commerceThreads) else { throw fail("--commerce-threads must be from 1 to 1024") }
            options.commerceThreads = commerceThreads
        }
        options.demoteAfter = Double(max(0, demoteAfterMs)) / 1000
        options.connections.maxConnections = maxConnections
        options.connections.idleTimeout = Double(idleTimeoutMs) / 1000
        options.connections.readTimeout = Double(readTimeoutMs) / 1000
        options.elasticProductHeader = elasticsearchProductHeader
        guard suggestMemo >= 0 else { throw fail("--suggest-memo must not be negative") }
        options.suggestMemo = suggestMemo
        guard searchFeedbackSeconds >= 0, searchFeedbackSeconds.isFinite else { throw fail("--search-feedback-seconds must be 0 or more") }
        guard (1...3650).contains(searchFeedbackDays) else { throw fail("--search-feedback-days must be 1 to 3650, got \(searchFeedbackDays)") }
        options.feedbackInterval = searchFeedbackSeconds
        options.feedbackDays = searchFeedbackDays
        options.storefrontDirectory = storefront
        var elastic: ElasticIndexes?
        if let data {
            do {
                var eo = ServingIndex.Options()
                eo.commitInterval = Double(max(10, commitMs)) / 1000
                elastic = try ElasticIndexes(directory: data, options: eo)
            } catch {
                throw fail("--data \(data): \(describe(error))")
            }
        }
        serving.start()
        elastic?.start()
        let tok = token ?? ProcessInfo.processInfo.environment["AISLE_API_TOKEN"]
        let docs = service.searcher.liveDocCount
        let h = host, p = port
        let mode = serving.updater == nil ? "read-only (another process writes)" : (tok?.isEmpty == false ? "writes with bearer token" : "writes disabled (no token)")
        let mount = commerce.mount(database: catalog.stores.database)
        let sync = catalog.startSync(serving: serving)
        // The order read model's projector and the expiry sweeper run beside the server.
        var workers: CommerceWorkers?
        if case .ready(let c) = mount { workers = c.startWorkers(log: { stderr($0) }) }
        defer { workers?.stop(); sync?.stop(); serving.close() }
        let readiness = sync.map { f in { @Sendable in CatalogReadiness.of(f.status) } }
        try await APIServer(service: service, serving: serving, token: tok, options: options, commerce: mount, elastic: elastic,
                            readiness: readiness).run(host: host, port: port) {
            stderr("serving \(formatCount(docs)) documents from \(index) on http://\(h):\(p), \(mode)")
            if case .missing(let why) = mount { stderr(why) }
        }
    }

    /// `--limits`: a JSON object or a file holding one, over the defaults.
    static func loadLimits(_ flag: String?) throws -> SearchLimits {
        var l = SearchLimits()
        guard let flag else { return l }
        _ = try jsonFlag(flag, name: "limits", what: "limits") { try l.apply($0) }
        return l
    }
}

struct CommerceOptions: ParsableArguments {
    @Option(help: "Redis URL for sessions and carts (default: $REDIS_URL).") var redis: String?
    @Option(help: "Seconds a guest session lives without use (each request renews it).") var guestSessionTtl = 30 * 60
    @Option(help: "Seconds a customer session lives without use (each request renews it).") var customerSessionTtl = 14 * 24 * 3600
    @Option(help: "Seconds an untouched cart lives (each change renews it).") var cartTtl = 7 * 24 * 3600
    @Option(help: "Seconds an unpaid order holds its stock before it expires (the stock goes back).") var orderExpiry = 30 * 60
    @Option(help: "Days of search analytics events kept (older days are dropped hourly; the daily rollups stay).") var analyticsRetentionDays = 90

    /// Customers, sessions and carts when Redis and the catalog are configured; else why not.
    func mount(database: String?) -> CommerceMount {
        let redisURL = redis ?? ProcessInfo.processInfo.environment["REDIS_URL"]
        guard let redisURL, !redisURL.isEmpty, let pg = CatalogDatabase.url(database) else { return .missing(APIServer.commerceNotConfigured) }
        for (name, v) in [("--guest-session-ttl", guestSessionTtl), ("--customer-session-ttl", customerSessionTtl), ("--cart-ttl", cartTtl),
                          ("--order-expiry", orderExpiry)]
        where !(1...(365 * 24 * 3600)).contains(v) {
            return .missing("commerce is not available: \(name) must be 1 second to 1 year, got \(v)")
        }
        guard (1...3650).contains(analyticsRetentionDays) else {
            return .missing("commerce is not available: --analytics-retention-days must be 1 to 3650, got \(analyticsRetentionDays)")
        }
        var config = CommerceConfig()
        config.analyticsRetentionDays = analyticsRetentionDays
        config.guestSessionTTL = guestSessionTtl
        config.customerSessionTTL = customerSessionTtl
        config.cartTTL = cartTtl
        config.orderExpiry = orderExpiry
        config.sweepInterval = min(5, max(0.2, Double(orderExpiry) / 4))
        do {
            let c = try Commerce(redis: try RedisPool(url: redisURL), postgres: PostgresPool(url: pg), config: config)
            return .ready(c)
        } catch {
            return .missing("commerce is not available: \(error)")
        }
    }
}

/// `GET /readyz` from the catalog follower's state (`CatalogFollower.Status.notReadyReason`).
enum CatalogReadiness {
    static func of(_ st: CatalogFollower.Status, now: Date = Date()) -> APIServer.Readiness {
        var details: [(String, JSONValue)] = [("catalog_position", .string(st.position.map { "\($0)" } ?? "none")),
                                              ("catalog_committed", .string(st.committed.map { "\($0)" } ?? "none"))]
        if let t = st.atHeadAt {
            details.append(("catalog_at_head_seconds_ago", .number((now.timeIntervalSince(t) * 1000).rounded() / 1000)))
        }
        if let e = st.lastError { details.append(("catalog_error", .string(e))) }
        let reason = st.notReadyReason(now: now)
        return APIServer.Readiness(ready: reason == nil, reason: reason, details: details)
    }
}
