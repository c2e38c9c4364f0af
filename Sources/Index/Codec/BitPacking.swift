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
        let w = UInt64(width)
        let mask: UInt64 = (UInt64(1) << w) - 1
        var bit: UInt64 = 0
        for i in 0..<count {
            let word = UInt64(littleEndian: src.loadUnaligned(fromByteOffset: Int(bit >> 3), as: UInt64.self))
            dst[i] = UInt32(truncatingIfNeeded: (word >> (bit & 7)) & mask)
            bit &+= w
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
