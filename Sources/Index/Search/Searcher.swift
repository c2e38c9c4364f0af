/// A point-in-time view of an index: its segments, statistics and schema. Immutable and safe to
/// share between threads; each search builds its own cursors.
public final class Searcher: @unchecked Sendable {
    public let directory: String
    public let meta: IndexMeta
    public let layout: SchemaLayout
    public let segments: [SegmentReader]
    /// Global doc number of each segment's first document.
    public let bases: [Int]
    public let stats: BM25Statistics
    /// K tables per text field, owned by the searcher.
    private let kTables: [UnsafeMutablePointer<Float>]
    /// Facet ordinal maps, built on first use.
    let ordinalMaps: OrdinalMapCache
    /// Every segment's ids are sorted and each segment's ids come after the previous one's, so doc
    /// order is id order (as when a catalog is loaded in id order).
    let docOrderIsIdOrder: Bool

    /// Opens the newest commit of the index in `directory`. With `verifyChecksums` every file's
    /// checksum is checked first (corruption is reported naming the file).
    /// A path with generations (`CURRENT`) opens its current generation.
    public static func open(directory root: String, verifyChecksums: Bool = true) throws -> Searcher {
        let directory = IndexGenerations.resolve(root)
        let meta = try IndexMeta.readLatest(directory: directory)
        return try Searcher(directory: directory, meta: meta, verifyChecksums: verifyChecksums)
    }

    public convenience init(directory: String, meta: IndexMeta, verifyChecksums: Bool) throws {
        let layout = try SchemaLayout(meta.schema)
        let readers = try meta.segments.map {
            try SegmentReader(directory: directory, meta: $0, textFieldCount: layout.textFields.count, verify: verifyChecksums)
        }
        try self.init(directory: directory, meta: meta, layout: layout, readers: readers)
    }

