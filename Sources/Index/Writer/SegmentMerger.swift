/// Merges segments into one: documents keep their order (segment by segment), postings of equal
/// keys are concatenated with their doc ids shifted, and norms, stored fields and ids are copied.
struct SegmentMerger {
    let directory: String
    let layout: SchemaLayout
    let segments: [SegmentMeta]

    init(directory: String, layout: SchemaLayout, segments: [SegmentMeta]) throws {
        self.directory = directory
        self.layout = layout
        self.segments = segments
    }

    func merge(into id: String, sync: Bool) throws -> SegmentMeta {
        let readers = try segments.map {
            try SegmentReader(directory: directory, meta: $0, textFieldCount: layout.textFields.count, verify: true)
        }
        var bases: [UInt32] = []
        var total = 0
        for r in readers {
            bases.append(UInt32(total))
            total += r.docCount
        }
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
                norms[t].append(contentsOf: UnsafeBufferPointer(start: r.norms(textField: t), count: r.docCount))
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
                stats[t].sumLength += s.sumLength
                stats[t].docCount += s.docCount
            }
        }

        // Stored fields and ids.
        var stored = StoredFieldsWriter()
        var ids = IdColumnWriter()
        var idsSorted = true
        var lastId: [UInt8]?
        var idTerms: [[UInt8]] = []
        for r in readers {
            try r.stored.forEachDocument { values in stored.add(values.map { (UInt16($0.field), $0.value) }) }
            for d in 0..<r.docCount {
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
                for d in 0..<r.docCount { b.add(col?.value(d)) }
            }
            numeric[f] = b
        }
        for f in layout.ordinalColumns {
            var b = OrdinalColumnBuilder()
            for r in readers {
                guard let col = r.docValues.ordinals[f] else {
                    for _ in 0..<r.docCount { b.add([]) }
                    continue
                }
                let values = try col.dictionary.allValues()
                for d in 0..<r.docCount {
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

        // Postings: a k-way merge of the dictionaries.
        let docsFile = try open(.docs)
        let posFile = try open(.pos)
        var dict = TermDictionaryWriter(textSlotCount: layout.textGroups.count)
        var enc = PostingsEncoder()
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
                while c.nextDoc() != PostingsCursor.noMoreDocs {
                    buf.docs.append(bases[i] + c.doc)
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
            let groupFields = text ? layout.textGroups[slot].fields : []
            let info = enc.encode(buf, text: text, docsBase: docsFile.payloadOffset, posBase: posFile.payloadOffset) {
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
                        let f = try br.vint(max: 1 << 16)
                        out.append((f, try StoredFieldsFormat.decode(&br)))
                    }
                    try body(out)
                }
            }
        }
    }
}
