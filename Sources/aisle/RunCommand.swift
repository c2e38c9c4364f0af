import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a query file and write a TREC run file (qid Q0 docid rank score tag)."
    )

    @Option(help: "The index directory.") var index: String
    @Option(help: "Queries: TSV with a header (query id, text) or JSON lines with qid and q.") var queries: String
    @Option(help: "Where to write the run file.") var out: String
    @Option(help: "Hits per query.") var limit: Int = 100
    @Option(help: "How words combine: and, or.") var `operator`: String = "or"
    @Option(help: "Run tag (last column).") var tag: String = "aisle"
    @OptionGroup var rankingFlags: RankingFlags

    func run() throws {
        do {
            guard let op = DefaultOperator(rawValue: `operator`.lowercased()) else { throw EngineError.input("--operator must be and or or") }
            let searcher = try Searcher.open(directory: index)
            let service = try SearchService(searcher: searcher, ranking: try rankingFlags.options(), synonyms: try rankingFlags.synonymSource())
            let qs = try QueryFile.read(path: queries)
            guard let fh = FileHandle(forWritingAtPath: out) ?? {
                _ = FileManager.default.createFile(atPath: out, contents: nil)
                return FileHandle(forWritingAtPath: out)
            }() else { throw EngineError.input("cannot write \(out)") }
            try fh.truncate(atOffset: 0)
            defer { try? fh.close() }
            let bar = ProgressBar(label: "running", total: qs.count, unit: "queries")
            var failed = 0
            var buf = ""
            for q in qs {
                var req = SearchRequest(q: q.text, op: op, limit: limit)
                req.trackTotalHits = .upTo(0)
                do {
                    let res = try service.search(req)
                    for (i, h) in res.hits.enumerated() {
                        buf += "\(q.id) Q0 \(h.id) \(i + 1) \(h.score) \(tag)\n"
                    }
                } catch {
                    failed += 1
                    stderr("query \(q.id): \(describe(error))")
                }
                if buf.utf8.count > 1 << 16 { fh.write(Data(buf.utf8)); buf = "" }
                bar.advance(by: 1, items: 1)
            }
            fh.write(Data(buf.utf8))
            bar.finish()
            stderr("ran \(qs.count) queries into \(out)\(failed > 0 ? " (\(failed) failed)" : "")")
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}
