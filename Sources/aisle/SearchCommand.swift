import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index. With --stdin: one JSON request per line in, one JSON result per line out."
    )

    @Option(help: "The index directory.") var index: String
    @Flag(help: "Print the result as JSON.") var json = false
    @Option(help: "Number of hits.") var limit: Int = 10
    @Option(help: "Hits to skip.") var offset: Int = 0
    @Option(help: "How words combine: and, or.") var `operator`: String = "and"
    @Flag(help: "Show each hit's score broken down by field and term.") var explain = false
    @Flag(help: "Read JSON requests from standard input, one per line.") var stdin = false
    @Flag(help: "Count every match exactly (slower for broad queries).") var exactTotal = false
    @Flag(help: "Do not verify file checksums when opening the index.") var noVerify = false
    @Flag(help: "Search the plain words when the query's syntax is broken (as the HTTP API does), instead of an error.") var lenient = false
    @OptionGroup var rankingFlags: RankingFlags
    @Argument(help: "The query (query-string syntax: words, \"phrases\"~slop, -exclusions, OR, field:value, prefix*).")
    var query: [String] = []

    func run() throws {
        do {
            let searcher = try Searcher.open(directory: index, verifyChecksums: !noVerify)
            let service = try SearchService(searcher: searcher, ranking: try rankingFlags.options(), synonyms: try rankingFlags.synonymSource())
            if stdin {
                guard query.isEmpty else { throw EngineError.input("give either a query or --stdin, not both") }
                service.serveLines(input: FileHandle.standardInput, output: FileHandle.standardOutput)
                return
            }
            guard let op = DefaultOperator(rawValue: `operator`.lowercased()) else {
                throw EngineError.input("--operator must be and or or")
            }
            var req = SearchRequest(q: query.joined(separator: " "), op: op, limit: limit, offset: offset)
            req.explain = explain
            req.syntax = lenient ? .lenient : .strict
            req.fields = ["*"]
            if exactTotal { req.trackTotalHits = .exact }
            let res = try service.search(req)
            if json {
                var w = JSONWriter()
                SearchService.json(res, into: &w)
                print(w.text)
                return
            }
            let rel = res.totalIsExact ? "" : "at least "
            print("\(rel)\(formatCount(res.total)) match\(res.total == 1 ? "" : "es") (\(String(format: "%.2f", res.tookMicros / 1000)) ms)")
            for (i, h) in res.hits.enumerated() {
                let title = h.fields.first { $0.name == "title" || $0.name == "product_title" }?.value
                let shown: String
                if case .string(let s)? = title { shown = s } else {
                    shown = h.fields.first { if case .string = $0.value, $0.name != searcher.schema.idField { return true }; return false }
                        .map { if case .string(let s) = $0.value { return s }; return "" } ?? ""
                }
                print(String(format: "%3d. %8.4f  %@  %@", req.offset + i + 1, Double(h.score), h.id, String(shown.prefix(100))))
                if let e = h.explanation { print(e.render(indent: 3), terminator: "") }
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}
