/// Top-k loops over plain term scorers with dynamic pruning.
///
/// Two thresholds come from the collector: `minCompetitive` (the heap's minimum once it is full):
/// a document whose upper bound is not above it is counted but not scored; and `threshold` (the
/// same value, but only once `trackTotalHits` matches were counted): documents that cannot beat it
/// may be skipped without being counted at all.
///
/// The loops hold their scorers as unmanaged references (kept alive by the caller's array) so the
/// hot path does no reference counting.
enum BulkScorers {
    /// Block-max conjunction (all terms required): the rarest term leads. Once documents may be
    /// skipped, they are taken in windows that end where the first of the terms' current blocks
    /// ends, and a window whose summed block upper bounds cannot beat the threshold is skipped.
    static func conjunction(_ scorers: [TermScorer], filters: [PostingsCursor] = [], predicates: [DocPredicate] = [],
                            excluded: [Scorer], collector: TopKCollector) {
        let sorted = scorers.sorted { $0.cost < $1.cost }
        // Every cursor of the intersection, cheapest first: the scored terms and the filters.
        let all = (sorted.map { $0.cursor } + filters).sorted { $0.info.docCount < $1.info.docCount }
        withExtendedLifetime((sorted, all)) {
            let n = sorted.count
            let m = all.count
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: max(n, 1))
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: max(n, 1))
            let a = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: m)
            defer { s.deallocate(); c.deallocate(); a.deallocate() }
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(sorted[i])
                c[i] = Unmanaged.passUnretained(sorted[i].cursor)
            }
            for i in 0..<m { a[i] = Unmanaged.passUnretained(all[i]) }
            let lead = a[0]
            let hasExclusions = !excluded.isEmpty
            let hasPredicates = !predicates.isEmpty
            var windowEnd: Int64 = -1
            var windowMax: Float = .infinity
            /// The window from `target` to the first block end among the terms, and its summed block
            /// bounds, from the skip tables; false when a term has no document from `target` on.
            @inline(__always) func window(from target: UInt32) -> Bool {
                var end = UInt32.max
                var sum: Float = 0
                for i in 0..<n {
                    let last = c[i]._withUnsafeGuaranteedRef { $0.shallowAdvance(target) }
                    if last == PostingsCursor.noMoreDocs { return false }
                    if last < end { end = last }
                    sum += s[i]._withUnsafeGuaranteedRef { $0.blockMaxScore() }
                }
                windowEnd = Int64(end)
                windowMax = sum * (1 + 1e-6)
                return true
            }
            let deadline = collector.deadline
            var doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
            outer: while doc != PostingsCursor.noMoreDocs {
                if deadline.tick() { break }
                if collector.canPrune && (n == 0 || collector.threshold == .infinity) {
                    // Only filters: every remaining match scores 0 and cannot beat the heap. Or
                    // nothing can enter any more (no hits asked for, enough counted): stop here
                    // instead of skipping the rest window by window.
                    collector.markPruned()
                    break
                }
                if collector.canPrune {
                    if Int64(doc) > windowEnd && !window(from: doc) { break outer }
                    if windowMax <= collector.threshold {
                        collector.markPruned()
                        // The following windows are bounded from the skip tables alone: the lead
                        // decodes a block only where a window can beat the threshold.
                        var target = windowEnd + 1
                        while true {
                            if target >= Int64(PostingsCursor.noMoreDocs) || !window(from: UInt32(target)) { break outer }
                            if windowMax > collector.threshold { break }
                            target = windowEnd + 1
                        }
                        doc = lead._withUnsafeGuaranteedRef { $0.advance(UInt32(target)) }
                        continue
                    }
                }
                var i = 1
                while i < m {
                    let d = a[i]._withUnsafeGuaranteedRef { $0.advance(doc) }
                    if d > doc {
                        doc = lead._withUnsafeGuaranteedRef { $0.advance(d) }
                        continue outer
                    }
                    i += 1
                }
                if hasPredicates && predicates.contains(where: { !$0.matches(doc) }) {
                    doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
                    continue
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

    /// Block-max MaxScore disjunction (any term). Documents are taken in windows that end where the
    /// first of the terms' current blocks ends. In each window the terms are ordered by their block
    /// upper bound; the longest prefix whose bounds sum to no more than the threshold is
    /// "non-essential": candidates come only from the essential terms, and non-essential terms are
    /// probed only while the candidate can still compete. A window where no term is essential is
    /// skipped whole.
    /// `groups`: the clause of each term (a clause scores its best term: a word and its
    /// alternatives); nil: every term its own clause, scores summed. `coordination` > 0: the sum over
    /// clauses is multiplied by (clauses matched) / `coordination`. Both only lower a document's
    /// score below the summed term bounds, so the pruning stays exact.
    static func maxScore(_ scorers: [TermScorer], groups: [Int]? = nil, coordination: Int = 0,
                         filters: [PostingsCursor] = [], predicates: [DocPredicate] = [],
                         excluded: [Scorer], collector: TopKCollector) {
        withExtendedLifetime(scorers) {
            let n = scorers.count
            let clauses = ClauseSums(groups: groups, coordination: coordination, terms: n)
            defer { clauses.release() }
            let grouped = clauses.grouped
            let clauseCount = clauses.clauseCount
            let group = clauses.group
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: n)
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: n)
            let wmax = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let order = UnsafeMutablePointer<Int>.allocate(capacity: n)
            let ub = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let key = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let invCost = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let spare = UnsafeMutablePointer<Int>.allocate(capacity: n)
            let required = UnsafeMutablePointer<Bool>.allocate(capacity: max(n, 1))
            // With coordination, a document matching only terms of the first j + 1 (by bound) has at
            // most as many matched clauses as those terms have groups: its score is at most
            // ub[j] × groups / coordination. That bound decides which terms are non-essential.
            let pub = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let inPrefix = UnsafeMutablePointer<Bool>.allocate(capacity: max(clauseCount, 1))
            let single = UnsafeMutablePointer<Float>.allocate(capacity: max(clauseCount, 1))
            defer { s.deallocate(); c.deallocate(); wmax.deallocate(); order.deallocate(); ub.deallocate(); pub.deallocate()
                    key.deallocate(); invCost.deallocate(); spare.deallocate(); required.deallocate()
                    inPrefix.deallocate(); single.deallocate() }
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(scorers[i])
                c[i] = Unmanaged.passUnretained(scorers[i].cursor)
                invCost[i] = 1 / Float(max(scorers[i].cursor.info.docCount, 1))
                _ = c[i]._withUnsafeGuaranteedRef { $0.nextDoc() }
            }
            let hasExclusions = !excluded.isEmpty
            let noMore = PostingsCursor.noMoreDocs
            let deadline = collector.deadline
            let twoClauseGain = collector.bonusNeedsTwoClauses ? collector.bonusGain : 0
            // Bonuses by the clauses they need: a prefix of terms is bounded with the bonuses its
            // clauses can gain (`prefixGain`), against the threshold before the whole gain lowered it.
            let bonusNeeds = collector.bonusGain > 0 ? collector.bonusNeeds : []
            let perBonus = !bonusNeeds.isEmpty
            let fullGain = collector.bonusGain
            let clauseBit = UnsafeMutablePointer<UInt64>.allocate(capacity: max(n, 1))
            let prefixGain = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            defer { clauseBit.deallocate(); prefixGain.deallocate() }
            for i in 0..<n {
                // 0: the term's clause is not known (or it is in several): it may bring any bonus.
                clauseBit[i] = perBonus ? scorers[i].key.flatMap { collector.bonusClauseOf[$0] }.map { 1 << UInt64($0) } ?? 0 : 0
            }
            let lastOf = UnsafeMutablePointer<UInt32>.allocate(capacity: max(n, 1))
            defer { lastOf.deallocate() }
            var upTo: UInt32 = 0
            while true {
                if deadline.tick() { return }
                // The window: from the smallest current doc to the first block end.
                // Cursors are moved only when they are needed: one still before `upTo` (the end of
                // the windows done) stands for its first document from there, which the skip table
                // bounds without decoding a block. A window skipped whole then decodes nothing.
                var windowMin = noMore
                for i in 0..<n {
                    let d = max(c[i]._withUnsafeGuaranteedRef { $0.doc }, upTo)
                    if d < windowMin { windowMin = d }
                }
                if windowMin == noMore { return }
                // Nothing can enter any more (no hits asked for, enough counted): stop instead of
                // skipping the rest window by window.
                if collector.threshold == .infinity {
                    collector.markPruned()
                    return
                }
                var windowMax = noMore - 1
                for i in 0..<n {
                    let d = c[i]._withUnsafeGuaranteedRef { $0.doc }
                    lastOf[i] = noMore
                    if d == noMore { continue }
                    let last = c[i]._withUnsafeGuaranteedRef { $0.shallowAdvance(windowMin) }
                    lastOf[i] = last
                    if last < windowMax { windowMax = last }
                }
                for i in 0..<n {
                    let d = max(c[i]._withUnsafeGuaranteedRef { $0.doc }, upTo)
                    // No document in the window, or none at all from it on (a cursor left behind).
                    wmax[i] = d > windowMax || lastOf[i] == noMore ? 0 : s[i]._withUnsafeGuaranteedRef { $0.blockMaxScore() } * (1 + 1e-6)
                    order[i] = i
                }
                // Order by window bound per posting (insertion sort: few terms): the non-essential
                // prefix then holds the terms that score least for the documents they would bring,
                // as Lucene's MaxScoreBulkScorer partitions. A frequent word with a slightly higher
                // bound than a rare one is better probed than enumerated. Any order keeps the pruning
                // exact: a document of non-essential terms only scores at most their summed bounds.
                for i in 0..<n { key[i] = wmax[i] * invCost[i] }
                for i in 1..<max(n, 1) {
                    let x = order[i]
                    var j = i - 1
                    while j >= 0 && key[order[j]] > key[x] {
                        order[j + 1] = order[j]
                        j -= 1
                    }
                    order[j + 1] = x
                }
                // In that order, each term that still fits under the threshold with those taken
                // before it joins the non-essential set, which goes first (Lucene's greedy partition:
                // a term that does not fit does not stop the cheaper ones after it).
                let threshold0 = collector.threshold
                var acc: Float = 0
                var taken = 0, left = 0
                for j in 0..<n {
                    let t = order[j]
                    if acc + wmax[t] <= threshold0 { acc += wmax[t]; order[taken] = t; taken += 1 }
                    else { spare[left] = t; left += 1 }
                }
                for j in 0..<left { order[taken + j] = spare[j] }
                acc = 0
                for j in 0..<n {
                    acc += wmax[order[j]]
                    ub[j] = acc
                }
                // With coordination, a prefix of terms from g of n clauses scores at most its sum × g / n.
                if coordination > 0 {
                    for g in 0..<clauseCount { inPrefix[g] = false }
                    var groupsIn = 0
                    for j in 0..<n {
                        let g = group[order[j]]
                        if !inPrefix[g] { inPrefix[g] = true; groupsIn += 1 }
                        pub[j] = groupsIn >= coordination ? ub[j] : ub[j] * Float(groupsIn) / Float(coordination) * (1 + 1e-6)
                    }
                } else {
                    for j in 0..<n { pub[j] = ub[j] }
                }
                // A prefix can gain only the bonuses whose clauses all lie in its clauses (a prefix of
                // one clause none that needs two): its bound is compared with the threshold before the
                // whole gain lowered it, less what it can gain.
                if perBonus {
                    var mask: UInt64 = 0
                    var unknown = false
                    for j in 0..<n {
                        let bit = clauseBit[order[j]]
                        if bit == 0 { unknown = true } else { mask |= bit }
                        var g: Float = 0
                        if unknown { g = fullGain } else { for b in bonusNeeds where b.mask & ~mask == 0 { g += b.value } }
                        prefixGain[j] = min(g * (1 + 1e-5) + 1e-5, fullGain)
                    }
                }
                @inline(__always) func nonEssential(_ j: Int, _ threshold: Float) -> Bool {
                    perBonus ? pub[j] <= threshold + fullGain - prefixGain[j] : pub[j] <= threshold
                }
                // When no document of a single clause can reach the page (its clause's best term bound,
                // coordinated, is under the threshold before the gain lowered it, and it cannot gain a
                // bonus), a candidate needs a second clause: where the essential terms offer one
                // clause only, the loop skips to the next document of another clause.
                @inline(__always) func needsTwoClauses(_ threshold: Float) -> Bool {
                    guard twoClauseGain > 0, threshold > -Float.infinity else { return false }
                    for g in 0..<clauseCount { single[g] = 0 }
                    for i in 0..<n where wmax[i] > single[group[i]] { single[group[i]] = wmax[i] }
                    let f: Float = coordination > 0 ? 1 / Float(coordination) : 1
                    let limit = threshold + twoClauseGain
                    for g in 0..<clauseCount where single[g] * f * (1 + 1e-6) > limit { return false }
                    return true
                }
                var threshold = collector.threshold
                // A term is required when the other terms' bounds together cannot beat the threshold
                // (Lucene turns such disjunctions into conjunctions the same way): candidates then
                // leapfrog to the required terms' documents instead of visiting every essential one.
                @inline(__always) func markRequired(_ threshold: Float) -> Bool {
                    guard n > 1, threshold > -Float.infinity else { return false }
                    var any = false
                    for i in 0..<n {
                        var others: Float = 0
                        for t in 0..<n where t != i { others += wmax[t] }
                        required[i] = others * (1 + 1e-6) <= threshold
                        if required[i] { any = true }
                    }
                    return any
                }
                var hasRequired = markRequired(threshold)
                var needTwo = needsTwoClauses(threshold)
                var firstEssential = 0
                while firstEssential < n && nonEssential(firstEssential, threshold) { firstEssential += 1 }
                if firstEssential > 0 { collector.markPruned() }
                if firstEssential < n {
                    // The essential terms enumerate the window's candidates: they stand in it.
                    for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) < windowMin {
                        _ = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(windowMin) }
                    }
                    // Candidates in the window.
                    while true {
                        if deadline.tick() { return }
                        var cand = noMore
                        for j in firstEssential..<n {
                            let d = c[order[j]]._withUnsafeGuaranteedRef { $0.doc }
                            if d < cand { cand = d }
                        }
                        if cand > windowMax { break }
                        if hasRequired {
                            var next = cand
                            for r in 0..<n where required[r] {
                                let d = c[r]._withUnsafeGuaranteedRef { $0.advance(cand) }
                                if d > next { next = d }
                            }
                            if next > cand {
                                // Documents before `next` lack a required term: skipped uncounted. Only
                                // up to the window's end, where the bounds that made the term required end.
                                collector.markPruned()
                                let to = min(next, windowMax &+ 1)
                                for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) < to {
                                    _ = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(to) }
                                }
                                continue
                            }
                        }
                        if needTwo {
                            var g0 = -1
                            var two = false
                            for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                                let g = group[order[j]]
                                if g0 < 0 { g0 = g } else if g != g0 { two = true; break }
                            }
                            var next = noMore
                            if !two {
                                // Another clause's non-essential terms, probed at the candidate.
                                for j in 0..<firstEssential where group[order[j]] != g0 {
                                    let d = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(cand) }
                                    if d == cand { two = true; break }
                                    if d < next { next = d }
                                }
                            }
                            if !two {
                                for j in firstEssential..<n where group[order[j]] != g0 {
                                    let d = c[order[j]]._withUnsafeGuaranteedRef { $0.doc }
                                    if d < next { next = d }
                                }
                                // Documents before `next` have one clause at most: skipped uncounted. Only
                                // up to the window's end: the next window's bounds may let one clause in.
                                collector.markPruned()
                                let to = min(next, windowMax &+ 1)
                                for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) < to {
                                    _ = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(to) }
                                }
                                continue
                            }
                        }
                        // Bound of the candidate from the essential terms that have it.
                        var bound: Float = 0
                        for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                            bound += wmax[order[j]]
                        }
                        let excludedDoc = (hasExclusions && excluded.contains(where: { $0.advance(cand) == cand }))
                            || (!filters.isEmpty && filters.contains(where: { $0.advance(cand) != cand }))
                            || (!predicates.isEmpty && predicates.contains(where: { !$0.matches(cand) }))
                        if !excludedDoc {
                            let minComp = collector.minCompetitive
                            if bound + (firstEssential > 0 ? ub[firstEssential - 1] : 0) <= minComp {
                                // Its essential terms' block bounds and every non-essential term's
                                // cannot enter the heap (in the counting phase, or a candidate of
                                // fewer essential terms than the window needs): count it only.
                                collector.countOnly()
                            } else {
                                var score: Float = 0
                                for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                                    let x = s[order[j]]._withUnsafeGuaranteedRef { $0.score() }
                                    score += x
                                    if grouped { clauses.add(order[j], x) }
                                }
                                var j = firstEssential - 1
                                var competitive = true
                                while j >= 0 {
                                    if score + ub[j] <= minComp { competitive = false; break }
                                    let t = order[j]
                                    if c[t]._withUnsafeGuaranteedRef({ $0.advance(cand) }) == cand {
                                        let x = s[t]._withUnsafeGuaranteedRef { $0.score() }
                                        score += x
                                        if grouped { clauses.add(t, x) }
                                    }
                                    j -= 1
                                }
                                if grouped {
                                    let final = clauses.finish()
                                    if competitive { collector.collect(cand, final) } else { collector.countOnly() }
                                } else {
                                    if competitive { collector.collect(cand, score) } else { collector.countOnly() }
                                }
                            }
                        }
                        for j in firstEssential..<n where c[order[j]]._withUnsafeGuaranteedRef({ $0.doc }) == cand {
                            _ = c[order[j]]._withUnsafeGuaranteedRef { $0.nextDoc() }
                        }
                        if collector.threshold > threshold {
                            threshold = collector.threshold
                            needTwo = needsTwoClauses(threshold)
                            hasRequired = markRequired(threshold)
                            while firstEssential < n && nonEssential(firstEssential, threshold) { firstEssential += 1 }
                            if firstEssential > 0 { collector.markPruned() }
                            if firstEssential == n { break }
                        }
                    }
                } else {
                    collector.markPruned()
                }
                // Past the window for every term: those left in it move when next needed.
                if windowMax >= noMore - 1 { return }
                upTo = windowMax + 1
            }
        }
    }
}

