import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex
import AisleAnalyzer

@main
struct Aisle: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "aisle",
        abstract: "Aisle: a search-centric catalog engine for online shops.",
        version: "aisle \(version) (index format \(IndexMeta.formatVersion))",
        subcommands: [IndexCommand.self, SearchCommand.self, RunCommand.self, ServeCommand.self, UpdateCommand.self,
                      CheckCommand.self, ExportCommand.self, InspectCommand.self, AnalyzeCommand.self, EvalCommand.self,
                      CatalogCommand.self, ReindexCommand.self, SyncCommand.self, OrdersCommand.self, InventoryCommand.self,
                      AnalyticsCommand.self, ModelCommand.self, VectorsCommand.self]
    )

    /// Wires the models vector fields use and the caches' sizes, then runs the command.
    static func main() async {
        ModelWiring.register()
        do {
            try CacheSettings.applyEnvironment()
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The search caches' sizes: $AISLE_FACET_CACHE_MB and $AISLE_STORED_CACHE_MB (0 turns a cache
/// off) for every command; `aisle serve --facet-cache-mb / --stored-cache-mb` override them. And
/// $AISLE_DISJUNCTION (`maxscore` or `wand`): the top-k loop of every OR search, for benchmarks.
enum CacheSettings {
    static func applyEnvironment() throws {
        let env = ProcessInfo.processInfo.environment
        if let v = env["AISLE_FACET_CACHE_MB"] { SegmentFacetCache.shared.capacityBytes = try megabytes(v, "AISLE_FACET_CACHE_MB") }
        if let v = env["AISLE_STORED_CACHE_MB"] { StoredBlockCache.shared.capacityBytes = try megabytes(v, "AISLE_STORED_CACHE_MB") }
        if let v = env["AISLE_DISJUNCTION"] {
            guard let choice = DisjunctionAlgorithm(rawValue: v.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw fail("AISLE_DISJUNCTION must be maxscore, wand or auto, got \"\(v.prefix(40))\"")
            }
            DisjunctionAlgorithm.setProcessDefault(choice)
        }
    }

    static func megabytes(_ text: String, _ name: String) throws -> Int {
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (0...(1 << 20)).contains(n) else {
            throw fail("\(name) must be a whole number of MiB from 0 (off) to 1048576, got \"\(text.prefix(40))\"")
        }
        return n << 20
    }
}

/// Prints `error: message` to standard error and exits with status 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(1)
}

func describe(_ error: Error) -> String {
    if let e = error as? EngineError { return e.description }
    if let e = error as? IndexError { return e.description }
    return "\(error)"
}

func stderr(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show an index's segments and where their bytes go."
    )
    @Option(help: "The index directory.") var index: String

    func run() throws {
        do {
            let s = try Searcher.open(directory: index)
            print("\(s.liveDocCount) documents, \(s.segments.count) segments, commit \(s.meta.generation)")
            for seg in s.segments {
                print("segment \(seg.meta.id): \(seg.liveDocCount) documents\(seg.deleted == nil ? "" : " (+\(seg.docCount - seg.liveDocCount) deleted)")")
                print(try seg.spaceUsage(), terminator: "")
            }
        } catch {
            throw fail(describe(error))
        }
    }
}

/// Ranking options shared by search, run, serve and eval.
struct RankingFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Ranking options over the index's defaults: a JSON object or a file holding one (e.g. '{\"typo\": false}'); see README.",
                               valueName: "json|file"))
    var ranking: String?
    @Option(help: ArgumentHelp("Query-time synonyms file (Solr format: 'fridge, refrigerator', 'tv => television'; re-read when it changes); default: the built-in list; 'none': no synonyms.",
                               valueName: "file"))
    var synonyms: String?

    /// The --ranking JSON, checked (applied over each index's defaults).
    func options() throws -> JSONValue? {
        guard let ranking else { return nil }
        var o = RankingOptions()
        return try jsonFlag(ranking, name: "ranking", what: "ranking options") { try o.apply($0) }
    }

    func synonymSource() throws -> SynonymSource? {
        try SynonymSource.from(flag: synonyms)
    }
}

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Show the terms an analyzer makes of a text (term, position, source offsets)."
    )
    @Option(help: "The analyzer: \(Analyzers.names.joined(separator: ", ")).") var analyzer: String = "product"
    @Argument(help: "The text.") var text: [String]

    func run() throws {
        do {
            let a = try Analyzers.named(analyzer)
            let t = text.joined(separator: " ")
            let bytes = Array(t.utf8)
            a.analyze(t, firstPosition: 0) { term, pos, s, e in
                let src = String(decoding: bytes[Int(s)..<Int(e)], as: UTF8.self)
                print("\(pos)\t\(String(decoding: term, as: UTF8.self))\t\(src)")
            }
        } catch {
            throw fail(describe(error))
        }
    }
}

/// A flag that takes a JSON object inline or a file holding one (`--ranking`, `--limits`), parsed and
/// checked by `check`; errors name the flag.
func jsonFlag(_ value: String, name: String, what: String, check: (JSONValue) throws -> Void) throws -> JSONValue {
    let text: String
    if value.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
        text = value
    } else {
        guard let d = FileManager.default.contents(atPath: value) else { throw EngineError.input("cannot read \(what) file \(value)") }
        text = String(decoding: d, as: UTF8.self)
    }
    let v: JSONValue
    do { v = try JSONValue.parse(text) } catch { throw EngineError.input("--\(name): \(error)") }
    do { try check(v) } catch let e as EngineError { throw EngineError.input("--\(name): \(e.description)") }
    return v
}
