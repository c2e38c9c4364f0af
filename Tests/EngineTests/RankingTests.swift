import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// The ranking features (typo tolerance, compounds, synonyms, coordination, proximity, feedback,
/// AND → OR relaxation) on a small hand-made catalog, each checked on and off.
@Suite(.serialized) struct RankingTests {
    static let titles: [(String, String)] = [
        ("T01", "Elongated Toilet Seat in White"),
        ("T02", "Round Toilet Seat with Slow Close Hinges"),
        ("T03", "Toilet Tank Lever"),
        ("T04", "Oak TV Stand for 55 in. TVs"),
        ("T05", "Glass TV Stand with Storage"),
        ("T06", "Stainless Steel Dishwasher with Third Rack"),
        ("T07", "Dish Rack for Kitchen Counter"),
        ("T08", "French Door Refrigerator, 25 cu. ft."),
        ("T09", "Mini Refrigerator with Freezer"),
        ("T10", "Leather Sofa, 3-Seater"),
        ("T11", "1/2 in. x 10 ft. Copper Pipe"),
        ("T12", "3/4 in. x 10 ft. Copper Pipe"),
        ("T13", "Copper Pipe Cutter"),
        ("T14", "Front Load Washer in White"),
        ("T15", "Electric Dryer in White"),
        ("T16", "Front Load Washer and Electric Dryer Pair"),
        ("T17", "Pipe Wrench, 14 in."),
        ("T18", "White Round Toilet Bowl Cleaner"),
        ("T19", "Toilet Paper Holder in Chrome"),
        ("T20", "Toilet Plunger with Holder"),
        ("T21", "Model QN55Q80C Television Wall Mount"),
    ]

