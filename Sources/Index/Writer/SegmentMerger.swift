import Synchronization

/// Merges segments into one: documents keep their order (segment by segment), deleted documents
/// are dropped, postings of equal keys are concatenated with their doc ids renumbered, and norms,
/// stored fields, ids and doc values (with their in-place updates) are copied. Stored copies of
/// numeric and boolean fields take their current doc value, so an in-place update survives.
struct SegmentMerger {
    let directory: String
    let layout: SchemaLayout
    let readers: [SegmentReader]
    /// Per source segment: each old doc's number in the merged segment, or -1 if it was deleted.
    let docMaps: [[Int32]]

    init(directory: String, layout: SchemaLayout, segments: [SegmentMeta]) throws {
        let readers = try segments.map {
            try SegmentReader(directory: directory, meta: $0, textFieldCount: layout.textFields.count, verify: true)
        }
        self.init(directory: directory, layout: layout, readers: readers)
    }

    init(directory: String, layout: SchemaLayout, readers: [SegmentReader]) {
        self.directory = directory
        self.layout = layout
        self.readers = readers
        var maps: [[Int32]] = []
        var next: Int32 = 0
        for r in readers {
            var m = [Int32](repeating: -1, count: r.docCount)
            for d in 0..<r.docCount where r.isLive(d) {
                m[d] = next
                next += 1
            }
            maps.append(m)
        }
        docMaps = maps
    }

