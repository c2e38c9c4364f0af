extension Searcher {
    /// Runs a full search: query, filters, facets, sort and paging.
    public func search(_ spec: SearchSpec) throws -> SearchOutcome {
        guard spec.limit >= 0, spec.offset >= 0, spec.limit <= Int.max / 4 - spec.offset else {
            throw IndexError.invalidQuery("limit and offset must not be negative")
        }
        let deadline = spec.deadline
        try validate(spec)
        let q = try rewrite(spec.query)
        let ctx = try QueryContext(searcher: self, query: q)
        let rescore = spec.sort == .relevance && spec.searchAfter == nil ? spec.rescore : nil
        // Numeric boosts add to scores beyond the text scorers' bounds: every match is scored.
        let boosted = !spec.boosts.isEmpty && spec.sort == .relevance
        let exhaustive = !spec.facets.isEmpty || spec.sort != .relevance || spec.searchAfter != nil || boosted
        // Exhaustive searches keep each segment's matches, match count, facet counts and best hits
        // by a field, and the whole count and facets for the segment set (see `SegmentFacetCache`).
        let cache = exhaustive ? spec.facetCache.flatMap { $0.isEnabled ? $0 : nil } : nil
        // A second query of fixed bonuses (proximity) rescores documents as they are collected.
        let inlineGain = boosted ? nil : rescore?.maxGain
        // Only the bonuses when the final score is the first plus them (`Rescore.bonus`).
        let additive = inlineGain != nil && rescore?.bonus != nil
        let fullQuery = try inlineGain.map { _ in try rewrite(additive ? rescore!.bonus! : rescore!.query) }
        let fullCtx = try fullQuery.map { try QueryContext(searcher: self, query: $0) }
        let k = inlineGain != nil ? spec.offset + spec.limit : max(spec.offset + spec.limit, rescore.map { $0.window } ?? 0)
        let accumulators = spec.facets.map { FacetAccumulator(spec: $0, searcher: self, deadline: deadline, keepsValues: cache != nil) }
        let sideways = sidewaysPlan(spec)
        let filters = sideways.filters, baseOnly = sideways.baseOnly, sidewaysFields = sideways.fields
        let facetBit = sideways.facetBit

        let topk = TopKCollector(k: k, tracking: exhaustive ? .exact : spec.trackTotalHits,
                                 rankK: inlineGain == nil && rescore?.maxGain != nil ? spec.offset + spec.limit : nil,
                                 slack: inlineGain == nil ? rescore?.maxGain ?? 0 : 0, rescoreGain: inlineGain)
        topk.deadline = deadline
        topk.disjunction = spec.disjunction
        // Without filters, the statistics may already vouch for enough matches: nothing to count.
        if !exhaustive && filters.isEmpty { topk.assumeMatches(matchLowerBound(q, ctx: ctx)) }
        if additive, let bonus = rescore?.bonus {
            topk.bonusNeedsTwoClauses = q.bonusNeedsTwoClauses(bonus)
            if let needs = q.bonusClauseNeeds(bonus) { (topk.bonusClauseOf, topk.bonusNeeds) = needs }
        }
        var fieldSort: FieldSortCollector?
        if case .field(_, let desc) = spec.sort {
            var after: (Double?, String)?
            if case .field(let v, let id)? = spec.searchAfter { after = (v, id) }
            fieldSort = FieldSortCollector(k: k, descending: desc, searcher: self, after: after)
        }
        var relevanceAfter: (score: Float, doc: Int)?
        if case .relevance(let s, let d)? = spec.searchAfter { relevanceAfter = (s, d) }
        var total = 0
        let keys = cache.map { _ in
            SegmentFacetCache.Keys(query: q, filters: filters, sideways: sidewaysFields, baseOnly: baseOnly, facets: spec.facets)
        }
        let mergedKey = keys?.merged(segments)
        let merged = mergedKey.flatMap { cache?.getMerged($0) }
        if let merged { total = merged.total }
        // With counts from the cache, relevance-ordered hits need only the best k (pruned).
        let rankedWhenCounted = fieldSort == nil && relevanceAfter == nil && !boosted
        // A field sort takes each segment's best hits; the cache keeps them for the next page.
        var sortField: Int?
        if case .field(let f, _) = spec.sort { sortField = f }
        let sortDepth = max(k, SegmentFacetCache.sortedDepth)

        let sidewaysSet = Set(sidewaysFields)
        var fullScorers: [(segment: Int, scorer: Scorer)] = []
        for si in segments.indices {
            try deadline?.throwIfExpired()
            let seg = segments[si]
            topk.base = bases[si]
            guard let plan = try filterPlan(filters, segment: si, sideways: sidewaysSet, baseOnly: baseOnly) else { continue }
            var textScorer: Scorer?
            let matchAll: Bool
            let share = fullQuery != nil ? CursorShare() : nil
            if case .matchAll = q { matchAll = true } else {
                matchAll = false
                textScorer = try makeScorer(q, segment: si, ctx: ctx, share: share)
                if textScorer == nil { continue }
            }
            if let fq = fullQuery, let fc = fullCtx {
                // Phrases of the second query read positions from the first query's cursors when
                // these stand on the document being rescored (no second decoding of its blocks).
                let f = try makeScorer(fq, segment: si, ctx: fc, share: share)
                if let f { fullScorers.append((si, f)) }
                if additive {
                    topk.setRescorer { doc, first, beat in first + (f?.bonus(at: doc, first: first, beat: beat) ?? 0) }
                } else {
                    topk.setRescorer { doc, _, _ in f?.score(at: doc) }
                }
            }
            defer { topk.setRescorer(nil) }

            if !exhaustive {
                try runRanked(textScorer, plan: plan, segment: si, collector: topk)
                continue
            }

            let cacheKey = keys?.counts(seg)
            var counting = merged == nil
            if counting {
                for a in accumulators { try a.beginSegment(seg, index: si) }
                if let key = cacheKey, let c = cache?.get(key), c.parts.count == accumulators.count {
                    for (a, p) in zip(accumulators, c.parts) { a.replay(p) }
                    total += c.total
                    for a in accumulators { try a.endSegment(seg) }
                    counting = false
                }
            }
            if !counting && rankedWhenCounted {
                // Hits must pass every filter, the sideways ones included.
                guard let all = try filterPlan(filters, segment: si, sideways: [], baseOnly: baseOnly) else { continue }
                topk.setTracking(.upTo(0))
                defer { topk.setTracking(.exact) }
                try runRanked(textScorer, plan: all, segment: si, collector: topk)
                continue
            }
            var sortedKey: SegmentFacetCache.SortedKey?
            if let keys, let ck = cacheKey, let fs = fieldSort, let f = sortField, spec.searchAfter == nil {
                sortedKey = keys.sorted(seg, counts: ck, field: f, descending: fs.descending, idOrder: docOrderIsIdOrder)
            }
            if !counting, let sk = sortedKey, let list = cache?.getSorted(sk), list.complete || list.depth >= k {
                list.replay(into: fieldSort!, base: bases[si])
                continue
            }
            // Counting from the segment's cached matches (no postings to intersect) serves pages
            // whose hits come from a field sort or from the pruned path.
            let mkey = counting ? keys?.matches(seg) : nil
            let cachedMatches = mkey.flatMap { k in fieldSort != nil || rankedWhenCounted ? cache?.getMatches(k) : nil }
            // The segment's best hits by the field, when the cache is to keep them.
            let segmentSort = sortedKey.map { _ in FieldSortCollector(k: sortDepth, descending: fieldSort!.descending, searcher: self, after: nil) }
            let totalBefore = total
            // Exhaustive: every document of query ∧ base filters; sideways filters decide which
            // facets count it (unless the counts came from the cache).
            let sidewaysRefs: [DocPredicate] = sidewaysFields.map { plan.sideways[$0] ?? NeverPredicate() }
            let sideways = sidewaysRefs.map { Unmanaged.passUnretained($0) }
            let predicates = plan.predicates.map { Unmanaged.passUnretained($0) }
            let nSide = sideways.count
            let sortColumn: NumericColumn? = sortField.flatMap { seg.docValues.numeric[$0] }
            let sortValues = sortColumn?.unretained
            let sortInto = segmentSort ?? fieldSort
            let base = bases[si]
            let accs = counting ? accumulators.map { Unmanaged.passUnretained($0) } : []
            let boostColumns: [Int: NumericColumn] = boosted
                ? Dictionary(spec.boosts.compactMap { b in seg.docValues.numeric[b.field].map { (b.field, $0) } }, uniquingKeysWith: { a, _ in a }) : [:]
            @inline(__always) func boost(_ doc: UInt32) -> Float {
                ScoreBoost.total(spec.boosts) { f in boostColumns[f]?.value(Int(doc)) }
            }
            var hasPredicates = !plan.predicates.isEmpty
            // The matches of query ∧ base filters, kept for the cache while they are visited.
            var matchDocs: [UInt32]? = mkey != nil && cachedMatches == nil ? [] : nil
            var collectRelevance = true
            // One match: base predicates, sideways mask, facets, hits.
            func visit(_ doc: UInt32, _ score: () -> Float?) {
                if hasPredicates {
                    for p in predicates where !p._withUnsafeGuaranteedRef({ $0.matches(doc) }) { return }
                }
                matchDocs?.append(doc)
                var failed = 0
                var failedBit = -1
                if nSide > 0 {
                    for b in 0..<nSide where !sideways[b]._withUnsafeGuaranteedRef({ $0.matches(doc) }) {
                        failed += 1
                        failedBit = b
                        if failed > 1 { return }
                    }
                }
                if failed == 0 {
                    if counting { total += 1 }
                    if let fs = sortInto {
                        fs.collect(doc: base + Int(doc), value: sortValues.flatMap { $0.value(Int(doc)) })
                    } else if collectRelevance, var sc = score() {
                        if boosted { sc += boost(doc) }
                        // Deep paging: only hits after the previous page's last one enter the heap.
                        if let after = relevanceAfter, !(sc < after.score || (sc == after.score && base + Int(doc) > after.doc)) {
                        } else {
                            topk.collect(doc, sc)
                        }
                    }
                    for a in accs { a._withUnsafeGuaranteedRef { $0.count(doc) } }
                } else {
                    for (i, a) in accs.enumerated() where facetBit[i] == failedBit { a._withUnsafeGuaranteedRef { $0.count(doc) } }
                }
            }
            /// Hands the segment's best hits on, folds its counts in, and keeps both in the cache
            /// when they are complete.
            func endSegment() throws {
                let complete = !(deadline?.expired ?? false)
                if let ss = segmentSort, let fs = fieldSort {
                    let list = SegmentFacetCache.SortedList(ss.sorted(), base: base, depth: sortDepth, matches: ss.totalHits)
                    list.replay(into: fs, base: base)
                    if complete, let sk = sortedKey { cache?.putSorted(sk, list) }
                }
                guard counting else { return }
                if let cache, let key = mkey, let docs = matchDocs, complete { cache.putMatches(key, docs) }
                if let cache, let key = cacheKey, complete {
                    let parts = accumulators.compactMap { $0.segmentPart() }
                    if parts.count == accumulators.count { cache.put(key, total: total - totalBefore, parts: parts) }
                }
                for a in accumulators { try a.endSegment(seg) }
            }
            if let docs = cachedMatches {
                hasPredicates = false
                collectRelevance = false
                withExtendedLifetime((accumulators, sidewaysRefs, plan, sortColumn)) {
                    for (i, d) in docs.enumerated() {
                        if i & 1023 == 1023, deadline.tick() { break }
                        visit(d) { nil }
                    }
                }
                if let e = plan.corruption { throw IndexError.corrupt(file: seg.meta.id, reason: e) }
                try endSegment()
                if fieldSort == nil {
                    // rankedWhenCounted: the page's hits from the pruned path over every filter.
                    guard let all = try filterPlan(filters, segment: si, sideways: [], baseOnly: baseOnly) else { continue }
                    topk.setTracking(.upTo(0))
                    defer { topk.setTracking(.exact) }
                    try runRanked(textScorer, plan: all, segment: si, collector: topk)
                }
                continue
            }
            var terms: [TermScorer]?
            var excluded: [Scorer] = []
            if let t = textScorer, case .conjunction(let ts, let ex) = ScoringPlan.choose(t) {
                terms = ts
                excluded = ex
            }
            if matchAll && !plan.cursors.isEmpty { terms = [] }
            if let terms {
                // Scores are needed only for relevance order, and only for documents that can enter the heap.
                let needScores = fieldSort == nil
                withExtendedLifetime((accumulators, sidewaysRefs, plan, sortColumn)) {
                    BulkScorers.visitConjunction(terms, filters: plan.cursors, excluded: excluded, deadline: deadline,
                                                 minCompetitive: { needScores ? (relevanceAfter == nil && !boosted ? topk.minCompetitive : -Float.infinity) : Float.infinity }) { doc, score in
                        visit(doc) { score }
                    }
                }
                if let e = (textScorer?.corruption) ?? plan.corruption { throw IndexError.corrupt(file: seg.meta.id, reason: e) }
                try endSegment()
                continue
            }
            let driver = try driverScorer(textScorer, matchAll: matchAll, plan: plan, segment: si)
            let d = Unmanaged.passUnretained(driver)
            withExtendedLifetime((accumulators, sidewaysRefs, plan, driver, sortColumn)) {
                while d._withUnsafeGuaranteedRef({ $0.nextDoc() }) != Scorer.noMoreDocs {
                    if deadline.tick() { break }
                    visit(d._withUnsafeGuaranteedRef { $0.doc }) { d._withUnsafeGuaranteedRef { $0.score() } }
                }
            }
            if let e = driver.corruption ?? plan.corruption { throw IndexError.corrupt(file: seg.meta.id, reason: e) }
            try endSegment()
        }

        for (si, f) in fullScorers { if let e = f.corruption { throw IndexError.corrupt(file: segments[si].meta.id, reason: e) } }
        let facets = merged?.facets ?? accumulators.map { $0.result() }
        if merged == nil, let key = mergedKey, !(deadline?.expired ?? false) {
            cache?.putMerged(key, total: total, facets: facets)
        }
        let hits = try finish(spec, topk: topk, fieldSort: fieldSort, rescore: inlineGain == nil ? rescore : nil, boosted: boosted)
        if !exhaustive { total = topk.reportedTotal }
        return SearchOutcome(hits: hits, totalHits: total, totalIsExact: exhaustive || !topk.pruned, facets: facets)
    }

    /// Which filters narrow only some facets (multi-select facets, drill sideways).
    struct SidewaysPlan {
        /// The spec's filters, plus the roots of hierarchy paths kept as base filters.
        var filters: [Filter]
        /// Indexes of filters that are never sideways.
        var baseOnly: Set<Int>
        /// Fields of sideways filters that are faceted, in bit order.
        var fields: [Int]
        /// Per facet, the bit of its field's sideways filter (nil: none).
        var facetBit: [Int?]
    }

    /// Facets that share a field share a sideways bit. A path filter on a field whose facets are
    /// all hierarchy facets under the same root: those facets only report counts under that root,
    /// so the root stays a base filter and only the rest of the path is sideways (a one-level path
    /// is not sideways at all).
    func sidewaysPlan(_ spec: SearchSpec) -> SidewaysPlan {
        if !spec.multiSelect {
            return SidewaysPlan(filters: spec.filters, baseOnly: [], fields: [], facetBit: spec.facets.map { _ in nil })
        }
        let facetFields = Set(spec.facets.map { $0.field })
        func root(_ path: String, _ field: Int) -> String? {
            guard let sep = layout.hierarchy[field] else { return nil }
            return path.components(separatedBy: String(decoding: sep, as: UTF8.self))[0].trimmingSpaces()
        }
        var filters = spec.filters
        var baseOnly = Set<Int>()
        for (i, f) in spec.filters.enumerated() where facetFields.contains(f.field) {
            guard case .path(let p) = f.kind, let r = root(p, f.field) else { continue }
            let sameRoot = spec.facets.allSatisfy { facet in
                guard facet.field == f.field else { return true }
                if case .hierarchy(let fp?, _) = facet.kind { return root(fp, f.field) == r }
                return false
            }
            guard sameRoot else { continue }
            if r == p.trimmingSpaces() {
                baseOnly.insert(i)
            } else {
                filters.append(Filter(field: f.field, kind: .path(r)))
                baseOnly.insert(filters.count - 1)
            }
        }
        let fields = Array(Set(filters.indices.filter { !baseOnly.contains($0) }.map { filters[$0].field })
            .intersection(facetFields)).sorted()
        let bitOf = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1, $0) })
        return SidewaysPlan(filters: filters, baseOnly: baseOnly, fields: fields, facetBit: spec.facets.map { bitOf[$0.field] })
    }

    /// The page: from the field-sort heap, or the relevance heap (within the rescore slack, then
    /// rescored), cut to `offset ..< offset + limit`.
    func finish(_ spec: SearchSpec, topk: TopKCollector, fieldSort: FieldSortCollector?, rescore: Rescore?,
                boosted: Bool) throws -> [SearchHitResult] {
        try spec.deadline?.throwIfExpired()
        var hits: [SearchHitResult]
        if let fs = fieldSort {
            hits = fs.sorted().map { SearchHitResult(doc: $0.doc, score: 0, sortValue: $0.value) }
        } else {
            hits = (rescore?.maxGain != nil ? topk.sortedHitsWithinSlack() : topk.sortedHits())
                .map { SearchHitResult(doc: $0.doc, score: $0.score, sortValue: nil) }
            if let rescore {
                hits = try self.rescore(Array(hits.prefix(rescore.window)), with: rescore.query, boosts: boosted ? spec.boosts : [])
            }
        }
        return spec.offset < hits.count ? Array(hits[spec.offset...].prefix(spec.limit)) : []
    }

    /// Scores `hits` with `query` (plus numeric boosts), drops those it does not match, and orders
    /// them by the new score (ties: doc order).
    func rescore(_ hits: [SearchHitResult], with query: Query, boosts: [ScoreBoost]) throws -> [SearchHitResult] {
        guard !hits.isEmpty else { return hits }
        let q = try rewrite(query)
        let ctx = try QueryContext(searcher: self, query: q)
        var bySegment: [Int: [Int]] = [:]
        for h in hits {
            guard let (s, l) = locate(h.doc) else { continue }
            bySegment[s, default: []].append(l)
        }
        var out: [SearchHitResult] = []
        out.reserveCapacity(hits.count)
        for (si, locals) in bySegment {
            guard let scorer = try makeScorer(q, segment: si, ctx: ctx) else { continue }
            let seg = segments[si]
            for l in locals.sorted() {
                guard var sc = scorer.score(at: UInt32(l)) else { continue }
                if !boosts.isEmpty { sc += ScoreBoost.total(boosts) { f in seg.docValues.numeric[f]?.value(l) } }
                out.append(SearchHitResult(doc: bases[si] + l, score: sc, sortValue: nil))
            }
            if let e = scorer.corruption { throw IndexError.corrupt(file: seg.meta.id, reason: e) }
        }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.doc < $1.doc) }
        return out
    }

    /// Checks fields and kinds: clear errors instead of empty results.
    func validate(_ spec: SearchSpec) throws {
        let fields = meta.schema.fields
        func field(_ f: Int) throws -> FieldDefinition {
            guard f >= 0 && f < fields.count else { throw IndexError.invalidQuery("no field with ordinal \(f)") }
            return fields[f]
        }
        for flt in spec.filters { try validate(flt) }
        for b in spec.boosts {
            let def = try field(b.field)
            guard def.type == .numeric || def.type == .boolean, layout.numericColumns.contains(b.field) else {
                throw IndexError.invalidQuery("cannot boost by \(def.name): only numeric and boolean fields with doc values boost")
            }
            guard b.weight.isFinite, b.missing.isFinite else {
                throw IndexError.invalidQuery("boost by \(def.name): weight and missing must be finite numbers")
            }
        }
        for f in spec.facets {
            let def = try field(f.field)
            switch f.kind {
            case .terms:
                guard def.isKeywordIndexed else { throw IndexError.invalidQuery("field \(def.name) is not a keyword field; it has no terms facet") }
            case .hierarchy:
                guard layout.hierarchy[f.field] != nil, layout.ordinalColumns.contains(f.field) else {
                    throw IndexError.invalidQuery("field \(def.name) is not a hierarchy with doc values")
                }
            case .ranges:
                guard def.type == .numeric, layout.numericColumns.contains(f.field) else {
                    throw IndexError.invalidQuery("field \(def.name) is not a numeric field with doc values; it has no range facet")
                }
            }
        }
        if case .field(let f, _) = spec.sort {
            let def = try field(f)
            guard (def.type == .numeric || def.type == .boolean), layout.numericColumns.contains(f) else {
                throw IndexError.invalidQuery("cannot sort by \(def.name): only numeric fields with doc values sort")
            }
        }
    }

    /// Checks a filter's kind against its field (`Query.filter` clauses and the boolean, bounds,
    /// exists and ids filters of a spec).
    func validate(_ flt: Filter) throws {
        let fields = meta.schema.fields
        guard flt.field >= 0 && flt.field < fields.count else { throw IndexError.invalidQuery("no field with ordinal \(flt.field)") }
        let def = fields[flt.field]
        switch flt.kind {
        case .anyOf:
            guard def.isKeywordIndexed else { throw IndexError.invalidQuery("field \(def.name) is not a keyword field; it cannot filter on values") }
        case .path:
            guard layout.hierarchy[flt.field] != nil else { throw IndexError.invalidQuery("field \(def.name) has no hierarchy") }
        case .range(let lo, let hi):
            try validate(NumericBounds(min: lo, max: hi), def)
        case .bounds(let b):
            try validate(b, def)
        case .equals:
            guard def.type == .boolean else { throw IndexError.invalidQuery("field \(def.name) is not boolean") }
        case .exists, .ids:
            break
        }
    }

    private func validate(_ b: NumericBounds, _ def: FieldDefinition) throws {
        guard def.type == .numeric else { throw IndexError.invalidQuery("field \(def.name) is not numeric; it cannot filter on a range") }
        if let lo = b.min, let hi = b.max, lo > hi { throw IndexError.invalidQuery("range on \(def.name): minimum \(lo) is above maximum \(hi)") }
        if b.min.map({ !$0.isFinite }) == true || b.max.map({ !$0.isFinite }) == true {
            throw IndexError.invalidQuery("range on \(def.name): bounds must be finite numbers")
        }
    }

    /// Filters compiled for one segment.
    struct FilterPlan {
        /// Postings that every match must be in (single values, hierarchy paths): joined to the intersection.
        var cursors: [PostingsCursor] = []
        /// Checks on candidates.
        var predicates: [DocPredicate] = []
        /// Filters on faceted fields, by field: they narrow the hits but not their own facet.
        var sideways: [Int: DocPredicate] = [:]

        var corruption: String? {
            cursors.lazy.compactMap { $0.corruption }.first ?? predicates.lazy.compactMap { $0.corruption }.first
                ?? sideways.values.lazy.compactMap { $0.corruption }.first
        }
    }

    /// nil when no document of the segment can pass the (non-sideways) filters.
    func filterPlan(_ filters: [Filter], segment si: Int, sideways: Set<Int>, baseOnly: Set<Int> = []) throws -> FilterPlan? {
        let seg = segments[si]
        var plan = FilterPlan()
        if let d = seg.deleted {
            if d.count >= seg.docCount { return nil }
            plan.predicates.append(LiveDocsPredicate(d))
        }
        var sidewaysParts: [Int: [DocPredicate]] = [:]
        for (fi, f) in filters.enumerated() {
            let isSide = sideways.contains(f.field) && !baseOnly.contains(fi)
            // One value or one path that every match must have: its postings join the intersection
            // (the fast path). Anything else, and every sideways filter, is a per-document check.
            var single: String?
            if !isSide {
                switch f.kind {
                case .anyOf(let values) where values.count == 1: single = values[0]
                case .path(let p): single = p
                default: break
                }
            }
            var predicate: DocPredicate?
            var cursor: PostingsCursor?
            var never = false
            if let single {
                if let slot = layout.keywordSlotOfField[f.field], let info = try seg.termInfo(slot: slot, term: Array(single.utf8)) {
                    cursor = try seg.postings(info, text: false)
                } else { never = true }
            } else if let p = try filterPredicate(f, segment: si) {
                predicate = p
            } else { never = true }
            if isSide {
                sidewaysParts[f.field, default: []].append(never ? NeverPredicate() : predicate!)
            } else {
                if never { return nil }
                if let cursor { plan.cursors.append(cursor) }
                if let predicate { plan.predicates.append(predicate) }
            }
        }
        for (f, parts) in sidewaysParts { plan.sideways[f] = parts.count == 1 ? parts[0] : AllPredicate(parts) }
        return plan
    }

    /// Every document of the query and the filter postings, in order.
    func driverScorer(_ text: Scorer?, matchAll: Bool, plan: FilterPlan, segment si: Int) throws -> Scorer {
        let filterScorers: [Scorer] = plan.cursors.map { KeywordScorer(cursor: $0, label: "filter") }
        var parts = filterScorers
        if let text { parts.append(text) }
        if parts.isEmpty { return AllDocsScorer(maxDoc: segments[si].docCount) }
        return parts.count == 1 ? parts[0] : ConjunctionScorer(parts)
    }

    /// Top k by relevance with pruning; filters joined to the fast paths where possible.
    func runRanked(_ text: Scorer?, plan: FilterPlan, segment si: Int, collector: TopKCollector) throws {
        if let text {
            if ScoringPlan.choose(text).runRanked(filters: plan.cursors, predicates: plan.predicates, collector: collector) {
                return try check(text, plan, si)
            }
        } else if !plan.cursors.isEmpty {
            // Browsing with filter postings only.
            BulkScorers.conjunction([], filters: plan.cursors, predicates: plan.predicates, excluded: [], collector: collector)
            if let e = plan.corruption { throw IndexError.corrupt(file: segments[si].meta.id, reason: e) }
            return
        }
        let driver = try driverScorer(text, matchAll: text == nil, plan: plan, segment: si)
        let bound = driver.maxScore
        let deadline = collector.deadline
        while driver.nextDoc() != Scorer.noMoreDocs {
            if deadline.tick() { break }
            if collector.canPrune && bound <= collector.threshold {
                collector.markPruned()
                break
            }
            let doc = driver.doc
            if !plan.predicates.isEmpty && plan.predicates.contains(where: { !$0.matches(doc) }) { continue }
            collector.collect(doc, driver.score())
        }
        if let e = driver.corruption ?? plan.corruption { throw IndexError.corrupt(file: segments[si].meta.id, reason: e) }
    }

    private func check(_ s: Scorer, _ plan: FilterPlan, _ si: Int) throws {
        if let e = s.corruption ?? plan.corruption { throw IndexError.corrupt(file: segments[si].meta.id, reason: e) }
    }
}

