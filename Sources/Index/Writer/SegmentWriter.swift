/// Builds one segment in memory (the inverted index of the documents added so far) and writes it
/// to disk with `flush`. Not thread-safe: one writer per thread.
public final class SegmentWriter {
    public private(set) var layout: SchemaLayout
    private let terms = TermTable()
    private let arena = PostingsArena()
    private var streams: [StreamState] = []
    private var lastDoc: [Int32] = []
    private var fieldMasks: [UInt32] = []

    /// Flat per-field lookups (by field ordinal) for the hot path.
    private var groupOf: [Int16] = []
    private var memberOf: [UInt8] = []
    private var keywordSlotOf: [Int32] = []
    private var textIndexOf: [Int32] = []

    private var norms: [[UInt8]]
    private var fieldStats: [FieldStats]
    private var fieldLen: [UInt32]
    private var stored = StoredFieldsWriter()
    private var ids = IdColumnWriter()
    private var numericColumns: [Int: NumericColumnBuilder] = [:]
    private var ordinalColumns: [Int: OrdinalColumnBuilder] = [:]
    private var isNumericColumn: [Bool] = []
    private var isOrdinalColumn: [Bool] = []
    private var hierarchySeparator: [[UInt8]?] = []
    private var docNumbers: [Double?] = []
    private var docKeywords: [[[UInt8]]] = []
    private var scratch: [UInt64] = []
    /// Per field ordinal: its text group indexes adjacent word pairs (`PairTerms`).
    private var pairsOf: [Bool] = []
    private var anyPairs = false
    /// A document's pair-indexed tokens as (field, position, token index), and a pair term's bytes.
    private var pairTokens: [(field: UInt16, position: UInt32, index: Int32)] = []
    private var pairBytes: [UInt8] = []
    public private(set) var docCount = 0
    /// While ids arrive in increasing byte order, the id column itself serves id lookups (binary
    /// search) and no id terms are written; `sortedIds` keeps them until that order breaks.
    private var idsSorted = true
    private var lastId: String?
    private var sortedIds: [String] = []
    private var pendingIds: [String] = []
    /// Vector fields by ordinal.
    private var vectorBuilders: [Int: VectorFieldBuilder] = [:]

    public init(layout: SchemaLayout) {
        self.layout = layout
        norms = Array(repeating: [], count: layout.textFields.count)
        fieldStats = Array(repeating: FieldStats(), count: layout.textFields.count)
        fieldLen = Array(repeating: 0, count: layout.textFields.count)
        scratch.reserveCapacity(1024)
        rebuildLookups()
    }

    /// Takes a schema that grew (new instances of pattern fields). Text fields may not change.
    public func updateLayout(_ newLayout: SchemaLayout) {
        precondition(newLayout.textFields == layout.textFields, "text fields cannot change while writing")
        layout = newLayout
        rebuildLookups()
    }

    private func rebuildLookups() {
        let n = layout.schema.fields.count
        groupOf = Array(repeating: -1, count: n)
        memberOf = Array(repeating: 0, count: n)
        keywordSlotOf = Array(repeating: -1, count: n)
        textIndexOf = Array(repeating: -1, count: n)
        for i in 0..<n {
            if let g = layout.groupOfField[i] {
                groupOf[i] = Int16(g.group)
                memberOf[i] = UInt8(g.member)
            }
            if let s = layout.keywordSlotOfField[i] { keywordSlotOf[i] = Int32(s) }
        }
        for (ti, f) in layout.textFields.enumerated() { textIndexOf[f] = Int32(ti) }
        pairsOf = (0..<n).map { i in layout.groupOfField[i].map { layout.textGroups[$0.group].pairs } ?? false }
        anyPairs = pairsOf.contains(true)
        isNumericColumn = Array(repeating: false, count: n)
        isOrdinalColumn = Array(repeating: false, count: n)
        hierarchySeparator = Array(repeating: nil, count: n)
        for f in layout.numericColumns {
            isNumericColumn[f] = true
            if numericColumns[f] == nil {
                // A column that appears mid-segment: earlier documents have no value.
                var b = NumericColumnBuilder()
                for _ in 0..<docCount { b.add(nil) }
                numericColumns[f] = b
            }
        }
        for f in layout.ordinalColumns {
            isOrdinalColumn[f] = true
            if ordinalColumns[f] == nil {
                var b = OrdinalColumnBuilder()
                for _ in 0..<docCount { b.add([]) }
                ordinalColumns[f] = b
            }
        }
        for (f, sep) in layout.hierarchy { hierarchySeparator[f] = sep }
        for f in layout.vectorFields where vectorBuilders[f] == nil {
            vectorBuilders[f] = VectorFieldBuilder(field: f, definition: layout.schema.fields[f])
        }
        docNumbers = Array(repeating: nil, count: n)
        docKeywords = Array(repeating: [], count: n)
    }

