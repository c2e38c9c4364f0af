/// The postings format (version 3; versions 1 and 2 are still read).
///
/// A term's postings are split into blocks of 128 documents (the last one shorter). In the docs file:
///
/// ```
/// [skip table, only when there are 2+ blocks]
///   lastDoc     u32 x nBlocks        last doc id of each block
///   blockStart  u32 x nBlocks        byte offset of each block from the end of the skip table
///   -- text slots only:
///   posOffset   u32 x nBlocks        byte offset (from the term's positions start) of the positions
///                                    block holding the block's first position
///   posFirst    u32 x nBlocks        ordinal (within the term) of the block's first position
///   bounds      (u8 tf, u8 norm) x k x V x nBlocks     per block, V impact vectors of k fields each,
///                                    for block-max pruning (V = 4 from version 2, 1 in version 1)
/// [position index, version 3, text slots with 2+ blocks]
///   u32 x ceil(posCount / 128)       byte offset (from the term's positions start) of each positions
///                                    block, so a reader goes straight to the block holding a
///                                    document's positions (versions 1 and 2 walk the blocks from
///                                    the doc block's first one, a cache miss per block)
/// [blocks]
///   u8 tfWidth x k
///   doc deltas as a PFor block (`PForBlock`: doc - previous doc - 1; the first block starts from -1)
///   k term-frequency arrays, bit-packed (tf - 1 when k == 1, else tf with 0 = absent)
/// ```
/// k is the number of fields of the term's text group in which the term occurs (its field mask);
/// keyword slots have k = 0 and no positions. Positions (text slots) are one stream per term in the
/// positions file: for each document, for each field of the mask where tf > 0, the tf positions as
/// (first, then gap - 1), in PFor blocks of 128 values (the last block shorter).
///
/// **Impact vectors** (the block bounds). A block's score for any query is at most the largest score
/// of its vectors, each vector a per-field (tf, norm code) pair that scores at least as high as some
/// of the block's documents, under any field weights, k1 and b (BM25's field term grows with tf and
/// falls with length). Every document of the block is covered by one vector: the writer keeps the
/// block's Pareto frontier of documents (none has at least the tf and at most the length of another
/// in every field) when it has at most V points, and otherwise merges points (field-wise max tf and
/// min norm) until V remain, choosing the merges that raise a proxy score least. Unused vectors are
/// all zero (tf 0 scores nothing). Version 1 kept one vector per block, the field-wise maxima over
/// all its documents, whose fields may come from different documents: a term in title and
/// description then bounded every block by its best title plus its best description, a score few
/// documents have, and blocks could rarely be skipped (Lucene keeps the same kind of frontier per
/// block, its "impacts", for one field).
public enum PostingsFormat {
    public static let blockSize = 128
    /// The version this build writes; `readableVersions` it reads.
    public static let version: UInt32 = 3
    public static let readableVersions: ClosedRange<UInt32> = 1...3
    /// The version new segments are written in: version 1 only for the compatibility tests.
    @TaskLocal public static var writeVersion: UInt32 = version

    /// Impact vectors per block in a docs file of `version`.
    @inline(__always) public static func boundVectors(version: UInt32) -> Int { version >= 2 ? 4 : 1 }

    /// Bytes of a term's position index (version 3): a u32 per positions block, after the skip table.
    /// A damaged position count (more than 2^31) gives 0: no index, and positions then fail to read.
    @inline(__always) public static func positionIndexSize(blocks nb: Int, text: Bool, positions: UInt64, version: UInt32) -> Int {
        guard version >= 3, text, nb > 1, positions <= UInt64(Int32.max) else { return 0 }
        return 4 * Int((positions + UInt64(blockSize) - 1) / UInt64(blockSize))
    }

    @inline(__always) public static func skipTableSize(blocks nb: Int, fields k: Int, text: Bool, vectors: Int) -> Int {
        guard nb > 1 else { return 0 }
        return text ? nb * (4 + 4 + 4 + 4 + 2 * k * vectors) : nb * 8
    }
}