extension Searcher {
    /// How `boosts` add to global doc `doc`'s score: one detail per boost.
    public func explainBoosts(_ boosts: [ScoreBoost], doc: Int) -> Explanation? {
        guard !boosts.isEmpty, let (s, l) = locate(doc) else { return nil }
        let seg = segments[s]
        let names = meta.schema.fields
        let details = boosts.map { b -> Explanation in
            let v = seg.docValues.numeric[b.field]?.value(l)
            let name = b.field < names.count ? names[b.field].name : "#\(b.field)"
            return Explanation(value: Float(b.contribution(v)),
                               description: "boost \(name) = \(v.map { "\($0)" } ?? "missing (\(b.missing))"): \(b.weight) · \(b.modifier.rawValue)")
        }
        return Explanation(value: ScoreBoost.total(boosts) { f in seg.docValues.numeric[f]?.value(l) },
                           description: "numeric boosts", details: details)
    }

    /// A document's doc values as displayable values: keyword columns by value, numbers, booleans.
    /// `named`: only the columns of these fields (nil: every column).
    public func docValueFields(of doc: Int, named: Set<String>? = nil) throws -> [(name: String, value: StoredValue)] {
        guard let (s, l) = locate(doc) else { throw IndexError.invalidQuery("document \(doc) out of range") }
        let seg = segments[s]
        var out: [(name: String, value: StoredValue)] = []
        let fields = meta.schema.fields
        @inline(__always) func wanted(_ f: Int) -> Bool { f < fields.count && (named?.contains(fields[f].name) ?? true) }
        for (f, col) in seg.docValues.ordinals.sorted(by: { $0.key < $1.key }) where wanted(f) {
            var values: [StoredValue] = []
            var err: Error?
            col.forEachOrd(l) { o in
                do { values.append(.string(try col.dictionary.string(o))) } catch { err = error }
            }
            if let err { throw err }
            if values.count == 1 { out.append((fields[f].name, values[0])) } else if values.count > 1 { out.append((fields[f].name, .list(values))) }
        }
        for (f, col) in seg.docValues.numeric.sorted(by: { $0.key < $1.key }) where wanted(f) {
            guard let v = col.value(l) else { continue }
            if fields[f].type == .boolean {
                out.append((fields[f].name, .bool(v != 0)))
            } else {
                out.append((fields[f].name, v == v.rounded() && abs(v) < 1e15 ? .int(Int64(v)) : .double(v)))
            }
        }
        return out
    }
}

