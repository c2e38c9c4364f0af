import Foundation
import Synchronization
import Testing
@testable import AisleIndex

/// One `Searcher` shared by many threads: every thread must see exactly what a single thread sees.
@Suite struct ConcurrencyTests {
    struct Request: Sendable {
        var query: Query
        var limit: Int
        var offset: Int
        var tracking: TotalHitsTracking
    }

    /// Everything a request returns, with scores as bit patterns (exact equality).
    struct Outcome: Equatable, Sendable {
        var docs: [Int] = []
        var scoreBits: [UInt32] = []
        var totalHits = 0
        var totalIsExact = false
        var ids: [String] = []
        var stored: [String] = []
        var explainBits: UInt32?
        var error: String?
    }

    static func run(_ s: Searcher, _ r: Request) -> Outcome {
        var o = Outcome()
        do {
            let top = try s.search(r.query, limit: r.limit, offset: r.offset, trackTotalHits: r.tracking)
            o.docs = top.hits.map { $0.doc }
            o.scoreBits = top.hits.map { $0.score.bitPattern }
            o.totalHits = top.totalHits
            o.totalIsExact = top.totalIsExact
            for h in top.hits {
                let id = try s.id(of: h.doc)
                o.ids.append(id)
                o.stored.append(try s.storedFields(of: h.doc).map { "\($0.name)=\($0.value)" }.joined(separator: "|"))
                if try s.doc(forId: id) != h.doc { o.error = "doc(forId: \(id)) is not \(h.doc)" }
            }
            if let h = top.hits.first { o.explainBits = try s.explain(r.query, doc: h.doc)?.value.bitPattern }
        } catch {
            o.error = "\(error)"
        }
        return o
    }

    static func requests(_ s: Searcher, count: Int, rng: inout SeededRandom) -> [Request] {
        let gen = QueryGenerator(layout: s.layout)
        return (0..<count).map { _ in
            Request(query: gen.query(&rng), limit: [1, 10, 25].randomElement(using: &rng)!,
                    offset: Int.random(in: 0..<4, using: &rng) == 0 ? 5 : 0,
                    tracking: [.exact, .upTo(0), .upTo(100)].randomElement(using: &rng)!)
        }
    }

    /// Runs `body(thread)` on `threads` OS threads that start together; returns when all are done.
    static func onThreads(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for t in 0..<threads {
            done.enter()
            let thread = Thread {
                start.wait()
                body(t)
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<threads { start.signal() }
        done.wait()
    }

    @Test func sharedSearcherGivesEveryThreadTheSingleThreadedResults() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("concurrency-shared")
        let corpus = RandomCorpus(count: 1500, rng: &rng)
        let dir = temporaryDirectory("concurrency")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 600)
        #expect(searcher.segments.count == 3)
        let requests = Self.requests(searcher, count: 60, rng: &rng)
        let reference = requests.map { Self.run(searcher, $0) }
        #expect(reference.contains { !$0.docs.isEmpty }, "the queries find something")
        #expect(reference.allSatisfy { $0.error == nil }, "\(reference.compactMap { $0.error }.prefix(3))")
        // Repeatable on one thread.
        #expect(requests.map { Self.run(searcher, $0) } == reference)

        let threads = 8, rounds = 3
        let orderSeeds = (0..<threads).map { _ in rng.next() }
        let mismatches = Mutex<[String]>([])
        let runs = Mutex(0)
        Self.onThreads(threads) { t in
            var order = SeededRandom(seed: orderSeeds[t])
            for round in 0..<rounds {
                for qi in Array(requests.indices).shuffled(using: &order) {
                    let got = Self.run(searcher, requests[qi])
                    runs.withLock { $0 += 1 }
                    if got != reference[qi] {
                        mismatches.withLock { $0.append("thread \(t) round \(round) request \(qi): \(got) vs \(reference[qi])") }
                    }
                }
            }
        }
        #expect(runs.withLock { $0 } == threads * rounds * requests.count)
        let bad = mismatches.withLock { $0 }
        #expect(bad.isEmpty, "seed \(seed): \(bad.count) mismatches, first: \(bad.prefix(3))")
    }

    @Test func concurrentOpensOfOneIndexAgree() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("concurrency-open")
        let corpus = RandomCorpus(count: 400, rng: &rng)
        let dir = temporaryDirectory("concurrency-open")
        defer { removeDirectory(dir) }
        let searcher = try corpus.buildIndex(at: dir, perSegment: 150)
        let requests = Self.requests(searcher, count: 20, rng: &rng)
        let reference = requests.map { Self.run(searcher, $0) }
        let mismatches = Mutex<[String]>([])
        Self.onThreads(8) { t in
            for round in 0..<3 {
                do {
                    let own = try Searcher.open(directory: dir, verifyChecksums: round == 0)
                    for (qi, r) in requests.enumerated() where Self.run(own, r) != reference[qi] {
                        mismatches.withLock { $0.append("thread \(t) round \(round) request \(qi)") }
                    }
                } catch {
                    mismatches.withLock { $0.append("thread \(t) round \(round): open failed: \(error)") }
                }
            }
        }
        let bad = mismatches.withLock { $0 }
        #expect(bad.isEmpty, "seed \(seed): \(bad.prefix(5))")
    }
}
