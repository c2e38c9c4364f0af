/// `aisle check`: verifies an index's newest commit end to end.
///
/// - every file the commit names exists, has the recorded size and checksum, and a valid header,
///   footer and structure (opening a segment checks those);
/// - every term's postings decode, are strictly increasing, stay below the segment's document
///   count and hold exactly the document frequency the dictionary records;
/// - tombstones agree with the recorded counts; every live id is unique over the index; sorted id
///   columns are strictly increasing; field statistics are within bounds.
public struct IndexCheck: Sendable {
    public struct Report: Sendable {
        public var generation: UInt64 = 0
        /// The commit's user data (e.g. how many change lines it includes).
        public var userData: [String: String] = [:]
        public var segments = 0
        public var documents = 0
        public var deleted = 0
        public var files = 0
        public var bytes: UInt64 = 0
        public var terms = 0
        public var postings = 0
        /// Problems found (empty: the index is sound).
        public var problems: [String] = []
        /// Files in the directory that the commit does not name (left by interrupted work; the
        /// next writer sweeps them).
        public var unreferenced: [String] = []
        public var ok: Bool { problems.isEmpty }
    }

    /// Checks the newest commit in `directory`. Throws only when there is no index at all.
    public static func run(directory root: String, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let directory = IndexGenerations.resolve(root)
        var report = Report()
        let meta: IndexMeta
        do {
            meta = try IndexMeta.readLatest(directory: directory)
        } catch let e as IndexError {
            if case .notAnIndex = e { throw e }
            report.problems.append(e.description)
            return report
        }
        report.generation = meta.generation
        report.userData = meta.userData
        report.segments = meta.segments.count
        let layout: SchemaLayout
        do { layout = try SchemaLayout(meta.schema) } catch {
            report.problems.append("the commit's schema is invalid: \(error)")
            return report
        }
        var referenced = Set<String>()
        for s in meta.segments { referenced.formUnion(s.allFiles.keys) }
        var liveIds = Set<String>()
        let idSlot = layout.keywordSlotOfField[layout.idOrdinal]
        for (si, m) in meta.segments.enumerated() {
            progress?(si, meta.segments.count)
            for (name, info) in m.allFiles {
                report.files += 1
                report.bytes += info.size
                if !FileSystem.exists(directory + "/" + name) { report.problems.append("\(name): missing (named by the commit)") }
            }
            let seg: SegmentReader
            do {
                seg = try SegmentReader(directory: directory, meta: m, textFieldCount: layout.textFields.count, verify: true)
            } catch {
                report.problems.append("segment \(m.id): \(describe(error))")
                continue
            }
            report.documents += seg.liveDocCount
            report.deleted += seg.docCount - seg.liveDocCount
            if let d = m.deletes, d.count != seg.docCount - seg.liveDocCount {
                report.problems.append("segment \(m.id): \(d.count) deletions recorded, \(seg.docCount - seg.liveDocCount) in the tombstones")
            }
            for (t, st) in m.textFieldStats.enumerated() where Int(st.docCount) > m.docCount {
                report.problems.append("segment \(m.id): text field \(t) is in \(st.docCount) documents of \(m.docCount)")
            }
            // Vector fields: the file's graphs and vectors, and that the schema's fields have them.
            for f in layout.vectorFields where f < m.fieldCount {
                guard let vf = seg.vectors[f] else {
                    report.problems.append("segment \(m.id): vector field \(layout.schema.fields[f].name) has no vectors file")
                    continue
                }
                if vf.graph.dimensions != layout.schema.fields[f].dims {
                    report.problems.append("segment \(m.id): vector field \(layout.schema.fields[f].name) has \(vf.graph.dimensions) dims, the schema \(layout.schema.fields[f].dims ?? 0)")
                }
                if let e = vf.check(docCount: seg.docCount) { report.problems.append("segment \(m.id): \(e)") }
            }
            // Postings.
            do {
                var it = try seg.terms.makeIterator()
                while try it.next() {
                    let key = it.key
                    guard key.count >= 2 else {
                        report.problems.append("segment \(m.id): a dictionary key shorter than its slot")
                        break
                    }
                    let slot = Int(key[0]) << 8 | Int(key[1])
                    guard slot < layout.slotCount else {
                        report.problems.append("segment \(m.id): term in unknown slot \(slot)")
                        continue
                    }
                    report.terms += 1
                    let c = try seg.postings(it.info, text: layout.isTextSlot(slot))
                    var n = 0
                    var last: Int64 = -1
                    while c.nextDoc() != PostingsCursor.noMoreDocs {
                        let d = Int64(c.doc)
                        if d <= last || d >= Int64(m.docCount) {
                            report.problems.append("segment \(m.id): postings of a term out of order or range at doc \(d)")
                            break
                        }
                        last = d
                        n += 1
                    }
                    if let e = c.corruption { report.problems.append("segment \(m.id): \(e)") }
                    if n != it.info.docCount {
                        report.problems.append("segment \(m.id): a term lists \(n) documents, its dictionary entry says \(it.info.docCount)")
                    }
                    report.postings += n
                    if report.problems.count > 100 { break }
                }
            } catch {
                report.problems.append("segment \(m.id): \(describe(error))")
            }
            // Ids.
            if idSlot == nil && !m.idsSorted { report.problems.append("segment \(m.id): ids are not sorted and not indexed") }
            do {
                var previous: String?
                for d in 0..<seg.docCount {
                    let id = try seg.ids.id(d)
                    if m.idsSorted, let p = previous, !(Array(p.utf8).lexicographicallyPrecedes(Array(id.utf8))) {
                        report.problems.append("segment \(m.id): ids marked sorted but \(id) follows \(p)")
                        break
                    }
                    previous = id
                    guard seg.isLive(d) else { continue }
                    if !liveIds.insert(id).inserted { report.problems.append("id \(id) is live twice (segment \(m.id) doc \(d))") }
                }
            } catch {
                report.problems.append("segment \(m.id): \(describe(error))")
            }
        }
        progress?(meta.segments.count, meta.segments.count)
        let commits = Set((try? IndexMeta.generations(in: directory).map { IndexMeta.fileName($0) }) ?? [])
        for name in (try? FileSystem.list(directory)) ?? [] where name.hasPrefix("seg_") || name.hasSuffix(".tmp") {
            if !referenced.contains(name) && !commits.contains(name) { report.unreferenced.append(name) }
        }
        return report
    }

    static func describe(_ e: Error) -> String {
        (e as? IndexError)?.description ?? "\(e)"
    }
}