extension BulkScorers {
    /// Every match of a conjunction of terms and filter postings (facets and field sorts need them
    /// all). `visit(doc, score)` gets the score only when the document could still enter the heap:
    /// while `minCompetitive()` is set, a window of blocks whose summed upper bounds do not exceed it
    /// is visited with a nil score.
    static func visitConjunction(_ scorers: [TermScorer], filters: [PostingsCursor], excluded: [Scorer],
                                 deadline: SearchDeadline? = nil,
                                 minCompetitive: () -> Float, visit: (UInt32, Float?) -> Void) {
        let sorted = scorers.sorted { $0.cost < $1.cost }
        let all = (sorted.map { $0.cursor } + filters).sorted { $0.info.docCount < $1.info.docCount }
        guard !all.isEmpty else { return }
        withExtendedLifetime((sorted, all)) {
            let n = sorted.count
            let m = all.count
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: max(n, 1))
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: max(n, 1))
            let a = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: m)
            defer { s.deallocate(); c.deallocate(); a.deallocate() }
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(sorted[i])
                c[i] = Unmanaged.passUnretained(sorted[i].cursor)
            }
            for i in 0..<m { a[i] = Unmanaged.passUnretained(all[i]) }
            let lead = a[0]
            var windowEnd: Int64 = -1
            var windowMax: Float = .infinity
            var doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
            outer: while doc != PostingsCursor.noMoreDocs {
                if deadline.tick() { break }
                var i = 1
                while i < m {
                    let d = a[i]._withUnsafeGuaranteedRef { $0.advance(doc) }
                    if d > doc {
                        doc = lead._withUnsafeGuaranteedRef { $0.advance(d) }
                        continue outer
                    }
                    i += 1
                }
                if !excluded.isEmpty && excluded.contains(where: { $0.advance(doc) == doc }) {
                    doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
                    continue
                }
                let minComp = minCompetitive()
                var score: Float?
                if n == 0 {
                    score = minComp < 0 ? 0 : nil
                } else {
                    if minComp > -Float.infinity && Int64(doc) > windowEnd {
                        var end = UInt32.max
                        var sum: Float = 0
                        for j in 0..<n {
                            let last = c[j]._withUnsafeGuaranteedRef { $0.shallowAdvance(doc) }
                            if last < end { end = last }
                            sum += s[j]._withUnsafeGuaranteedRef { $0.blockMaxScore() }
                        }
                        windowEnd = Int64(end)
                        windowMax = sum * (1 + 1e-6)
                    }
                    if !(minComp > -Float.infinity && Int64(doc) <= windowEnd && windowMax <= minComp) {
                        var x: Float = 0
                        for j in 0..<n { x += s[j]._withUnsafeGuaranteedRef { $0.score() } }
                        score = x
                    }
                }
                visit(doc, score)
                doc = lead._withUnsafeGuaranteedRef { $0.nextDoc() }
            }
        }
    }
}


