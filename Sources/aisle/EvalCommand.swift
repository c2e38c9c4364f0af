import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

/// `aisle eval`: relevance evaluation (the default subcommand), A/B comparison and the relevance gate.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Relevance testing: score rankings against judgments, compare two configurations, gate on a baseline.",
        discussion: """
        aisle eval [score] --qrels QRELS (--run RUN | --index DIR --queries QUERIES) [--preset homedepot]
        aisle eval compare --qrels QRELS --queries QUERIES --a-index DIR --b-index DIR [--a-options-json ...]
        aisle eval gate --baseline corpora/relevance/baseline.json [--tolerance 0.01] [--update]

        Judgments: TREC qrels (`qid 0 docid rel`) or TSV with a header (query_id, product_id, relevance;
        fractional grades allowed). Runs: TREC run files (`qid Q0 docid rank score tag`).
        """,
        subcommands: [EvalScoreCommand.self, EvalCompareCommand.self, EvalGateCommand.self],
        defaultSubcommand: EvalScoreCommand.self
    )
}

// MARK: - Shared options

/// How metrics are computed (the same flags as ../shared/bench/score.py where it has them).
struct EvalSettingsOptions: ParsableArguments {
    @Option(help: "Settings of score.py's preset: homedepot (gain relevance-1 rounded to thirds as score.py hands trec_eval, ≥5 judgments, relevant: gain ≥ 1.5, condensed NDCG@10) or cranfield (gain 5-code, relevant: codes 1-3, uncondensed). Other flags override it.")
    var preset: String?
    @Option(help: "Gain of a grade for NDCG: minus1 (relevance-1), identity, cranfield (5-code), or a table such as 1=0,2=1,3=3 (default identity).")
    var gain: String?
    @Option(help: "Round gains to multiples of 1/S (half up), as score.py gives trec_eval round(gain*S); 0: exact gains (default 0; homedepot 3).")
    var gainScale: Double?
    @Option(help: "Evaluate only queries with at least N judgments (default 0; homedepot 5).")
    var minJudged: Int?
    @Option(help: "Relevant for MAP, MRR, P@k, Recall@k: gain ≥ G (default 1; homedepot 1.5; cranfield 2).")
    var relMinGain: Double?
    @Option(help: "Cutoffs for NDCG@k and P@k, comma-separated (default 10); the first is the primary metric.")
    var k: String?
    @Option(help: "Cutoffs for Recall@k, comma-separated (default 100).")
    var recallK: String?
    @Flag(help: "Report condensed NDCG (unjudged documents removed before scoring) as ndcg@k.")
    var condensed = false
    @Flag(help: "Report uncondensed NDCG as ndcg@k.")
    var uncondensed = false
    @Option(help: "How a run file is ordered: rank (the rank column, then file order; as score.py), score (score descending, then id ascending) or trec_eval (score descending, then id descending).")
    var order: String?
    @Flag(help: "Average every metric over every evaluated query (as trec_eval -c), not NDCG over queries with a positive gain and binary metrics over queries with a relevant document.")
    var allQueries = false

    func settings() throws -> EvalSettings {
        var s = try preset.map { try EvalSettings.preset($0) } ?? EvalSettings()
        if let gain { s.gain = try GainMapping(parsing: gain) }
        if let gainScale { s.gainScale = gainScale == 0 ? nil : gainScale }
        if let minJudged { s.minJudged = minJudged }
        if let relMinGain { s.relMinGain = relMinGain }
        if let k { s.cutoffs = try Self.ints(k, "--k") }
        if let recallK { s.recallCutoffs = try Self.ints(recallK, "--recall-k") }
        if condensed && uncondensed { throw EngineError.input("give --condensed or --uncondensed, not both") }
        if condensed { s.condensed = true }
        if uncondensed { s.condensed = false }
        if let order {
            guard let o = RunOrder(rawValue: order) else {
                throw EngineError.input("--order must be one of \(RunOrder.allCases.map { $0.rawValue }.joined(separator: ", "))")
            }
            s.order = o
        }
        if allQueries { s.allQueries = true }
        try s.validate()
        return s
    }

