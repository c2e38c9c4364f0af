/// Splits text into words with ICU's word-break iterator (`UBRK_WORD`) and keeps segments whose rule status is at
/// least 100 (words, numbers, kana, ideographs); punctuation, spaces and emoji are dropped.
///
/// Terms are the source text (original case) with ill-formed UTF-8 replaced by U+FFFD. Pure-ASCII inputs without
/// `_` take an exact ASCII re-implementation of the rules (``ASCIIWordSegmenter``) instead of ICU.
///
/// ICU behaviour worth knowing: elisions (`l'été`), possessives (`samsung's`), e-mail addresses
/// (`foo@example.com`: ICU counts `@` as a letter), dotted abbreviations (`u.s.a`), decimal numbers (`1,000.50`) and
/// `snake_case` stay one token; hyphens and `:` separate. Segments with status >= 100 that contain no letter or
/// digit at all (ICU gives `@`, `@@` and `__` a word status) are dropped.
public struct ICUWordTokenizer: Tokenizer {
    /// The ICU locale of the break rules ("en"; "" is root).
    public let locale: String
    /// Whether ASCII inputs may use the ASCII fast path (same result, much faster).
    public let asciiFastPath: Bool
    private let prototype: ICUWordBreakPrototype

    /// Opens the ICU break iterator for `locale`.
    /// - Throws: ``AnalyzerError`` if ICU cannot open it.
    public init(locale: String = "en", asciiFastPath: Bool = true) throws {
        self.locale = locale
        self.asciiFastPath = asciiFastPath
        prototype = try ICUWordBreakPrototype(locale: locale)
    }

    /// A worker with its own clone of the break iterator.
    public func makeWorker() throws -> any TokenizerWorker {
        ICUWordTokenizerWorker(iterator: try prototype.makeIterator(), asciiFastPath: asciiFastPath)
    }
}

final class ICUWordTokenizerWorker: TokenizerWorker {
    /// ICU's UBRK_WORD_NONE_LIMIT: statuses below it are "not a word".
    static let minimumWordStatus: Int32 = 100

    private let iterator: ICUWordBreakIterator
    private let asciiFastPath: Bool
    private var term: [UInt8] = []

    init(iterator: ICUWordBreakIterator, asciiFastPath: Bool) {
        self.iterator = iterator
        self.asciiFastPath = asciiFastPath
        term.reserveCapacity(64)
    }

    /// Whether a segment has an ASCII letter or digit or any non-ASCII byte (ICU only calls segments with letters,
    /// numbers, kana or ideographs words, apart from runs of `@` and `_`).
    @inline(__always)
    static func hasLetterOrDigit(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        segment.contains { $0 >= 0x80 || ($0 | 0x20) &- 0x61 < 26 || $0 &- 0x30 < 10 }
    }

    func tokenize(_ input: UnsafeBufferPointer<UInt8>, _ sink: (inout [UInt8], Int32, Int32) -> Void) {
        if asciiFastPath && ASCIIWordSegmenter.canSegment(input) {
            ASCIIWordSegmenter.forEachWord(input) { start, end in
                guard Self.hasLetterOrDigit(UnsafeBufferPointer(rebasing: input[start..<end])) else { return }
                term.removeAll(keepingCapacity: true)
                term.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<end]))
                sink(&term, Int32(start), Int32(end))
            }
            return
        }
        var lastStart = 0
        iterator.forEachSegment(input) { start, end, status in
            // Defensive: ICU's boundaries are increasing and inside the text; never trust that blindly.
            guard status >= Self.minimumWordStatus, start >= lastStart, start < end, end <= input.count else { return }
            lastStart = start
            guard Self.hasLetterOrDigit(UnsafeBufferPointer(rebasing: input[start..<end])) else { return }
            term.removeAll(keepingCapacity: true)
            UTF8Decoding.appendRepairing(UnsafeBufferPointer(rebasing: input[start..<end]), to: &term)
            sink(&term, Int32(start), Int32(end))
        }
    }
}
