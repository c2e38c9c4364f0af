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
typealias Reports = RelevanceReports

/// The relevance library's inputs with their notes printed (the CLI's edge).
func readQueries(_ path: String) throws -> [QueryRecord] {
    var notes: Reports.Notes = []
    defer { notes.forEach { stderr($0) } }
    return try Reports.readQueries(path, notes: &notes)
}

func loadJudgments(_ path: String, queries: [QueryRecord]?, queryFile: String?, settings: EvalSettings, ignoreMissing: Bool) throws -> Judgments {
    var notes: Reports.Notes = []
    defer { notes.forEach { stderr($0) } }
    return try Reports.loadJudgments(path, queries: queries, queryFile: queryFile, settings: settings, ignoreMissing: ignoreMissing, notes: &notes)
}

/// The behaviour signal's counts from an event log (none without one), with a summary line.
func loadBehaviour(_ path: String?, quiet: Bool) throws -> [BehaviourCounts] {
    guard let path else { return [] }
    let (counts, s) = try BehaviourLog.read(path: path)
    if !quiet {
        stderr("behaviour log \(path): \(formatCount(s.lines)) events, \(formatCount(s.searches)) searches, \(formatCount(s.clicks)) clicks"
               + (s.unmatchedClicks > 0 ? " (\(formatCount(s.unmatchedClicks)) without their search)" : "")
               + ", \(formatCount(s.purchases)) purchases → \(formatCount(counts.count)) query-product pairs")
    }
    return counts
}

