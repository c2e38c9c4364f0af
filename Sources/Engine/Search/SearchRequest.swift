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
    /// Filters by key (a field name, `<numeric>_min` / `_max`, or `category`), raw JSON values.
    public var filters: [(key: String, value: JSONValue)] = []
    public var facets: [FacetRequest] = []
    public var sort: String?
    public var searchAfter: [JSONValue]?
    /// Numeric ranking signals added to relevance scores.
    public var boosts: [BoostRequest] = []
    /// Overrides of the service's ranking options (`{"typo": false}`), checked when parsed.
    public var ranking: JSONValue?
    /// Broken query syntax: searched as plain words (`lenient`, the default of JSON requests) or
    /// answered with an error naming the column (`strict`).
    public var syntax: QuerySyntax = .lenient

    public static func == (a: SearchRequest, b: SearchRequest) -> Bool {
        a.q == b.q && a.op == b.op && a.limit == b.limit && a.offset == b.offset && a.trackTotalHits == b.trackTotalHits
            && a.explain == b.explain && a.fields == b.fields && a.facets == b.facets && a.sort == b.sort
            && a.searchAfter == b.searchAfter && a.boosts == b.boosts && a.ranking == b.ranking && a.syntax == b.syntax
            && a.filters.count == b.filters.count
            && zip(a.filters, b.filters).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

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
                var fs: [(key: String, value: JSONValue)] = []
                tape.forEachMember(vn) { k, v in fs.append((tape.string(k), tape.value(v))) }
                r.filters = fs
            case "facets":
                guard kind == .array else { throw EngineError.badRequest("facets must be an array of field names or objects") }
                r.facets = try tape.elements(vn).map { try FacetRequest.parse(tape.value($0)) }
                guard r.facets.count <= 32 else { throw EngineError.badRequest("at most 32 facets per request") }
            case "sort":
                guard kind == .string else { throw EngineError.badRequest("sort must be a string such as \"price_asc\"") }
                r.sort = tape.string(vn)
            case "search_after":
                guard kind == .array, let a = tape.value(vn).arrayValue, a.count == 2 else {
                    throw EngineError.badRequest("search_after must be the [value, id] pair of the last hit's \"sort\"")
                }
                r.searchAfter = a
            case "ranking":
                let v = tape.value(vn)
                var probe = RankingOptions()
                try probe.apply(v)
                r.ranking = v
            case "boost":
                if kind == .array {
                    r.boosts = try tape.elements(vn).map { try BoostRequest.parse(tape.value($0)) }
                } else {
                    r.boosts = [try BoostRequest.parse(tape.value(vn))]
                }
                guard r.boosts.count <= 8 else { throw EngineError.badRequest("at most 8 boosts per request") }
            default:
                if let why = notYetSupported[key] { throw EngineError.badRequest("\(key): \(why)") }
                throw EngineError.badRequest("unknown key \"\(key)\" (known: q, operator, syntax, limit, offset, filters, facets, sort, search_after, boost, ranking, track_total_hits, explain, fields)")
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
