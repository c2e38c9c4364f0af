import Foundation
import Synchronization

/// Query embeddings remembered (issue 20: "query embeddings are cached"). Keyed by the query's
/// token ids, so texts the tokenizer does not tell apart (`Café  Table` and `cafe table`) share one
/// entry and the key costs a tokenization (microseconds), not a forward pass (milliseconds).
///
/// Bounded with two generations: entries go to the young one; when it holds `capacity / 2`, it
/// becomes the old one and the previous old one is dropped. A hit in the old generation moves the
/// entry to the young one. So the most recently used entries stay, at O(1) per access, with at
/// most `capacity` entries held.
public final class EmbeddingCache: Sendable {
    public let encoder: SentenceEncoder
    public let capacity: Int
    private struct State {
        var young: [[Int32]: [Float]] = [:]
        var old: [[Int32]: [Float]] = [:]
    }
    private let state = Mutex(State())
    public let hits = Atomic<Int>(0)
    public let misses = Atomic<Int>(0)

    public init(encoder: SentenceEncoder, capacity: Int = 100_000) {
        self.encoder = encoder
        self.capacity = max(2, capacity)
    }

    /// The vector of `text`, computed at most once while it stays in the cache.
    public func embed(_ text: String) throws -> [Float] {
        let key = encoder.tokenizer.encode(text, maxLength: encoder.maxTokens)
        if let v = state.withLock({ s -> [Float]? in
            if let v = s.young[key] { return v }
            if let v = s.old.removeValue(forKey: key) {
                insert(&s, key, v)
                return v
            }
            return nil
        }) {
            hits.add(1, ordering: .relaxed)
            return v
        }
        misses.add(1, ordering: .relaxed)
        let v = try encoder.model.embed([key])[0]
        state.withLock { insert(&$0, key, v) }
        return v
    }

    private func insert(_ s: inout State, _ key: [Int32], _ v: [Float]) {
        if s.young.count >= capacity / 2 {
            s.old = s.young
            s.young = [:]
        }
        s.young[key] = v
    }

    /// Entries held now.
    public var count: Int { state.withLock { $0.young.count + $0.old.count } }
}