    static func ints(_ s: String, _ flag: String) throws -> [Int] {
        try s.split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                throw EngineError.input("\(flag) takes positive integers separated by commas, got \"\(s)\"")
            }
            return n
        }
    }
}

/// Loads judgments, optionally drops judged queries a query file lacks (or fails on them).
func loadJudgments(_ path: String, queries: [QueryRecord]?, queryFile: String?, settings: EvalSettings, ignoreMissing: Bool) throws -> Judgments {
    var j = try Judgments.read(path: path)
    if j.duplicates > 0 { stderr("note: \(j.duplicates) judgment\(j.duplicates == 1 ? "" : "s") repeated an earlier (query, document) pair; the last grade counts") }
    if let queries, let queryFile {
        let missing = Evaluator.queriesMissing(from: queries, judgments: j, settings: settings)
        if !missing.isEmpty {
            guard ignoreMissing else { throw Evaluator.missingQueriesError(missing, queryFile: queryFile) }
            stderr("note: left out \(missing.count) judged quer\(missing.count == 1 ? "y" : "ies") that the query file lacks")
            for q in missing { j.grades[q] = nil }
            j.queryOrder.removeAll { j.grades[$0] == nil }
        }
    }
    return j
}

func readQueries(_ path: String) throws -> [QueryRecord] {
    guard FileManager.default.fileExists(atPath: path) else { throw EngineError.input("query file \(path) does not exist") }
    let qs: [QueryRecord]
    do { qs = try QueryFile.read(path: path) } catch let EngineError.badLine(line, m) {
        throw EngineError.input("\(path): line \(line): \(m)")
    }
    guard !qs.isEmpty else { throw EngineError.input("the query file \(path) has no queries") }
    var seen = Set<String>()
    let dups = qs.filter { !seen.insert($0.id).inserted }.count
    if dups > 0 { stderr("note: \(dups) quer\(dups == 1 ? "y id is" : "y ids are") repeated in \(path); the last one counts") }
    return qs
}

/// Runs a query file against an index with search options; prints failures and a summary line.
func searchRun(index: String, queries: [QueryRecord], options: JSONValue?, depth: Int, threads: Int, quiet: Bool,
               label: String = "searching", synonyms: String? = nil) throws -> [(query: String, docs: [RankedDoc])] {
    guard FileManager.default.fileExists(atPath: index) else { throw EngineError.input("index directory \(index) does not exist") }
    let service = try SearchService(searcher: try Searcher.open(directory: index), synonyms: try SynonymSource.from(flag: synonyms),
                                    limits: .offline)
    let runner = try SearchRunner(service: service, options: options, depth: depth)
    let bar = ProgressBar(label: label, total: queries.count, unit: "queries", enabled: quiet ? false : nil)
    let t0 = Date()
    let outcome = runner.run(queries, threads: threads, progress: bar)
    bar.finish()
    for f in outcome.failures.prefix(10) { stderr("query \(f.query): \(f.message)") }
    if outcome.failures.count > 10 { stderr("... \(outcome.failures.count - 10) more failed queries") }
    if !quiet {
        stderr(String(format: "ran %@ queries on %@ in %.1f s%@", formatCount(queries.count), index, Date().timeIntervalSince(t0),
                      outcome.failures.isEmpty ? "" : " (\(outcome.failures.count) failed: they count as zero-result queries)"))
    }
    return outcome.rankings
}

func idRankings(_ r: [(query: String, docs: [RankedDoc])]) -> [String: [String]] {
    var out: [String: [String]] = [:]
    for (q, docs) in r { out[q] = docs.map { $0.id } }
    return out
}

func idRankings(_ r: [String: [RankedDoc]]) -> [String: [String]] { r.mapValues { $0.map { $0.id } } }

func f4(_ d: Double?) -> String {
    guard let d, d.isFinite else { return "n/a" }
    return String(format: "%.4f", d)
}

