import Synchronization

/// The named analyzers a schema can refer to.
///
/// | name | pipeline |
/// | --- | --- |
/// | `english` | ICU words -> NFKC case fold -> accent fold -> apostrophes -> elision -> possessive -> stop words -> Snowball English |
/// | `product` | measurements normalised (`1/2 in.` = `1/2"`, `2x4`, `60W` = `60 watt`; ``MeasurementNormalizer``), then `english` |
/// | `standard` | like `english` without stop words and stemming |
/// | `plain` | lower-cased runs of letters and digits (on ASCII: Python's `re.findall(r"[a-z0-9]+", s.lower())`) |
/// | `keyword` | the whole trimmed value as one term |
public enum Analyzers {
    /// The names ``named(_:)`` accepts, sorted.
    public static var names: [String] { ["english", "keyword", "plain", "product", "standard"] }

    private static let cache = Mutex<[String: any TextAnalyzer]>([:])

    /// The shared analyzer called `name` (made on first use, then reused; analyzers are thread-safe).
    /// - Throws: ``AnalyzerError`` `.unknown(name, available:)` for an unknown name; an ICU/stemmer error if the
    ///   analyzer cannot be built.
    public static func named(_ name: String) throws -> any TextAnalyzer {
        try cache.withLock { cache in
            if let analyzer = cache[name] { return analyzer }
            let analyzer: any TextAnalyzer
            switch name {
            case "english": analyzer = try makeEnglish()
            case "product": analyzer = MeasurementAnalyzer(name: "product", inner: try makeEnglish(name: "product"))
            case "standard": analyzer = try makeStandard()
            case "plain": analyzer = try makePlain()
            case "keyword": analyzer = try makeKeyword()
            default: throw AnalyzerError.unknown(name, available: names)
            }
            cache[name] = analyzer
            return analyzer
        }
    }

    /// The folding filters shared by `english` and `standard`.
    public static func foldingFilters() -> [any TokenFilter] {
        [CaseFoldFilter(), AccentFoldFilter(), ApostropheFilter(), ElisionFilter(), PossessiveFilter()]
    }

    /// A new `english` analyzer: ICU word breaking, NFKC case folding, accent folding, apostrophe normalisation,
    /// French-style elisions (``ElisionFilter/frenchArticles``), English possessives, Lucene's English stop words
    /// (with position gaps) and Snowball English stemming.
    public static func makeEnglish(name: String = "english") throws -> PipelineAnalyzer {
        try PipelineAnalyzer(name: name, tokenizer: ICUWordTokenizer(locale: "en"),
                             filters: foldingFilters() + [StopWordFilter(), SnowballStemFilter(language: "english")])
    }

    /// A new `standard` analyzer: `english` without stop words and without stemming.
    public static func makeStandard(name: String = "standard") throws -> PipelineAnalyzer {
        try PipelineAnalyzer(name: name, tokenizer: ICUWordTokenizer(locale: "en"), filters: foldingFilters())
    }

    /// A new `plain` analyzer: ``LetterDigitTokenizer``, no filters.
    public static func makePlain(name: String = "plain") throws -> PipelineAnalyzer {
        try PipelineAnalyzer(name: name, tokenizer: LetterDigitTokenizer(), filters: [])
    }

    /// A new `keyword` analyzer: ``KeywordTokenizer``, no filters.
    public static func makeKeyword(name: String = "keyword") throws -> PipelineAnalyzer {
        try PipelineAnalyzer(name: name, tokenizer: KeywordTokenizer(), filters: [])
    }
}
