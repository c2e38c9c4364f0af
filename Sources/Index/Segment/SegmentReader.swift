import Synchronization

/// Hands out the versions of segment views (see `SegmentReader.deletesVersion`).
enum SegmentViewVersions {
    private static let counter = Atomic<UInt64>(0)
    static func next() -> UInt64 { counter.add(1, ordering: .relaxed).newValue }
}

/// One opened, immutable segment: its term dictionary, postings, positions, norms, stored fields
/// and ids, all memory-mapped. Shared by every searcher that includes it.
public final class SegmentReader: @unchecked Sendable {
    public let meta: SegmentMeta
    public let directory: String
    public let terms: TermDictionary
    let docsFile: IndexFile
    let posFile: IndexFile
    let normsFile: IndexFile
    public let stored: StoredFieldsReader
    public let ids: IdColumnReader
    public let docValues: DocValuesReader
    /// Vector fields by ordinal (empty when the schema has none).
    public let vectors: [Int: SegmentVectors]
    let vectorFile: IndexFile?
    /// Norm codes per text field (schema order of text fields).
    let normPointers: [UnsafePointer<UInt8>]
    /// Tombstones: documents deleted or replaced since the segment was written (nil: none).
    public let deleted: DeletedDocs?
    /// Side files this reader has open (tombstones, in-place updates), for verification.
    let sideFiles: [IndexFile]
    /// Numeric fields whose column comes from the committed in-place updates file.
    public let updatedFields: [Int]
    /// Terms laid out for typo lookups, built on first use (shared with readers over the same files).
    let fuzzy: FuzzyVocabularies
    /// Versions for caches of per-segment results (`SegmentFacetCache`): unique in the process,
    /// new whenever this view's tombstones (`deletesVersion`) or a numeric column
    /// (`columnVersion(_:)`) differ from the view it was made from. Files opened from disk get a new
    /// version, so a commit's side files never pass for an earlier view's.
    public let deletesVersion: UInt64
    let filesVersion: UInt64
    let columnVersions: [Int: UInt64]
    /// The version of numeric field `field`'s column in this view.
    public func columnVersion(_ field: Int) -> UInt64 { columnVersions[field] ?? filesVersion }
    /// Document slots, deleted ones included (doc numbers run 0 ..< docCount).
    public var docCount: Int { meta.docCount }
    /// Documents not deleted.
    public var liveDocCount: Int { docCount - (deleted?.count ?? 0) }

    @inline(__always) public func isLive(_ doc: Int) -> Bool { deleted.map { !$0.isDeleted(doc) } ?? true }

    /// The same segment with other tombstones and in-place updates (shares every file).
    init(sharing base: SegmentReader, meta: SegmentMeta, deleted: DeletedDocs?, numeric: [Int: NumericColumn],
         deletesVersion: UInt64, columnVersions: [Int: UInt64]) {
        self.meta = meta
        filesVersion = base.filesVersion
        self.deletesVersion = deletesVersion
        self.columnVersions = columnVersions
        directory = base.directory
        terms = base.terms
        docsFile = base.docsFile
        posFile = base.posFile
        normsFile = base.normsFile
        stored = base.stored
        ids = base.ids
        docValues = numeric.isEmpty ? base.docValues : base.docValues.replacing(numeric: numeric)
        normPointers = base.normPointers
        self.deleted = deleted.flatMap { $0.count > 0 ? $0 : nil }
        sideFiles = base.sideFiles
        updatedFields = base.updatedFields
        fuzzy = base.fuzzy
        vectors = base.vectors
        vectorFile = base.vectorFile
    }

