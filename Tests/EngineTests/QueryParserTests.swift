import Testing
@testable import AisleEngine
@testable import AisleIndex

@Suite struct QueryParserTests {
    /// The catalog schema with the english analyzer: one text group (slot 0) of title, brand,
    /// category, description (members 0...3).
    static let layout = try! SchemaLayout(Schemas.withAnalyzer(Schemas.catalog, "english"))

    func parse(_ q: String, _ op: DefaultOperator = .and) throws -> Query {
        try QueryParser(layout: Self.layout, defaultOperator: op).parse(q)
    }

    func term(_ t: String, fields: FieldMask? = nil) -> Query { .term(TermQuery(slot: 0, term: t, fields: fields)) }

    @Test func wordsCombineWithTheDefaultOperator() throws {
        #expect(try parse("black sofas") == .boolean(BooleanQuery(must: [term("black"), term("sofa")])))
        #expect(try parse("black sofas", .or) == .boolean(BooleanQuery(should: [term("black"), term("sofa")])))
        #expect(try parse("Sofa") == term("sofa"))
    }

    @Test func emptyAndStopWordQueries() throws {
        #expect(try parse("") == .matchAll)
        #expect(try parse("   ") == .matchAll)
        #expect(try parse("the") == .matchNone)
        #expect(try parse("the sofa") == term("sofa"))
    }

    @Test func exclusionsAndRequired() throws {
        #expect(try parse("sofa -leather") == .boolean(BooleanQuery(must: [term("sofa")], mustNot: [term("leather")])))
        #expect(try parse("sofa -leather", .or) == .boolean(BooleanQuery(should: [term("sofa")], mustNot: [term("leather")])))
        #expect(try parse("+sofa leather", .or) == .boolean(BooleanQuery(must: [term("sofa")], should: [term("leather")])))
        #expect(try parse("-leather") == .boolean(BooleanQuery(must: [.matchAll], mustNot: [term("leather")])))
        #expect(try parse("sofa NOT leather") == .boolean(BooleanQuery(must: [term("sofa")], mustNot: [term("leather")])))
        // A hyphen inside a word is not an exclusion.
        #expect(try parse("wi-fi") == .boolean(BooleanQuery(must: [term("wi"), term("fi")])))
    }

    @Test func phrasesAndSlop() throws {
        #expect(try parse(#""black leather sofa""#) == .phrase(PhraseQuery(slot: 0, terms: [Array("black".utf8), Array("leather".utf8), Array("sofa".utf8)], positions: [0, 1, 2])))
        // Stop words leave their gap.
        #expect(try parse(#""bag of chips"~2"#) == .phrase(PhraseQuery(slot: 0, terms: [Array("bag".utf8), Array("chip".utf8)], positions: [0, 2], slop: 2)))
    }

    @Test func orAndParentheses() throws {
        #expect(try parse("sofa OR couch") == .boolean(BooleanQuery(should: [term("sofa"), term("couch")])))
        #expect(try parse("grey (sofa OR couch)") == .boolean(BooleanQuery(must: [term("grey"), .boolean(BooleanQuery(should: [term("sofa"), term("couch")]))])))
        // AND binds tighter than OR.
        #expect(try parse("a1 AND b2 OR c3") == .boolean(BooleanQuery(should: [.boolean(BooleanQuery(must: [term("a1"), term("b2")])), term("c3")])))
    }

    @Test func fieldsAndPrefixes() throws {
        #expect(try parse("title:sofa") == term("sofa", fields: 1))
        #expect(try parse("description:velvet") == term("velvet", fields: 1 << 3))
        #expect(try parse("sof*") == .prefix(PrefixQuery(slot: 0, prefix: Array("sof".utf8))))
        // Keyword-only fields match the exact value.
        let slot = Self.layout.keywordSlotOfField[Schemas.catalog.ordinal(of: "category_path")!]!
        #expect(try parse(#"category_path:"Furniture > Living Room > Sofas""#) == .term(TermQuery(slot: slot, term: "Furniture > Living Room > Sofas")))
    }

    @Test(arguments: [
        (#""unclosed phrase"#, "never closed"),
        ("(sofa", "never closed"),
        ("sofa)", "unexpected ')'"),
        ("()", "empty parentheses"),
        ("sofa OR", "needs a clause after"),
        ("OR sofa", "needs a clause before"),
        ("colour:red", "unknown field \"colour\""),
        (#""a b"~x"#, "slop"),
    ])
    func malformedQueriesGiveClearErrors(_ q: String, _ fragment: String) {
        do {
            let r = try parse(q)
            Issue.record("\(q) parsed as \(r)")
        } catch {
            #expect("\(error)".contains(fragment), "\(q): \(error)")
        }
    }

    @Test func aQuoteAfterADigitIsAnInchMark() throws {
        // `55" tv` is a size, not an unclosed phrase; a quote elsewhere still opens a phrase.
        #expect(try parse(#"55" tv"#) == .boolean(BooleanQuery(must: [term("55"), term("tv")])))
        #expect(throws: EngineError.self) { try parse(#"55 "tv"#) }
        #expect(try parse(#"1/2" "copper pipe""#) != .matchNone)
    }

    @Test func longQueriesAreRejected() {
        #expect(throws: EngineError.self) { try parse(String(repeating: "a ", count: 1200)) }
        #expect(throws: EngineError.self) { try parse((0..<300).map { "w\($0)" }.joined(separator: " ")) }
    }
}

/// Parsing is pure (the schema only) and happens once: a parsed query rewrites with either
/// operator exactly as a direct parse with that operator does.
@Suite struct ParseOnceTests {
    static let layout = QueryParserTests.layout

    @Test(arguments: ["black sofas", #""leather sofa"~2 -brown"#, "title:sofa OR lamp*", "a1 AND b2 OR (c3 -d4)", "+sofa NOT NOT leather", ""])
    func aParsedQueryRewritesAsADirectParse(_ q: String) throws {
        let and = try QueryParser(layout: Self.layout, defaultOperator: .and)
        var or = and
        or.defaultOperator = .or
        let parsed = try and.parseQuery(q, syntax: .strict)
        #expect(try and.rewrite(parsed, expander: nil).query == and.parse(q))
        #expect(try or.rewrite(parsed, expander: nil).query == or.parse(q))
        // Rewriting twice gives the same query (the analyses it kept are the same).
        #expect(try or.rewrite(parsed, expander: nil).query == or.rewrite(parsed, expander: nil).query)
    }

    @Test func unknownFieldsAreFoundWhenParsing() throws {
        let p = try QueryParser(layout: Self.layout)
        #expect(throws: EngineError.self) { _ = try p.parseQuery("colour:red", syntax: .strict) }
        let lenient = try p.parseQuery("colour:red", syntax: .lenient)
        #expect(lenient.lenient)
    }
}
