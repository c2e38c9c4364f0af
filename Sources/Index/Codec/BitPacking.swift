/// Bit packing of small unsigned integers: `count` values of `width` bits each, as one little-endian
/// bit stream (value i occupies bits [i*width, (i+1)*width)). Blocks of 128 postings use it for doc
/// deltas, term frequencies and positions.
///
/// Unpacking reads 8 bytes at a time and so may look up to 7 bytes past the packed data; every
/// buffer that is unpacked from (index files have a 16-byte footer; in-memory buffers get
/// `BitPacking.slack` bytes of padding) must allow that.
public enum BitPacking {
    /// Bytes that must be readable after packed data.
    public static let slack = 8

    /// Bytes needed for `count` values of `width` bits.
    @inline(__always) public static func byteCount(count: Int, width: Int) -> Int {
        (count * width + 7) >> 3
    }

    /// Number of bits needed for `v` (0 for 0).
    @inline(__always) public static func width(of v: UInt32) -> Int {
        v == 0 ? 0 : 32 - v.leadingZeroBitCount
    }

    /// Width needed for the largest of `values[0..<count]`.
    @inline(__always) public static func width(_ values: UnsafePointer<UInt32>, count: Int) -> Int {
        var m: UInt32 = 0
        for i in 0..<count { m |= values[i] }
        return width(of: m)
    }

    /// Appends the packed values to `out`.
    public static func pack(_ values: UnsafePointer<UInt32>, count: Int, width: Int, into out: inout ByteWriter) {
        if width == 0 || count == 0 { return }
        let n = byteCount(count: count, width: width)
        var acc: UInt64 = 0
        var bits = 0
        var written = 0
        let mask: UInt64 = width == 64 ? ~0 : (UInt64(1) << UInt64(width)) - 1
        for i in 0..<count {
            acc |= (UInt64(values[i]) & mask) << UInt64(bits)
            bits += width
            while bits >= 8 {
                out.u8(UInt8(truncatingIfNeeded: acc))
                acc >>= 8
                bits -= 8
                written += 1
            }
        }
        if bits > 0 {
            out.u8(UInt8(truncatingIfNeeded: acc))
            written += 1
        }
        assert(written == n)
    }

    /// Unpacks `count` values of `width` bits from `src` into `dst`.
    @inline(__always)
    public static func unpack(_ src: UnsafeRawPointer, count: Int, width: Int, into dst: UnsafeMutablePointer<UInt32>) {
        if width == 0 {
            dst.update(repeating: 0, count: count)
            return
        }
        if count == 128 {
            unpack128(src, width: width, into: dst)
            return
        }
        let w = UInt64(width)
        let mask: UInt64 = (UInt64(1) << w) - 1
        var bit: UInt64 = 0
        for i in 0..<count {
            let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: Int(bit >> 3), as: UInt64.self))
            dst[i] = UInt32(truncatingIfNeeded: (word >> (bit & 7)) & mask)
            bit &+= w
        }
    }

    /// A full block of 128 values: one specialised, unrolled loop per width.
    @inline(never)
    static func unpack128(_ src: UnsafeRawPointer, width: Int, into dst: UnsafeMutablePointer<UInt32>) {
        switch width {
        case 1: unpackGroups(src, 1, dst)
        case 2: unpackGroups(src, 2, dst)
        case 3: unpackGroups(src, 3, dst)
        case 4: unpackGroups(src, 4, dst)
        case 5: unpackGroups(src, 5, dst)
        case 6: unpackGroups(src, 6, dst)
        case 7: unpackGroups(src, 7, dst)
        case 8: unpackGroups(src, 8, dst)
        case 9: unpackGroups(src, 9, dst)
        case 10: unpackGroups(src, 10, dst)
        case 11: unpackGroups(src, 11, dst)
        case 12: unpackGroups(src, 12, dst)
        case 13: unpackGroups(src, 13, dst)
        case 14: unpackGroups(src, 14, dst)
        case 15: unpackGroups(src, 15, dst)
        case 16: unpackGroups(src, 16, dst)
        case 17: unpackGroups(src, 17, dst)
        case 18: unpackGroups(src, 18, dst)
        case 19: unpackGroups(src, 19, dst)
        case 20: unpackGroups(src, 20, dst)
        case 21: unpackGroups(src, 21, dst)
        case 22: unpackGroups(src, 22, dst)
        case 23: unpackGroups(src, 23, dst)
        case 24: unpackGroups(src, 24, dst)
        case 25: unpackGroups(src, 25, dst)
        default:
            let w = UInt64(width)
            let mask: UInt64 = (UInt64(1) << w) - 1
            var bit: UInt64 = 0
            for i in 0..<128 {
                let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: Int(bit >> 3), as: UInt64.self))
                dst[i] = UInt32(truncatingIfNeeded: (word >> (bit & 7)) & mask)
                bit &+= w
            }
        }
    }

    /// 16 groups of 8 values; a group of 8 `w`-bit values is exactly `w` bytes, so every shift and
    /// offset inside a group is a constant once `w` is.
    @inline(__always)
    static func unpackGroups(_ src: UnsafeRawPointer, _ w: Int, _ dst: UnsafeMutablePointer<UInt32>) {
        let mask: UInt64 = (UInt64(1) << UInt64(w)) - 1
        for g in 0..<16 {
            let base = src + g &* w
            let out = dst + g &* 8
            for j in 0..<8 {
                let bit = j &* w
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self))
                out[j] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
            }
        }
    }

    /// Unpacks deltas and turns them into absolute values: `dst[i] = dst[i-1] + delta[i] + 1`,
    /// starting from `base` (so strictly increasing doc ids cost `delta - 1`).
    @inline(__always)
    public static func unpackDeltas(_ src: UnsafeRawPointer, count: Int, width: Int, base: UInt32,
                                    into dst: UnsafeMutablePointer<UInt32>) {
        var prev = base
        if width == 0 {
            for i in 0..<count {
                prev &+= 1
                dst[i] = prev
            }
            return
        }
        let w = UInt64(width)
        let mask: UInt64 = (UInt64(1) << w) - 1
        var bit: UInt64 = 0
        for i in 0..<count {
            let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: Int(bit >> 3), as: UInt64.self))
            prev = prev &+ UInt32(truncatingIfNeeded: (word >> (bit & 7)) & mask) &+ 1
            dst[i] = prev
            bit &+= w
        }
    }
}

