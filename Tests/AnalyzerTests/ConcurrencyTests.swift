import Dispatch
import Synchronization
import Testing
@testable import AisleAnalyzer

/// Analyzing from several threads at once gives the same tokens as analyzing sequentially.
@Suite struct ConcurrencyTests {
    static func documents(count: Int, test: String) -> [String] {
        var g = TestSeed.generator(for: test)
        let samples = ["Samsung's 55\" QN55Q80C 4K-TV — l'été, café ÉCRAN", "televisions and batteries for the kitchen",
                       "東京タワー 我喜欢看电视 テレビ", "Москва Ελληνικά ﬁlter ＴＶ５５"]
        return (0..<count).map { i in i % 3 == 0 ? samples[i % samples.count] : RandomText.string(&g, maxLength: 60) }
    }

    @Test(arguments: Analyzers.names)
    func parallelEqualsSequential(analyzerName: String) throws {
        // A fresh analyzer, so that its worker pool starts with one worker and has to grow under load.
        let analyzer: any TextAnalyzer = switch analyzerName {
        case "english": try Analyzers.makeEnglish()
        case "standard": try Analyzers.makeStandard()
        case "plain": try Analyzers.makePlain()
        default: try Analyzers.makeKeyword()
        }
        let documents = Self.documents(count: 400, test: "parallelEqualsSequential/\(analyzerName)")
        let expected = documents.map { analyzer.tokens($0) }
        let threads = 8
        let mismatches = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for round in 0..<3 {
                for index in stride(from: (thread + round) % threads, to: documents.count, by: threads) {
                    if analyzer.tokens(documents[index]) != expected[index] {
                        mismatches.withLock { $0.append(index) }
                    }
                }
            }
        }
        #expect(mismatches.withLock { $0 }.isEmpty, "seed \(TestSeed.base)")
    }

    /// More threads than pool slots: callers wait for a worker instead of failing, and every call gets one.
    @Test func poolWithFewerSlotsThanThreads() {
        final class Counter { var uses = 0 }
        let made = Atomic<Int>(0)
        let pool = WorkerPool<Counter>(first: Counter(), capacity: 2) {
            made.add(1, ordering: .relaxed)
            return Counter()
        }
        let total = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<500 {
                let ok = pool.withWorker { counter -> Bool in
                    counter.uses += 1
                    return true
                }
                if ok { total.add(1, ordering: .relaxed) }
            }
        }
        #expect(total.load(ordering: .relaxed) == 16 * 500)
        #expect(made.load(ordering: .relaxed) <= 1)
    }

    /// If making more workers fails, everything still runs on the first one.
    @Test func poolWhoseFactoryFails() {
        final class Counter { var uses = 0 }
        let first = Counter()
        let pool = WorkerPool<Counter>(first: first, capacity: 4) { nil }
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 { pool.withWorker { counter in counter.uses += 1 } }
        }
        #expect(pool.withWorker { $0.uses } == 800)
    }
}
