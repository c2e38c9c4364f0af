#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CMongoc

/// Where the attribute documents (`ecommerce_catalog.product_attributes`) live: MongoDB through
/// libmongoc when `MONGODB_URI` is given, otherwise a mongoexport-style file (one canonical
/// extended-JSON document per line) read and written with libbson.
public protocol AttributeStore: AnyObject, Sendable {
    /// Human-readable location (for messages).
    var location: String { get }
    /// The documents of these products (absent ids have none).
    func documents(ids: [String]) throws -> [String: AttributeDocument]
    /// Inserts or replaces documents (by product_id).
    func upsert(_ docs: [AttributeDocument]) throws
    /// Deletes the documents of these products; returns how many there were.
    @discardableResult func delete(ids: [String]) throws -> Int
    /// Every document, in product_id order.
    func all() throws -> [AttributeDocument]
    /// Makes writes durable and compact (the file store rewrites itself; MongoDB does nothing).
    func flush() throws
}

public enum AttributeStores {
    public static let database = "ecommerce_catalog"
    public static let collection = "product_attributes"
    public static let defaultFile = ".aisle-data/product_attributes.json"

    /// `MONGODB_URI` (or `mongoURI`) → MongoDB; else the file (`--attributes`, `AISLE_ATTRIBUTES`, or the default).
    public static func open(mongoURI: String? = nil, file: String? = nil) throws -> any AttributeStore {
        let env = ProcessInfo.processInfo.environment
        if let uri = mongoURI ?? env["MONGODB_URI"], !uri.isEmpty {
            return try MongoAttributeStore(uri: uri)
        }
        return try FileAttributeStore(path: file ?? env["AISLE_ATTRIBUTES"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultFile)
    }
}

// MARK: - The file store

/// Attribute documents in a file of canonical extended-JSON lines (what `mongoexport` writes and
/// `mongoimport` reads). Upserts append lines (a later line for a product replaces an earlier one);
/// `flush` and deletes rewrite the file sorted by product_id (temporary file, fsync, rename). Readers
/// in other processes pick up appended lines and rewrites on their next read. An flock on
/// `FILE.lock` keeps writers of several processes apart.
public final class FileAttributeStore: AttributeStore, @unchecked Sendable {
    public let path: String
    public var location: String { "file \(path)" }
    private let lock = NSLock()
    private var docs: [String: (doc: AttributeDocument, oid: [UInt8])] = [:]
    private var loadedBytes = 0
    private var loadedInode: UInt64 = 0
    private var appendedSinceRewrite = 0

    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try lock.withLock { try refreshLocked() }
    }

