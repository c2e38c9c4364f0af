/// The whole input as one token: the term is the input with leading and trailing white space (Unicode
/// `White_Space`) trimmed and ill-formed UTF-8 replaced by U+FFFD; no case folding. The byte range is the whole
/// input. An input that is empty after trimming gives no token.
public struct KeywordTokenizer: Tokenizer {
    /// Creates the tokenizer.
    public init() {}

    /// A worker with its own term buffer.
    public func makeWorker() throws -> any TokenizerWorker { KeywordTokenizerWorker() }
}

final class KeywordTokenizerWorker: TokenizerWorker {
    private var term: [UInt8] = []

    private static func isWhiteSpace(_ d: UTF8Decoding.Decoded) -> Bool {
        d.isValid && (Unicode.Scalar(d.scalar)?.properties.isWhitespace ?? false)
    }

    func tokenize(_ input: UnsafeBufferPointer<UInt8>, _ sink: (inout [UInt8], Int32, Int32) -> Void) {
        let n = input.count
        var first = 0
        while first < n {
            let d = UTF8Decoding.decode(input, at: first)
            if !Self.isWhiteSpace(d) { break }
            first += d.length
        }
        guard first < n else { return }
        // Walk forward, remembering where the last non-white-space scalar ended.
        var i = first, last = first
        while i < n {
            let d = UTF8Decoding.decode(input, at: i)
            i += d.length
            if !Self.isWhiteSpace(d) { last = i }
        }
        term.removeAll(keepingCapacity: true)
        UTF8Decoding.appendRepairing(UnsafeBufferPointer(rebasing: input[first..<last]), to: &term)
        sink(&term, 0, Int32(n))
    }
}
