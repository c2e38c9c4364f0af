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
            BulkScorers.conjunction(terms, filters: filters, predicates: predicates, excluded: excluded, collector: collector)
            return true
        case .disjunction(let terms, let groups, let coordination, let excluded):
            BulkScorers.maxScore(terms, groups: groups, coordination: coordination, filters: filters, predicates: predicates,
                                 excluded: excluded, collector: collector)
            return true
        case .generic:
            return false
        }
    }
}
