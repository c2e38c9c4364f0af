/// Top-k loops over plain term scorers with dynamic pruning. Both skip work that cannot change the
/// top k once the collector's threshold is known (after `trackTotalHits` matches were counted).
///
/// The loops hold their scorers as unmanaged references (kept alive by the caller's array) so the
/// hot path does no reference counting.
enum BulkScorers {
    /// Block-max conjunction (all terms required): the rarest term leads; before checking a
    /// candidate, the sum of the terms' block upper bounds over the current window of blocks is
    /// compared with the threshold, and whole windows that cannot compete are skipped.
    static func conjunction(_ scorers: [TermScorer], excluded: [Scorer], collector: TopKCollector) {
        let sorted = scorers.sorted { $0.cost < $1.cost }
        withExtendedLifetime(sorted) {
            let n = sorted.count
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: n)
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: n)
            defer { s.deallocate(); c.deallocate() }
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(sorted[i])
                c[i] = Unmanaged.passUnretained(sorted[i].cursor)
            }
            let lead = c[0]
            let hasExclusions = !excluded.isEmpty
            var windowEnd: Int64 = -1
            var windowMax: Float = 0
            var doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
            outer: while doc != PostingsCursor.noMoreDocs {
                if collector.canPrune {
                    if Int64(doc) > windowEnd {
                        var end = UInt32.max
                        var sum: Float = 0
                        for i in 0..<n {
                            let last = c[i]._withUnsafeGuaranteedRef { $0.shallowAdvance(doc) }
                            if last == PostingsCursor.noMoreDocs { break outer }
                            if last < end { end = last }
                            sum += s[i]._withUnsafeGuaranteedRef { $0.blockMaxScore() }
                        }
                        windowEnd = Int64(end)
                        windowMax = sum
                    }
                    if windowMax <= collector.threshold {
                        collector.markPruned()
                        if windowEnd >= Int64(PostingsCursor.noMoreDocs - 1) { break }
                        doc = lead._withUnsafeGuaranteedRef { $0.advance(UInt32(windowEnd + 1)) }
                        continue
                    }
                }
                var i = 1
                while i < n {
                    let d = c[i]._withUnsafeGuaranteedRef { $0.advance(doc) }
                    if d > doc {
                        doc = lead._withUnsafeGuaranteedRef { $0.advance(d) }
                        continue outer
                    }
                    i += 1
                }
                if hasExclusions && excluded.contains(where: { $0.advance(doc) == doc }) {
                    doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
                    continue
                }
                var score: Float = 0
                for j in 0..<n { score += s[j]._withUnsafeGuaranteedRef { $0.score() } }
                collector.collect(doc, score)
                doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
            }
        }
    }

    /// MaxScore disjunction (any term): terms sorted by their upper bound; the longest prefix whose
    /// bounds sum to no more than the threshold is "non-essential": candidates come only from the
    /// essential terms, and non-essential terms are only probed while the candidate can still compete.
    static func maxScore(_ scorers: [TermScorer], excluded: [Scorer], collector: TopKCollector) {
        let sorted = scorers.sorted { $0.maxScore < $1.maxScore }
        withExtendedLifetime(sorted) {
            let n = sorted.count
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: n)
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: n)
            let ub = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { s.deallocate(); c.deallocate(); ub.deallocate() }
            var acc: Float = 0
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(sorted[i])
                c[i] = Unmanaged.passUnretained(sorted[i].cursor)
                acc += sorted[i].maxScore
                ub[i] = acc * (1 + 1e-6)
            }
            for i in 0..<n { _ = c[i]._withUnsafeGuaranteedRef { $0.nextDoc() } }
            let hasExclusions = !excluded.isEmpty
            var firstEssential = 0
            var lastThreshold = -Float.infinity
            while true {
                if collector.threshold != lastThreshold {
                    lastThreshold = collector.threshold
                    while firstEssential < n && ub[firstEssential] <= lastThreshold { firstEssential += 1 }
                    if firstEssential > 0 { collector.markPruned() }
                    if firstEssential == n { return }
                }
                var cand = PostingsCursor.noMoreDocs
                for i in firstEssential..<n {
                    let d = c[i]._withUnsafeGuaranteedRef { $0.doc }
                    if d < cand { cand = d }
                }
                if cand == PostingsCursor.noMoreDocs { return }
                var score: Float = 0
                for i in firstEssential..<n where c[i]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                    score += s[i]._withUnsafeGuaranteedRef { $0.score() }
                }
                var i = firstEssential - 1
                var competitive = true
                while i >= 0 {
                    if score + ub[i] <= lastThreshold { competitive = false; break }
                    if c[i]._withUnsafeGuaranteedRef({ $0.advance(cand) }) == cand {
                        score += s[i]._withUnsafeGuaranteedRef { $0.score() }
                    }
                    i -= 1
                }
                if !hasExclusions || !excluded.contains(where: { $0.advance(cand) == cand }) {
                    if competitive {
                        collector.collect(cand, score)
                    } else {
                        collector.countOnly()
                    }
                }
                for j in firstEssential..<n where c[j]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                    _ = c[j]._withUnsafeGuaranteedRef { $0.nextDoc() }
                }
            }
        }
    }
}