    /// Approximate memory held, for flush decisions.
    public var memoryBytes: Int {
        terms.memoryBytes + arena.memoryBytes + streams.capacity * MemoryLayout<StreamState>.stride
            + lastDoc.capacity * 8 + norms.count * docCount + stored.out.count + ids.out.count
            + vectorBuilders.values.reduce(0) { $0 + $1.memoryBytes }
    }

    public var termCount: Int { terms.count }

    @inline(__always) private func newTermState(_ id: UInt32) {
        if Int(id) == streams.count {
            streams.append(StreamState())
            lastDoc.append(-1)
            fieldMasks.append(0)
        }
    }

    /// What the readers accept: refuse anything else here, with a clear error.
    static func validate(_ doc: IndexDocument) throws {
        guard !doc.id.isEmpty else { throw IndexError.invalidDocument("document has no id") }
        guard doc.id.utf8.count <= IndexLimits.maxIdBytes else {
            throw IndexError.invalidDocument("id is \(doc.id.utf8.count) bytes; at most \(IndexLimits.maxIdBytes) are allowed")
        }
        guard doc.stored.count <= IndexLimits.maxStoredValues else {
            throw IndexError.invalidDocument("\(doc.stored.count) stored values; at most \(IndexLimits.maxStoredValues) per document")
        }
        func depth(_ v: StoredValue) -> Int {
            if case .list(let l) = v { return 1 + (l.map(depth).max() ?? 0) }
            return 0
        }
        for (f, v) in doc.stored {
            guard depth(v) <= IndexLimits.maxStoredDepth else {
                throw IndexError.invalidDocument("stored value of field \(f) is nested deeper than \(IndexLimits.maxStoredDepth) lists")
            }
            if case .string(let s) = v, s.utf8.count > IndexLimits.maxStoredStringBytes {
                throw IndexError.invalidDocument("stored value of field \(f) is \(s.utf8.count) bytes; at most \(IndexLimits.maxStoredStringBytes)")
            }
        }
    }

    @inline(__always) private func postKeyword(slot: UInt16, _ p: UnsafePointer<UInt8>, _ n: Int, doc docId: Int32) {
        let id = terms.intern(slot: slot, p, n)
        newTermState(id)
        if lastDoc[Int(id)] == docId { return }
        var st = streams[Int(id)]
        arena.writeVInt(&st, UInt32(docId - lastDoc[Int(id)]))
        streams[Int(id)] = st
        lastDoc[Int(id)] = docId
    }