    /// A searcher over segments that are already open (a new snapshot reuses the readers of the
    /// segments it shares with the previous one).
    /// `sharing` passes the facet ordinal maps of a previous snapshot over the same segments (keyword
    /// columns do not change with tombstones and numeric updates).
    init(directory: String, meta: IndexMeta, layout: SchemaLayout, readers: [SegmentReader], sharing previous: Searcher? = nil) throws {
        if let p = previous, p.segments.map({ $0.meta.id }) == readers.map({ $0.meta.id }),
           p.layout.schema.fields.count == layout.schema.fields.count {
            ordinalMaps = p.ordinalMaps
        } else {
            ordinalMaps = OrdinalMapCache()
        }
        self.directory = directory
        self.meta = meta
        self.layout = layout
        segments = readers
        var b: [Int] = []
        var total = 0
        for s in segments {
            b.append(total)
            total += s.docCount
        }
        bases = b
        var ordered = segments.allSatisfy { $0.meta.idsSorted }
        if ordered {
            var previous: [UInt8]?
            for s in segments where s.docCount > 0 {
                let first = Array(try s.ids.id(0).utf8), last = Array(try s.ids.id(s.docCount - 1).utf8)
                if let p = previous, !p.lexicographicallyPrecedes(first) { ordered = false; break }
                previous = last
            }
        }
        docOrderIsIdOrder = ordered
        var fs = Array(repeating: FieldStats(), count: layout.textFields.count)
        for s in meta.segments {
            for (i, st) in s.textFieldStats.enumerated() where i < fs.count {
                fs[i].sumLength &+= st.sumLength   // checked against the segments' sizes when they open
                fs[i].docCount &+= st.docCount
            }
        }
        stats = BM25Statistics(parameters: meta.schema.bm25Parameters, docCount: total, fieldStats: fs)
        kTables = stats.kTables.map { t in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: 256)
            p.initialize(from: t, count: 256)
            return p
        }
    }

    deinit { for p in kTables { p.deallocate() } }

    /// Document slots over all segments (deleted documents included until a merge drops them; BM25's N).
    public var docCount: Int { stats.docCount }
    /// Documents that can be found (not deleted).
    public var liveDocCount: Int { segments.reduce(0) { $0 + $1.liveDocCount } }
    public var schema: Schema { meta.schema }

    /// Segment and local doc of a global doc number.
    public func locate(_ doc: Int) -> (segment: Int, local: Int)? {
        guard doc >= 0 && doc < docCount else { return nil }
        var lo = 0, hi = bases.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if bases[mid] <= doc { lo = mid } else { hi = mid - 1 }
        }
        return (lo, doc - bases[lo])
    }

    /// The id of a document.
    public func id(of doc: Int) throws -> String {
        guard let (s, l) = locate(doc) else { throw IndexError.invalidQuery("document \(doc) out of range") }
        return try segments[s].ids.id(l)
    }

    /// The stored values of a document, by field name.
    /// `named`: only the stored fields with these names (nil: all).
    public func storedFields(of doc: Int, named: Set<String>? = nil) throws -> [(name: String, value: StoredValue)] {
        guard let (s, l) = locate(doc) else { throw IndexError.invalidQuery("document \(doc) out of range") }
        let fields = meta.schema.fields
        let only = named.map { n in Set(fields.indices.filter { n.contains(fields[$0].name) }) }
        return try segments[s].stored.document(l, only: only).map { f, v in
            (f < fields.count ? fields[f].name : "field\(f)", v)
        }
    }

    /// Every live document's stored value of `field` (global doc, value), segment by segment,
    /// each stored block read once.
    public func forEachStored(field: Int, _ body: (Int, StoredValue) throws -> Void) throws {
        for (si, seg) in segments.enumerated() {
            let base = bases[si]
            try seg.stored.forEach(field: field) { d, v in
                if let v, seg.isLive(d) { try body(base + d, v) }
            }
        }
    }

    /// The global doc of a document id.
    public func doc(forId id: String) throws -> Int? {
        guard let slot = layout.keywordSlotOfField[layout.idOrdinal] else { return nil }
        for (i, s) in segments.enumerated().reversed() {
            if let d = try s.doc(forId: id, idSlot: slot) { return bases[i] + d }
        }
        return nil
    }

    // MARK: - Searching

    /// Runs `query` and returns hits `offset ..< offset + limit`, best first (ties: lower doc first).
    public func search(_ query: Query, limit: Int, offset: Int = 0,
                       trackTotalHits: TotalHitsTracking = .upTo(10_000), deadline: SearchDeadline? = nil,
                       disjunction: DisjunctionAlgorithm = .auto) throws -> TopDocs {
        guard limit >= 0, offset >= 0, limit <= Int.max / 2 - offset else { throw IndexError.invalidQuery("limit and offset must not be negative") }
        let q = try rewrite(query)
        let ctx = try QueryContext(searcher: self, query: q)
        let collector = TopKCollector(k: offset + limit, tracking: trackTotalHits)
        collector.deadline = deadline
        collector.disjunction = disjunction
        collector.assumeMatches(matchLowerBound(q, ctx: ctx))
        for si in segments.indices {
            try deadline?.throwIfExpired()
            collector.base = bases[si]
            guard let scorer = try makeScorer(q, segment: si, ctx: ctx) else { continue }
            try run(scorer, collector: collector, predicates: segments[si].deleted.map { [LiveDocsPredicate($0)] } ?? [])
            if let e = scorer.corruption { throw IndexError.corrupt(file: segments[si].meta.id, reason: e) }
        }
        try deadline?.throwIfExpired()
        let all = collector.sortedHits()
        let page = offset < all.count ? Array(all[offset...]) : []
        return TopDocs(hits: page, totalHits: collector.reportedTotal, totalIsExact: !collector.pruned)
    }

    /// A number of live documents `query` surely matches, from the dictionary's statistics alone
    /// (0 when they cannot tell): a term's document frequency in its best field, less every
    /// deleted document; the best clause of a disjunction; the one required clause of a boolean.
    func matchLowerBound(_ query: Query, ctx: QueryContext) -> Int {
        let deleted = segments.reduce(0) { $0 + ($1.deleted?.count ?? 0) }
        func bound(_ q: Query) -> Int {
            switch q {
            case .term(let t):
                if layout.isTextSlot(t.slot) {
                    let df = ctx.fieldDocFreq(slot: t.slot, term: t.term)
                    var best: UInt64 = 0
                    for (m, d) in df.enumerated() where t.fields.map({ $0 & (1 << UInt32(m)) != 0 }) ?? true {
                        best = max(best, d)
                    }
                    return max(0, Int(clamping: best) - deleted)
                }
                var n = 0
                for si in segments.indices { n += Int(ctx.info(slot: t.slot, term: t.term, segment: si)?.docCount ?? 0) }
                return max(0, n - deleted)
            case .boolean(let b):
                guard b.mustNot.isEmpty else { return 0 }
                if b.must.isEmpty {
                    guard b.minimumShouldMatch <= 1 else { return 0 }
                    return b.should.map(bound).max() ?? 0
                }
                return b.must.count == 1 && b.minimumShouldMatch == 0 ? bound(b.must[0]) : 0
            case .disMax(let d):
                return d.clauses.map(bound).max() ?? 0
            case .constant(let c):
                return bound(c.query)
            case .matchAll:
                return liveDocCount
            case .phrase, .prefix, .matchNone, .filter:
                return 0
            }
        }
        return bound(query)
    }

    /// Explains the score of global doc `doc` for `query` (nil if it does not match).
    public func explain(_ query: Query, doc: Int) throws -> Explanation? {
        guard let (si, local) = locate(doc) else { return nil }
        let q = try rewrite(query)
        let ctx = try QueryContext(searcher: self, query: q)
        guard let scorer = try makeScorer(q, segment: si, ctx: ctx) else { return nil }
        guard scorer.advance(UInt32(local)) == UInt32(local) else { return nil }
        return scorer.explain()
    }

    /// Expands prefix queries into the terms they match.
    public func rewrite(_ query: Query) throws -> Query {
        switch query {
        case .prefix(let p):
            var terms = Set<[UInt8]>()
            let key = SegmentReader.key(slot: p.slot, term: p.prefix)
            for s in segments {
                var it = try s.terms.seek(key)
                var n = 0
                while try it.next() {
                    let k = it.key
                    // Pair terms (`PairTerms`) sort after every word of the slot.
                    guard k.count >= key.count, k[0..<key.count].elementsEqual(key), !PairTerms.isPair(k[2...]) else { break }
                    terms.insert(Array(k[2...]))
                    n += 1
                    if n >= p.maxExpansions {
                        if p.strict, try it.next(), it.key.count >= key.count, it.key[0..<key.count].elementsEqual(key),
                           !PairTerms.isPair(it.key[2...]) {
                            throw IndexError.invalidQuery("prefix [\(String(decoding: p.prefix, as: UTF8.self))] matches more than \(p.maxExpansions) terms; use a longer prefix")
                        }
                        break
                    }
                }
            }
            if p.strict && terms.count > p.maxExpansions {
                throw IndexError.invalidQuery("prefix [\(String(decoding: p.prefix, as: UTF8.self))] matches more than \(p.maxExpansions) terms; use a longer prefix")
            }
            let chosen = terms.sorted { compareBytes2($0, $1) < 0 }.prefix(max(p.maxExpansions, 0))
            if chosen.isEmpty { return .matchNone }
            return .boolean(BooleanQuery(should: chosen.map { .term(TermQuery(slot: p.slot, term: $0, fields: p.fields, boost: p.boost)) }))
        case .boolean(let b):
            return .boolean(BooleanQuery(must: try b.must.map(rewrite), should: try b.should.map(rewrite),
                                         mustNot: try b.mustNot.map(rewrite), minimumShouldMatch: b.minimumShouldMatch,
                                         coordination: b.coordination))
        case .disMax(let d):
            return .disMax(DisMaxQuery(clauses: try d.clauses.map(rewrite), tieBreaker: d.tieBreaker))
        case .constant(let c):
            return .constant(ConstantQuery(query: try rewrite(c.query), score: c.score))
        default:
            return query
        }
    }

    // MARK: - Scorer construction

    func kTable(textField: Int) -> UnsafePointer<Float> { UnsafePointer(kTables[textField]) }

    /// `share`: text terms' cursors by (slot, term), filled by the term scorers made and read by
    /// phrases (which take positions from a shared cursor standing on the document they check).
    func makeScorer(_ q: Query, segment si: Int, ctx: QueryContext, share: CursorShare? = nil) throws -> Scorer? {
        let seg = segments[si]
        switch q {
        case .matchNone:
            return nil
        case .matchAll:
            return seg.docCount > 0 ? AllDocsScorer(maxDoc: seg.docCount) : nil
        case .filter(let f):
            try validate(f)
            if case .anyOf(let vs) = f.kind, vs.count == 1, let slot = layout.keywordSlotOfField[f.field] {
                guard let info = try seg.termInfo(slot: slot, term: Array(vs[0].utf8)) else { return nil }
                return KeywordScorer(cursor: try seg.postings(info, text: false), label: vs[0])
            }
            if case .ids(let ids) = f.kind {
                // A list of ids (hybrid search's nearest neighbours): iterate the documents, not
                // every document of the segment.
                guard let slot = layout.keywordSlotOfField[layout.idOrdinal] else { return nil }
                var docs: [UInt32] = []
                docs.reserveCapacity(ids.count)
                for id in ids { if let d = try seg.doc(forId: id, idSlot: slot) { docs.append(UInt32(d)) } }
                guard !docs.isEmpty else { return nil }
                docs.sort()
                return DocListScorer(docs)
            }
            guard seg.docCount > 0, let p = try filterPredicate(f, segment: si) else { return nil }
            return PredicateScorer(maxDoc: seg.docCount, predicate: p)
        case .term(let t):
            guard let info = ctx.info(slot: t.slot, term: t.term, segment: si) else { return nil }
            if layout.isTextSlot(t.slot) {
                return try termScorer(t.slot, t.term, info: info, fields: t.fields, boost: t.boost, segment: si, ctx: ctx, share: share)
            }
            return KeywordScorer(cursor: try seg.postings(info, text: false), label: String(decoding: t.term, as: UTF8.self))
        case .phrase(let p):
            return try phraseScorer(p, segment: si, ctx: ctx, share: share)
        case .prefix:
            return try makeScorer(try rewrite(q), segment: si, ctx: ctx, share: share)
        case .boolean(let b):
            var musts: [Scorer] = []
            for m in b.must {
                guard let s = try makeScorer(m, segment: si, ctx: ctx, share: share) else { return nil }
                musts.append(s)
            }
            var shoulds: [Scorer] = []
            for s in b.should { if let x = try makeScorer(s, segment: si, ctx: ctx, share: share) { shoulds.append(x) } }
            var nots: [Scorer] = []
            for s in b.mustNot { if let x = try makeScorer(s, segment: si, ctx: ctx, share: share) { nots.append(x) } }
            var required: Scorer
            if musts.isEmpty {
                if b.should.isEmpty {
                    guard !b.mustNot.isEmpty, seg.docCount > 0 else { return nil }
                    required = AllDocsScorer(maxDoc: seg.docCount)
                } else {
                    let msm = max(1, b.minimumShouldMatch)
                    guard shoulds.count >= msm else { return nil }
                    if b.coordination && b.should.count > 1 {
                        required = DisjunctionScorer(shoulds, minimumMatch: msm, mode: .coordinated(of: b.should.count))
                    } else {
                        required = shoulds.count == 1 ? shoulds[0] : DisjunctionScorer(shoulds, minimumMatch: msm)
                    }
                }
            } else {
                required = musts.count == 1 ? musts[0] : ConjunctionScorer(musts)
                if !shoulds.isEmpty || b.minimumShouldMatch > 0 {
                    if b.minimumShouldMatch > 0 {
                        guard shoulds.count >= b.minimumShouldMatch else { return nil }
                        let d: Scorer = shoulds.count == 1 ? shoulds[0] : DisjunctionScorer(shoulds, minimumMatch: b.minimumShouldMatch)
                        required = ConjunctionScorer(musts + [d])
                    } else {
                        required = ReqOptScorer(required: required, optional: shoulds)
                    }
                }
            }
            return nots.isEmpty ? required : ReqExclScorer(required: required, excluded: nots)
        case .disMax(let d):
            var subs: [Scorer] = []
            for c in d.clauses { if let x = try makeScorer(c, segment: si, ctx: ctx, share: share) { subs.append(x) } }
            if subs.isEmpty { return nil }
            return DisjunctionScorer(subs, minimumMatch: 1, mode: .max(tieBreaker: d.tieBreaker))
        case .constant(let c):
            guard let inner = try makeScorer(c.query, segment: si, ctx: ctx, share: share) else { return nil }
            return ConstantScorer(inner, value: c.score)
        }
    }

    /// Field plan of a text term in a segment. `idf`: a field member's idf and document frequency
    /// (default: the term's own, over the index).
    func termFieldWeights(slot: Int, info: TermInfo, fields: FieldMask?, boost: Float, ctx: QueryContext,
                          term: [UInt8], segment si: Int, idf: ((Int) -> (idf: Float, df: UInt64))? = nil) -> [TermFieldWeight] {
        let group = layout.textGroups[slot]
        let dfs = idf == nil ? ctx.fieldDocFreq(slot: slot, term: term) : []
        let k1 = stats.parameters.k1
        return info.members.map { m in
            let ordinal = group.fields[m]
            let ti = layout.textFields.firstIndex(of: ordinal)!
            let searched = fields == nil || (fields! & (1 << UInt32(m))) != 0
            let def = meta.schema.fields[ordinal]
            let (w0, df) = idf?(m) ?? (stats.idf(dfs[m]), dfs[m])
            let w: Float = searched ? boost * def.effectiveBoost * w0 * (k1 + 1) : 0
            return TermFieldWeight(member: m, weight: w, kTable: kTable(textField: ti),
                                   norms: segments[si].norms(textField: ti), fieldName: def.name, idf: w0, df: df)
        }
    }

    func termScorer(_ slot: Int, _ term: [UInt8], info: TermInfo, fields: FieldMask?, boost: Float, segment si: Int,
                    ctx: QueryContext, share: CursorShare? = nil,
                    idf: ((Int) -> (idf: Float, df: UInt64))? = nil) throws -> Scorer? {
        let fw = termFieldWeights(slot: slot, info: info, fields: fields, boost: boost, ctx: ctx, term: term, segment: si, idf: idf)
        guard fw.contains(where: { $0.weight > 0 || (fields == nil) }) else { return nil }
        let check = fields != nil && fw.contains { $0.weight == 0 }
        if fields != nil && !fw.contains(where: { $0.weight > 0 }) { return nil }
        let cursor = try segments[si].postings(info, text: true)
        share?.offer(slot: slot, term: term, cursor)
        return TermScorer(cursor: cursor, fields: fw, checkFields: check, termText: PairTerms.display(term),
                          key: TermKey(slot: slot, term: term))
    }

    func phraseScorer(_ p: PhraseQuery, segment si: Int, ctx: QueryContext, share: CursorShare? = nil) throws -> Scorer? {
        guard layout.isTextSlot(p.slot) else { throw IndexError.invalidQuery("phrase queries need a text field") }
        guard !p.terms.isEmpty, p.terms.count == p.positions.count else { return nil }
        if p.terms.count == 1 {
            return try makeScorer(.term(TermQuery(slot: p.slot, term: p.terms[0], fields: p.fields, boost: p.boost)),
                                  segment: si, ctx: ctx)
        }
        // Two words side by side over word pairs (`PairTerms`): the pair's postings hold the
        // phrase's documents with its frequency per field, so it is scored as the phrase is (its
        // words' idf summed, the same norms) by a term scorer, which the top-k loops can prune.
        // (A boost of 0 keeps the phrase scorer: a term scorer tells searched fields by weight.)
        if p.terms.count == 2 && p.slop == 0 && p.positions[1] &- p.positions[0] == 1 && p.boost > 0 && layout.textGroups[p.slot].pairs,
           let pair = PairTerms.term(p.terms[0], p.terms[1]) {
            guard let info = try segments[si].termInfo(slot: p.slot, term: pair) else { return nil }
            return try termScorer(p.slot, pair, info: info, fields: p.fields, boost: p.boost, segment: si, ctx: ctx) { m in
                (p.terms.reduce(Float(0)) { $0 + self.stats.idf(ctx.fieldDocFreq(slot: p.slot, term: $1)[m]) }, UInt64(info.docCount))
            }
        }
        // Distinct terms.
        var distinct: [[UInt8]] = []
        var termCursor: [Int] = []
        var sameAs: [Int] = []
        for (i, t) in p.terms.enumerated() {
            if let d = distinct.firstIndex(of: t) {
                termCursor.append(d)
                sameAs.append(p.terms.firstIndex(of: t)!)
            } else {
                termCursor.append(distinct.count)
                distinct.append(t)
                sameAs.append(i)
            }
        }
        var infos: [TermInfo] = []
        for t in distinct {
            guard let info = ctx.info(slot: p.slot, term: t, segment: si) else { return nil }
            infos.append(info)
        }
        // Fields where every term occurs and that are searched.
        var common = infos.reduce(UInt32.max) { $0 & $1.fieldMask }
        if let f = p.fields { common &= f }
        guard common != 0 else { return nil }
        let group = layout.textGroups[p.slot]
        let k1 = stats.parameters.k1
        var plans: [PhraseScorer.FieldPlan] = []
        var m = common
        while m != 0 {
            let member = m.trailingZeroBitCount
            m &= m - 1
            let ordinal = group.fields[member]
            let ti = layout.textFields.firstIndex(of: ordinal)!
            var idf: Float = 0
            for t in p.terms { idf += stats.idf(ctx.fieldDocFreq(slot: p.slot, term: t)[member]) }
            let def = meta.schema.fields[ordinal]
            let js = termCursor.map { c in (infos[c].fieldMask & ((1 << UInt32(member)) - 1)).nonzeroBitCount }
            plans.append(PhraseScorer.FieldPlan(member: member, weight: p.boost * def.effectiveBoost * idf * (k1 + 1),
                                                kTable: kTable(textField: ti), norms: segments[si].norms(textField: ti),
                                                js: js, name: def.name))
        }
        let cursors = try infos.map { try segments[si].postings($0, text: true) }
        let base = p.positions[0]
        return PhraseScorer(cursors: cursors, shared: distinct.map { share?.cursor(slot: p.slot, term: $0) },
                            termCursor: termCursor, offsets: p.positions.map { $0 - base },
                            sameAs: sameAs, slop: max(0, p.slop), plans: plans,
                            label: p.terms.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))
    }

    // MARK: - Running a scorer

    func run(_ root: Scorer, collector: TopKCollector, predicates: [DocPredicate] = []) throws {
        if ScoringPlan.choose(root).runRanked(filters: [], predicates: predicates, collector: collector) { return }
        // Generic: visit every match.
        let bound = root.maxScore
        let deadline = collector.deadline
        while root.nextDoc() != Scorer.noMoreDocs {
            if deadline.tick() { return }
            if collector.canPrune && bound <= collector.threshold {
                collector.markPruned()
                return
            }
            if !predicates.isEmpty && predicates.contains(where: { !$0.matches(root.doc) }) { continue }
            collector.collect(root.doc, root.score())
        }
    }
}

