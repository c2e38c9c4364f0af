/// Where the bytes of a segment go (tantivy's space_usage): for tuning the formats.
public struct SpaceUsage: Sendable, CustomStringConvertible {
    public var files: [(name: String, bytes: Int)] = []
    public var terms = 0
    public var termsBySlot: [Int: Int] = [:]
    public var postings = 0
    public var singletonTerms = 0
    /// Word pairs (`PairTerms`) among the terms, their singletons and postings.
    public var pairTerms = 0
    public var singletonPairs = 0
    public var pairPostings = 0
    public var skipBytes = 0
    public var headerBytes = 0
    public var docBits = 0
    public var tfBits = 0
    public var tfArrays = 0
    public var blocks = 0
    public var positions = 0
    /// Terms by number of fields in their mask.
    public var fieldCounts: [Int: Int] = [:]

    public var description: String {
        var s = ""
        for f in files { s += "  \(f.name): \(f.bytes) bytes\n" }
        s += "  terms \(terms) (singletons \(singletonTerms)), postings \(postings), blocks \(blocks), positions \(positions)\n"
        if pairTerms > 0 {
            s += "  word pairs \(pairTerms) (singletons \(singletonPairs)), postings \(pairPostings)\n"
        }
        s += "  by slot: \(termsBySlot.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "))\n"
        s += "  fields per term: \(fieldCounts.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " "))\n"
        s += "  docs file: skip tables and position indexes \(skipBytes) B, block headers \(headerBytes) B, doc deltas \(docBits / 8) B, tfs \(tfBits / 8) B in \(tfArrays) arrays\n"
        if postings > 0 {
            s += "  per posting: doc \(Double(docBits) / Double(postings)) bits, tf \(Double(tfBits) / Double(postings)) bits, skip \(Double(skipBytes * 8) / Double(postings)) bits, headers \(Double(headerBytes * 8) / Double(postings)) bits\n"
        }
        return s
    }
}

extension SegmentReader {
    /// Measures the segment's space by walking its dictionary and postings headers.
    public func spaceUsage() throws -> SpaceUsage {
        var u = SpaceUsage()
        for f in allFiles { u.files.append((f.name, f.mapped.count)) }
        var it = try terms.makeIterator()
        let textSlots = terms.textSlotCount
        while try it.next() {
            let info = it.info
            let text = it.slot < textSlots
            u.terms += 1
            u.termsBySlot[it.slot, default: 0] += 1
            u.postings += Int(info.docCount)
            if info.docCount == 1 { u.singletonTerms += 1 }
            if text && PairTerms.isPair(it.key[2...]) {
                u.pairTerms += 1
                u.pairPostings += Int(info.docCount)
                if info.docCount == 1 { u.singletonPairs += 1 }
            }
            let k = text ? info.fieldCount : 0
            u.fieldCounts[k, default: 0] += 1
            u.positions += Int(info.posCount)
            if info.isInline { continue }
            let nb = info.blockCount
            u.blocks += nb
            let skip = PostingsFormat.skipTableSize(blocks: nb, fields: k, text: text,
                                                     vectors: PostingsFormat.boundVectors(version: docsFile.version))
                + PostingsFormat.positionIndexSize(blocks: nb, text: text, positions: info.posCount, version: docsFile.version)
            u.skipBytes += skip
            var off = Int(info.docsOffset) + skip
            let p = docsFile.payload
            for b in 0..<nb {
                let n = b == nb - 1 ? Int(info.docCount) - b * 128 : 128
                if nb > 1 {
                    var r = ByteReader(p, file: docsFile.name, offset: Int(info.docsOffset) + (nb + b) * 4)
                    off = Int(info.docsOffset) + skip + Int(try r.u32())
                }
                var r = ByteReader(p, file: docsFile.name, offset: off)
                u.headerBytes += k
                for _ in 0..<k {
                    let w = Int(try r.u8())
                    u.tfBits += n * w
                    u.tfArrays += 1
                }
                guard let size = PForBlock.size(p.baseAddress! + off + k, count: n, available: p.count - off - k) else {
                    throw IndexError.corrupt(file: docsFile.name, reason: "bad block")
                }
                u.docBits += size * 8
            }
        }
        return u
    }
}