    /// Adds the pair terms of a document's pair-indexed fields to `scratch` (they do not count
    /// toward field lengths): every token at position p with every token at p+1 of the same field.
    private func addPairs(_ doc: IndexDocument, _ base: UnsafePointer<UInt8>) {
        pairTokens.removeAll(keepingCapacity: true)
        var sorted = true
        for (i, t) in doc.tokens.enumerated() where pairsOf[Int(t.field)] {
            if let last = pairTokens.last, (last.field, last.position) > (t.field, t.position) { sorted = false }
            pairTokens.append((t.field, t.position, Int32(i)))
        }
        guard pairTokens.count > 1 else { return }
        if !sorted { pairTokens.sort { ($0.field, $0.position, $0.index) < ($1.field, $1.position, $1.index) } }
        let n = pairTokens.count
        var i = 0
        while i < n {
            let (f, p, _) = pairTokens[i]
            var j = i + 1
            while j < n && pairTokens[j].field == f && pairTokens[j].position == p { j += 1 }
            var k = j
            if j < n && pairTokens[j].field == f && p < UInt32.max && pairTokens[j].position == p + 1 {
                while k < n && pairTokens[k].field == f && pairTokens[k].position == p + 1 { k += 1 }
            }
            for x in i..<j {
                let a = doc.tokens[Int(pairTokens[x].index)]
                let aBytes = UnsafeBufferPointer(start: base + Int(a.start), count: Int(a.length))
                tokens: for y in j..<k {
                    let b = doc.tokens[Int(pairTokens[y].index)]
                    // One occurrence per word at p+1, as a phrase counts them (a word twice at one
                    // position is one match).
                    for y0 in j..<y {
                        let b0 = doc.tokens[Int(pairTokens[y0].index)]
                        if b0.length == b.length && memcmpEqual(base + Int(b0.start), base + Int(b.start), Int(b.length)) { continue tokens }
                    }
                    guard PairTerms.encode(aBytes, UnsafeBufferPointer(start: base + Int(b.start), count: Int(b.length)),
                                           into: &pairBytes) else { continue }
                    let id = pairBytes.withUnsafeBufferPointer { terms.intern(slot: UInt16(groupOf[Int(f)]), $0.baseAddress!, $0.count) }
                    newTermState(id)
                    scratch.append(UInt64(id) << 37 | UInt64(memberOf[Int(f)]) << 32 | UInt64(p))
                }
            }
            i = j
        }
    }

