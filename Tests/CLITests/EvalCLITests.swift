import Foundation
import Testing
@testable import AisleEngine

/// `aisle eval`, `aisle eval compare`, `aisle eval gate` and `aisle run` end to end on the fixtures.
@Suite(.serialized) struct EvalCLITests {
    static let rel = CLITests.root + "/corpora/relevance"

    static func indexed(_ work: String) throws -> String {
        let idx = work + "/idx"
        let r = try CLITests.aisle(["index", "--corpus", CLITests.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        return idx
    }

    @Test func scoreAnIndexAndTheRunItWrote() throws {
        let work = CLITests.temp("eval")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = try Self.indexed(work)
        let common = ["--qrels", Self.rel + "/qrels.tsv", "--gain", "identity", "--rel-min-gain", "2", "--recall-k", "10"]
        let a = try CLITests.aisle(["eval", "--index", idx, "--queries", Self.rel + "/queries.tsv", "--write-run", work + "/run.txt",
                                    "--per-query", work + "/pq.jsonl", "--json", "--quiet"] + common)
        #expect(a.status == 0, "\(a.err)")
        let va = try JSONValue.parse(a.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(va["queries"]?.numberValue == 39)
        let ndcg = try #require(va["ndcg@10"]?.numberValue)
        #expect(ndcg > 0.5 && ndcg <= 1)

        // The run file written scores the same when read back (rank order = our order).
        let b = try CLITests.aisle(["eval", "--run", work + "/run.txt", "--json"] + common)
        #expect(b.status == 0, "\(b.err)")
        let vb = try JSONValue.parse(b.out.trimmingCharacters(in: .whitespacesAndNewlines))
        for k in ["ndcg@10", "map", "mrr", "recall@10", "zero_result"] { #expect(va[k] == vb[k], "\(k)") }

        // `aisle run` with the same options writes the same run.
        let r = try CLITests.aisle(["run", "--index", idx, "--queries", Self.rel + "/queries.tsv", "--out", work + "/run2.txt", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try String(contentsOfFile: work + "/run.txt", encoding: .utf8) == String(contentsOfFile: work + "/run2.txt", encoding: .utf8))

        // Per-query lines, one per evaluated query, with the text.
        let lines = try String(contentsOfFile: work + "/pq.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 39)
        let first = try JSONValue.parse(String(lines[0]))
        #expect(first["query_id"]?.stringValue == "q01" && first["text"]?.stringValue == "sofa")

        // Text output names the metrics.
        let t = try CLITests.aisle(["eval", "--run", work + "/run.txt"] + common)
        #expect(t.out.contains("zero_result:") && t.out.contains("ndcg@10 ") && t.out.contains("recall@10 "))
    }

    /// `--behaviour-log`: a replayed log where shoppers chose a product lower in the list lifts it
    /// with the behaviour option, and only with it.
    @Test func aBehaviourLogShowsItsEffect() throws {
        let work = CLITests.temp("evalbehaviour")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = try Self.indexed(work)
        try "query_id\ttext\nb1\ttable lamp set\nb2\tcoffee table\n".write(toFile: work + "/q.tsv", atomically: true, encoding: .utf8)
        try "query_id\tproduct_id\trelevance\nb1\tS0001\t1\nb2\tS0001\t1\n".write(toFile: work + "/dummy.tsv", atomically: true, encoding: .utf8)
        let plain = try CLITests.aisle(["eval", "--index", idx, "--queries", work + "/q.tsv", "--qrels", work + "/dummy.tsv", "--quiet",
                                        "--write-run", work + "/plain.txt", "--options-json", "{\"operator\": \"or\"}"])
        #expect(plain.status == 0, "\(plain.err)")
        // The fourth product of each query is what shoppers want: judged 3, and chosen in the log.
        var ranked: [String: [String]] = [:]
        for line in try String(contentsOfFile: work + "/plain.txt", encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ")
            ranked[String(f[0]), default: []].append(String(f[2]))
        }
        let wanted = try ["b1", "b2"].map { q in try #require(ranked[q].flatMap { $0.count > 3 ? $0[3] : nil }, "\(q) has fewer than 4 results") }
        try ("query_id\tproduct_id\trelevance\n" + zip(["b1", "b2"], wanted).map { "\($0)\t\($1)\t3\n" }.joined())
            .write(toFile: work + "/qrels.tsv", atomically: true, encoding: .utf8)
        var log = ""
        for (i, (q, p)) in zip(["table lamp set", "coffee table"], wanted).enumerated() {
            for s in 0..<12 {
                log += "{\"type\":\"search\",\"query_id\":\"s\(i)-\(s)\",\"query\":\"\(q)\",\"session\":\"u\(i)-\(s)\",\"device\":\"d\"}\n"
                log += "{\"type\":\"click\",\"query_id\":\"s\(i)-\(s)\",\"product_id\":\"\(p)\",\"position\":4,\"session\":\"u\(i)-\(s)\",\"device\":\"d\"}\n"
            }
            log += "{\"type\":\"purchase\",\"session\":\"u\(i)-0\",\"device\":\"d\",\"lines\":[{\"product_id\":\"\(p)\",\"quantity\":1}]}\n"
        }
        log += "{\"type\":\"click\",\"query_id\":\"unknown\",\"product_id\":\"S0001\",\"session\":\"x\",\"device\":\"d\"}\n"
        try log.write(toFile: work + "/log.jsonl", atomically: true, encoding: .utf8)
        func ndcg(_ extra: [String]) throws -> Double {
            let r = try CLITests.aisle(["eval", "--index", idx, "--queries", work + "/q.tsv", "--qrels", work + "/qrels.tsv", "--json"] + extra)
            #expect(r.status == 0, "\(r.err)")
            return try #require(try JSONValue.parse(r.out.trimmingCharacters(in: .whitespacesAndNewlines))["ndcg@10"]?.numberValue)
        }
        let off = try ndcg(["--options-json", "{\"operator\": \"or\"}", "--quiet"])
        let logOnly = try ndcg(["--options-json", "{\"operator\": \"or\"}", "--behaviour-log", work + "/log.jsonl", "--quiet"])
        let on = try ndcg(["--options-json", "{\"operator\": \"or\", \"ranking\": {\"behaviour\": true}}", "--behaviour-log", work + "/log.jsonl"])
        #expect(logOnly == off, "the log alone (option off) must change nothing")
        #expect(on > off, "behaviour on: \(on), off: \(off)")
        // The summary names what the log held.
        let r = try CLITests.aisle(["eval", "--index", idx, "--queries", work + "/q.tsv", "--qrels", work + "/qrels.tsv", "--behaviour-log", work + "/log.jsonl"])
        #expect(r.err.contains("24 searches, 25 clicks (1 without their search), 2 purchases"), "\(r.err)")
        // A malformed line names its number.
        try "{\"type\":\"search\",\"query_id\":\"a\",\"query\":\"x\"}\n{oops\n".write(toFile: work + "/bad.jsonl", atomically: true, encoding: .utf8)
        let bad = try CLITests.aisle(["eval", "--index", idx, "--queries", work + "/q.tsv", "--qrels", work + "/qrels.tsv", "--behaviour-log", work + "/bad.jsonl"])
        #expect(bad.status != 0 && bad.err.contains("bad.jsonl:2:"), "\(bad.err)")
    }

    @Test func badInputGetsClearErrors() throws {
        let work = CLITests.temp("evalbad")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let qrels = Self.rel + "/qrels.tsv"
        func err(_ args: [String]) throws -> String {
            let r = try CLITests.aisle(["eval"] + args)
            #expect(r.status != 0, "\(args) should fail")
            return r.err
        }
        #expect(try err(["--run", work + "/nope.txt", "--qrels", qrels]).contains("run file \(work)/nope.txt does not exist"))
        #expect(try err(["--run", qrels, "--qrels", work + "/nope.tsv"]).contains("judgment file \(work)/nope.tsv does not exist"))
        try "query_id\tproduct_id\trelevance\nq1\tS1\t3\nq1\tS2\n".write(toFile: work + "/bad.tsv", atomically: true, encoding: .utf8)
        try "q01 Q0 S0001 1 3.5 t\n".write(toFile: work + "/run.txt", atomically: true, encoding: .utf8)
        #expect(try err(["--run", work + "/run.txt", "--qrels", work + "/bad.tsv"]).contains("bad.tsv: line 3: expected 3 tab-separated columns"))
        try "x1 Q0 S0001 1 3.5 t\nx2 Q0 S0002 1 3.5 t\n".write(toFile: work + "/other.txt", atomically: true, encoding: .utf8)
        #expect(try err(["--run", work + "/other.txt", "--qrels", qrels]).contains("no query of the run has judgments"))
        try "q01 Q0 S0001 1 3.5\n".write(toFile: work + "/short.txt", atomically: true, encoding: .utf8)
        #expect(try err(["--run", work + "/short.txt", "--qrels", qrels]).contains("short.txt: line 1: expected `qid Q0 docid rank score tag`"))
        #expect(try err(["--qrels", qrels]).contains("give --run FILE or --index DIR"))
        #expect(try err(["--run", work + "/run.txt", "--qrels", qrels, "--preset", "msmarco"]).contains("unknown preset"))
        #expect(try err(["--run", work + "/run.txt", "--qrels", qrels, "--gain", "squared"]).contains("a table such as 1=0,2=1,3=3"))

        // A query file that lacks judged queries is an error unless asked to leave them out.
        let idx = try Self.indexed(work)
        try "query_id\ttext\nq01\tsofa\n".write(toFile: work + "/one.tsv", atomically: true, encoding: .utf8)
        #expect(try err(["--index", idx, "--queries", work + "/one.tsv", "--qrels", qrels]).contains("that the query file \(work)/one.tsv lacks"))
        let ok = try CLITests.aisle(["eval", "--index", idx, "--queries", work + "/one.tsv", "--qrels", qrels, "--ignore-missing-queries", "--json", "--quiet"])
        #expect(ok.status == 0, "\(ok.err)")
        #expect(try JSONValue.parse(ok.out.trimmingCharacters(in: .whitespacesAndNewlines))["queries"]?.numberValue == 1)
        // Bad search options.
        #expect(try err(["--index", idx, "--queries", Self.rel + "/queries.tsv", "--qrels", qrels, "--options-json", "{\"operator\": \"xor\"}"])
            .contains("operator must be"))
        #expect(try err(["--index", idx, "--queries", Self.rel + "/queries.tsv", "--qrels", qrels, "--options-json", "[1]"])
            .contains("must be a JSON object"))
        #expect(try err(["--index", idx, "--queries", Self.rel + "/queries.tsv", "--qrels", qrels, "--options-json", "{\"limit\": 5}"])
            .contains("--depth"))
    }

    @Test func compareTwoConfigurations() throws {
        let work = CLITests.temp("compare")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = try Self.indexed(work)
        let args = ["eval", "compare", "--index", idx, "--queries", Self.rel + "/queries.tsv", "--qrels", Self.rel + "/qrels.tsv",
                    "--gain", "identity", "--rel-min-gain", "2", "--a-options-json", "{\"operator\": \"or\"}",
                    "--b-options-json", "{\"operator\": \"and\"}", "--permutations", "2000", "--quiet"]
        let j = try CLITests.aisle(args + ["--json"])
        #expect(j.status == 0, "\(j.err)")
        let v = try JSONValue.parse(j.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(v["metric"]?.stringValue == "ndcg@10")
        #expect(v["queries"]?.numberValue == 39)
        let losses = try #require(v["losses"]?.numberValue)
        #expect(losses >= 1)
        #expect((v["mean_delta"]?.numberValue ?? 0) < 0)
        let worse = try #require(v["worse"]?.arrayValue)
        #expect(!worse.isEmpty && worse.count <= 10)
        let deltas = worse.compactMap { $0["delta"]?.numberValue }
        #expect(deltas == deltas.sorted())            // worst first
        #expect(worse[0]["text"]?.stringValue != nil)  // with the query text
        #expect((v["randomization"]?["p"]?.numberValue ?? 0) > 0)
        #expect(v["t_test"]?["df"]?.numberValue == 38)

        // Text output, and run files as sides (the same numbers).
        let t = try CLITests.aisle(args)
        #expect(t.out.contains("queries better") && t.out.contains("paired randomization test") && t.out.contains("queries that got worse"))
        for (side, op) in [("a", "or"), ("b", "and")] {
            let r = try CLITests.aisle(["run", "--index", idx, "--queries", Self.rel + "/queries.tsv", "--out", work + "/\(side).txt",
                                        "--operator", op, "--quiet"])
            #expect(r.status == 0, "\(r.err)")
        }
        let runs = try CLITests.aisle(["eval", "compare", "--a-run", work + "/a.txt", "--b-run", work + "/b.txt", "--qrels", Self.rel + "/qrels.tsv",
                                       "--queries", Self.rel + "/queries.tsv", "--gain", "identity", "--rel-min-gain", "2",
                                       "--permutations", "2000", "--json"])
        #expect(runs.status == 0, "\(runs.err)")
        let w = try JSONValue.parse(runs.out.trimmingCharacters(in: .whitespacesAndNewlines))
        for k in ["mean_delta", "wins", "losses", "ties", "randomization", "t_test"] { #expect(v[k] == w[k], "\(k)") }

        let bad = try CLITests.aisle(["eval", "compare", "--a-run", work + "/a.txt", "--qrels", Self.rel + "/qrels.tsv"])
        #expect(bad.status != 0 && bad.err.contains("side b"))
    }

    @Test func gatePassesOnTheFixtureAndFailsAWorseConfiguration() throws {
        let ok = try CLITests.aisle(["eval", "gate", "--baseline", Self.rel + "/baseline.json", "--quiet"])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        #expect(ok.err.contains("relevance gate passed"))
        let worse = try CLITests.aisle(["eval", "gate", "--baseline", Self.rel + "/baseline.json", "--quiet", "--options-json", "{\"operator\": \"and\"}"])
        #expect(worse.status == 1)
        #expect(worse.err.contains("relevance gate failed: ndcg@10_uncondensed dropped from"))
        #expect(worse.out.contains("FAIL"))

        // --update on a copy rewrites its values; the copy then passes at tolerance 0.
        let work = CLITests.temp("gate")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let text = try String(contentsOfFile: Self.rel + "/baseline.json", encoding: .utf8)
            .replacingOccurrences(of: "\"../sample-catalog.jsonl\"", with: "\"\(CLITests.root)/corpora/sample-catalog.jsonl\"")
            .replacingOccurrences(of: "\"queries.tsv\"", with: "\"\(Self.rel)/queries.tsv\"")
            .replacingOccurrences(of: "\"qrels.tsv\"", with: "\"\(Self.rel)/qrels.tsv\"")
        try text.write(toFile: work + "/b.json", atomically: true, encoding: .utf8)
        let up = try CLITests.aisle(["eval", "gate", "--baseline", work + "/b.json", "--update", "--quiet"])
        #expect(up.status == 0, "\(up.err)")
        let again = try CLITests.aisle(["eval", "gate", "--baseline", work + "/b.json", "--tolerance", "0.000001", "--quiet", "--json"])
        #expect(again.status == 0, "\(again.err)")
        #expect(try JSONValue.parse(again.out.trimmingCharacters(in: .whitespacesAndNewlines))["passed"] == .bool(true))
        let missing = try CLITests.aisle(["eval", "gate", "--baseline", work + "/none.json"])
        #expect(missing.status != 0 && missing.err.contains("does not exist"))
    }

    @Test func helpTexts() throws {
        let h = try CLITests.aisle(["eval", "--help"])
        #expect(h.out.contains("compare") && h.out.contains("gate"))
        let s = try CLITests.aisle(["eval", "score", "--help"])
        #expect(s.out.contains("--min-judged") && s.out.contains("--preset"))
        let g = try CLITests.aisle(["eval", "gate", "--help"])
        #expect(g.out.contains("--tolerance") && g.out.contains("--update"))
    }
}