/// Per-query term statistics: each term's dictionary entry in every segment, and its document
/// frequency per field over the whole index.
final class QueryContext {
    private var infos: [TermKey: [TermInfo?]] = [:]
    private var dfs: [TermKey: [UInt64]] = [:]

    init(searcher: Searcher, query: Query) throws {
        var keys: [TermKey] = []
        query.collectTerms(into: &keys)
        for key in keys where infos[key] == nil {
            var perSeg: [TermInfo?] = []
            let isText = searcher.layout.isTextSlot(key.slot)
            var df = [UInt64](repeating: 0, count: isText ? searcher.layout.textGroups[key.slot].fields.count : 0)
            guard key.slot >= 0 && key.slot < searcher.layout.slotCount else {
                throw IndexError.invalidQuery("no field with slot \(key.slot)")
            }
            for s in searcher.segments {
                let info = try s.termInfo(slot: key.slot, term: key.term)
                perSeg.append(info)
                if let info, isText {
                    for (j, m) in info.members.enumerated() {
                        guard m < df.count else {
                            throw IndexError.corrupt(file: s.meta.id + ".terms", reason: "term field mask names field \(m) of a group of \(df.count)")
                        }
                        df[m] += UInt64(info.fieldDocFreq[j])
                    }
                }
            }
            infos[key] = perSeg
            dfs[key] = df
        }
    }

    func info(slot: Int, term: [UInt8], segment: Int) -> TermInfo? {
        infos[TermKey(slot: slot, term: term)]?[segment] ?? nil
    }

    func fieldDocFreq(slot: Int, term: [UInt8]) -> [UInt64] {
        dfs[TermKey(slot: slot, term: term)] ?? []
    }
}
