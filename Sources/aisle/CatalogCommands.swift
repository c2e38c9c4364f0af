import ArgumentParser
import Foundation
import AisleCatalog
import AisleSync
import AisleEngine
import AisleIndex

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "The catalog in PostgreSQL and its attribute documents: load, migrate, status.",
        discussion: """
        The database comes from --database or DATABASE_URL; attribute documents go to MongoDB when
        MONGODB_URI is set (ecommerce_catalog.product_attributes), otherwise to a file of extended-JSON
        lines (--attributes, AISLE_ATTRIBUTES, default .aisle-data/product_attributes.json).
        """,
        subcommands: [CatalogLoadCommand.self, CatalogMigrateCommand.self, CatalogStatusCommand.self]
    )
}

struct StoreOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?
    @Option(help: "Attribute documents file when MONGODB_URI is not set (default: $AISLE_ATTRIBUTES or .aisle-data/product_attributes.json).")
    var attributes: String?
}

struct CatalogLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load a catalog corpus (synth catalog JSONL or the BigBasket product list) into the catalog.",
        discussion: """
        Relational fields go to PostgreSQL (categories, brands, products, inventory), attributes to
        the attribute store, in batches: each batch is COPYed into a staging table and upserted in
        one transaction. A bad row stops the load with its row number; its batch is rolled back and
        named, the batches before it stay loaded (--atomic: one transaction for the whole file, so
        nothing is loaded). Loading is idempotent: rerunning (after fixing a row) updates what
        changed and leaves the rest untouched.
        """
    )

    @OptionGroup var stores: StoreOptions
    @Option(help: "The corpus file (JSON lines).") var corpus: String
    @Option(help: "Rows per batch (one transaction each).") var batchSize: Int = 5000
    @Option(help: "Stock of an in-stock product when the corpus gives no stock figure.") var defaultStock: Int = 10
    @Flag(help: "Load the whole file in one transaction (a bad row loads nothing).") var atomic = false
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        do {
            let t0 = Date()
            let s = try CatalogStores.open(database: stores.database, attributes: stores.attributes)
            let db = try CatalogDatabase(url: s.url)
            let file = try MappedFile(path: corpus)
            let raw = file.bytes
            let data = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            var firstEnd = 0
            while firstEnd < data.count && data[firstEnd] != 0x0A { firstEnd += 1 }
            guard firstEnd > 0 else { throw CatalogError.input("\(corpus) is empty") }
            var reader = try CorpusRowReader(firstLine: String(decoding: UnsafeBufferPointer(rebasing: data[0..<firstEnd]), as: UTF8.self),
                                             defaultStock: defaultStock)
            let bar = ProgressBar(label: "loading", total: data.count, unit: "rows", enabled: quiet ? false : nil)
            var batch: [ProductRecord] = []
            var batchRows: [Int] = []
            var docs: [AttributeDocument] = []
            var batchNo = 0
            var batchFirstRow = 1
            var loaded = 0
            var lastOffset = 0
            let batchSize = max(1, self.batchSize)
            if atomic { try db.conn.exec("BEGIN") }

            func flush(upTo offset: Int, lastRow: Int) throws {
                guard !batch.isEmpty else { return }
                batchNo += 1
                // Unique ids within the batch: a later row replaces an earlier one.
                var seen: [String: Int] = [:]
                var unique: [ProductRecord] = []
                var uniqueRows: [Int] = []
                for (p, r) in zip(batch, batchRows) {
                    if let i = seen[p.id] { unique[i] = p; uniqueRows[i] = r } else { seen[p.id] = unique.count; unique.append(p); uniqueRows.append(r) }
                }
                do {
                    // Attribute documents first (so a product is never searchable before its attributes),
                    // only those that changed; products whose document changed are marked in PostgreSQL.
                    let old = try s.attributes.documents(ids: docs.map { $0.productId })
                    let changed = docs.filter { d in old[d.productId].map { !$0.sameContent(as: d) } ?? true }
                    try s.attributes.upsert(changed)
                    let body = {
                        try db.touchAttributes(ids: changed.filter { old[$0.productId] != nil }.map { $0.productId })
                        try db.upsert(products: unique)
                    }
                    if atomic { try body() } else { try db.conn.transaction { try body() } }
                } catch {
                    if atomic { _ = try? db.conn.exec("ROLLBACK") }
                    bar.finish()
                    // COPY names the staging line: translate it to the corpus row.
                    var detail = describe(error)
                    if let r = detail.range(of: "COPY aisle_stage, line "),
                       let n = Int(detail[r.upperBound...].prefix(while: { $0.isNumber })), n >= 1, n <= uniqueRows.count {
                        detail = "row \(uniqueRows[n - 1]): " + detail
                    }
                    let what = atomic ? "the load was rolled back: nothing was loaded"
                        : "batch \(batchNo) (rows \(formatCount(batchFirstRow))-\(formatCount(lastRow))) was rolled back; \(formatCount(loaded)) rows before it are loaded"
                    throw CatalogError.input("\(detail); \(what)")
                }
                loaded += unique.count
                bar.advance(by: offset - lastOffset, items: batch.count)
                lastOffset = offset
                batch.removeAll(keepingCapacity: true)
                batchRows.removeAll(keepingCapacity: true)
                docs.removeAll(keepingCapacity: true)
                batchFirstRow = lastRow + 1
            }

            var row = 0
            var start = 0
            var i = 0
            while i <= data.count {
                if (i == data.count && start < data.count) || (i < data.count && data[i] == 0x0A) {
                    row += 1
                    var end = i
                    if end > start && data[end - 1] == 0x0D { end -= 1 }
                    let line = UnsafeBufferPointer(rebasing: data[start..<end])
                    start = i + 1
                    if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                        do {
                            let (p, d) = try reader.read(line)
                            batch.append(p)
                            batchRows.append(row)
                            if let d { docs.append(d) }
                        } catch {
                            if atomic { _ = try? db.conn.exec("ROLLBACK") }
                            bar.finish()
                            let what = atomic ? "nothing was loaded (--atomic)"
                                : (batch.isEmpty && loaded == 0 ? "nothing was loaded"
                                   : "batch \(batchNo + 1) (rows \(formatCount(batchFirstRow))-\(formatCount(row))) was not loaded; \(formatCount(loaded)) rows before it are loaded; fix the row and rerun (loading is idempotent)")
                            throw CatalogError.input("row \(row): \(describe(error)); \(what)")
                        }
                        if batch.count >= batchSize { try flush(upTo: min(i + 1, data.count), lastRow: row) }
                    }
                }
                i += 1
            }
            try flush(upTo: data.count, lastRow: row)
            if atomic { try db.conn.exec("COMMIT") }
            try s.attributes.flush()
            bar.finish()
            let secs = Date().timeIntervalSince(t0)
            stderr("loaded \(formatCount(loaded)) products (\(reader.kind.rawValue)) in \(batchNo) batch\(batchNo == 1 ? "" : "es") into \(db.conn.location), attributes in \(s.attributes.location): \(String(format: "%.1f", secs)) s (\(formatCount(Int(Double(loaded) / max(secs, 0.001)))) rows/s)")
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}

