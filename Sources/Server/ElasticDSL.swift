import Foundation
import AisleEngine
import AisleIndex

/// Elasticsearch's query DSL, aggregations and sort (JSON) → Aisle's typed `ElasticSearchRequest`.
/// Every key is checked: what Aisle does not do is a 400 naming it, never silently ignored.
enum ElasticDSL {
    static let maxDepth = 32
    static let maxClauses = 1024

    static func parsing(_ reason: String) -> ElasticError { ElasticError("parsing_exception", reason) }
    static func unsupported(_ what: String) -> ElasticError { ElasticError("illegal_argument_exception", "\(what) is not supported by Aisle") }

    /// Query types Elasticsearch has that Aisle does not answer (named in the 400).
    static let knownUnsupported: Set<String> = [
        "wildcard", "regexp", "fuzzy", "query_string", "simple_query_string", "nested", "has_child", "has_parent",
        "function_score", "script_score", "script", "geo_distance", "geo_bounding_box", "geo_shape", "more_like_this",
        "span_term", "span_near", "intervals", "dis_max", "boosting", "constant_score", "match_phrase_prefix", "combined_fields",
        "knn", "percolate", "wrapper", "pinned", "rank_feature", "distance_feature", "terms_set", "term_set", "parent_id", "shape",
    ]

    // MARK: - Search body

    /// What the answer shows besides the hits: `_source` filtering, highlighting, totals.
    struct Render {
        var source: SourceFilter = .all
        var highlight: Highlight?
        /// `track_total_hits: false`: no `hits.total`.
        var showTotal = true
        var totalAsInt = false
    }

    enum SourceFilter: Equatable {
        case all, none
        case paths(includes: [String], excludes: [String])
    }

    struct Highlight {
        var fields: [(name: String, pre: [String]?, post: [String]?, fragments: Int?, size: Int?)] = []
        var pre = ["<em>"]
        var post = ["</em>"]
        var fragments = 5
        var size = 100
        var html = false
    }

    static let searchKeys = "query, post_filter, from, size, sort, search_after, track_total_hits, _source, highlight, aggs, aggregations, timeout"

    static func search(_ body: JSONValue?, query qs: QueryString) throws -> (ElasticSearchRequest, Render) {
        var r = ElasticSearchRequest()
        var render = Render()
        if let body, !body.isNull {
            guard let members = body.objectValue else { throw parsing("the search body must be a JSON object") }
            for (k, v) in members {
                switch k {
                case "query": r.query = try query(v, depth: 0)
                case "post_filter": r.postFilter = try query(v, depth: 0)
                case "from": r.from = try int(v, "from", min: 0)
                case "size": r.size = try int(v, "size", min: 0)
                case "sort": r.sort = try sort(v)
                case "search_after":
                    guard let a = v.arrayValue else { throw parsing("[search_after] must be an array") }
                    r.searchAfter = try a.map { try value($0, "search_after") }
                case "track_total_hits":
                    (r.trackTotalHits, render.showTotal) = try trackTotalHits(v)
                case "_source": render.source = try source(v)
                case "highlight": render.highlight = try highlight(v)
                case "aggs", "aggregations": r.aggregations = try aggregations(v, depth: 0)
                case "timeout", "track_scores":
                    break
                case "explain", "version", "seq_no_primary_term", "stored_fields", "docvalue_fields", "fields", "script_fields",
                     "collapse", "rescore", "suggest", "min_score", "indices_boost", "pit", "runtime_mappings", "knn", "profile",
                     "terminate_after", "stats", "ext", "slice", "rank", "retriever":
                    throw unsupported("[\(k)] in a search")
                default:
                    throw parsing("Unknown key for a START_OBJECT in [\(k.prefix(80))] (Aisle knows: \(searchKeys))")
                }
            }
        }
        for (k, v) in qs.pairs {
            switch k {
            case "from": r.from = try intParam(v, k)
            case "size": r.size = try intParam(v, k)
            case "track_total_hits":
                (r.trackTotalHits, render.showTotal) = try trackTotalHits(v == "true" ? .bool(true) : v == "false" ? .bool(false) : .number(Double(try intParam(v, k))))
            case "_source":
                render.source = v == "false" ? .none : v == "true" ? .all : .paths(includes: v.split(separator: ",").map(String.init), excludes: [])
            case "_source_includes", "_source_excludes":
                var (inc, exc) = ([String](), [String]())
                if case .paths(let i, let e) = render.source { (inc, exc) = (i, e) }
                if k == "_source_includes" { inc = v.split(separator: ",").map(String.init) } else { exc = v.split(separator: ",").map(String.init) }
                render.source = .paths(includes: inc, excludes: exc)
            case "rest_total_hits_as_int": render.totalAsInt = v != "false"
            case "sort":
                let parts = v.split(separator: ":", maxSplits: 1).map(String.init)
                r.sort = try sort(parts.count == 2 ? .object([(parts[0], .string(parts[1]))]) : .string(v))
            case "pretty", "timeout", "request_cache", "preference", "search_type", "allow_partial_search_results", "ignore_unavailable",
                 "allow_no_indices", "expand_wildcards", "ccs_minimize_roundtrips", "batched_reduce_size", "max_concurrent_shard_requests",
                 "typed_keys", "error_trace", "filter_path", "human":
                if k == "typed_keys" || k == "filter_path" { throw unsupported("the [\(k)] parameter") }
            case "q":
                throw unsupported("the URI search parameter [q]; send {\"query\": {\"multi_match\": {\"query\": ...}}} in the body")
            default:
                throw ElasticError("illegal_argument_exception", "request contains unrecognized parameter: [\(k.prefix(60))]")
            }
        }
        return (r, render)
    }

