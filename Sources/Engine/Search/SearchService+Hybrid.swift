import Foundation
import AisleIndex

/// How vector or hybrid retrieval ran, for the response.
public struct RetrievalInfo: Sendable, Equatable {
    public var mode: RetrievalMode
    public var fusion: FusionMethod?
    public var window: Int
    public var lexicalCandidates: Int
    public var vectorCandidates: Int
    public var embedMicros: Double

    var json: JSONValue {
        var o: [(String, JSONValue)] = [("mode", .string(mode.rawValue))]
        if let f = fusion { o.append(("fusion", .string(f.rawValue))) }
        o += [("window", .number(Double(window))), ("lexical_candidates", .number(Double(lexicalCandidates))),
              ("vector_candidates", .number(Double(vectorCandidates))), ("embed_us", .number((embedMicros * 10).rounded() / 10))]
        return .object(o)
    }
}

extension SearchService {
    /// The clauses a query excludes at its top level.
    static func exclusions(of q: Query) -> [Query] {
        if case .boolean(let b) = q { return b.mustNot }
        return []
    }

    /// The retrieval a request runs on this index (nil: lexical). An index with a vector field
    /// defaults to `RetrievalDefaults.mode`; one without searches lexically, and asking it for
    /// vector or hybrid retrieval is an error. A request without words (a browse page) is lexical.
    func retrievalPlan(_ request: SearchRequest, in searcher: Searcher, warnings: inout [String]) throws -> RetrievalPlan? {
        let layout = searcher.layout
        let r = request.retrieval
        let vectorFields = layout.vectorFields
        let explicit = r?.mode != nil
        let mode = r?.mode ?? (vectorFields.isEmpty ? .lexical : RetrievalDefaults.mode)
        guard mode != .lexical else { return nil }
        guard !vectorFields.isEmpty else {
            throw EngineError.badRequest("retrieval \(mode.rawValue) needs a vector field, and this index has none (a schema field {\"type\": \"vector\", \"dims\": 384, \"source\": \"title\"})")
        }
        let field: Int
        if let name = r?.field {
            guard let o = layout.schema.ordinal(of: name), layout.schema.fields[o].type == .vector else {
                throw EngineError.badRequest("retrieval field \"\(name.prefix(80))\" is not a vector field (vector fields: \(vectorFields.map { layout.schema.fields[$0].name }.joined(separator: ", ")))")
            }
            field = o
        } else {
            field = vectorFields[0]
        }
        if request.q.trimmingCharacters(in: .whitespaces).isEmpty {
            if explicit && mode == .vector { throw EngineError.badRequest("retrieval vector needs words in q to embed") }
            return nil
        }
        let window = r?.window ?? RetrievalDefaults.window
        if request.searchAfter != nil {
            throw EngineError.badRequest("search_after pages lexical results; \(mode.rawValue) retrieval ranks the first \(window) results (its window), paged with offset (or ask for \"retrieval\": \"lexical\")")
        }
        if request.offset + request.limit > window {
            throw EngineError.badRequest("\(mode.rawValue) retrieval ranks the first \(window) results (its window): offset + limit must be at most \(window); ask for a larger \"retrieval\": {\"window\": N} (at most \(RetrievalDefaults.maxWindow)) or \"retrieval\": \"lexical\"")
        }
        let fusion = r?.fusion ?? RetrievalDefaults.fusion
        let def = layout.schema.fields[field]
        // The model must be there; when retrieval was not asked for, its absence falls back to lexical.
        let embedder: any VectorEmbedder
        do {
            embedder = try VectorModels.embedder(def.vectorModel, field: def.name, dims: def.dims ?? 0)
        } catch {
            if explicit { throw EngineError.badRequest("\(mode.rawValue) retrieval is unavailable: \(error)") }
            warnings.append("lexical retrieval only: \(error)")
            return nil
        }
        return RetrievalPlan(mode: mode, fusion: fusion, rrfK: r?.rrfK ?? RetrievalDefaults.rrfK,
                             vectorWeight: r?.vectorWeight ?? (fusion == .rrf ? RetrievalDefaults.rrfVectorWeight : RetrievalDefaults.linearVectorWeight),
                             window: window, k: r?.k ?? RetrievalDefaults.k,
                             numCandidates: r?.numCandidates ?? RetrievalDefaults.numCandidates, field: field,
                             embedder: embedder)
    }

