import AisleIndex

/// A facet as a request names it: a field (or alias such as `category`), with options.
public struct FacetRequest: Sendable, Equatable {
    public var name: String
    public var size: Int?
    public var ranges: [NumericRange]?
    public init(name: String, size: Int? = nil, ranges: [NumericRange]? = nil) {
        self.name = name
        self.size = size
        self.ranges = ranges
    }
}

/// A numeric ranking signal as a request names it: `{"field": "popularity", "weight": 0.5,
/// "modifier": "log1p", "missing": 0}` or just `"popularity"` (weight 1, log1p).
public struct BoostRequest: Sendable, Equatable {
    public var name: String
    public var weight: Double = 1
    public var modifier: ScoreBoost.Modifier = .log1p
    public var missing: Double = 0
    public init(name: String, weight: Double = 1, modifier: ScoreBoost.Modifier = .log1p, missing: Double = 0) {
        self.name = name
        self.weight = weight
        self.modifier = modifier
        self.missing = missing
    }

    static func parse(_ v: JSONValue) throws -> BoostRequest {
        if let s = v.stringValue { return BoostRequest(name: s) }
        guard let obj = v.objectValue else { throw EngineError.badRequest("a boost is a field name or an object with \"field\"") }
        var b = BoostRequest(name: "")
        for (k, x) in obj {
            switch k {
            case "field":
                guard let s = x.stringValue else { throw EngineError.badRequest("boost field must be a string") }
                b.name = s
            case "weight", "factor":
                guard let n = x.numberValue, n.isFinite, abs(n) <= 1e6 else { throw EngineError.badRequest("boost weight must be a number between -1e6 and 1e6") }
                b.weight = n
            case "modifier":
                guard let s = x.stringValue, let m = ScoreBoost.Modifier(rawValue: s) else {
                    throw EngineError.badRequest("boost modifier must be one of \(ScoreBoost.Modifier.allCases.map { $0.rawValue }.joined(separator: ", "))")
                }
                b.modifier = m
            case "missing":
                guard let n = x.numberValue, n.isFinite, abs(n) <= IndexLimits.maxNumericMagnitude else {
                    throw EngineError.badRequest("boost missing must be a number within ±1e15")
                }
                b.missing = n
            default:
                throw EngineError.badRequest("unknown boost option \"\(k)\" (field, weight, modifier, missing)")
            }
        }
        guard !b.name.isEmpty else { throw EngineError.badRequest("a boost object needs \"field\"") }
        return b
    }
}

/// A filter as a request names it: a field (or the `category` alias) and a condition, checked
/// against the index's schema when the request runs.
public struct FilterRequest: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// A keyword field: any of these values (one value on a hierarchy: that path and below).
        case values([String])
        /// A number: equal on a numeric field, a keyword value on a keyword field.
        case number(Double)
        case flag(Bool)
        /// A numeric field between two inclusive bounds (nil: open).
        case range(min: Double?, max: Double?)
    }

    public var field: String
    public var condition: Condition
    /// The key as the request wrote it (`price_min`, `min_price`), for messages; a key with a
    /// `_min`/`_max` suffix that is itself a field's name is that field.
    public var key: String

    public init(field: String, _ condition: Condition, key: String? = nil) {
        self.field = field
        self.condition = condition
        self.key = key ?? field
    }

    /// `"brand": ["Acme"]`, `"price_min": 10`, `"in_stock": true`, `"price": {"min": 1, "max": 9}`,
    /// as the JSON API writes filters; nil for `null` (no filter).
    static func parse(key: String, _ v: JSONValue) throws -> FilterRequest? {
        if v.isNull { return nil }
        for (suffix, isMin) in [("_min", true), ("_max", false)] where key.hasSuffix(suffix) && key.count > suffix.count {
            guard let n = v.numberValue, n.isFinite else { throw EngineError.badRequest("filter \(key): expected a number, found \(v.typeName)") }
            return FilterRequest(field: String(key.dropLast(suffix.count)), .range(min: isMin ? n : nil, max: isMin ? nil : n), key: key)
        }
        switch v {
        case .string(let s): return FilterRequest(field: key, .values([s]))
        case .number(let d):
            guard d.isFinite else { throw EngineError.badRequest("filter \(key): expected a finite number") }
            return FilterRequest(field: key, .number(d))
        case .bool(let b): return FilterRequest(field: key, .flag(b))
        case .array(let a):
            guard !a.isEmpty, a.count <= 1000 else { throw EngineError.badRequest("filter \(key): give 1 to 1000 values") }
            return FilterRequest(field: key, .values(try a.map {
                guard let s = $0.stringValue else { throw EngineError.badRequest("filter \(key): values must be strings") }
                return s
            }))
        case .object:
            for (k, _) in v.objectValue! where k != "min" && k != "max" {
                throw EngineError.badRequest("filter \(key): expected {\"min\": .., \"max\": ..}, found key \"\(k.prefix(40))\"")
            }
            let lo = v["min"], hi = v["max"]
            for b in [lo, hi] {
                if let b, !b.isNull, !(b.numberValue?.isFinite ?? false) {
                    throw EngineError.badRequest("filter \(key): min and max must be finite numbers")
                }
            }
            return FilterRequest(field: key, .range(min: lo?.numberValue, max: hi?.numberValue))
        case .null: return nil
        }
    }
}

