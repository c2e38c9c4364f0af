import Foundation
import AisleIndex

/// One index of the Elasticsearch-compatible API: its definition (from `PUT /{index}`), the live
/// index serving it, a search service over it, and how its documents are built.
public final class ElasticIndex: @unchecked Sendable {
    /// Elasticsearch's `index.search.idle.after` default.
    public static let searchIdleAfter = 30.0
    public let name: String
    public let uuid: String
    public let created: Date
    public let definition: ElasticIndexDefinition
    /// The `PUT /{index}` body as accepted (its `mappings` and `settings` are what GET answers).
    public let body: JSONValue
    public let serving: ServingIndex
    public let service: SearchService
    let directory: String
    /// Document builders, one per core, each used by one thread at a time (`documents` builds a
    /// bulk request's documents on all of them at once).
    private final class Worker: @unchecked Sendable {
        let lock = NSLock()
        let builder: DocumentBuilder
        var doc = IndexDocument()
        var tape = JSONTape()
        init(_ builder: DocumentBuilder) { self.builder = builder }
    }
    private let workers: [Worker]
    private let sourceOrdinal: Int
    /// Object paths the mapping knows (`dims` for `dims.width`), for `dynamic: strict`.
    private let mappedObjects: Set<String>

    init(name: String, uuid: String, created: Date, body: JSONValue, definition: ElasticIndexDefinition, directory: String,
         options: ServingIndex.Options) throws {
        self.name = name
        self.uuid = uuid
        self.created = created
        self.body = body
        self.definition = definition
        self.directory = directory
        var o = options
        // Elasticsearch refreshes every second unless the index says otherwise (-1: only on request).
        let r = definition.refreshInterval ?? 1
        o.refreshInterval = r > 0 ? r : 3600 * 24 * 365
        // Elasticsearch's search-idle shards: without an explicit refresh_interval, an index not
        // searched for 30 s stops refreshing until the next search (which refreshes first).
        if definition.refreshInterval == nil { o.searchIdleAfter = ElasticIndex.searchIdleAfter }
        let serving = try ServingIndex(root: directory + "/index", options: o)
        self.serving = serving
        service = try SearchService(source: { serving.searcher })
        guard let live = serving.live else { throw ElasticError("illegal_state_exception", "index [\(name)] is open for writing by another process", status: 500) }
        workers = try (0..<max(1, ProcessInfo.processInfo.activeProcessorCount)).map { _ in
            Worker(try DocumentBuilder(writer: live, format: .jsonl))
        }
        sourceOrdinal = definition.schema.ordinal(of: ElasticMapping.sourceField)!
        var objects = Set<String>()
        for f in definition.fields.keys {
            var parts = f.split(separator: ".").map(String.init)
            while parts.count > 1 {
                parts.removeLast()
                objects.insert(parts.joined(separator: "."))
            }
        }
        mappedObjects = objects
    }

    /// The index document of `source` (a JSON object) under `id`, with `_source` kept as sent.
    /// Errors are Elasticsearch's: `_id` inside the document, an unmapped field under
    /// `dynamic: strict`, a value the mapping refuses.
    public func document(id: String, source: UnsafeBufferPointer<UInt8>) throws(ElasticError) -> IndexDocument {
        try document(id: id, source: source, worker: workers[0])
    }

    /// The documents of many sources, built on every core in the background while the caller
    /// takes them in order (`BuildStream.take`): a bulk request applies the first documents while
    /// the rest are still being built.
    public func documentStream(_ items: [(id: String, source: ArraySlice<UInt8>)]) -> BuildStream {
        let stream = BuildStream(count: items.count)
        let n = min(workers.count, max(1, items.count / 16))
        for w in 0..<n {
            let worker = workers[w]
            DispatchQueue.global().async {
                var i = w
                while i < items.count {
                    let r: Result<IndexDocument, ElasticError> = items[i].source.withUnsafeBufferPointer { b in
                        do { return .success(try self.document(id: items[i].id, source: b, worker: worker)) } catch let e as ElasticError {
                            return .failure(e)
                        } catch {
                            return .failure(ElasticError("exception", "\(error)", status: 500))
                        }
                    }
                    stream.put(i, r)
                    i += n
                }
            }
        }
        return stream
    }