extension Query {
    /// For a disjunction of clauses (terms, or groups of alternative terms, as MaxScore runs it):
    /// the clauses each term is in. Nil for any other shape.
    func wordClauses() -> [TermKey: Set<Int>]? {
        guard case .boolean(let b) = self, b.must.isEmpty, b.minimumShouldMatch <= 1, b.should.count >= 2 else { return nil }
        var clausesOf: [TermKey: Set<Int>] = [:]
        for (g, c) in b.should.enumerated() {
            let terms: [Query]
            if case .disMax(let d) = c { terms = d.clauses } else { terms = [c] }
            for t in terms {
                guard case .term(let tq) = t else { return nil }
                clausesOf[TermKey(slot: tq.slot, term: tq.term), default: []].insert(g)
            }
        }
        return clausesOf
    }

    /// For a disjunction of clauses (terms, or groups of alternative terms, as MaxScore runs it) and
    /// its bonuses (fixed scores, `Rescore.bonus`): the clause of each term that belongs to exactly
    /// one clause, and per bonus its score and the clauses (bit i: clause i, the first 64) every
    /// document it matches must match. A document matching only the clauses of a set S can gain
    /// at most the bonuses whose clauses lie in S (`TopKCollector.bonusNeeds`). Nil when this query
    /// is not such a disjunction or the bonuses are not fixed scores.
    func bonusClauseNeeds(_ bonus: Query) -> (clauseOf: [TermKey: Int], bonuses: [(mask: UInt64, value: Float)])? {
        guard let clausesOf = wordClauses() else { return nil }
        var clauseOf: [TermKey: Int] = [:]
        for (k, gs) in clausesOf where gs.count == 1 && gs.first! < 64 { clauseOf[k] = gs.first! }
        // The clauses every match of `q` matches (as a bit set; fewer is always safe).
        func needs(_ q: Query) -> UInt64 {
            switch q {
            case .term(let t):
                // A word pair (`PairTerms`) needs what the phrase of its two words needs.
                if let (a, b) = PairTerms.words(t.term) {
                    return needs(.phrase(PhraseQuery(slot: t.slot, terms: [a, b], fields: t.fields)))
                }
                return clauseOf[TermKey(slot: t.slot, term: t.term)].map { 1 << UInt64($0) } ?? 0
            case .phrase(let p):
                var m: UInt64 = 0
                for t in p.terms { if let g = clauseOf[TermKey(slot: p.slot, term: t)] { m |= 1 << UInt64(g) } }
                return m
            case .disMax(let d): return d.clauses.isEmpty ? 0 : d.clauses.reduce(UInt64.max) { $0 & needs($1) }
            case .constant(let c): return needs(c.query)
            case .boolean(let x):
                var m: UInt64 = 0
                for c in x.must { m |= needs(c) }
                if x.must.isEmpty && !x.should.isEmpty { m = x.should.reduce(UInt64.max) { $0 & needs($1) } }
                return m
            default: return 0
            }
        }
        let parts: [Query]
        switch bonus {
        case .constant: parts = [bonus]
        case .boolean(let x) where x.must.isEmpty && x.mustNot.isEmpty && x.minimumShouldMatch <= 1: parts = x.should
        default: return nil
        }
        var bonuses: [(mask: UInt64, value: Float)] = []
        for p in parts {
            guard case .constant(let c) = p, c.score >= 0 else { return nil }
            bonuses.append((needs(p), c.score))
        }
        return (clauseOf, bonuses)
    }