/// A sort as a request names it.
public enum SortRequest: Sendable, Equatable {
    case relevance
    /// A numeric field; `descending` nil: the field's natural order (a price ascending, counts and
    /// ratings best first).
    case field(String, descending: Bool?)

    /// `relevance`, `price_asc`, `price_desc`, `rating`, ... (`<field>_asc` / `<field>_desc`).
    public init(parsing s: String) {
        if s.isEmpty || s == "relevance" { self = .relevance; return }
        if s.hasSuffix("_asc") { self = .field(String(s.dropLast(4)), descending: false); return }
        if s.hasSuffix("_desc") { self = .field(String(s.dropLast(5)), descending: true); return }
        self = .field(s, descending: nil)
    }

    /// The name a request writes.
    public var name: String {
        switch self {
        case .relevance: return "relevance"
        case .field(let f, let d?): return f + (d ? "_desc" : "_asc")
        case .field(let f, nil): return f
        }
    }
}

/// Deep paging: the last hit's `sort` pair.
public struct SearchAfterRequest: Sendable, Equatable {
    public enum Tie: Sendable, Equatable {
        /// Relevance order: the document number.
        case doc(Int)
        /// Field order: the id.
        case id(String)
    }

    /// The score (relevance) or the sort value (nil: a product without one).
    public var value: Double?
    public var tie: Tie

    static func parse(_ a: [JSONValue]) throws -> SearchAfterRequest {
        guard a.count == 2 else { throw EngineError.badRequest("search_after must be the [value, id] pair of the last hit's \"sort\"") }
        guard a[0].isNull || a[0].numberValue?.isFinite == true else {
            throw EngineError.badRequest("search_after: the value must be a finite number or null")
        }
        if let id = a[1].stringValue { return SearchAfterRequest(value: a[0].numberValue, tie: .id(id)) }
        guard let s = a[0].numberValue, Float(s).isFinite, let d = a[1].numberValue, let doc = Int(exactly: d), doc >= 0 else {
            throw EngineError.badRequest("search_after for relevance is [score, doc] from the last hit's \"sort\" (a finite score and a non-negative integer doc)")
        }
        return SearchAfterRequest(value: s, tie: .doc(doc))
    }
}

/// One search, as the CLI flags, a JSON request line or an HTTP request describe it. Field names
/// are resolved against the index's schema by `SearchService`.
///
/// JSON form: `{"q": "black sofa", "operator": "and"|"or", "limit": 10, "offset": 0,
/// "filters": {"price_min": 10, "price_max": 50, "brand": ["Acme"], "category": "Furniture > Sofas",
/// "in_stock": true, "attributes.color": ["blue"]}, "facets": ["brand", "category", "price",
/// {"field": "attributes.color", "size": 5}, {"field": "price", "ranges": [{"to": 25}, {"from": 25}]}],
/// "sort": "relevance"|"price_asc"|"price_desc"|"rating"|"review_count", "search_after": [12.5, "P1"],
/// "boost": [{"field": "popularity", "weight": 0.5, "modifier": "log1p"}],
/// "track_total_hits": true|false|N, "explain": false, "fields": ["title", "price"]}`.
public struct SearchRequest: Sendable, Equatable {
    public static let maxLimit = 1000
    public static let maxWindow = 10_000
    public static let defaultTrackTotalHits = 10_000

