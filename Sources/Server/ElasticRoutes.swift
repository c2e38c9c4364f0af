import AisleEngine
import AisleIndex
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// The Elasticsearch/OpenSearch-compatible front door (issue 17, first part): cluster info, index
/// management from mappings, documents, `_bulk`, `_refresh` and `_count`, over the indexes of
/// `aisle serve --data DIR`. JSON in and out at Elasticsearch's root paths; errors in its shape.
/// Searches (`_search`, `_msearch`, `_count` with the query DSL and aggregations) are in
/// `ElasticSearchRoutes.swift`.
extension APIServer {
    static let elasticVersion = "8.11.0"
    static let clusterUUID = "aisle-000000000000000000"
    static let shards: JSONValue = .object([("total", .number(1)), ("successful", .number(1)), ("failed", .number(0))])

    // MARK: - Answers

    /// Elasticsearch's media type when the client asked for it (`compatible-with=8`), else JSON;
    /// `X-Elastic-Product` only when the server was started with it.
    func esResponse(_ request: Request, _ status: Int, _ bytes: [UInt8]) -> Response {
        let accept = (request.headers[.accept] ?? "") + (request.headers[.contentType] ?? "")
        let type = accept.contains("compatible-with=8") ? "application/vnd.elasticsearch+json; compatible-with=8" : "application/json"
        var r = Response(status: .init(code: status), headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        if options.elasticProductHeader, let name = HTTPField.Name("X-Elastic-Product") { r.headers[name] = "Elasticsearch" }
        return r
    }

    func esJSON(_ request: Request, _ status: Int, _ v: JSONValue) -> Response {
        var w = JSONWriter(capacity: 512)
        w.value(v)
        return esResponse(request, status, w.bytes)
    }

    func esError(_ request: Request, _ e: ElasticError) -> Response {
        let cause: JSONValue = .object([("type", .string(e.type)), ("reason", .string(e.reason))])
        return esJSON(request, e.status, .object([("error", .object([("root_cause", .array([cause])), ("type", .string(e.type)),
                                                                        ("reason", .string(e.reason))])), ("status", .number(Double(e.status)))]))
    }

    /// A search body may be this large (a long `terms` or `ids` list); other bodies `maxBody`,
    /// bulk bodies `maxBulkBody`.
    static let maxSearchBody = 1 << 20

    /// The request body, or the answer refusing it in Elasticsearch's shape (413 when too large).
    func esRead(_ request: Request, upTo limit: Int) async -> Body {
        do {
            return .ok(try await request.body.collect(upTo: limit))
        } catch is NIOTooManyBytesError {
            return .refused(esError(request, ElasticError("content_too_long_exception", "request body is larger than \(limit) bytes; send a smaller request", status: 413)))
        } catch {
            return .refused(esError(request, ElasticError("parsing_exception", "the request body could not be read: \(error)")))
        }
    }

    /// Runs `body` and renders what it throws in Elasticsearch's shape.
    func esHandle(_ request: Request, _ body: () throws -> Response) -> Response {
        do {
            return try body()
        } catch {
            let e = Self.elasticError(error) ?? ElasticError("exception", "internal error: \(error)", status: 500)
            var r = esError(request, e)
            if e.status == 503 { r.headers[.retryAfter] = "1" }
            return r
        }
    }

    /// What an error thrown while answering is, in Elasticsearch's terms; nil for an internal error.
    static func elasticError(_ error: Error) -> ElasticError? {
        switch error {
        case let e as ElasticError: return e
        case let e as APIError:
            return ElasticError(e.status == 404 ? "resource_not_found_exception" : "illegal_argument_exception", e.message, status: e.status)
        case let e as EngineError: return ElasticError("illegal_argument_exception", e.description)
        case let e as JSONError: return ElasticError("parsing_exception", e.description)
        case let e as IndexError:
            switch e {
            case .invalidQuery(let m), .invalidDocument(let m): return ElasticError("illegal_argument_exception", m)
            case .timedOut: return ElasticError("search_timeout_exception", e.description + "; narrow the query or retry", status: 503)
            default: return nil
            }
        default: return nil
        }
    }

    func esIndexes(_ request: Request) throws(ElasticError) -> ElasticIndexes {
        guard let elastic else {
            throw ElasticError("illegal_argument_exception", "the Elasticsearch-compatible API needs aisle serve --data DIR", status: 400)
        }
        return elastic
    }

    /// Writes need the API token (as the native API's).
    func esAuthorize(_ request: Request) -> Response? {
        guard let denied = authorize(request) else { return nil }
        let status = Int(denied.status.code)
        let e = status == 403 ? ElasticError("security_exception", "writes are disabled: start aisle serve with --token or AISLE_API_TOKEN", status: 403)
                              : ElasticError("security_exception", "missing or wrong bearer token (Authorization: Bearer ...)", status: 401)
        var r = esError(request, e)
        if status == 401 { r.headers[.wwwAuthenticate] = "Bearer realm=\"aisle\"" }
        return r
    }

    static func queryString(_ request: Request, allowed: Set<String>) throws -> QueryString {
        let qs = try QueryString(request.uri.query)
        for (k, _) in qs.pairs where !allowed.contains(k) {
            throw ElasticError("illegal_argument_exception", "request [\(request.uri.path.prefix(120))] contains unrecognized parameter: [\(k.prefix(60))]")
        }
        return qs
    }

    static func pathPart(_ raw: String?) throws(ElasticError) -> String {
        guard let raw, let s = try? QueryString.decode(Substring(raw), plusIsSpace: false) else {
            throw ElasticError("illegal_argument_exception", "malformed percent escape in the path")
        }
        return s
    }

    /// `?refresh=true|wait_for` makes the change searchable before answering.
    static func refresh(_ index: ElasticIndex, _ qs: QueryString) throws {
        guard let r = try qs.one("refresh") else { return }
        switch r {
        case "", "true", "wait_for": try index.serving.refreshNow()
        case "false": break
        default: throw ElasticError("illegal_argument_exception", "unknown value for refresh: [\(r.prefix(40))]")
        }
    }

    // MARK: - Routes

    func addElasticRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        router.head("/") { request, _ in api.esResponse(request, 200, []) }

        router.put("/{index}") { request, context in
            if let denied = api.esAuthorize(request) { return denied }
            let read = await api.esRead(request, upTo: Self.maxBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.writing {
                api.esHandle(request) {
                    let name = try Self.pathPart(context.parameters.get("index"))
                    _ = try Self.queryString(request, allowed: ["wait_for_active_shards", "timeout", "master_timeout", "pretty"])
                    let value = try Self.jsonBody(body)
                    let index = try api.esIndexes(request).create(name, body: value)
                    return api.esJSON(request, 200, .object([("acknowledged", .bool(true)), ("shards_acknowledged", .bool(true)),
                                                             ("index", .string(name)),
                                                             ("ignored", .array(index.definition.ignored.map { .string($0) }))]))
                }
            }
        }
        router.head("/{index}") { request, context in
            api.esHandle(request) {
                let name = try Self.pathPart(context.parameters.get("index"))
                _ = try api.esIndexes(request).index(name)
                return api.esResponse(request, 200, [])
            }
        }
        router.get("/{index}") { request, context in
            api.esHandle(request) {
                let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                return api.esJSON(request, 200, .object([(index.name, api.describe(index))]))
            }
        }
        router.delete("/{index}") { request, context in
            if let denied = api.esAuthorize(request) { return denied }
            return await api.writing {
                api.esHandle(request) {
                    try api.esIndexes(request).delete(try Self.pathPart(context.parameters.get("index")))
                    return api.esJSON(request, 200, .object([("acknowledged", .bool(true))]))
                }
            }
        }
        router.get("/{index}/_mapping") { request, context in
            api.esHandle(request) {
                let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                return api.esJSON(request, 200, .object([(index.name, .object([("mappings", index.definition.mappings)]))]))
            }
        }
        let cat: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            api.esHandle(request) {
                let qs = try Self.queryString(request, allowed: ["format", "v", "h", "pretty", "s", "expand_wildcards", "bytes"])
                let all = try api.esIndexes(request)
                var names = all.names
                if let one = context.parameters.get("index") {
                    let n = try Self.pathPart(one)
                    _ = try all.index(n)
                    names = [n]
                }
                let rows: [[(String, String)]] = try names.map { n in
                    let i = try all.index(n)
                    let s = i.serving.searcher
                    return [("health", "green"), ("status", "open"), ("index", n), ("uuid", i.uuid), ("pri", "1"), ("rep", "0"),
                            ("docs.count", String(s.liveDocCount)), ("docs.deleted", String(s.docCount - s.liveDocCount))]
                }
                if try qs.one("format") == "json" {
                    return api.esJSON(request, 200, .array(rows.map { .object($0.map { ($0.0, .string($0.1)) }) }))
                }
                var text = qs.pairs.contains { $0.0 == "v" } ? "health status index uuid pri rep docs.count docs.deleted\n" : ""
                for r in rows { text += r.map(\.1).joined(separator: " ") + "\n" }
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        router.get("/_cat/indices", use: cat)
        router.get("/_cat/indices/{index}", use: cat)
        for path in ["/_refresh", "/{index}/_refresh"] {
            let handler: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
                await api.writing {
                    api.esHandle(request) {
                        let all = try api.esIndexes(request)
                        let names = try context.parameters.get("index").map { [try Self.pathPart($0)] } ?? all.names
                        for n in names { try all.index(n).serving.refreshNow() }
                        return api.esJSON(request, 200, .object([("_shards", Self.shards)]))
                    }
                }
            }
            router.post(RouterPath(path), use: handler)
            router.get(RouterPath(path), use: handler)
        }

        // Documents.
        let putDoc: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            if let denied = api.esAuthorize(request) { return denied }
            let read = await api.esRead(request, upTo: Self.maxBulkBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.writing {
                api.esHandle(request) {
                    let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                    let qs = try Self.queryString(request, allowed: ["refresh", "op_type", "timeout", "pretty", "routing", "pipeline"])
                    let id = try context.parameters.get("id").map { try Self.pathPart($0) } ?? Self.newId()
                    let create = try qs.one("op_type") == "create" || request.uri.path.contains("/_create/")
                    let (status, item) = try api.indexDocument(index, id: id, body: Array(buffer: body), create: create)
                    try Self.refresh(index, qs)
                    return api.esJSON(request, status, item)
                }
            }
        }
        router.put("/{index}/_doc/{id}", use: putDoc)
        router.post("/{index}/_doc/{id}", use: putDoc)
        router.post("/{index}/_doc", use: putDoc)
        router.put("/{index}/_create/{id}", use: putDoc)
        router.post("/{index}/_create/{id}", use: putDoc)
        let getDoc: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            await api.searching { _ in
                api.esHandle(request) {
                    let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                    _ = try Self.queryString(request, allowed: ["realtime", "refresh", "pretty", "routing", "_source", "preference"])
                    let id = try Self.pathPart(context.parameters.get("id"))
                    guard let source = try api.currentSource(index, id: id) else {
                        return api.esJSON(request, 404, .object([("_index", .string(index.name)), ("_id", .string(id)), ("found", .bool(false))]))
                    }
                    if request.method == .head { return api.esResponse(request, 200, []) }
                    var w = JSONWriter(capacity: source.utf8.count + 128)
                    w.raw("{")
                    w.key("_index"); w.string(index.name); w.raw(",")
                    w.key("_id"); w.string(id); w.raw(",")
                    w.raw("\"_version\":1,\"_seq_no\":0,\"_primary_term\":1,\"found\":true,")
                    w.key("_source"); w.raw(source)
                    w.raw("}")
                    return api.esResponse(request, 200, w.bytes)
                }
            }
        }
        router.get("/{index}/_doc/{id}", use: getDoc)
        router.head("/{index}/_doc/{id}", use: getDoc)
        router.delete("/{index}/_doc/{id}") { request, context in
            if let denied = api.esAuthorize(request) { return denied }
            return await api.writing {
                api.esHandle(request) {
                    let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                    let qs = try Self.queryString(request, allowed: ["refresh", "timeout", "pretty", "routing"])
                    let id = try Self.pathPart(context.parameters.get("id"))
                    let (status, item) = try api.deleteDocument(index, id: id)
                    try Self.refresh(index, qs)
                    return api.esJSON(request, status, item)
                }
            }
        }
        router.post("/{index}/_update/{id}") { request, context in
            if let denied = api.esAuthorize(request) { return denied }
            let read = await api.esRead(request, upTo: Self.maxBulkBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.writing {
                api.esHandle(request) {
                    let index = try api.esIndexes(request).index(try Self.pathPart(context.parameters.get("index")))
                    let qs = try Self.queryString(request, allowed: ["refresh", "timeout", "pretty", "routing", "retry_on_conflict"])
                    let id = try Self.pathPart(context.parameters.get("id"))
                    let (status, item) = try api.updateDocument(index, id: id, action: try Self.jsonBody(body))
                    try Self.refresh(index, qs)
                    return api.esJSON(request, status, item)
                }
            }
        }

        // Bulk.
        for path in ["/_bulk", "/{index}/_bulk"] {
            let handler: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
                if let denied = api.esAuthorize(request) { return denied }
                let read = await api.esRead(request, upTo: Self.maxBulkBody)
                guard case .ok(let body) = read else { return read.response! }
                return await api.writing {
                    api.esHandle(request) {
                        let qs = try Self.queryString(request, allowed: ["refresh", "timeout", "pretty", "routing", "pipeline", "wait_for_active_shards", "_source", "filter_path"])
                        let defaultIndex = try context.parameters.get("index").map { try Self.pathPart($0) }
                        return api.esJSON(request, 200, try api.bulk(request, body: Array(buffer: body), defaultIndex: defaultIndex, query: qs))
                    }
                }
            }
            router.post(RouterPath(path), use: handler)
            router.put(RouterPath(path), use: handler)
        }

        addElasticSearchRoutes(router)
    }