    /// Opens the segment's files; `verify` checks every file's checksum first.
    public init(directory: String, meta: SegmentMeta, textFieldCount: Int, verify: Bool) throws {
        self.meta = meta
        self.directory = directory
        filesVersion = SegmentViewVersions.next()
        deletesVersion = filesVersion
        columnVersions = [:]
        fuzzy = FuzzyVocabularies()
        func open(_ c: SegmentComponent) throws -> IndexFile {
            let name = c.fileName(segment: meta.id)
            let f = try IndexFile(path: directory + "/" + name, kind: c.kind, versions: c.readableVersions, verify: verify)
            if let expected = meta.files[name] {
                guard expected.size == UInt64(f.mapped.count) else {
                    throw IndexError.corrupt(file: name, reason: "size \(f.mapped.count) differs from the commit's \(expected.size)")
                }
                guard expected.checksum == String(f.checksum, radix: 16) else {
                    throw IndexError.corrupt(file: name, reason: "checksum differs from the one recorded in the commit")
                }
            }
            return f
        }
        terms = try TermDictionary(file: try open(.terms))
        docsFile = try open(.docs)
        posFile = try open(.pos)
        normsFile = try open(.norms)
        stored = try StoredFieldsReader(file: try open(.store))
        ids = try IdColumnReader(file: try open(.ids))
        var docValues = try DocValuesReader(file: try open(.dv), docCount: meta.docCount)
        if meta.files[SegmentComponent.vec.fileName(segment: meta.id)] != nil {
            let f = try open(.vec)
            vectorFile = f
            vectors = try SegmentVectors.read(f, docCount: meta.docCount, fieldCount: meta.fieldCount)
        } else {
            vectorFile = nil
            vectors = [:]
        }
        var nr = normsFile.reader()
        let nf = Int(try nr.u32())
        let nd = Int(try nr.u32())
        guard nd == meta.docCount, nf == meta.textFieldStats.count, nf >= textFieldCount || nf == textFieldCount else {
            throw IndexError.corrupt(file: normsFile.name, reason: "norms for \(nf) fields x \(nd) docs, expected \(meta.textFieldStats.count) x \(meta.docCount)")
        }
        guard normsFile.payload.count == 8 + nf * nd else {
            throw IndexError.corrupt(file: normsFile.name, reason: "norms file has the wrong length")
        }
        let base = normsFile.payload.baseAddress!.assumingMemoryBound(to: UInt8.self)
        normPointers = (0..<nf).map { UnsafePointer(base + 8 + $0 * nd) }
        guard stored.docCount == meta.docCount, ids.docCount == meta.docCount else {
            throw IndexError.corrupt(file: meta.id, reason: "stored fields or ids disagree with the segment's document count")
        }
        func openSide(_ side: SegmentMeta.SideFile, kind: String, version: UInt32) throws -> IndexFile {
            let f = try IndexFile(path: directory + "/" + side.name, kind: kind, version: version, verify: verify)
            guard side.info.size == UInt64(f.mapped.count), side.info.checksum == String(f.checksum, radix: 16) else {
                throw IndexError.corrupt(file: side.name, reason: "size or checksum differs from the one recorded in the commit")
            }
            return f
        }
        var sides: [IndexFile] = []
        var updatedFields: [Int] = []
        if let d = meta.deletes {
            let f = try openSide(d, kind: DeletedDocs.kind, version: DeletedDocs.version)
            sides.append(f)
            let dd = try DeletedDocs.read(file: f, docCount: meta.docCount, deleted: d.count)
            deleted = dd.count > 0 ? dd : nil
        } else {
            deleted = nil
        }
        if let u = meta.updates {
            let f = try openSide(u, kind: DocValuesFormat.kind, version: DocValuesFormat.version)
            sides.append(f)
            let upd = try DocValuesReader(file: f, docCount: meta.docCount)
            guard upd.ordinals.isEmpty, upd.numeric.count == u.count else {
                throw IndexError.corrupt(file: u.name, reason: "in-place updates hold \(upd.numeric.count) numeric and \(upd.ordinals.count) keyword columns, expected \(u.count) numeric")
            }
            docValues = docValues.replacing(numeric: upd.numeric)
            updatedFields = upd.numeric.keys.sorted()
        }
        self.updatedFields = updatedFields
        self.docValues = docValues
        sideFiles = sides
    }

    /// All files of the segment, for verification.
    var allFiles: [IndexFile] {
        [terms.file, docsFile, posFile, normsFile, stored.file, ids.file, docValues.file] + (vectorFile.map { [$0] } ?? []) + sideFiles
    }

    /// Recomputes every file's checksum.
    public func verifyChecksums() throws {
        for f in allFiles { try f.verifyChecksum() }
    }

    /// Norm codes of a text field (by its index among the text fields).
    public func norms(textField: Int) -> UnsafePointer<UInt8> { normPointers[textField] }