    static func trackTotalHits(_ v: JSONValue) throws -> (TotalHitsTracking, Bool) {
        if let b = v.boolValue { return (b ? .exact : .upTo(0), b) }
        let n = try int(v, "track_total_hits", min: -1)
        return (n < 0 ? .exact : .upTo(n), true)
    }

    static func int(_ v: JSONValue, _ name: String, min: Int) throws -> Int {
        guard let d = v.numberValue ?? v.stringValue.flatMap({ Double($0) }), let i = Int(exactly: d), i >= min, i <= 1 << 40 else {
            throw parsing("[\(name)] must be an integer of at least \(min)")
        }
        return i
    }

    static func intParam(_ s: String, _ name: String) throws -> Int {
        guard let i = Int(s), i >= 0 else { throw ElasticError("illegal_argument_exception", "Failed to parse int parameter [\(name)] with value [\(s.prefix(40))]") }
        return i
    }

    static func float(_ v: JSONValue, _ name: String) throws -> Float {
        guard let d = v.numberValue ?? v.stringValue.flatMap({ Double($0) }), d.isFinite, abs(d) <= 1e6 else {
            throw parsing("[\(name)] must be a number")
        }
        return Float(d)
    }

    static func value(_ v: JSONValue, _ name: String) throws -> ElasticValue {
        switch v {
        case .string(let s): return .string(s)
        case .number(let d):
            guard d.isFinite else { throw parsing("[\(name)] must be a finite number") }
            return .number(d)
        case .bool(let b): return .bool(b)
        case .null: return .null
        default: throw parsing("[\(name)] must be a string, a number or a boolean, found \(v.typeName)")
        }
    }

    static func text(_ v: JSONValue, _ name: String) throws -> String {
        switch v {
        case .string(let s): return s
        case .number(let d): return ElasticValue.number(d).text
        case .bool(let b): return b ? "true" : "false"
        default: throw parsing("[\(name)] query must be a string, found \(v.typeName)")
        }
    }

    static func msm(_ v: JSONValue) throws -> MinimumShouldMatch {
        if let d = v.numberValue, let i = Int(exactly: d) { return .count(i) }
        if let s = v.stringValue?.trimmingCharacters(in: .whitespaces) {
            if s.hasSuffix("%"), let p = Int(s.dropLast()), abs(p) <= 100 { return .percent(p) }
            if let i = Int(s) { return .count(i) }
        }
        throw ElasticError("illegal_argument_exception", "minimum_should_match [\(v.jsonText.prefix(40))] is not supported by Aisle (an integer, a negative integer or a percentage such as 75%)")
    }