/// Decoded dictionary entry of a term in one segment.
public struct TermInfo: Sendable, Equatable {
    public var docCount: UInt32 = 0
    /// Fields of the text group (member indexes) where the term occurs; 0 for keyword slots.
    public var fieldMask: UInt32 = 0
    /// Per field of the mask, in member order: documents containing the term in that field.
    public var fieldDocFreq: [UInt32] = []
    /// Per field of the mask: the largest term frequency (saturated at 255) and the smallest norm code.
    public var fieldMaxTf: [UInt8] = []
    public var fieldMinNorm: [UInt8] = []
    public var posCount: UInt64 = 0
    public var docsOffset: UInt64 = 0
    public var posOffset: UInt64 = 0
    /// Terms in one document keep it (and its frequencies) in the dictionary instead of the docs file.
    public var inlineDoc: UInt32 = 0
    public var inlineTfs: [UInt32] = []

    public init() {}

    public var isInline: Bool { docCount == 1 }

    public var fieldCount: Int { fieldMask.nonzeroBitCount }
    public var blockCount: Int { (Int(docCount) + PostingsFormat.blockSize - 1) / PostingsFormat.blockSize }

    /// Member indexes of the mask, ascending.
    public var members: [Int] {
        var out: [Int] = []
        var m = fieldMask
        while m != 0 {
            out.append(m.trailingZeroBitCount)
            m &= m - 1
        }
        return out
    }
}

/// The postings of one term, gathered before encoding (from the in-memory writer or from a merge).
struct TermPostingsBuffer {
    var docs: [UInt32] = []
    /// Doc-major term frequencies: tfs[i * k + j] for doc i and the j-th field of the mask.
    var tfs: [UInt32] = []
    /// Absolute positions: per doc, per field of the mask with tf > 0, ascending.
    var positions: [UInt32] = []
    var fieldMask: UInt32 = 0
    var k = 0

    mutating func reset(fieldMask: UInt32) {
        docs.removeAll(keepingCapacity: true)
        tfs.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        self.fieldMask = fieldMask
        k = fieldMask.nonzeroBitCount
    }
}

/// Encodes postings into the docs and positions files (format above).
struct PostingsEncoder {
    var docsOut = ByteWriter(capacity: 1 << 16)
    var posOut = ByteWriter(capacity: 1 << 16)
    private var scratch = [UInt32](repeating: 0, count: PostingsFormat.blockSize)
    private var posBuf = [UInt32](repeating: 0, count: PostingsFormat.blockSize)
    /// Impact vectors per block (`PostingsFormat.boundVectors`).
    let vectors: Int
    /// The version written (a position index from version 3).
    let version: UInt32
    /// Byte offsets (from the term's start) of the positions blocks written for the current term.
    private var posBlockOffsets: [UInt32] = []
    private var posTermStart = 0
    private var frontier = ImpactFrontier()
    /// The schema's BM25 parameters, for the proxy score that chooses which impact vectors merge.
    private let bm25: BM25Parameters

    /// An encoder for docs files of `version` (the file's header must say the same).
    init(version: UInt32 = PostingsFormat.writeVersion, bm25: BM25Parameters = BM25Parameters()) {
        vectors = PostingsFormat.boundVectors(version: version)
        self.version = version
        self.bm25 = bm25
    }

