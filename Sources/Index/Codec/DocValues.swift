/// Doc values: per-document columns for filters, facets, sorting and display, without touching
/// stored fields.
///
/// ```
/// payload: columns... | directory: (u32 field, u8 kind, u64 offset) x n | u64 directoryOffset | u32 n | u32 docCount
/// numeric column (kind 1):  u8 scale | i64 min | u64 step | u8 width | u8 hasMissing |
///                           [presence bitmap, ceil(docCount/8) bytes] | packed (value*10^scale - min)/step, docCount x width bits
/// ordinal column (kind 2):  dictionary | u8 width | packed ord+1 per document (0 = no value), docCount x width bits
/// multi-ordinal (kind 3):   dictionary | u8 offsetWidth | u8 ordWidth | u32 total | packed start offsets (docCount+1) | packed ords
/// dictionary:               u32 count | u32 blockCount | (u32 offset) x blockCount | blocks of 16 front-coded values
/// ```
/// Numbers are stored exactly as decimals: the smallest `scale` (0...6) for which every value times
/// 10^scale is an integer; then offset by the minimum and divided by the largest common step, so
/// prices in cents over a million products take ~22 bits each. Range filters compare the packed
/// integers directly.
public enum DocValuesFormat {
    public static let kind = "DVAL"
    public static let version: UInt32 = 1
    static let dictBlock = 16
}

public enum DocValuesKind: UInt8, Sendable {
    case numeric = 1
    case ordinal = 2
    case multiOrdinal = 3
}

// MARK: - Writing

/// Chooses the decimal scale and step of a numeric column and packs it.
struct NumericColumnBuilder {
    var values: [Double] = []
    var present: [Bool] = []
    var anyMissing = false

    mutating func add(_ v: Double?) {
        if let v, v.isFinite {
            values.append(v)
            present.append(true)
        } else {
            values.append(0)
            present.append(false)
            anyMissing = true
        }
    }

    static func scale(of values: [Double], present: [Bool]) -> Int {
        for s in 0...6 {
            let m = pow10(s)
            var ok = true
            for (i, v) in values.enumerated() where present[i] {
                let x = v * m
                if abs(x) > 9e15 || abs(x - x.rounded()) > 1e-9 * max(1, abs(x)) { ok = false; break }
            }
            if ok { return s }
        }
        return -1
    }

    func encode(into w: inout ByteWriter) {
        var scale = Self.scale(of: values, present: present)
        var ints: [Int64]
        if scale >= 0 {
            let m = pow10(scale)
            ints = values.enumerated().map { present[$0] ? Int64(($1 * m).rounded()) : 0 }
        } else {
            // Not decimal: order-preserving bit pattern of the double.
            scale = 255
            ints = values.enumerated().map { present[$0] ? sortableBits($1) : 0 }
        }
        var lo = Int64.max, hi = Int64.min
        for (i, x) in ints.enumerated() where present[i] {
            lo = min(lo, x)
            hi = max(hi, x)
        }
        if lo > hi { lo = 0; hi = 0 }
        var step: UInt64 = 0
        for (i, x) in ints.enumerated() where present[i] { step = gcd(step, UInt64(bitPattern: x &- lo)) }
        if step == 0 { step = 1 }
        let range = UInt64(bitPattern: hi &- lo) / step
        let width = range == 0 ? 0 : 64 - range.leadingZeroBitCount
        w.u8(UInt8(scale))
        w.u64(UInt64(bitPattern: lo))
        w.u64(step)
        w.u8(UInt8(width))
        w.u8(anyMissing ? 1 : 0)
        if anyMissing {
            var byte: UInt8 = 0
            for (i, p) in present.enumerated() {
                if p { byte |= 1 << UInt8(i & 7) }
                if i & 7 == 7 { w.u8(byte); byte = 0 }
            }
            if present.count & 7 != 0 { w.u8(byte) }
        }
        packWide(ints.enumerated().map { present[$0] ? UInt64(bitPattern: $1 &- lo) / step : 0 }, width: width, into: &w)
    }
}

@inline(__always) func pow10(_ s: Int) -> Double {
    var m = 1.0
    for _ in 0..<s { m *= 10 }
    return m
}