    static func op(_ v: JSONValue) throws -> DefaultOperator {
        guard let s = v.stringValue?.lowercased(), let o = DefaultOperator(rawValue: s) else { throw parsing("[operator] must be \"and\" or \"or\"") }
        return o
    }

    static func fuzziness(_ v: JSONValue) throws -> Bool {
        switch v.stringValue?.uppercased() ?? v.numberValue.flatMap({ Int(exactly: $0) }).map(String.init) {
        case "AUTO"?, "1"?, "2"?: return true
        case "0"?: return false
        default:
            if let s = v.stringValue, s.uppercased().hasPrefix("AUTO:") { return true }
            throw ElasticError("illegal_argument_exception", "fuzziness [\(v.jsonText.prefix(40))] is not supported by Aisle (AUTO, 0, 1 or 2: Aisle's typo tolerance decides the edits by word length)")
        }
    }

    // MARK: - Queries

    static func query(_ v: JSONValue, depth: Int) throws -> ElasticQuery {
        guard depth <= maxDepth else { throw parsing("the query is nested more than \(maxDepth) levels deep") }
        guard let obj = v.objectValue else { throw parsing("query malformed, must start with start_object") }
        guard obj.count == 1, let (type, body) = obj.first else {
            throw parsing(obj.isEmpty ? "query malformed, empty clause found" : "[\(obj[1].0.prefix(60))] malformed query, expected [END_OBJECT] but found [FIELD_NAME]")
        }
        switch type {
        case "match_all":
            var boost: Float = 1
            for (k, x) in body.objectValue ?? [] {
                guard k == "boost" else { throw parsing("[match_all] query does not support [\(k.prefix(60))]") }
                boost = try float(x, "boost")
            }
            return .matchAll(boost: boost)
        case "match_none":
            return .matchNone
        case "match", "match_phrase", "match_bool_prefix":
            let (field, opts) = try fieldClause(body, type)
            var m = MatchClause(fields: [(field, 1)], text: "")
            if type == "match_bool_prefix" { m.type = .boolPrefix }
            var slop = 0
            if let s = opts.simple { m.text = try text(s, type) } else {
                for (k, x) in opts.members {
                    switch k {
                    case "query": m.text = try text(x, type)
                    case "operator" where type != "match_phrase": m.op = try op(x)
                    case "fuzziness" where type == "match": m.fuzzy = try fuzziness(x)
                    case "minimum_should_match" where type != "match_phrase": m.minimumShouldMatch = try msm(x)
                    case "boost": m.boost = try float(x, "boost")
                    case "slop" where type == "match_phrase": slop = try int(x, "slop", min: 0)
                    case "zero_terms_query":
                        guard x.stringValue == "none" else { throw unsupported("zero_terms_query [\(x.jsonText.prefix(20))]") }
                    case "auto_generate_synonyms_phrase_query", "lenient", "prefix_length", "max_expansions", "fuzzy_transpositions":
                        break
                    default:
                        throw parsing("[\(type)] query does not support [\(k.prefix(60))]")
                    }
                }
            }
            if type == "match_phrase" { return .phrase(field: field, text: m.text, slop: slop, boost: m.boost) }
            return .match(m)
        case "multi_match":
            guard let members = body.objectValue else { throw parsing("[multi_match] query malformed") }
            var m = MatchClause(fields: nil, text: "")
            var hasQuery = false
            for (k, x) in members {
                switch k {
                case "query": m.text = try text(x, "multi_match"); hasQuery = true
                case "fields":
                    let names = try (x.arrayValue ?? [x]).map { f -> String in
                        guard let s = f.stringValue else { throw parsing("[fields] must be field names") }
                        return s
                    }
                    if names == ["*"] || names.isEmpty { m.fields = nil; continue }
                    m.fields = try names.map { n in
                        let parts = n.split(separator: "^", maxSplits: 1)
                        let b = parts.count == 2 ? Float(parts[1]) : 1
                        guard let b, b.isFinite, b >= 0, b <= 1e6 else { throw parsing("bad field boost in [\(n.prefix(60))]") }
                        return (String(parts[0]), b)
                    }
                case "type":
                    guard let s = x.stringValue else { throw parsing("[type] must be a string") }
                    guard let t = MultiMatchType(rawValue: s) else {
                        throw ElasticError("illegal_argument_exception", "multi_match type [\(s.prefix(40))] is not supported by Aisle (\(MultiMatchType.allCases.map { $0.rawValue }.joined(separator: ", ")))")
                    }
                    m.type = t
                case "operator": m.op = try op(x)
                case "fuzziness": m.fuzzy = try fuzziness(x)
                case "minimum_should_match": m.minimumShouldMatch = try msm(x)
                case "tie_breaker": m.tieBreaker = try float(x, "tie_breaker")
                case "boost": m.boost = try float(x, "boost")
                case "slop": m.slop = try int(x, "slop", min: 0)
                case "zero_terms_query":
                    guard x.stringValue == "none" else { throw unsupported("zero_terms_query [\(x.jsonText.prefix(20))]") }
                case "lenient", "auto_generate_synonyms_phrase_query", "prefix_length", "max_expansions", "fuzzy_transpositions": break
                default: throw parsing("[multi_match] query does not support [\(k.prefix(60))]")
                }
            }
            guard hasQuery else { throw parsing("No text specified for multi_match query") }
            if m.fields == nil && m.type != .bestFields && m.type != .crossFields && m.type != .mostFields {
                // phrase / bool_prefix over every text field: the compiler lists them.
            }
            return .match(m)
        case "term", "prefix":
            let (field, opts) = try fieldClause(body, type)
            var boost: Float = 1
            var val: ElasticValue?
            if let s = opts.simple { val = try value(s, type) } else {
                for (k, x) in opts.members {
                    switch k {
                    case "value": val = try value(x, type)
                    case "boost": boost = try float(x, "boost")
                    case "case_insensitive":
                        if x.boolValue == true { throw unsupported("[case_insensitive] \(type) queries") }
                    case "rewrite": break
                    default: throw parsing("[\(type)] query does not support [\(k.prefix(60))]")
                    }
                }
            }
            guard let val, val != .null else { throw parsing("[\(type)] query requires a non-null [value]") }
            if type == "prefix" { return .prefix(field: field, value: val.text, boost: boost) }
            if field == "_id" { return .ids([val.text]) }
            return .terms(field: field, values: [val], boost: boost)
        case "terms":
            guard let members = body.objectValue else { throw parsing("[terms] query malformed") }
            var boost: Float = 1
            var field: String?
            var values: [ElasticValue] = []
            for (k, x) in members {
                if k == "boost" { boost = try float(x, "boost"); continue }
                if k == "_name" { continue }
                guard field == nil else { throw parsing("[terms] query does not support multiple fields") }
                guard let a = x.arrayValue else {
                    if x.objectValue != nil { throw unsupported("terms lookup (\"index\"/\"id\"/\"path\")") }
                    throw parsing("[terms] query requires an array of values for [\(k.prefix(60))]")
                }
                guard a.count <= 65_536 else { throw ElasticError("illegal_argument_exception", "[terms] has more than 65536 values") }
                field = k
                values = try a.map { try value($0, "terms") }.filter { $0 != .null }
            }
            guard let field else { throw parsing("[terms] query requires a field") }
            if field == "_id" { return .ids(values.map { $0.text }) }
            return .terms(field: field, values: values, boost: boost)
        case "range":
            let (field, opts) = try fieldClause(body, "range")
            guard opts.simple == nil else { throw parsing("[range] query malformed, no start_object after query name") }
            var r = RangeClause()
            for (k, x) in opts.members {
                switch k {
                case "gt": r.gt = try value(x, k)
                case "gte", "from": r.gte = try value(x, k)
                case "lt": r.lt = try value(x, k)
                case "lte", "to": r.lte = try value(x, k)
                case "boost": r.boost = try float(x, "boost")
                case "format":
                    guard let f = x.stringValue, ["strict_date_optional_time", "date_optional_time", "epoch_millis", "yyyy-MM-dd", "strict_date", "date"].contains(f) else {
                        throw unsupported("date format [\(x.jsonText.prefix(40))] in a range query")
                    }
                case "time_zone", "relation": throw unsupported("[\(k)] in a range query")
                case "include_lower", "include_upper": throw unsupported("[\(k)] (use gt/gte/lt/lte)")
                default: throw parsing("[range] query does not support [\(k.prefix(60))]")
                }
            }
            return .range(field: field, r)
        case "exists":
            guard let members = body.objectValue else { throw parsing("[exists] query malformed") }
            var field: String?
            for (k, x) in members {
                switch k {
                case "field": field = x.stringValue
                case "boost", "_name": break
                default: throw parsing("[exists] query does not support [\(k.prefix(60))]")
                }
            }
            guard let field else { throw parsing("[exists] must be provided with a [field]") }
            return .exists(field: field)
        case "ids":
            guard let members = body.objectValue else { throw parsing("[ids] query malformed") }
            var ids: [String] = []
            for (k, x) in members {
                switch k {
                case "values":
                    guard let a = x.arrayValue, a.count <= 65_536 else { throw parsing("[ids] values must be an array") }
                    ids = try a.map { try text($0, "ids") }
                case "boost", "_name": break
                default: throw parsing("[ids] query does not support [\(k.prefix(60))]")
                }
            }
            return .ids(ids)
        case "bool":
            guard let members = body.objectValue else { throw parsing("[bool] query malformed") }
            var b = BoolClause()
            var count = 0
            for (k, x) in members {
                func clauses() throws -> [ElasticQuery] {
                    let list = x.arrayValue ?? [x]
                    count += list.count
                    guard count <= maxClauses else { throw ElasticError("illegal_argument_exception", "the bool query has more than \(maxClauses) clauses") }
                    return try list.map { try query($0, depth: depth + 1) }
                }
                switch k {
                case "must": b.must = try clauses()
                case "should": b.should = try clauses()
                case "filter": b.filter = try clauses()
                case "must_not", "mustNot": b.mustNot = try clauses()
                case "minimum_should_match": b.minimumShouldMatch = try msm(x)
                case "boost": b.boost = try float(x, "boost")
                case "_name", "adjust_pure_negative": break
                default: throw parsing("[bool] query does not support [\(k.prefix(60))]")
                }
            }
            return .bool(b)
        default:
            if knownUnsupported.contains(type) { throw ElasticError("parsing_exception", "query [\(type)] is not supported by Aisle") }
            throw parsing("unknown query [\(type.prefix(60))]")
        }
    }

