/// Terms are the maximal runs of letters and digits, lower-cased; everything else separates. No ICU.
///
/// On ASCII this is exactly Python's `re.findall(r"[a-z0-9]+", s.lower())`: apostrophes, hyphens, dots, `_` all
/// separate. Beyond ASCII, a run starts with a letter (general category L*) or number (Nd, Nl, No) and continues
/// through letters, numbers and combining marks (M*); non-ASCII scalars are lower-cased with their full Unicode
/// lowercase mapping. Ill-formed UTF-8 bytes separate.
///
/// Built for the indexing hot path: a table-driven byte loop over ASCII runs, lower-case ASCII terms handed out
/// straight from the input, a reusable scratch buffer otherwise, no `String` per token.
public struct LetterDigitTokenizer: Tokenizer {
    /// Creates the tokenizer.
    public init() {}

    /// A worker with its own buffers.
    public func makeWorker() throws -> any TokenizerWorker { LetterDigitTokenizerWorker() }
}

final class LetterDigitTokenizerWorker: DirectTokenizerWorker {
    /// Byte classes: separator, lower-case letter or digit, upper-case letter, non-ASCII byte.
    private static let separator: UInt8 = 0, lowerOrDigit: UInt8 = 1, upper: UInt8 = 2, nonASCII: UInt8 = 3
    private static let byteClass: [UInt8] = (0..<256).map { b -> UInt8 in
        switch b {
        case 0x30...0x39, 0x61...0x7A: return lowerOrDigit
        case 0x41...0x5A: return upper
        case 0x80...: return nonASCII
        default: return separator
        }
    }

    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity = 256
    private var term: [UInt8] = []

    init() {
        scratch = .allocate(capacity: scratchCapacity)
        term.reserveCapacity(64)
    }

    deinit { scratch.deallocate() }

    /// Letter or number (L*, Nd, Nl, No): can start a run. Marks (M*) can only continue one.
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
        var copy: [UInt8] = []
        tokenizeDirect(input) { term, start, end in
            copy.removeAll(keepingCapacity: true)
            copy.append(contentsOf: term)
            sink(&copy, start, end)
        }
    }

    func tokenizeDirect(_ input: UnsafeBufferPointer<UInt8>,
                        _ emit: (UnsafeBufferPointer<UInt8>, Int32, Int32) -> Void) {
        guard let base = input.baseAddress else { return }
        let n = input.count
        Self.byteClass.withUnsafeBufferPointer { table in
            var i = 0
            while i < n {
                let c = table[Int(base[i])]
                if c == Self.separator { i += 1; continue }
                if c == Self.nonASCII {
                    let d = UTF8Decoding.decode(input, at: i)
                    if !d.isValid || !Self.classify(d.scalar).startsRun { i += d.length; continue }
                    i = unicodeRun(input, from: i, emit)
                    continue
                }
                // An ASCII run.
                let start = i
                var hasUpper = false
                var j = i + 1
                hasUpper = c == Self.upper
                while j < n {
                    let k = table[Int(base[j])]
                    if k == Self.lowerOrDigit { j += 1 } else if k == Self.upper { hasUpper = true; j += 1 } else { break }
                }
                if j < n && table[Int(base[j])] == Self.nonASCII {
                    // Might continue with a non-ASCII letter ("café"): take the general path for this run.
                    i = unicodeRun(input, from: start, emit)
                    continue
                }
                let count = j - start
                if !hasUpper {
                    emit(UnsafeBufferPointer(start: base + start, count: count), Int32(start), Int32(j))
                } else {
                    if count > scratchCapacity { growScratch(to: count) }
                    for k in 0..<count {
                        let b = base[start + k]
                        scratch[k] = b &- 0x41 < 26 ? b | 0x20 : b
                    }
                    emit(UnsafeBufferPointer(start: scratch, count: count), Int32(start), Int32(j))
                }
                i = j
            }
        }
    }

    private func growScratch(to count: Int) {
        scratch.deallocate()
        scratchCapacity = max(count, scratchCapacity * 2)
        scratch = .allocate(capacity: scratchCapacity)
    }

    /// Emits the run starting at `start` (a letter or number) that may contain non-ASCII scalars; returns its end.
    private func unicodeRun(_ input: UnsafeBufferPointer<UInt8>, from start: Int,
                            _ emit: (UnsafeBufferPointer<UInt8>, Int32, Int32) -> Void) -> Int {
        let n = input.count
        var i = start
        term.removeAll(keepingCapacity: true)
        while i < n {
            let b = input[i]
            if b < 0x80 {
                guard (b | 0x20) &- 0x61 < 26 || b &- 0x30 < 10 else { break }
                term.append(b &- 0x41 < 26 ? b | 0x20 : b)
                i += 1
                continue
            }
            let d = UTF8Decoding.decode(input, at: i)
            guard d.isValid, Self.classify(d.scalar).continuesRun else { break }
            if let s = Unicode.Scalar(d.scalar), s.properties.changesWhenLowercased {
                term.append(contentsOf: s.properties.lowercaseMapping.utf8)
            } else {
                term.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + d.length)]))
            }
            i += d.length
        }
        term.withUnsafeBufferPointer { emit($0, Int32(start), Int32(i)) }
        return i
    }
}
