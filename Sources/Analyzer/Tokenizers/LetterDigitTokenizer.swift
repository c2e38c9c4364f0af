/// Terms are the maximal runs of letters and digits, lower-cased; everything else separates. No ICU.
///
/// On ASCII this is exactly Python's `re.findall(r"[a-z0-9]+", s.lower())`: apostrophes, hyphens, dots, `_` all
/// separate. Beyond ASCII, a run starts with a letter (general category L*) or number (Nd, Nl, No) and continues
/// through letters, numbers and combining marks (M*); non-ASCII scalars are lower-cased with their full Unicode
/// lowercase mapping. Ill-formed UTF-8 bytes separate.
///
/// Built for the indexing hot path: a byte loop over ASCII runs, one reusable term buffer, no `String` per token.
public struct LetterDigitTokenizer: Tokenizer {
    /// Creates the tokenizer.
    public init() {}

    /// A worker with its own term buffer.
    public func makeWorker() throws -> any TokenizerWorker { LetterDigitTokenizerWorker() }
}

final class LetterDigitTokenizerWorker: TokenizerWorker {
    private var term: [UInt8] = []

    init() { term.reserveCapacity(64) }

    @inline(__always)
    private static func isASCIIAlnum(_ b: UInt8) -> Bool {
        (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10
    }

    /// Letter or number (L*, Nd, Nl, No): can start a run. Marks (M*) can only continue one.
    @inline(__always)
    private static func classify(_ scalar: UInt32) -> (startsRun: Bool, continuesRun: Bool) {
        guard let s = Unicode.Scalar(scalar) else { return (false, false) }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return (true, true)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return (false, true)
        default:
            return (false, false)
        }
    }

    func tokenize(_ input: UnsafeBufferPointer<UInt8>, _ sink: (inout [UInt8], Int32, Int32) -> Void) {
        guard let base = input.baseAddress else { return }
        let n = input.count
        var i = 0
        while i < n {
            // Find the start of a run.
            let b = base[i]
            if b < 0x80 {
                if !Self.isASCIIAlnum(b) { i += 1; continue }
            } else {
                let d = UTF8Decoding.decode(input, at: i)
                if !d.isValid || !Self.classify(d.scalar).startsRun { i += d.length; continue }
            }
            let start = i
            term.removeAll(keepingCapacity: true)
            // Extend it: ASCII stretches in a tight loop, other scalars one by one.
            while i < n {
                if base[i] < 0x80 {
                    var j = i
                    var hasUpper = false
                    while j < n {
                        let c = base[j]
                        guard Self.isASCIIAlnum(c) else { break }
                        hasUpper = hasUpper || c &- 0x41 < 26
                        j += 1
                    }
                    if j == i { break }
                    let from = term.count
                    term.append(contentsOf: UnsafeBufferPointer(start: base + i, count: j - i))
                    if hasUpper {
                        term.withUnsafeMutableBufferPointer { t in
                            for k in from..<t.count where t[k] &- 0x41 < 26 { t[k] |= 0x20 }
                        }
                    }
                    i = j
                } else {
                    let d = UTF8Decoding.decode(input, at: i)
                    guard d.isValid, Self.classify(d.scalar).continuesRun else { break }
                    appendLowercased(d.scalar, source: UnsafeBufferPointer(start: base + i, count: d.length))
                    i += d.length
                }
            }
            sink(&term, Int32(start), Int32(i))
        }
    }

    private func appendLowercased(_ scalar: UInt32, source: UnsafeBufferPointer<UInt8>) {
        if let s = Unicode.Scalar(scalar), s.properties.changesWhenLowercased {
            term.append(contentsOf: s.properties.lowercaseMapping.utf8)
        } else {
            term.append(contentsOf: source)
        }
    }
}
