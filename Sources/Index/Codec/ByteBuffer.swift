/// A growable little-endian byte buffer for writers: fixed-width integers, LEB128 varints, raw bytes.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }

    @inline(__always) public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    @inline(__always) public mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inline(__always) public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    @inline(__always) public mutating func f64(_ v: Double) { u64(v.bitPattern) }

    /// Unsigned LEB128.
    @inline(__always) public mutating func vint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always) public mutating func vint(_ value: Int) { vint(UInt64(value)) }
    @inline(__always) public mutating func vint(_ value: UInt32) { vint(UInt64(value)) }

    /// Zig-zag signed varint.
    @inline(__always) public mutating func svint(_ value: Int64) {
        vint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func append(_ other: UnsafeRawBufferPointer) { bytes.append(contentsOf: other) }
    public mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    public mutating func append<S: Sequence>(contentsOf s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }

    /// Length-prefixed bytes.
    public mutating func blob(_ b: [UInt8]) {
        vint(b.count)
        bytes.append(contentsOf: b)
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { p in
            vint(p.count)
            bytes.append(contentsOf: p)
        }
    }

    public mutating func removeAll(keepingCapacity: Bool = true) { bytes.removeAll(keepingCapacity: keepingCapacity) }

    /// Overwrites `src.count` bytes at `offset` (for back-patching).
    public mutating func replaceBytes(at offset: Int, with src: [UInt8]) {
        bytes.replaceSubrange(offset..<(offset + src.count), with: src)
    }

    /// Overwrites 4 bytes at `offset` (for back-patching).
    public mutating func patchU32(at offset: Int, _ v: UInt32) {
        let le = v.littleEndian
        withUnsafeBytes(of: le) { src in
            for i in 0..<4 { bytes[offset + i] = src[i] }
        }
    }
}

/// A bounds-checked reader over an immutable byte region (usually part of a memory-mapped file).
/// Every read checks bounds and throws `IndexError.corrupt` naming the file, so damaged data can
/// never crash the process.
public struct ByteReader {
    public let base: UnsafeRawPointer
    public let count: Int
    public var offset: Int
    public let file: String

    public init(_ buffer: UnsafeRawBufferPointer, file: String, offset: Int = 0) {
        self.base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 0x1)!
        self.count = buffer.count
        self.offset = offset
        self.file = file
    }

    public init(base: UnsafeRawPointer, count: Int, file: String, offset: Int = 0) {
        self.base = base
        self.count = count
        self.offset = offset
        self.file = file
    }

    public var remaining: Int { count - offset }
    public var atEnd: Bool { offset >= count }

    @inline(__always) func need(_ n: Int) throws {
        if n < 0 || offset > count - n {
            throw IndexError.corrupt(file: file, reason: "read of \(n) bytes at offset \(offset) past end (\(count))")
        }
    }

    @inline(__always) public mutating func u8() throws -> UInt8 {
        try need(1)
        let v = base.load(fromByteOffset: offset, as: UInt8.self)
        offset += 1
        return v
    }

    @inline(__always) public mutating func u16() throws -> UInt16 {
        try need(2)
        let v = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        offset += 2
        return v
    }

    @inline(__always) public mutating func u32() throws -> UInt32 {
        try need(4)
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        return v
    }

    @inline(__always) public mutating func u64() throws -> UInt64 {
        try need(8)
        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        offset += 8
        return v
    }

    /// A u64 offset that must be at most `limit` (damaged data must not trap in `Int(_:)`).
    public mutating func offset(max limit: Int) throws -> Int {
        let v = try u64()
        guard v <= UInt64(max(limit, 0)) else {
            throw IndexError.corrupt(file: file, reason: "offset \(v) beyond \(limit) at \(offset - 8)")
        }
        return Int(v)
    }

    public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    @inline(__always) public mutating func vint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < count else {
                throw IndexError.corrupt(file: file, reason: "truncated varint at offset \(offset)")
            }
            let b = base.load(fromByteOffset: offset, as: UInt8.self)
            offset += 1
            if shift == 63 && b > 1 {
                throw IndexError.corrupt(file: file, reason: "varint overflow at offset \(offset - 1)")
            }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
            if shift > 63 { throw IndexError.corrupt(file: file, reason: "varint too long at offset \(offset)") }
        }
    }

    /// A varint that must fit in `Int` and be at most `limit`.
    @inline(__always) public mutating func vint(max limit: Int) throws -> Int {
        let v = try vint()
        guard v <= UInt64(limit) else {
            throw IndexError.corrupt(file: file, reason: "value \(v) exceeds limit \(limit) at offset \(offset)")
        }
        return Int(v)
    }

    public mutating func svint() throws -> Int64 {
        let u = try vint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n)
        let p = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        return p
    }

    public mutating func blob() throws -> UnsafeRawBufferPointer {
        let n = try vint(max: remaining)
        return try bytes(n)
    }

    public mutating func string() throws -> String {
        let b = try blob()
        return String(decoding: b, as: UTF8.self)
    }

    public mutating func skip(_ n: Int) throws {
        try need(n)
        offset += n
    }
}