    func merge(into id: String, sync: Bool) throws -> SegmentMeta {
        let readers = self.readers
        let total = readers.reduce(0) { $0 + $1.liveDocCount }
        var files: [String: FileInfo] = [:]
        func open(_ c: SegmentComponent) throws -> IndexFileWriter {
            try IndexFileWriter(path: directory + "/" + c.fileName(segment: id), kind: c.kind, version: c.version)
        }
        func close(_ w: IndexFileWriter, _ c: SegmentComponent) throws {
            let (size, sum) = try w.finish(sync: sync)
            files[c.fileName(segment: id)] = FileInfo(size: size, checksum: sum)
        }
        let nText = layout.textFields.count

        // Norms.
        var norms: [[UInt8]] = Array(repeating: [], count: nText)
        for t in 0..<nText {
            norms[t].reserveCapacity(total)
            for r in readers {
                let src = UnsafeBufferPointer(start: r.norms(textField: t), count: r.docCount)
                if r.deleted == nil {
                    norms[t].append(contentsOf: src)
                } else {
                    for d in 0..<r.docCount where r.isLive(d) { norms[t].append(src[d]) }
                }
            }
        }
        let nf = try open(.norms)
        var nh = ByteWriter(capacity: 8)
        nh.u32(UInt32(nText))
        nh.u32(UInt32(total))
        try nf.write(nh)
        for n in norms { try nf.write(n) }
        try close(nf, .norms)
        var stats = Array(repeating: FieldStats(), count: nText)
        for r in readers {
            for (t, s) in r.meta.textFieldStats.enumerated() where t < nText {
                var st = s
                if let del = r.deleted {
                    // Deleted documents leave the statistics (their lengths as the norms record them).
                    let np = r.norms(textField: t)
                    for d in 0..<r.docCount where del.isDeleted(d) && np[d] != 0 {
                        let len = UInt64(FieldNorm.decode(np[d]))
                        st.sumLength = st.sumLength >= len ? st.sumLength - len : 0
                        if st.docCount > 0 { st.docCount -= 1 }
                    }
                }
                stats[t].sumLength += st.sumLength
                stats[t].docCount += st.docCount
            }
        }

        // Stored fields and ids.
        var stored = StoredFieldsWriter()
        var ids = IdColumnWriter()
        var idsSorted = true
        var lastId: [UInt8]?
        var idTerms: [[UInt8]] = []
        let fields = layout.schema.fields
        for r in readers {
            // Stored numbers and booleans follow their column (which in-place updates changed).
            let columns = r.docValues.numeric
            var d = 0
            try r.stored.forEachDocument { values in
                defer { d += 1 }
                guard r.isLive(d) else { return }
                stored.add(values.map { v -> (UInt16, StoredValue) in
                    guard let col = columns[v.field], v.field < fields.count else { return (UInt16(truncatingIfNeeded: v.field), v.value) }
                    let current = col.value(d)
                    switch v.value {
                    case .int(let i) where current != Double(i): break
                    case .double(let x) where current != x: break
                    case .bool(let b) where current != (b ? 1 : 0): break
                    default: return (UInt16(truncatingIfNeeded: v.field), v.value)
                    }
                    return (UInt16(truncatingIfNeeded: v.field), StoredValue.numeric(current, boolean: fields[v.field].type == .boolean) ?? v.value)
                })
            }
            for d in 0..<r.docCount where r.isLive(d) {
                let s = try r.ids.id(d)
                ids.add(s)
                let b = Array(s.utf8)
                if let l = lastId, compareBytes2(l, b) >= 0 { idsSorted = false }
                lastId = b
                idTerms.append(b)
            }
        }
        let idSlot = layout.keywordSlotOfField[layout.idOrdinal]

        // Doc values: rebuilt value by value.
        var numeric: [Int: NumericColumnBuilder] = [:]
        var ordinal: [Int: OrdinalColumnBuilder] = [:]
        for f in layout.numericColumns {
            var b = NumericColumnBuilder()
            for r in readers {
                let col = r.docValues.numeric[f]
                for d in 0..<r.docCount where r.isLive(d) { b.add(col?.value(d)) }
            }
            numeric[f] = b
        }
        for f in layout.ordinalColumns {
            var b = OrdinalColumnBuilder()
            for r in readers {
                guard let col = r.docValues.ordinals[f] else {
                    for _ in 0..<r.liveDocCount { b.add([]) }
                    continue
                }
                let values = try col.dictionary.allValues()
                for d in 0..<r.docCount where r.isLive(d) {
                    var vs: [[UInt8]] = []
                    col.forEachOrd(d) { vs.append(values[$0]) }
                    b.add(vs)
                }
            }
            ordinal[f] = b
        }
        let dvf = try open(.dv)
        try dvf.write(DocValuesWriter.encode(numeric: numeric, ordinals: ordinal, docCount: total))
        try close(dvf, .dv)
        let sf = try open(.store)
        try sf.write(stored.finish())
        try close(sf, .store)
        let idf = try open(.ids)
        try idf.write(ids.finish())
        try close(idf, .ids)
        if !layout.vectorFields.isEmpty {
            let vf = try open(.vec)
            try VectorFileFormat.write(layout.vectorFields.map { mergeVectors(field: $0, into: id) }, to: vf)
            try close(vf, .vec)
        }

        // Postings: a k-way merge of the dictionaries.
        let docsFile = try open(.docs)
        let posFile = try open(.pos)
        var dict = TermDictionaryWriter(textSlotCount: layout.textGroups.count)
        var enc = PostingsEncoder(bm25: layout.schema.bm25Parameters)
        var buf = TermPostingsBuffer()
        var iters = try readers.map { try $0.terms.makeIterator() }
        var live = try iters.indices.map { try iters[$0].next() }
        let normPtrs: [UnsafeMutableBufferPointer<UInt8>] = norms.map { n in
            let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(n.count, 1))
            _ = p.initialize(from: n)
            return p
        }
        defer { for p in normPtrs { p.deallocate() } }
        var textIndexOf = [Int](repeating: -1, count: layout.schema.fields.count)
        for (ti, f) in layout.textFields.enumerated() { textIndexOf[f] = ti }
        var positions: [UInt32] = []
        var starts: [Int] = []
        // Id terms are rebuilt from the id column (sources may or may not hold them); none at all
        // when the merged ids are sorted.
        var idEntries: [([UInt8], UInt32)] = []
        if !idsSorted, let idSlot {
            idEntries = idTerms.enumerated().map { d, b in
                (SegmentReader.key(slot: idSlot, term: Array(b.prefix(IndexLimits.maxTermBytes))), UInt32(d))
            }
            idEntries.sort { let c = compareBytes2($0.0, $1.0); return c < 0 || (c == 0 && $0.1 < $1.1) }
        }
        var idPos = 0
        func isIdKey(_ k: [UInt8]) -> Bool { idSlot != nil && (Int(k[0]) << 8 | Int(k[1])) == idSlot! }
        while true {
            // Smallest current key (source id terms are skipped).
            var minKey: [UInt8]?
            for i in iters.indices where live[i] {
                while live[i] && isIdKey(iters[i].key) { live[i] = try iters[i].next() }
                guard live[i] else { continue }
                if minKey == nil || compareBytes2(iters[i].key, minKey!) < 0 { minKey = iters[i].key }
            }
            if idPos < idEntries.count && (minKey == nil || compareBytes2(idEntries[idPos].0, minKey!) < 0) {
                let key = idEntries[idPos].0
                buf.reset(fieldMask: 0)
                while idPos < idEntries.count && idEntries[idPos].0 == key {
                    buf.docs.append(idEntries[idPos].1)
                    idPos += 1
                }
                let info = enc.encode(buf, text: false, docsBase: docsFile.payloadOffset, posBase: posFile.payloadOffset) { _ in
                    UnsafeBufferPointer(start: nil, count: 0)
                }
                key.withUnsafeBufferPointer { dict.add(key: $0, info: info) }
                continue
            }
            guard let key = minKey else { break }
            let slot = Int(key[0]) << 8 | Int(key[1])
            let text = slot < layout.textGroups.count
            var mask: UInt32 = 0
            var sources: [(Int, TermInfo)] = []
            for i in iters.indices where live[i] && iters[i].key == key {
                sources.append((i, iters[i].info))
                mask |= iters[i].info.fieldMask
            }
            buf.reset(fieldMask: text ? mask : 0)
            for (i, info) in sources {
                let c = try readers[i].postings(info, text: text)
                let srcMembers = info.members
                let dstIndex: [Int] = srcMembers.map { m in (mask & ((1 << UInt32(m)) - 1)).nonzeroBitCount }
                let map = docMaps[i]
                while c.nextDoc() != PostingsCursor.noMoreDocs {
                    guard Int(c.doc) < map.count else { break }
                    let nd = map[Int(c.doc)]
                    if nd < 0 { continue }
                    buf.docs.append(UInt32(nd))
                    guard text else { continue }
                    let base = buf.tfs.count
                    for _ in 0..<buf.k { buf.tfs.append(0) }
                    for (j, dj) in dstIndex.enumerated() { buf.tfs[base + dj] = c.tf(j) }
                    guard c.positions(into: &positions, fieldStarts: &starts) else { break }
                    // Positions must follow destination member order, which equals source order.
                    buf.positions.append(contentsOf: positions)
                }
                if let e = c.corruption { throw IndexError.corrupt(file: readers[i].meta.id + ".docs", reason: e) }
            }
            if buf.docs.isEmpty {
                // Every document with the term was deleted.
                for (i, _) in sources { live[i] = try iters[i].next() }
                continue
            }
            if text && buf.k > 1 { buf.dropEmptyFields() }
            let groupFields = text ? layout.textGroups[slot].fields : []
            let info = enc.encode(buf, text: text, docsBase: docsFile.payloadOffset, posBase: posFile.payloadOffset,
                                  proxy: { member in
                                      let f = groupFields[member]
                                      return (layout.schema.fields[f].effectiveBoost, stats[textIndexOf[f]].averageLength)
                                  }) {
                member in UnsafeBufferPointer(normPtrs[textIndexOf[groupFields[member]]])
            }
            key.withUnsafeBufferPointer { dict.add(key: $0, info: info) }
            if enc.docsOut.count > 1 << 20 { try docsFile.write(enc.docsOut); enc.docsOut.removeAll() }
            if enc.posOut.count > 1 << 20 { try posFile.write(enc.posOut); enc.posOut.removeAll() }
            for (i, _) in sources { live[i] = try iters[i].next() }
        }
        try docsFile.write(enc.docsOut)
        try posFile.write(enc.posOut)
        try close(docsFile, .docs)
        try close(posFile, .pos)
        let tf = try open(.terms)
        try tf.write(dict.finish())
        try close(tf, .terms)
        return SegmentMeta(id: id, docCount: total, fieldCount: layout.schema.fields.count, textFieldStats: stats, files: files,
                           idsSorted: idsSorted)
    }
}

