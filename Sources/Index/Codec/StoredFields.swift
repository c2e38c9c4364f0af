import CZstd

/// Stored fields: each document's stored values as a record, records grouped into blocks of about
/// 8 KiB compressed with zstd. Reading one document decompresses its whole block, so the block
/// size is what a result page pays per hit: 8 KiB blocks read a product about 1.5× as fast as
/// 32 KiB ones, for a store about 20% larger (1M synth products: 24 MB against 20 MB, in an index
/// of 152 MB). Readers take any block size.
///
/// ```
/// payload: blocks... | index: (u32 firstDoc, u64 offset) x nBlocks | u64 indexOffset | u32 nBlocks | u32 docCount
/// block:   u32 rawLength | u32 compressedLength | zstd frame
/// record:  vint valueCount | (vint fieldOrdinal, value) x valueCount
/// value:   u8 tag (0 string, 1 double, 2 int, 3 bool false, 4 bool true, 5 list) + data
/// ```
public enum StoredFieldsFormat {
    public static let kind = "STOR"
    public static let version: UInt32 = 1
    static let blockTarget = 8 * 1024
    static let zstdLevel: Int32 = 6

    static func encode(_ v: StoredValue, into w: inout ByteWriter) {
        switch v {
        case .string(let s): w.u8(0); w.string(s)
        case .double(let d): w.u8(1); w.f64(d)
        case .int(let i): w.u8(2); w.svint(i)
        case .bool(let b): w.u8(b ? 4 : 3)
        case .list(let l):
            w.u8(5)
            w.vint(l.count)
            for x in l { encode(x, into: &w) }
        }
    }

    static func decode(_ r: inout ByteReader, depth: Int = 0) throws -> StoredValue {
        let tag = try r.u8()
        switch tag {
        case 0: return .string(try r.string())
        case 1: return .double(try r.f64())
        case 2: return .int(try r.svint())
        case 3: return .bool(false)
        case 4: return .bool(true)
        case 5:
            guard depth < 4 else { throw IndexError.corrupt(file: r.file, reason: "stored list nested too deep") }
            let n = try r.vint(max: r.remaining)
            var out: [StoredValue] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try decode(&r, depth: depth + 1)) }
            return .list(out)
        default: throw IndexError.corrupt(file: r.file, reason: "unknown stored value tag \(tag)")
        }
    }

    /// Moves past one value without building it (the same checks as `decode`).
    static func skip(_ r: inout ByteReader, depth: Int = 0) throws {
        let tag = try r.u8()
        switch tag {
        case 0: _ = try r.blob()
        case 1: try r.skip(8)
        case 2: _ = try r.vint()
        case 3, 4: break
        case 5:
            guard depth < 4 else { throw IndexError.corrupt(file: r.file, reason: "stored list nested too deep") }
            let n = try r.vint(max: r.remaining)
            for _ in 0..<n { try skip(&r, depth: depth + 1) }
        default: throw IndexError.corrupt(file: r.file, reason: "unknown stored value tag \(tag)")
        }
    }
}

struct StoredFieldsWriter {
    private var block = ByteWriter(capacity: StoredFieldsFormat.blockTarget + 4096)
    private var blockFirstDoc: UInt32 = 0
    private var index: [(UInt32, UInt64)] = []
    private(set) var out = ByteWriter(capacity: 1 << 20)
    private var docCount: UInt32 = 0

    mutating func add(_ values: [(field: UInt16, value: StoredValue)]) {
        if block.count == 0 { blockFirstDoc = docCount }
        block.vint(values.count)
        for (f, v) in values {
            block.vint(UInt64(f))
            StoredFieldsFormat.encode(v, into: &block)
        }
        docCount += 1
        if block.count >= StoredFieldsFormat.blockTarget { flushBlock() }
    }