func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var x = a, y = b
    while y != 0 { (x, y) = (y, x % y) }
    return x
}

/// Order-preserving integer image of a double.
@inline(__always) func sortableBits(_ d: Double) -> Int64 {
    let b = Int64(bitPattern: d.bitPattern)
    return b < 0 ? b ^ Int64.max : b
}

@inline(__always) func fromSortableBits(_ x: Int64) -> Double {
    Double(bitPattern: UInt64(bitPattern: x < 0 ? x ^ Int64.max : x))
}

/// Packs values of up to 64 bits (little-endian bit stream) and pads 8 bytes.
func packWide(_ values: [UInt64], width: Int, into w: inout ByteWriter) {
    guard width > 0 else { return }
    var acc: UInt64 = 0
    var bits = 0
    for v in values {
        var value = width == 64 ? v : v & ((1 << UInt64(width)) - 1)
        var remaining = width
        while remaining > 0 {
            let take = min(remaining, 64 - bits)
            let chunk = take == 64 ? value : value & ((1 << UInt64(take)) - 1)
            acc |= chunk << UInt64(bits)
            bits += take
            remaining -= take
            value = take == 64 ? 0 : value >> UInt64(take)
            if bits == 64 {
                w.u64(acc)
                acc = 0
                bits = 0
            }
        }
    }
    if bits > 0 {
        for i in 0..<((bits + 7) / 8) { w.u8(UInt8(truncatingIfNeeded: acc >> UInt64(8 * i))) }
    }
}

/// Reads value `i` of a packed array of `width`-bit values (width <= 64).
@inline(__always) func unpackWide(_ base: UnsafeRawPointer, _ i: Int, width: Int) -> UInt64 {
    if width == 0 { return 0 }
    let bit = i &* width
    let byte = bit >> 3
    let shift = UInt64(bit & 7)
    let lo = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) >> shift
    if width + Int(shift) <= 64 {
        return width == 64 ? lo : lo & ((1 << UInt64(width)) - 1)
    }
    let hi = UInt64(base.load(fromByteOffset: byte + 8, as: UInt8.self))
    let v = lo | (hi << (64 - shift))
    return v & ((1 << UInt64(width)) - 1)
}

/// Sorted unique values with front coding.
func encodeDictionary(_ sorted: [[UInt8]], into w: inout ByteWriter) {
    w.u32(UInt32(sorted.count))
    let blocks = (sorted.count + DocValuesFormat.dictBlock - 1) / DocValuesFormat.dictBlock
    w.u32(UInt32(blocks))
    var body = ByteWriter(capacity: sorted.count * 8)
    var offsets: [UInt32] = []
    var prev: [UInt8] = []
    for (i, v) in sorted.enumerated() {
        if i % DocValuesFormat.dictBlock == 0 {
            offsets.append(UInt32(body.count))
            body.vint(v.count)
            body.append(v)
        } else {
            var shared = 0
            while shared < min(prev.count, v.count) && prev[shared] == v[shared] { shared += 1 }
            body.vint(shared)
            body.vint(v.count - shared)
            body.append(contentsOf: v[shared...])
        }
        prev = v
    }
    for o in offsets { w.u32(o) }
    w.u32(UInt32(body.count))
    w.append(body.bytes)
}

/// Builds the ordinal column of one keyword field.
struct OrdinalColumnBuilder {
    var ids: [[UInt8]: UInt32] = [:]
    var values: [[UInt8]] = []
    /// Per doc: start into `docOrds`.
    var starts: [UInt32] = [0]
    var docOrds: [UInt32] = []
    var multi = false

    mutating func add(_ vals: [[UInt8]]) {
        var seen = 0
        let start = docOrds.count
        for v in vals {
            let id: UInt32
            if let x = ids[v] { id = x } else {
                id = UInt32(values.count)
                ids[v] = id
                values.append(v)
            }
            if !docOrds[start...].contains(id) {
                docOrds.append(id)
                seen += 1
            }
        }
        if seen > 1 { multi = true }
        starts.append(UInt32(docOrds.count))
    }

