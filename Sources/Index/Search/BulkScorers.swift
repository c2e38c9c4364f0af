/// Top-k loops over plain term scorers with dynamic pruning. Both skip work that cannot change the
/// top k once the collector's threshold is known (after `trackTotalHits` matches were counted).
enum BulkScorers {
    /// Block-max conjunction (all terms required): the rarest term leads; before checking a
    /// candidate, the sum of the terms' block upper bounds over the current window of blocks is
    /// compared with the threshold, and whole windows that cannot compete are skipped.
    static func conjunction(_ scorers: [TermScorer], excluded: [Scorer], collector: TopKCollector) {
        let s = scorers.sorted { $0.cost < $1.cost }
        let n = s.count
        let lead = s[0].cursor
        var windowEnd: Int64 = -1
        var windowMax: Float = 0
        var doc = lead.nextDoc()
        outer: while doc != PostingsCursor.noMoreDocs {
            if collector.canPrune {
                if Int64(doc) > windowEnd {
                    var end = UInt32.max
                    var sum: Float = 0
                    for sc in s {
                        let last = sc.cursor.shallowAdvance(doc)
                        if last == PostingsCursor.noMoreDocs { break outer }
                        if last < end { end = last }
                        sum += sc.blockMaxScore()
                    }
                    windowEnd = Int64(end)
                    windowMax = sum
                }
                if windowMax <= collector.threshold {
                    collector.markPruned()
                    if windowEnd >= Int64(PostingsCursor.noMoreDocs - 1) { break }
                    doc = lead.advance(UInt32(windowEnd + 1))
                    continue
                }
            }
            var i = 1
            while i < n {
                let d = s[i].cursor.advance(doc)
                if d > doc {
                    doc = lead.advance(d)
                    continue outer
                }
                i += 1
            }
            if !excluded.isEmpty && excluded.contains(where: { $0.advance(doc) == doc }) {
                doc = lead.nextDoc()
                continue
            }
            var score: Float = 0
            for sc in s { score += sc.score() }
            collector.collect(doc, score)
            doc = lead.nextDoc()
        }
    }

    /// MaxScore disjunction (any term): terms sorted by their upper bound; the longest prefix whose
    /// bounds sum to no more than the threshold is "non-essential": candidates come only from the
    /// essential terms, and non-essential terms are only probed while the candidate can still compete.
    static func maxScore(_ scorers: [TermScorer], excluded: [Scorer], collector: TopKCollector) {
        let s = scorers.sorted { $0.maxScore < $1.maxScore }
        let n = s.count
        var ub = [Float](repeating: 0, count: n)
        var acc: Float = 0
        for i in 0..<n {
            acc += s[i].maxScore
            ub[i] = acc * (1 + 1e-6)
        }
        for sc in s { _ = sc.cursor.nextDoc() }
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
                let d = s[i].cursor.doc
                if d < cand { cand = d }
            }
            if cand == PostingsCursor.noMoreDocs { return }
            var score: Float = 0
            for i in firstEssential..<n where s[i].cursor.doc == cand { score += s[i].score() }
            var i = firstEssential - 1
            var competitive = true
            while i >= 0 {
                if score + ub[i] <= lastThreshold { competitive = false; break }
                if s[i].cursor.advance(cand) == cand { score += s[i].score() }
                i -= 1
            }
            if excluded.isEmpty || !excluded.contains(where: { $0.advance(cand) == cand }) {
                if competitive {
                    collector.collect(cand, score)
                } else {
                    collector.countOnly()
                }
            }
            for j in firstEssential..<n where s[j].cursor.doc == cand { _ = s[j].cursor.nextDoc() }
        }
    }
}
