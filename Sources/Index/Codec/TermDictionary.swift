/// The term dictionary of a segment: every (slot, term) key in byte order with its `TermInfo`.
///
/// ```
/// payload: u32 textSlotCount | u64 termCount | blocks... | block index (u64 offset x nBlocks) |
///          u64 indexOffset | u32 nBlocks
/// block:   up to 32 entries: vint prefixLen | vint suffixLen | suffix | info
/// info:    vint docCount
///          docCount == 1 ("inline"): text slots: vint fieldMask | (vint tf, u8 norm) per field | vint posOffset;
///                      then vint doc
///          otherwise:  text slots: vint fieldMask | (vint df, u8 maxTf, u8 minNorm) per field | vint posCount |
///                      vint posOffset; then vint docsOffset
///          posOffset and docsOffset are absolute for their first occurrence in a block, else deltas.
/// ```
/// A key is the slot as a big-endian u16 followed by the term's bytes, so one slot's terms are
/// contiguous and sorted.
public enum TermDictionaryFormat {
    public static let blockEntries = 32
    public static let kind = "TERM"
    public static let version: UInt32 = 1
}

struct TermDictionaryWriter {
    let textSlotCount: Int
    private(set) var out = ByteWriter(capacity: 1 << 20)
    private var blockOffsets: [UInt64] = []
    private var inBlock = 0
    private var prevKey: [UInt8] = []
    private var prevDocs: UInt64 = 0
    private var prevPos: UInt64 = 0
    private var docsBaseSet = false
    private(set) var termCount: UInt64 = 0

    init(textSlotCount: Int) {
        self.textSlotCount = textSlotCount
        out.u32(UInt32(textSlotCount))
        out.u64(0)  // term count, patched in finish()
    }

    mutating func add(key: UnsafeBufferPointer<UInt8>, info: TermInfo) {
        let first = inBlock == 0
        if first {
            blockOffsets.append(UInt64(out.count))
            docsBaseSet = false
        }
        var prefix = 0
        if !first {
            let n = min(prevKey.count, key.count)
            while prefix < n && prevKey[prefix] == key[prefix] { prefix += 1 }
        }
        out.vint(prefix)
        out.vint(key.count - prefix)
        out.append(contentsOf: key[prefix...])
        out.vint(UInt64(info.docCount))
        let slot = Int(key[0]) << 8 | Int(key[1])
        if info.isInline {
            if slot < textSlotCount {
                out.vint(UInt64(info.fieldMask))
                for j in 0..<info.fieldCount {
                    out.vint(UInt64(info.inlineTfs[j]))
                    out.u8(info.fieldMinNorm[j])
                }
                out.vint(first ? info.posOffset : info.posOffset - prevPos)
                prevPos = info.posOffset
            }
            out.vint(UInt64(info.inlineDoc))
        } else {
            if slot < textSlotCount {
                out.vint(UInt64(info.fieldMask))
                for j in 0..<info.fieldCount {
                    out.vint(UInt64(info.fieldDocFreq[j]))
                    out.u8(info.fieldMaxTf[j])
                    out.u8(info.fieldMinNorm[j])
                }
                out.vint(info.posCount)
                out.vint(first ? info.posOffset : info.posOffset - prevPos)
                prevPos = info.posOffset
            }
            out.vint(docsBaseSet ? info.docsOffset - prevDocs : info.docsOffset)
            prevDocs = info.docsOffset
            docsBaseSet = true
        }
        prevKey.removeAll(keepingCapacity: true)
        prevKey.append(contentsOf: key)
        inBlock += 1
        if inBlock == TermDictionaryFormat.blockEntries { inBlock = 0 }
        termCount += 1
    }

    /// Finishes the payload (index and trailer).
    mutating func finish() -> [UInt8] {
        let indexOffset = UInt64(out.count)
        for o in blockOffsets { out.u64(o) }
        out.u64(indexOffset)
        out.u32(UInt32(blockOffsets.count))
        var patch = ByteWriter(capacity: 8)
        patch.u64(termCount)
        out.replaceBytes(at: 4, with: patch.bytes)
        return out.bytes
    }
}

/// Reads a term dictionary from a mapped file. Immutable; safe to share between threads.
public struct TermDictionary: @unchecked Sendable {
    let file: IndexFile
    let payload: UnsafeRawBufferPointer
    public let textSlotCount: Int
    public let termCount: UInt64
    let blockCount: Int
    let indexOffset: Int
    /// The whole first key of every `sampleStride`-th block, in memory (`SampledKeys`): a look-up
    /// binary-searches these, then only the blocks between two samples in the mapped file.
    private(set) var samples = SampledKeys()
    /// Blocks per in-memory sample: one key in memory per 256 terms (about 0.5 MB for a segment of
    /// 500,000 products with word pairs, 4 million terms), and 3 steps left in the file.
    static let sampleStride = 8