    /// `{"field": "text"}` or `{"field": {...options}}`.
    static func fieldClause(_ body: JSONValue, _ type: String) throws -> (String, (simple: JSONValue?, members: [(String, JSONValue)])) {
        guard let members = body.objectValue else { throw parsing("[\(type)] query malformed, no start_object after query name") }
        let fields = members.filter { $0.0 != "boost" && $0.0 != "_name" }
        guard fields.count == 1, let (field, v) = fields.first else {
            throw parsing("[\(type)] query doesn't support multiple fields, found [\(fields.map { $0.0.prefix(40) }.joined(separator: "] and ["))]")
        }
        if let o = v.objectValue { return (field, (nil, o)) }
        return (field, (v, []))
    }

    // MARK: - Sort

    static func sort(_ v: JSONValue) throws -> ElasticSort? {
        let list = v.arrayValue ?? [v]
        var keys: [ElasticSort] = []
        for item in list {
            if let s = item.stringValue {
                if s == "_doc" && !keys.isEmpty { continue }
                keys.append(s == "_score" ? .score : .field(s, descending: false))
                continue
            }
            guard let o = item.objectValue, o.count == 1, let (name, spec) = o.first else { throw parsing("malformed sort: \(item.jsonText.prefix(80))") }
            var desc = name == "_score"
            if let s = spec.stringValue {
                guard s == "asc" || s == "desc" else { throw parsing("[sort] order must be asc or desc, found [\(s.prefix(20))]") }
                desc = s == "desc"
            } else if let so = spec.objectValue {
                for (k, x) in so {
                    switch k {
                    case "order":
                        guard let s = x.stringValue, s == "asc" || s == "desc" else { throw parsing("[sort] order must be asc or desc") }
                        desc = s == "desc"
                    case "missing":
                        guard x.stringValue == "_last" else { throw unsupported("sort missing [\(x.jsonText.prefix(20))] (documents without a value sort last)") }
                    case "unmapped_type", "numeric_type", "format": break
                    case "mode": throw unsupported("sort [mode] (Aisle keeps one value per numeric field)")
                    default: throw parsing("[sort] option [\(k.prefix(40))] is not supported")
                    }
                }
            } else { throw parsing("malformed sort: \(item.jsonText.prefix(80))") }
            if name == "_doc" && !keys.isEmpty { continue }
            if name == "_score" {
                guard desc else { throw unsupported("sorting by _score ascending") }
                keys.append(.score)
            } else {
                keys.append(.field(name, descending: desc))
            }
        }
        // A trailing `_score` after a field only orders ties, which Aisle breaks by _id.
        if keys.count == 2, case .field = keys[0], keys[1] == .score { keys.removeLast() }
        guard keys.count <= 1 else { throw unsupported("sorting by more than one key (ties are broken by _id)") }
        if keys.first == .field("_doc", descending: false) { throw unsupported("sorting by _doc") }
        return keys.first
    }

