import AisleIndex

extension Query {
    /// The most the fixed bonuses (`.constant` clauses) can add to a score: what the full query
    /// adds to its recall form.
    func constantGain() -> Float {
        switch self {
        case .constant(let c): return c.score
        case .boolean(let b): return (b.must + b.should).reduce(0) { $0 + $1.constantGain() }
        case .disMax(let d): return d.clauses.map { $0.constantGain() }.max() ?? 0
        default: return 0
        }
    }

    /// The query without its fixed bonuses, for the first phase of a two-phase ranking: the
    /// words (a coordinated group of terms and their alternatives) run on the MaxScore path, and the
    /// bonuses (proximity) are added when the best of them are rescored. Match sets are equal: a
    /// constant bonus is always optional and matches only documents its words already match.
    func recallForm() -> Query {
        recall(optional: false) ?? self
    }

    private func recall(optional: Bool) -> Query? {
        switch self {
        case .term, .phrase, .prefix, .matchAll, .matchNone, .filter:
            return self
        case .constant:
            return optional ? nil : self
        case .disMax(let d):
            let cs = d.clauses.compactMap { $0.recall(optional: true) }
            return cs.isEmpty ? nil : .disMax(DisMaxQuery(clauses: cs, tieBreaker: d.tieBreaker))
        case .boolean(let b) where b.coordination:
            // A coordinated group of words runs on the MaxScore path as it is.
            return self
        case .boolean(let b):
            let must = b.must.map { $0.recall(optional: false) ?? $0 }
            var should: [Query] = []
            for s in b.should {
                guard let r = s.recall(optional: true) else { continue }
                if case .boolean(let inner) = r, inner.must.isEmpty, inner.mustNot.isEmpty, inner.minimumShouldMatch == 0,
                   !inner.coordination {
                    should += inner.should
                } else {
                    should.append(r)
                }
            }
            should = Self.dedupe(should)
            if must.isEmpty && b.mustNot.isEmpty && b.minimumShouldMatch == 0 && should.count == 1 { return should[0] }
            return .boolean(BooleanQuery(must: must, should: should, mustNot: b.mustNot, minimumShouldMatch: b.minimumShouldMatch))
        }
    }

    /// The full query's fixed bonuses as one query, when the full query scores exactly its recall
    /// form (`recall`, what the first phase runs) plus the bonuses that match: a boolean whose
    /// optional clauses include the `.constant` bonuses and whose other clauses, as they stand,
    /// are `recall` (nothing merged, flattened or dropped), so a document's final score is its
    /// first-phase score plus the bonuses, and rescoring need not score the words again. Nil when
    /// that does not hold.
    func additiveBonus(recall: Query) -> Query? {
        guard case .boolean(let b) = self, !b.coordination, b.minimumShouldMatch == 0 else { return nil }
        var bonuses: [Query] = [], rest: [Query] = []
        for s in b.should {
            if case .constant = s { bonuses.append(s) } else { rest.append(s) }
        }
        guard !bonuses.isEmpty, (b.must + rest + b.mustNot).allSatisfy({ $0.constantGain() == 0 }) else { return nil }
        let base: Query = b.must.isEmpty && b.mustNot.isEmpty && rest.count == 1
            ? rest[0] : .boolean(BooleanQuery(must: b.must, should: rest, mustNot: b.mustNot))
        guard base == recall else { return nil }
        return bonuses.count == 1 ? bonuses[0] : .boolean(BooleanQuery(should: bonuses))
    }

    /// The same term twice keeps its larger weight.
    private static func dedupe(_ qs: [Query]) -> [Query] {
        var out: [Query] = []
        var at: [TermKey: Int] = [:]
        for q in qs {
            if case .term(let t) = q {
                let k = TermKey(slot: t.slot, term: t.term + (t.fields.map { [0xFF] + withUnsafeBytes(of: $0) { Array($0) } } ?? []))
                if let i = at[k], case .term(var old) = out[i] {
                    old.boost = max(old.boost, t.boost)
                    out[i] = .term(old)
                    continue
                }
                at[k] = out.count
            }
            out.append(q)
        }
        return out
    }
}
