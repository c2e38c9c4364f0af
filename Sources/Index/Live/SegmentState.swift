/// The writer's view of one segment: its files, and the tombstones and column updates made since
/// they were opened.
final class SegmentState {
    enum Change {
        case delete(Int)
        case set(Int, Int, Double?)
    }

    var meta: SegmentMeta
    let reader: SegmentReader
    /// Current tombstones when they differ from the reader's.
    private var words: [UInt64]?
    private(set) var deletedCount: Int
    /// Current columns of fields updated since the reader was opened (pending changes folded in).
    private(set) var columns: [Int: NumericColumn] = [:]
    /// Updates not yet folded into `columns`: field -> doc -> value.
    private var pending: [Int: [Int: Double?]] = [:]
    var deletesDirty = false
    var updatesDirty = false
    var synced: Bool
    /// The reader searches use for the state as of the last `makeView()`.
    private(set) var view: SegmentReader
    private(set) var viewStale = false
    var merging = false
    /// Changes made while a merge of this segment runs.
    var mergeLog: [Change]?

    /// Versions of the current view (see `SegmentReader.deletesVersion`), and what changed since.
    private var deletesVersion: UInt64
    private var columnVersions: [Int: UInt64]
    private var deletesChanged = false
    private var fieldsChanged = Set<Int>()

    init(meta: SegmentMeta, reader: SegmentReader, synced: Bool) {
        self.meta = meta
        deletesVersion = reader.deletesVersion
        columnVersions = reader.columnVersions
        self.reader = reader
        self.synced = synced
        deletedCount = reader.deleted?.count ?? 0
        view = reader
    }

    var liveDocCount: Int { meta.docCount - deletedCount }

    func isLive(_ doc: Int) -> Bool {
        if let w = words { return w[doc >> 6] & (1 << UInt64(doc & 63)) == 0 }
        return reader.isLive(doc)
    }

    func deleteDoc(_ doc: Int) {
        guard doc >= 0 && doc < meta.docCount, isLive(doc) else { return }
        if words == nil {
            words = reader.deleted?.wordArray ?? [UInt64](repeating: 0, count: (meta.docCount + 63) / 64)
        }
        words![doc >> 6] |= 1 << UInt64(doc & 63)
        deletedCount += 1
        deletesChanged = true
        deletesDirty = true
        viewStale = true
        mergeLog?.append(.delete(doc))
    }

    func setValue(_ doc: Int, field: Int, _ v: Double?) {
        guard doc >= 0 && doc < meta.docCount else { return }
        pending[field, default: [:]][doc] = .some(v)
        fieldsChanged.insert(field)
        updatesDirty = true
        viewStale = true
        mergeLog?.append(.set(doc, field, v))
    }

    /// Folds pending updates into new columns.
    func fold() {
        guard !pending.isEmpty else { return }
        for (f, changes) in pending {
            let base = columns[f] ?? reader.docValues.numeric[f]
                ?? NumericColumn.encode([Double?](repeating: nil, count: meta.docCount))
            columns[f] = base.applying(changes)
        }
        pending = [:]
    }

    func currentDeleted() -> DeletedDocs? {
        if let w = words { return DeletedDocs(docCount: meta.docCount, words: w) }
        return reader.deleted
    }

    func makeView() {
        fold()
        let d = words == nil ? reader.deleted : currentDeleted()
        if deletesChanged { deletesVersion = SegmentViewVersions.next() }
        for f in fieldsChanged { columnVersions[f] = SegmentViewVersions.next() }
        deletesChanged = false
        fieldsChanged = []
        view = SegmentReader(sharing: reader, meta: meta, deleted: d, numeric: columns,
                             deletesVersion: deletesVersion, columnVersions: columnVersions)
        viewStale = false
    }
}