    private mutating func flushBlock() {
        guard block.count > 0 else { return }
        index.append((blockFirstDoc, UInt64(out.count)))
        let raw = block.bytes
        let bound = ZSTD_compressBound(raw.count)
        var comp = [UInt8](repeating: 0, count: bound)
        let n = raw.withUnsafeBytes { src in
            comp.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, raw.count, StoredFieldsFormat.zstdLevel)
            }
        }
        precondition(ZSTD_isError(n) == 0, "zstd compression failed")
        out.u32(UInt32(raw.count))
        out.u32(UInt32(n))
        out.append(Array(comp[0..<n]))
        block.removeAll()
    }

    /// The file's bytes. Repeatable (a flush that failed on I/O is retried): the trailer goes on a copy.
    mutating func finish() -> [UInt8] {
        flushBlock()
        var file = out
        let io = UInt64(file.count)
        for (d, o) in index { file.u32(d); file.u64(o) }
        file.u64(io)
        file.u32(UInt32(index.count))
        file.u32(docCount)
        return file.bytes
    }
}

/// Reads stored fields. Safe to share between threads (no caches).
public struct StoredFieldsReader: @unchecked Sendable {
    let file: IndexFile
    let index: UnsafeRawBufferPointer
    let blockCount: Int
    public let docCount: Int
    /// Names this file in `StoredBlockCache` (unique in the process; the file never changes).
    let cacheToken: UInt64

    init(file: IndexFile) throws {
        self.file = file
        let p = file.payload
        guard p.count >= 16 else { throw IndexError.corrupt(file: file.name, reason: "stored fields file too short") }
        var t = file.reader(at: p.count - 16)
        let io = try t.offset(max: p.count - 16)
        let nb = try t.u32()
        docCount = Int(try t.u32())
        guard UInt64(io) + UInt64(nb) * 12 == UInt64(p.count - 16) else {
            throw IndexError.corrupt(file: file.name, reason: "bad stored fields index")
        }
        blockCount = Int(nb)
        index = UnsafeRawBufferPointer(rebasing: p[io..<(p.count - 16)])
        cacheToken = SegmentViewVersions.next()
    }

    func decompress(_ comp: UnsafeRawBufferPointer, rawLength rawLen: Int, at off: Int) throws -> [UInt8] {
        guard rawLen < 1 << 28 else { throw IndexError.corrupt(file: file.name, reason: "stored block too large") }
        var raw = [UInt8](repeating: 0, count: rawLen + 8)
        let n = raw.withUnsafeMutableBytes { dst in
            ZSTD_decompress(dst.baseAddress, rawLen, comp.baseAddress, comp.count)
        }
        guard ZSTD_isError(n) == 0, n == rawLen else {
            throw IndexError.corrupt(file: file.name, reason: "stored block at \(off) does not decompress")
        }
        return raw
    }

    /// Block `b`: its first document and its decompressed bytes (recently read blocks come from
    /// `StoredBlockCache`).
    private func block(_ b: Int, cached: Bool = true) throws -> (firstDoc: Int, raw: [UInt8], rawLength: Int) {
        var ir = ByteReader(index, file: file.name)
        ir.offset = b * 12
        let firstDoc = Int(try ir.u32())
        let cache = cached ? StoredBlockCache.shared : nil
        if let hit = cache?.get(file: cacheToken, block: b) { return (firstDoc, hit, hit.count - 8) }
        let off = try ir.offset(max: index.baseAddress.map { UnsafeRawPointer($0) - file.payload.baseAddress! } ?? 0)
        var r = file.reader(at: off)
        let rawLen = Int(try r.u32())
        let compLen = Int(try r.u32())
        let raw = try decompress(try r.bytes(compLen), rawLength: rawLen, at: off)
        cache?.put(file: cacheToken, block: b, raw)
        return (firstDoc, raw, rawLen)
    }

