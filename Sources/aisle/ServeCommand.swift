import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex
import AisleServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the search HTTP API over an index."
    )

    @Option(help: "The index directory.") var index: String
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port.") var port: Int = 8080

    func run() async throws {
        let service: SearchService
        do {
            service = try SearchService(searcher: try Searcher.open(directory: index))
        } catch {
            throw fail(describe(error))
        }
        let docs = service.searcher.docCount
        let h = host, p = port
        try await APIServer(service: service).run(host: host, port: port) {
            stderr("serving \(formatCount(docs)) documents from \(index) on http://\(h):\(p) (GET /api/v1/products/search, POST /api/v1/search)")
        }
    }
}