extension BulkScorers {
    /// Block-max WAND disjunction (Ding and Suel, 2011; PISA's `block_max_wand`). Every cursor stays
    /// positioned; they are ordered by their current document, and the pivot is the first document
    /// at which the terms up to it (by whole-term bound) could beat the threshold. The pivot is then
    /// checked with the block bounds of those terms: when they cannot beat it, every cursor up to
    /// the pivot skips to where the first of their blocks ends (or to the next term's document);
    /// otherwise the lagging cursors move to the pivot, and once all stand on it the document is
    /// scored. Unlike MaxScore, a document that only low-bound terms hold is never enumerated: in a
    /// query of several common words where a product needs three of them to reach the page, the
    /// cursors leap to documents where three meet.
    /// `groups` and `coordination` as in `maxScore`: both only lower a document's score below the
    /// summed term bounds, so the pruning stays exact.
    static func blockMaxWand(_ scorers: [TermScorer], groups: [Int]? = nil, coordination: Int = 0,
                             filters: [PostingsCursor] = [], predicates: [DocPredicate] = [],
                             excluded: [Scorer], collector: TopKCollector) {
        withExtendedLifetime(scorers) {
            let n = scorers.count
            guard n > 0 else { return }
            let clauses = ClauseSums(groups: groups, coordination: coordination, terms: n)
            defer { clauses.release() }
            let s = UnsafeMutablePointer<Unmanaged<TermScorer>>.allocate(capacity: n)
            let c = UnsafeMutablePointer<Unmanaged<PostingsCursor>>.allocate(capacity: n)
            let termMax = UnsafeMutablePointer<Float>.allocate(capacity: n)
            let order = UnsafeMutablePointer<Int>.allocate(capacity: n)
            let blockLast = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
            defer { s.deallocate(); c.deallocate(); termMax.deallocate(); order.deallocate(); blockLast.deallocate() }
            for i in 0..<n {
                s[i] = Unmanaged.passUnretained(scorers[i])
                c[i] = Unmanaged.passUnretained(scorers[i].cursor)
                termMax[i] = scorers[i].maxScore * (1 + 1e-6)
                order[i] = i
                _ = c[i]._withUnsafeGuaranteedRef { $0.nextDoc() }
            }
            let noMore = PostingsCursor.noMoreDocs
            let deadline = collector.deadline
            let hasExclusions = !excluded.isEmpty
            @inline(__always) func doc(_ i: Int) -> UInt32 { c[i]._withUnsafeGuaranteedRef { $0.doc } }
            while true {
                if deadline.tick() { return }
                if collector.threshold == .infinity {
                    collector.markPruned()
                    return
                }
                // Cursors by current document (insertion sort: few terms, mostly in order already).
                for i in 1..<n {
                    let x = order[i]
                    let dx = doc(x)
                    var j = i - 1
                    while j >= 0 && doc(order[j]) > dx {
                        order[j + 1] = order[j]
                        j -= 1
                    }
                    order[j + 1] = x
                }
                let threshold = collector.threshold
                // The pivot: the first cursor at which the whole-term bounds so far beat the threshold.
                var acc: Float = 0
                var p = -1
                for j in 0..<n {
                    let t = order[j]
                    if doc(t) == noMore { break }
                    acc += termMax[t]
                    if acc > threshold { p = j; break }
                }
                if p < 0 {
                    // No document left can beat the page.
                    if doc(order[0]) != noMore { collector.markPruned() }
                    return
                }
                let pivotDoc = doc(order[p])
                while p + 1 < n && doc(order[p + 1]) == pivotDoc { p += 1 }
                var bound: Float = 0
                if threshold > -Float.infinity {
                    // The pivot's block bounds: the terms up to it in the blocks that hold it.
                    for j in 0...p {
                        let t = order[j]
                        blockLast[t] = c[t]._withUnsafeGuaranteedRef { $0.shallowAdvance(pivotDoc) }
                        bound += s[t]._withUnsafeGuaranteedRef { $0.blockMaxScore() }
                    }
                    bound *= 1 + 1e-6
                    if bound <= threshold {
                        // No document from the pivot up to the first of those blocks' ends (or the next
                        // term's document) can beat the page: those terms skip there together.
                        var next = p + 1 < n ? doc(order[p + 1]) : noMore
                        for j in 0...p {
                            let last = blockLast[order[j]]
                            if last < noMore - 1 && last + 1 < next { next = last + 1 }
                        }
                        collector.markPruned()
                        for j in 0...p { _ = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(next) } }
                        continue
                    }
                } else {
                    for j in 0...p { bound += termMax[order[j]] }
                }
                if doc(order[0]) != pivotDoc {
                    // Documents before the pivot cannot beat the page: the lagging cursors move to it.
                    collector.markPruned()
                    for j in 0..<p where doc(order[j]) < pivotDoc {
                        _ = c[order[j]]._withUnsafeGuaranteedRef { $0.advance(pivotDoc) }
                    }
                    continue
                }
                // Every cursor up to the pivot stands on it: a candidate.
                let cand = pivotDoc
                let excludedDoc = (hasExclusions && excluded.contains(where: { $0.advance(cand) == cand }))
                    || (!filters.isEmpty && filters.contains(where: { $0.advance(cand) != cand }))
                    || (!predicates.isEmpty && predicates.contains(where: { !$0.matches(cand) }))
                if !excludedDoc {
                    if bound <= collector.minCompetitive {
                        collector.countOnly()
                    } else {
                        var score: Float = 0
                        for j in 0...p {
                            let x = s[order[j]]._withUnsafeGuaranteedRef { $0.score() }
                            score += x
                            clauses.add(order[j], x)
                        }
                        collector.collect(cand, clauses.grouped ? clauses.finish() : score)
                    }
                }
                for j in 0...p { _ = c[order[j]]._withUnsafeGuaranteedRef { $0.nextDoc() } }
            }
        }
    }
}