    func encode(into w: inout ByteWriter) -> DocValuesKind {
        let order = values.indices.sorted { values[$0].lexicographicallyPrecedes(values[$1]) }
        var remap = [UInt32](repeating: 0, count: values.count)
        for (newOrd, old) in order.enumerated() { remap[old] = UInt32(newOrd) }
        encodeDictionary(order.map { values[$0] }, into: &w)
        let docs = starts.count - 1
        if !multi {
            let width = BitPacking.width(of: UInt32(values.count))
            w.u8(UInt8(width))
            var packed = [UInt64](repeating: 0, count: docs)
            for d in 0..<docs where starts[d + 1] > starts[d] { packed[d] = UInt64(remap[Int(docOrds[Int(starts[d])])]) + 1 }
            packWide(packed, width: width, into: &w)
            return .ordinal
        }
        let ow = BitPacking.width(of: UInt32(docOrds.count))
        let vw = BitPacking.width(of: UInt32(max(values.count - 1, 0)))
        w.u8(UInt8(ow))
        w.u8(UInt8(vw))
        w.u32(UInt32(docOrds.count))
        packWide(starts.map { UInt64($0) }, width: ow, into: &w)
        var ords: [UInt64] = []
        ords.reserveCapacity(docOrds.count)
        for d in 0..<docs {
            let s = Int(starts[d]), e = Int(starts[d + 1])
            ords += docOrds[s..<e].map { UInt64(remap[Int($0)]) }.sorted()
        }
        packWide(ords, width: vw, into: &w)
        return .multiOrdinal
    }
}

/// Writes a doc values file's payload from column builders.
enum DocValuesWriter {
    static func encode(numeric: [Int: NumericColumnBuilder], ordinals: [Int: OrdinalColumnBuilder], docCount: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 1 << 16)
        var dir: [(UInt32, UInt8, UInt64)] = []
        for (f, b) in numeric.sorted(by: { $0.key < $1.key }) {
            dir.append((UInt32(f), DocValuesKind.numeric.rawValue, UInt64(w.count)))
            b.encode(into: &w)
            for _ in 0..<8 { w.u8(0) }
        }
        for (f, b) in ordinals.sorted(by: { $0.key < $1.key }) {
            let at = UInt64(w.count)
            let kind = b.encode(into: &w)
            for _ in 0..<8 { w.u8(0) }
            dir.append((UInt32(f), kind.rawValue, at))
        }
        finish(&w, dir, docCount: docCount)
        return w.bytes
    }

    /// A doc values file of numeric columns written as they are (see `NumericColumn.encodeAsIs`).
    static func encode(columns: [Int: NumericColumn], docCount: Int) -> [UInt8] {
        var w = ByteWriter(capacity: columns.values.reduce(64) { $0 + 64 + ($1.docCount * ($1.width + 1) + 7) / 8 })
        var dir: [(UInt32, UInt8, UInt64)] = []
        for (f, c) in columns.sorted(by: { $0.key < $1.key }) {
            dir.append((UInt32(f), DocValuesKind.numeric.rawValue, UInt64(w.count)))
            c.encodeAsIs(into: &w)
            for _ in 0..<8 { w.u8(0) }
        }
        finish(&w, dir, docCount: docCount)
        return w.bytes
    }

    private static func finish(_ w: inout ByteWriter, _ dir: [(UInt32, UInt8, UInt64)], docCount: Int) {
        let dirOffset = UInt64(w.count)
        for (f, k, o) in dir {
            w.u32(f)
            w.u8(k)
            w.u64(o)
        }
        w.u64(dirOffset)
        w.u32(UInt32(dir.count))
        w.u32(UInt32(docCount))
    }
}

// MARK: - Reading

/// The sorted values of an ordinal column.
public struct DocValuesDictionary: @unchecked Sendable {
    let base: UnsafeRawPointer
    let file: String
    public let count: Int
    let blockCount: Int
    let offsets: UnsafeRawPointer
    let body: UnsafeRawPointer
    let bodyLength: Int
    /// Bytes the dictionary occupies.
    let size: Int