    init(file: IndexFile) throws {
        self.file = file
        payload = file.payload
        var r = file.reader()
        textSlotCount = Int(try r.u32())
        termCount = try r.u64()
        guard payload.count >= 24 else { throw IndexError.corrupt(file: file.name, reason: "term dictionary too short") }
        var t = file.reader(at: payload.count - 12)
        let io = try t.u64()
        let nb = try t.u32()
        guard io <= UInt64(payload.count - 12), io + UInt64(nb) * 8 == UInt64(payload.count - 12) else {
            throw IndexError.corrupt(file: file.name, reason: "bad block index (offset \(io), \(nb) blocks)")
        }
        indexOffset = Int(io)
        blockCount = Int(nb)
        if termCount > 0 && blockCount == 0 {
            throw IndexError.corrupt(file: file.name, reason: "terms without blocks")
        }
        var sampled = SampledKeys()
        for b in stride(from: 0, to: blockCount, by: Self.sampleStride) { sampled.append(try firstKey(b)) }
        samples = sampled
    }

    @inline(__always) func blockOffset(_ b: Int) throws -> Int {
        var r = ByteReader(payload, file: file.name, offset: indexOffset + b * 8)
        let o = try r.u64()
        guard o >= 12 && o < UInt64(indexOffset) else {
            throw IndexError.corrupt(file: file.name, reason: "block \(b) offset \(o) out of range")
        }
        return Int(o)
    }

    /// First key of block `b`.
    func firstKey(_ b: Int) throws -> UnsafeRawBufferPointer {
        var r = ByteReader(payload, file: file.name, offset: try blockOffset(b))
        let prefix = try r.vint()
        guard prefix == 0 else { throw IndexError.corrupt(file: file.name, reason: "block \(b) starts with a shared prefix") }
        let n = try r.vint(max: 1 << 16)
        return try r.bytes(n)
    }