    private func fileStat() -> (size: Int, inode: UInt64)? {
        guard let a = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return ((a[.size] as? NSNumber)?.intValue ?? 0, (a[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0)
    }

    /// Reads what another process appended or rewrote since the last read.
    private func refreshLocked() throws {
        guard let (size, inode) = fileStat() else {
            docs = [:]
            loadedBytes = 0
            loadedInode = 0
            return
        }
        if inode != loadedInode || size < loadedBytes {
            docs = [:]
            loadedBytes = 0
            loadedInode = inode
        }
        guard size > loadedBytes else { return }
        guard let fh = FileHandle(forReadingAtPath: path) else { throw CatalogError.attributes("cannot read \(path)") }
        defer { try? fh.close() }
        try fh.seek(toOffset: UInt64(loadedBytes))
        let data = fh.readData(ofLength: size - loadedBytes)
        // Only whole lines (a writer may be in the middle of one).
        guard let lastNL = data.lastIndex(of: 0x0A) else { return }
        let firstLine = loadedBytes == 0 ? 1 : -1
        var lineNo = firstLine
        var start = data.startIndex
        try data.withUnsafeBytes { raw in
            let b = raw.bindMemory(to: UInt8.self)
            var i = 0
            let end = lastNL - data.startIndex
            while i <= end {
                if b[i] == 0x0A {
                    let line = UnsafeBufferPointer(rebasing: b[(start - data.startIndex)..<i])
                    if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                        do {
                            let doc = try BSON.parse(json: Array(line))
                            defer { bson_destroy(doc) }
                            let (d, oid) = try BSON.attributeDocument(doc)
                            docs[d.productId] = (d, oid ?? BSON.newOid())
                        } catch {
                            let where_ = lineNo > 0 ? "line \(lineNo)" : "an appended line"
                            throw CatalogError.attributes("\(path) \(where_): \(error)")
                        }
                    }
                    start = data.startIndex + i + 1
                    if lineNo > 0 { lineNo += 1 }
                }
                i += 1
            }
        }
        loadedBytes += lastNL - data.startIndex + 1
    }

    public func documents(ids: [String]) throws -> [String: AttributeDocument] {
        try lock.withLock {
            try refreshLocked()
            var out: [String: AttributeDocument] = [:]
            out.reserveCapacity(ids.count)
            for id in ids { if let e = docs[id] { out[id] = e.doc } }
            return out
        }
    }

    public func all() throws -> [AttributeDocument] {
        try lock.withLock {
            try refreshLocked()
            return docs.keys.sorted().map { docs[$0]!.doc }
        }
    }

    public var count: Int { lock.withLock { (try? refreshLocked()).map { docs.count } ?? docs.count } }

    private func withFileLock<R>(_ body: () throws -> R) throws -> R {
        let fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CatalogError.attributes("cannot create \(path).lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw CatalogError.attributes("cannot lock \(path).lock") }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    public func upsert(_ newDocs: [AttributeDocument]) throws {
        guard !newDocs.isEmpty else { return }
        try lock.withLock {
            try withFileLock {
                try refreshLocked()
                var text = ""
                for d in newDocs {
                    let oid = docs[d.productId]?.oid ?? BSON.newOid()
                    let b = BSON.make(d, oid: oid)
                    text += BSON.canonicalJSON(b)
                    text += "\n"
                    bson_destroy(b)
                    docs[d.productId] = (d, oid)
                }
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw CatalogError.attributes("cannot write \(path): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                let bytes = Array(text.utf8)
                var off = 0
                while off < bytes.count {
                    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw CatalogError.attributes("cannot write \(path): \(String(cString: strerror(errno)))")
                    }
                    off += n
                }
                if let (size, inode) = fileStat() {
                    // Our own append: count it as read (another writer's lines would need the lock we hold).
                    loadedBytes = size
                    loadedInode = inode
                }
                appendedSinceRewrite += newDocs.count
            }
        }
    }

    @discardableResult
    public func delete(ids: [String]) throws -> Int {
        try lock.withLock {
            try withFileLock {
                try refreshLocked()
                var n = 0
                for id in ids where docs.removeValue(forKey: id) != nil { n += 1 }
                if n > 0 { try rewriteLocked() }
                return n
            }
        }
    }

    public func flush() throws {
        try lock.withLock {
            try withFileLock {
                try refreshLocked()
                try rewriteLocked()
            }
        }
    }

    /// Writes every document, sorted by product_id, to a temporary file and renames it over the file.
    private func rewriteLocked() throws {
        let tmp = path + ".tmp"
        _ = FileManager.default.createFile(atPath: tmp, contents: nil)
        guard let fh = FileHandle(forWritingAtPath: tmp) else { throw CatalogError.attributes("cannot write \(tmp)") }
        var buf = ""
        for id in docs.keys.sorted() {
            let e = docs[id]!
            let b = BSON.make(e.doc, oid: e.oid)
            buf += BSON.canonicalJSON(b)
            buf += "\n"
            bson_destroy(b)
            if buf.utf8.count > 1 << 20 {
                fh.write(Data(buf.utf8))
                buf = ""
            }
        }
        fh.write(Data(buf.utf8))
        try fh.synchronize()
        try fh.close()
        guard rename(tmp, path) == 0 else { throw CatalogError.attributes("cannot rename \(tmp): \(String(cString: strerror(errno)))") }
        if let (size, inode) = fileStat() {
            loadedBytes = size
            loadedInode = inode
        }
        appendedSinceRewrite = 0
    }
}

// MARK: - MongoDB

private let mongoInit: Void = {
    mongoc_init()
    // libmongoc's default handler prints monitor DEBUG lines; keep warnings and errors only.
    mongoc_log_set_handler({ level, domain, message, _ in
        guard level.rawValue <= MONGOC_LOG_LEVEL_WARNING.rawValue, let message else { return }
        FileHandle.standardError.write(Data("mongoc: \(String(cString: message))\n".utf8))
    }, nil)
}()

/// `ecommerce_catalog.product_attributes` in MongoDB, through one libmongoc client (behind a lock:
/// a client is not thread-safe).
public final class MongoAttributeStore: AttributeStore, @unchecked Sendable {
    private let client: OpaquePointer
    private let collection: OpaquePointer
    private let lock = NSLock()
    public let location: String

    public init(uri: String, database: String? = nil) throws {
        _ = mongoInit
        var err = bson_error_t()
        let shown = Self.describe(uri)
        guard let u = mongoc_uri_new_with_error(uri, &err) else {
            throw CatalogError.unavailable("bad MONGODB_URI \(shown): \(BSON.errorMessage(err))")
        }
        defer { mongoc_uri_destroy(u) }
        if mongoc_uri_get_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0) == 0 {
            mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000)
        }
        guard let c = mongoc_client_new_from_uri_with_error(u, &err) else {
            throw CatalogError.unavailable("cannot connect to MongoDB at \(shown): \(BSON.errorMessage(err))")
        }
        mongoc_client_set_appname(c, "aisle")
        // Fail now, clearly, if nothing answers.
        let ping = try BSON.parse(json: Array("{\"ping\": 1}".utf8))
        let ok = BSON.withStorage { reply -> Bool in
            bson_init(reply)   // the call initialises it too, but not on every error path
            defer { bson_destroy(reply) }
            return mongoc_client_command_simple(c, "admin", ping, nil, reply, &err)
        }
        bson_destroy(ping)
        if !ok {
            let m = BSON.errorMessage(err)
            mongoc_client_destroy(c)
            throw CatalogError.unavailable("cannot connect to MongoDB at \(shown): \(m)")
        }
        let dbName = database ?? mongoc_uri_get_database(u).map { String(cString: $0) } ?? AttributeStores.database
        client = c
        collection = mongoc_client_get_collection(c, dbName, AttributeStores.collection)
        location = "MongoDB \(shown) \(dbName).\(AttributeStores.collection)"
    }

