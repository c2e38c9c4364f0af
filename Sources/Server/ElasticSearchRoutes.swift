import AisleEngine
import AisleIndex
import Foundation
import Hummingbird
import NIOCore

/// `_search`, `_msearch` and `_count` of the Elasticsearch-compatible API: the DSL parsed by
/// `ElasticDSL`, run by `ElasticIndex.search`, rendered in Elasticsearch's answer shape.
extension APIServer {
    func addElasticSearchRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        let search: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            let read = await api.esRead(request, upTo: Self.maxSearchBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.searching { deadline in
                api.esHandle(request) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let names = try context.parameters.get("index").map { try Self.pathPart($0) }
                    let index = try api.esTarget(names)
                    let qs = try QueryString(request.uri.query)
                    let (req, render) = try ElasticDSL.search(try Self.jsonBody(body), query: qs)
                    let result = try index.search(req, deadline: deadline)
                    var w = JSONWriter(capacity: 4096)
                    try api.renderSearch(result, index: index, render: render, request: req, t0: t0, into: &w)
                    return api.esResponse(request, 200, w.bytes)
                }
            }
        }
        for path in ["/{index}/_search", "/_search"] {
            router.get(RouterPath(path), use: search)
            router.post(RouterPath(path), use: search)
        }
        let msearch: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            let read = await api.esRead(request, upTo: Self.maxBulkBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.searching { deadline in
                api.esHandle(request) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let defaultIndex = try context.parameters.get("index").map { try Self.pathPart($0) }
                    let qs = try Self.queryString(request, allowed: ["pretty", "max_concurrent_searches", "typed_keys", "rest_total_hits_as_int",
                                                                    "search_type", "ccs_minimize_roundtrips", "max_concurrent_shard_requests"])
                    if try qs.one("typed_keys") != nil { throw ElasticDSL.unsupported("the [typed_keys] parameter") }
                    return api.esResponse(request, 200, try api.msearch(Array(buffer: body), defaultIndex: defaultIndex, deadline: deadline, t0: t0))
                }
            }
        }
        for path in ["/{index}/_msearch", "/_msearch"] {
            router.get(RouterPath(path), use: msearch)
            router.post(RouterPath(path), use: msearch)
        }
        let count: @Sendable (Request, BasicRequestContext) async -> Response = { request, context in
            let read = await api.esRead(request, upTo: Self.maxSearchBody)
            guard case .ok(let body) = read else { return read.response! }
            return await api.searching { deadline in
                api.esHandle(request) {
                    let index = try api.esTarget(try context.parameters.get("index").map { try Self.pathPart($0) })
                    _ = try Self.queryString(request, allowed: ["pretty", "ignore_unavailable", "allow_no_indices", "expand_wildcards", "preference"])
                    var req = ElasticSearchRequest()
                    if let b = try Self.jsonBody(body), !b.isNull {
                        guard let o = b.objectValue else { throw ElasticDSL.parsing("the count body must be a JSON object") }
                        for (k, v) in o {
                            guard k == "query" else { throw ElasticDSL.parsing("request does not support [\(k.prefix(60))]") }
                            req.query = try ElasticDSL.query(v, depth: 0)
                        }
                    }
                    req.size = 0
                    req.trackTotalHits = .exact
                    let r = try index.search(req, deadline: deadline)
                    return api.esJSON(request, 200, .object([("count", .number(Double(r.total))), ("_shards", Self.shards)]))
                }
            }
        }
        router.get("/{index}/_count", use: count)
        router.post("/{index}/_count", use: count)
    }

    /// The one index a search names (a search over several indexes, patterns or none is refused).
    func esTarget(_ names: String?) throws -> ElasticIndex {
        guard let all = elastic else { throw ElasticError("illegal_argument_exception", "the Elasticsearch-compatible API needs aisle serve --data DIR") }
        guard let names else {
            let n = all.names
            guard n.count == 1 else {
                throw ElasticError("illegal_argument_exception", "searching every index is not supported by Aisle; name one index (/{index}/_search)")
            }
            return try all.index(n[0])
        }
        if names.contains(",") || names.contains("*") || names == "_all" {
            throw ElasticError("illegal_argument_exception", "searching several indexes or patterns ([\(names.prefix(80))]) is not supported by Aisle; name one index")
        }
        return try all.index(names)
    }

    /// NDJSON `_msearch`: header and body lines in pairs; each search answers in order, a bad one
    /// with its own error.
    func msearch(_ body: [UInt8], defaultIndex: String?, deadline: SearchDeadline?, t0: UInt64) throws -> [UInt8] {
        var lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { $0 }
        while let l = lines.last, l.allSatisfy({ $0 == 32 || $0 == 13 }) { lines.removeLast() }
        guard !lines.isEmpty else { throw ElasticError("action_request_validation_exception", "Validation Failed: 1: no requests added;") }
        guard lines.count % 2 == 0 else {
            throw ElasticError("illegal_argument_exception", "The msearch request must be header and body lines in pairs, terminated by a newline [\\n]")
        }
        guard lines.count / 2 <= 1000 else { throw ElasticError("illegal_argument_exception", "at most 1000 searches per _msearch") }
        var w = JSONWriter(capacity: 8192)
        w.raw("{\"responses\":[")
        for i in stride(from: 0, to: lines.count, by: 2) {
            if i > 0 { w.raw(",") }
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                let header = try JSONValue.parse(String(decoding: lines[i], as: UTF8.self))
                var name = defaultIndex
                for (k, v) in header.objectValue ?? [] {
                    switch k {
                    case "index":
                        guard let s = v.stringValue ?? (v.arrayValue?.count == 1 ? v.arrayValue![0].stringValue : nil) else {
                            throw ElasticError("illegal_argument_exception", "msearch header [index] must name one index")
                        }
                        name = s
                    case "preference", "search_type", "request_cache", "routing", "ignore_unavailable", "allow_no_indices", "expand_wildcards": break
                    default: throw ElasticError("illegal_argument_exception", "key [\(k.prefix(60))] is not supported in the msearch header")
                    }
                }
                let index = try esTarget(name)
                let bodyText = String(decoding: lines[i + 1], as: UTF8.self)
                let value = bodyText.allSatisfy({ $0 == " " || $0 == "\r" }) ? nil : try JSONValue.parse(bodyText)
                let (req, render) = try ElasticDSL.search(value, query: try QueryString(nil))
                let result = try index.search(req, deadline: deadline)
                var one = JSONWriter(capacity: 2048)
                try renderSearch(result, index: index, render: render, request: req, t0: started, into: &one, status: 200)
                w.bytes.append(contentsOf: one.bytes)
            } catch {
                // A bad search fails alone; a timeout or an internal error fails the whole request.
                guard let e = Self.elasticError(error), e.status != 503 else { throw error }
                let cause: JSONValue = .object([("type", .string(e.type)), ("reason", .string(e.reason))])
                w.value(.object([("error", .object([("root_cause", .array([cause])), ("type", .string(e.type)), ("reason", .string(e.reason))])),
                                 ("status", .number(Double(e.status)))]))
            }
        }
        w.raw("],\"took\":")
        w.number(Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000))
        w.raw("}")
        return w.bytes
    }

    // MARK: - Rendering

    func renderSearch(_ r: ElasticSearchResult, index: ElasticIndex, render: ElasticDSL.Render, request: ElasticSearchRequest, t0: UInt64,
                      into w: inout JSONWriter, status: Int? = nil) throws {
        w.raw("{\"took\":")
        w.number(Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000))
        w.raw(",\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,\"skipped\":0,\"failed\":0},\"hits\":{")
        if render.showTotal {
            if render.totalAsInt {
                w.raw("\"total\":"); w.number(r.total)
            } else {
                w.raw("\"total\":{\"value\":"); w.number(r.total)
                w.raw(r.totalIsExact ? ",\"relation\":\"eq\"}" : ",\"relation\":\"gte\"}")
            }
            w.raw(",")
        }
        w.raw("\"max_score\":")
        if let m = r.maxScore { w.number(m) } else { w.raw("null") }
        w.raw(",\"hits\":[")
        let nameJSON: [UInt8] = { var x = JSONWriter(capacity: 64); x.string(index.name); return x.bytes }()
        for (i, h) in r.hits.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"_index\":"); w.bytes.append(contentsOf: nameJSON)
            w.raw(",\"_id\":"); w.string(h.id)
            w.raw(",\"_score\":")
            if let s = h.score { w.number(s) } else { w.raw("null") }
            let needSource = render.source != .none || render.highlight != nil
            let stored = needSource ? try storedSource(r.searcher, doc: h.doc) : nil
            if render.source != .none, let stored {
                w.raw(",\"_source\":")
                if render.source == .all { w.raw(stored) } else if case .paths(let inc, let exc) = render.source {
                    w.value(Self.filterSource(try JSONValue.parse(stored), includes: inc, excludes: exc))
                }
            }
            if let hl = render.highlight, let stored, !r.highlightTerms.isEmpty {
                let fragments = highlight(hl, source: try JSONValue.parse(stored), index: index, terms: r.highlightTerms)
                if !fragments.isEmpty {
                    w.raw(",\"highlight\":")
                    w.value(.object(fragments.map { ($0.0, .array($0.1.map { .string($0) })) }))
                }
            }
            if let sort = h.sort {
                w.raw(",\"sort\":")
                w.value(.array(sort.map(Self.json)))
            }
            w.raw("}")
        }
        w.raw("]}")
        if !request.aggregations.isEmpty {
            w.raw(",\"aggregations\":")
            w.value(Self.aggregationsJSON(r.aggregations))
        }
        if let status {
            w.raw(",\"status\":"); w.number(status)
        }
        w.raw("}")
    }

    func storedSource(_ s: Searcher, doc: Int) throws -> String {
        if case .string(let text)? = try s.storedFields(of: doc).first(where: { $0.name == ElasticMapping.sourceField })?.value { return text }
        return "{}"
    }

    static func json(_ v: ElasticValue) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .number(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .null: return .null
        }
    }

    static func aggregationsJSON(_ aggs: [NamedAggregationResult]) -> JSONValue {
        .object(aggs.map { ($0.name, aggregationJSON($0.result)) })
    }

    static func aggregationJSON(_ r: AggregationResult) -> JSONValue {
        func bucket(_ b: AggregationBucket, kind: AggregationResult.Kind, keyed: Bool) -> JSONValue {
            var o: [(String, JSONValue)] = []
            if !(kind == .filters && keyed) && !(kind == .range && keyed) && !(kind == .filters && !keyed) { o.append(("key", json(b.key))) }
            if let s = b.keyAsString { o.append(("key_as_string", .string(s))) }
            if let f = b.from { o.append(("from", .number(f))) }
            if let t = b.to { o.append(("to", .number(t))) }
            o.append(("doc_count", .number(Double(b.docCount))))
            for s in b.subs { o.append((s.name, aggregationJSON(s.result))) }
            return .object(o)
        }
        switch r {
        case .buckets(let kind, let buckets, let other, let keyed):
            var o: [(String, JSONValue)] = []
            if kind == .terms {
                o.append(("doc_count_error_upper_bound", .number(0)))
                o.append(("sum_other_doc_count", .number(Double(other ?? 0))))
            }
            if keyed {
                o.append(("buckets", .object(buckets.map { ($0.key.text, bucket($0, kind: kind, keyed: true)) })))
            } else {
                o.append(("buckets", .array(buckets.map { bucket($0, kind: kind, keyed: false) })))
            }
            return .object(o)
        case .single(let n, let subs):
            return .object([("doc_count", .number(Double(n)))] + subs.map { ($0.name, aggregationJSON($0.result)) })
        case .metric(let m, let count, let lo, let hi, let sum):
            let avg: JSONValue = count > 0 ? .number(sum / Double(count)) : .null
            switch m {
            case .stats:
                return .object([("count", .number(Double(count))), ("min", lo.map { .number($0) } ?? .null), ("max", hi.map { .number($0) } ?? .null),
                                ("avg", avg), ("sum", .number(sum))])
            case .min: return .object([("value", lo.map { .number($0) } ?? .null)])
            case .max: return .object([("value", hi.map { .number($0) } ?? .null)])
            case .avg: return .object([("value", avg)])
            case .sum: return .object([("value", .number(sum))])
            case .valueCount: return .object([("value", .number(Double(count)))])
            }
        }
    }

    /// `_source` includes/excludes: dotted paths, `*` wildcards.
    static func filterSource(_ v: JSONValue, includes: [String], excludes: [String]) -> JSONValue {
        func glob(_ p: String, _ s: String) -> Bool {
            if !p.contains("*") { return p == s }
            let parts = p.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            var rest = Substring(s)
            guard rest.hasPrefix(parts[0]) else { return false }
            rest = rest.dropFirst(parts[0].count)
            for (i, part) in parts.enumerated().dropFirst() {
                if i == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
                guard let r = rest.range(of: part) else { return false }
                rest = rest[r.upperBound...]
            }
            return true
        }
        func keep(_ path: String, isObject: Bool) -> (keep: Bool, descend: Bool) {
            if excludes.contains(where: { glob($0, path) }) { return (false, false) }
            if includes.isEmpty || includes.contains(where: { glob($0, path) || glob($0 + ".*", path) == false && path.hasPrefix($0 + ".") }) {
                return (true, false)
            }
            let prefix = path + "."
            let under = includes.contains { $0.hasPrefix(prefix) || ($0.contains("*") && glob($0, prefix + "x")) }
            return (false, isObject && (under || excludes.contains { $0.hasPrefix(prefix) }))
        }
        func walk(_ v: JSONValue, _ prefix: String) -> JSONValue? {
            guard let o = v.objectValue else { return v }
            var out: [(String, JSONValue)] = []
            for (k, x) in o {
                let path = prefix.isEmpty ? k : prefix + "." + k
                let (k1, d) = keep(path, isObject: x.objectValue != nil)
                if k1 {
                    if x.objectValue != nil && excludes.contains(where: { $0.hasPrefix(path + ".") }) {
                        if let sub = walk(x, path) { out.append((k, sub)) }
                    } else {
                        out.append((k, x))
                    }
                } else if d, let sub = walk(x, path), !(sub.objectValue?.isEmpty ?? false) {
                    out.append((k, sub))
                }
            }
            return .object(out)
        }
        return walk(v, "") ?? .object([])
    }

    /// Highlighted fragments per requested field: the field's text from `_source` with the query's
    /// terms (analysed as the field is) wrapped in the tags. A value up to `fragment_size` is one
    /// fragment; a longer one gives up to `number_of_fragments` windows around the matches (0: the
    /// whole value).
    func highlight(_ h: ElasticDSL.Highlight, source: JSONValue, index: ElasticIndex, terms: [Int: Set<[UInt8]>]) -> [(String, [String])] {
        var out: [(String, [String])] = []
        var names: [(name: String, pre: [String]?, post: [String]?, fragments: Int?, size: Int?)] = []
        for f in h.fields {
            if f.name.contains("*") {
                let prefix = String(f.name.prefix { $0 != "*" })
                for n in index.definition.fields.keys.sorted() where n.hasPrefix(prefix) && index.textGroup(of: n) != nil {
                    names.append((n, f.pre, f.post, f.fragments, f.size))
                }
            } else {
                names.append(f)
            }
        }
        for f in names {
            guard let g = index.textGroup(of: f.name), let t = terms[g], !t.isEmpty else { continue }
            var value: JSONValue? = source
            for part in f.name.split(separator: ".") { value = value?[String(part)] }
            let texts: [String] = value.map { v in v.stringValue.map { [$0] } ?? (v.arrayValue ?? []).compactMap { $0.stringValue } } ?? []
            let pre = f.pre ?? h.pre, post = f.post ?? h.post
            let nFrag = f.fragments ?? h.fragments, size = f.size ?? h.size
            var fragments: [String] = []
            for text in texts {
                let ranges = index.highlights(in: text, terms: t, group: g)
                guard !ranges.isEmpty else { continue }
                let utf8 = Array(text.utf8)
                func piece(_ a: Int, _ b: Int) -> String {
                    let s = String(decoding: utf8[a..<b], as: UTF8.self)
                    return h.html ? Self.htmlEscape(s) : s
                }
                func render(_ lo: Int, _ hi: Int) -> String {
                    var s = ""
                    var at = lo
                    for (i, r) in ranges.enumerated() where r.lowerBound >= lo && r.upperBound <= hi {
                        s += piece(at, r.lowerBound) + pre[i % pre.count] + piece(r.lowerBound, r.upperBound) + post[i % post.count]
                        at = r.upperBound
                    }
                    return s + piece(at, hi)
                }
                if nFrag == 0 || utf8.count <= size {
                    fragments.append(render(0, utf8.count))
                    continue
                }
                var windows: [(Int, Int)] = []
                for r in ranges {
                    if let last = windows.last, r.upperBound <= last.1 { continue }
                    var lo = max(0, r.lowerBound - size / 2)
                    while lo > 0 && lo < utf8.count && (utf8[lo] & 0xC0) == 0x80 { lo -= 1 }
                    var hi = min(utf8.count, lo + size)
                    if hi < r.upperBound { hi = r.upperBound }
                    while hi < utf8.count && (utf8[hi] & 0xC0) == 0x80 { hi += 1 }
                    if let last = windows.last, lo < last.1 { lo = last.1 }
                    windows.append((lo, hi))
                    if windows.count >= nFrag { break }
                }
                for (lo, hi) in windows { fragments.append(render(lo, hi)) }
            }
            if !fragments.isEmpty { out.append((f.name, Array(fragments.prefix(max(1, nFrag == 0 ? fragments.count : nFrag))))) }
        }
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "&": o += "&amp;"
            case "\"": o += "&quot;"
            case "'": o += "&#x27;"
            default: o.append(c)
            }
        }
        return o
    }
}
