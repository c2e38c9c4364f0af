/// Removes stop words, leaving a position gap (``FilterVerdict/removeLeavingGap``). Matches terms exactly, so run it
/// after case folding (and before stemming).
public struct StopWordFilter: StatelessTokenFilter {
    /// Lucene's English stop words (`EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`, 33 words).
    public static let english = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ]

    /// Words of up to 7 bytes, packed into an integer (length in the top byte): no allocation per lookup.
    private let short: Set<UInt64>
    private let long: Set<[UInt8]>

    /// Creates the filter for a word list.
    public init(words: [String] = StopWordFilter.english) {
        var short = Set<UInt64>(), long = Set<[UInt8]>()
        for word in words {
            let bytes = Array(word.utf8)
            if let key = Self.pack(bytes) { short.insert(key) } else { long.insert(bytes) }
        }
        self.short = short
        self.long = long
    }

    @inline(__always)
    private static func pack(_ bytes: [UInt8]) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 7 else { return nil }
        var key = UInt64(bytes.count) << 56
        for (i, b) in bytes.enumerated() { key |= UInt64(b) << (8 * UInt64(i)) }
        return key
    }

    /// Does not apply to query normalisation.
    public var appliesToNormalization: Bool { false }

    /// Whether `term` is a stop word.
    public func contains(_ term: [UInt8]) -> Bool {
        if let key = Self.pack(term) { return short.contains(key) }
        return !long.isEmpty && long.contains(term)
    }

    /// Removes stop words.
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        contains(term) ? .removeLeavingGap : .keep
    }
}