    init(_ r: inout ByteReader) throws {
        file = r.file
        let start = r.offset
        count = Int(try r.u32())
        blockCount = Int(try r.u32())
        guard blockCount == (count + DocValuesFormat.dictBlock - 1) / DocValuesFormat.dictBlock else {
            throw IndexError.corrupt(file: r.file, reason: "doc values dictionary block count")
        }
        offsets = r.base + r.offset
        try r.skip(blockCount * 4)
        bodyLength = Int(try r.u32())
        body = r.base + r.offset
        try r.skip(bodyLength)
        base = r.base
        size = r.offset - start
        for b in 0..<blockCount {
            guard Int(UInt32(littleEndian: offsets.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self))) < max(bodyLength, 1) else {
                throw IndexError.corrupt(file: file, reason: "doc values dictionary offset out of range")
            }
        }
    }

    /// Value of ordinal `ord`.
    public func value(_ ord: Int) throws -> [UInt8] {
        guard ord >= 0 && ord < count else { throw IndexError.corrupt(file: file, reason: "ordinal \(ord) out of range") }
        let b = ord / DocValuesFormat.dictBlock
        var r = ByteReader(base: body, count: bodyLength, file: file,
                           offset: Int(UInt32(littleEndian: offsets.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self))))
        var v = [UInt8]()
        let n = try r.vint(max: 1 << 16)
        v.append(contentsOf: try r.bytes(n))
        for _ in 0..<(ord % DocValuesFormat.dictBlock) {
            let shared = try r.vint(max: v.count)
            let len = try r.vint(max: 1 << 16)
            v.removeSubrange(shared...)
            v.append(contentsOf: try r.bytes(len))
        }
        return v
    }

    public func string(_ ord: Int) throws -> String { String(decoding: try value(ord), as: UTF8.self) }

    /// Ordinal of `value`, if present.
    public func ordinal(of value: [UInt8]) throws -> Int? {
        guard count > 0 else { return nil }
        var lo = 0, hi = blockCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if try self.value(mid * DocValuesFormat.dictBlock).lexicographicallyPrecedes(value) || (try self.value(mid * DocValuesFormat.dictBlock)) == value {
                lo = mid
            } else { hi = mid - 1 }
        }
        let start = lo * DocValuesFormat.dictBlock
        for o in start..<min(count, start + DocValuesFormat.dictBlock) where try self.value(o) == value { return o }
        return nil
    }

    /// Every value, in ordinal order.
    public func allValues() throws -> [[UInt8]] { try (0..<count).map { try value($0) } }
}

/// A numeric column. `raw(doc)` is the packed integer (comparable), `value(doc)` the number.
public struct NumericColumn: @unchecked Sendable {
    let data: UnsafeRawPointer
    let presence: UnsafeRawPointer?
    public let width: Int
    public let scale: Int        // 255: raw bits of doubles
    public let minimum: Int64
    public let step: UInt64
    public let docCount: Int
    /// Keeps the memory `data` and `presence` point into alive when it is not the segment's own
    /// mapped file (a column of in-place updates).
    let owner: AnyObject?

    init(data: UnsafeRawPointer, presence: UnsafeRawPointer?, width: Int, scale: Int, minimum: Int64, step: UInt64,
         docCount: Int, owner: AnyObject?) {
        self.data = data
        self.presence = presence
        self.width = width
        self.scale = scale
        self.minimum = minimum
        self.step = step
        self.docCount = docCount
        self.owner = owner
    }

    init(_ r: inout ByteReader, docCount: Int, owner: AnyObject? = nil) throws {
        self.docCount = docCount
        self.owner = owner
        scale = Int(try r.u8())
        minimum = Int64(bitPattern: try r.u64())
        step = try r.u64()
        width = Int(try r.u8())
        let hasMissing = try r.u8() == 1
        guard width <= 64, step > 0, scale <= 6 || scale == 255 else {
            throw IndexError.corrupt(file: r.file, reason: "bad numeric column header")
        }
        if hasMissing {
            presence = r.base + r.offset
            try r.skip((docCount + 7) / 8)
        } else {
            presence = nil
        }
        data = r.base + r.offset
        try r.skip((docCount * width + 7) / 8)
    }

    @inline(__always) public func has(_ doc: Int) -> Bool { unretained.has(doc) }

    /// The packed value (0 ... 2^width - 1), order-preserving; meaningless when !has(doc).
    @inline(__always) public func raw(_ doc: Int) -> UInt64 { unpackWide(data, doc, width: width) }