    private func document(id: String, source: UnsafeBufferPointer<UInt8>, worker: Worker) throws(ElasticError) -> IndexDocument {
        worker.lock.lock()
        defer { worker.lock.unlock() }
        do { try worker.tape.parse(source) } catch {
            throw ElasticError("document_parsing_exception", "failed to parse: \(error.description)")
        }
        guard worker.tape.kind(worker.tape.root) == .object else {
            throw ElasticError("document_parsing_exception", "failed to parse: the document must be a JSON object")
        }
        guard !id.isEmpty, id.utf8.count <= IndexLimits.maxIdBytes else {
            throw ElasticError("illegal_argument_exception", "id [\(id.prefix(80))] is empty or too long, must be 1 to \(IndexLimits.maxIdBytes) bytes but was: \(id.utf8.count)")
        }
        for (k, _) in worker.tape.members(worker.tape.root) where k.hasPrefix("_") {
            if k == ElasticMapping.idField || k == ElasticMapping.sourceField || ["_index", "_routing", "_version", "_seq_no", "_type"].contains(k) {
                throw ElasticError("document_parsing_exception", "[1:2] failed to parse field [\(k)] of type [_id] in document with id '\(id.prefix(80))'. Preview of field's value: Field [\(k)] is a metadata field and cannot be added inside a document. Use the index API request parameters.")
            }
        }
        if definition.strict { try checkStrict(worker.tape, worker.tape.root, prefix: "") }
        do {
            try worker.builder.build(json: source, into: &worker.doc, id: id)
        } catch {
            throw ElasticError("document_parsing_exception", "failed to parse document with id '\(id.prefix(80))': \(error)")
        }
        worker.doc.addStored(field: sourceOrdinal, value: .string(String(decoding: source, as: UTF8.self)))
        return worker.doc
    }

    private func checkStrict(_ tape: JSONTape, _ node: Int, prefix: String) throws(ElasticError) {
        for (k, v) in tape.members(node) {
            let path = prefix + k
            if definition.fields[path] != nil { continue }
            if mappedObjects.contains(path), tape.kind(v) == .object {
                try checkStrict(tape, v, prefix: path + ".")
                continue
            }
            throw ElasticError("strict_dynamic_mapping_exception",
                               "[1:2] mapping set to strict, dynamic introduction of [\(k.prefix(80))] within [\(prefix.isEmpty ? "_doc" : String(prefix.dropLast()))] is not allowed")
        }
    }
}

/// Documents being built in the background, taken in order by one consumer.
public final class BuildStream: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Result<IndexDocument, ElasticError>?]
    private var taken: [Bool]

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        taken = Array(repeating: false, count: count)
    }

    func put(_ i: Int, _ r: Result<IndexDocument, ElasticError>) {
        condition.lock()
        results[i] = r
        condition.broadcast()
        condition.unlock()
    }

    /// Item `i`, waiting until it is built (each item is taken once).
    public func take(_ i: Int) -> Result<IndexDocument, ElasticError> {
        condition.lock()
        defer { condition.unlock() }
        while results[i] == nil { condition.wait() }
        let r = results[i]!
        results[i] = nil
        taken[i] = true
        return r
    }

    /// Waits until every item not taken is built (no worker outlives the request).
    public func finish() {
        condition.lock()
        defer { condition.unlock() }
        for i in results.indices where !taken[i] {
            while results[i] == nil { condition.wait() }
            results[i] = nil
            taken[i] = true
        }
    }
}

/// The indexes of the Elasticsearch-compatible API, each in its own directory under a data
/// directory (`aisle serve --data DIR`): `DIR/<name>/elastic.json` (the accepted definition, its
/// uuid and creation time) and `DIR/<name>/index` (the live index). Creating writes everything
/// under a temporary name first and renames it into place, so a crash leaves no half-made index
/// (a leftover temporary directory is removed at the next start).
public final class ElasticIndexes: @unchecked Sendable {
    public let directory: String
    public let options: ServingIndex.Options
    private let lock = NSLock()
    private var indexes: [String: ElasticIndex] = [:]
    private var started = false
    static let sidecar = "elastic.json"
    static let pending = ".creating-"