/// Patched frame of reference ("PFor"): values are packed with a width `b` that fits most of them;
/// the few larger ones ("exceptions") keep their low `b` bits in place and have their high bits
/// stored after the block. The width is chosen to minimise the block's size.
///
/// ```
/// u8 b | u8 exceptionCount | packed low bits (count x b) |
/// if exceptionCount > 0: u8 highWidth | u8 index x exceptionCount | packed high bits (exceptionCount x highWidth)
/// ```
public enum PForBlock {
    /// Appends the encoding of `count` values.
    public static func encode(_ values: UnsafePointer<UInt32>, count: Int, into out: inout ByteWriter) {
        var hist = [Int](repeating: 0, count: 33)
        var maxWidth = 0
        for i in 0..<count {
            let w = BitPacking.width(of: values[i])
            hist[w] += 1
            if w > maxWidth { maxWidth = w }
        }
        // cost(b) in bits.
        var bestB = maxWidth
        var bestCost = count * maxWidth
        var above = 0   // values wider than b
        var b = maxWidth - 1
        while b >= 0 {
            above += hist[b + 1]
            if above > min(count, 255) { break }
            let cost = count * b + 8 + above * 8 + above * (maxWidth - b)
            if cost < bestCost {
                bestCost = cost
                bestB = b
            }
            b -= 1
        }
        let mask: UInt32 = bestB >= 32 ? ~0 : (UInt32(1) << UInt32(bestB)) - 1
        var exceptions: [(UInt8, UInt32)] = []
        var low = [UInt32](repeating: 0, count: count)
        for i in 0..<count {
            low[i] = values[i] & mask
            if bestB < 32 && values[i] >> UInt32(bestB) != 0 { exceptions.append((UInt8(i), values[i] >> UInt32(bestB))) }
        }
        out.u8(UInt8(bestB))
        out.u8(UInt8(exceptions.count))
        low.withUnsafeBufferPointer { BitPacking.pack($0.baseAddress!, count: count, width: bestB, into: &out) }
        if !exceptions.isEmpty {
            let hw = maxWidth - bestB
            out.u8(UInt8(hw))
            for (i, _) in exceptions { out.u8(i) }
            let highs = exceptions.map { $0.1 }
            highs.withUnsafeBufferPointer { BitPacking.pack($0.baseAddress!, count: highs.count, width: hw, into: &out) }
        }
    }

    /// Size in bytes of an encoded block starting at `p` (reads its headers), or nil if damaged/out of range.
    @inline(__always)
    public static func size(_ p: UnsafeRawPointer, count: Int, available: Int) -> Int? {
        guard available >= 2 else { return nil }
        let b = Int(p.load(as: UInt8.self))
        let e = Int(p.load(fromByteOffset: 1, as: UInt8.self))
        guard b <= 32, e <= count else { return nil }
        var n = 2 + BitPacking.byteCount(count: count, width: b)
        if e > 0 {
            guard available >= n + 1 else { return nil }
            let hw = Int(p.load(fromByteOffset: n, as: UInt8.self))
            guard hw <= 32, b + hw <= 32 else { return nil }
            n += 1 + e + BitPacking.byteCount(count: e, width: hw)
        }
        return n <= available ? n : nil
    }

    /// Decodes a block (validated with `size` first).
    @inline(__always)
    public static func decode(_ p: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<UInt32>) {
        let b = Int(p.load(as: UInt8.self))
        let e = Int(p.load(fromByteOffset: 1, as: UInt8.self))
        BitPacking.unpack(p + 2, count: count, width: b, into: dst)
        if e > 0 { patch(p, count: count, b: b, e: e, into: dst) }
    }

    @inline(never)
    static func patch(_ p: UnsafeRawPointer, count: Int, b: Int, e: Int, into dst: UnsafeMutablePointer<UInt32>) {
        var off = 2 + BitPacking.byteCount(count: count, width: b)
        let hw = UInt64(p.load(fromByteOffset: off, as: UInt8.self))
        off += 1
        let idx = p + off
        let highs = p + off + e
        let mask: UInt64 = (1 << hw) - 1
        var bit: UInt64 = 0
        for k in 0..<e {
            let i = Int(idx.load(fromByteOffset: k, as: UInt8.self))
            let word = UInt64(littleEndian: highs.loadUnaligned(fromByteOffset: Int(bit >> 3), as: UInt64.self))
            let high = UInt32(truncatingIfNeeded: (word >> (bit & 7)) & mask)
            if i < count { dst[i] |= high << UInt32(b) }
            bit &+= hw
        }
    }
}
