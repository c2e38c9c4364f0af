/// The whole input as one token: the term is the input with leading and trailing white space (Unicode
/// `White_Space`) trimmed and ill-formed UTF-8 replaced by U+FFFD; no case folding. The byte range is the whole
/// input. An input that is empty after trimming gives no token.
public struct KeywordTokenizer: Tokenizer {
    /// Creates the tokenizer.
    public init() {}

    /// A worker with its own term buffer.
    public func makeWorker() throws -> any TokenizerWorker { KeywordTokenizerWorker() }
}

final class KeywordTokenizerWorker: DirectTokenizerWorker {
    private var term: [UInt8] = []

    @inline(__always)
    private static func isASCIIWhiteSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    private static func isWhiteSpace(_ d: UTF8Decoding.Decoded) -> Bool {
        d.isValid && (Unicode.Scalar(d.scalar)?.properties.isWhitespace ?? false)
    }

    func tokenize(_ input: UnsafeBufferPointer<UInt8>, _ sink: (inout [UInt8], Int32, Int32) -> Void) {
        var copy: [UInt8] = []
        tokenizeDirect(input) { term, start, end in
            copy.append(contentsOf: term)
            sink(&copy, start, end)
        }
    }

    func tokenizeDirect(_ input: UnsafeBufferPointer<UInt8>,
                        _ emit: (UnsafeBufferPointer<UInt8>, Int32, Int32) -> Void) {
        let n = input.count
        if UTF8Decoding.isASCII(input) {
            var first = 0, last = n
            while first < last && Self.isASCIIWhiteSpace(input[first]) { first += 1 }
            while last > first && Self.isASCIIWhiteSpace(input[last - 1]) { last -= 1 }
            if first < last { emit(UnsafeBufferPointer(rebasing: input[first..<last]), 0, Int32(n)) }
            return
        }
        var first = 0
        while first < n {
            let d = UTF8Decoding.decode(input, at: first)
            if !Self.isWhiteSpace(d) { break }
            first += d.length
        }
        guard first < n else { return }
        // Walk forward, remembering where the last non-white-space scalar ended and whether all was valid.
        var i = first, last = first, valid = true
        while i < n {
            let d = UTF8Decoding.decode(input, at: i)
            i += d.length
            valid = valid && d.isValid
            if !Self.isWhiteSpace(d) { last = i }
        }
        let slice = UnsafeBufferPointer(rebasing: input[first..<last])
        if valid {
            emit(slice, 0, Int32(n))
        } else {
            term.removeAll(keepingCapacity: true)
            UTF8Decoding.appendRepairing(slice, to: &term)
            term.withUnsafeBufferPointer { emit($0, 0, Int32(n)) }
        }
    }
}
