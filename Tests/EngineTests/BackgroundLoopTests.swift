import Foundation
import Synchronization
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Background work is cancellable and testable: no sleep loops to wait out.
@Suite struct BackgroundLoopTests {
    @Test func cancelReturnsAtOnceAndWakeRunsTheWorkNow() throws {
        let runs = Atomic<Int>(0)
        let loop = BackgroundLoop(name: "test", interval: 3600) { runs.add(1, ordering: .relaxed) }
        loop.start()
        loop.wake()
        let t0 = Date()
        while runs.load(ordering: .relaxed) == 0 && Date().timeIntervalSince(t0) < 10 { usleep(1000) }
        #expect(runs.load(ordering: .relaxed) == 1)
        let t1 = Date()
        loop.cancel()
        #expect(Date().timeIntervalSince(t1) < 1, "cancel waited for the interval")
        #expect(loop.isCancelled && runs.load(ordering: .relaxed) == 1)
    }

    @Test func aServingIndexClosesWithoutWaitingOutItsIntervals() throws {
        let (_, _, dir) = try buildIndex(corpus: fixture("sample-catalog.jsonl"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = ServingIndex.Options()
        o.refreshInterval = 60
        o.watchInterval = 60
        o.live.sync = false
        let sv = try ServingIndex(root: dir, options: o)
        sv.start()
        let t0 = Date()
        sv.close()
        #expect(Date().timeIntervalSince(t0) < 2)
    }
}
