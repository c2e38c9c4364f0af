import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a query file and write a TREC run file (qid Q0 docid rank score tag).",
        discussion: "Each query's request is the search options (--options / --options-json) merged with {\"q\": text, \"limit\": --limit}; hits are ranked by score, then id (as `aisle eval` ranks them)."
    )

    @Option(help: "The index directory.") var index: String
    @Option(help: "Queries: TSV with a header (query id, text) or JSON lines with qid and q.") var queries: String
    @Option(help: "Where to write the run file.") var out: String
    @Option(help: "Hits per query (at most 1000).") var limit: Int = 100
    @Option(help: "How words combine: and, or (default or, unless the options say otherwise).") var `operator`: String?
    @Option(help: "A JSON file of search request options for every query, e.g. {\"operator\": \"and\"}.") var options: String?
    @Option(help: "Search request options as inline JSON (override --options' keys).") var optionsJson: String?
    @Option(help: "Run tag (last column).") var tag: String = "aisle"
    @Option(help: "Query-time synonyms file (Solr format: 'fridge, refrigerator', 'tv => television'); default: the built-in list; 'none': no synonyms.") var synonyms: String?
    @Option(help: "Search threads.") var threads: Int = 1
    @Flag(help: "No progress bar or summary.") var quiet = false

    func run() throws {
        do {
            var opts = try SearchOptions.load(file: options, json: optionsJson)
            if let op = `operator` {
                guard DefaultOperator(rawValue: op.lowercased()) != nil else { throw EngineError.input("--operator must be and or or") }
                opts = .object(SearchOptions.merge(opts?.objectValue ?? [], [("operator", .string(op.lowercased()))]))
            }
            let qs = try readQueries(queries)
            let ranked = try searchRun(index: index, queries: qs, options: opts, depth: limit, threads: threads, quiet: quiet, label: "running",
                                   synonyms: synonyms)
            try Run(rankings: ranked, tag: tag).write(to: out)
            if !quiet { stderr("wrote \(out)") }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}