extension SegmentMerger {
    /// The merged graph of one vector field. The graph of the largest source without deletions is
    /// kept and the other sources' vectors are inserted into it, as Lucene does (with no such
    /// source the graph is built anew); then its nodes are renumbered into document order, so
    /// nodes and documents rank ties alike. Vectors are copied, never embedded again.
    /// Merged segments whose graph was kept from a source (tests check the path taken).
    static let keptGraphs = Mutex<Set<String>>([])

    func mergeVectors(field: Int, into id: String) -> (field: Int, docs: [Int32], graph: HNSWGraph) {
        let def = layout.schema.fields[field]
        let params = def.hnswParameters
        var seed: Int?
        var best = 0
        for (i, r) in readers.enumerated() {
            guard let v = r.vectors[field], r.deleted == nil, v.graph.parameters.m == params.m, v.count > best else { continue }
            seed = i
            best = v.count
        }
        let graph: HNSWGraph
        var docs: [Int32] = []
        if let s = seed, let v = readers[s].vectors[field] {
            Self.keptGraphs.withLock { if $0.count < 1000 { $0.insert(id) } }
            graph = v.graph.copy(efConstruction: params.efConstruction)
            docs = v.docs.map { docMaps[s][Int($0)] }
        } else {
            graph = HNSWGraph(dimensions: def.dims ?? 1, parameters: params)
        }
        for (i, r) in readers.enumerated() where i != seed {
            guard let v = r.vectors[field] else { continue }
            for (node, d) in v.docs.enumerated() {
                let nd = docMaps[i][Int(d)]
                guard nd >= 0 else { continue }
                graph.add(v.graph.vector(node))
                docs.append(nd)
            }
        }
        if seed == nil { return (field, docs, graph) }
        // Node order = document order.
        let order = docs.indices.sorted { docs[$0] < docs[$1] }
        var newId = [Int32](repeating: 0, count: order.count)
        for (i, old) in order.enumerated() { newId[old] = Int32(i) }
        return (field, order.map { docs[$0] }, graph.renumbered(newId))
    }
}

