/// A scored hit. `doc` is the global document number (segment base + local doc).
public struct ScoredDoc: Sendable, Equatable {
    public var doc: Int
    public var score: Float
    public init(doc: Int, score: Float) {
        self.doc = doc
        self.score = score
    }
}

/// The result of a search: the requested page of hits, best first, and the number of matches.
public struct TopDocs: Sendable {
    public var hits: [ScoredDoc]
    /// Matching documents counted. Exact when `totalIsExact`; otherwise a lower bound (counting
    /// stopped once `trackTotalHits` were seen and pruning took over).
    public var totalHits: Int
    public var totalIsExact: Bool
}

/// How many matches to count exactly before top-k pruning may skip documents (Elasticsearch's
/// `track_total_hits`).
public enum TotalHitsTracking: Sendable, Equatable {
    case exact
    case upTo(Int)
    public var limit: Int {
        switch self {
        case .exact: return Int.max
        case .upTo(let n): return max(n, 0)
        }
    }
}

/// Keeps the best `k` hits in a min-heap ordered by (score, then lower doc first). Exposes the score
/// a new document must beat (`threshold`) so scorers can skip what cannot enter the top k.
final class TopKCollector {
    let k: Int
    private var scores: [Float] = []
    private var docs: [Int] = []
    private(set) var totalHits = 0
    private var trackLimit: Int
    /// The score a document must beat to enter the heap (-inf until it is full).
    private(set) var minCompetitive: Float = -Float.infinity
    /// The score below which documents may be skipped without being counted: -inf while every
    /// match must still be counted (`trackTotalHits`) or the heap is not full.
    private(set) var threshold: Float = -Float.infinity
    private(set) var pruned = false
    var base = 0
    /// The search's deadline: the loops feeding this collector stop once it has passed.
    var deadline: SearchDeadline?
    /// The top-k loop for disjunctions of terms.
    var disjunction: DisjunctionAlgorithm = .auto

    /// Two-phase ranking: besides the best `k`, only documents within `slack` of the best
    /// `rankK`'s lowest score matter (a second phase adds at most `slack`), so pruning uses that.
    private let rankK: Int
    private let slack: Float
    private var rankHeap: [Float] = []

    /// Rescoring as documents arrive (a second query that adds at most `rescoreGain` to the
    /// first's score): a document is scored by `rescorer` (the segment's second query) only when
    /// its first score plus that gain could still enter the heap, which keeps the final scores;
    /// pruning then works from the final scores minus the gain. The heap holds exactly the best
    /// `k` by the second query, without a window and without reading positions for documents
    /// that cannot reach the page.
    private let rescoreGain: Float?
    private var rescorer: ((UInt32, Float, Float) -> Float?)?

    init(k: Int, tracking: TotalHitsTracking, rankK: Int? = nil, slack: Float = 0, rescoreGain: Float? = nil) {
        self.k = k
        trackLimit = tracking.limit
        self.rankK = min(rankK ?? k, k)
        self.slack = slack
        // Float sums of the same terms in another order differ by ulps: the bound allows for it.
        self.rescoreGain = rescoreGain.map { $0 * (1 + 1e-5) + 1e-5 }
        scores.reserveCapacity(k)
        docs.reserveCapacity(k)
    }

    private var usesRankHeap: Bool { rankK < k && rankK > 0 }

