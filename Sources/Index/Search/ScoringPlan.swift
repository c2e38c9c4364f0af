import Synchronization

/// How one segment's matches of a query are scored: the one place that looks at the shape of a
/// scorer tree (as Lucene's `Weight.bulkScorer` and tantivy's `Weight::for_each_pruning` choose a
/// bulk loop). Plain term conjunctions take the block-max AND loop, plain term disjunctions (with
/// clause groups and coordination) the block-max MaxScore loop, and every other shape visits each
/// match through its scorer. Exclusions (`-x`) stay beside the fast loops.
enum ScoringPlan {
    /// Every term required.
    case conjunction([TermScorer], excluded: [Scorer])
    /// Any term; `groups`: the clause of each term; `coordination` > 0: scaled by clauses matched.
    case disjunction([TermScorer], groups: [Int]?, coordination: Int, excluded: [Scorer])
    /// Any other shape: the scorer itself.
    case generic(Scorer)

    static func choose(_ root: Scorer) -> ScoringPlan {
        var core = root
        var excluded: [Scorer] = []
        if let re = root as? ReqExclScorer {
            core = re.required
            excluded = re.excluded
        }
        if let t = core as? TermScorer, !t.checkFields { return .conjunction([t], excluded: excluded) }
        if let c = core as? ConjunctionScorer {
            let terms = c.children.compactMap { $0 as? TermScorer }
            if terms.count == c.children.count && !terms.contains(where: { $0.checkFields }) {
                return .conjunction(terms, excluded: excluded)
            }
        }
        if let d = core as? DisjunctionScorer, let f = d.termClauses {
            return .disjunction(f.terms, groups: f.groups, coordination: f.coordination, excluded: excluded)
        }
        return .generic(root)
    }

    /// The best `collector.k` matches of the plan (with pruning), joined to filter postings and
    /// predicates; false for a generic plan, which the caller drives itself.
    func runRanked(filters: [PostingsCursor], predicates: [DocPredicate], collector: TopKCollector) -> Bool {
        switch self {
        case .conjunction(let terms, let excluded):
            let n = Int(terms.first?.cursor.info.docCount ?? 0)
            if terms.count == 1 && filters.isEmpty && predicates.isEmpty && excluded.isEmpty && !collector.canPrune
                && collector.countsWithin(n) {
                // One term, nothing to filter or delete: its matches are its postings, counted by
                // the dictionary. No need to visit them all to count.
                collector.withCountedSegment(n) {
                    BulkScorers.conjunction(terms, excluded: [], collector: collector)
                }
                return true
            }
            BulkScorers.conjunction(terms, filters: filters, predicates: predicates, excluded: excluded, collector: collector)
            return true
        case .disjunction(let terms, let groups, let coordination, let excluded):
            switch collector.disjunction.resolved {
            case .blockMaxWand:
                BulkScorers.blockMaxWand(terms, groups: groups, coordination: coordination, filters: filters,
                                         predicates: predicates, excluded: excluded, collector: collector)
            default:
                BulkScorers.maxScore(terms, groups: groups, coordination: coordination, filters: filters, predicates: predicates,
                                     excluded: excluded, collector: collector)
            }
            return true
        case .generic:
            return false
        }
    }
}

/// The top-k loop for a disjunction of terms. Both are exact (the same page as scoring every
/// match); they differ in what they visit. MaxScore enumerates the documents of the terms whose
/// bounds can reach the page and probes the others; block-max WAND keeps every term's cursor
/// positioned and leaps to documents where enough terms meet (`BulkScorers`).
public enum DisjunctionAlgorithm: String, Sendable, CaseIterable {
    /// The process default (`setProcessDefault`), else MaxScore: measured faster than WAND for one
    /// to four words (BENCHMARKS.md, "Stop 35").
    case auto
    case maxScore = "maxscore"
    case blockMaxWand = "wand"

    private static let processChoice = Atomic<UInt8>(0)   // 0 auto, 1 maxscore, 2 wand

    /// What `auto` means for every search of the process (the `aisle` command sets it from
    /// `AISLE_DISJUNCTION`, for benchmarks comparing the loops on the same queries).
    public static func setProcessDefault(_ choice: DisjunctionAlgorithm) {
        processChoice.store(choice == .maxScore ? 1 : choice == .blockMaxWand ? 2 : 0, ordering: .relaxed)
    }

    /// The loop to run.
    var resolved: DisjunctionAlgorithm {
        if self != .auto { return self }
        return Self.processChoice.load(ordering: .relaxed) == 2 ? .blockMaxWand : .maxScore
    }
}