    /// Encodes one term. `docsBase`/`posBase` are the file offsets where `docsOut`/`posOut` start.
    /// `norms(member)` gives the norm codes of the group's member field (nil for keyword slots);
    /// `proxy(member)` its schema boost and the segment's mean length of the field, which only steer
    /// which impact vectors are merged.
    mutating func encode(_ p: TermPostingsBuffer, text: Bool, docsBase: UInt64, posBase: UInt64,
                         proxy: (Int) -> (boost: Float, meanLength: Float) = { _ in (1, 1) },
                         norms: (Int) -> UnsafeBufferPointer<UInt8>) -> TermInfo {
        let n = p.docs.count
        let k = text ? p.k : 0
        let bs = PostingsFormat.blockSize
        let nb = (n + bs - 1) / bs
        var info = TermInfo()
        info.docCount = UInt32(n)
        info.docsOffset = docsBase + UInt64(docsOut.count)
        info.posOffset = posBase + UInt64(posOut.count)
        posTermStart = posOut.count
        posBlockOffsets.removeAll(keepingCapacity: true)
        let members: [Int] = {
            var out: [Int] = []
            var m = p.fieldMask
            while m != 0 { out.append(m.trailingZeroBitCount); m &= m - 1 }
            return out
        }()
        let normPtrs: [UnsafeBufferPointer<UInt8>] = text ? members.map { norms($0) } : []
        if text {
            info.fieldMask = p.fieldMask
            info.fieldDocFreq = [UInt32](repeating: 0, count: k)
            info.fieldMaxTf = [UInt8](repeating: 0, count: k)
            info.fieldMinNorm = [UInt8](repeating: 255, count: k)
        }
        if n == 1 {
            // Inline: the doc and its frequencies go into the dictionary; only positions are written.
            info.inlineDoc = p.docs[0]
            info.inlineTfs = Array(p.tfs[0..<k])
            for j in 0..<k {
                let tf = p.tfs[j]
                info.fieldDocFreq[j] = tf > 0 ? 1 : 0
                info.fieldMaxTf[j] = UInt8(min(tf, 255))
                info.fieldMinNorm[j] = normPtrs[j][Int(p.docs[0])]
            }
            if text {
                var prevPos: UInt32 = 0
                var c = 0          // values in posBuf
                var at = 0         // next position to encode
                for j in 0..<k {
                    let tf = Int(p.tfs[j])
                    for t in 0..<tf {
                        let pos = p.positions[at]
                        at += 1
                        posBuf[c] = t == 0 ? pos : pos &- prevPos &- 1
                        prevPos = pos
                        c += 1
                        if c == bs { flushPositions(count: bs); c = 0 }
                    }
                }
                if c > 0 { flushPositions(count: c) }
                info.posCount = UInt64(p.positions.count)
            }
            return info
        }
        // Skip table placeholder.
        let skipStart = docsOut.count
        let skipSize = PostingsFormat.skipTableSize(blocks: nb, fields: k, text: text, vectors: vectors)
        let indexSize = PostingsFormat.positionIndexSize(blocks: nb, text: text, positions: UInt64(p.positions.count), version: version)
        for _ in 0..<(skipSize + indexSize) { docsOut.u8(0) }
        if text && nb > 1 {
            let fields = members.map(proxy)
            frontier.reset(fields: k, weights: fields.map(\.boost), meanLengths: fields.map(\.meanLength), bm25: bm25)
        }
        let blocksStart = docsOut.count

        var lastDocs = [UInt32](), blockStarts = [UInt32](), posOffsets = [UInt32](), posFirsts = [UInt32]()
        var bounds = [UInt8]()
        if nb > 1 {
            lastDocs.reserveCapacity(nb); blockStarts.reserveCapacity(nb)
            if text { posOffsets.reserveCapacity(nb); posFirsts.reserveCapacity(nb); bounds.reserveCapacity(nb * 2 * k * vectors) }
        }
        var posBufCount = 0
        var posWritten = 0      // values already in full flushed blocks
        var posCursor = 0       // index into p.positions

        for b in 0..<nb {
            let lo = b * bs
            let hi = min(n, lo + bs)
            let m = hi - lo
            if nb > 1 {
                lastDocs.append(p.docs[hi - 1])
                blockStarts.append(UInt32(docsOut.count - blocksStart))
                if text {
                    // Position block that holds the first position of this doc block.
                    posOffsets.append(UInt32(posOut.count - posTermStart))
                    posFirsts.append(UInt32(posWritten + posBufCount))
                }
            }
            // Doc deltas.
            var prev: UInt32 = b == 0 ? UInt32.max : p.docs[lo - 1]
            var orAll: UInt32 = 0
            for i in 0..<m {
                let d = p.docs[lo + i]
                let delta = d &- prev &- 1
                scratch[i] = delta
                orAll |= delta
                prev = d
            }
            _ = orAll
            // tf widths.
            var tfWidths = [Int](repeating: 0, count: k)
            for j in 0..<k {
                var o: UInt32 = 0
                for i in 0..<m {
                    let tf = p.tfs[(lo + i) * k + j]
                    o |= k == 1 ? tf - 1 : tf
                }
                tfWidths[j] = BitPacking.width(of: o)
                docsOut.u8(UInt8(tfWidths[j]))
            }
            scratch.withUnsafeBufferPointer { PForBlock.encode($0.baseAddress!, count: m, into: &docsOut) }
            for j in 0..<k {
                var maxTf: UInt32 = 0
                var minNorm: UInt8 = 255
                for i in 0..<m {
                    let tf = p.tfs[(lo + i) * k + j]
                    scratch[i] = k == 1 ? tf - 1 : tf
                    if tf > 0 {
                        info.fieldDocFreq[j] += 1
                        if tf > maxTf { maxTf = tf }
                        let nc = normPtrs[j][Int(p.docs[lo + i])]
                        if nc < minNorm { minNorm = nc }
                    }
                }
                scratch.withUnsafeBufferPointer {
                    BitPacking.pack($0.baseAddress!, count: m, width: tfWidths[j], into: &docsOut)
                }
                let satTf = UInt8(min(maxTf, 255))
                if nb > 1 && vectors == 1 {
                    bounds.append(satTf)
                    bounds.append(minNorm)
                }
                if satTf > info.fieldMaxTf[j] { info.fieldMaxTf[j] = satTf }
                if minNorm < info.fieldMinNorm[j] { info.fieldMinNorm[j] = minNorm }
            }
            if text && nb > 1 && vectors > 1 {
                frontier.clear()
                for i in 0..<m {
                    let d = Int(p.docs[lo + i])
                    frontier.add { j in
                        let tf = p.tfs[(lo + i) * k + j]
                        return tf == 0 ? (0, 255) : (UInt8(min(tf, 255)), normPtrs[j][d])
                    }
                }
                frontier.reduce(to: vectors)
                frontier.write(vectors: vectors, into: &bounds)
            }
            // Positions of this block's docs.
            if text {
                for i in 0..<m {
                    for j in 0..<k {
                        let tf = Int(p.tfs[(lo + i) * k + j])
                        if tf == 0 { continue }
                        var prevPos: UInt32 = 0
                        for t in 0..<tf {
                            let pos = p.positions[posCursor]
                            posCursor += 1
                            posBuf[posBufCount] = t == 0 ? pos : pos &- prevPos &- 1
                            prevPos = pos
                            posBufCount += 1
                            if posBufCount == bs {
                                flushPositions(count: bs)
                                posWritten += bs
                                posBufCount = 0
                            }
                        }
                    }
                }
            }
        }
        if text {
            if posBufCount > 0 {
                flushPositions(count: posBufCount)
                posWritten += posBufCount
            }
            info.posCount = UInt64(posWritten)
        }
        // Fill the skip table.
        if nb > 1 {
            var w = ByteWriter(capacity: skipSize)
            for v in lastDocs { w.u32(v) }
            for v in blockStarts { w.u32(v) }
            if text {
                for v in posOffsets { w.u32(v) }
                for v in posFirsts { w.u32(v) }
                w.append(bounds)
            }
            precondition(w.count == skipSize)
            if indexSize > 0 {
                precondition(posBlockOffsets.count * 4 == indexSize)
                for v in posBlockOffsets { w.u32(v) }
            }
            docsOut.replaceBytes(at: skipStart, with: w.bytes)
        }
        return info
    }