    // MARK: - _source and highlight

    static func source(_ v: JSONValue) throws -> SourceFilter {
        if let b = v.boolValue { return b ? .all : .none }
        if let s = v.stringValue { return .paths(includes: [s], excludes: []) }
        if let a = v.arrayValue { return .paths(includes: try a.map { try text($0, "_source") }, excludes: []) }
        guard let o = v.objectValue else { throw parsing("[_source] must be a boolean, a string, an array or an object") }
        var inc: [String] = [], exc: [String] = []
        for (k, x) in o {
            let list = try (x.arrayValue ?? [x]).map { try text($0, "_source") }
            switch k {
            case "includes", "include": inc = list
            case "excludes", "exclude": exc = list
            default: throw parsing("[_source] does not support [\(k.prefix(40))]")
            }
        }
        return .paths(includes: inc, excludes: exc)
    }

    static func highlight(_ v: JSONValue) throws -> Highlight {
        guard let o = v.objectValue else { throw parsing("[highlight] must be an object") }
        var h = Highlight()
        func tags(_ x: JSONValue) throws -> [String] {
            guard let a = x.arrayValue, !a.isEmpty else { throw parsing("tags must be a non-empty array of strings") }
            return try a.map { try text($0, "tags") }
        }
        func fieldOptions(_ name: String, _ x: JSONValue) throws {
            var pre: [String]?, post: [String]?, n: Int?, size: Int?
            for (k, y) in x.objectValue ?? [] {
                switch k {
                case "pre_tags": pre = try tags(y)
                case "post_tags": post = try tags(y)
                case "number_of_fragments": n = try int(y, k, min: 0)
                case "fragment_size": size = try int(y, k, min: 1)
                case "type", "require_field_match", "no_match_size", "order", "fragmenter": break
                default: throw unsupported("highlight option [\(k.prefix(40))]")
                }
            }
            h.fields.append((name, pre, post, n, size))
        }
        for (k, x) in o {
            switch k {
            case "pre_tags": h.pre = try tags(x)
            case "post_tags": h.post = try tags(x)
            case "number_of_fragments": h.fragments = try int(x, k, min: 0)
            case "fragment_size": h.size = try int(x, k, min: 1)
            case "encoder":
                guard let s = x.stringValue, s == "html" || s == "default" else { throw parsing("[encoder] must be html or default") }
                h.html = s == "html"
            case "fields":
                if let fo = x.objectValue {
                    for (name, opts) in fo { try fieldOptions(name, opts) }
                } else if let fa = x.arrayValue {
                    for item in fa {
                        guard let io = item.objectValue, io.count == 1 else { throw parsing("[highlight] fields array entries have one field each") }
                        try fieldOptions(io[0].0, io[0].1)
                    }
                } else { throw parsing("[highlight] fields must be an object") }
            case "type", "require_field_match", "order", "tags_schema", "no_match_size", "fragmenter": break
            default: throw unsupported("highlight option [\(k.prefix(40))]")
            }
        }
        return h
    }