    // MARK: - Handlers

    func clusterInfo() -> JSONValue {
        .object([("name", .string(ProcessInfo.processInfo.hostName)), ("cluster_name", .string("aisle")),
                 ("cluster_uuid", .string(Self.clusterUUID)),
                 ("version", .object([("number", .string(Self.elasticVersion)), ("build_flavor", .string("default")),
                                      ("build_type", .string("aisle")), ("lucene_version", .string("9.8.0")),
                                      ("minimum_wire_compatibility_version", .string("7.17.0")),
                                      ("minimum_index_compatibility_version", .string("7.0.0"))])),
                 ("tagline", .string("You Know, for Search"))])
    }

    func describe(_ index: ElasticIndex) -> JSONValue {
        var settings: [(String, JSONValue)] = [("number_of_shards", .string("1")), ("number_of_replicas", .string("0")),
                                               ("uuid", .string(index.uuid)), ("provided_name", .string(index.name)),
                                               ("creation_date", .string(String(Int64(index.created.timeIntervalSince1970 * 1000))))]
        if let r = index.definition.refreshInterval { settings.append(("refresh_interval", .string(r > 0 ? "\(Int64((r * 1000).rounded()))ms" : "-1"))) }
        settings.append(("aisle", .object([("ignored", .array(index.definition.ignored.map { .string($0) }))])))
        return .object([("aliases", .object([])), ("mappings", index.definition.mappings), ("settings", .object([("index", .object(settings))]))])
    }

