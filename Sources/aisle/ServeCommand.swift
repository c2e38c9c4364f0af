import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex
import AisleServer

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
    @OptionGroup var rankingFlags: RankingFlags
    @OptionGroup(title: "Catalog (follow PostgreSQL's change log when a database is given or DATABASE_URL is set)") var catalog: ServeCatalogOptions

    func run() async throws {
        let serving: ServingIndex
        let service: SearchService
        do {
            var o = ServingIndex.Options()
            o.refreshInterval = Double(max(5, refreshMs)) / 1000
            o.commitInterval = Double(max(10, commitMs)) / 1000
            serving = try ServingIndex(root: index, options: o)
            service = try SearchService(source: { serving.searcher }, ranking: try rankingFlags.options(),
                                        synonyms: try rankingFlags.synonymSource())
        } catch {
            throw fail(describe(error))
        }
        serving.start()
        let tok = token ?? ProcessInfo.processInfo.environment["AISLE_API_TOKEN"]
        let docs = service.searcher.liveDocCount
        let h = host, p = port
        let mode = serving.updater == nil ? "read-only (another process writes)" : (tok?.isEmpty == false ? "writes with bearer token" : "writes disabled (no token)")
        let sync = catalog.startSync(serving: serving)
        defer { sync?.stop(); serving.close() }
        try await APIServer(service: service, serving: serving, token: tok).run(host: host, port: port) {
            stderr("serving \(formatCount(docs)) documents from \(index) on http://\(h):\(p), \(mode)")
        }
    }
}