func settingsLine(_ s: EvalSettings) -> String {
    var parts: [String] = []
    if let p = s.preset { parts.append("preset \(p)") }
    parts.append("gain \(s.gain.name)" + (s.gainScale.map { " (rounded to 1/\(GainFormat.num($0)))" } ?? ""))
    parts.append("relevant: gain >= \(GainFormat.num(s.relMinGain))")
    parts.append("min judged \(s.minJudged)")
    parts.append("ndcg@k = \(s.condensed ? "condensed" : "uncondensed")")
    parts.append("run order \(s.order.rawValue)")
    if s.allQueries { parts.append("all queries averaged") }
    return parts.joined(separator: ", ")
}

enum GainFormat {
    static func num(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
}

/// Writes text to a file, or to standard output for "-".
func writeOutput(_ text: String, to path: String) throws {
    if path == "-" {
        FileHandle.standardOutput.write(Data(text.utf8))
        return
    }
    do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch {
        throw EngineError.input("cannot write \(path): \(error.localizedDescription)")
    }
}

func tsvField(_ s: String) -> String {
    s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
}

// MARK: - aisle eval [score]

struct EvalScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score a run file, or a query file run against an index, against relevance judgments.",
        discussion: """
        Examples:
          aisle eval --run run.txt --qrels qrels.tsv --preset homedepot
          aisle eval --index /tmp/hd --queries queries.tsv --qrels qrels.tsv --preset homedepot \\
                     --options-json '{"operator": "or"}' --write-run run.txt --per-query pq.tsv
          aisle eval --run run.txt --qrels qrels.txt --k 5,10,20 --recall-k 100,1000 --json

        Metrics (means; per query with --per-query): ndcg@k (the primary variant), ndcg@k_condensed,
        ndcg@k_uncondensed, ndcg_exp@k* (gain 2^g-1), map, mrr, p@k, recall@k (on the full ranking) and
        their _condensed variants, judged@k; zero_result counts evaluated queries with no results.
        NDCG is averaged over queries with a positive gain, binary metrics over queries with a
        relevant document; a judged query the run lacks counts 0.
        """
    )

    @Option(help: "The judgments: TREC qrels (qid 0 docid rel) or TSV with a header (query_id, product_id, relevance).")
    var qrels: String
    @Option(name: .customLong("run"), help: "A TREC run file to score (qid Q0 docid rank score tag).")
    var runFile: String?
    @Option(help: "An index to run the queries against (with --queries).")
    var index: String?
    @Option(help: "Query file: TSV with a header (id, text) or JSON lines with qid and q. Needed with --index; with --run it gives the query text in per-query output.")
    var queries: String?
    @Option(help: "A JSON file of search request options merged into every query's request, e.g. {\"operator\": \"and\"}.")
    var options: String?
    @Option(help: "Search request options as inline JSON (override --options' keys).")
    var optionsJson: String?
    @Option(help: "Query-time synonyms file for searching (Solr format); default: the built-in list; 'none': no synonyms.")
    var synonyms: String?
    @Option(help: "Results per query when searching (at most 1000).")
    var depth: Int = SearchRunner.defaultDepth
    @Option(help: "Search threads.")
    var threads: Int = 1
    @Option(help: "Write the run made by searching to this file (TREC format).")
    var writeRun: String?
    @Option(help: "Run tag for --write-run.")
    var tag: String = "aisle"
    @OptionGroup var metrics: EvalSettingsOptions
    @Option(help: "Write per-query values here (- for standard output).")
    var perQuery: String?
    @Option(help: "Per-query format: tsv or jsonl (default: jsonl for .jsonl/.json files, else tsv).")
    var perQueryFormat: String?
    @Flag(help: "Print the means as one JSON object.")
    var json = false
    @Flag(help: "Leave out judged queries that the query file lacks (default: an error).")
    var ignoreMissingQueries = false
    @Flag(help: "No progress bar or summary.")
    var quiet = false

    func run() throws {
        do {
            let s = try metrics.settings()
            guard (runFile == nil) != (index == nil) else { throw EngineError.input("give --run FILE or --index DIR (with --queries), not both or neither") }
            if index != nil && queries == nil { throw EngineError.input("--index needs --queries (the query file to run)") }
            if runFile != nil && (options != nil || optionsJson != nil || writeRun != nil) {
                throw EngineError.input("--options, --options-json and --write-run apply to searching (--index), not to --run")
            }
            let qs = try queries.map { try readQueries($0) }
            let judgments = try loadJudgments(qrels, queries: index != nil ? qs : nil, queryFile: queries, settings: s,
                                              ignoreMissing: ignoreMissingQueries)
            let rankings: [String: [String]]
            if let runFile {
                let r = try Run.read(path: runFile)
                rankings = idRankings(r.rankings(order: s.order))
                try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "run")
            } else {
                let opts = try SearchOptions.load(file: options, json: optionsJson)
                let ranked = try searchRun(index: index!, queries: qs!, options: opts, depth: depth, threads: threads, quiet: quiet,
                                           synonyms: synonyms)
                if let writeRun { try Run(rankings: ranked, tag: tag).write(to: writeRun) }
                rankings = idRankings(ranked)
                try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "query file")
            }
            let report = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
            guard report.queries > 0 else {
                throw EngineError.input("no judged query has at least \(s.minJudged) judgments: nothing to evaluate")
            }
            if let perQuery {
                let texts = Dictionary((qs ?? []).map { ($0.id, $0.text) }, uniquingKeysWith: { _, b in b })
                try writeOutput(try Self.perQueryText(report, texts: texts, format: perQueryFormat, path: perQuery), to: perQuery)
            }
            if json {
                print(report.json.jsonText)
            } else {
                print(Self.text(report, label: runFile ?? index!))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }

    static func text(_ r: EvalReport, label: String) -> String {
        let s = r.settings
        var out = "run: \(label)\n"
        out += "settings: \(settingsLine(s))\n"
        out += "queries: \(r.queries) judged with >= \(s.minJudged) judgments (NDCG over \(r.queriesNDCG) with a positive gain, binary metrics over \(r.queriesBinary) with a relevant document)\n"
        out += "zero_result: \(r.zeroResult)\n"
        let width = (r.metricNames.map { $0.count }.max() ?? 10) + 2
        for m in r.metricNames {
            var line = m.padding(toLength: width, withPad: " ", startingAt: 0) + f4(r.means[m])
            if m == s.primaryMetric {
                line += "  (\(s.condensed ? "condensed" : "uncondensed")" + (r.primaryStandardError.map { ", standard error \(f4($0))" } ?? "") + ")"
            }
            out += line + "\n"
        }
        if r.rankedWithoutJudgments > 0 {
            out += "note: \(r.rankedWithoutJudgments) ranked queries have no judgments (ignored)\n"
        }
        return String(out.dropLast())
    }

    static func perQueryText(_ r: EvalReport, texts: [String: String], format: String?, path: String) throws -> String {
        let fmt = format ?? ((path.hasSuffix(".jsonl") || path.hasSuffix(".json")) ? "jsonl" : "tsv")
        var out = ""
        switch fmt {
        case "tsv":
            out = "query_id\ttext\tjudged\trelevant\tretrieved\t" + r.metricNames.joined(separator: "\t") + "\n"
            for q in r.perQuery {
                out += "\(tsvField(q.id))\t\(tsvField(texts[q.id] ?? ""))\t\(q.judged)\t\(q.relevant)\t\(q.retrieved)"
                for m in r.metricNames { out += "\t" + (q.values[m].map { String(format: "%.6f", $0) } ?? "") }
                out += "\n"
            }
        case "jsonl":
            for q in r.perQuery {
                var o: [(String, JSONValue)] = [("query_id", .string(q.id))]
                if let t = texts[q.id] { o.append(("text", .string(t))) }
                o += [("judged", .number(Double(q.judged))), ("relevant", .number(Double(q.relevant))),
                      ("retrieved", .number(Double(q.retrieved)))]
                for m in r.metricNames { if let v = q.values[m] { o.append((m, .number(v))) } }
                out += JSONValue.object(o).jsonText + "\n"
            }
        default:
            throw EngineError.input("--per-query-format must be tsv or jsonl")
        }
        return out
    }
}

