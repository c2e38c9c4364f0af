import Testing
@testable import AisleAnalyzer

@Suite struct APITests {
    @Test func namesAndLookup() throws {
        #expect(Analyzers.names == ["english", "keyword", "plain", "product", "standard"])
        for name in Analyzers.names {
            let analyzer = try Analyzers.named(name)
            #expect(analyzer.name == name)
            // The same shared instance every time.
            #expect((analyzer as? PipelineAnalyzer) === (try Analyzers.named(name) as? PipelineAnalyzer))
        }
    }

    @Test func unknownNameThrowsWithAClearMessage() {
        do {
            _ = try Analyzers.named("klingon")
            Issue.record("expected an error")
        } catch let error as AnalyzerError {
            #expect(error.kind == .unknown(name: "klingon", available: Analyzers.names))
            #expect(error == AnalyzerError.unknown("klingon", available: Analyzers.names))
            #expect(error.description == "unknown analyzer \"klingon\"; available analyzers: english, keyword, plain, product, standard")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func configurationErrors() {
        #expect(throws: AnalyzerError.self) { try SnowballStemFilter(language: "klingon") }
        do {
            _ = try SnowballStemFilter(language: "klingon")
        } catch let error as AnalyzerError {
            #expect(error.description.hasPrefix("no Snowball stemmer for language \"klingon\"; available: "))
            #expect(error.description.contains("english"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
        do {
            _ = try TransliterateFilter(id: "No-Such-Transform")
            Issue.record("expected an error")
        } catch let error as AnalyzerError {
            guard case .icu = error.kind else { Issue.record("wrong kind \(error)"); return }
            #expect(error.description.hasPrefix("ICU error in utrans_openU(\"No-Such-Transform\"): U_"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func positionsGapsAndReturnValue() throws {
        let english = try Analyzers.named("english")
        var seen: [(String, Int32)] = []
        let next = english.analyze("the TV of the year", firstPosition: 10) { term, position, _, _ in
            seen.append((String(decoding: term, as: UTF8.self), position))
        }
        #expect(seen.map(\.0) == ["tv", "year"])
        #expect(seen.map(\.1) == [11, 14])
        #expect(next == 15)
        // Trailing stop words count; no tokens at all returns firstPosition.
        #expect(english.analyze("tv for the", firstPosition: 0) { _, _, _, _ in } == 3)
        #expect(english.analyze("", firstPosition: 7) { _, _, _, _ in } == 7)
        #expect(english.analyze("!!! ...", firstPosition: 7) { _, _, _, _ in } == 7)
        // A multi-valued field continues after a gap.
        let first = english.analyze("red shoes", firstPosition: 0) { _, _, _, _ in }
        var second: [Int32] = []
        english.analyze("blue shoes", firstPosition: first + 100) { _, position, _, _ in second.append(position) }
        #expect(second == [102, 103])
    }

    @Test func offsetsPointAtTheSourceText() throws {
        let text = "Café ÉCRAN — Samsung’s 55\" QN55Q80C, l'été 東京タワー"
        let bytes = Array(text.utf8)
        for name in Analyzers.names {
            let analyzer = try Analyzers.named(name)
            let sources = analyzer.tokens(text).map { String(decoding: bytes[Int($0.start)..<Int($0.end)], as: UTF8.self) }
            switch name {
            case "english", "standard":
                #expect(sources == ["Café", "ÉCRAN", "Samsung’s", "55", "QN55Q80C", "l'été", "東京タワー"])
            case "product":
                // A measurement's terms (55, inch) both point at the whole measurement.
                #expect(sources == ["Café", "ÉCRAN", "Samsung’s", "55\"", "55\"", "QN55Q80C", "l'été", "東京タワー"])
            case "plain":
                #expect(sources == ["Café", "ÉCRAN", "Samsung", "s", "55", "QN55Q80C", "l", "été", "東京タワー"])
            default:
                #expect(sources == [text])
            }
        }
    }

    @Test func normalizeFoldsButDoesNotStemOrStop() throws {
        let english = try Analyzers.named("english")
        #expect(english.normalize("Télévisions") == "televisions")
        #expect(english.normalize("The") == "the")
        #expect(english.normalize("Samsung’s") == "samsung")
        #expect(english.normalize("L'Été") == "ete")
        #expect(english.normalize("ﬁ") == "fi")
        #expect(english.normalize("  ") == nil)
        #expect(english.normalize("!!!") == nil)
        #expect(english.normalize("4K-TV") == "4k tv")
        let standard = try Analyzers.named("standard")
        #expect(standard.normalize("ÉCRANS") == "ecrans")
        let plain = try Analyzers.named("plain")
        #expect(plain.normalize("QN55-Q80C") == "qn55 q80c")
        #expect(plain.normalize("Été") == "été")
        #expect(plain.normalize("--") == nil)
        let keyword = try Analyzers.named("keyword")
        #expect(keyword.normalize("  Foo Bar ") == "Foo Bar")
        #expect(keyword.normalize(" \t") == nil)
        let pipeline = try Analyzers.makeEnglish()
        #expect(pipeline.normalizedTerms("Samsung's Televisions") == ["samsung", "televisions"])
    }

    @Test func customPipelines() throws {
        let latin = try PipelineAnalyzer(
            name: "latin-ascii", tokenizer: ICUWordTokenizer(locale: ""),
            filters: [TransliterateFilter(id: "Any-Latin; Latin-ASCII"), CaseFoldFilter()])
        #expect(latin.terms("Москва Straße Ελληνικά") == ["moskva", "strasse", "ellenika"])
        let italian = try PipelineAnalyzer(
            name: "italian", tokenizer: ICUWordTokenizer(locale: "it"),
            filters: [CaseFoldFilter(), ElisionFilter(articles: ["dell", "l"]), SnowballStemFilter(language: "italian")])
        #expect(italian.terms("dell'Italia l'acqua") == ["ital", "acqua"])
        let stops = try PipelineAnalyzer(name: "stops", tokenizer: LetterDigitTokenizer(),
                                         filters: [StopWordFilter(words: ["x", "verylongstopword"])])
        #expect(stops.tokens("a x verylongstopword b").map { "\($0.term)@\($0.position)" } == ["a@0", "b@3"])
    }

    @Test func tokenDescription() {
        #expect(Token(term: "tv", position: 1, start: 4, end: 6).description == "tv@1[4,6)")
    }

    @Test func icuVersionIsAvailable() {
        #expect(!ICU.version.isEmpty)
        print("ICU \(ICU.version), libstemmer languages: \(SnowballStemFilter.languages.joined(separator: " "))")
    }
}