    // MARK: - Aggregations

    static func aggregations(_ v: JSONValue, depth: Int) throws -> [NamedAggregation] {
        guard depth <= 8 else { throw ElasticError("illegal_argument_exception", "aggregations are nested more than 8 levels deep") }
        guard let o = v.objectValue else { throw parsing("[aggs] must be an object of named aggregations") }
        guard o.count <= 64 else { throw ElasticError("illegal_argument_exception", "more than 64 aggregations at one level") }
        return try o.map { name, body in
            guard let bo = body.objectValue else { throw parsing("Expected [START_OBJECT] under [\(name.prefix(60))]") }
            var subs: [NamedAggregation] = []
            var type: (String, JSONValue)?
            for (k, x) in bo {
                switch k {
                case "aggs", "aggregations": subs = try aggregations(x, depth: depth + 1)
                case "meta": break
                default:
                    guard type == nil else { throw parsing("Found two aggregation type definitions in [\(name.prefix(60))]: [\(type!.0)] and [\(k.prefix(40))]") }
                    type = (k, x)
                }
            }
            guard let (t, x) = type else { throw parsing("Missing definition for aggregation [\(name.prefix(60))]") }
            return NamedAggregation(name: name, aggregation: try aggregation(t, x, subs: subs, depth: depth))
        }
    }

