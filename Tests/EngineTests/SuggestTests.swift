import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Autocomplete on the sample catalog: completions from the catalog's phrases, typo correction of
/// finished words, no suggestion without results, products for a prefix, categories with counts
/// that agree with a search, and bad requests.
@Suite struct SuggestTests {
    static let built: (SearchService, String) = {
        let (svc, _, dir) = try! buildIndex(corpus: fixture("sample-catalog.jsonl"))
        return (svc, dir)
    }()

    func suggester() throws -> Suggester {
        let s = Suggester(service: Self.built.0)
        try s.prepare()
        return s
    }

    /// Products with every word (the prefix as any word starting with it), by brute force over
    /// the catalog file: the ids autocomplete's products must come from.
    func bruteForce(words: [String], prefix: String) throws -> Set<String> {
        var out = Set<String>()
        for line in try String(contentsOfFile: fixture("sample-catalog.jsonl"), encoding: .utf8).split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            let text = ["title", "brand", "description"].compactMap { v[$0]?.stringValue }.joined(separator: " ")
                + " " + (v["category"]?.arrayValue ?? []).compactMap { $0.stringValue }.joined(separator: " ")
            let ws = SuggestDictionary.words(text)
            if words.allSatisfy({ w in ws.contains { $0 == w || $0.hasPrefix(w) || w.hasPrefix($0) } }) && ws.contains(where: { $0.hasPrefix(prefix) }) {
                out.insert(v["id"]!.stringValue!)
            }
        }
        return out
    }

    @Test func completesFromTheCatalogsPhrases() throws {
        let s = try suggester()
        let r = try s.suggest(SuggestRequest(q: "coffee ta"))
        // The category name first (names count double), then the title phrase.
        #expect(Array(r.suggestions.prefix(2).map { $0.text }) == ["coffee tables", "coffee table"], "\(r.suggestions)")
        #expect(r.suggestions.allSatisfy { $0.completionStart == 9 })
        #expect(r.productQuery == "coffee ta*")
        let titles = r.products.compactMap { h in h.fields.first { $0.name == "title" }.flatMap { if case .string(let t) = $0.value { return t } else { return nil } } }
        #expect(titles.contains("Oak Coffee Table with Shelf") && titles.contains("Glass Top Coffee Table"), "\(titles)")
        // A single partial word: words and names of the catalog that start with it.
        let v = try s.suggest(SuggestRequest(q: "vac"))
        #expect(v.suggestions.map { $0.text }.contains("vacuum"), "\(v.suggestions)")
        #expect(v.suggestions.allSatisfy { $0.text.hasPrefix("vac") && $0.completionStart == 3 })
        // A finished word (trailing space) completes the next one from word pairs.
        let rug = try s.suggest(SuggestRequest(q: "area "))
        #expect(rug.suggestions.map { $0.text }.contains("area rug"), "\(rug.suggestions)")
    }

    @Test func correctsTyposInFinishedWords() throws {
        let s = try suggester()
        let r = try s.suggest(SuggestRequest(q: "cofee ta"))
        #expect(r.suggestions.map { $0.text }.contains("coffee table"), "\(r.suggestions)")
        #expect(r.suggestions.first?.completionStart == 3)   // "cof" as typed, then the correction
        #expect(!r.products.isEmpty)
        let e = try s.suggest(SuggestRequest(q: "espreso mach"))
        #expect(e.suggestions.first?.text == "espresso machine", "\(e.suggestions)")
    }

    @Test func everySuggestionHasResultsAndProductsMatch() throws {
        let s = try suggester()
        let svc = Self.built.0
        for q in ["so", "sof", "sofa", "sofa ", "led ce", "ta", "wa", "4k", "chair", "king pl", "zzz", "the ", "st"] {
            let r = try s.suggest(SuggestRequest(q: q, limit: 10))
            #expect(r.suggestions.count <= 10 && r.products.count <= 10)
            for sug in r.suggestions {
                var req = SearchRequest(q: sug.text, op: .and, limit: 1)
                req.ranking = try RankingPatch.parse(.object([("relax", .bool(false)), ("typo", .bool(false)), ("synonyms", .bool(false))]))
                #expect(try svc.search(req).total > 0, "\(q) → \(sug.text) has no results")
            }
            // Products: each has every finished word and a word starting with the partial one.
            var words = SuggestDictionary.words(q)
            let open = q.last != " "
            let partial = open ? (words.popLast() ?? "") : ""
            let allowed = try bruteForce(words: words, prefix: partial)
            for p in r.products { #expect(allowed.contains(p.id), "\(q): \(p.id) does not match") }
            // Categories: each count is what a search for the top suggestion finds in it.
            if let top = r.suggestions.first {
                for c in r.categories {
                    var req = SearchRequest(q: top.text, op: .and, limit: 0)
                    req.filters = [FilterRequest(field: ProductFields.categoryPath, .values([c.value]))]
                    req.ranking = try RankingPatch.parse(.object([("relax", .bool(false)), ("typo", .bool(false)), ("synonyms", .bool(false)),
                                                                  ("compounds", .bool(false))]))
                    req.trackTotalHits = .exact
                    #expect(try svc.search(req).total == c.count, "\(q): category \(c.value) count \(c.count)")
                }
            }
        }
        #expect(try s.suggest(SuggestRequest(q: "zzzqqq")).suggestions.isEmpty)
        #expect(try s.suggest(SuggestRequest(q: "")).products.isEmpty)
    }

    @Test func aRepeatedWordAddsNothing() throws {
        let s = try suggester()
        // The partial word completes to a word already typed: the products are those of the
        // finished word, and no suggestion repeats it.
        let r = try s.suggest(SuggestRequest(q: "sofa sofa"))
        let finished = try s.suggest(SuggestRequest(q: "sofa "))
        #expect(!finished.products.isEmpty)
        #expect(r.products.map { $0.id } == finished.products.map { $0.id }, "\(r.products.map { $0.id }) vs \(finished.products.map { $0.id })")
        #expect(!r.suggestions.contains { $0.text == "sofa sofa" }, "\(r.suggestions)")
        let w = try s.suggest(SuggestRequest(q: "table t"))
        #expect(!w.suggestions.contains { $0.text == "table table" }, "\(w.suggestions)")
    }

    @Test func badRequests() throws {
        let s = try suggester()
        #expect(throws: EngineError.self) { _ = try s.suggest(SuggestRequest(q: "a", limit: 0)) }
        #expect(throws: EngineError.self) { _ = try s.suggest(SuggestRequest(q: "a", limit: 21)) }
        #expect(throws: EngineError.self) { _ = try s.suggest(SuggestRequest(q: String(repeating: "a", count: 201))) }
        // Hostile text is data: it comes back as typed words, never as markup the engine adds.
        let r = try s.suggest(SuggestRequest(q: "<img src=x onerror=alert(1)> so"))
        #expect(r.suggestions.allSatisfy { !$0.text.contains("<") })
    }

    @Test func distanceAndWords() {
        #expect(SuggestDictionary.distance(Array("cofee"), Array("coffee"), max: 2) == 1)
        #expect(SuggestDictionary.distance(Array("recieve"), Array("receive"), max: 2) == 1)
        #expect(SuggestDictionary.distance(Array("abc"), Array("xyz"), max: 1) == 2)
        #expect(SuggestDictionary.words("Mid-Century  Accent, Chair!") == ["mid", "century", "accent", "chair"])
    }

    /// Past queries that led to clicks and sales come first, the most engaging first, matched on
    /// what was typed (and on its typo corrections); one without results now is never offered;
    /// a finished word offers only queries that go on after it.
    @Test func pastQueriesRankByEngagement() throws {
        let s = Suggester(service: Self.built.0)
        try s.prepare()
        s.setPopularQueries([("glass top coffee table", 2), ("Coffee  TABLE with shelf", 1), ("coffee table with shelf", 2.5),
                             ("coffee zzyzx nothing", 1_000), ("coffee maker", 0), ("coffee", 7), ("robot vacuum", 9)])
        #expect(s.popularCount == 5)   // merged "coffee table with shelf"; a weight of 0 dropped
        let r = try s.suggest(SuggestRequest(q: "coff", limit: 8))
        let texts = r.suggestions.map(\.text)
        // By weight: coffee (7), coffee table with shelf (1 + 2.5), then glass top… does not start with it.
        #expect(Array(texts.prefix(2)) == ["coffee", "coffee table with shelf"], "\(texts)")
        #expect(!texts.contains("coffee zzyzx nothing"), "a past query without results now was offered: \(texts)")
        #expect(!texts.contains("glass top coffee table"))
        // A typo in a finished word is corrected before matching past queries.
        let t = try s.suggest(SuggestRequest(q: "cofee ta"))
        #expect(t.suggestions.first?.text == "coffee table with shelf", "\(t.suggestions)")
        // A finished last word: only longer queries.
        let f = try s.suggest(SuggestRequest(q: "coffee "))
        #expect(f.suggestions.first?.text == "coffee table with shelf", "\(f.suggestions)")
        #expect(!f.suggestions.map(\.text).contains("coffee"))
        // Without past queries the catalog's phrases are back.
        s.setPopularQueries([])
        #expect(try s.suggest(SuggestRequest(q: "coff")).suggestions.first?.text != "coffee table with shelf")
    }
}