    /// Vector or hybrid retrieval.
    /// - The lexical list is the lexical search's best `window` (every ranking feature included);
    ///   the vector list is the `k` nearest neighbours of the query's embedding among the
    ///   products passing every filter (vector retrieval: `window` of them). Hybrid fuses the two;
    ///   vector takes the second alone.
    /// - `total` counts the union of the lexical matches and the vector list (vector: the list),
    ///   and facets count the same set, so a facet's counts add up to what paging can reach.
    /// - Pages come from the fused list; the window is fixed (not grown by the page), so every page
    ///   of a query is cut from the same list and the total is the same on every page. Pages end
    ///   within the window. Sorting by a field sorts the union.
    /// - Under a multi-select filter, a facet's other values count their lexical matches and the
    ///   nearest neighbours found under the current filters; selecting one of them finds its own
    ///   nearest neighbours, so its total can be larger than the count shown.
    /// - The query's exclusions (`-word`, `NOT word`) are left out of the text embedded and remove
    ///   the products they match from the nearest neighbours.
    func hybridSearch(_ request: SearchRequest, plan: RetrievalPlan, in searcher: Searcher,
                      deadline: SearchDeadline?) throws -> (LexicalRun, SearchOutcome, RetrievalInfo) {
        let window = plan.window
        // Parsed once: the embedded text is the query's own words (without its exclusions), and
        // the lexical search reuses the parse.
        let parsed = try context(searcher).parserAnd.parseQuery(request.q, syntax: request.syntax)
        let text = parsed.positiveText
        let te = DispatchTime.now().uptimeNanoseconds
        let vector = try plan.embedder.embedQuery(text.isEmpty ? request.q : text)
        let embedMicros = Double(DispatchTime.now().uptimeNanoseconds - te) / 1000
        try deadline?.check()

        var lexRequest = request
        lexRequest.offset = 0
        lexRequest.limit = window
        lexRequest.facets = []
        lexRequest.explain = false
        var lexical: LexicalRun
        if plan.mode == .hybrid {
            lexical = try lexicalSearch(lexRequest, in: searcher, deadline: deadline, parsed: parsed)
        } else {
            let resolved = try resolve(lexRequest, in: searcher, deadline: deadline, parsed: parsed)
            lexical = LexicalRun(outcome: SearchOutcome(hits: [], totalHits: 0, totalIsExact: true, facets: []),
                                 spec: resolved.spec, relaxed: false, resolved: resolved, probes: ProbeBudget(limit: limits.maxProbes))
        }
        let k = plan.mode == .vector ? window : plan.k
        var kq = KnnQuery(field: plan.field, vector: vector, k: k, numCandidates: max(plan.numCandidates, k),
                          filters: lexical.spec.filters)
        kq.deadline = deadline
        var knn: [KnnHit]
        do { knn = try searcher.knn(kq) } catch let e as IndexError {
            if case .invalidQuery(let m) = e { throw EngineError.badRequest(m) }
            throw e
        }
        var ids = try knn.map { try searcher.id(of: $0.doc) }
        func idsFilter(_ ids: [String]) -> Query { .filter(Filter(field: searcher.layout.idOrdinal, kind: .ids(ids))) }
        // The query's exclusions (-word, NOT word) hold for the neighbours too.
        let excluded = Self.exclusions(of: lexical.spec.query)
        if !excluded.isEmpty, !knn.isEmpty {
            var probe = SearchSpec(query: .boolean(BooleanQuery(must: [idsFilter(ids)], should: excluded, minimumShouldMatch: 1)),
                                   limit: knn.count, trackTotalHits: .upTo(0))
            probe.deadline = deadline
            let drop = Set(try runSpec(probe, in: searcher).hits.map(\.doc))
            let kept = knn.indices.filter { !drop.contains(knn[$0].doc) }
            knn = kept.map { knn[$0] }
            ids = kept.map { ids[$0] }
        }
        let lexItems = lexical.outcome.hits.map { Fusion.Item(doc: $0.doc, score: $0.score) }
        let vecItems = knn.map { Fusion.Item(doc: $0.doc, score: $0.similarity) }
        let fused: [Fusion.Item]
        switch plan.mode {
        case .vector: fused = vecItems
        case .hybrid, .lexical:
            fused = plan.fusion == .rrf
                ? Fusion.rrf(lexical: lexItems, vector: vecItems, k: plan.rrfK, vectorWeight: plan.vectorWeight)
                : Fusion.linear(lexical: lexItems, vector: vecItems, vectorWeight: plan.vectorWeight) {
                    searcher.similarity(field: plan.field, doc: $0, to: vector)
                }
        }

        // The union's total and facets (and, sorted by a field, its page).
        let ctx = try context(searcher)
        let facets = try ctx.resolver.facets(request.facets, filters: lexical.spec.filters)
        var union = lexical.spec
        let nearest: Query = ids.isEmpty ? .matchNone : idsFilter(ids)
        union.query = plan.mode == .vector ? nearest : .boolean(BooleanQuery(should: [lexical.spec.query, nearest]))
        union.rescore = nil
        union.facets = facets.map { $0.spec }
        union.trackTotalHits = request.trackTotalHits
        union.deadline = deadline
        let bySort = union.sort != .relevance
        if bySort {
            union.offset = request.offset
            union.limit = request.limit
        } else {
            union.offset = 0
            union.limit = 0
            union.boosts = []
        }
        let counted = try runSpec(union, in: searcher)
        var outcome = counted
        if !bySort {
            outcome.hits = fused.dropFirst(request.offset).prefix(request.limit).map { SearchHitResult(doc: $0.doc, score: $0.score) }
            outcome.totalHits = max(counted.totalHits, fused.count)
        }
        lexical.spec = union
        lexical.resolved.facetNames = facets.map { $0.name }
        let info = RetrievalInfo(mode: plan.mode, fusion: plan.mode == .hybrid ? plan.fusion : nil, window: window,
                                 lexicalCandidates: lexItems.count, vectorCandidates: vecItems.count, embedMicros: embedMicros)
        return (lexical, outcome, info)
    }
}
