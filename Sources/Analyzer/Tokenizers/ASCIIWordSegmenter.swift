/// The ICU word-break rules (UAX #29 as tailored by ICU/CLDR root) restricted to ASCII text, for a fast path.
///
/// On ASCII without `_` it finds exactly the segments ICU marks as words/numbers (rule status >= 100):
/// - letters (`@` counts as one) and digits join (`QN55Q80C`, `4K`, `foo@example`);
/// - letter (`.` or `'`) letter joins (`l'ete`, `e.g`) — WB6/7;
/// - digit (`.` `'` `,` `;`) digit joins (`1,000.50`) — WB11/12;
/// - everything else separates (a test checks this against ICU on random strings).
/// `_` (ExtendNumLet, WB13a/b) and non-ASCII text go through ICU instead.
enum ASCIIWordSegmenter {
    private static let letter: UInt8 = 1, digit: UInt8 = 2, midLetterOrNum: UInt8 = 3, midNum: UInt8 = 4, other: UInt8 = 0

    @inline(__always)
    private static func classOf(_ b: UInt8) -> UInt8 {
        switch b {
        case 0x61...0x7A, 0x41...0x5A, 0x40: return letter   // ICU's rules count "@" as a letter (e-mail addresses)
        case 0x30...0x39: return digit
        case 0x2E, 0x27: return midLetterOrNum     // . '   (MidNumLet, Single_Quote)
        case 0x2C, 0x3B: return midNum             // , ;   (MidNum)
        default: return other                      // including ':' (ICU's root rules drop it from MidLetter)
        }
    }

    /// Whether `text` is ASCII without `_`, so that ``forEachWord(_:_:)`` gives ICU's result.
    @inline(__always)
    static func canSegment(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = text.baseAddress else { return true }
        let n = text.count
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w & 0x8080_8080_8080_8080 != 0 { return false }
            let v = w ^ 0x5F5F_5F5F_5F5F_5F5F          // a zero byte where w had '_'
            if (v &- 0x0101_0101_0101_0101) & ~v & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if base[i] >= 0x80 || base[i] == 0x5F { return false }
            i += 1
        }
        return true
    }

    /// Calls `body(start, end)` for each word/number segment. Precondition: ``canSegment(_:)``.
    @inline(__always)
    static func forEachWord(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        let n = text.count
        var i = 0
        while i < n {
            let c = classOf(text[i])
            guard c == letter || c == digit else { i += 1; continue }
            let start = i
            i += 1
            while i < n {
                let c2 = classOf(text[i])
                if c2 == letter || c2 == digit { i += 1; continue }
                if i + 1 < n && (c2 == midLetterOrNum || c2 == midNum) {
                    let before = classOf(text[i - 1]), after = classOf(text[i + 1])
                    if before == letter && after == letter && c2 == midLetterOrNum { i += 2; continue }
                    if before == digit && after == digit { i += 2; continue }
                }
                break
            }
            body(start, i)
        }
    }
}
