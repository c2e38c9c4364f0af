/// The postings format (version 1).
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
///   bounds      (u8 maxTf, u8 minNorm) x k x nBlocks   per block and field, for block-max pruning
/// [blocks]
///   u8 tfWidth x k
///   doc deltas as a PFor block (`PForBlock`: doc - previous doc - 1; the first block starts from -1)
///   k term-frequency arrays, bit-packed (tf - 1 when k == 1, else tf with 0 = absent)
/// ```
/// k is the number of fields of the term's text group in which the term occurs (its field mask);
/// keyword slots have k = 0 and no positions. Positions (text slots) are one stream per term in the
/// positions file: for each document, for each field of the mask where tf > 0, the tf positions as
/// (first, then gap - 1), in PFor blocks of 128 values (the last block shorter).
public enum PostingsFormat {
    public static let blockSize = 128
    public static let version: UInt32 = 1

    @inline(__always) public static func skipTableSize(blocks nb: Int, fields k: Int, text: Bool) -> Int {
        guard nb > 1 else { return 0 }
        return text ? nb * (4 + 4 + 4 + 4 + 2 * k) : nb * 8
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

    /// Encodes one term. `docsBase`/`posBase` are the file offsets where `docsOut`/`posOut` start.
    /// `norms(member)` gives the norm codes of the group's member field (nil for keyword slots).
    mutating func encode(_ p: TermPostingsBuffer, text: Bool, docsBase: UInt64, posBase: UInt64,
                         norms: (Int) -> UnsafeBufferPointer<UInt8>) -> TermInfo {
        let n = p.docs.count
        let k = text ? p.k : 0
        let bs = PostingsFormat.blockSize
        let nb = (n + bs - 1) / bs
        var info = TermInfo()
        info.docCount = UInt32(n)
        info.docsOffset = docsBase + UInt64(docsOut.count)
        info.posOffset = posBase + UInt64(posOut.count)
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
        let skipSize = PostingsFormat.skipTableSize(blocks: nb, fields: k, text: text)
        for _ in 0..<skipSize { docsOut.u8(0) }
        let blocksStart = docsOut.count

        var lastDocs = [UInt32](), blockStarts = [UInt32](), posOffsets = [UInt32](), posFirsts = [UInt32]()
        var bounds = [UInt8]()
        if nb > 1 {
            lastDocs.reserveCapacity(nb); blockStarts.reserveCapacity(nb)
            if text { posOffsets.reserveCapacity(nb); posFirsts.reserveCapacity(nb); bounds.reserveCapacity(nb * 2 * k) }
        }
        let posTermStart = posOut.count
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
                if nb > 1 {
                    bounds.append(satTf)
                    bounds.append(minNorm)
                }
                if satTf > info.fieldMaxTf[j] { info.fieldMaxTf[j] = satTf }
                if minNorm < info.fieldMinNorm[j] { info.fieldMinNorm[j] = minNorm }
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
            docsOut.replaceBytes(at: skipStart, with: w.bytes)
        }
        return info
    }

    private mutating func flushPositions(count: Int) {
        posBuf.withUnsafeBufferPointer { PForBlock.encode($0.baseAddress!, count: count, into: &posOut) }
    }
}