    /// Index of the last block whose first key is <= key (0 if none).
    func findBlock(_ key: UnsafeRawBufferPointer) throws -> Int {
        // The last sample whose key is <= key (0 if none) bounds the answer to its stride of blocks:
        // the next sample's block starts above the key.
        let s = samples.lastAtMost(key)
        var lo = s * Self.sampleStride, hi = min(lo + Self.sampleStride, blockCount) - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if compareBytes(try firstKey(mid), key) <= 0 { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Looks a key up.
    public func lookup(_ key: [UInt8]) throws -> TermInfo? {
        guard blockCount > 0 else { return nil }
        return try key.withUnsafeBytes { k -> TermInfo? in
            var it = try TermIterator(dict: self, block: try findBlock(k))
            // Keys first; an entry's statistics are decoded only for the key sought (the others'
            // are stepped over, keeping the block's running offsets).
            while try it.advanceKey() {
                let c = it.withKey { compareBytes($0, k) }
                if c == 0 { try it.readInfo(); return it.info }
                if c > 0 { return nil }
                try it.skipInfo()
            }
            return nil
        }
    }

    /// Iterator positioned before the first key >= `key`.
    public func seek(_ key: [UInt8]) throws -> TermIterator {
        guard blockCount > 0 else { return try TermIterator(dict: self, block: 0) }
        return try key.withUnsafeBytes { k in
            var it = try TermIterator(dict: self, block: try findBlock(k))
            it.pendingSeek = key
            return it
        }
    }

    /// Iterator over every key.
    public func makeIterator() throws -> TermIterator { try TermIterator(dict: self, block: 0) }
}

/// Walks the dictionary in key order.
public struct TermIterator {
    let dict: TermDictionary
    var reader: ByteReader
    var block: Int
    var inBlock = 0
    public private(set) var key: [UInt8] = []
    public private(set) var info = TermInfo()
    var prevDocs: UInt64 = 0
    var prevPos: UInt64 = 0
    var docsBaseSet = false
    var pendingSeek: [UInt8]?
    var pendingFirst = false

    init(dict: TermDictionary, block: Int) throws {
        self.dict = dict
        self.block = block
        if dict.blockCount > 0 {
            reader = ByteReader(dict.payload, file: dict.file.name, offset: try dict.blockOffset(block))
        } else {
            reader = ByteReader(dict.payload, file: dict.file.name, offset: dict.indexOffset)
        }
    }

    func withKey<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R { key.withUnsafeBytes(body) }

    /// The slot of the current key.
    public var slot: Int { Int(key[0]) << 8 | Int(key[1]) }

    /// Advances to the next key (or, after `seek`, to the first key >= the sought one). False at the end.
    public mutating func next() throws -> Bool {
        if let target = pendingSeek {
            pendingSeek = nil
            while try advance() {
                if compareBytes2(key, target) >= 0 { return true }
            }
            return false
        }
        return try advance()
    }

    private mutating func advance() throws -> Bool {
        guard try advanceKey() else { return false }
        try readInfo()
        return true
    }

    /// Reads the next entry's key (then `readInfo` or `skipInfo` must follow). False at the end.
    mutating func advanceKey() throws -> Bool {
        if inBlock == TermDictionaryFormat.blockEntries || reader.offset >= dict.indexOffset {
            block += 1
            guard block < dict.blockCount else { return false }
            reader.offset = try dict.blockOffset(block)
            inBlock = 0
        }
        if reader.offset >= dict.indexOffset { return false }
        let first = inBlock == 0
        if first { docsBaseSet = false }
        let prefix = try reader.vint(max: first ? 0 : key.count)
        let suffixLen = try reader.vint(max: 1 << 16)
        let suffix = try reader.bytes(suffixLen)
        key.removeSubrange(prefix...)
        key.append(contentsOf: suffix)
        guard key.count >= 2 else { throw IndexError.corrupt(file: dict.file.name, reason: "term key shorter than its slot") }
        return true
    }

    /// Steps over the current entry's statistics, keeping the block's running offsets.
    mutating func skipInfo() throws {
        let name = dict.file.name
        let first = inBlock == 0
        let docCount = try reader.vint(max: Int(UInt32.max))
        guard docCount > 0 else { throw IndexError.corrupt(file: name, reason: "term with no documents") }
        if slot < dict.textSlotCount {
            let k = UInt32(try reader.vint(max: Int(UInt32.max))).nonzeroBitCount
            for _ in 0..<k {
                _ = try reader.vint()
                _ = try reader.u8()
                if docCount > 1 { _ = try reader.u8() }
            }
            if docCount > 1 { _ = try reader.vint() }
            let po = try reader.vint()
            prevPos = first ? po : prevPos &+ po
        }
        let d = try reader.vint()
        if docCount > 1 {
            prevDocs = docsBaseSet ? prevDocs &+ d : d
            docsBaseSet = true
        }
        inBlock += 1
    }

    /// Decodes the current entry's statistics into `info`.
    mutating func readInfo() throws {
        let name = dict.file.name
        let first = inBlock == 0
        info.docCount = UInt32(try reader.vint(max: Int(UInt32.max)))
        guard info.docCount > 0 else { throw IndexError.corrupt(file: name, reason: "term with no documents") }
        let text = slot < dict.textSlotCount
        info.fieldDocFreq.removeAll(keepingCapacity: true)
        info.fieldMaxTf.removeAll(keepingCapacity: true)
        info.fieldMinNorm.removeAll(keepingCapacity: true)
        info.inlineTfs.removeAll(keepingCapacity: true)
        info.fieldMask = 0
        info.posCount = 0
        info.posOffset = 0
        if text {
            let mask = UInt32(try reader.vint(max: Int(UInt32.max)))
            info.fieldMask = mask
            let k = mask.nonzeroBitCount
            if info.docCount == 1 {
                var total: UInt64 = 0
                for _ in 0..<k {
                    let tf = UInt32(try reader.vint(max: Int(UInt32.max)))
                    info.inlineTfs.append(tf)
                    info.fieldDocFreq.append(tf > 0 ? 1 : 0)
                    info.fieldMaxTf.append(UInt8(min(tf, 255)))
                    info.fieldMinNorm.append(try reader.u8())
                    total += UInt64(tf)
                }
                info.posCount = total
            } else {
                for _ in 0..<k {
                    info.fieldDocFreq.append(UInt32(try reader.vint(max: Int(UInt32.max))))
                    info.fieldMaxTf.append(try reader.u8())
                    info.fieldMinNorm.append(try reader.u8())
                }
                info.posCount = try reader.vint()
            }
            let po = try reader.vint()
            info.posOffset = first ? po : prevPos &+ po
            prevPos = info.posOffset
        }
        if info.docCount == 1 {
            info.inlineDoc = UInt32(try reader.vint(max: Int(UInt32.max)))
            info.docsOffset = 0
        } else {
            let d = try reader.vint()
            info.docsOffset = docsBaseSet ? prevDocs &+ d : d
            prevDocs = info.docsOffset
            docsBaseSet = true
        }
        inBlock += 1
    }
}

@inline(__always) func compareBytes2(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in compareBytes(x, y) } }
}

/// Keys in ascending order, concatenated in one buffer (a dictionary's sampled block keys).
struct SampledKeys: Sendable {
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]
    var count: Int { starts.count - 1 }

    mutating func append(_ key: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: key)
        starts.append(bytes.count)
    }

    /// Index of the last key <= `key`; 0 when none is (or there are no keys).
    func lastAtMost(_ key: UnsafeRawBufferPointer) -> Int {
        guard count > 1 else { return 0 }
        return bytes.withUnsafeBytes { b in
            starts.withUnsafeBufferPointer { st in
                var lo = 0, hi = count - 1
                while lo < hi {
                    let mid = (lo + hi + 1) >> 1
                    let k = UnsafeRawBufferPointer(rebasing: b[st[mid]..<st[mid + 1]])
                    if compareBytes(k, key) <= 0 { lo = mid } else { hi = mid - 1 }
                }
                return lo
            }
        }
    }
}