    @inline(__always) public func decode(_ raw: UInt64) -> Double { unretained.decode(raw) }

    public func value(_ doc: Int) -> Double? { has(doc) ? decode(raw(doc)) : nil }

    /// The column without its owner reference, for per-document loops: copying it retains
    /// nothing. Valid while the column (or the segment) it came from is alive.
    struct Unretained {
        let data: UnsafeRawPointer
        let presence: UnsafeRawPointer?
        let width: Int
        let scale: Int
        let minimum: Int64
        let step: UInt64

        @inline(__always) func has(_ doc: Int) -> Bool {
            guard let p = presence else { return true }
            return p.load(fromByteOffset: doc >> 3, as: UInt8.self) & (1 << UInt8(doc & 7)) != 0
        }
        @inline(__always) func raw(_ doc: Int) -> UInt64 { unpackWide(data, doc, width: width) }
        @inline(__always) func decode(_ raw: UInt64) -> Double {
            let x = minimum &+ Int64(bitPattern: raw &* step)
            if scale == 255 { return fromSortableBits(x) }
            return Double(x) / pow10(scale)
        }
        @inline(__always) func value(_ doc: Int) -> Double? { has(doc) ? decode(raw(doc)) : nil }
    }

    @inline(__always) var unretained: Unretained {
        Unretained(data: data, presence: presence, width: width, scale: scale, minimum: minimum, step: step)
    }

    /// Writes this column in the file format as it is (header, presence, packed bytes): a copy,
    /// not a re-encoding, so committing an in-place update of a million documents costs a memcpy.
    /// The header need not be the tightest one for the values (an update may have left the
    /// minimum below every value); it reads back to the same numbers.
    func encodeAsIs(into w: inout ByteWriter) {
        w.u8(UInt8(scale))
        w.u64(UInt64(bitPattern: minimum))
        w.u64(step)
        w.u8(UInt8(width))
        w.u8(presence == nil ? 0 : 1)
        if let p = presence { w.append(UnsafeRawBufferPointer(start: p, count: (docCount + 7) / 8)) }
        let dataBytes = (docCount * width + 7) / 8
        if dataBytes > 0 { w.append(UnsafeRawBufferPointer(start: data, count: dataBytes)) }
    }

    /// The packed range [lo, hi] covering values in [min, max] (inclusive); nil if empty.
    public func rawRange(min lo: Double?, max hi: Double?) -> ClosedRange<UInt64>? {
        let top: UInt64 = width == 64 ? UInt64.max : (width == 0 ? 0 : (1 << UInt64(width)) - 1)
        func encodeLow(_ v: Double) -> UInt64? {   // smallest raw with decode(raw) >= v
            let x: Int64
            if scale == 255 { x = sortableBits(v) } else {
                let scaled = (v * pow10(scale) - 1e-9).rounded(.up)
                if scaled > 9.2e18 { return nil }
                if scaled < -9.2e18 { return 0 }
                x = Int64(scaled)
            }
            if x <= minimum { return 0 }
            let d = UInt64(bitPattern: x &- minimum)
            let r = d / step + (d % step == 0 ? 0 : 1)
            return r > top ? nil : r
        }
        func encodeHigh(_ v: Double) -> UInt64? {  // largest raw with decode(raw) <= v
            let x: Int64
            if scale == 255 { x = sortableBits(v) } else {
                let scaled = (v * pow10(scale) + 1e-9).rounded(.down)
                if scaled < -9.2e18 { return nil }
                if scaled > 9.2e18 { return top }
                x = Int64(scaled)
            }
            if x < minimum { return nil }
            let r = UInt64(bitPattern: x &- minimum) / step
            return min(r, top)
        }
        var a: UInt64 = 0
        if let lo {
            guard let x = encodeLow(lo) else { return nil }
            a = x
        }
        var b: UInt64 = top
        if let hi {
            guard let x = encodeHigh(hi) else { return nil }
            b = x
        }
        guard a <= b else { return nil }
        return a...b
    }
}

