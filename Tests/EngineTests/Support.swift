import Foundation
@testable import AisleEngine
@testable import AisleIndex

/// The repository's root (for fixtures in corpora/).
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func fixture(_ name: String) -> String { repoRoot + "/corpora/" + name }

func tempDir(_ label: String) -> String {
    let p = NSTemporaryDirectory() + "aisle-engine-\(label)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

func writeFile(_ path: String, _ text: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
}

/// Indexes a corpus file into a fresh directory and opens a search service on it.
func buildIndex(corpus: String, analyzer: String? = nil, skipBad: Bool = false, threads: Int = 1) throws -> (SearchService, Indexer.Summary, String) {
    let dir = tempDir("idx")
    let c = try Corpus(path: corpus)
    var schema = c.schema
    if let analyzer { schema = Schemas.withAnalyzer(schema, analyzer) }
    var opts = Indexer.Options(threads: threads, skipBad: skipBad)
    opts.sync = false
    opts.progress = false
    let summary = try Indexer(corpus: c, directory: dir, options: opts).run(schema: schema)
    return (try SearchService(searcher: try Searcher.open(directory: dir)), summary, dir)
}

extension SearchService {
    func ids(_ q: String, op: DefaultOperator = .and, limit: Int = 10) throws -> [String] {
        try search(SearchRequest(q: q, op: op, limit: limit)).hits.map { $0.id }
    }
}