    /// Every document's value of `field` in doc order (nil where it has none), each block
    /// decompressed once: for reading a field of a whole segment.
    public func forEach(field: Int, _ body: (Int, StoredValue?) throws -> Void) throws {
        var ir = ByteReader(index, file: file.name)
        for b in 0..<blockCount {
            var end = docCount
            if b + 1 < blockCount {
                ir.offset = (b + 1) * 12
                end = Int(try ir.u32())
            }
            let (firstDoc, raw, rawLen) = try block(b, cached: false)
            try raw.withUnsafeBytes { buf in
                var br = ByteReader(base: buf.baseAddress!, count: rawLen, file: file.name)
                for d in firstDoc..<max(firstDoc, end) {
                    let nv = try br.vint(max: 1 << 16)
                    var found: StoredValue?
                    for _ in 0..<nv {
                        let f = try br.vint(max: (1 << 16) - 1)
                        let v = try StoredFieldsFormat.decode(&br)
                        if f == field { found = v }
                    }
                    try body(d, found)
                }
            }
        }
    }

    /// The stored values of `doc` (field ordinal, value); `only`: just these fields (the others
    /// are skipped without being built).
    public func document(_ doc: Int, only: Set<Int>? = nil) throws -> [(field: Int, value: StoredValue)] {
        guard doc >= 0 && doc < docCount else {
            throw IndexError.invalidQuery("document \(doc) out of range 0..<\(docCount)")
        }
        // Binary search the block.
        var lo = 0, hi = blockCount - 1
        var ir = ByteReader(index, file: file.name)
        func first(_ b: Int) throws -> UInt32 { ir.offset = b * 12; return try ir.u32() }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if Int(try first(mid)) <= doc { lo = mid } else { hi = mid - 1 }
        }
        let (firstDoc, raw, rawLen) = try block(lo)
        return try raw.withUnsafeBytes { buf in
            var br = ByteReader(base: buf.baseAddress!, count: rawLen, file: file.name)
            var d = firstDoc
            while true {
                let nv = try br.vint(max: 1 << 16)
                if d == doc {
                    var out: [(field: Int, value: StoredValue)] = []
                    for _ in 0..<nv {
                        let f = try br.vint(max: (1 << 16) - 1)
                        if let only, !only.contains(f) {
                            try StoredFieldsFormat.skip(&br)
                        } else {
                            out.append((f, try StoredFieldsFormat.decode(&br)))
                        }
                    }
                    return out
                }
                for _ in 0..<nv {
                    _ = try br.vint()
                    try StoredFieldsFormat.skip(&br)
                }
                d += 1
                if br.atEnd { throw IndexError.corrupt(file: file.name, reason: "document \(doc) missing from its block") }
            }
        }
    }
}

/// The id column: document ids front-coded in groups of 16, for fast doc -> id.
///
/// ```
/// payload: groups... | u64 offset x nGroups | u64 indexOffset | u32 docCount
/// group:   vint len | bytes (first id), then (vint shared, vint suffixLen, suffix) x up to 15
/// ```
public enum IdColumnFormat {
    public static let kind = "IDS "
    public static let version: UInt32 = 1
    static let group = 16
}

struct IdColumnWriter {
    private(set) var out = ByteWriter(capacity: 1 << 20)
    private var offsets: [UInt64] = []
    private var prev: [UInt8] = []
    private var count = 0

    mutating func add(_ id: String) {
        var s = id
        s.withUTF8 { p in
            if count % IdColumnFormat.group == 0 {
                offsets.append(UInt64(out.count))
                out.vint(p.count)
                out.append(contentsOf: p)
            } else {
                var shared = 0
                let n = min(prev.count, p.count)
                while shared < n && prev[shared] == p[shared] { shared += 1 }
                out.vint(shared)
                out.vint(p.count - shared)
                out.append(contentsOf: p[shared...])
            }
            prev.removeAll(keepingCapacity: true)
            prev.append(contentsOf: p)
        }
        count += 1
    }

    /// The file's bytes. Repeatable: the trailer goes on a copy.
    mutating func finish() -> [UInt8] {
        var file = out
        let io = UInt64(file.count)
        for o in offsets { file.u64(o) }
        file.u64(io)
        file.u32(UInt32(count))
        return file.bytes
    }
}

public struct IdColumnReader: @unchecked Sendable {
    let file: IndexFile
    let indexOffset: Int
    public let docCount: Int
    /// The first and last ids in the column (for a sorted column: its range; a look-up outside
    /// it answers at once, which is every look-up of a new id when ids arrive in increasing order).
    private(set) var firstId: [UInt8] = []
    private(set) var lastId: [UInt8] = []