/// Runs a query file against an index with search options; prints failures and a summary line.
func searchRun(index: String, queries: [QueryRecord], options: JSONValue?, depth: Int, threads: Int, quiet: Bool,
               label: String = "searching", synonyms: String? = nil, behaviour: [BehaviourCounts] = []) throws -> [(query: String, docs: [RankedDoc])] {
    let bar = ProgressBar(label: label, total: queries.count, unit: "queries", enabled: quiet ? false : nil)
    let t0 = Date()
    let outcome = try Reports.search(index: index, queries: queries, options: options, depth: depth, threads: threads,
                                     synonyms: synonyms, behaviour: behaviour, progress: bar)
    bar.finish()
    for f in outcome.failures.prefix(10) { stderr("query \(f.query): \(f.message)") }
    if outcome.failures.count > 10 { stderr("... \(outcome.failures.count - 10) more failed queries") }
    if !quiet {
        stderr(String(format: "ran %@ queries on %@ in %.1f s%@", formatCount(queries.count), index, Date().timeIntervalSince(t0),
                      outcome.failures.isEmpty ? "" : " (\(outcome.failures.count) failed: they count as zero-result queries)"))
    }
    return outcome.rankings
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
    @Option(help: "A log of shoppers' events (JSON lines: search, click, purchase) whose clicks and purchases feed the behaviour ranking signal; it applies to requests with {\"ranking\": {\"behaviour\": true}}.")
    var behaviourLog: String?
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
                rankings = Reports.idRankings(r.rankings(order: s.order))
                try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "run")
            } else {
                let opts = try SearchOptions.load(file: options, json: optionsJson)
                let ranked = try searchRun(index: index!, queries: qs!, options: opts, depth: depth, threads: threads, quiet: quiet,
                                           synonyms: synonyms, behaviour: try loadBehaviour(behaviourLog, quiet: quiet))
                if let writeRun { try Run(rankings: ranked, tag: tag).write(to: writeRun) }
                rankings = Reports.idRankings(ranked)
                try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "query file")
            }
            let report = try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
            guard report.queries > 0 else {
                throw EngineError.input("no judged query has at least \(s.minJudged) judgments: nothing to evaluate")
            }
            if let perQuery {
                let texts = Dictionary((qs ?? []).map { ($0.id, $0.text) }, uniquingKeysWith: { _, b in b })
                try writeOutput(try Reports.perQueryText(report, texts: texts, format: perQueryFormat, path: perQuery), to: perQuery)
            }
            if json {
                print(report.json.jsonText)
            } else {
                print(Reports.scoreText(report, label: runFile ?? index!))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
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
    @Option(help: "A log of shoppers' events (JSON lines) feeding the behaviour signal on both sides; a side uses it with {\"ranking\": {\"behaviour\": true}} in its options, e.g. --b-options-json.") var behaviourLog: String?
    @Option(help: "Reports.Side A: synonyms file.") var aSynonyms: String?
    @Option(help: "Reports.Side B: synonyms file.") var bSynonyms: String?
    @Option(help: "Reports.Side A: index directory.") var aIndex: String?
    @Option(help: "Reports.Side A: search options file (over the shared options).") var aOptions: String?
    @Option(help: "Reports.Side A: search options JSON (over the shared options).") var aOptionsJson: String?
    @Option(help: "Reports.Side A: a run file instead of searching.") var aRun: String?
    @Option(help: "Reports.Side A: a name for the output.") var aLabel: String?
    @Option(help: "Reports.Side B: index directory.") var bIndex: String?
    @Option(help: "Reports.Side B: search options file (over the shared options).") var bOptions: String?
    @Option(help: "Reports.Side B: search options JSON (over the shared options).") var bOptionsJson: String?
    @Option(help: "Reports.Side B: a run file instead of searching.") var bRun: String?
    @Option(help: "Reports.Side B: a name for the output.") var bLabel: String?
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

    func side(_ name: String, index: String?, options: String?, optionsJson: String?, run: String?, label: String?) throws -> Reports.Side {
        if let run {
            if index != nil || options != nil || optionsJson != nil {
                throw EngineError.input("side \(name): give --\(name)-run or an index with options, not both")
            }
            return Reports.Side(name: name, label: label ?? run, run: run)
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
        return Reports.Side(name: name, label: l, index: idx, options: merged, synonyms: syn)
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
            func evaluate(_ side: Reports.Side) throws -> EvalReport {
                let rankings: [String: [String]]
                if let run = side.run {
                    rankings = Reports.idRankings(try Run.read(path: run).rankings(order: s.order))
                    try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "run \(run)")
                } else {
                    rankings = Reports.idRankings(try searchRun(index: side.index!, queries: qs!, options: side.options, depth: depth,
                                                        threads: threads, quiet: quiet, label: "side \(side.name.uppercased())",
                                                        synonyms: side.synonyms, behaviour: behaviour))
                    try Evaluator.checkOverlap(rankings: rankings, judgments: judgments, what: "query file")
                }
                return try Evaluator.evaluate(rankings: rankings, judgments: judgments, settings: s)
            }
            let behaviour = try loadBehaviour(behaviourLog, quiet: quiet)
            let ra = try evaluate(a), rb = try evaluate(b)
            guard ra.queries > 0 else { throw EngineError.input("no judged query has at least \(s.minJudged) judgments: nothing to compare") }
            let metricName = metric ?? s.primaryMetric
            let c = try PairedComparison.compare(ra, rb, metric: metricName, permutations: permutations, seed: seed)
            let texts = Dictionary((qs ?? []).map { ($0.id, $0.text) }, uniquingKeysWith: { _, x in x })
            if let perQuery {
                let out = Reports.comparisonPerQuery(c, texts: texts, path: perQuery)
                try writeOutput(out, to: perQuery)
            }
            if json {
                print(Reports.comparisonJSON(c, a: a, b: b, ra: ra, rb: rb, texts: texts, worst: worst).jsonText)
            } else {
                print(Reports.comparisonText(c, a: a, b: b, ra: ra, rb: rb, texts: texts, worst: worst))
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
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
                    print("\(c.metric.padding(toLength: 22, withPad: " ", startingAt: 0)) \(Reports.f4(old)) -> \(Reports.f4(c.current))")
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
            print(Reports.gateJSON(result, baseline: b).jsonText)
        } else {
            print(Reports.gateText(result, baseline: b, path: baseline))
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
