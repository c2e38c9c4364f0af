import Foundation
import Testing
@testable import AisleEngine

/// `aisle eval`'s figures against `../shared/bench/score.py` (trec_eval through pytrec_eval) on seeded
/// random runs and judgments. Skipped, saying so, when ../shared or pytrec_eval is missing.
@Suite(.enabled(if: ScorePy.available, "../shared/bench/score.py or python3 with pytrec_eval not found: score.py cross-checks skipped"))
struct RelevanceScorePyTests {
    struct Mix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Random judgments (grades from `grades`) and a run over them with unjudged documents, duplicate
    /// lines, tied ranks and scores, judged queries missing from the run and run queries without judgments.
    static func corpus(seed: UInt64, grades: [String]) -> (qrels: String, run: String) {
        var r = Mix(state: seed)
        var qrels = "query_id\tproduct_id\trelevance\n"
        var run = ""
        for q in 1...120 {
            let judged = 1 + r.below(12)
            var docs: [String] = []
            for _ in 0..<judged {
                let d = "P\(r.below(60))"
                qrels += "\(q)\t\(d)\t\(grades[r.below(grades.count)])\n"
                docs.append(d)
            }
            if r.below(10) == 0 { continue }   // no results for this query
            let n = r.below(40)
            for rank in 1...max(1, n) {
                let d = r.below(3) == 0 ? docs[r.below(docs.count)] : "P\(r.below(80))"
                let score = Double(200 - rank) / 4 - Double(r.below(2)) / 4
                let shown = r.below(15) == 0 ? rank - 1 : rank   // some tied ranks
                run += "\(q) Q0 \(d) \(max(1, shown)) \(score) test\n"
            }
        }
        run += "9999 Q0 P1 1 1.0 test\n"
        return (qrels, run)
    }

    static func scorePy(_ args: [String]) throws -> JSONValue {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", ScorePy.path] + args + ["--json", "--no-ranx"]
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        _ = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return try JSONValue.parse(String(decoding: out, as: UTF8.self))
    }

    func check(grades: [String], preset: String, extra: [String] = [], order: RunOrder = .rank, seed: UInt64) throws {
        let dir = tempDir("scorepy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (qrels, run) = Self.corpus(seed: seed, grades: grades)
        writeFile(dir + "/qrels.tsv", qrels)
        writeFile(dir + "/run.txt", run)
        let py = try Self.scorePy([dir + "/run.txt", dir + "/qrels.tsv", "--preset", preset] + extra)
        var s = try EvalSettings.preset(preset)
        s.order = order
        let r = try Evaluator.evaluate(rankings: try Run.read(path: dir + "/run.txt").rankings(order: order).mapValues { $0.map { $0.id } },
                                       judgments: try Judgments.read(path: dir + "/qrels.tsv"), settings: s)
        for (ours, theirs) in [("ndcg@10_condensed", "ndcg@10_condensed"), ("ndcg@10_uncondensed", "ndcg@10_uncondensed"),
                               ("recall@100", "recall@100"), ("map", "map"), ("judged@10", "judged@10")] {
            let want = try #require(py[theirs]?.numberValue, "score.py has no \(theirs)")
            #expect(abs(r[ours]! - want) < 1e-9, "\(preset) seed \(seed): \(ours) \(r[ours]!) vs score.py \(want)")
        }
        #expect(Double(r.zeroResult) == py["zero_result"]?.numberValue)
        #expect(Double(r.queries) == py["queries"]?.numberValue)
        #expect(Double(r.queriesNDCG) == py["queries_ndcg"]?.numberValue)
        #expect(Double(r.queriesBinary) == py["queries_binary"]?.numberValue)
        #expect(Double(r.rankedWithoutJudgments) == py["run_queries_without_qrels"]?.numberValue)
    }

    @Test func homedepotPreset() throws {
        let grades = ["1", "1.25", "1.33", "1.5", "1.67", "1.75", "2", "2.25", "2.33", "2.5", "2.67", "2.75", "3"]
        for seed: UInt64 in [1, 2, 3] { try check(grades: grades, preset: "homedepot", seed: seed) }
    }

    @Test func cranfieldPreset() throws {
        for seed: UInt64 in [4, 5] { try check(grades: ["-1", "1", "2", "3", "4"], preset: "cranfield", seed: seed) }
    }

    @Test func orderedByScoreAsTrecEval() throws {
        // score.py --use-scores: score descending, ties by docid descending (trec_eval's order).
        try check(grades: ["1", "2", "3"], preset: "homedepot", extra: ["--use-scores"], order: .trecEval, seed: 6)
    }
}

enum ScorePy {
    static let path = URL(fileURLWithPath: repoRoot).deletingLastPathComponent().appendingPathComponent("shared/bench/score.py").path

    static let available: Bool = {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import pytrec_eval"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()
}
