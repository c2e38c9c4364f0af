import AisleIndex

/// One search, as the CLI flags or a JSON request line describe it.
///
/// JSON form: `{"q": "black sofa", "operator": "and"|"or", "limit": 10, "offset": 0,
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
        guard offset + limit <= Self.maxWindow else {
            throw EngineError.badRequest("offset + limit must be at most \(Self.maxWindow) (got \(offset + limit)); page deeper with a narrower query")
        }
        guard q.utf8.count <= QueryParser.maxLength else {
            throw EngineError.badRequest("q is \(q.utf8.count) bytes; the limit is \(QueryParser.maxLength)")
        }
    }

    /// Keys a later version understands; present here, they are an error rather than silently ignored.
    static let notYetSupported: [String: String] = [
        "filters": "filters are not supported yet",
        "facets": "facets are not supported yet",
        "sort": "sorting other than by relevance is not supported yet",
        "search_after": "search_after is not supported yet",
    ]

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
            default:
                if let why = notYetSupported[key] { throw EngineError.badRequest("\(key): \(why)") }
                throw EngineError.badRequest("unknown key \"\(key)\" (known: q, operator, limit, offset, track_total_hits, explain, fields)")
            }
        }
        try r.validate()
        return r
    }
}