    /// Adds a document; its id is `docCount` before the call.
    /// Every check comes before the first change, so a document that is refused leaves nothing
    /// behind (no postings that the next document would inherit).
    public func add(_ doc: IndexDocument) throws {
        try Self.validate(doc)
        let docId = Int32(docCount)
        let nFields = groupOf.count
        for t in doc.tokens {
            guard Int(t.field) < nFields && groupOf[Int(t.field)] >= 0 else {
                throw IndexError.invalidDocument("field ordinal \(t.field) is not a text field")
            }
            // 0xFF starts pair terms (`PairTerms`) and never UTF-8 text.
            if doc.bytes[Int(t.start)] == PairTerms.marker {
                throw IndexError.invalidDocument("field \(layout.schema.fields[Int(t.field)].name): a token is not UTF-8 text (starts with byte 0xFF)")
            }
        }
        for k in doc.keywords where !(Int(k.field) < nFields && keywordSlotOf[Int(k.field)] >= 0) {
            throw IndexError.invalidDocument("field ordinal \(k.field) is not keyword-indexed")
        }
        // Vector fields are checked before anything changes, so a bad vector or a missing model
        // rejects the document whole.
        var vectorWork: [(VectorFieldBuilder, [Float]?, String?)] = []
        for b in vectorBuilders.values where b.batchIsFull { try b.embedPending() }
        if !doc.vectors.isEmpty || !doc.vectorTexts.isEmpty {
            var seen = Set<UInt16>()
            for (f, v) in doc.vectors {
                guard let b = vectorBuilders[Int(f)] else { throw IndexError.invalidDocument("field ordinal \(f) is not a vector field") }
                guard seen.insert(f).inserted else { throw IndexError.invalidDocument("field \(b.definition.name): one vector per document") }
                vectorWork.append((b, try VectorFieldBuilder.normalised(v, dims: b.dims, field: b.definition.name), nil))
            }
            for (f, t) in doc.vectorTexts {
                guard let b = vectorBuilders[Int(f)] else { throw IndexError.invalidDocument("field ordinal \(f) is not a vector field") }
                guard seen.insert(f).inserted else { throw IndexError.invalidDocument("field \(b.definition.name): one vector per document") }
                _ = try b.resolveEmbedder()
                var text = t
                if text.utf8.count > IndexLimits.maxVectorTextBytes {
                    text = String(decoding: Array(text.utf8.prefix(IndexLimits.maxVectorTextBytes)), as: UTF8.self)
                }
                vectorWork.append((b, nil, text))
            }
        }
        for i in 0..<fieldLen.count { fieldLen[i] = 0 }
        scratch.removeAll(keepingCapacity: true)
        try doc.bytes.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
            for t in doc.tokens {
                let f = Int(t.field)
                guard f < nFields, groupOf[f] >= 0 else {
                    throw IndexError.invalidDocument("field ordinal \(f) is not a text field")
                }
                let id = terms.intern(slot: UInt16(groupOf[f]), base + Int(t.start), Int(t.length))
                newTermState(id)
                fieldLen[Int(textIndexOf[f])] += 1
                scratch.append(UInt64(id) << 37 | UInt64(memberOf[f]) << 32 | UInt64(t.position))
            }
            if anyPairs { addPairs(doc, base) }
            for (f, n) in doc.lengthDiscounts where Int(f) < nFields && groupOf[Int(f)] >= 0 {
                let t = Int(textIndexOf[Int(f)])
                // A field with tokens keeps a length of at least 1.
                if fieldLen[t] > 0 { fieldLen[t] = max(1, fieldLen[t] - min(fieldLen[t], numericCast(n))) }
            }
            scratch.sort()
            // One posting per distinct term.
            var i = 0
            let n = scratch.count
            while i < n {
                let tid = Int(scratch[i] >> 37)
                var j = i
                while j < n && Int(scratch[j] >> 37) == tid { j += 1 }
                var st = streams[tid]
                arena.writeVInt(&st, UInt32(docId - lastDoc[tid]))
                // Count member groups.
                var groups: UInt32 = 0
                var prevMember = -1
                for x in i..<j {
                    let m = Int((scratch[x] >> 32) & 0x1F)
                    if m != prevMember { groups += 1; prevMember = m }
                }
                arena.writeVInt(&st, groups)
                var x = i
                var mask = fieldMasks[tid]
                while x < j {
                    let m = Int((scratch[x] >> 32) & 0x1F)
                    var y = x
                    while y < j && Int((scratch[y] >> 32) & 0x1F) == m { y += 1 }
                    arena.writeVInt(&st, UInt32(m))
                    arena.writeVInt(&st, UInt32(y - x))
                    var prevPos: UInt32 = 0
                    for z in x..<y {
                        let p = UInt32(truncatingIfNeeded: scratch[z])
                        arena.writeVInt(&st, z == x ? p : p &- prevPos)
                        prevPos = p
                    }
                    mask |= 1 << UInt32(m)
                    x = y
                }
                fieldMasks[tid] = mask
                streams[tid] = st
                lastDoc[tid] = docId
                i = j
            }
            for k in doc.keywords {
                let f = Int(k.field)
                guard f < nFields, keywordSlotOf[f] >= 0 else {
                    throw IndexError.invalidDocument("field ordinal \(f) is not keyword-indexed")
                }
                let slot = UInt16(keywordSlotOf[f])
                let start = base + Int(k.start)
                let length = Int(k.length)
                if isOrdinalColumn[f] { docKeywords[f].append(Array(UnsafeBufferPointer(start: start, count: length))) }
                // Hierarchies: every prefix that ends before a separator is a term too.
                if let sep = hierarchySeparator[f], sep.count > 0, length > sep.count {
                    var i = 0
                    while i + sep.count <= length {
                        if memcmpEqual(start + i, sep, sep.count) {
                            var e = i
                            while e > 0 && start[e - 1] == 0x20 { e -= 1 }
                            if e > 0 { postKeyword(slot: slot, start, e, doc: docId) }
                            i += sep.count
                        } else {
                            i += 1
                        }
                    }
                }
                postKeyword(slot: slot, start, length, doc: docId)
            }
        }
        for ti in 0..<fieldLen.count {
            let len = fieldLen[ti]
            norms[ti].append(FieldNorm.encode(len))
            if len > 0 {
                fieldStats[ti].sumLength += UInt64(len)
                fieldStats[ti].docCount += 1
            }
        }
        // Doc values.
        if !numericColumns.isEmpty {
            for (f, v) in doc.numbers where Int(f) < nFields && isNumericColumn[Int(f)] {
                if docNumbers[Int(f)] == nil { docNumbers[Int(f)] = v }
            }
            for f in layout.numericColumns {
                numericColumns[f]!.add(docNumbers[f])
                docNumbers[f] = nil
            }
        }
        for f in layout.ordinalColumns {
            ordinalColumns[f]!.add(docKeywords[f])
            docKeywords[f].removeAll(keepingCapacity: true)
        }
        stored.add(doc.stored)
        ids.add(doc.id)
        if idsSorted, let last = lastId, !(last.utf8.lexicographicallyPrecedes(doc.id.utf8)) { idsSorted = false }
        lastId = doc.id
        if !idsSorted { pendingIds.append(doc.id) } else { sortedIds.append(doc.id) }
        for (b, v, t) in vectorWork {
            if let v { b.add(doc: docId, vector: v) } else if let t { b.add(doc: docId, text: t) }
        }
        docCount += 1
    }

    /// Adds the id terms (for segments whose ids are not sorted).
    private func indexIds() {
        guard !idsSorted, let slot = layout.keywordSlotOfField[layout.idOrdinal] else { return }
        for (d, idString) in (sortedIds + pendingIds).enumerated() {
            var s = idString
            s.withUTF8 { p in
                guard p.count > 0 else { return }
                let id = terms.intern(slot: UInt16(slot), p.baseAddress!, min(p.count, IndexLimits.maxTermBytes))
                newTermState(id)
                if lastDoc[Int(id)] != Int32(d) {
                    var st = streams[Int(id)]
                    arena.writeVInt(&st, UInt32(Int32(d) - lastDoc[Int(id)]))
                    streams[Int(id)] = st
                    lastDoc[Int(id)] = Int32(d)
                }
            }
        }
        sortedIds = []
        pendingIds = []
    }

    /// Writes the segment's files into `directory` and returns its description.
    public func flush(directory: String, segmentId: String, sync: Bool = true) throws -> SegmentMeta {
        indexIds()
        var files: [String: FileInfo] = [:]
        func open(_ c: SegmentComponent) throws -> IndexFileWriter {
            try IndexFileWriter(path: directory + "/" + c.fileName(segment: segmentId), kind: c.kind, version: c.version)
        }
        func close(_ w: IndexFileWriter, _ c: SegmentComponent) throws {
            let (size, sum) = try w.finish(sync: sync)
            files[c.fileName(segment: segmentId)] = FileInfo(size: size, checksum: sum)
        }

        // Norms.
        let normsFile = try open(.norms)
        var nh = ByteWriter(capacity: 8)
        nh.u32(UInt32(norms.count))
        nh.u32(UInt32(docCount))
        try normsFile.write(nh)
        for n in norms { try normsFile.write(n) }
        try close(normsFile, .norms)

        // Postings and dictionary.
        let docsFile = try open(.docs)
        let posFile = try open(.pos)
        var dict = TermDictionaryWriter(textSlotCount: layout.textGroups.count)
        var enc = PostingsEncoder(bm25: layout.schema.bm25Parameters)
        var buf = TermPostingsBuffer()
        let textGroups = layout.textGroups
        let textIndex = textIndexOf
        let normPtrs: [UnsafeMutableBufferPointer<UInt8>] = norms.map { n in
            let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(n.count, 1))
            _ = p.initialize(from: n)
            return p
        }
        defer { for p in normPtrs { p.deallocate() } }
        for tid32 in terms.sortedIds() {
            let tid = Int(tid32)
            let slot = terms.slot(tid)
            let text = slot < textGroups.count
            buf.reset(fieldMask: text ? fieldMasks[tid] : 0)
            decode(tid, text: text, into: &buf)
            let info = enc.encode(buf, text: text, docsBase: docsFile.payloadOffset, posBase: posFile.payloadOffset,
                                  proxy: { member in
                                      let f = textGroups[slot].fields[member]
                                      return (layout.schema.fields[f].effectiveBoost, fieldStats[Int(textIndex[f])].averageLength)
                                  }) {
                member in
                UnsafeBufferPointer(normPtrs[Int(textIndex[textGroups[slot].fields[member]])])
            }
            dict.add(key: terms.key(tid), info: info)
            if enc.docsOut.count > 1 << 20 {
                try docsFile.write(enc.docsOut)
                enc.docsOut.removeAll()
            }
            if enc.posOut.count > 1 << 20 {
                try posFile.write(enc.posOut)
                enc.posOut.removeAll()
            }
        }
        try docsFile.write(enc.docsOut)
        try posFile.write(enc.posOut)
        try close(docsFile, .docs)
        try close(posFile, .pos)
        let termsFile = try open(.terms)
        try termsFile.write(dict.finish())
        try close(termsFile, .terms)

        let storeFile = try open(.store)
        try storeFile.write(stored.finish())
        try close(storeFile, .store)
        let idsFile = try open(.ids)
        try idsFile.write(ids.finish())
        try close(idsFile, .ids)

        let dvFile = try open(.dv)
        try dvFile.write(DocValuesWriter.encode(numeric: numericColumns, ordinals: ordinalColumns, docCount: docCount))
        try close(dvFile, .dv)

        if !vectorBuilders.isEmpty {
            var built: [(field: Int, docs: [Int32], graph: HNSWGraph)] = []
            for f in vectorBuilders.keys.sorted() {
                let (docs, graph) = try vectorBuilders[f]!.finish()
                built.append((f, docs, graph))
            }
            let vecFile = try open(.vec)
            try VectorFileFormat.write(built, to: vecFile)
            try close(vecFile, .vec)
        }

        return SegmentMeta(id: segmentId, docCount: docCount, fieldCount: layout.schema.fields.count,
                           textFieldStats: fieldStats, files: files, idsSorted: idsSorted)
    }

    /// Decodes a term's in-memory stream into `buf`.
    private func decode(_ tid: Int, text: Bool, into buf: inout TermPostingsBuffer) {
        var r = StreamReader(arena: arena, state: streams[tid])
        var doc: Int64 = -1
        let mask = buf.fieldMask
        let k = buf.k
        // member -> index j within the mask
        var rank = [Int](repeating: -1, count: 32)
        if text {
            var j = 0
            var m = mask
            while m != 0 {
                rank[m.trailingZeroBitCount] = j
                j += 1
                m &= m - 1
            }
        }
        while !r.atEnd {
            doc += Int64(r.vint())
            buf.docs.append(UInt32(doc))
            guard text else { continue }
            let base = buf.tfs.count
            for _ in 0..<k { buf.tfs.append(0) }
            let groups = Int(r.vint())
            for _ in 0..<groups {
                let m = Int(r.vint())
                let tf = r.vint()
                buf.tfs[base + rank[m]] = tf
                var p: UInt32 = 0
                for t in 0..<Int(tf) {
                    let v = r.vint()
                    p = t == 0 ? v : p &+ v
                    buf.positions.append(p)
                }
            }
        }
    }
}