extension StoredFieldsReader {
    /// Calls `body` with each document's stored values, in order, decompressing each block once.
    func forEachDocument(_ body: ([(field: Int, value: StoredValue)]) throws -> Void) throws {
        var ir = ByteReader(index, file: file.name)
        for b in 0..<blockCount {
            ir.offset = b * 12
            _ = try ir.u32()
            let off = try ir.offset(max: index.baseAddress.map { UnsafeRawPointer($0) - file.payload.baseAddress! } ?? 0)
            var r = file.reader(at: off)
            let rawLen = Int(try r.u32())
            let compLen = Int(try r.u32())
            let comp = try r.bytes(compLen)
            let raw = try decompress(comp, rawLength: rawLen, at: off)
            try raw.withUnsafeBytes { buf in
                var br = ByteReader(base: buf.baseAddress!, count: rawLen, file: file.name)
                while !br.atEnd {
                    let nv = try br.vint(max: 1 << 16)
                    var out: [(field: Int, value: StoredValue)] = []
                    for _ in 0..<nv {
                        let f = try br.vint(max: (1 << 16) - 1)
                        out.append((f, try StoredFieldsFormat.decode(&br)))
                    }
                    try body(out)
                }
            }
        }
    }
}

extension TermPostingsBuffer {
    /// Removes fields of the mask in which no remaining document has the term (after deleted
    /// documents were dropped), so every field of a term's mask has documents.
    mutating func dropEmptyFields() {
        let n = docs.count
        var keep: [Bool] = Array(repeating: false, count: k)
        for i in 0..<n {
            for j in 0..<k where tfs[i * k + j] > 0 { keep[j] = true }
        }
        guard keep.contains(false) else { return }
        var newMask: UInt32 = 0
        var m = fieldMask
        var j = 0
        while m != 0 {
            let bit = m & (~m &+ 1)
            if keep[j] { newMask |= bit }
            m &= m - 1
            j += 1
        }
        let nk = newMask.nonzeroBitCount
        var out: [UInt32] = []
        out.reserveCapacity(n * nk)
        for i in 0..<n {
            for j in 0..<k where keep[j] { out.append(tfs[i * k + j]) }
        }
        tfs = out
        fieldMask = newMask
        k = nk
    }
}
