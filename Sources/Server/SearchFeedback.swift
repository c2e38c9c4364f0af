import AisleCommerce
import AisleEngine
import Foundation
import Synchronization

/// What search learns from analytics, composed here (Commerce knows no index, the engine no
/// analytics store): past queries ranked by the clicks and sales they led to become autocomplete
/// suggestions, and per-query product clicks and purchases become the behaviour signal (used by
/// requests with the opt-in `behaviour` ranking option). Both are read from the daily rollups of
/// the last `feedbackDays` days, at start and every `feedbackInterval` seconds.
extension APIServer {
    /// A sale weighs this many clicks when past queries are ranked for autocomplete.
    static let conversionWeight = 3.0
    static let maxFeedbackQueries = 100_000
    static let maxFeedbackPairs = 1_000_000

    /// What one refresh read.
    public struct FeedbackRefresh: Sendable, Equatable {
        public var queries: Int
        public var pairs: Int
    }

    /// Reads the rollups now and replaces both; nil without commerce.
    @discardableResult
    public func refreshSearchFeedback(now: Date = Date()) throws -> FeedbackRefresh? {
        guard case .ready(let c) = commerceMount else { return nil }
        let days = max(1, options.feedbackDays)
        let to = AnalyticsStore.day(now), from = AnalyticsStore.day(now.addingTimeInterval(-Double(days - 1) * 86_400))
        let engaged = try c.analyticsReports.queryEngagement(from: from, to: to, limit: Self.maxFeedbackQueries)
        suggester.setPopularQueries(engaged.map { ($0.query, Double($0.clicks) + Self.conversionWeight * Double($0.conversions)) })
        let signals = try c.analyticsReports.productSignals(from: from, to: to, limit: Self.maxFeedbackPairs)
        service.behaviour.replace(signals.map {
            BehaviourCounts(query: $0.query, searches: $0.searches, productId: $0.productId, clicks: $0.clicks, purchases: $0.purchases)
        })
        return FeedbackRefresh(queries: engaged.count, pairs: signals.count)
    }

    /// The refresh loop on a thread of its own (nil without commerce or with the interval 0).
    func startSearchFeedback() -> FeedbackLoop? {
        guard case .ready = commerceMount, options.feedbackInterval > 0 else { return nil }
        let loop = FeedbackLoop()
        let interval = options.feedbackInterval
        let t = Thread { [self] in
            var reported = false
            while !loop.stopped.load(ordering: .relaxed) {
                do {
                    try refreshSearchFeedback()
                    reported = false
                } catch {
                    if !reported { FileHandle.standardError.write(Data("search feedback from analytics: \(error); retrying\n".utf8)) }
                    reported = true
                }
                var waited = 0.0
                while waited < interval, !loop.stopped.load(ordering: .relaxed) { usleep(100_000); waited += 0.1 }
            }
            loop.done.store(true, ordering: .relaxed)
        }
        t.stackSize = 1 << 20
        t.start()
        return loop
    }

    final class FeedbackLoop: Sendable {
        let stopped = Atomic<Bool>(false)
        let done = Atomic<Bool>(false)
        func stop() {
            stopped.store(true, ordering: .relaxed)
            for _ in 0..<50 where !done.load(ordering: .relaxed) { usleep(10_000) }
        }
    }
}