    @inline(__always) private func noteRank(_ score: Float) {
        if rankHeap.count < rankK {
            rankHeap.append(score)
            var i = rankHeap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if rankHeap[i] < rankHeap[p] { rankHeap.swapAt(i, p); i = p } else { break }
            }
            if rankHeap.count == rankK { updateThreshold() }
        } else if score > rankHeap[0] {
            rankHeap[0] = score
            var i = 0
            let n = rankHeap.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && rankHeap[l] < rankHeap[m] { m = l }
                if r < n && rankHeap[r] < rankHeap[m] { m = r }
                if m == i { break }
                rankHeap.swapAt(i, m)
                i = m
            }
            updateThreshold()
        }
    }

    /// Changes how many matches must be counted before pruning may start (a segment whose matches
    /// are counted elsewhere, `SegmentFacetCache`, can prune at once).
    func setTracking(_ tracking: TotalHitsTracking) {
        trackLimit = tracking.limit
        threshold = -Float.infinity
        updateThreshold()
    }

    /// Whether scorers may skip documents now.
    @inline(__always) var canPrune: Bool { threshold > -Float.infinity }

    /// Notes that the scorer skipped documents (the total becomes a lower bound).
    @inline(__always) func markPruned() { pruned = true }

    /// Matches the index statistics already vouch for, up to the tracking limit (0 if none).
    private(set) var knownMatches = 0

    /// Takes `n` matches as known without counting them (`Searcher.matchLowerBound`). When they
    /// reach the tracking limit, nothing needs counting: the total is "at least the limit" from the
    /// start, as Elasticsearch reports it once it stops counting, and pruning begins as soon as the
    /// heap is full.
    /// `n` is not evaluated when every match is to be counted (exact totals).
    func assumeMatches(_ n: @autoclosure () -> Int) {
        guard trackLimit < Int.max else { return }
        let n = n()
        guard n > 0, n >= trackLimit else { return }
        knownMatches = trackLimit
        trackLimit = 0
        pruned = true
        updateThreshold()
    }

    /// Whether `n` more matches stay within what is to be counted (a count the statistics give may
    /// then replace counting: past the limit, counting stops at it).
    func countsWithin(_ n: Int) -> Bool { n <= trackLimit - totalHits }

    /// Runs `body`, one segment's loop, whose `n` matches the statistics give exactly (a single
    /// term's document count in a segment without deletions): they are counted up front, so the loop
    /// prunes as soon as the heap is full, and the total stays exact (what it skips was counted).
    func withCountedSegment(_ n: Int, _ body: () -> Void) {
        let before = totalHits, wasPruned = pruned, limit = trackLimit
        trackLimit = 0
        threshold = -Float.infinity
        updateThreshold()
        body()
        totalHits = before + n
        pruned = wasPruned
        trackLimit = limit
        threshold = -Float.infinity
        updateThreshold()
    }

    /// The total to report: the matches counted, or the known ones if more.
    var reportedTotal: Int { max(totalHits, knownMatches) }

    /// Counts a match known not to compete.
    @inline(__always) func countOnly() {
        totalHits &+= 1
        if threshold == -Float.infinity && totalHits >= trackLimit && (scores.count >= k || (usesRankHeap && rankHeap.count >= rankK)) {
            updateThreshold()
        }
    }

    /// `a` ranks below `b`: lower score, or same score and higher doc.
    @inline(__always) private func worse(_ i: Int, _ j: Int) -> Bool {
        scores[i] < scores[j] || (scores[i] == scores[j] && docs[i] > docs[j])
    }

    /// The most the second query adds (0 without rescoring as documents arrive).
    var bonusGain: Float { rescoreGain ?? 0 }
    /// Set when only documents matching two clauses of the first query can gain a bonus
    /// (`Query.bonusNeedsTwoClauses`): MaxScore then skips candidates only one clause offers once no clause alone can reach the page.
    var bonusNeedsTwoClauses = false
    /// Per bonus, its score and the clauses of the first query (bits) a document must match to gain
    /// it, and the clause of each term (`Query.bonusClauseNeeds`): MaxScore bounds a prefix of its
    /// terms with only the bonuses their clauses can gain. Empty: every bonus may be gained.
    var bonusNeeds: [(mask: UInt64, value: Float)] = []
    var bonusClauseOf: [TermKey: Int] = [:]

    /// The second query's scorer for the segment being collected (see `rescoreGain`).
    /// It gets the document, its first score and the final score it must beat to enter the heap
    /// (-inf while the heap is not full), and returns the final score (nil: no match). When the
    /// document cannot beat that score it may return any score not above it (a bonus whose
    /// remaining clauses cannot lift it is not read to the end).
    func setRescorer(_ r: ((UInt32, Float, Float) -> Float?)?) { rescorer = r }

    @inline(__always) func collect(_ localDoc: UInt32, _ first: Float) {
        var score = first
        if let gain = rescoreGain {
            if k > 0 && scores.count >= k && first + gain <= scores[0] {
                countOnly()
                return
            }
            let beat = k > 0 && scores.count >= k ? scores[0] : -Float.infinity
            guard let s = rescorer?(localDoc, first, beat) else {
                countOnly()
                return
            }
            score = s
        }
        totalHits &+= 1
        if k == 0 {
            updateThreshold()
            return
        }
        let doc = base &+ Int(localDoc)
        if usesRankHeap { noteRank(score) }
        if scores.count < k {
            scores.append(score)
            docs.append(doc)
            siftUp(scores.count - 1)
            if scores.count == k { updateThreshold() }
            return
        }
        // Docs arrive in increasing order, so a tie never beats the heap's minimum.
        if score > scores[0] {
            scores[0] = score
            docs[0] = doc
            siftDown(0)
            updateThreshold()
        } else if totalHits >= trackLimit && threshold == -Float.infinity {
            updateThreshold()
        }
    }

    /// Documents the rank heap would not admit within `slack` are never needed: the best-first hits
    /// are cut there (two-phase ranking).
    func sortedHitsWithinSlack() -> [ScoredDoc] {
        let all = sortedHits()
        guard usesRankHeap, rankHeap.count >= rankK else { return all }
        let floor = rankHeap[0] - slack
        return all.filter { $0.score >= floor }
    }

    @inline(__always) private func updateThreshold() {
        var m = -Float.infinity
        if scores.count >= k { m = k == 0 ? Float.infinity : scores[0] - (rescoreGain ?? 0) }
        if usesRankHeap && rankHeap.count >= rankK { m = max(m, rankHeap[0] - slack) }
        if m > -Float.infinity {
            minCompetitive = m
            if totalHits >= trackLimit { threshold = minCompetitive }
        }
    }

    private func siftUp(_ i0: Int) {
        var i = i0
        while i > 0 {
            let p = (i - 1) / 2
            if worse(i, p) {
                scores.swapAt(i, p)
                docs.swapAt(i, p)
                i = p
            } else { break }
        }
    }

    private func siftDown(_ i0: Int) {
        var i = i0
        let n = scores.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && worse(l, m) { m = l }
            if r < n && worse(r, m) { m = r }
            if m == i { break }
            scores.swapAt(i, m)
            docs.swapAt(i, m)
            i = m
        }
    }

    /// Hits best first.
    func sortedHits() -> [ScoredDoc] {
        var out = zip(docs, scores).map { ScoredDoc(doc: $0, score: $1) }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
        return out
    }
}