/// The clause-wise score of a candidate of a disjunction whose terms fall into clauses (a clause
/// scores its best term: a word and its alternatives), optionally scaled by the share of clauses
/// matched (coordination). Term scores are gathered with `add` and summed by `finish`.
struct ClauseSums {
    let grouped: Bool
    let coordination: Int
    let clauseCount: Int
    let group: UnsafeMutablePointer<Int>
    let best: UnsafeMutablePointer<Float>
    let seen: UnsafeMutablePointer<Bool>

    init(groups: [Int]?, coordination: Int, terms n: Int) {
        grouped = groups != nil || coordination > 0
        self.coordination = coordination
        clauseCount = (groups?.max() ?? (n - 1)) + 1
        group = .allocate(capacity: max(n, 1))
        best = .allocate(capacity: max(clauseCount, 1))
        seen = .allocate(capacity: max(clauseCount, 1))
        for i in 0..<n { group[i] = groups?[i] ?? i }
        for g in 0..<max(clauseCount, 1) { best[g] = 0; seen[g] = false }
    }

    func release() {
        group.deallocate()
        best.deallocate()
        seen.deallocate()
    }

    @inline(__always) func add(_ term: Int, _ x: Float) {
        guard grouped else { return }
        let g = group[term]
        if x > best[g] || !seen[g] { best[g] = max(best[g], x) }
        seen[g] = true
    }

    /// The candidate's score from the gathered term scores; clears them for the next one.
    @inline(__always) func finish() -> Float {
        var sum: Float = 0
        var matched = 0
        for g in 0..<clauseCount where seen[g] {
            sum += best[g]
            matched += 1
            seen[g] = false
            best[g] = 0
        }
        return coordination > 0 ? sum * Float(matched) / Float(coordination) : sum
    }
}