    public var q: String = ""
    public var op: DefaultOperator = .and
    public var limit = 10
    public var offset = 0
    public var trackTotalHits: TotalHitsTracking = .upTo(SearchRequest.defaultTrackTotalHits)
    public var explain = false
    /// Stored fields to return with each hit (nil: none; ["*"]: all).
    public var fields: [String]?
    public var filters: [FilterRequest] = []
    public var facets: [FacetRequest] = []
    /// nil: relevance (hits then carry no `sort`).
    public var sort: SortRequest?
    public var searchAfter: SearchAfterRequest?
    /// Numeric ranking signals added to relevance scores.
    public var boosts: [BoostRequest] = []
    /// Changes to the service's ranking options (`{"typo": false}`), checked when parsed.
    public var ranking: RankingPatch?
    /// Broken query syntax: searched as plain words (`lenient`, the default of JSON requests) or
    /// answered with an error naming the column (`strict`).
    public var syntax: QuerySyntax = .lenient
    /// Lexical, vector or hybrid retrieval and its options (nil: the index's default).
    public var retrieval: RetrievalRequest?

    public init(q: String = "", op: DefaultOperator = .and, limit: Int = 10, offset: Int = 0) {
        self.q = q
        self.op = op
        self.limit = limit
        self.offset = offset
    }

    public func validate() throws {
        guard limit >= 0, limit <= Self.maxLimit else {
            throw EngineError.badRequest("limit must be between 0 and \(Self.maxLimit), got \(limit)")
        }
        guard offset >= 0 else { throw EngineError.badRequest("offset must not be negative, got \(offset)") }
        guard offset <= Self.maxWindow - limit else {
            throw EngineError.badRequest("offset + limit must be at most \(Self.maxWindow) (got offset \(offset), limit \(limit)); page deeper with a narrower query")
        }
        guard q.utf8.count <= QueryParser.maxLength else {
            throw EngineError.badRequest("q is \(q.utf8.count) bytes; the limit is \(QueryParser.maxLength)")
        }
    }

    /// Keys a later version understands; present here, they are an error rather than silently ignored.
    static let notYetSupported: [String: String] = [:]

    /// Parses a JSON request object. Unknown keys, wrong types and out-of-range values are errors.
    public static func parse(tape: JSONTape, node: Int) throws -> SearchRequest {
        guard tape.kind(node) == .object else { throw EngineError.badRequest("a request must be a JSON object") }
        var r = SearchRequest()
        try tape.forEachMember(node) { kn, vn in
            let key = tape.string(kn)
            let kind = tape.kind(vn)
            func int(_ name: String) throws -> Int {
                guard kind == .number, let v = tape.integer(vn) else {
                    throw EngineError.badRequest("\(name) must be an integer")
                }
                return v
            }
            switch key {
            case "q", "query":
                guard kind == .string || kind == .null else { throw EngineError.badRequest("q must be a string") }
                r.q = kind == .null ? "" : tape.string(vn)
            case "syntax":
                guard kind == .string, let sx = QuerySyntax(rawValue: tape.string(vn).lowercased()) else {
                    throw EngineError.badRequest("syntax must be \"lenient\" (broken syntax searches the plain words) or \"strict\" (it is an error)")
                }
                r.syntax = sx
            case "operator":
                guard kind == .string, let op = DefaultOperator(rawValue: tape.string(vn).lowercased()) else {
                    throw EngineError.badRequest("operator must be \"and\" or \"or\"")
                }
                r.op = op
            case "limit", "size": r.limit = try int("limit")
            case "offset", "from": r.offset = try int("offset")
            case "explain":
                guard kind == .bool else { throw EngineError.badRequest("explain must be true or false") }
                r.explain = tape.bool(vn)
            case "track_total_hits":
                if kind == .bool {
                    r.trackTotalHits = tape.bool(vn) ? .exact : .upTo(0)
                } else {
                    let n = try int("track_total_hits")
                    guard n >= 0 else { throw EngineError.badRequest("track_total_hits must not be negative") }
                    r.trackTotalHits = .upTo(n)
                }
            case "fields":
                guard kind == .array else { throw EngineError.badRequest("fields must be an array of field names") }
                r.fields = try tape.elements(vn).map { e in
                    guard tape.kind(e) == .string else { throw EngineError.badRequest("fields must be an array of field names") }
                    return tape.string(e)
                }
            case "filters":
                guard kind == .object else { throw EngineError.badRequest("filters must be an object such as {\"brand\": [\"Acme\"], \"price_max\": 50}") }
                var fs: [FilterRequest] = []
                try tape.forEachMember(vn) { k, v in if let f = try FilterRequest.parse(key: tape.string(k), tape.value(v)) { fs.append(f) } }
                r.filters = fs
            case "facets":
                guard kind == .array else { throw EngineError.badRequest("facets must be an array of field names or objects") }
                r.facets = try tape.elements(vn).map { try FacetRequest.parse(tape.value($0)) }
                guard r.facets.count <= 32 else { throw EngineError.badRequest("at most 32 facets per request") }
            case "sort":
                guard kind == .string else { throw EngineError.badRequest("sort must be a string such as \"price_asc\"") }
                r.sort = SortRequest(parsing: tape.string(vn))
            case "search_after":
                guard kind == .array, let a = tape.value(vn).arrayValue, a.count == 2 else {
                    throw EngineError.badRequest("search_after must be the [value, id] pair of the last hit's \"sort\"")
                }
                r.searchAfter = try SearchAfterRequest.parse(a)
            case "ranking":
                r.ranking = try RankingPatch.parse(tape.value(vn))
            case "retrieval":
                r.retrieval = try RetrievalRequest.parse(tape.value(vn))
            case "boost":
                if kind == .array {
                    r.boosts = try tape.elements(vn).map { try BoostRequest.parse(tape.value($0)) }
                } else {
                    r.boosts = [try BoostRequest.parse(tape.value(vn))]
                }
                guard r.boosts.count <= 8 else { throw EngineError.badRequest("at most 8 boosts per request") }
            default:
                if let why = notYetSupported[key] { throw EngineError.badRequest("\(key): \(why)") }
                throw EngineError.badRequest("unknown key \"\(key)\" (known: q, operator, syntax, limit, offset, filters, facets, sort, search_after, boost, ranking, retrieval, track_total_hits, explain, fields)")
            }
        }
        try r.validate()
        return r
    }
}