// MARK: - aisle eval compare

struct EvalCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "A/B comparison of two configurations on the same queries and judgments, with paired significance tests.",
        discussion: """
        Each side is an index plus search options, or a run file. Options given without a side apply to
        both; a side's own options override them.

        Examples:
          # two analyzers = two indexes
          aisle eval compare --queries q.tsv --qrels qrels.tsv --preset homedepot --a-index /tmp/hd-std --b-index /tmp/hd-en
          # one index, two option sets
          aisle eval compare --index /tmp/hd --queries q.tsv --qrels qrels.tsv --preset homedepot \\
              --a-options-json '{"operator": "and"}' --b-options-json '{"operator": "or"}'
          # two run files (as ../shared/bench/compare.py)
          aisle eval compare --a-run base.txt --b-run new.txt --qrels qrels.tsv --preset homedepot

        Prints both means, B - A with its standard error, queries better / worse / tied, a two-sided
        paired randomization test (sign flips drawn exactly as compare.py draws them for the seed) and a
        paired t-test, then the queries that got worse, worst first.
        """
    )

    @Option(help: "The judgments (TREC qrels or TSV with a header).") var qrels: String
    @Option(help: "Query file (needed when a side searches an index; gives query texts).") var queries: String?
    @Option(help: "Index for both sides (unless a side names its own).") var index: String?
    @Option(help: "Search options file for both sides.") var options: String?
    @Option(help: "Search options JSON for both sides.") var optionsJson: String?
    @Option(help: "Synonyms file for both sides (unless a side names its own).") var synonyms: String?
    @Option(help: "Side A: synonyms file.") var aSynonyms: String?
    @Option(help: "Side B: synonyms file.") var bSynonyms: String?
    @Option(help: "Side A: index directory.") var aIndex: String?
    @Option(help: "Side A: search options file (over the shared options).") var aOptions: String?
    @Option(help: "Side A: search options JSON (over the shared options).") var aOptionsJson: String?
    @Option(help: "Side A: a run file instead of searching.") var aRun: String?
    @Option(help: "Side A: a name for the output.") var aLabel: String?
    @Option(help: "Side B: index directory.") var bIndex: String?
    @Option(help: "Side B: search options file (over the shared options).") var bOptions: String?
    @Option(help: "Side B: search options JSON (over the shared options).") var bOptionsJson: String?
    @Option(help: "Side B: a run file instead of searching.") var bRun: String?
    @Option(help: "Side B: a name for the output.") var bLabel: String?
    @Option(help: "Results per query when searching.") var depth: Int = SearchRunner.defaultDepth
    @Option(help: "Search threads.") var threads: Int = 1
    @OptionGroup var metrics: EvalSettingsOptions
    @Option(help: "The metric compared (default: the primary ndcg@k).") var metric: String?
    @Option(help: "Sign-flip permutations of the randomization test.") var permutations: Int = 10_000
    @Option(help: "Seed of the randomization test (Python's random.Random(seed), as compare.py).") var seed: UInt64 = 1
    @Option(help: "How many of the queries that got worse to list.") var worst: Int = 10
    @Option(help: "Write every query's A, B and delta here (tsv, or jsonl for .jsonl files; - for standard output).") var perQuery: String?
    @Flag(help: "Print the comparison as one JSON object.") var json = false
    @Flag(help: "Leave out judged queries that the query file lacks (default: an error).") var ignoreMissingQueries = false
    @Flag(help: "No progress bars.") var quiet = false

    struct Side {
        var name: String
        var label: String
        var run: String?
        var index: String?
        var options: JSONValue?
        var synonyms: String?
    }

    func side(_ name: String, index: String?, options: String?, optionsJson: String?, run: String?, label: String?) throws -> Side {
        if let run {
            if index != nil || options != nil || optionsJson != nil {
                throw EngineError.input("side \(name): give --\(name)-run or an index with options, not both")
            }
            return Side(name: name, label: label ?? run, run: run)
        }
        guard let idx = index ?? self.index else {
            throw EngineError.input("side \(name): give --\(name)-run FILE, --\(name)-index DIR or a shared --index DIR")
        }
        let shared = try SearchOptions.load(file: self.options, json: self.optionsJson)
        let own = try SearchOptions.load(file: options, json: optionsJson)
        var merged = shared
        if let own { merged = .object(SearchOptions.merge(shared?.objectValue ?? [], own.objectValue ?? [])) }
        var l = label ?? idx
        if label == nil, let m = merged { l += " " + m.jsonText }
        let syn = (name == "a" ? aSynonyms : bSynonyms) ?? synonyms
        if let syn, label == nil { l += " synonyms=" + syn }
        return Side(name: name, label: l, index: idx, options: merged, synonyms: syn)
    }

    func run() throws {
        do {
            let s = try metrics.settings()
            let a = try side("a", index: aIndex, options: aOptions, optionsJson: aOptionsJson, run: aRun, label: aLabel)
            let b = try side("b", index: bIndex, options: bOptions, optionsJson: bOptionsJson, run: bRun, label: bLabel)
            let searching = a.run == nil || b.run == nil
            if searching && queries == nil { throw EngineError.input("--queries is needed when a side searches an index") }
            let qs = try queries.map { try readQueries($0) }
            let judgments = try loadJudgments(qrels, queries: searching ? qs : nil, queryFile: queries, settings: s,
                                              ignoreMissing: ignoreMissingQueries)
            func evaluate(_ side: Side) throws -> EvalReport {
                let rankings: [String: [String]]
                if let run = side.run {
                    rankings = idRankings(try Run.read(path: run).rankings(order: s.order))
                    try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "run \(run)")
                } else {
                    rankings = idRankings(try searchRun(index: side.index!, queries: qs!, options: side.options, depth: depth,
                                                        threads: threads, quiet: quiet, label: "side \(side.name.uppercased())",
                                                        synonyms: side.synonyms))
                    try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "query file")
                }
                return try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
            }
            let ra = try evaluate(a), rb = try evaluate(b)
            guard ra.queries > 0 else { throw EngineError.input("no judged query has at least \(s.minJudged) judgments: nothing to compare") }
            let metricName = metric ?? s.primaryMetric
            let c = try PairedComparison.compare(ra, rb, metric: metricName, permutations: permutations, seed: seed)
            let texts = Dictionary((qs ?? []).map { ($0.id, $0.text) }, uniquingKeysWith: { _, x in x })
            if let perQuery {
                var out = ""
                if perQuery.hasSuffix(".jsonl") || perQuery.hasSuffix(".json") {
                    for q in c.queries {
                        var o: [(String, JSONValue)] = [("query_id", .string(q.id))]
                        if let t = texts[q.id] { o.append(("text", .string(t))) }
                        o += [("a", .number(q.a)), ("b", .number(q.b)), ("delta", .number(q.delta))]
                        out += JSONValue.object(o).jsonText + "\n"
                    }
                } else {
                    out = "query_id\ttext\ta\tb\tdelta\n"
                    for q in c.queries {
                        out += "\(tsvField(q.id))\t\(tsvField(texts[q.id] ?? ""))\t" + String(format: "%.6f\t%.6f\t%+.6f", q.a, q.b, q.delta) + "\n"
                    }
                }
                try writeOutput(out, to: perQuery)
            }
            if json {
                print(Self.json(c, a: a, b: b, ra: ra, rb: rb, texts: texts, worst: worst).jsonText)
            } else {
                print(Self.text(c, a: a, b: b, ra: ra, rb: rb, texts: texts, worst: worst))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }

    static func summaryMetrics(_ r: EvalReport) -> [String] {
        let s = r.settings
        return s.cutoffs.flatMap { ["ndcg@\($0)_condensed", "ndcg@\($0)_uncondensed"] } + ["map", "mrr"]
            + s.cutoffs.map { "p@\($0)" } + s.recallCutoffs.map { "recall@\($0)" }
    }

    static func text(_ c: PairedComparison, a: Side, b: Side, ra: EvalReport, rb: EvalReport, texts: [String: String], worst: Int) -> String {
        var out = "settings: \(settingsLine(ra.settings))\n"
        out += "A: \(a.label)\nB: \(b.label)\n\n"
        out += "metric                 A        B      B - A\n"
        for m in summaryMetrics(ra) {
            let x = ra.means[m], y = rb.means[m]
            out += m.padding(toLength: 20, withPad: " ", startingAt: 0) + "  \(f4(x))   \(f4(y))   "
            out += (x != nil && y != nil ? String(format: "%+.4f", y! - x!) : "n/a") + "\n"
        }
        out += "zero_result".padding(toLength: 20, withPad: " ", startingAt: 0)
            + String(format: "  %6d   %6d   %+d\n", ra.zeroResult, rb.zeroResult, rb.zeroResult - ra.zeroResult)
        out += "\n\(c.metric) over \(c.queries.count) queries: A \(f4(c.meanA)), B \(f4(c.meanB))\n"
        out += String(format: "B - A = %+.4f  (SE %.4f, 95%% CI %+.4f .. %+.4f)\n", c.meanDelta, c.standardError,
                      c.meanDelta - 1.96 * c.standardError, c.meanDelta + 1.96 * c.standardError)
        out += "queries better \(c.wins), worse \(c.losses), tied \(c.ties)\n"
        out += String(format: "paired randomization test (%d sign flips, seed %llu): p = %.4g\n", c.permutations, c.seed, c.randomizationP)
        out += String(format: "paired t-test: t = %.3f, df = %d, p = %.4g\n", c.t, c.degreesOfFreedom, c.tTestP)
        let w = c.worse
        if w.isEmpty {
            out += "no query got worse"
        } else if worst <= 0 {
            out += "\(w.count) queries got worse (list them with --worst N)"
        } else {
            out += "queries that got worse (\(min(worst, w.count)) of \(w.count), worst first):\n"
            for q in w.prefix(worst) {
                out += String(format: "  %+.4f  %.4f -> %.4f  ", q.delta, q.a, q.b) + q.id
                if let t = texts[q.id] { out += "  \"\(t)\"" }
                out += "\n"
            }
            out = String(out.dropLast())
        }
        return out
    }

    static func json(_ c: PairedComparison, a: Side, b: Side, ra: EvalReport, rb: EvalReport, texts: [String: String], worst: Int) -> JSONValue {
        func sideJSON(_ s: Side, _ r: EvalReport) -> JSONValue {
            var o: [(String, JSONValue)] = [("label", .string(s.label))]
            if let run = s.run { o.append(("run", .string(run))) }
            if let i = s.index { o.append(("index", .string(i))) }
            if let opts = s.options { o.append(("options", opts)) }
            o.append(("mean", .number(c.queries.isEmpty ? .nan : (s.name == "a" ? c.meanA : c.meanB))))
            o.append(("zero_result", .number(Double(r.zeroResult))))
            o.append(("metrics", .object(r.metricNames.compactMap { m in r.means[m].map { (m, .number($0)) } })))
            return .object(o)
        }
        func q(_ x: PairedComparison.Query) -> JSONValue {
            var o: [(String, JSONValue)] = [("query_id", .string(x.id))]
            if let t = texts[x.id] { o.append(("text", .string(t))) }
            o += [("a", .number(x.a)), ("b", .number(x.b)), ("delta", .number(x.delta))]
            return .object(o)
        }
        return .object([
            ("metric", .string(c.metric)), ("queries", .number(Double(c.queries.count))),
            ("a", sideJSON(a, ra)), ("b", sideJSON(b, rb)),
            ("mean_delta", .number(c.meanDelta)), ("standard_error", .number(c.standardError)),
            ("wins", .number(Double(c.wins))), ("losses", .number(Double(c.losses))), ("ties", .number(Double(c.ties))),
            ("randomization", .object([("permutations", .number(Double(c.permutations))), ("seed", .number(Double(c.seed))),
                                       ("p", .number(c.randomizationP))])),
            ("t_test", .object([("t", .number(c.t)), ("df", .number(Double(c.degreesOfFreedom))), ("p", .number(c.tTestP))])),
            ("worse", .array(c.worse.prefix(worst).map(q))),
            ("config", ra.settings.json),
        ])
    }
}