    private mutating func flushPositions(count: Int) {
        posBlockOffsets.append(UInt32(posOut.count - posTermStart))
        posBuf.withUnsafeBufferPointer { PForBlock.encode($0.baseAddress!, count: count, into: &posOut) }
    }
}


/// The Pareto frontier of a block's documents under "scores at least as high for any query": per
/// field, a higher or equal tf and a shorter or equal length (a field without the term is no
/// constraint). Points are flat arrays of k (tf, norm code) pairs; tf 0 means the field is absent.
struct ImpactFrontier {
    private(set) var k = 0
    private(set) var count = 0
    private var tf: [UInt8] = []
    private var norm: [UInt8] = []
    private var weights: [Float] = []
    private var meanLengths: [Float] = []
    private var bm25 = BM25Parameters()
    private var candTf: [UInt8] = []
    private var candNorm: [UInt8] = []

    mutating func reset(fields k: Int, weights: [Float], meanLengths: [Float], bm25: BM25Parameters = BM25Parameters()) {
        self.k = k
        self.weights = weights
        self.meanLengths = meanLengths.map { max($0, 1e-3) }
        self.bm25 = bm25
        candTf = [UInt8](repeating: 0, count: k)
        candNorm = [UInt8](repeating: 255, count: k)
        clear()
    }

    mutating func clear() {
        count = 0
        tf.removeAll(keepingCapacity: true)
        norm.removeAll(keepingCapacity: true)
    }

    /// The document being added, where `covers` takes a point's index.
    private static let candidate = -1

    /// Field j's (tf, norm) of point `a`, or of the candidate.
    @inline(__always) private func pair(_ a: Int, _ j: Int) -> (UInt8, UInt8) {
        a == Self.candidate ? (candTf[j], candNorm[j]) : (tf[a * k + j], norm[a * k + j])
    }

