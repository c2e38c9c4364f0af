import Testing
@testable import AisleIndex

/// The position index of postings version 3 (a byte offset per positions block) must lead to the
/// same positions as walking the blocks (version 2), for documents reached in any order of skips.
@Suite struct PositionIndexTests {
    @Test func indexedPositionsEqualWalkedPositions() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("position-index")
        let corpus = RandomCorpus(count: 3000, rng: &rng)
        let d2 = temporaryDirectory("posindex-v2"), d3 = temporaryDirectory("posindex-v3")
        defer { removeDirectory(d2); removeDirectory(d3) }
        let walked = try PostingsFormat.$writeVersion.withValue(2) { try corpus.buildIndex(at: d2, perSegment: 3000) }
        let indexed = try PostingsFormat.$writeVersion.withValue(3) { try corpus.buildIndex(at: d3, perSegment: 3000) }
        #expect(walked.segments.count == 1 && indexed.segments.count == 1)
        #expect(walked.segments[0].docsFile.version == 2 && indexed.segments[0].docsFile.version == 3)
        let a = walked.segments[0], b = indexed.segments[0]
        var it = try b.terms.makeIterator()
        var terms = 0, docsChecked = 0, dense = 0
        while try it.next() {
            guard it.slot < b.terms.textSlotCount else { continue }
            let info = it.info
            guard let infoA = try a.terms.lookup(it.key) else {
                Issue.record("seed \(seed): term missing from the version-2 segment")
                continue
            }
            guard info.blockCount > 1 else { continue }
            terms += 1
            // More positions blocks than doc blocks: reads must jump past blocks.
            if info.posCount > UInt64(info.blockCount) * 128 { dense += 1 }
            let ca = try a.postings(infoA, text: true), cb = try b.postings(info, text: true)
            var pa: [UInt32] = [], pb: [UInt32] = [], sa: [Int] = [], sb: [Int] = []
            var target: UInt32 = 0
            while true {
                let da = ca.advance(target), db = cb.advance(target)
                #expect(da == db, "seed \(seed): docs differ")
                if da == PostingsCursor.noMoreDocs || da != db { break }
                // Read positions of some documents only, so blocks are skipped between reads.
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    #expect(ca.positions(into: &pa, fieldStarts: &sa) && cb.positions(into: &pb, fieldStarts: &sb))
                    #expect(pa == pb && sa == sb, "seed \(seed): positions of doc \(da) differ")
                    docsChecked += 1
                }
                target = da + 1 + UInt32(Int.random(in: 0..<40, using: &rng))
            }
        }
        #expect(terms > 20 && dense > 5 && docsChecked > 1000, "seed \(seed): \(terms) terms, \(dense) dense, \(docsChecked) docs")
    }
}

/// The per-segment cache of dictionary look-ups answers as the dictionary does, found or not,
/// after more distinct look-ups than it holds (it empties and fills again).
@Suite struct TermLookupCacheTests {
    @Test func cachedAnswersEqualTheDictionarys() throws {
        var (rng, seed) = SeededRandom.fromEnvironment("term-cache")
        let corpus = RandomCorpus(count: 1500, rng: &rng)
        let dir = temporaryDirectory("term-cache")
        defer { removeDirectory(dir) }
        let s = try corpus.buildIndex(at: dir, perSegment: 1500)
        let seg = s.segments[0]
        // Every key of the dictionary plus as many absent ones, asked in random order, twice.
        var keys: [(slot: Int, term: [UInt8])] = []
        var it = try seg.terms.makeIterator()
        while try it.next() { keys.append((it.slot, Array(it.key.dropFirst(2)))) }
        let present = keys.count
        for i in 0..<(2 * SegmentReader.termCacheEntries) {
            let k = keys[i % present]
            keys.append((k.slot, k.term + Array("zz\(i)".utf8)))
        }
        #expect(keys.count > SegmentReader.termCacheEntries, "seed \(seed): \(keys.count) keys")
        for _ in 0..<2 {
            keys.shuffle(using: &rng)
            for (slot, term) in keys {
                let want = try seg.terms.lookup(SegmentReader.key(slot: slot, term: term))
                #expect(try seg.termInfo(slot: slot, term: term) == want, "seed \(seed)")
            }
        }
    }
}