    init(file: IndexFile) throws {
        self.file = file
        let p = file.payload
        guard p.count >= 12 else { throw IndexError.corrupt(file: file.name, reason: "id column too short") }
        var t = file.reader(at: p.count - 12)
        let io = try t.offset(max: p.count - 12)
        docCount = Int(try t.u32())
        let groups = (docCount + IdColumnFormat.group - 1) / IdColumnFormat.group
        guard UInt64(io) + UInt64(groups) * 8 == UInt64(p.count - 12) else {
            throw IndexError.corrupt(file: file.name, reason: "bad id column index")
        }
        indexOffset = io
        if docCount > 0 {
            var first: [UInt8] = [], last: [UInt8] = []
            try forEachInGroup(0) { _, b in first = b; return false }
            try forEachInGroup((docCount - 1) / IdColumnFormat.group) { _, b in last = b; return true }
            firstId = first
            lastId = last
        }
    }

    /// Calls `body` with each id of group `g` in order (decoded once, front coding followed)
    /// until it returns false.
    func forEachInGroup(_ g: Int, _ body: (Int, [UInt8]) throws -> Bool) throws {
        var ir = file.reader(at: indexOffset + g * 8)
        let off = try ir.u64()
        guard off < UInt64(indexOffset) else { throw IndexError.corrupt(file: file.name, reason: "id group offset out of range") }
        var r = file.reader(at: Int(off))
        var buf = [UInt8]()
        let n = try r.vint(max: 1 << 16)
        buf.append(contentsOf: try r.bytes(n))
        let start = g * IdColumnFormat.group
        let end = min(docCount, start + IdColumnFormat.group)
        if try !body(start, buf) { return }
        for d in (start + 1)..<max(start + 1, end) {
            let shared = try r.vint(max: buf.count)
            let sl = try r.vint(max: 1 << 16)
            buf.removeSubrange(shared...)
            buf.append(contentsOf: try r.bytes(sl))
            if try !body(d, buf) { return }
        }
    }

    /// Binary search for `id` in a column whose ids are in increasing byte order.
    public func find(_ id: String) throws -> Int? {
        let target = Array(id.utf8)
        let groups = (docCount + IdColumnFormat.group - 1) / IdColumnFormat.group
        guard groups > 0 else { return nil }
        if compareBytes2(target, firstId) < 0 || compareBytes2(target, lastId) > 0 { return nil }
        func first(_ g: Int) throws -> [UInt8] {
            var b: [UInt8] = []
            try forEachInGroup(g) { _, x in b = x; return false }
            return b
        }
        var lo = 0, hi = groups - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if compareBytes2(try first(mid), target) <= 0 { lo = mid } else { hi = mid - 1 }
        }
        // Byte comparison: String == would treat canonically equivalent ids ("é" and "e\u{301}") as one.
        var found: Int?
        try forEachInGroup(lo) { d, b in
            if b == target { found = d; return false }
            return true
        }
        return found
    }

    public func id(_ doc: Int) throws -> String {
        guard doc >= 0 && doc < docCount else { throw IndexError.invalidQuery("document \(doc) out of range") }
        let g = doc / IdColumnFormat.group
        var ir = file.reader(at: indexOffset + g * 8)
        let off = try ir.u64()
        guard off < UInt64(indexOffset) else { throw IndexError.corrupt(file: file.name, reason: "id group offset out of range") }
        var r = file.reader(at: Int(off))
        var buf = [UInt8]()
        let n = try r.vint(max: 1 << 16)
        buf.append(contentsOf: try r.bytes(n))
        for _ in 0..<(doc % IdColumnFormat.group) {
            let shared = try r.vint(max: buf.count)
            let sl = try r.vint(max: 1 << 16)
            buf.removeSubrange(shared...)
            buf.append(contentsOf: try r.bytes(sl))
        }
        return String(decoding: buf, as: UTF8.self)
    }
}
