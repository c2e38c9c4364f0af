import Foundation
import Synchronization

/// What shoppers did after a query, per product: the input of the behaviour ranking signal. The
/// server reads these from its analytics rollups; `aisle eval` counts them from a replayed log.
public struct BehaviourCounts: Sendable, Equatable {
    public var query: String
    /// Searches of the query (over the same days as the clicks and purchases).
    public var searches: Int
    public var productId: String
    public var clicks: Int
    public var purchases: Int

    public init(query: String, searches: Int, productId: String, clicks: Int, purchases: Int) {
        self.query = query
        self.searches = searches
        self.productId = productId
        self.clicks = clicks
        self.purchases = purchases
    }
}

/// Query-dependent product boosts learned from shoppers (the opt-in `behaviour` ranking option).
///
/// A product's rate for a query is (clicks + `purchaseWeight` × purchases) / (searches + `prior`):
/// the prior is a number of searches with no click, so a query searched twice whose product was
/// clicked twice does not look like a certainty (smoothing). The boost is the rate over `cap`,
/// at most 1 (capping): every product shoppers choose often enough gets the same full boost, so
/// the signal reorders among relevant products and cannot bury a relevant new one by more than
/// the ranking option's factor (1 + `behaviour_weight`).
public final class BehaviourSignals: Sendable {
    public struct Tuning: Sendable, Equatable {
        public var prior = 20.0
        public var purchaseWeight = 3.0
        public var cap = 0.3
        /// Pairs with fewer clicks and purchases than this are ignored (one stray click is noise).
        public var minEvents = 2
        public init() {}
    }

    private let table = Mutex<[String: [String: Float]]>([:])
    public init() {}

    /// A query as the table keys it: lowercase words (letters and digits) joined by one space.
    public static func key(_ query: String) -> String { SuggestDictionary.words(query).joined(separator: " ") }

    /// The boosts (0 to 1) of `rows`, by normalized query and product id. Rows of one normalized
    /// query and product add up; a query's searches are the largest of its rows' (they repeat it).
    public static func boosts(_ rows: [BehaviourCounts], tuning: Tuning = Tuning()) -> [String: [String: Float]] {
        var searches: [String: Int] = [:]
        var events: [String: [String: Double]] = [:]
        for r in rows {
            let k = key(r.query)
            guard !k.isEmpty, !r.productId.isEmpty else { continue }
            searches[k] = max(searches[k] ?? 0, r.searches)
            events[k, default: [:]][r.productId, default: 0] += Double(max(0, r.clicks)) + tuning.purchaseWeight * Double(max(0, r.purchases))
        }
        var out: [String: [String: Float]] = [:]
        for (k, products) in events {
            let n = Double(searches[k] ?? 0) + tuning.prior
            for (id, e) in products where e >= Double(tuning.minEvents) && n > 0 {
                out[k, default: [:]][id] = Float(min(1, e / n / tuning.cap))
            }
        }
        return out
    }

    /// Replaces the table (the server refreshes it from its rollups).
    public func replace(_ rows: [BehaviourCounts], tuning: Tuning = Tuning()) {
        let t = Self.boosts(rows, tuning: tuning)
        table.withLock { $0 = t }
    }

    /// The boosts for a query (nil: none known).
    public func boosts(for query: String) -> [String: Float]? {
        let k = Self.key(query)
        return k.isEmpty ? nil : table.withLock { $0[k] }
    }

    public var queryCount: Int { table.withLock { $0.count } }
}
