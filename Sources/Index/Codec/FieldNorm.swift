/// One-byte encoding of a field's length (its number of tokens), as stored per document and field.
///
/// Lengths 0...40 are exact; above, each code is about 4% longer than the one before (up to ~10^6),
/// and a length is rounded down to the nearest code. BM25 uses the decoded length, so the index and
/// any reference implementation score identically.
public enum FieldNorm {
    public static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 256)
        for c in 0...40 { t[c] = UInt32(c) }
        for c in 41..<256 {
            let prev = t[c - 1]
            t[c] = max(prev + 1, UInt32((Double(prev) * 1.04).rounded(.down)))
        }
        return t
    }()

    @inline(__always) public static func decode(_ code: UInt8) -> UInt32 { table[Int(code)] }

    public static func encode(_ length: UInt32) -> UInt8 {
        if length <= 40 { return UInt8(length) }
        var lo = 40, hi = 255
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if table[mid] <= length { lo = mid } else { hi = mid - 1 }
        }
        return UInt8(lo)
    }
}