    /// Whether point `x` covers point `y` (either may be the candidate): in every field where `y`
    /// has the term, `x` has at least its tf and at most its norm code. Indexes, not closures: this
    /// runs for every posting of a long term while a segment is written.
    private func covers(_ x: Int, _ y: Int) -> Bool {
        for j in 0..<k {
            let (xt, xn) = pair(x, j), (yt, yn) = pair(y, j)
            if yt != 0 && (xt < yt || xn > yn) { return false }
        }
        return true
    }

    /// Adds a document given as `field(j) -> (tf saturated at 255, norm code)`.
    mutating func add(_ field: (Int) -> (UInt8, UInt8)) {
        for j in 0..<k { (candTf[j], candNorm[j]) = field(j) }
        for a in 0..<count where covers(a, Self.candidate) { return }
        // Drop the points the candidate covers.
        var w = 0
        for a in 0..<count where !covers(Self.candidate, a) {
            if w != a {
                for j in 0..<k { tf[w * k + j] = tf[a * k + j]; norm[w * k + j] = norm[a * k + j] }
            }
            w += 1
        }
        count = w
        tf.removeLast(tf.count - w * k)
        norm.removeLast(norm.count - w * k)
        tf.append(contentsOf: candTf)
        norm.append(contentsOf: candNorm)
        count += 1
    }

    /// BM25-shaped proxy score of a point (schema boosts and BM25 parameters, the segment's mean lengths).
    private func proxy(tf t: (Int) -> UInt8, norm n: (Int) -> UInt8) -> Float {
        var s: Float = 0
        for j in 0..<k {
            let x = Float(t(j))
            if x == 0 { continue }
            let len = Float(FieldNorm.decode(n(j)))
            s += weights[j] * x / (x + bm25.k1 * (1 - bm25.b + bm25.b * len / meanLengths[j]))
        }
        return s
    }

    private func proxy(_ a: Int) -> Float { proxy(tf: { tf[a * k + $0] }, norm: { norm[a * k + $0] }) }

    /// The field-wise merge of points a and b: max tf, min norm over the fields that have the term.
    private func merged(_ a: Int, _ b: Int, _ j: Int) -> (UInt8, UInt8) {
        let ta = tf[a * k + j], tb = tf[b * k + j]
        let na = ta == 0 ? 255 : norm[a * k + j], nb = tb == 0 ? 255 : norm[b * k + j]
        return (max(ta, tb), min(na, nb))
    }

    private mutating func merge(_ a: Int, _ b: Int) {
        for j in 0..<k { (tf[a * k + j], norm[a * k + j]) = merged(a, b, j) }
        let last = count - 1
        if b != last {
            for j in 0..<k { tf[b * k + j] = tf[last * k + j]; norm[b * k + j] = norm[last * k + j] }
        }
        tf.removeLast(k)
        norm.removeLast(k)
        count -= 1
    }

    /// Merges points until at most `v` remain: while more than 16, the two lowest by proxy score; then
    /// the pair whose merge raises the larger of their proxy scores least.
    mutating func reduce(to v: Int) {
        while count > 16 {
            var i0 = 0, i1 = 1
            var p0 = proxy(0), p1 = proxy(1)
            if p1 < p0 { swap(&i0, &i1); swap(&p0, &p1) }
            for a in 2..<count {
                let p = proxy(a)
                if p < p0 { i1 = i0; p1 = p0; i0 = a; p0 = p } else if p < p1 { i1 = a; p1 = p }
            }
            merge(min(i0, i1), max(i0, i1))
        }
        while count > v {
            var best = (cost: Float.infinity, a: 0, b: 1)
            for a in 0..<count {
                let pa = proxy(a)
                for b in (a + 1)..<count {
                    let pm = proxy(tf: { merged(a, b, $0).0 }, norm: { merged(a, b, $0).1 })
                    let cost = pm - max(pa, proxy(b))
                    if cost < best.cost { best = (cost, a, b) }
                }
            }
            merge(best.a, best.b)
        }
    }

    /// Appends `vectors` points of k (tf, norm) pairs; missing points are all zero (tf 0, norm 255).
    func write(vectors: Int, into out: inout [UInt8]) {
        precondition(count <= vectors)
        for a in 0..<vectors {
            for j in 0..<k {
                if a < count { out.append(tf[a * k + j]); out.append(norm[a * k + j]) }
                else { out.append(0); out.append(255) }
            }
        }
    }
}