    deinit {
        mongoc_collection_destroy(collection)
        mongoc_client_destroy(client)
    }

    static func describe(_ uri: String) -> String {
        var rest = Substring(uri)
        if let r = rest.range(of: "://") { rest = rest[r.upperBound...] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        return String(rest)
    }

    /// `{product_id: {$in: ids}}`
    private func inFilter(_ ids: [String]) -> OpaquePointer {
        let f = bson_new()!
        BSON.append(f, "product_id", .document([AttributeField("$in", .array(ids.map { .string($0) }))]))
        return f
    }

    private func find(filter: OpaquePointer, sorted: Bool) throws -> [AttributeDocument] {
        let opts = bson_new()!
        defer { bson_destroy(opts) }
        if sorted { BSON.append(opts, "sort", .document([AttributeField("product_id", .int(1))])) }
        BSON.append(opts, "batchSize", .int(1000))
        guard let cursor = mongoc_collection_find_with_opts(collection, filter, opts, nil) else {
            throw CatalogError.attributes("find failed")
        }
        defer { mongoc_cursor_destroy(cursor) }
        var out: [AttributeDocument] = []
        var doc: OpaquePointer?
        while mongoc_cursor_next(cursor, &doc) {
            if let doc { out.append(try BSON.attributeDocument(doc).0) }
        }
        var err = bson_error_t()
        if mongoc_cursor_error(cursor, &err) {
            throw CatalogError.attributes("MongoDB find on \(location): \(BSON.errorMessage(err))")
        }
        return out
    }

    public func documents(ids: [String]) throws -> [String: AttributeDocument] {
        guard !ids.isEmpty else { return [:] }
        return try lock.withLock {
            var out: [String: AttributeDocument] = [:]
            var i = 0
            while i < ids.count {
                let chunk = Array(ids[i..<min(ids.count, i + 5000)])
                let f = inFilter(chunk)
                defer { bson_destroy(f) }
                for d in try find(filter: f, sorted: false) { out[d.productId] = d }
                i += chunk.count
            }
            return out
        }
    }

    public func all() throws -> [AttributeDocument] {
        try lock.withLock {
            let f = bson_new()!
            defer { bson_destroy(f) }
            return try find(filter: f, sorted: true)
        }
    }

    private func runBulk(_ fill: (OpaquePointer) throws -> Void) throws {
        let opts = bson_new()!
        defer { bson_destroy(opts) }
        BSON.append(opts, "ordered", .bool(false))
        guard let bulk = mongoc_collection_create_bulk_operation_with_opts(collection, opts) else {
            throw CatalogError.attributes("cannot create a bulk write")
        }
        defer { mongoc_bulk_operation_destroy(bulk) }
        try fill(bulk)
        var err = bson_error_t()
        let ok = BSON.withStorage { reply -> UInt32 in
            bson_init(reply)
            defer { bson_destroy(reply) }
            return mongoc_bulk_operation_execute(bulk, reply, &err)
        }
        if ok == 0 { throw CatalogError.attributes("MongoDB write to \(location) failed: \(BSON.errorMessage(err))") }
    }

    public func upsert(_ docs: [AttributeDocument]) throws {
        guard !docs.isEmpty else { return }
        try lock.withLock {
            try runBulk { bulk in
                let opts = bson_new()!
                defer { bson_destroy(opts) }
                BSON.append(opts, "upsert", .bool(true))
                for d in docs {
                    let sel = bson_new()!
                    BSON.append(sel, "product_id", .string(d.productId))
                    let doc = BSON.make(d)
                    defer { bson_destroy(sel); bson_destroy(doc) }
                    var err = bson_error_t()
                    guard mongoc_bulk_operation_replace_one_with_opts(bulk, sel, doc, opts, &err) else {
                        throw CatalogError.attributes("attribute document for \(d.productId): \(BSON.errorMessage(err))")
                    }
                }
            }
        }
    }

    @discardableResult
    public func delete(ids: [String]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let before = try documents(ids: ids).count
        try lock.withLock {
            try runBulk { bulk in
                let f = inFilter(ids)
                defer { bson_destroy(f) }
                var err = bson_error_t()
                guard mongoc_bulk_operation_remove_many_with_opts(bulk, f, nil, &err) else {
                    throw CatalogError.attributes(BSON.errorMessage(err))
                }
            }
        }
        return before
    }

    public func flush() throws {}
}