struct CatalogMigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending schema migrations (every command does this at start-up).")
    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?

    func run() throws {
        do {
            guard let url = CatalogDatabase.url(database) else { throw CatalogError.input("no database: give --database URL or set DATABASE_URL") }
            let db = try CatalogDatabase(url: url, migrate: false)
            let applied = try db.migrate()
            print(applied.isEmpty ? "schema up to date (version \(try db.schemaVersion()))" : "applied migrations \(applied.map(String.init).joined(separator: ", ")); schema version \(try db.schemaVersion())")
        } catch {
            throw fail(describe(error))
        }
    }
}

struct CatalogStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Counts, the change log's head, and (with --index) how far an index is behind.")
    @OptionGroup var stores: StoreOptions
    @Option(help: "An index built by `aisle reindex`: show its change-log position and lag.") var index: String?

    func run() throws {
        do {
            let s = try CatalogStores.open(database: stores.database, attributes: stores.attributes)
            let db = try CatalogDatabase(url: s.url)
            print("database \(db.conn.location): schema version \(try db.schemaVersion()), \(formatCount(try db.productCount())) products (\(formatCount(try db.productCount(activeOnly: true))) active)")
            print("change log head: \(try db.latestPosition())")
            print("attributes: \(s.attributes.location)")
            if let index {
                let meta = try IndexMeta.readLatest(directory: IndexGenerations.resolve(index))
                if let p = ChangePosition(userData: meta.userData) {
                    print("index \(index): position \(p), \(formatCount(try db.pendingChanges(after: p))) changes after it")
                } else {
                    print("index \(index): no change-log position (not built by aisle reindex)")
                }
            }
        } catch {
            throw fail(describe(error))
        }
    }
}

struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild an index from the catalog (PostgreSQL + attribute documents) as a new generation, while the old one serves.",
        discussion: """
        Streams the active products from PostgreSQL through a server-side cursor in one consistent
        snapshot, joins their attribute documents, builds a new generation next to the live one and
        switches to it atomically (as `aisle index --replace` does). The commit records the change-log
        position the snapshot is consistent with: `aisle serve` / `aisle sync` continue from there,
        replaying the changes made during the rebuild.
        """
    )

    @OptionGroup var stores: StoreOptions
    @Option(help: "The index directory (created if missing).") var index: String
    @Option(help: "Rows per FETCH from the cursor.") var batchSize: Int = 2000
    @Option(help: "Indexing threads (default: up to 2).") var threads: Int?
    @Option(help: "Memory for in-memory segments, MiB.") var memory: Int = 3072
    @Option(help: "Distinct attributes.* keys the index may have at most.") var maxAttributeFields = IndexLimits.defaultMaxPatternFields
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        do {
            let t0 = Date()
            guard (1...50_000).contains(maxAttributeFields) else { throw CatalogError.input("--max-attribute-fields must be from 1 to 50000") }
            let s = try CatalogStores.open(database: stores.database, attributes: stores.attributes)
            let db = try CatalogDatabase(url: s.url)
            var opts = Indexer.Options(threads: threads ?? min(2, ProcessInfo.processInfo.activeProcessorCount))
            opts.memoryBudget = max(64, memory) << 20
            opts.maxPatternFields = maxAttributeFields
            let summary = try CatalogReindex.run(db: db, attributes: s.attributes, index: index, options: opts, batchSize: batchSize) { total in
                ProgressBar(label: "reindexing", total: total, unit: "docs", enabled: quiet ? false : nil)
            }
            let name = summary.generation, position = summary.position
            let secs = Date().timeIntervalSince(t0)
            stderr("reindexed \(formatCount(summary.documents)) products from \(db.conn.location) (attributes: \(s.attributes.location)) into \(index) generation \(name): \(formatBytes(summary.indexBytes)), \(summary.segments) segment\(summary.segments == 1 ? "" : "s"), " + String(format: "%.1f s (%@ docs/s)", secs, formatCount(Int(Double(summary.documents) / max(secs, 0.001)))) + "; consistent with change-log position \(position)")
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Follow the catalog's change log and apply each change to a live index (until stopped).",
        discussion: """
        The index must have been built by `aisle reindex` (its commit holds the change-log position).
        Changes are applied at least once and idempotently; the position is committed with the index,
        so a restart (even after kill -9) resumes where the last commit left off. `aisle serve` does
        the same when it has a database. Stops on SIGINT / SIGTERM (committing) or with --until-idle.
        """
    )

    @OptionGroup var stores: StoreOptions
    @Option(help: "The index directory.") var index: String
    @Option(help: "Commit (index + position) at most this many milliseconds after a change.") var commitMs: Int = 1000
    @Option(help: "Make applied changes searchable within this many milliseconds.") var refreshMs: Int = 100
    @Flag(help: "Exit once the change log has been applied up to its head (for scripts and tests).") var untilIdle = false

    func run() throws {
        do {
            let s = try CatalogStores.open(database: stores.database, attributes: stores.attributes)
            _ = try CatalogDatabase(url: s.url)   // fail now, clearly, when PostgreSQL is down
            var o = ServingIndex.Options()
            o.refreshInterval = Double(max(5, refreshMs)) / 1000
            o.commitInterval = Double(max(10, commitMs)) / 1000
            let serving = try ServingIndex(root: index, options: o)
            guard serving.updater != nil else { throw CatalogError.input("the index at \(index) is open for writing by another process (a server follows the catalog itself)") }
            serving.start()
            var so = CatalogFollower.Options()
            so.commitInterval = Double(max(10, commitMs)) / 1000
            let sync = CatalogFollower(url: s.url, attributes: AttributeStoreLoader(ready: s.attributes), serving: serving, options: so)
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let signals = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler { sync.stop() }
                src.resume()
                return src
            }
            sync.start()
            let head = untilIdle ? try CatalogDatabase(url: s.url).latestPosition() : nil
            var lastReport = Date()
            var reported = 0
            while !sync.stopped {
                usleep(50_000)
                let st = sync.status
                if let head, let p = st.committed, p >= head { break }
                if !st.running { break }
                if Date().timeIntervalSince(lastReport) >= 10, st.applied != reported {
                    stderr("catalog sync: \(formatCount(st.applied)) changes applied (\(formatCount(st.sets)) sets, \(formatCount(st.upserts)) upserts, \(formatCount(st.deletes)) deletes, \(formatCount(st.skipped)) bad rows skipped), position \(st.position.map { "\($0)" } ?? "-")")
                    lastReport = Date()
                    reported = st.applied
                }
                if untilIdle, st.position == nil, let e = st.lastError, e.contains("no change-log position") { break }
            }
            sync.stop()
            _ = signals
            serving.close()
            let st = sync.status
            stderr("catalog sync stopped: \(formatCount(st.applied)) changes applied (\(formatCount(st.sets)) sets, \(formatCount(st.upserts)) upserts, \(formatCount(st.deletes)) deletes, \(formatCount(st.skipped)) bad rows skipped), committed position \(st.committed.map { "\($0)" } ?? "-")")
            if st.position == nil, let e = st.lastError { throw CatalogError.input(e) }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}

/// `aisle serve`'s catalog options: with a database it follows the change log (as `aisle sync`).
struct ServeCatalogOptions: ParsableArguments {
    @OptionGroup var stores: StoreOptions
    @Flag(help: "Do not follow the catalog even when DATABASE_URL is set.") var noSync = false

    func startSync(serving: ServingIndex) -> CatalogFollower? {
        guard !noSync, let url = CatalogDatabase.url(stores.database) else { return nil }
        guard serving.updater != nil else {
            stderr("catalog sync: not following the catalog (another process writes the index)")
            return nil
        }
        // The attribute documents load in the background: searches (and price and stock changes)
        // do not wait for them.
        let file = stores.attributes
        let attributes = AttributeStoreLoader(opening: {
            do {
                return try AttributeStores.open(mongoURI: nil, file: file)
            } catch {
                stderr("catalog sync: cannot open the attribute documents (changes other than price and stock wait for them): \(describe(error))")
                throw error
            }
        })
        let sync = CatalogFollower(url: url, attributes: attributes, serving: serving)
        sync.start()
        return sync
    }
}
