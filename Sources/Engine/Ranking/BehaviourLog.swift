import Foundation

/// Reads a log of shoppers' events (JSON lines, as `aisle analytics load` takes them and the
/// traffic simulator writes them) into the counts of the behaviour signal, for `aisle eval` to
/// show the signal's effect on a replayed log:
/// - a `search` (`query_id`, `query`, `session`) counts a search of its query;
/// - a `click` (`query_id`, `product_id`) counts for the query of that search;
/// - a `purchase` (`session`, `lines` [{`product_id`}] or `product_id`) counts for each query its
///   session searched before it (the same rule as the server's rollups).
/// Other event types are skipped. A malformed line is an error naming its number.
public enum BehaviourLog {
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var searches = 0
        public var clicks = 0
        public var purchases = 0
        /// Clicks whose query_id no search in the log has.
        public var unmatchedClicks = 0
    }

    public static func read(path: String) throws -> (counts: [BehaviourCounts], summary: Summary) {
        guard let fh = FileHandle(forReadingAtPath: path) else { throw EngineError.input("cannot read the event log \(path)") }
        defer { try? fh.close() }
        var summary = Summary()
        var queryOf: [String: String] = [:]                 // query_id → normalized query
        var sessionQueries: [String: [String]] = [:]        // session → queries searched so far
        var searches: [String: Int] = [:]
        var pairs: [String: [String: (clicks: Int, purchases: Int)]] = [:]
        var pending = Data()
        var lineNo = 0
        func handle(_ line: Data) throws {
            lineNo += 1
            guard !line.isEmpty, let text = String(data: line, encoding: .utf8), !text.allSatisfy(\.isWhitespace) else { return }
            let v: JSONValue
            do { v = try JSONValue.parse(text) } catch { throw EngineError.input("\(path):\(lineNo): \(error)") }
            guard v.objectValue != nil, let type = v["type"]?.stringValue else {
                throw EngineError.input("\(path):\(lineNo): an event is an object with a \"type\"")
            }
            summary.lines += 1
            switch type {
            case "search":
                guard let q = v["query"]?.stringValue, let id = v["query_id"]?.stringValue else {
                    throw EngineError.input("\(path):\(lineNo): a search needs query and query_id")
                }
                let k = BehaviourSignals.key(q)
                queryOf[id] = k
                searches[k, default: 0] += 1
                summary.searches += 1
                if let s = v["session"]?.stringValue, !(sessionQueries[s]?.contains(k) ?? false) { sessionQueries[s, default: []].append(k) }
            case "click":
                guard let id = v["query_id"]?.stringValue, let p = v["product_id"]?.stringValue else {
                    throw EngineError.input("\(path):\(lineNo): a click needs query_id and product_id")
                }
                summary.clicks += 1
                guard let k = queryOf[id] else { summary.unmatchedClicks += 1; return }
                pairs[k, default: [:]][p, default: (0, 0)].clicks += 1
            case "purchase":
                guard let s = v["session"]?.stringValue else { throw EngineError.input("\(path):\(lineNo): a purchase needs session") }
                var products: [String] = (v["lines"]?.arrayValue ?? []).compactMap { $0["product_id"]?.stringValue }
                if products.isEmpty, let p = v["product_id"]?.stringValue { products = [p] }
                summary.purchases += 1
                for k in sessionQueries[s] ?? [] {
                    for p in Set(products) { pairs[k, default: [:]][p, default: (0, 0)].purchases += 1 }
                }
            default:
                break
            }
        }
        while true {
            let chunk = fh.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                try handle(pending[start..<nl])
                start = pending.index(after: nl)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try handle(pending) }
        var counts: [BehaviourCounts] = []
        for (k, products) in pairs {
            for (p, c) in products {
                counts.append(BehaviourCounts(query: k, searches: searches[k] ?? 0, productId: p, clicks: c.clicks, purchases: c.purchases))
            }
        }
        counts.sort { ($0.query, $0.productId) < ($1.query, $1.productId) }
        return (counts, summary)
    }
}