// MARK: - aisle eval gate

struct EvalGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Relevance gate: evaluate a stored baseline's configuration; exit 1 if a metric dropped by more than the tolerance.",
        discussion: """
        The baseline (JSON) names the index inputs (corpus, analyzer, schema: the gate builds the
        index in a temporary directory) or an index directory, the query and judgment files, the
        search options, the evaluation settings, the tolerance and the metric values. Paths are
        relative to the baseline file.

        Examples:
          aisle eval gate --baseline corpora/relevance/baseline.json
          aisle eval gate --baseline corpora/relevance/baseline.json --options-json '{"operator": "and"}'  # try a change
          aisle eval gate --baseline corpora/relevance/baseline.json --update   # accept the current values
        """
    )

    @Option(help: "The baseline JSON file.") var baseline: String
    @Option(help: "Largest allowed drop of a metric (default: the baseline's, else 0.01).") var tolerance: Double?
    @Flag(help: "Rewrite the baseline's metric values with the current ones (and exit 0).") var update = false
    @Option(help: "Search options file whose keys replace the baseline's (to try a change against the baseline).") var options: String?
    @Option(help: "Search options JSON whose keys replace the baseline's.") var optionsJson: String?
    @Option(help: "Threads for indexing and searching.") var threads: Int = 1
    @Flag(help: "Print the result as JSON.") var json = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        let result: RelevanceGate.Result
        let b: RelevanceBaseline
        do {
            if let tolerance, tolerance < 0 { throw EngineError.input("--tolerance must not be negative") }
            b = try RelevanceBaseline.load(path: baseline)
            let over = try SearchOptions.load(file: options, json: optionsJson)
            if update && over != nil { throw EngineError.input("--update records the baseline's own configuration; drop --options/--options-json") }
            var r = try RelevanceGate.run(b, options: over, tolerance: tolerance, threads: threads, progress: !quiet)
            if update {
                try b.write(updatedFrom: r.report)
                let nb = try RelevanceBaseline.load(path: baseline)
                r.checks = try RelevanceGate.check(nb, report: r.report, tolerance: tolerance)
                for c in r.checks {
                    let old = b.metrics.first { $0.0 == c.metric }?.1
                    print("\(c.metric.padding(toLength: 22, withPad: " ", startingAt: 0)) \(f4(old)) -> \(f4(c.current))")
                }
                print("updated \(baseline) (\(r.report.queries) queries, zero_result \(r.report.zeroResult))")
                return
            }
            result = r
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
        guard !result.checks.isEmpty else {
            throw fail("the baseline \(baseline) has no metric values yet: run with --update to record them")
        }
        if json {
            var o: [(String, JSONValue)] = [("passed", .bool(result.passed)), ("tolerance", .number(result.tolerance))]
            o.append(("checks", .array(result.checks.map {
                .object([("metric", .string($0.metric)), ("baseline", .number($0.baseline)), ("current", .number($0.current)),
                         ("delta", .number($0.delta)), ("failed", .bool($0.failed))])
            })))
            o.append(("zero_result", .object([("baseline", b.zeroResult.map { .number(Double($0)) } ?? .null),
                                              ("current", .number(Double(result.report.zeroResult)))])))
            print(JSONValue.object(o).jsonText)
        } else {
            print("baseline: \(baseline) (\(result.report.queries) queries; tolerance \(GainFormat.num(result.tolerance)))")
            for c in result.checks {
                let mark = c.failed ? "FAIL" : (c.delta > result.tolerance ? "better" : "ok")
                print(String(format: "  %@ %.4f -> %.4f  (%+.4f)  %@", c.metric.padding(toLength: 22, withPad: " ", startingAt: 0),
                             c.baseline, c.current, c.delta, mark))
            }
            if let z = b.zeroResult, z != result.report.zeroResult {
                print("  zero_result            \(z) -> \(result.report.zeroResult)")
            }
        }
        if !result.failures.isEmpty { stderr("note: \(result.failures.count) queries failed (\(result.failures[0].query): \(result.failures[0].message))") }
        if !result.passed {
            for m in result.failureMessages { stderr("relevance gate failed: \(m)") }
            throw ExitCode(1)
        }
        if result.checks.contains(where: { $0.delta > result.tolerance }) {
            stderr("relevance gate passed; some metrics improved by more than the tolerance: record them with --update")
        } else {
            stderr("relevance gate passed")
        }
    }
}