    static func jsonBody(_ body: ByteBuffer) throws(ElasticError) -> JSONValue? {
        let text = String(buffer: body)
        if text.allSatisfy({ $0.isWhitespace }) { return nil }
        do { return try JSONValue.parse(text) } catch {
            throw ElasticError("parsing_exception", "request body is not valid JSON: \(error)")
        }
    }

    /// A new document id: 20 characters of random URL-safe base64, as Elasticsearch's look.
    static func newId() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var g = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(g.next() % 64)] })
    }

    func item(_ index: ElasticIndex, _ id: String, result: String, status: Int) -> JSONValue {
        .object([("_index", .string(index.name)), ("_id", .string(id)), ("_version", .number(1)), ("result", .string(result)),
                 ("_shards", Self.shards), ("_seq_no", .number(0)), ("_primary_term", .number(1)), ("status", .number(Double(status)))])
    }

    /// Indexes (or, with `create`, only creates) one document: (status, the item).
    func indexDocument(_ index: ElasticIndex, id: String, body: [UInt8], create: Bool, built: IndexDocument? = nil) throws -> (Int, JSONValue) {
        guard let live = index.serving.live else { throw ElasticError("illegal_state_exception", "index [\(index.name)] is read-only here", status: 500) }
        if create, try live.contains(id: id) {
            throw ElasticError("version_conflict_engine_exception", "[\(id.prefix(80))]: version conflict, document already exists (current version [1])", status: 409)
        }
        let doc = try built ?? body.withUnsafeBufferPointer { try index.document(id: id, source: $0) }
        let replaced = try live.upsert(doc)
        return replaced ? (200, item(index, id, result: "updated", status: 200)) : (201, item(index, id, result: "created", status: 201))
    }

    func deleteDocument(_ index: ElasticIndex, id: String) throws -> (Int, JSONValue) {
        guard let live = index.serving.live else { throw ElasticError("illegal_state_exception", "index [\(index.name)] is read-only here", status: 500) }
        return try live.delete(id: id) ? (200, item(index, id, result: "deleted", status: 200)) : (404, item(index, id, result: "not_found", status: 404))
    }

    /// The document's `_source` as stored, seeing changes not yet refreshed (GET is real-time).
    func currentSource(_ index: ElasticIndex, id: String) throws -> String? {
        guard let live = index.serving.live else { return nil }
        guard try live.contains(id: id) else { return nil }
        _ = try live.refreshIfChanged()
        let s = live.searcher
        guard let d = try s.doc(forId: id) else { return nil }
        if case .string(let text)? = try s.storedFields(of: d).first(where: { $0.name == ElasticMapping.sourceField })?.value { return text }
        return nil
    }

    /// `_update` with `{"doc": {...}}` (merged into the current `_source`, objects deeply),
    /// `doc_as_upsert`, or `upsert`.
    func updateDocument(_ index: ElasticIndex, id: String, action: JSONValue?) throws -> (Int, JSONValue) {
        guard let members = action?.objectValue else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: script or doc is missing;") }
        var doc: JSONValue?, upsert: JSONValue?, docAsUpsert = false
        for (k, v) in members {
            switch k {
            case "doc": doc = v
            case "upsert": upsert = v
            case "doc_as_upsert": docAsUpsert = v.boolValue ?? false
            case "detect_noop", "_source": break
            case "script": throw ElasticError("illegal_argument_exception", "scripted updates are not supported by Aisle")
            default: throw ElasticError("x_content_parse_exception", "[1:2] [UpdateRequest] unknown field [\(k.prefix(60))]")
            }
        }
        guard let doc, doc.objectValue != nil else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: script or doc is missing;") }
        let merged: JSONValue
        if let current = try currentSource(index, id: id) {
            merged = Self.merge(try JSONValue.parse(current), doc)
        } else if docAsUpsert {
            merged = doc
        } else if let upsert {
            merged = upsert
        } else {
            throw ElasticError("document_missing_exception", "[\(id.prefix(80))]: document missing", status: 404)
        }
        let (status, _) = try indexDocument(index, id: id, body: Array(merged.jsonText.utf8), create: false)
        return (status, item(index, id, result: status == 201 ? "created" : "updated", status: status))
    }

    /// Elasticsearch's partial-document merge: objects merge key by key, anything else replaces.
    static func merge(_ base: JSONValue, _ change: JSONValue) -> JSONValue {
        guard case .object(var b) = base, case .object(let c) = change else { return change }
        for (k, v) in c {
            if let i = b.firstIndex(where: { $0.0 == k }) { b[i].1 = merge(b[i].1, v) } else { b.append((k, v)) }
        }
        return .object(b)
    }

    /// NDJSON `_bulk`: action lines (`index`, `create`, `update`, `delete`) and their sources.
    /// The whole request is read first: a line that is not an action fails the request and
    /// nothing is applied (as Elasticsearch does). The documents of `index` and `create` actions
    /// are then built on every core (they do not depend on the index's state), and every action is
    /// applied in order; a bad item fails alone.
    func bulk(_ request: Request, body: [UInt8], defaultIndex: String?, query: QueryString) throws -> JSONValue {
        let started = DispatchTime.now().uptimeNanoseconds
        let all = try esIndexes(request)
        struct Action {
            var op: String
            var index: String
            var id: String?
            var source: ArraySlice<UInt8>?
            var built: (stream: BuildStream, position: Int)?
        }
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, b) in body.enumerated() where b == 0x0A {
            lines.append(body[start..<i])
            start = i + 1
        }
        if start < body.count { lines.append(body[start...]) }
        lines = lines.filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D } }
        var actions: [Action] = []
        var i = 0
        while i < lines.count {
            i += 1
            guard let action = try? JSONValue.parse(String(decoding: lines[i - 1], as: UTF8.self)), let members = action.objectValue, members.count == 1 else {
                throw ElasticError("illegal_argument_exception", "Malformed action/metadata line [\(i)], expected START_OBJECT with a single action")
            }
            let (op, meta) = members[0]
            guard ["index", "create", "update", "delete"].contains(op) else {
                throw ElasticError("illegal_argument_exception", "Malformed action/metadata line [\(i)], expected one of [create, delete, index, update] but found [\(op.prefix(40))]")
            }
            var a = Action(op: op, index: meta["_index"]?.stringValue ?? defaultIndex ?? "", id: Self.documentId(meta["_id"]))
            if op != "delete" {
                guard i < lines.count else { throw ElasticError("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]; the \(op) action on line \(i) has no source") }
                a.source = lines[i]
                i += 1
            }
            actions.append(a)
        }
        var byIndex: [String: [Int]] = [:]
        for (k, a) in actions.enumerated() where (a.op == "index" || a.op == "create") && a.id != nil { byIndex[a.index, default: []].append(k) }
        // Documents are built on every core while the first ones are applied (in order).
        var streams: [BuildStream] = []
        defer { for s in streams { s.finish() } }
        for (name, ks) in byIndex {
            guard let index = try? all.index(name) else { continue }
            let stream = index.documentStream(ks.map { (actions[$0].id!, actions[$0].source!) })
            streams.append(stream)
            for (p, k) in ks.enumerated() { actions[k].built = (stream, p) }
        }
        var items: [JSONValue] = []
        var errors = false
        var touched: [String: ElasticIndex] = [:]
        for a in actions {
            do {
                guard !a.index.isEmpty else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: index is missing;") }
                let index = try all.index(a.index)
                touched[a.index] = index
                let status: Int, item: JSONValue
                switch a.op {
                case "index", "create":
                    (status, item) = try indexDocument(index, id: a.id ?? Self.newId(), body: a.built == nil ? Array(a.source!) : [], create: a.op == "create",
                                                       built: try a.built.map { try $0.stream.take($0.position).get() })
                case "update":
                    guard let id = a.id else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: id is missing;") }
                    let parsed: JSONValue
                    do { parsed = try JSONValue.parse(String(decoding: a.source!, as: UTF8.self)) } catch {
                        throw ElasticError("parsing_exception", "the update source is not valid JSON: \(error)")
                    }
                    (status, item) = try updateDocument(index, id: id, action: parsed)
                default:
                    guard let id = a.id else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: id is missing;") }
                    (status, item) = try deleteDocument(index, id: id)
                }
                items.append(.object([(a.op, item)]))
                if status >= 300 { errors = true }
            } catch {
                let e = error as? ElasticError ?? ElasticError("document_parsing_exception", "\(error)")
                errors = true
                items.append(.object([(a.op, .object([("_index", .string(a.index)), ("_id", a.id.map { .string($0) } ?? .null),
                                                      ("status", .number(Double(e.status))),
                                                      ("error", .object([("type", .string(e.type)), ("reason", .string(e.reason))]))]))]))
            }
        }
        if let r = try query.one("refresh"), r != "false" {
            for index in touched.values { try index.serving.refreshNow() }
        }
        let took = Double((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        return .object([("took", .number(took)), ("errors", .bool(errors)), ("items", .array(items))])
    }

    /// A document id as an action gives it: a string, or a number (its integer text when it is
    /// one, never a trapping conversion).
    static func documentId(_ v: JSONValue?) -> String? {
        if let s = v?.stringValue { return s }
        guard let d = v?.numberValue, d.isFinite else { return nil }
        if let i = Int64(exactly: d) { return String(i) }
        return JSONValue.number(d).jsonText
    }
}