    /// Whether every document a bonus of `bonus` (fixed scores, `Rescore.bonus`) matches also
    /// matches two different clauses of this query (a disjunction of terms, or of groups of
    /// alternative terms, as the MaxScore loop runs it): true when every bonus is a phrase with
    /// two terms that each belong to exactly one clause, different ones. A document matching one
    /// clause only then cannot gain a bonus, and MaxScore may skip it against the unlowered
    /// threshold (`TopKCollector.bonusNeedsTwoClauses`).
    func bonusNeedsTwoClauses(_ bonus: Query) -> Bool {
        guard let clausesOf = wordClauses() else { return false }
        func check(_ q: Query) -> Bool {
            switch q {
            case .constant(let c): return check(c.query)
            case .disMax(let d): return d.clauses.allSatisfy(check)
            case .boolean(let x): return x.must.isEmpty && x.mustNot.isEmpty && !x.should.isEmpty && x.should.allSatisfy(check)
            case .term(let t):
                // A word pair (`PairTerms`) matches where the phrase of its two words does.
                guard let (a, b) = PairTerms.words(t.term) else { return false }
                return check(.phrase(PhraseQuery(slot: t.slot, terms: [a, b], fields: t.fields)))
            case .phrase(let p):
                var single: Set<Int> = []
                for t in p.terms {
                    if let gs = clausesOf[TermKey(slot: p.slot, term: t)], gs.count == 1 { single.insert(gs.first!) }
                }
                return single.count >= 2
            default:
                return false
            }
        }
        return check(bonus)
    }
}
