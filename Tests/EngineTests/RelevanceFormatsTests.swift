import Foundation
import Testing
@testable import AisleEngine

/// Judgment and run files: format detection, bad lines, ordering and duplicates.
@Suite struct RelevanceFormatsTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch { return "\(error)" }
        return nil
    }

    @Test func tsvWithHeaderAndFractionalGrades() throws {
        let j = try Judgments.parse("query_id\tproduct_id\trelevance\n1\t100001\t3\n1\t100002\t2.33\n2\t100001\t1\n")
        #expect(j.format == .tsv)
        #expect(j.grades["1"] == ["100001": 3, "100002": 2.33])
        #expect(j.grades["2"] == ["100001": 1])
        #expect(j.queryOrder == ["1", "2"])
        #expect(j.judgmentCount == 3)
    }

    @Test func trecQrels() throws {
        let j = try Judgments.parse("401 0 FBIS3-10082 1\n401 0 FBIS3-10169 0\n402  0\tLA010189-0018 2\n\n")
        #expect(j.format == .trec)
        #expect(j.grades["401"] == ["FBIS3-10082": 1, "FBIS3-10169": 0])
        #expect(j.grades["402"] == ["LA010189-0018": 2])
    }

    @Test func headerlessTSVAndDuplicatesKeepTheLastGrade() throws {
        let j = try Judgments.parse("q1\td1\t1\nq1\td1\t3\n")
        #expect(j.grades["q1"] == ["d1": 3])
        #expect(j.duplicates == 1)
    }

    @Test func badJudgmentLinesNameTheLine() throws {
        let m1 = message { _ = try Judgments.parse("query_id\tproduct_id\trelevance\n1\t2\t3\n1\t2\n") }
        #expect(m1 == "line 3: expected 3 tab-separated columns (query_id, product_id, relevance), found 2")
        let m2 = message { _ = try Judgments.parse("query_id\tproduct_id\trelevance\n1\t2\tgood\n") }
        #expect(m2 == "line 2: relevance \"good\" is not a number")
        let m3 = message { _ = try Judgments.parse("1 0 d1 1\n1 0 d2\n") }
        #expect(m3 == "line 2: expected 4 whitespace-separated fields `qid 0 docid rel`, found 3")
        let m4 = message { _ = try Judgments.parse("just two\n") }
        #expect(m4?.hasPrefix("line 1: cannot tell the format") == true)
        #expect(message { _ = try Judgments.parse("\n\n") } == "the judgment file is empty")
        #expect(message { _ = try Judgments.parse("query_id\tproduct_id\trelevance\n") } == "the judgment file has a header but no judgments")
    }

    @Test func readingNamesTheFile() throws {
        let dir = tempDir("formats")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = dir + "/q.tsv"
        writeFile(p, "query_id\tproduct_id\trelevance\n1\t2\tx\n")
        #expect(message { _ = try Judgments.read(path: p) } == "\(p): line 2: relevance \"x\" is not a number")
        #expect(message { _ = try Judgments.read(path: dir + "/missing.tsv") } == "judgment file \(dir)/missing.tsv does not exist")
        #expect(message { _ = try Run.read(path: dir + "/missing.txt") } == "run file \(dir)/missing.txt does not exist")
        writeFile(dir + "/run.txt", "1 Q0 d1 1 2.5 tag\n1 Q0 d2 two 2.0 tag\n")
        #expect(message { _ = try Run.read(path: dir + "/run.txt") } == "\(dir)/run.txt: line 2: rank \"two\" is not an integer")
    }

    @Test func gainMappings() throws {
        #expect(try GainMapping(parsing: "minus1").gain(2.33) == 2.33 - 1)
        #expect(try GainMapping(parsing: "minus1").gain(0.5) == 0)
        #expect(try GainMapping(parsing: "identity").gain(-1) == 0)
        #expect(try GainMapping(parsing: "cranfield").gain(1) == 4)
        #expect(try GainMapping(parsing: "cranfield").gain(4) == 1)
        #expect(try GainMapping(parsing: "cranfield").gain(-1) == 0)
        #expect(try GainMapping(parsing: "cranfield").gain(5) == 0)
        let t = try GainMapping(parsing: "1=0, 2=1,3=3")
        #expect(try t.gain(3) == 3)
        #expect(t.name == "1=0,2=1,3=3")
        #expect(message { _ = try t.gain(2.5) } == "the gain table has no entry for grade 2.5 (table: 1=0,2=1,3=3)")
        #expect(message { _ = try GainMapping(parsing: "squared") }?.contains("minus1, identity, cranfield or a table") == true)
    }

    @Test func runOrdersAndDuplicates() throws {
        // Ranks out of file order, a tie in rank (file order decides), a duplicate (first place kept),
        // tied scores (id ascending for `score`, descending for `trec_eval`).
        let r = try Run.parse("""
        q1 Q0 b 2 5.0 t
        q1 Q0 a 1 5.0 t
        q1 Q0 c 2 9.0 t
        q1 Q0 a 4 1.0 t
        q2 Q0 z 1 1 t
        """)
        #expect(r.queryOrder == ["q1", "q2"])
        #expect(r.tag == "t")
        #expect(r.rankings(order: .rank)["q1"]!.map { $0.id } == ["a", "b", "c"])
        #expect(r.rankings(order: .score)["q1"]!.map { $0.id } == ["c", "a", "b"])
        #expect(r.rankings(order: .trecEval)["q1"]!.map { $0.id } == ["c", "b", "a"])
        #expect(r.rankings(order: .rank)["q2"]!.map { $0.id } == ["z"])
    }

    @Test func runRoundTrip() throws {
        let run = Run(rankings: [("q1", [RankedDoc(id: "d1", score: 13.75), RankedDoc(id: "d2", score: Double(Float(2.1)))]),
                                 ("q2", [RankedDoc(id: "d9", score: 1)])], tag: "x")
        #expect(run.text() == "q1 Q0 d1 1 13.75 x\nq1 Q0 d2 2 2.1 x\nq2 Q0 d9 1 1.0 x\n")
        let back = try Run.parse(run.text())
        // Engine scores are Floats: printed in their shortest form, they read back as that Float.
        #expect(back.rankings(order: .rank)["q1"]!.map { $0.id } == ["d1", "d2"])
        #expect(back.rankings(order: .rank)["q1"]!.map { Float($0.score) } == [13.75, Float(2.1)])
        #expect(back.rankings(order: .rank)["q2"] == [RankedDoc(id: "d9", score: 1)])
        #expect(message { _ = try Run.parse("\n") } == "the run file has no lines")
        #expect(message { _ = try Run.parse("q1 Q0 d1 1 2.0\n") } == "line 1: expected `qid Q0 docid rank score tag` (6 fields), found 5")
    }
}
