import Foundation
import AisleCatalog
import AisleEngine
import AisleIndex

/// Rebuilds an index from the catalog as a new generation while the old one serves: the active
/// products stream from PostgreSQL through a server-side cursor in one consistent snapshot, join
/// their attribute documents, become typed records (`CatalogDocuments`) indexed by one worker per
/// core, and the new generation is published atomically with the change-log position the snapshot
/// is consistent with (the follower continues from there).
public enum CatalogReindex {
    public struct Summary: Sendable {
        public var documents: Int
        public var segments: Int
        public var indexBytes: UInt64
        public var generation: String
        public var position: ChangePosition
    }

    /// `progress(total)` makes the progress bar once the snapshot's size is known.
    public static func run(db: CatalogDatabase, attributes: any AttributeStore, index: String, options: Indexer.Options,
                           batchSize: Int = 2000, progress: (Int) -> ProgressBar? = { _ in nil }) throws -> Summary {
        if FileManager.default.fileExists(atPath: index), IndexGenerations.current(root: index) == nil,
           (try? IndexMeta.readLatest(directory: index)) == nil, (try? FileManager.default.contentsOfDirectory(atPath: index))?.isEmpty == false {
            throw CatalogError.input("\(index) exists and is not an Aisle index; not writing into it")
        }
        // The zero-downtime switch of `aisle index --replace`: a new generation, published when complete.
        let name = try IndexGenerations.begin(root: index)
        let target = index + "/" + name
        let genLock = try WriterLock(directory: target)
        var indexer: StreamIndexer?
        var position = ChangePosition.start
        do {
            try db.streamProducts(batchSize: batchSize, start: { pos, total in
                position = pos
                indexer = try StreamIndexer(directory: target, schema: Schemas.withDefaultAnalyzer(Schemas.catalog), format: .catalog,
                                            options: options, progress: progress(total))
            }, batch: { rows in
                let docs = try attributes.documents(ids: rows.map { $0.id })
                try indexer!.add(rows.map { CatalogDocuments.record($0, docs[$0.id]) })
            })
        } catch {
            indexer?.abandon()
            genLock.release()
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
        var userData = position.userData
        userData["corpus"] = "postgresql \(db.conn.location)"
        userData["format"] = "catalog"
        let summary = try indexer!.finish(userData: userData)
        try IndexGenerations.publish(root: index, name: name)
        genLock.release()
        try IndexGenerations.retire(root: index, keep: [name])
        return Summary(documents: summary.documents, segments: summary.segments, indexBytes: summary.indexBytes,
                       generation: name, position: position)
    }
}
