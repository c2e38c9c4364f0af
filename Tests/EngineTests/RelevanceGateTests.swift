import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// The relevance gate on the committed fixture (corpora/relevance), the search runner behind it.
@Suite(.serialized) struct RelevanceGateTests {
    let baselinePath = fixture("relevance/baseline.json")

    @Test func theCommittedBaselinePasses() throws {
        let b = try RelevanceBaseline.load(path: baselinePath)
        #expect(b.index?.corpus == "../sample-catalog.jsonl")
        #expect(!b.metrics.isEmpty)
        let r = try RelevanceGate.run(b)
        #expect(r.failures.isEmpty)
        #expect(r.report.queries == b.queryCount)
        #expect(r.passed, "\(r.failureMessages)")
        for c in r.checks { #expect(c.current >= c.baseline - r.tolerance) }
    }

    @Test func aWorseConfigurationFails() throws {
        // Every word required, no relaxation and no typo tolerance: misspellings and extra words now cost whole queries.
        let b = try RelevanceBaseline.load(path: baselinePath)
        let r = try RelevanceGate.run(b, options: .object([("operator", .string("and")),
                                                           ("ranking", .object([("relax", .bool(false)), ("typo", .bool(false))]))]))
        #expect(!r.passed)
        let failed = r.checks.filter { $0.failed }.map { $0.metric }
        #expect(failed.contains("ndcg@10_uncondensed"))
        #expect(r.report.zeroResult > (b.zeroResult ?? 0))
        let msg = try #require(r.failureMessages.first { $0.hasPrefix("ndcg@10_uncondensed") })
        let check = r.checks.first { $0.metric == "ndcg@10_uncondensed" }!
        #expect(msg.contains(String(format: "from %.4f to %.4f", check.baseline, check.current)))
        #expect(msg.contains("tolerance 0.01"))
    }

    @Test func toleranceAndUpdate() throws {
        // A copy of the baseline whose ndcg value is 0.05 above what the engine gives.
        let dir = tempDir("gate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = try RelevanceBaseline.load(path: baselinePath)
        let (report, _) = try RelevanceGate.evaluate(src)
        var b = src
        b.path = dir + "/baseline.json"
        b.index?.corpus = fixture("sample-catalog.jsonl")
        b.queries = fixture("relevance/queries.tsv")
        b.qrels = fixture("relevance/qrels.tsv")
        b.metrics = [("ndcg@10_uncondensed", report["ndcg@10_uncondensed"]! + 0.05), ("map", report["map"]!)]
        #expect(try !RelevanceGate.check(b, report: report).allSatisfy { !$0.failed })
        #expect(try RelevanceGate.check(b, report: report, tolerance: 0.06).allSatisfy { !$0.failed })
        // --update writes the current values; the gate then passes with tolerance 0.
        try b.write(updatedFrom: report)
        let nb = try RelevanceBaseline.load(path: b.path)
        #expect(nb.metrics.map { $0.0 } == ["ndcg@10_uncondensed", "map"])
        #expect(abs(nb.metrics[0].1 - report["ndcg@10_uncondensed"]!) < 1e-6)
        #expect(try RelevanceGate.check(nb, report: report, tolerance: 0.000_01).allSatisfy { !$0.failed })
        #expect(nb.settings == src.settings)
        // A gated metric the evaluation does not compute is an error.
        var odd = nb
        odd.metrics = [("ndcg@3", 0.5)]
        #expect(throws: EngineError.self) { _ = try RelevanceGate.check(odd, report: report) }
    }

    @Test func badBaselines() throws {
        func err(_ json: String) -> String? {
            do { _ = try RelevanceBaseline.parse(try JSONValue.parse(json), path: "/tmp/b.json") } catch { return "\(error)" }
            return nil
        }
        #expect(err(#"{"queries": "q", "qrels": "r"}"#)?.contains("either \"corpus\"") == true)
        #expect(err(#"{"corpus": "c", "qrels": "r"}"#)?.contains("\"queries\"") == true)
        #expect(err(#"{"corpus": "c", "queries": "q", "qrels": "r", "metric": {}}"#)?.contains("unknown key \"metric\"") == true)
        #expect(err(#"{"corpus": "c", "queries": "q", "qrels": "r", "settings": {"k": "ten"}}"#) != nil)
        #expect(err(#"{"corpus": "c", "queries": "q", "qrels": "r", "options": [1]}"#) != nil)
        let ok = try RelevanceBaseline.parse(try JSONValue.parse(#"{"index": "/x/idx", "queries": "q.tsv", "qrels": "/abs/r"}"#), path: "/d/b.json")
        #expect(ok.resolve(ok.queries) == "/d/q.tsv")
        #expect(ok.resolve(ok.qrels) == "/abs/r")
    }

    @Test func searchRunnerOptionsAndTieBreak() throws {
        let (service, _, dir) = try buildIndex(corpus: fixture("sample-catalog.jsonl"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = try SearchRunner(service: service, options: nil, depth: 5)
        let req = try runner.request(for: "tv stand")
        #expect(req.op == .or && req.limit == 5 && req.q == "tv stand" && req.offset == 0)
        let and = try SearchRunner(service: service, options: .object([("operator", .string("and"))]), depth: 5)
        #expect(try and.request(for: "x").op == .and)
        #expect(throws: EngineError.self) { _ = try SearchRunner(service: service, options: .object([("limit", .number(3))])) }
        #expect(throws: EngineError.self) { _ = try SearchRunner(service: service, options: .object([("q", .string("x"))])) }
        #expect(throws: EngineError.self) { _ = try SearchRunner(service: service, options: .object([("colour", .string("x"))])) }
        #expect(throws: EngineError.self) { _ = try SearchRunner(service: service, options: nil, depth: 0) }

        // Rankings: score descending, then id ascending, at every depth (ties at the cut included).
        for q in ["sofa", "set of 2", "stainless steel", "white", "table"] {
            let full = try SearchRunner(service: service, options: nil, depth: 60).rank(q)
            for i in full.indices.dropFirst() {
                #expect(full[i - 1].score > full[i].score || (full[i - 1].score == full[i].score && full[i - 1].id < full[i].id))
            }
            for depth in [1, 2, 3, 5, 8] {
                let cut = try SearchRunner(service: service, options: nil, depth: depth).rank(q)
                #expect(cut == Array(full.prefix(depth)), "query \(q) depth \(depth)")
            }
        }
        // Identical titles tie; the engine's own order follows the file (Z9 first), ours the id.
        let tdir = tempDir("ties")
        defer { try? FileManager.default.removeItem(atPath: tdir) }
        writeFile(tdir + "/ties.tsv", "id\ttitle\nZ9\tred lamp\nA1\tred lamp\nM5\tred lamp\nB2\tblue lamp\nC3\tred red lamp shade\n")
        let (tservice, _, tidx) = try buildIndex(corpus: tdir + "/ties.tsv")
        defer { try? FileManager.default.removeItem(atPath: tidx) }
        let tied = try SearchRunner(service: tservice, options: .object([("operator", .string("and"))]), depth: 10).rank("red lamp")
        let three = tied.filter { ["A1", "M5", "Z9"].contains($0.id) }
        #expect(three.map { $0.id } == ["A1", "M5", "Z9"])
        #expect(Set(three.map { $0.score }).count == 1)
        let first = try SearchRunner(service: tservice, options: .object([("operator", .string("and"))]), depth: tied.firstIndex { $0.id == "A1" }! + 1).rank("red lamp")
        #expect(first.last?.id == "A1")

        let out = runner.run([QueryRecord(id: "1", text: "sofa"), QueryRecord(id: "2", text: "colour:red"), QueryRecord(id: "3", text: "lamp")], threads: 2)
        #expect(out.rankings.map { $0.query } == ["1", "2", "3"])
        #expect(out.failures.map { $0.query } == ["2"])
        #expect(out.rankings[1].docs.isEmpty)
        #expect(!out.rankings[2].docs.isEmpty)
    }
}
