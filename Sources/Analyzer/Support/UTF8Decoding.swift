/// Byte-level UTF-8 helpers shared by the tokenizers (no `String` allocation).
enum UTF8Decoding {
    /// The result of decoding at one offset: a scalar, or an ill-formed subsequence to replace by U+FFFD.
    struct Decoded {
        /// The scalar value (U+FFFD when `isValid` is false).
        var scalar: UInt32
        /// Bytes consumed (1...4), never 0.
        var length: Int
        var isValid: Bool
    }

    /// Decodes the scalar starting at `i` (`i < p.count`). Ill-formed input yields `isValid == false` and the length
    /// of its maximal subpart (the Unicode-recommended replacement unit, as Swift's and ICU's decoders do).
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> Decoded {
        let n = p.count
        let b0 = p[i]
        if b0 < 0x80 { return Decoded(scalar: UInt32(b0), length: 1, isValid: true) }
        let invalid1 = Decoded(scalar: 0xFFFD, length: 1, isValid: false)
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < n && p[i + k] >= lo && p[i + k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            guard cont(1) else { return invalid1 }
            return Decoded(scalar: UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F), length: 2, isValid: true)
        case 0xE0...0xEF:
            let lo: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = b0 == 0xED ? 0x9F : 0xBF
            guard cont(1, lo, hi) else { return invalid1 }
            guard cont(2) else { return Decoded(scalar: 0xFFFD, length: 2, isValid: false) }
            let s = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            return Decoded(scalar: s, length: 3, isValid: true)
        case 0xF0...0xF4:
            let lo: UInt8 = b0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF
            guard cont(1, lo, hi) else { return invalid1 }
            guard cont(2) else { return Decoded(scalar: 0xFFFD, length: 2, isValid: false) }
            guard cont(3) else { return Decoded(scalar: 0xFFFD, length: 3, isValid: false) }
            let s = UInt32(b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6
                | UInt32(p[i + 3] & 0x3F)
            return Decoded(scalar: s, length: 4, isValid: true)
        default:
            return invalid1
        }
    }

    /// The UTF-8 encoding of U+FFFD.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Appends `bytes` to `out`, replacing ill-formed subsequences by U+FFFD.
    static func appendRepairing(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if isASCII(bytes) {
            out.append(contentsOf: bytes)
            return
        }
        var i = 0
        while i < bytes.count {
            let d = decode(bytes, at: i)
            if d.isValid {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + d.length)]))
            } else {
                out.append(contentsOf: replacement)
            }
            i += d.length
        }
    }

    /// Appends the UTF-8 encoding of a scalar value.
    @inline(__always)
    static func append(scalar s: UInt32, to out: inout [UInt8]) {
        switch s {
        case 0..<0x80:
            out.append(UInt8(s))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | s >> 6)); out.append(UInt8(0x80 | s & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | s >> 12)); out.append(UInt8(0x80 | (s >> 6) & 0x3F))
            out.append(UInt8(0x80 | s & 0x3F))
        default:
            out.append(UInt8(0xF0 | s >> 18)); out.append(UInt8(0x80 | (s >> 12) & 0x3F))
            out.append(UInt8(0x80 | (s >> 6) & 0x3F)); out.append(UInt8(0x80 | s & 0x3F))
        }
    }

    /// Whether every byte is < 0x80 (checks 8 bytes at a time).
    @inline(__always)
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i += 8
        }
        while i < n {
            if base[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    /// Whether every byte of `term` is < 0x80.
    @inline(__always)
    static func isASCII(_ term: [UInt8]) -> Bool {
        term.withUnsafeBufferPointer { isASCII($0) }
    }

    /// Lower-cases ASCII letters in place (other bytes unchanged).
    @inline(__always)
    static func lowercaseASCII(_ term: inout [UInt8]) {
        term.withUnsafeMutableBufferPointer { p in
            for i in p.indices where p[i] &- 0x41 < 26 { p[i] |= 0x20 }
        }
    }
}