    /// The dictionary entry of `slot ++ term`. Recent answers (found or not) are kept in a small
    /// per-segment cache: one search asks for the same words several times (query rewriting, the
    /// statistics of each query it runs, each scorer), and shoppers' queries repeat. The segment is
    /// immutable, so an answer never goes stale.
    public func termInfo(slot: Int, term: [UInt8]) throws -> TermInfo? {
        let key = Self.key(slot: slot, term: term)
        if let hit = termCache.withLock({ $0[key] }) { return hit }
        let info = try terms.lookup(key)
        termCache.withLock { cache in
            if cache.count >= Self.termCacheEntries { cache.removeAll(keepingCapacity: true) }
            cache[key] = info
        }
        return info
    }

    /// Entries of the per-segment look-up cache (about 200 bytes each); emptied when full.
    public static let termCacheEntries = 1024
    private let termCache = Mutex<[[UInt8]: TermInfo?]>([:])

    public static func key(slot: Int, term: [UInt8]) -> [UInt8] {
        var k = [UInt8]()
        k.reserveCapacity(term.count + 2)
        k.append(UInt8(slot >> 8))
        k.append(UInt8(slot & 0xFF))
        k.append(contentsOf: term)
        return k
    }

    /// A cursor over a term's postings.
    public func postings(_ info: TermInfo, text: Bool) throws -> PostingsCursor {
        try PostingsCursor(segment: self, info: info, text: text)
    }

    /// The segment-local doc with the given id, if any (binary search of the id column when ids are
    /// sorted, else through the id field's keyword slot).
    public func doc(forId id: String, idSlot: Int, includeDeleted: Bool = false) throws -> Int? {
        if meta.idsSorted {
            guard let d = try ids.find(id) else { return nil }
            return includeDeleted || isLive(d) ? d : nil
        }
        guard let info = try termInfo(slot: idSlot, term: Array(id.utf8)) else { return nil }
        let c = try postings(info, text: false)
        var found: Int?
        while c.nextDoc() != PostingsCursor.noMoreDocs {
            if includeDeleted || isLive(Int(c.doc)) { found = Int(c.doc) }
        }
        if let e = c.corruption { throw IndexError.corrupt(file: docsFile.name, reason: e) }
        return found
    }
}

/// A cursor over one term's postings in one segment: documents in increasing order, the term's
/// frequency in each field of its group, positions, and per-block score bounds.
///
/// Hot path: no throwing, no allocation. Damaged data sets `corruption` and ends the cursor; the
/// searcher turns that into an error naming the file.
public final class PostingsCursor {
    public static let noMoreDocs = UInt32.max
    static let bs = PostingsFormat.blockSize

    public let info: TermInfo
    public let text: Bool
    /// Number of fields of the term (popcount of its mask); 0 for keyword slots.
    public let k: Int
    let maxDoc: UInt32
    let docsPayload: UnsafeRawPointer
    let docsEnd: Int
    let posPayload: UnsafeRawPointer
    let posEnd: Int
    let fileName: String

    let nBlocks: Int
    let skip: UnsafeRawPointer?     // start of the skip table (nBlocks > 1)
    /// Byte offset of each positions block from the term's positions start (version 3, text terms
    /// with 2+ blocks; nil: blocks are found by walking from the doc block's first one).
    let posIndex: UnsafeRawPointer?
    let posBlocks: Int
    let blocksArea: Int             // offset of the first block in the docs payload

    /// Current document (noMoreDocs when exhausted, and before the first `nextDoc()` it is -1 as UInt32.max - 1... see `started`).
    public private(set) var doc: UInt32 = 0
    private var started = false
    /// Whether the cursor stands on `target` (a reader of positions may then use it as it is).
    @inline(__always) public func stands(on target: UInt32) -> Bool { started && doc == target }
    public private(set) var corruption: String?

    // Current block.
    public private(set) var block = -1
    var blockLen = 0
    var idx = 0
    let docs: UnsafeMutablePointer<UInt32>
    let tfs: UnsafeMutablePointer<UInt32>
    var tfsDecoded = false
    /// Per field j of the current block: tf bit width (2j) and payload offset of the packed array (2j+1).
    let tfMeta: UnsafeMutablePointer<Int>
    var blockLastDoc: UInt32 = 0

    // Shallow (skip-only) position for block-max bounds.
    public private(set) var shallowBlock = 0
    /// Impact vectors per block in the skip table (the docs file's version).
    let vectors: Int