    static func aggregation(_ type: String, _ v: JSONValue, subs: [NamedAggregation], depth: Int) throws -> ElasticAggregation {
        guard let o = v.objectValue else { throw parsing("[\(type)] aggregation must be an object") }
        func field() throws -> String {
            guard let f = o.first(where: { $0.0 == "field" })?.1.stringValue else { throw parsing("Required [field] in [\(type)] aggregation") }
            return f
        }
        if let m = ElasticAggregation.Metric(rawValue: type) {
            guard subs.isEmpty else { throw parsing("Aggregator [\(type)] of type [\(type)] cannot accept sub-aggregations") }
            for (k, _) in o where k != "field" {
                throw unsupported("[\(k.prefix(40))] in a \(type) aggregation")
            }
            return .metric(m, field: try field())
        }
        switch type {
        case "terms":
            var size = 10
            var include: ElasticAggregation.Include?, exclude: ElasticAggregation.Include?
            for (k, x) in o {
                switch k {
                case "field": break
                case "size":
                    size = try int(x, "size", min: 1)
                    guard size <= 10_000 else { throw ElasticError("illegal_argument_exception", "terms size must be at most 10000") }
                case "include", "exclude":
                    let inc: ElasticAggregation.Include
                    if let s = x.stringValue { inc = .pattern(s) } else if let a = x.arrayValue { inc = .values(try a.map { try text($0, k) }) } else {
                        throw unsupported("[\(k)] as an object (partitions)")
                    }
                    if k == "include" { include = inc } else { exclude = inc }
                case "shard_size", "show_term_doc_count_error", "execution_hint", "collect_mode": break
                case "min_doc_count":
                    guard x.numberValue == 1 else { throw unsupported("terms min_doc_count other than 1") }
                case "order":
                    let ok = x.objectValue.map { $0.count == 1 && $0[0].0 == "_count" && $0[0].1.stringValue == "desc" } ?? false
                    guard ok else { throw unsupported("terms order other than {\"_count\": \"desc\"}") }
                default: throw unsupported("[\(k.prefix(40))] in a terms aggregation")
                }
            }
            return .terms(field: try field(), size: size, include: include, exclude: exclude, subs: subs)
        case "range":
            var ranges: [ElasticAggregation.RangeBucket] = []
            var keyed = false
            for (k, x) in o {
                switch k {
                case "field": break
                case "keyed": keyed = x.boolValue ?? false
                case "ranges":
                    guard let a = x.arrayValue, !a.isEmpty, a.count <= 1000 else { throw parsing("[ranges] must be a non-empty array (at most 1000)") }
                    ranges = try a.map { r in
                        guard let ro = r.objectValue else { throw parsing("a range is an object with from and/or to") }
                        var b = ElasticAggregation.RangeBucket(key: nil, from: nil, to: nil)
                        for (rk, rx) in ro {
                            switch rk {
                            case "from": b.from = rx.isNull ? nil : try number(rx, "from")
                            case "to": b.to = rx.isNull ? nil : try number(rx, "to")
                            case "key": b.key = try text(rx, "key")
                            default: throw parsing("[range] bucket does not support [\(rk.prefix(40))]")
                            }
                        }
                        return b
                    }
                default: throw unsupported("[\(k.prefix(40))] in a range aggregation")
                }
            }
            guard !ranges.isEmpty else { throw parsing("No [ranges] specified for the [range] aggregation") }
            return .range(field: try field(), ranges: ranges, keyed: keyed, subs: subs)
        case "histogram":
            var interval: Double?, offset = 0.0, minDocCount = 0
            for (k, x) in o {
                switch k {
                case "field": break
                case "interval": interval = try number(x, "interval")
                case "offset": offset = try number(x, "offset")
                case "min_doc_count": minDocCount = try int(x, "min_doc_count", min: 0)
                case "keyed", "order", "extended_bounds", "hard_bounds", "missing": throw unsupported("[\(k)] in a histogram aggregation")
                default: throw parsing("[histogram] aggregation does not support [\(k.prefix(40))]")
                }
            }
            guard let interval, interval > 0 else { throw ElasticError("illegal_argument_exception", "[interval] must be >0 for histogram aggregation") }
            return .histogram(field: try field(), interval: interval, offset: offset, minDocCount: minDocCount, subs: subs)
        case "filter":
            return .filter(try query(v, depth: depth + 1), subs: subs)
        case "filters":
            var keyed = true
            var named: [(key: String?, query: ElasticQuery)] = []
            for (k, x) in o {
                switch k {
                case "filters":
                    if let fo = x.objectValue {
                        named = try fo.map { (key: $0.0, query: try query($0.1, depth: depth + 1)) }
                    } else if let fa = x.arrayValue {
                        named = try fa.map { (key: nil, query: try query($0, depth: depth + 1)) }
                        keyed = false
                    } else { throw parsing("[filters] must be an object or an array") }
                case "other_bucket", "other_bucket_key": throw unsupported("[\(k)] in a filters aggregation")
                case "keyed": keyed = x.boolValue ?? keyed
                default: throw parsing("[filters] aggregation does not support [\(k.prefix(40))]")
                }
            }
            guard named.count <= 1000 else { throw ElasticError("illegal_argument_exception", "more than 1000 filters in one aggregation") }
            return .filters(named, keyed: keyed, subs: subs)
        case "date_histogram", "cardinality", "percentiles", "top_hits", "composite", "nested", "significant_terms", "extended_stats",
             "multi_terms", "rare_terms", "auto_date_histogram", "date_range", "missing", "global", "sampler", "geo_distance",
             "weighted_avg", "median_absolute_deviation", "bucket_sort", "bucket_script", "scripted_metric", "variable_width_histogram":
            throw ElasticError("illegal_argument_exception", "aggregation type [\(type)] is not supported by Aisle (terms, range, histogram, filter, filters, stats, min, max, avg, sum, value_count)")
        default:
            throw ElasticError("x_content_parse_exception", "Unknown aggregation type [\(type.prefix(60))]")
        }
    }

    static func number(_ v: JSONValue, _ name: String) throws -> Double {
        guard let d = v.numberValue ?? v.stringValue.flatMap({ Double($0) }), d.isFinite else { throw parsing("[\(name)] must be a number") }
        return d
    }
}