    /// Opens every index under `directory` (creating the directory if it is missing).
    public init(directory: String, options: ServingIndex.Options = ServingIndex.Options()) throws {
        self.directory = directory
        self.options = options
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw EngineError.input("\(directory) exists and is not a directory")
        }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw EngineError.input("cannot create the directory \(directory): \(error.localizedDescription)")
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            let path = directory + "/" + name
            if name.hasPrefix(Self.pending) {
                try? FileManager.default.removeItem(atPath: path)
                continue
            }
            guard FileManager.default.fileExists(atPath: path + "/" + Self.sidecar) else { continue }
            indexes[name] = try Self.open(name: name, path: path, options: options)
        }
    }

    static func open(name: String, path: String, options: ServingIndex.Options) throws -> ElasticIndex {
        let text = try String(contentsOfFile: path + "/" + sidecar, encoding: .utf8)
        let side = try JSONValue.parse(text)
        guard let uuid = side["uuid"]?.stringValue, let created = side["created_ms"]?.numberValue, let body = side["body"] else {
            throw EngineError.input("\(path)/\(sidecar) is not an index definition")
        }
        let def = try ElasticMapping.definition(body)
        return try ElasticIndex(name: name, uuid: uuid, created: Date(timeIntervalSince1970: created / 1000), body: body, definition: def,
                                directory: path, options: options)
    }

    public var names: [String] { lock.withLock { indexes.keys.sorted() } }

    public func index(_ name: String) throws(ElasticError) -> ElasticIndex {
        guard let i = lock.withLock({ indexes[name] }) else { throw Self.notFound(name) }
        return i
    }

    public static func notFound(_ name: String) -> ElasticError {
        ElasticError("index_not_found_exception", "no such index [\(name.prefix(255))]", status: 404)
    }

    /// Elasticsearch's index name rules: lowercase, at most 255 bytes, none of `\ / * ? " < > | , #`
    /// or spaces, not starting with `-`, `_` or `+`, not `.` or `..`.
    public static func checkName(_ name: String) throws(ElasticError) {
        func bad(_ why: String) -> ElasticError { ElasticError("invalid_index_name_exception", "Invalid index name [\(name.prefix(255))], \(why)") }
        guard !name.isEmpty else { throw bad("must not be empty") }
        guard name.utf8.count <= 255 else { throw bad("index name is too long, (\(name.utf8.count) > 255)") }
        guard name == name.lowercased() else { throw bad("must be lowercase") }
        if let c = name.first(where: { "\\/*?\"<>| ,#:".contains($0) }) { throw bad("must not contain the character [\(c)]") }
        if let f = name.first, "-_+".contains(f) { throw bad("must not start with '_', '-', or '+'") }
        guard name != "." && name != ".." else { throw bad("must not be '.' or '..'") }
        guard name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { throw bad("must not contain control characters") }
    }

    /// Creates an index from a `PUT /{index}` body.
    @discardableResult
    public func create(_ name: String, body: JSONValue?) throws(ElasticError) -> ElasticIndex {
        try Self.checkName(name)
        let def = try ElasticMapping.definition(body)
        lock.lock()
        defer { lock.unlock() }
        guard indexes[name] == nil else {
            throw ElasticError("resource_already_exists_exception", "index [\(name)/\(indexes[name]!.uuid)] already exists")
        }
        let fm = FileManager.default
        let tmp = directory + "/" + Self.pending + UUID().uuidString
        let final = directory + "/" + name
        do {
            if fm.fileExists(atPath: final) { throw EngineError.input("\(final) exists but is not an index of this server; remove it first") }
            try fm.createDirectory(atPath: tmp, withIntermediateDirectories: false)
            var o = LiveIndex.Options()
            o.sync = options.live.sync
            try LiveIndex.create(directory: tmp + "/index", schema: def.schema, options: o).close()
            let uuid = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(22)
            let created = Date()
            let side = JSONValue.object([("uuid", .string(String(uuid))), ("created_ms", .number((created.timeIntervalSince1970 * 1000).rounded())),
                                         ("body", body ?? .object([]))])
            try Data(side.jsonText.utf8).write(to: URL(fileURLWithPath: tmp + "/" + Self.sidecar), options: .atomic)
            try fm.moveItem(atPath: tmp, toPath: final)
            let index = try ElasticIndex(name: name, uuid: String(uuid), created: created, body: body ?? .object([]), definition: def,
                                         directory: final, options: options)
            indexes[name] = index
            if started { index.serving.start() }
            return index
        } catch let e as ElasticError {
            try? fm.removeItem(atPath: tmp)
            throw e
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw ElasticError("exception", "could not create index [\(name)]: \(error)", status: 500)
        }
    }

    /// Deletes an index: closed, then its directory removed.
    public func delete(_ name: String) throws(ElasticError) {
        lock.lock()
        guard let index = indexes.removeValue(forKey: name) else {
            lock.unlock()
            throw Self.notFound(name)
        }
        lock.unlock()
        index.serving.close()
        let trash = directory + "/" + Self.pending + "deleted-" + UUID().uuidString
        do {
            try FileManager.default.moveItem(atPath: index.directory, toPath: trash)
            try FileManager.default.removeItem(atPath: trash)
        } catch {
            throw ElasticError("exception", "index [\(name)] was closed but its files could not be removed: \(error)", status: 500)
        }
    }

    /// Starts every index's background refresh and commit.
    public func start() {
        let all = lock.withLock { () -> [ElasticIndex] in
            started = true
            return Array(indexes.values)
        }
        for i in all { i.serving.start() }
    }

    public func close() {
        for n in names { try? index(n).serving.close() }
    }
}
