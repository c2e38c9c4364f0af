import Foundation
import Synchronization

/// Search options for a relevance run: a JSON object of `SearchRequest` keys (`{"operator": "and"}`,
/// filters, and whatever ranking keys the request parser accepts), read from a file or given inline.
public enum SearchOptions {
    /// The options from `--options FILE` and/or `--options-json TEXT` (the inline keys override the
    /// file's); nil when neither is given.
    public static func load(file: String?, json: String?) throws -> JSONValue? {
        var merged: [(String, JSONValue)]?
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw EngineError.input("cannot read the options file \(file)")
            }
            merged = try members(String(decoding: data, as: UTF8.self), source: "options file \(file)")
        }
        if let json {
            merged = merge(merged ?? [], try members(json, source: "--options-json"))
        }
        return merged.map { .object($0) }
    }

    static func members(_ text: String, source: String) throws -> [(String, JSONValue)] {
        let v: JSONValue
        do { v = try JSONValue.parse(text) } catch { throw EngineError.input("\(source): \(error.description)") }
        guard let o = v.objectValue else { throw EngineError.input("\(source): the options must be a JSON object such as {\"operator\": \"or\"}, not \(v.typeName)") }
        return o
    }

    /// `base` with `over`'s keys replaced or added.
    public static func merge(_ base: [(String, JSONValue)], _ over: [(String, JSONValue)]) -> [(String, JSONValue)] {
        var out = base.filter { k, _ in !over.contains { $0.0 == k } }
        out += over
        return out
    }
}

/// Runs queries against an index for evaluation: each query becomes a `SearchRequest` parsed from
/// the options object merged with `{"q": text, "limit": depth}` (operator "or" and no total counting
/// unless the options say otherwise). Rankings are ordered by score descending, then document id
/// ascending, including which tied documents make the cut at the depth.
public struct SearchRunner: Sendable {
    public let service: SearchService
    public let options: [(String, JSONValue)]
    public let depth: Int

    public static let defaultDepth = 100

    public init(service: SearchService, options: JSONValue?, depth: Int = SearchRunner.defaultDepth) throws {
        guard depth >= 1, depth <= SearchRequest.maxLimit else {
            throw EngineError.input("the depth must be between 1 and \(SearchRequest.maxLimit), got \(depth)")
        }
        var o: [(String, JSONValue)] = []
        if let options {
            guard let obj = options.objectValue else { throw EngineError.input("search options must be a JSON object") }
            for (k, _) in obj {
                switch k {
                case "q", "query": throw EngineError.input("the search options must not contain \"\(k)\": the query text comes from the query file")
                case "limit", "size": throw EngineError.input("the search options must not contain \"\(k)\": set the ranking depth with --depth")
                case "offset", "from": throw EngineError.input("the search options must not contain \"\(k)\": rankings start at the first hit")
                default: break
                }
            }
            o = obj
        }
        if !o.contains(where: { $0.0 == "operator" }) { o.insert(("operator", .string("or")), at: 0) }
        if !o.contains(where: { $0.0 == "track_total_hits" }) { o.append(("track_total_hits", .number(0))) }
        self.service = service
        self.options = o
        self.depth = depth
        _ = try request(for: "probe", limit: depth)  // options errors now, not once per query
    }

    /// The request for one query text.
    public func request(for text: String, limit: Int? = nil) throws -> SearchRequest {
        // Query files are checked strictly (a syntax error is a failed query, reported), unless the
        // options say `"syntax": "lenient"`.
        let v = JSONValue.object([("syntax", .string("strict"))] + options + [("q", .string(text)), ("limit", .number(Double(limit ?? depth)))])
        var bytes = Array(v.jsonText.utf8)
        var tape = JSONTape()
        return try bytes.withUnsafeMutableBufferPointer { p in
            do { try tape.parse(UnsafeBufferPointer(p)) } catch let e as JSONError { throw EngineError.badRequest(e.description) }
            do {
                return try SearchRequest.parse(tape: tape, node: tape.root)
            } catch let EngineError.badRequest(m) {
                throw EngineError.badRequest("search options: \(m)")
            }
        }
    }

    /// One query's ranking: at most `depth` documents, score descending then id ascending.
    public func rank(_ text: String) throws -> [RankedDoc] {
        var fetch = min(depth + 1, SearchRequest.maxLimit)
        var hits: [SearchHit]
        while true {
            hits = try service.search(try request(for: text, limit: fetch)).hits
            // Ties at the cut: fetch until the first hit past the depth scores strictly lower.
            if hits.count == fetch, fetch > depth, fetch < SearchRequest.maxLimit, hits[fetch - 1].score == hits[depth - 1].score {
                fetch = min(fetch * 2, SearchRequest.maxLimit)
                continue
            }
            break
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return hits.prefix(depth).map { RankedDoc(id: $0.id, score: Double($0.score)) }
    }

    public struct Outcome: Sendable {
        /// In query-file order; a failed query has an empty ranking.
        public var rankings: [(query: String, docs: [RankedDoc])]
        public var failures: [(query: String, message: String)]
    }

    /// Runs every query (on `threads` threads), advancing `progress` by one per query.
    public func run(_ queries: [QueryRecord], threads: Int = 1, progress: ProgressBar? = nil) -> Outcome {
        let results = Mutex([Result<[RankedDoc], Error>?](repeating: nil, count: queries.count))
        let next = Atomic<Int>(0)
        let workers = max(1, min(threads, queries.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.add(1, ordering: .relaxed).oldValue
                if i >= queries.count { break }
                let r: Result<[RankedDoc], Error>
                do { r = .success(try rank(queries[i].text)) } catch { r = .failure(error) }
                results.withLock { $0[i] = r }
                progress?.advance(by: 1, items: 1)
            }
        }
        var out = Outcome(rankings: [], failures: [])
        let all = results.withLock { $0 }
        for (q, r) in zip(queries, all) {
            switch r! {
            case .success(let docs): out.rankings.append((q.id, docs))
            case .failure(let e):
                out.rankings.append((q.id, []))
                out.failures.append((q.id, "\(e)"))
            }
        }
        return out
    }
}
