/// Commits and the file sweep of a live index: making the writer's state durable as a new commit
/// point, and removing the files no kept commit needs.
extension LiveIndex {
    /// Makes everything written so far durable as a new commit (and publishes it).
    @discardableResult
    public func commit(userData extra: [String: String] = [:]) throws -> IndexMeta {
        let m = try lock.withLock { () -> IndexMeta in
            try checkOpen()
            return try commitLocked(extra)
        }
        scheduleMerges()
        return m
    }

    private func commitLocked(_ extra: [String: String]) throws -> IndexMeta {
        try flushBufferLocked()
        states.removeAll { $0.liveDocCount == 0 && !$0.merging }
        let gen = generation + 1
        for st in states {
            if !st.synced && options.sync {
                for name in st.meta.files.keys { try FileSystem.syncFile(directory + "/" + name) }
            }
            st.synced = true
            st.fold()
            if st.deletesDirty {
                if st.deletedCount == 0 {
                    st.meta.deletes = nil
                } else {
                    let name = "\(st.meta.id)_g\(gen).del"
                    let dd = st.currentDeleted()!
                    let w = try IndexFileWriter(path: directory + "/" + name, kind: DeletedDocs.kind, version: DeletedDocs.version)
                    try w.write(dd.encode())
                    let (size, sum) = try w.finish(sync: options.sync)
                    st.meta.deletes = SegmentMeta.SideFile(name: name, info: FileInfo(size: size, checksum: sum), count: dd.count)
                }
                st.deletesDirty = false
            }
            if st.updatesDirty {
                // The current columns are written as they are (a copy of their packed bytes, no
                // re-encoding of every document), so a commit after a few stock changes in a
                // segment of a million documents costs a memcpy per updated field.
                let fields = Set(st.reader.updatedFields).union(st.columns.keys).sorted()
                var columns: [Int: NumericColumn] = [:]
                var builders: [Int: NumericColumnBuilder] = [:]
                for f in fields {
                    if let col = st.columns[f] ?? st.reader.docValues.numeric[f], col.docCount == st.meta.docCount {
                        columns[f] = col
                    } else {
                        var b = NumericColumnBuilder()   // a field with no column: no values
                        for _ in 0..<st.meta.docCount { b.add(nil) }
                        builders[f] = b
                    }
                }
                let name = "\(st.meta.id)_g\(gen).dvu"
                let w = try IndexFileWriter(path: directory + "/" + name, kind: DocValuesFormat.kind, version: DocValuesFormat.version)
                try w.write(builders.isEmpty ? DocValuesWriter.encode(columns: columns, docCount: st.meta.docCount)
                                             : DocValuesWriter.encode(numeric: builders.merging(columns.mapValues { c in
                                                   var b = NumericColumnBuilder()
                                                   for d in 0..<c.docCount { b.add(c.value(d)) }
                                                   return b
                                               }, uniquingKeysWith: { a, _ in a }), ordinals: [:], docCount: st.meta.docCount))
                let (size, sum) = try w.finish(sync: options.sync)
                st.meta.updates = SegmentMeta.SideFile(name: name, info: FileInfo(size: size, checksum: sum), count: fields.count)
                st.updatesDirty = false
            }
        }
        for (k, v) in extra { userData[k] = v }
        var meta = IndexMeta(schema: schemaValue)
        meta.generation = gen
        meta.segments = states.map { $0.meta }
        meta.nextSegment = nextSegment
        meta.userData = userData
        try meta.write(directory: directory, sync: options.sync)
        previousGeneration = generation
        generation = gen
        uncommitted = buffer.map { $0.docCount > 0 } ?? false
        statsValue.commits += 1
        try publishLocked()
        sweepLocked()
        return meta
    }

    /// Removes files that no commit worth keeping (the newest two) and no current segment needs:
    /// merged-away segments, old side files, leftovers of work a crash interrupted.
    func sweepLocked() {
        var keep = Set<String>()
        var keepCommits = Set<String>([IndexMeta.fileName(generation)])
        if let p = previousGeneration {
            keepCommits.insert(IndexMeta.fileName(p))
            if let m = try? IndexMeta.read(path: directory + "/" + IndexMeta.fileName(p)) {
                for s in m.segments { keep.formUnion(s.allFiles.keys) }
            }
        }
        for st in states { keep.formUnion(st.meta.allFiles.keys) }
        guard let names = try? FileSystem.list(directory) else { return }
        for name in names {
            if name.hasPrefix("commit_") {
                if !keepCommits.contains(name) { try? FileSystem.remove(directory + "/" + name) }
                continue
            }
            guard name.hasPrefix("seg_"), !keep.contains(name) else { continue }
            let segId = "seg_" + String(name.dropFirst(4).prefix { $0.isNumber })
            if reserved.contains(segId) { continue }
            try? FileSystem.remove(directory + "/" + name)
        }
    }
}
