import Foundation
import Testing
@testable import AisleIndex

/// The merge policy behind its protocol: the log-structured policy's picks, and a live index that
/// merges whatever policy it is given.
@Suite struct MergePolicyTests {
    func segs(_ live: [Int], deleted: [Int]? = nil, merging: Set<Int> = []) -> [MergeCandidate] {
        live.enumerated().map { i, n in
            MergeCandidate(docCount: n + (deleted?[i] ?? 0), liveDocCount: n, merging: merging.contains(i))
        }
    }

    @Test func logPolicyMergesRunsOfTheSameLevel() {
        let p = LogMergePolicy(mergeFactor: 3, minMergeDocs: 10, reclaimDeletesAbove: 0.3, maxSegments: 6)
        #expect(p.level(5) == 0 && p.level(29) == 0 && p.level(30) == 1 && p.level(90) == 2)
        #expect(p.pick(segs([5, 5])) == nil)
        #expect(p.pick(segs([5, 5, 5])) == 0..<3)
        #expect(p.pick(segs([100, 5, 5, 5, 5])) == 1..<4)
        #expect(p.pick(segs([5, 5, 5], merging: [1])) == nil)
        // A segment with many deletes is rewritten alone.
        #expect(p.pick(segs([100, 5], deleted: [50, 0])) == 0..<1)
        // Too many segments: the cheapest adjacent run, whatever the levels.
        let many = segs([900, 40, 800, 30, 700, 20, 600, 10])
        #expect(p.pick(many) == 5..<8)
    }

    /// A policy that never merges, and one that merges the first two segments: the index follows.
    struct Never: MergePolicy { func pick(_ s: [MergeCandidate]) -> Range<Int>? { nil } }
    struct FirstTwo: MergePolicy { func pick(_ s: [MergeCandidate]) -> Range<Int>? { s.count >= 2 && !s[0].merging && !s[1].merging ? 0..<2 : nil } }

    @Test func aLiveIndexMergesAsItsPolicySays() throws {
        for (policy, expectOne) in [(Never() as any MergePolicy, false), (FirstTwo(), true)] {
            let dir = temporaryDirectory("merge-policy")
            defer { removeDirectory(dir) }
            var o = LiveIndex.Options()
            o.sync = false
            o.mergePolicy = policy
            let index = try LiveIndex.create(directory: dir, schema: RandomCorpus.schema, options: o)
            var rng = SeededRandom(seed: 3)
            var doc = IndexDocument()
            for (i, d) in RandomCorpus(count: 40, rng: &rng).docs.enumerated() {
                d.fill(&doc)
                try index.upsert(doc)
                if i % 10 == 9 { try index.refresh() }
            }
            index.waitForMerges()
            try index.refresh()
            index.waitForMerges()
            #expect(expectOne ? index.segmentCount == 1 : index.segmentCount == 4, "\(type(of: policy)): \(index.segmentCount) segments")
            #expect(index.searcher.liveDocCount == 40)
            index.close()
        }
    }
}
