import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build an index from a corpus file (catalog JSONL, any JSONL, or TSV with a header)."
    )

    @Option(help: "The corpus file.") var corpus: String
    @Option(help: "Directory of the new index (must not hold an index already, unless --overwrite).") var index: String
    @Option(help: "A schema JSON file (default: built in for the catalog format, inferred otherwise).") var schema: String?
    @Option(help: "Analyzer for every text field (english, standard, plain, keyword).") var analyzer: String?
    @Option(help: "Input format: catalog, jsonl or tsv (default: guessed).") var format: String?
    enum Pairs: String, ExpressibleByArgument, CaseIterable { case on, off, auto }
    @Option(help: "Index adjacent word pairs for the proximity bonus and two-word phrases: on, off or auto (on for text fields analysed with product). Costs size and build time; makes default ranking faster.") var pairs: Pairs = .auto
    @Flag(help: "Index the good lines and report how many bad ones were skipped.") var skipBad = false
    @Flag(help: "Replace an existing index in the directory (deletes it first).") var overwrite = false
    @Flag(help: "Zero-downtime rebuild: build a new generation next to the live one, then switch to it atomically.") var replace = false
    @Flag(help: "Merge into a single segment at the end.") var merge = false
    @Option(help: "Indexing threads (default: up to 2).") var threads: Int?
    @Option(help: "Memory for in-memory segments, MiB (default 3072).") var memory: Int = 3072
    @Option(help: "Distinct attributes.* keys the index may have at most.") var maxAttributeFields = IndexLimits.defaultMaxPatternFields
    @Flag(help: "No progress bar.") var quiet = false
    @Option(help: "Add a vector field embedding these input fields (comma-separated, e.g. title) with all-MiniLM-L6-v2: named <first field>_vector, 384 dims; searches then default to hybrid retrieval. Needs `aisle model install`.") var vectors: String?

    func run() throws {
        do {
            var fmt: CorpusFormat?
            if let format {
                guard let f = CorpusFormat(rawValue: format) else {
                    throw EngineError.input("unknown format \(format) (catalog, jsonl, tsv)")
                }
                fmt = f
            }
            var given: Schema?
            if let schema { given = try Schemas.load(path: schema) }
            let c = try Corpus(path: corpus, format: fmt, schema: given)
            var s = c.schema
            if let analyzer {
                guard AnalyzerNames.all.contains(analyzer) else {
                    throw EngineError.input("unknown analyzer \(analyzer) (available: \(AnalyzerNames.all.joined(separator: ", ")))")
                }
                s = Schemas.withAnalyzer(s, analyzer)
            }
            if pairs != .auto { s = Schemas.withPairs(s, pairs == .on) }
            if let vectors {
                let sources = vectors.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard let first = sources.first else { throw EngineError.input("--vectors needs the field(s) to embed, e.g. --vectors title") }
                let name = first + "_vector"
                guard s.field(named: name) == nil else { throw EngineError.input("the schema already has a field \(name)") }
                var f = FieldDefinition(name: name, type: .vector, source: sources.joined(separator: ","), dims: 384, model: FieldDefinition.defaultVectorModel)
                f.efConstruction = 100
                s.fields.append(f)
                // Fail before reading the corpus when the model is missing. (A schema's own vector
                // fields may be given their vectors in the input and need no model; a text to embed
                // without one is refused naming the field and the model.)
                _ = try VectorModels.embedder(f.vectorModel, field: f.name, dims: f.dims ?? 0)
            }
            if overwrite && FileManager.default.fileExists(atPath: index) {
                guard (try? IndexMeta.readLatest(directory: IndexGenerations.resolve(index))) != nil || (try? FileManager.default.contentsOfDirectory(atPath: index))?.isEmpty == true else {
                    throw EngineError.input("\(index) exists and is not an Aisle index; not overwriting it")
                }
                try FileManager.default.removeItem(atPath: index)
            }
            var opts = Indexer.Options(threads: threads ?? min(2, ProcessInfo.processInfo.activeProcessorCount), skipBad: skipBad)
            opts.memoryBudget = max(64, memory) << 20
            opts.merge = merge
            guard (1...50_000).contains(maxAttributeFields) else { throw EngineError.input("--max-attribute-fields must be from 1 to 50000") }
            opts.maxPatternFields = maxAttributeFields
            opts.progress = !quiet
            var target = index
            var generation: String?
            var genLock: WriterLock?
            if replace {
                guard !overwrite else { throw EngineError.input("give --replace or --overwrite, not both") }
                let name = try IndexGenerations.begin(root: index)
                generation = name
                target = index + "/" + name
                genLock = try WriterLock(directory: target)
            }
            let summary = try Indexer(corpus: c, directory: target, options: opts).run(schema: s)
            if let generation {
                try IndexGenerations.publish(root: index, name: generation)
                genLock?.release()
                let removed = try IndexGenerations.retire(root: index, keep: [generation])
                stderr("switched \(index) to generation \(generation)" + (removed.isEmpty ? "" : "; removed \(removed.filter { !$0.hasPrefix("seg_") && !$0.hasPrefix("commit_") }.joined(separator: ", "))") + " (generations still in use are removed by their server)")
            }
            var line = "indexed \(formatCount(summary.documents)) documents (\(c.format.rawValue)) into \(index): "
            line += "\(formatBytes(summary.indexBytes)), \(summary.segments) segment\(summary.segments == 1 ? "" : "s"), "
            line += String(format: "%.1f s (%@ docs/s)", summary.seconds,
                           formatCount(Int(Double(summary.documents) / max(summary.seconds, 0.001))))
            stderr(line)
            if summary.skipped > 0 {
                stderr("skipped \(formatCount(summary.skipped)) bad line\(summary.skipped == 1 ? "" : "s"):")
                for b in summary.badLines.prefix(10) { stderr("  line \(b.line): \(b.message)") }
                if summary.skipped > 10 { stderr("  ...") }
            }
        } catch {
            throw fail(describe(error))
        }
    }
}