    init(segment: SegmentReader, info: TermInfo, text: Bool) throws {
        self.info = info
        self.text = text
        k = text ? info.fieldCount : 0
        maxDoc = UInt32(segment.meta.docCount)
        let dp = segment.docsFile.payload
        docsPayload = dp.baseAddress!
        docsEnd = dp.count
        let pp = segment.posFile.payload
        posPayload = pp.baseAddress ?? dp.baseAddress!
        posEnd = pp.count
        fileName = segment.docsFile.name
        nBlocks = info.blockCount
        vectors = PostingsFormat.boundVectors(version: segment.docsFile.version)
        let skipSize = PostingsFormat.skipTableSize(blocks: nBlocks, fields: k, text: text, vectors: vectors)
        let indexSize = PostingsFormat.positionIndexSize(blocks: nBlocks, text: text, positions: info.posCount,
                                                         version: segment.docsFile.version)
        guard info.docCount > 0, info.docCount <= maxDoc,
              info.docsOffset <= UInt64(docsEnd), UInt64(skipSize + indexSize) <= UInt64(docsEnd) - info.docsOffset,
              info.posOffset <= UInt64(posEnd)
        else {
            throw IndexError.corrupt(file: fileName, reason: "term postings at \(info.docsOffset) out of range")
        }
        skip = nBlocks > 1 ? docsPayload + Int(info.docsOffset) : nil
        posIndex = indexSize > 0 ? docsPayload + Int(info.docsOffset) + skipSize : nil
        posBlocks = indexSize / 4
        blocksArea = Int(info.docsOffset) + skipSize + indexSize
        docs = .allocate(capacity: Self.bs)
        tfs = .allocate(capacity: Self.bs * max(k, 1))
        tfMeta = .allocate(capacity: 2 * max(k, 1))
        tfMeta.initialize(repeating: 0, count: 2 * max(k, 1))
        if let s = skip {
            // Validate the skip table's last docs once: increasing and < maxDoc.
            var prev: Int64 = -1
            for b in 0..<nBlocks {
                let d = Int64(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self)))
                guard d > prev, d < Int64(maxDoc) else {
                    throw IndexError.corrupt(file: fileName, reason: "skip table not increasing at block \(b)")
                }
                prev = d
            }
        }
    }

    deinit {
        docs.deallocate()
        tfs.deallocate()
        tfMeta.deallocate()
        posValues.deallocate()
    }

    @inline(__always) func lastDoc(ofBlock b: Int) -> UInt32 {
        guard let s = skip else { return blockLastDocSingle }
        return UInt32(littleEndian: s.loadUnaligned(fromByteOffset: b &* 4, as: UInt32.self))
    }

    /// The first block from `b` whose last doc is >= `target` (nBlocks if none); needs the skip
    /// table. Looks at the next four blocks first (most moves are short), then gallops and
    /// searches the bracket: a probe far ahead costs log(distance) look-ups, not one per block.
    @inline(__always) func firstBlock(from b0: Int, reaching target: UInt32) -> Int {
        var b = b0
        let near = min(b &+ 4, nBlocks)
        while b < near && lastDoc(ofBlock: b) < target { b &+= 1 }
        if b < near || b == nBlocks { return b }
        // lastDoc(b - 1) < target: gallop for an upper end.
        var lo = b, step = 8, hi = nBlocks
        while true {
            let probe = lo &+ step
            if probe >= nBlocks { break }
            if lastDoc(ofBlock: probe) >= target { hi = probe; break }
            lo = probe &+ 1
            step &<<= 1
        }
        // The first block in [lo, hi) reaching target, or hi.
        var n = hi &- lo
        while n > 0 {
            let half = n >> 1
            if lastDoc(ofBlock: lo &+ half) < target { lo = lo &+ half &+ 1; n = n &- half &- 1 } else { n = half }
        }
        return lo
    }

    /// For single-block terms the last doc is known only after decoding; before that, maxDoc - 1 is a safe bound.
    var blockLastDocSingle: UInt32 { block == 0 ? blockLastDoc : maxDoc &- 1 }

    @inline(__always) func blockStart(_ b: Int) -> Int {
        guard let s = skip else { return 0 }
        return Int(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: (nBlocks + b) &* 4, as: UInt32.self)))
    }

    private func fail(_ reason: String) {
        if corruption == nil { corruption = reason }
        doc = Self.noMoreDocs
        block = nBlocks
        blockLen = 0
        idx = 0
    }

    /// Decodes block `b`'s doc ids.
    @inline(__always) func loadBlock(_ b: Int) {
        block = b
        shallowBlock = b
        if info.isInline {
            blockLen = 1
            guard info.inlineDoc < maxDoc else { return fail("inline doc \(info.inlineDoc) out of range") }
            docs[0] = info.inlineDoc
            for j in 0..<k { tfs[j &* Self.bs] = info.inlineTfs[j] }
            tfsDecoded = true
            blockLastDoc = info.inlineDoc
            idx = 0
            return
        }
        let n = Int(info.docCount)
        blockLen = b == nBlocks - 1 ? n - b &* Self.bs : Self.bs
        var off = blocksArea + blockStart(b)
        guard off >= 0, off + k <= docsEnd else { return fail("block \(b) header out of range") }
        var bad = false
        var tfBytes = 0
        for j in 0..<k {
            let w = Int(docsPayload.load(fromByteOffset: off + j, as: UInt8.self))
            if w > 32 { bad = true }
            tfMeta[2 &* j] = w
            tfMeta[2 &* j &+ 1] = tfBytes
            tfBytes += BitPacking.byteCount(count: blockLen, width: w)
        }
        off += k
        guard !bad, let docBytes = PForBlock.size(docsPayload + off, count: blockLen, available: docsEnd - off),
              off + docBytes + tfBytes <= docsEnd
        else { return fail("block \(b) data out of range") }
        PForBlock.decode(docsPayload + off, count: blockLen, into: docs)
        for j in 0..<k { tfMeta[2 &* j &+ 1] &+= off &+ docBytes }
        // Prefix sum in 64 bits so damaged deltas cannot wrap around.
        var prev: UInt64 = b == 0 ? UInt64.max : UInt64(lastDoc(ofBlock: b - 1))
        for i in 0..<blockLen {
            prev = prev &+ UInt64(docs[i]) &+ 1
            docs[i] = UInt32(truncatingIfNeeded: prev)
        }
        guard prev < UInt64(maxDoc), skip == nil || prev == UInt64(lastDoc(ofBlock: b)) else {
            return fail("block \(b) decodes to doc \(prev), expected \(skip == nil ? "< \(maxDoc)" : String(lastDoc(ofBlock: b)))")
        }
        blockLastDoc = UInt32(prev)
        tfsDecoded = false
        idx = 0
    }

    /// Decodes the term frequencies of the current block.
    @inline(__always) func decodeTfs() {
        for j in 0..<k {
            BitPacking.unpack(docsPayload + tfMeta[2 &* j &+ 1], count: blockLen, width: tfMeta[2 &* j], into: tfs + j &* Self.bs)
        }
        if k == 1 {
            for i in 0..<blockLen { tfs[i] &+= 1 }
        }
        tfsDecoded = true
    }

    /// Moves to the next document. Returns the new doc (noMoreDocs at the end).
    @discardableResult @inline(__always)
    public func nextDoc() -> UInt32 {
        if !started {
            started = true
            loadBlock(0)
            if corruption != nil { return doc }
            doc = docs[0]
            return doc
        }
        if doc == Self.noMoreDocs { return doc }
        idx &+= 1
        if idx < blockLen {
            doc = docs[idx]
            return doc
        }
        if block + 1 >= nBlocks {
            doc = Self.noMoreDocs
            return doc
        }
        loadBlock(block + 1)
        if corruption != nil { return doc }
        doc = docs[0]
        return doc
    }

    /// Moves to the first document >= target. Returns it (noMoreDocs if none).
    @discardableResult @inline(__always)
    public func advance(_ target: UInt32) -> UInt32 {
        if started && doc >= target { return doc }
        if !started {
            started = true
            var b = 0
            if skip != nil {
                b = firstBlock(from: 0, reaching: target)
                if b == nBlocks { doc = Self.noMoreDocs; block = nBlocks; return doc }
            }
            loadBlock(b)
            if corruption != nil { return doc }
        } else if doc == Self.noMoreDocs {
            return doc
        } else if target > blockLastDoc {
            var b = block + 1
            if b >= nBlocks { doc = Self.noMoreDocs; return doc }
            b = firstBlock(from: b, reaching: target)
            if b == nBlocks { doc = Self.noMoreDocs; block = nBlocks; return doc }
            loadBlock(b)
            if corruption != nil { return doc }
        }
        // Intersections mostly step a few documents: look at the next four first, then search the
        // rest of the block without branches (a binary search whose comparisons the CPU cannot
        // predict cost more than the linear steps it saves).
        var i = idx
        let near = min(i &+ 4, blockLen)
        while i < near && docs[i] < target { i &+= 1 }
        if i == near && i < blockLen {
            // Branch-free: the step is masked in by the sign of (doc - target), not chosen by a
            // jump the CPU would mispredict half the time.
            var base = i, n = blockLen &- i
            while n > 1 {
                let half = n >> 1
                let less = Int(truncatingIfNeeded: (Int64(docs[base &+ half]) &- Int64(target)) >> 63)  // -1 or 0
                base &+= half & less
                n &-= half
            }
            i = base &+ (docs[base] < target ? 1 : 0)
        }
        if i == blockLen {
            // Only possible for the last block (target beyond the term's last doc).
            doc = Self.noMoreDocs
            idx = i
            return doc
        }
        idx = i
        doc = docs[i]
        return doc
    }

    /// Term frequency of the current document in the j-th field of the term's mask (0 if absent).
    @inline(__always) public func tf(_ j: Int) -> UInt32 {
        if tfsDecoded { return tfs[j &* Self.bs &+ idx] }
        // Read just this document's value from the packed array.
        let w = tfMeta[2 &* j]
        var v: UInt32 = 0
        if w != 0 {
            let bit = idx &* w
            let word = UInt64(littleEndian: docsPayload.loadUnaligned(fromByteOffset: tfMeta[2 &* j &+ 1] &+ (bit >> 3), as: UInt64.self))
            v = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & ((1 << UInt64(w)) &- 1))
        }
        return k == 1 ? v &+ 1 : v
    }

    /// Moves the skip position (not the cursor) to the block that may contain `target`; returns that
    /// block's last doc, or noMoreDocs if the term has no doc >= target.
    @inline(__always) public func shallowAdvance(_ target: UInt32) -> UInt32 {
        guard skip != nil else {
            let last = info.docCount == 1 && block == 0 ? blockLastDoc : (block == 0 ? blockLastDoc : maxDoc &- 1)
            return target <= last ? last : Self.noMoreDocs
        }
        var b = max(shallowBlock, block < 0 ? 0 : min(block, nBlocks - 1))
        b = firstBlock(from: b, reaching: target)
        if b == nBlocks { shallowBlock = nBlocks - 1; return Self.noMoreDocs }
        shallowBlock = b
        return lastDoc(ofBlock: b)
    }

    /// Impact vectors per block of the shallow position (`PostingsFormat`): 1 for single-block terms.
    @inline(__always) public var blockVectors: Int { skip == nil ? 1 : vectors }

    /// Field j of impact vector v of the shallow block, as (tf, norm code): no document of the block
    /// scores more, for any query, than the best of its vectors. For single-block terms the one
    /// vector is the term-level per-field (max tf, min norm).
    @inline(__always) public func blockBound(_ v: Int, _ j: Int) -> (maxTf: UInt8, minNorm: UInt8) {
        guard let s = skip else { return (info.fieldMaxTf[j], info.fieldMinNorm[j]) }
        let off = nBlocks &* 16 &+ ((shallowBlock &* vectors &+ v) &* k &+ j) &* 2
        return (s.load(fromByteOffset: off, as: UInt8.self), s.load(fromByteOffset: off + 1, as: UInt8.self))
    }

    // MARK: positions

    private var posBlockNumber = -1
    private var posBlockOffset = 0        // payload offset of the decoded positions block
    private let posValues = UnsafeMutablePointer<UInt32>.allocate(capacity: PostingsFormat.blockSize)
    private var posCumBlock = -1          // doc block whose position ordinal table we computed
    private var posCumIdx = 0             // doc index in that block for which posCumValue holds
    private var posCumValue: UInt64 = 0   // ordinal of the first position of doc posCumIdx

    /// Reads the positions of the current document: for each field of the mask with tf > 0, in mask
    /// order, its positions (absolute, ascending) appended to `out`; `fieldStarts[j]` gets the start
    /// index in `out` of field j (fieldStarts has k+1 entries). Returns false on damaged data.
    public func positions(into out: inout [UInt32], fieldStarts: inout [Int]) -> Bool {
        out.removeAll(keepingCapacity: true)
        fieldStarts.removeAll(keepingCapacity: true)
        guard text, doc != Self.noMoreDocs, started else { return false }
        if !tfsDecoded { decodeTfs() }
        // Ordinal of the doc's first position.
        if posCumBlock != block || posCumIdx > idx {
            posCumBlock = block
            posCumIdx = 0
            if let s = skip {
                posCumValue = UInt64(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: (3 &* nBlocks &+ block) &* 4, as: UInt32.self)))
            } else {
                posCumValue = 0
            }
        }
        while posCumIdx < idx {
            for j in 0..<k { posCumValue &+= UInt64(tfs[j &* Self.bs &+ posCumIdx]) }
            posCumIdx += 1
        }
        var ord = posCumValue
        for j in 0..<k {
            fieldStarts.append(out.count)
            let tf = Int(tfs[j &* Self.bs &+ idx])
            guard tf > 0 else { continue }
            // The usual case: the field's positions lie in one decoded block; no per-value checks.
            guard let first = positionValue(ord) else { fail("positions out of range"); return false }
            let r = Int(ord % UInt64(Self.bs))
            if r &+ tf <= Self.bs && ord &+ UInt64(tf) <= info.posCount {
                var p = first
                out.append(p)
                for t in 1..<tf {
                    p = p &+ posValues[r &+ t] &+ 1
                    out.append(p)
                }
                ord &+= UInt64(tf)
                continue
            }
            var p: UInt32 = 0
            for t in 0..<tf {
                guard let v = positionValue(ord) else { fail("positions out of range"); return false }
                p = t == 0 ? v : p &+ v &+ 1
                out.append(p)
                ord &+= 1
            }
        }
        fieldStarts.append(out.count)
        return true
    }

    /// The raw (delta) value of position ordinal `ord` of this term.
    private func positionValue(_ ord: UInt64) -> UInt32? {
        guard ord < info.posCount else { return nil }
        let pb = Int(ord / UInt64(Self.bs))
        if pb != posBlockNumber {
            // Find the block's byte offset: start from the doc block's recorded block, or hop forward.
            var number: Int
            var off: Int
            if let pi = posIndex, pb < posBlocks {
                // Straight to the block (version 3).
                number = pb
                off = Int(info.posOffset) + Int(UInt32(littleEndian: pi.loadUnaligned(fromByteOffset: pb &* 4, as: UInt32.self)))
            } else if pb > posBlockNumber && posBlockNumber >= 0 {
                number = posBlockNumber
                off = posBlockOffset
            } else if let s = skip {
                let first = UInt64(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: (3 &* nBlocks &+ block) &* 4, as: UInt32.self)))
                let rel = Int(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: (2 &* nBlocks &+ block) &* 4, as: UInt32.self)))
                number = Int(first / UInt64(Self.bs))
                off = Int(info.posOffset) + rel
                if number > pb { number = 0; off = Int(info.posOffset) }
            } else {
                number = 0
                off = Int(info.posOffset)
            }
            let bsz = UInt64(Self.bs)
            guard info.posCount <= UInt64(Int.max) / 2 else { return nil }
            let totalBlocks = Int(info.posCount / bsz + (info.posCount % bsz == 0 ? 0 : 1))
            while number < pb {
                guard off < posEnd, let size = PForBlock.size(posPayload + off, count: Self.bs, available: posEnd - off) else {
                    return nil
                }
                off += size
                number += 1
            }
            guard off < posEnd, number < totalBlocks else { return nil }
            let count = number == totalBlocks - 1 ? Int(info.posCount) - number * Self.bs : Self.bs
            guard PForBlock.size(posPayload + off, count: count, available: posEnd - off) != nil else { return nil }
            PForBlock.decode(posPayload + off, count: count, into: posValues)
            posBlockNumber = number
            posBlockOffset = off
        }
        return posValues[Int(ord % UInt64(Self.bs))]
    }
}