/// A keyword column: per document zero, one or several ordinals into a sorted dictionary.
public struct OrdinalColumn: @unchecked Sendable {
    public let dictionary: DocValuesDictionary
    public let multi: Bool
    let data: UnsafeRawPointer
    /// Bits per value (single-valued: ord + 1, 0 = none).
    let width: Int
    let offsets: UnsafeRawPointer?
    let offsetWidth: Int
    let total: Int
    public let docCount: Int

    init(_ r: inout ByteReader, kind: DocValuesKind, docCount: Int) throws {
        self.docCount = docCount
        dictionary = try DocValuesDictionary(&r)
        if kind == .ordinal {
            multi = false
            width = Int(try r.u8())
            guard width <= 32 else { throw IndexError.corrupt(file: r.file, reason: "bad ordinal width") }
            offsets = nil
            offsetWidth = 0
            total = 0
            data = r.base + r.offset
            try r.skip((docCount * width + 7) / 8)
        } else {
            multi = true
            offsetWidth = Int(try r.u8())
            width = Int(try r.u8())
            total = Int(try r.u32())
            guard width <= 32, offsetWidth <= 32 else { throw IndexError.corrupt(file: r.file, reason: "bad ordinal width") }
            offsets = r.base + r.offset
            try r.skip(((docCount + 1) * offsetWidth + 7) / 8)
            data = r.base + r.offset
            try r.skip((total * width + 7) / 8)
        }
    }

    /// Single-valued columns: the ordinal of `doc`, or -1.
    @inline(__always) public func ord(_ doc: Int) -> Int {
        Int(unpackWide(data, doc, width: width)) - 1
    }

    /// Every ordinal of `doc` (ascending).
    @inline(__always) public func forEachOrd(_ doc: Int, _ body: (Int) -> Void) {
        if !multi {
            let o = ord(doc)
            if o >= 0 { body(o) }
            return
        }
        let s = Int(unpackWide(offsets!, doc, width: offsetWidth))
        let e = Int(unpackWide(offsets!, doc + 1, width: offsetWidth))
        guard s <= e, e <= total else { return }
        for i in s..<e {
            let o = Int(unpackWide(data, i, width: width))
            if o < dictionary.count { body(o) }
        }
    }
}

/// All doc value columns of a segment.
public struct DocValuesReader: @unchecked Sendable {
    let file: IndexFile
    public let numeric: [Int: NumericColumn]
    public let ordinals: [Int: OrdinalColumn]

    init(file: IndexFile, numeric: [Int: NumericColumn], ordinals: [Int: OrdinalColumn]) {
        self.file = file
        self.numeric = numeric
        self.ordinals = ordinals
    }

    init(file: IndexFile, docCount: Int) throws {
        self.file = file
        let p = file.payload
        guard p.count >= 16 else { throw IndexError.corrupt(file: file.name, reason: "doc values file too short") }
        var t = file.reader(at: p.count - 16)
        let dirOffset = try t.offset(max: p.count - 16)
        let n = Int(try t.u32())
        let dc = Int(try t.u32())
        guard dc == docCount, n <= (p.count - 16 - dirOffset) / 13, dirOffset + n * 13 == p.count - 16 else {
            throw IndexError.corrupt(file: file.name, reason: "bad doc values directory")
        }
        var numeric: [Int: NumericColumn] = [:]
        var ordinals: [Int: OrdinalColumn] = [:]
        var d = file.reader(at: dirOffset)
        for _ in 0..<n {
            let field = Int(try d.u32())
            let kindRaw = try d.u8()
            let offset = try d.offset(max: dirOffset)
            guard let kind = DocValuesKind(rawValue: kindRaw), offset < dirOffset else {
                throw IndexError.corrupt(file: file.name, reason: "bad doc values column entry")
            }
            var r = file.reader(at: offset)
            switch kind {
            case .numeric: numeric[field] = try NumericColumn(&r, docCount: docCount, owner: file.mapped)
            case .ordinal, .multiOrdinal: ordinals[field] = try OrdinalColumn(&r, kind: kind, docCount: docCount)
            }
            guard r.offset <= dirOffset else { throw IndexError.corrupt(file: file.name, reason: "doc values column overruns") }
        }
        self.numeric = numeric
        self.ordinals = ordinals
    }
}
