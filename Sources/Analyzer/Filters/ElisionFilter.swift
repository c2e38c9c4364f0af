/// Removes a leading elided article and its apostrophe: `l'ete` -> `ete`, `qu'il` -> `il`, `d'artagnan` ->
/// `artagnan`. ICU's word breaking keeps elisions in one token, hence this filter.
///
/// Matches lower-case articles followed by ASCII `'` (run it after ``CaseFoldFilter`` and ``ApostropheFilter``).
/// Nothing is removed if no letters would be left.
public struct ElisionFilter: StatelessTokenFilter {
    /// The default articles, Lucene's French set: `l m t qu n s j d c jusqu quoiqu lorsqu puisqu`.
    public static let frenchArticles = ["l", "m", "t", "qu", "n", "s", "j", "d", "c",
                                        "jusqu", "quoiqu", "lorsqu", "puisqu"]

    /// The articles removed (lower case, without the apostrophe).
    public let articles: Set<[UInt8]>
    private let longest: Int

    /// Creates the filter for the given articles (e.g. add Italian `dell`, `nell`, `all`, ...).
    public init(articles: [String] = ElisionFilter.frenchArticles) {
        self.articles = Set(articles.map { Array($0.utf8) })
        longest = self.articles.map(\.count).max() ?? 0
    }

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// Strips the article in place.
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        let limit = min(longest, term.count - 2)
        guard limit >= 1 else { return .keep }
        for i in 1...limit where term[i] == 0x27 {
            if articles.contains(Array(term[0..<i])) { term.removeFirst(i + 1) }
            break
        }
        return .keep
    }
}