    static let built: (SearchService, String) = {
        let dir = tempDir("ranking")
        let path = dir + "/catalog.tsv"
        writeFile(path, "id\ttitle\n" + titles.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n") + "\n")
        let (svc, _, idx) = try! buildIndex(corpus: path)
        return (svc, idx)
    }()

    static let plain = #"{"typo": false, "compounds": false, "synonyms": false, "coordination": false, "proximity_boost": 0, "feedback": false, "relax": false}"#

    func search(_ q: String, op: String = "or", limit: Int = 10, ranking: String? = nil,
                service: SearchService = RankingTests.built.0) throws -> SearchResponse {
        var json = #"{"q": \#(JSONValue.string(q).jsonText), "operator": "\#(op)", "limit": \#(limit)"#
        if let ranking { json += #", "ranking": \#(ranking)"# }
        json += "}"
        var t = json
        let req = try t.withUTF8 { p -> SearchRequest in
            var tape = JSONTape()
            try tape.parse(p)
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
        return try service.search(req)
    }

    func ids(_ r: SearchResponse) -> [String] { r.hits.map { $0.id } }

    @Test func theDefaultAnalyzerIsProduct() throws {
        let s = Self.built.0.searcher
        #expect(s.layout.textGroups.map { $0.analyzer } == ["product"])
    }

    @Test func misspelledWordsAreCorrected() throws {
        // "toliet" is in no title: plain BM25 finds only seats; with typo tolerance, toilets.
        #expect(ids(try search("toliet seat", ranking: Self.plain)).allSatisfy { ["T01", "T02"].contains($0) })
        let r = try search("toliet seat")
        #expect(Array(ids(r).prefix(2)).sorted() == ["T01", "T02"], "toilet seats first")
        #expect(ids(try search("toliet", ranking: Self.plain)).isEmpty)
        #expect(Set(ids(try search("toliet"))).isSuperset(of: ["T01", "T02", "T03"]))
        // Two edits for long words; AND finds them too.
        #expect(ids(try search("refridgerator", op: "and")).sorted() == ["T08", "T09"])
        // Never on words with digits: a model number one edit away is not "corrected".
        #expect(ids(try search("QN55Q81C")).isEmpty)
        // Short words are left alone.
        #expect(ids(try search("tc")).isEmpty)
    }

    @Test func compoundsSplitAndJoin() throws {
        // tvstand: two words the index has side by side.
        #expect(ids(try search("tvstand", ranking: Self.plain)).isEmpty)
        #expect(Array(ids(try search("tvstand")).prefix(2)).sorted() == ["T04", "T05"])
        // dish washer: the joined word is searched too, so the dishwasher ranks first.
        #expect(ids(try search("dish washer", ranking: #"{"compounds": false, "synonyms": false, "feedback": false}"#)).first != "T06")
        #expect(ids(try search("dish washer")).first == "T06")
    }

    @Test func synonymsFromTheBuiltInListAndFromAFileThatIsReloaded() throws {
        // fridge = refrigerator (built in).
        #expect(ids(try search("fridge", ranking: Self.plain)).isEmpty)
        #expect(ids(try search("fridge")).sorted() == ["T08", "T09"])
        #expect(ids(try search("fridge", ranking: #"{"synonyms": false}"#)).isEmpty)
        // A file: multi-word rules, one-way rules; edited while in use.
        let dir = tempDir("synonyms")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/synonyms.txt"
        writeFile(file, "# test rules\nloo => toilet\nflat screen, television\n")
        let source = try SynonymSource(path: file)
        let svc = try SearchService(searcher: Self.built.0.searcher, synonyms: source)
        #expect(Set(ids(try search("loo", service: svc))).isSuperset(of: ["T01", "T02", "T03"]))
        #expect(ids(try search("flat screen", service: svc)) == ["T21"])
        #expect(ids(try search("fridge", service: svc)).isEmpty, "a file replaces the built-in list")
        // Edit the file: the change is picked up without restarting or reindexing.
        writeFile(file, "fridge, refrigerator\n")
        #expect(source.reloadIfChanged(force: true) == nil)
        #expect(ids(try search("fridge", service: svc)).sorted() == ["T08", "T09"])
        #expect(ids(try search("loo", service: svc)).isEmpty)
        // A bad edit keeps the last good rules and says why.
        writeFile(file, "fridge, , refrigerator\n")
        #expect(source.reloadIfChanged(force: true)?.contains("line 1") == true)
        #expect(ids(try search("fridge", service: svc)).sorted() == ["T08", "T09"])
    }

    @Test func synonymFileErrorsNameTheLine() {
        #expect(throws: EngineError.self) { _ = try SynonymRules.parse("a, b\nc => d => e\n") }
        do {
            _ = try SynonymRules.parse("a, b\n\nlonely\n", source: "syn.txt")
            Issue.record("a one-phrase equivalence was accepted")
        } catch {
            #expect("\(error)".contains("syn.txt line 3"))
        }
        let r = try? SynonymRules.parse("# c\ntv => television, telly\n  a , b  # trailing comment\n")
        #expect(r?.rules.count == 2)
        #expect(r?.rules[0].to == ["television", "telly"])
    }

    @Test func measurementsMatchHoweverTheyAreWritten() throws {
        for q in ["1/2 inch copper pipe", "1/2\" copper pipe", "1/2-in. copper pipe", "1/2in copper pipe"] {
            #expect(ids(try search(q)).first == "T11", "\(q)")
        }
        #expect(ids(try search("3/4 copper pipe")).first == "T12")
        #expect(ids(try search("1/2 x 10 pipe", op: "and")) == ["T11"])
        #expect(ids(try search("25 cubic feet refrigerator")).first == "T08")
    }

    @Test func coordinationRanksProductsWithMoreOfTheWordsFirst() throws {
        // "white round toilet seat": T02 (round toilet seat) and T01 (toilet seat in white) have three of
        // the four words; T18 (white round toilet bowl cleaner) too. Products with one word come after all of them.
        let r = try search("white round toilet seat", limit: 20)
        let order = ids(r)
        let threeWords = ["T01", "T02", "T18"]
        #expect(Set(order.prefix(3)) == Set(threeWords))
        // Scores carry the share of words matched: a one-word match is scaled by 1/4.
        let solo = try #require(r.hits.first { $0.id == "T03" })
        let off = try search("white round toilet seat", limit: 20, ranking: #"{"coordination": false, "feedback": false, "proximity_boost": 0}"#)
        let soloOff = try #require(off.hits.first { $0.id == "T03" })
        #expect(abs(solo.score - soloOff.score / 4) < 1e-4)
    }

    @Test func wordsSideBySideGetAProximityBonus() throws {
        // "washer dryer" vs "dryer washer": T16 has both words but not side by side in the query's order;
        // "front load" side by side in T14 and T16.
        let on = try search("front load", ranking: #"{"feedback": false}"#)
        let off = try search("front load", ranking: #"{"proximity_boost": 0, "feedback": false}"#)
        let a = try #require(on.hits.first { $0.id == "T14" }), b = try #require(off.hits.first { $0.id == "T14" })
        #expect(a.score > b.score)
        // No bonus when the words are apart.
        let apart = try search("load white", ranking: #"{"feedback": false}"#)
        let apartOff = try search("load white", ranking: #"{"proximity_boost": 0, "feedback": false}"#)
        #expect(apart.hits.first { $0.id == "T14" }?.score == apartOff.hits.first { $0.id == "T14" }?.score)
    }

    @Test func andRelaxesToOrWhenNothingHasEveryWord() throws {
        let strict = try search("copper toilet", op: "and", ranking: #"{"relax": false}"#)
        #expect(strict.total == 0)
        let relaxed = try search("copper toilet", op: "and")
        #expect(relaxed.relaxed)
        #expect(relaxed.total > 0)
        #expect(!(try search("copper pipe", op: "and")).relaxed)
    }

    @Test func relaxationKeepsFieldClausesRequired() throws {
        // No title has copper and toilet: the words relax, the field clause typed in the query stays a filter.
        #expect(try search("copper title:toilet", op: "and", ranking: #"{"relax": false}"#).total == 0)
        let r = try search("copper title:toilet", op: "and", limit: 50)
        #expect(r.relaxed)
        let toilets = Set(Self.titles.filter { $0.1.lowercased().contains("toilet") }.map { $0.0 })
        #expect(Set(ids(r)) == toilets, "every toilet, and nothing else (no copper pipes)")
        // A group of field clauses is a filter too; a plain OR request is left as it was asked.
        let g = try search("copper (title:seat OR title:plunger)", op: "and", limit: 50)
        #expect(g.relaxed)
        #expect(Set(ids(g)) == ["T01", "T02", "T20"])
        #expect(Set(ids(try search("copper title:toilet", op: "or", limit: 50))).isSuperset(of: ["T11", "T12", "T13"]))
        // Field clauses only, nothing has both: no relaxation, no results.
        let none = try search("title:copper title:toilet", op: "and")
        #expect(none.total == 0 && !none.relaxed)
    }

    @Test func feedbackReordersOnlyTheTailAndIsTheSameAtEveryPageSize() throws {
        // The first 10 are the query's own; any window is a prefix of the longest one.
        let long = ids(try search("white toilet pipe", limit: 50))
        let noFeedback = ids(try search("white toilet pipe", limit: 50, ranking: #"{"feedback": false}"#))
        #expect(Array(long.prefix(10)) == Array(noFeedback.prefix(10)))
        #expect(Set(long) == Set(noFeedback), "feedback does not add or drop matches")
        for n in [1, 5, 10, 11, 15, 30] {
            #expect(ids(try search("white toilet pipe", limit: n)) == Array(long.prefix(n)), "limit \(n)")
        }
        // Scores never increase down the list.
        let scores = try search("white toilet pipe", limit: 50).hits.map { $0.score }
        #expect(zip(scores, scores.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func rankingOptionsAreValidated() throws {
        for bad in [#"{"typo": 1}"#, #"{"typo_weight": -1}"#, #"{"nope": true}"#, #"[]"#] {
            #expect(throws: EngineError.self) { _ = try search("sofa", ranking: bad) }
        }
        #expect(RankingOptions.keys.count == RankingOptions().json.objectValue?.count)
    }
}

/// Numbers and unit words do not count toward a title's BM25 length under the product analyzer.
@Suite struct MeasurementLengthTests {
    func lengths(analyzer: String) throws -> [UInt32] {
        let dir = tempDir("lengths")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/c.tsv"
        writeFile(path, "id\ttitle\nA\tOak Panel\nB\t2 in. x 4 in. x 8 ft. Oak Panel\nC\t12 24 36\n")
        let (svc, _, idx) = try buildIndex(corpus: path, analyzer: analyzer)
        defer { try? FileManager.default.removeItem(atPath: idx) }
        let seg = svc.searcher.segments[0]
        let norms = seg.norms(textField: 0)
        return (0..<seg.docCount).map { FieldNorm.decode(norms[$0]) }
    }

    @Test func measurementsAreNotLength() throws {
        #expect(try lengths(analyzer: "product") == [2, 2, 1], "a title of numbers only keeps a length of 1")
        #expect(try lengths(analyzer: "english") == [2, 8, 3])   // 2 x 4 x 8 ft oak panel ("in" is a stop word)
    }
}
