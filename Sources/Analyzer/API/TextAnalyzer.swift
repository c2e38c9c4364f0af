/// Turns text into a stream of tokens (term, position, UTF-8 byte range).
///
/// Conforming types are safe to call from many threads at once.
///
/// Guarantees for every input, including invalid UTF-8: terms are non-empty valid UTF-8; positions never go back
/// (one per emitted token, plus gaps for removed stop words); `0 <= start < end <= input.count` and starts are
/// non-decreasing. Inputs longer than `Int32.max` bytes are analysed up to that length only.
public protocol TextAnalyzer: Sendable {
    /// The analyzer's name, as a schema refers to it (e.g. `"english"`).
    var name: String { get }

    /// Analyse UTF-8 text.
    ///
    /// Calls `emit(termBytes, position, start, end)` for each token in order; the term bytes (UTF-8) are valid only
    /// during the call. The first token gets position `firstPosition` (or later, if leading stop words were
    /// removed). `start`/`end` are the UTF-8 byte range of the token's source text in `utf8`.
    ///
    /// - Returns: the position after the last position used, including positions consumed by removed stop words
    ///   (so a multi-valued field can continue with a gap); `firstPosition` if there was no token.
    @discardableResult
    func analyze(utf8: UnsafeBufferPointer<UInt8>, firstPosition: Int32,
                 emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32

    /// Query-time normalisation of a single term for prefix queries: the same folding/lower-casing as
    /// ``analyze(utf8:firstPosition:emit:)``, but no stemming and no stop-word removal.
    ///
    /// - Returns: the normalised term; `nil` if nothing is left. If the text splits into several tokens under this
    ///   analyzer, their normalised terms joined by a single space (which is then usually not an indexed term;
    ///   use ``PipelineAnalyzer/normalizedTerms(_:)`` to get them one by one).
    func normalize(_ text: String) -> String?
}

extension TextAnalyzer {
    /// Analyse a `String` (see ``analyze(utf8:firstPosition:emit:)``).
    @discardableResult
    public func analyze(_ text: String, firstPosition: Int32 = 0,
                        emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        var text = text
        return text.withUTF8 { analyze(utf8: $0, firstPosition: firstPosition, emit: emit) }
    }

    /// All tokens of `text`, starting at position 0. Convenient, but allocates a `String` per token.
    public func tokens(_ text: String) -> [Token] {
        var text = text
        return text.withUTF8 { tokens(utf8: $0) }
    }

    /// All tokens of UTF-8 `utf8` (which may be invalid UTF-8), starting at `firstPosition`.
    public func tokens(utf8: UnsafeBufferPointer<UInt8>, firstPosition: Int32 = 0) -> [Token] {
        var result: [Token] = []
        analyze(utf8: utf8, firstPosition: firstPosition) { term, position, start, end in
            result.append(Token(term: String(decoding: term, as: UTF8.self), position: position, start: start, end: end))
        }
        return result
    }

    /// Just the terms of `text`, in order.
    public func terms(_ text: String) -> [String] {
        tokens(text).map(\.term)
    }
}
