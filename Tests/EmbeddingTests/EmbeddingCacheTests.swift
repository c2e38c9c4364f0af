import Foundation
import Synchronization
import Testing
@testable import AisleEmbedding

/// The query embedding cache on a tiny random model with the hand-written vocabulary: the same
/// vectors as the encoder, one forward pass per distinct token sequence, bounded, safe to share.
@Suite struct EmbeddingCacheTests {
    static func encoder() throws -> (SentenceEncoder, String) {
        let dir = try BertTests.Tiny().directory()
        try WordPieceTests.json().write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        return (try SentenceEncoder(directory: dir), dir)
    }

    @Test func sameVectorsOncePerTokenSequence() throws {
        let (enc, dir) = try Self.encoder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = EmbeddingCache(encoder: enc, capacity: 100)
        let a = try cache.embed("hello world")
        #expect(a == (try enc.embed("hello world")))
        // The tokenizer lowercases and strips accents: the same key, the same vector, no pass.
        #expect(try cache.embed("HELLO   World") == a)
        #expect(cache.misses.load(ordering: .relaxed) == 1 && cache.hits.load(ordering: .relaxed) == 1)
        #expect(try cache.embed("creme brulee") != a)
        #expect(cache.misses.load(ordering: .relaxed) == 2)
    }

    @Test func boundedAndRecentlyUsedStay() throws {
        let (enc, dir) = try Self.encoder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = EmbeddingCache(encoder: enc, capacity: 4)
        let words = ["hello", "world", "a", "b", "x", "lights", "wall", "mask"]
        for w in words { _ = try cache.embed(w) }
        #expect(cache.count <= 4)
        // Kept in use, "hello" stays while the others come and go.
        for w in words {
            _ = try cache.embed("hello")
            _ = try cache.embed(w)
        }
        let before = cache.misses.load(ordering: .relaxed)
        _ = try cache.embed("hello")
        #expect(cache.misses.load(ordering: .relaxed) == before, "a recently used entry was evicted")
        #expect(cache.count <= 4)
    }

    @Test func concurrentCallersGetTheEncodersVectors() throws {
        let (enc, dir) = try Self.encoder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = EmbeddingCache(encoder: enc, capacity: 16)
        let texts = ["hello", "world", "hello world", "a b", "wall lights", "x x", "creme", "strasse"]
        let want = try texts.map { try enc.embed($0) }
        let wrong = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let k = (i * 7 + t) % texts.count
                if (try? cache.embed(texts[k])) != want[k] { wrong.add(1, ordering: .relaxed) }
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect(cache.hits.load(ordering: .relaxed) + cache.misses.load(ordering: .relaxed) == 1600)
    }
}