extension FacetRequest {
    /// `"brand"` or `{"field": "brand", "size": 20}` or `{"field": "price", "ranges": [{"to": 25}, {"from": 25, "to": 50}]}`.
    static func parse(_ v: JSONValue) throws -> FacetRequest {
        if let s = v.stringValue { return FacetRequest(name: s) }
        guard let obj = v.objectValue else { throw EngineError.badRequest("a facet is a field name or an object with \"field\"") }
        var f = FacetRequest(name: "")
        for (k, x) in obj {
            switch k {
            case "field":
                guard let s = x.stringValue else { throw EngineError.badRequest("facet field must be a string") }
                f.name = s
            case "size":
                guard let n = x.numberValue, n == n.rounded(), n >= 1, n <= 1000 else {
                    throw EngineError.badRequest("facet size must be an integer from 1 to 1000")
                }
                f.size = Int(n)
            case "ranges":
                guard let arr = x.arrayValue, !arr.isEmpty, arr.count <= 100 else {
                    throw EngineError.badRequest("facet ranges must be a non-empty array of {\"from\", \"to\"} objects (at most 100)")
                }
                f.ranges = try arr.map { r in
                    guard r.objectValue != nil else { throw EngineError.badRequest("a range is an object with from and/or to") }
                    for (rk, _) in r.objectValue! where rk != "from" && rk != "to" {
                        throw EngineError.badRequest("unknown range key \"\(rk)\" (from, to)")
                    }
                    let from = r["from"], to = r["to"]
                    if let from, !from.isNull, from.numberValue == nil { throw EngineError.badRequest("range from must be a number") }
                    if let to, !to.isNull, to.numberValue == nil { throw EngineError.badRequest("range to must be a number") }
                    let nr = NumericRange(from: from?.numberValue, to: to?.numberValue)
                    if let a = nr.from, let b = nr.to, a >= b { throw EngineError.badRequest("range from \(a) must be below to \(b)") }
                    return nr
                }
            default:
                throw EngineError.badRequest("unknown facet option \"\(k)\" (field, size, ranges)")
            }
        }
        guard !f.name.isEmpty else { throw EngineError.badRequest("a facet object needs \"field\"") }
        return f
    }
}
