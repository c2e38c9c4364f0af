import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

@main
struct Aisle: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "aisle",
        abstract: "Aisle: a search-centric catalog engine for online shops.",
        version: "aisle \(version) (index format \(IndexMeta.formatVersion))",
        subcommands: [IndexCommand.self, SearchCommand.self, RunCommand.self, ServeCommand.self, UpdateCommand.self,
                      CheckCommand.self, ExportCommand.self, InspectCommand.self,
                      CatalogCommand.self, ReindexCommand.self, SyncCommand.self]
    )
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
