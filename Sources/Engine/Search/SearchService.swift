import Synchronization
import Foundation
import AisleIndex

/// A hit with its id, score and the fields asked for.
public struct SearchHit: Sendable {
    public var doc: Int
    public var id: String
    public var score: Float
    public var sortValue: Double?
    public var fields: [(name: String, value: StoredValue)]
    public var explanation: Explanation?
}

extension SearchHit {
    /// A hit made outside a search (a product looked up by id), with its fields.
    public init(doc: Int, id: String, score: Float, fields: [(name: String, value: StoredValue)]) {
        self.init(doc: doc, id: id, score: score, sortValue: nil, fields: fields, explanation: nil)
    }
}

/// One facet's result under the name the request used.
public struct NamedFacet: Sendable {
    public var name: String
    public var kind: FacetSpec.Kind
    public var result: FacetResult
}

public struct SearchResponse: Sendable {
    public var hits: [SearchHit]
    public var total: Int
    public var totalIsExact: Bool
    public var facets: [NamedFacet]
    public var sort: SortSpec
    /// Whether hits carry their sort position ("sort" in JSON).
    public var showSort: Bool
    public var tookMicros: Double
    /// The AND query found too few products and the words were made optional.
    public var relaxed = false
    /// The query's syntax was broken and its plain words were searched (lenient syntax).
    public var lenientSyntax = false
    /// What the answer could not do as asked (a limit reached), for the client to show or log.
    public var warnings: [String] = []
    /// The analysed terms of what the query searched (not what it excluded), for highlighting:
    /// `SearchService.highlights(in:terms:)`.
    public var highlightTerms: Set<[UInt8]> = []
    /// How vector or hybrid retrieval ran (nil: lexical).
    public var retrieval: RetrievalInfo?
}

/// Runs search requests against the current snapshot of an index (thread-safe: analyzers are
/// shared and thread-safe, everything else is per call). Each request reads the snapshot once, so
/// it sees one consistent state even while a live index refreshes.
public final class SearchService: Sendable {
    /// The query parsers and filter resolver for one schema (rebuilt when a live index's schema grows).
    struct Context: Sendable {
        var fieldCount: Int
        var parserAnd: QueryParser
        var parserOr: QueryParser
        /// OR for AND → OR relaxation: the words become optional, field clauses stay required.
        var parserRelaxed: QueryParser
        var resolver: RequestResolver
        /// Numeric and boolean fields: displayed from doc values, which in-place updates change.
        var numericNames: Set<String>

        init(layout: SchemaLayout, limits: QueryLimits) throws {
            fieldCount = layout.schema.fields.count
            parserAnd = try QueryParser(layout: layout, defaultOperator: .and)
            parserAnd.limits = limits
            parserOr = parserAnd
            parserOr.defaultOperator = .or
            parserRelaxed = parserOr
            parserRelaxed.fieldClausesRequired = true
            resolver = RequestResolver(schema: layout.schema, layout: layout)
            numericNames = Set(layout.schema.fields.filter { $0.type == .numeric || $0.type == .boolean }.map { $0.name })
        }
    }

    private let source: @Sendable () -> Searcher
    private let contextCache: Mutex<Context>
    /// Changes to the index's default ranking options for every request (a request's own
    /// `ranking` applies on top).
    public let rankingOverrides: RankingPatch?
    /// Query-time synonyms, re-read when the file changes.
    public let synonymSource: SynonymSource?
    /// What one search may cost (query size, probes, ranking overrides, explain, timeout).
    public let limits: SearchLimits
    /// Query-dependent boosts learned from shoppers, used by requests with the `behaviour`
    /// ranking option (the server refreshes them from its analytics).
    public let behaviour = BehaviourSignals()
    /// Synonyms compiled per text group for a rules version and field count.
    private let compiledSynonyms = Mutex<(version: Int, fields: Int, maps: [SynonymMap?])?>(nil)

    /// A service over one fixed searcher.
    public convenience init(searcher: Searcher, ranking: JSONValue? = nil, synonyms: SynonymSource? = .builtIn,
                            limits: SearchLimits = SearchLimits()) throws {
        try self.init(source: { searcher }, ranking: ranking, synonyms: synonyms, limits: limits)
    }

    /// A service over whatever snapshot `source` returns (a live index's newest).
    public init(source: @escaping @Sendable () -> Searcher, ranking: JSONValue? = nil,
                synonyms: SynonymSource? = .builtIn, limits: SearchLimits = SearchLimits()) throws {
        self.source = source
        self.rankingOverrides = try ranking.map { try RankingPatch.parse($0) }
        self.synonymSource = synonyms
        self.limits = limits
        contextCache = Mutex(try Context(layout: source().layout, limits: limits.query))
    }

    /// The ranking options of a request: the service's, with the request's overrides.
    public func rankingOptions(for request: SearchRequest) throws -> RankingOptions {
        try rankingOptions(for: request, layout: searcher.layout)
    }

    func rankingOptions(for request: SearchRequest, layout: SchemaLayout) throws -> RankingOptions {
        var o = RankingOptions.defaults(for: layout)
        rankingOverrides?.apply(to: &o)
        if let r = request.ranking {
            r.apply(to: &o)
            o = limits.clamp(o)   // a request asks; the server's limits decide
        }
        return o
    }

    /// The synonyms in use, compiled for each text group's analyzer of `ctx`.
    func synonymMaps(_ ctx: Context) -> [SynonymMap?] {
        guard let src = synonymSource else { return [] }
        let (rules, version) = src.current()
        if let c = compiledSynonyms.withLock({ $0 }), c.version == version, c.fields == ctx.fieldCount { return c.maps }
        let maps: [SynonymMap?] = ctx.parserAnd.layout.textGroups.indices.map { g in
            rules.rules.isEmpty ? nil : rules.compiled(with: ctx.parserAnd.analyzer(group: g))
        }
        compiledSynonyms.withLock { $0 = (version, ctx.fieldCount, maps) }
        return maps
    }

    func expander(_ options: RankingOptions, ctx: Context, searcher: Searcher, deadline: SearchDeadline? = nil,
                  probes: ProbeBudget? = nil) -> QueryExpander? {
        guard options.expandsWords else { return nil }
        return QueryExpander(searcher: searcher, options: options, synonyms: options.synonyms ? synonymMaps(ctx) : [],
                             probes: probes ?? ProbeBudget(limit: limits.maxProbes),
                             maxCompoundWordBytes: limits.maxCompoundWordBytes, deadline: deadline)
    }

    /// The byte ranges of `text` whose analysed terms (with the index's first text group's analyzer,
    /// as the query's words were analysed) are among `terms`: what a result highlights.
    public func highlights(in text: String, terms: Set<[UInt8]>, group: Int = 0) -> [Range<Int>] {
        guard !terms.isEmpty, let ctx = try? context(searcher), group >= 0, group < ctx.parserAnd.layout.textGroups.count else { return [] }
        var ranges: [Range<Int>] = []
        _ = ctx.parserAnd.analyzer(group: group).analyze(text, firstPosition: 0) { term, _, start, end in
            if terms.contains(Array(term)) { ranges.append(Int(start)..<Int(end)) }
        }
        return ranges
    }

    /// The current snapshot. Read it once per request and use that value throughout.
    public var searcher: Searcher { source() }

    func context(_ s: Searcher) throws -> Context {
        let c = contextCache.withLock { $0 }
        if c.fieldCount == s.layout.schema.fields.count { return c }
        let fresh = try Context(layout: s.layout, limits: limits.query)
        contextCache.withLock { $0 = fresh }
        return fresh
    }

    public func parser(_ op: DefaultOperator) -> QueryParser {
        let c = (try? context(searcher)) ?? contextCache.withLock { $0 }
        return op == .and ? c.parserAnd : c.parserOr
    }

    /// The index query of a request, with the ranking options' rewriting.
    public func query(for request: SearchRequest) throws -> Query {
        let s = searcher
        let ctx = try context(s)
        let parser = request.op == .and ? ctx.parserAnd : ctx.parserOr
        return try parser.parse(request.q, expander: expander(try rankingOptions(for: request, layout: s.layout), ctx: ctx, searcher: s),
                                syntax: request.syntax).query
    }

    /// The index-level search for a request, and the facets' names.
    public func spec(for request: SearchRequest) throws -> (SearchSpec, [String]) {
        let r = try resolve(request, in: searcher)
        return (r.spec, r.facetNames)
    }

    /// A request resolved against one snapshot.
    struct Resolved {
        var spec: SearchSpec
        var facetNames: [String]
        var lenient: Bool
        var highlightTerms: Set<[UInt8]>
    }

    /// `relaxing`: the request's AND relaxed to OR (words optional, field clauses required).
    /// `parsed`: the request's query already parsed (a relaxed rewrite reuses it); nil: parse it.
    func resolve(_ request: SearchRequest, in s: Searcher, relaxing: Bool = false, deadline: SearchDeadline? = nil,
                 probes: ProbeBudget? = nil, parsed given: ParsedQuery? = nil) throws -> Resolved {
        try request.validate()
        if request.explain && request.limit > limits.maxExplainHits {
            throw EngineError.badRequest("explain is for pages of at most \(limits.maxExplainHits) hits (limit max_explain_hits); ask for a smaller limit")
        }
        let ctx = try context(s)
        let filters = try ctx.resolver.filters(request.filters)
        let facets = try ctx.resolver.facets(request.facets, filters: filters)
        let sort = try ctx.resolver.sort(request.sort)
        let parser = relaxing ? ctx.parserRelaxed : request.op == .and ? ctx.parserAnd : ctx.parserOr
        let ranking = try rankingOptions(for: request, layout: s.layout)
        let syntaxTree = try given ?? parser.parseQuery(request.q, syntax: request.syntax)
        let parsed = try parser.rewrite(syntaxTree, expander: expander(ranking, ctx: ctx, searcher: s, deadline: deadline, probes: probes))
        let full = parsed.query
        // Rewritten queries rank in two phases: the flat form finds the matches (the same ones) and
        // the best `rescoreWindow` by BM25 with pruning; the full query orders those.
        let recall = full.recallForm()
        let query = recall
        var spec = SearchSpec(query: query, filters: filters,
                              facets: facets.map { $0.spec }, sort: sort,
                              limit: request.limit, offset: request.offset,
                              searchAfter: try ctx.resolver.searchAfter(request.searchAfter, sort: sort),
                              trackTotalHits: request.trackTotalHits, boosts: try ctx.resolver.boosts(request.boosts))
        if recall != full {
            if spec.sort == .relevance && spec.searchAfter == nil {
                spec.rescore = Rescore(query: full, window: max(ranking.rescoreWindow, request.offset + request.limit),
                                       maxGain: full.constantGain(), bonus: full.additiveBonus(recall: recall))
            } else if spec.sort == .relevance {
                spec.query = full   // deep paging by score needs the final scores
            }
        }
        if spec.searchAfter != nil && request.offset != 0 {
            throw EngineError.badRequest("use either offset or search_after, not both")
        }
        spec.limit = request.limit
        spec.deadline = deadline
        return Resolved(spec: spec, facetNames: facets.map { $0.name }, lenient: parsed.lenient, highlightTerms: parsed.highlightTerms)
    }

    /// The deadline of a search that starts now: the service's timeout (nil: none).
    public func makeDeadline() -> SearchDeadline? {
        limits.timeout > 0 ? SearchDeadline.after(seconds: limits.timeout) : nil
    }

    /// Runs a request. `took_us` covers parsing, analysis, search and fetching ids and fields.
    /// `deadline`: when to give up (`IndexError.timedOut`); nil: the service's `limits.timeout` from now.
    public func search(_ request: SearchRequest, startedAt: UInt64? = nil, deadline: SearchDeadline? = nil) throws -> SearchResponse {
        let t0 = startedAt ?? DispatchTime.now().uptimeNanoseconds
        let deadline = deadline ?? makeDeadline()
        try deadline?.check()
        let searcher = self.searcher
        var warnings: [String] = []
        let plan = try retrievalPlan(request, in: searcher, warnings: &warnings)
        let lexical: LexicalRun
        var outcome: SearchOutcome
        var spec: SearchSpec
        var retrievalInfo: RetrievalInfo?
        if let plan {
            (lexical, outcome, retrievalInfo) = try hybridSearch(request, plan: plan, in: searcher, deadline: deadline)
            spec = lexical.spec
        } else {
            lexical = try lexicalSearch(request, in: searcher, deadline: deadline)
            outcome = lexical.outcome
            spec = lexical.spec
        }
        let resolved = lexical.resolved
        var hits: [SearchHit] = []
        hits.reserveCapacity(outcome.hits.count)
        let wanted = request.fields.map { Set($0) }
        for (i, h) in outcome.hits.enumerated() {
            if i & 15 == 15 { try deadline?.check() }   // fetching fields for a big page counts too
            var fields: [(name: String, value: StoredValue)] = []
            if let wanted { fields = try displayFields(doc: h.doc, wanted: wanted, in: searcher) }
            hits.append(SearchHit(doc: h.doc, id: try searcher.id(of: h.doc), score: h.score, sortValue: h.sortValue,
                                  fields: fields, explanation: request.explain && plan == nil ? try explanation(spec, doc: h.doc, score: h.score, in: searcher) : nil))
        }
        let took = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
        let facets = zip(resolved.facetNames, zip(spec.facets, outcome.facets)).map { NamedFacet(name: $0, kind: $1.0.kind, result: $1.1) }
        var response = SearchResponse(hits: hits, total: outcome.totalHits, totalIsExact: outcome.totalIsExact, facets: facets,
                                      sort: spec.sort, showSort: request.sort != nil || request.searchAfter != nil, tookMicros: took,
                                      relaxed: lexical.relaxed)
        response.lenientSyntax = resolved.lenient
        response.highlightTerms = resolved.highlightTerms
        response.retrieval = retrievalInfo
        response.warnings = warnings
        if lexical.probes.ranOut {
            response.warnings.append("query rewriting stopped after \(lexical.probes.limit) typo and compound look-ups (limit max_probes); the remaining words were searched as typed")
        }
        if request.explain && plan != nil {
            response.warnings.append("explain covers lexical retrieval only; hits of \(plan!.mode.rawValue) retrieval carry no explanation")
        }
        return response
    }

    /// One lexical search: the spec that ran (relaxed or not), its outcome and page.
    struct LexicalRun {
        var outcome: SearchOutcome
        var spec: SearchSpec
        var relaxed: Bool
        var resolved: Resolved
        var probes: ProbeBudget
    }

    func runSpec(_ spec: SearchSpec, in searcher: Searcher) throws -> SearchOutcome {
        do {
            return try searcher.search(spec)
        } catch let e as IndexError {
            if case .invalidQuery(let m) = e { throw EngineError.badRequest(m) }
            throw e
        }
    }

    /// The lexical search: BM25F with the ranking features, AND relaxed to OR when too few match,
    /// feedback and behaviour re-ranking.
    /// `parsed`: the request's query already parsed (nil: parse it).
    func lexicalSearch(_ request: SearchRequest, in searcher: Searcher, deadline: SearchDeadline?,
                       parsed: ParsedQuery? = nil) throws -> LexicalRun {
        let probes = ProbeBudget(limit: limits.maxProbes)
        // The query is parsed once; the rewrite as asked and the relaxed one share it.
        let parsedQuery = try parsed ?? context(searcher).parserAnd.parseQuery(request.q, syntax: request.syntax)
        let resolved = try resolve(request, in: searcher, deadline: deadline, probes: probes, parsed: parsedQuery)
        var spec = resolved.spec
        let run = { (s: SearchSpec) throws -> SearchOutcome in try self.runSpec(s, in: searcher) }
        var outcome = try run(spec)
        var relaxed = false
        // AND → OR: too few products have every word; the words become optional.
        let ranking = try rankingOptions(for: request, layout: searcher.layout)
        if request.op == .and, outcome.totalHits < ranking.relaxBelow, ranking.relax, request.searchAfter == nil {
            let orSpec = try resolve(request, in: searcher, relaxing: true, deadline: deadline, probes: probes, parsed: parsedQuery).spec
            if orSpec.query != spec.query {
                let more = try run(orSpec)
                if more.totalHits > outcome.totalHits {
                    outcome = more
                    spec = orSpec
                    relaxed = true
                }
            }
        }
        // Pseudo-relevance feedback orders the tail of long result lists (the head stays as it is).
        if ranking.feedback, request.op == .or || relaxed, spec.sort == .relevance, spec.searchAfter == nil,
           spec.offset + spec.limit > ranking.feedbackKeep, !outcome.hits.isEmpty {
            outcome.hits = try feedbackHits(spec, ranking: ranking, in: searcher, run: run) ?? outcome.hits
        }
        // Shoppers' behaviour (opt-in): products chosen for this query move up within the window.
        if ranking.behaviour, ranking.behaviourWeight > 0, spec.sort == .relevance, spec.searchAfter == nil,
           let boosts = behaviour.boosts(for: request.q), !boosts.isEmpty, !outcome.hits.isEmpty {
            outcome.hits = try behaviourHits(spec, boosts: boosts, ranking: ranking, in: searcher, run: run)
        }
        return LexicalRun(outcome: outcome, spec: spec, relaxed: relaxed, resolved: resolved, probes: probes)
    }

    /// The page of `spec` with pseudo-relevance feedback: the first `feedbackKeep` results of the
    /// query, then the results of the widened query. Totals and facets stay the query's own.
    func feedbackHits(_ spec: SearchSpec, ranking: RankingOptions, in searcher: Searcher,
                      run: (SearchSpec) throws -> SearchOutcome) throws -> [SearchHitResult]? {
        let window = spec.offset + spec.limit
        var first = spec
        first.facets = []
        first.offset = 0
        first.limit = max(window, ranking.feedbackDocs, ranking.feedbackKeep)
        first.trackTotalHits = .upTo(0)
        let head = try run(first).hits
        let ctx = try context(searcher)
        let fb = Feedback(searcher: searcher, parser: ctx.parserOr, options: ranking)
        let scoring = spec.rescore?.query ?? spec.query
        guard let widened = try fb.expand(scoring, top: head.prefix(ranking.feedbackDocs).map { ($0.doc, $0.score) }) else { return nil }
        var second = first
        if let r = spec.rescore {
            second.rescore = Rescore(query: widened, window: max(r.window, window + ranking.feedbackKeep))
        } else {
            second.query = widened
        }
        second.limit = window + ranking.feedbackKeep
        let kept = head.prefix(ranking.feedbackKeep)
        let keptDocs = Set(kept.map { $0.doc })
        var tail = try run(second).hits.filter { !keptDocs.contains($0.doc) }
        // Scores stay monotone down the list: the tail is scaled to start below the head's last score.
        if let last = kept.last?.score, let top = tail.first?.score, top >= last, top > 0 {
            let f = last.nextDown / top
            for i in tail.indices { tail[i].score *= f }
        }
        let merged = Array(kept) + tail
        return Array(merged.dropFirst(spec.offset).prefix(spec.limit))
    }

    /// The page of `spec` with the behaviour boosts: the first `behaviourWindow` products by
    /// relevance, each score multiplied by 1 + weight × boost and reordered (ties keep their
    /// order); the products after the window follow as they were. Totals and facets stay the
    /// query's own.
    func behaviourHits(_ spec: SearchSpec, boosts: [String: Float], ranking: RankingOptions, in searcher: Searcher,
                       run: (SearchSpec) throws -> SearchOutcome) throws -> [SearchHitResult] {
        var first = spec
        first.facets = []
        first.offset = 0
        first.limit = max(ranking.behaviourWindow, spec.offset + spec.limit)
        first.trackTotalHits = .upTo(0)
        var list = try run(first).hits
        let w = min(ranking.behaviourWindow, list.count)
        var window: [(hit: SearchHitResult, rank: Int)] = []
        window.reserveCapacity(w)
        for i in 0..<w {
            var h = list[i]
            if let b = boosts[try searcher.id(of: h.doc)] { h.score *= 1 + Float(ranking.behaviourWeight) * b }
            window.append((h, i))
        }
        window.sort { $0.hit.score > $1.hit.score || ($0.hit.score == $1.hit.score && $0.rank < $1.rank) }
        list.replaceSubrange(0..<w, with: window.map(\.hit))
        return Array(list.dropFirst(spec.offset).prefix(spec.limit))
    }

    /// Why a hit scored what it did: the text query's explanation, plus numeric boosts.
    func explanation(_ spec: SearchSpec, doc: Int, score: Float, in searcher: Searcher) throws -> Explanation? {
        let text = try searcher.explain(spec.rescore?.query ?? spec.query, doc: doc)
        guard spec.sort == .relevance, let boosts = searcher.explainBoosts(spec.boosts, doc: doc) else { return text }
        return Explanation(value: score, description: "sum of the text score and numeric boosts",
                           details: (text.map { [$0] } ?? []) + [boosts])
    }

    /// A document's fields for display: numbers and booleans from doc values (which in-place
    /// updates change), the rest from stored fields, completed from doc values (brand, category...).
    public func displayFields(doc: Int, wanted: Set<String>, in searcher: Searcher) throws -> [(name: String, value: StoredValue)] {
        let columns = try searcher.docValueFields(of: doc, named: wanted.contains("*") ? nil : wanted)
        let fromColumns = Set(columns.map { $0.name }).intersection(try context(searcher).numericNames)
        var out = try searcher.storedFields(of: doc, named: wanted.contains("*") ? nil : wanted).filter {
            (wanted.contains("*") || wanted.contains($0.name)) && !(fromColumns.contains($0.name))
        }
        var have = Set(out.map { $0.name })
        for (name, v) in columns where !have.contains(name) && (wanted.contains("*") || wanted.contains(name)) {
            out.append((name, v))
            have.insert(name)
        }
        return out
    }

    /// The response as one line of JSON.
    public static func json(_ r: SearchResponse, into w: inout JSONWriter) {
        w.raw("{\"hits\":[")
        for (i, h) in r.hits.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"id\":")
            w.string(h.id)
            w.raw(",\"score\":")
            w.number(h.score)
            if r.showSort {
                w.raw(",\"sort\":[")
                switch r.sort {
                case .relevance:
                    w.number(h.score)
                    w.raw(",")
                    w.number(h.doc)
                case .field:
                    if let v = h.sortValue { w.number(v) } else { w.raw("null") }
                    w.raw(",")
                    w.string(h.id)
                }
                w.raw("]")
            }
            if !h.fields.isEmpty {
                w.raw(",\"fields\":{")
                for (j, f) in h.fields.enumerated() {
                    if j > 0 { w.raw(",") }
                    w.key(f.name)
                    w.value(f.value.json)
                }
                w.raw("}")
            }
            if let e = h.explanation {
                w.raw(",\"explanation\":")
                w.value(e.json)
            }
            w.raw("}")
        }
        w.raw("],\"total\":")
        w.number(r.total)
        w.raw(",\"total_relation\":")
        w.raw(r.totalIsExact ? "\"eq\"" : "\"gte\"")
        if r.relaxed { w.raw(",\"relaxed\":true") }
        if let ri = r.retrieval {
            w.raw(",\"retrieval\":")
            w.value(ri.json)
        }
        if r.lenientSyntax { w.raw(",\"query_syntax\":\"lenient\"") }
        if !r.warnings.isEmpty {
            w.raw(",\"warnings\":")
            w.value(.array(r.warnings.map { .string($0) }))
        }
        if !r.facets.isEmpty {
            w.raw(",\"facets\":{")
            for (i, f) in r.facets.enumerated() {
                if i > 0 { w.raw(",") }
                w.key(f.name)
                w.value(facetJSON(f))
            }
            w.raw("}")
        }
        w.raw(",\"took_us\":")
        w.number((r.tookMicros * 10).rounded() / 10)
        w.raw("}")
    }

    /// Terms facets: a list of {value, count}; hierarchy: {path, children, other}; ranges: {ranges, min, max}.
    public static func facetJSON(_ f: NamedFacet) -> JSONValue {
        func counts(_ c: [FacetResult.Count]) -> JSONValue {
            .array(c.map { .object([("value", .string($0.value)), ("count", .number(Double($0.count)))]) })
        }
        switch f.kind {
        case .terms:
            return counts(f.result.values)
        case .hierarchy:
            return .object([("path", counts(f.result.path)), ("children", counts(f.result.values)),
                            ("other", .number(Double(f.result.other)))])
        case .ranges:
            let ranges = JSONValue.array(f.result.ranges.map { r in
                .object([("from", r.from.map { .number($0) } ?? .null), ("to", r.to.map { .number($0) } ?? .null),
                         ("count", .number(Double(r.count)))])
            })
            return .object([("ranges", ranges), ("min", f.result.min.map { .number($0) } ?? .null),
                            ("max", f.result.max.map { .number($0) } ?? .null)])
        }
    }

    public static func errorJSON(_ message: String, into w: inout JSONWriter) {
        w.raw("{\"error\":")
        w.string(message)
        w.raw("}")
    }

    /// Batch mode: one JSON request per input line, one JSON result per output line, in order.
    /// A bad line answers `{"error": ...}` and the loop goes on.
    public func serveLines(input: FileHandle, output: FileHandle) {
        let maxLine = 1 << 20
        var reader = LineReader(handle: input, maxLength: maxLine)
        var tape = JSONTape()
        var w = JSONWriter(capacity: 4096)
        while let next = reader.next() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            w.bytes.removeAll(keepingCapacity: true)
            var line: [UInt8] = []
            if case .line(let l) = next { line = l }
            if case .line = next, line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                if case .tooLong(let n) = next {
                    throw EngineError.badRequest("request line of \(n) bytes or more is longer than \(maxLine) bytes; skipped")
                }
                // The tape points into `line`: read it only while the buffer is pinned.
                let req = try line.withUnsafeBufferPointer { p -> SearchRequest in
                    do { try tape.parse(p) } catch let e as JSONError {
                        throw EngineError.badRequest(e.description)
                    }
                    return try SearchRequest.parse(tape: tape, node: tape.root)
                }
                let res = try search(req, startedAt: t0)
                Self.json(res, into: &w)
            } catch let e as EngineError {
                Self.errorJSON(e.description, into: &w)
            } catch {
                Self.errorJSON("\(error)", into: &w)
            }
            w.bytes.append(0x0A)
            output.write(Data(w.bytes))
        }
    }
}

extension StoredValue {
    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .double(let d): return .number(d)
        case .int(let i): return .number(Double(i))
        case .bool(let b): return .bool(b)
        case .list(let l): return .array(l.map { $0.json })
        }
    }
}

extension Explanation {
    public var json: JSONValue {
        .object([("value", .number(Double(value))), ("description", .string(description)),
                 ("details", .array(details.map { $0.json }))])
    }
}

/// Reads lines from a file handle with a large buffer, holding at most `maxLength` bytes of one
/// line: a longer line is skipped to its end (never buffered whole) and reported as `tooLong`.
struct LineReader {
    enum Line {
        case line([UInt8])
        /// A line longer than the limit, of at least this many bytes, skipped.
        case tooLong(Int)
    }

    let handle: FileHandle
    let maxLength: Int
    var buffer: [UInt8] = []
    var start = 0
    var eof = false
    /// Bytes of an over-long line skipped so far (0: not in one).
    var skipping = 0

    init(handle: FileHandle, maxLength: Int = 1 << 20) {
        self.handle = handle
        self.maxLength = maxLength
    }

    mutating func next() -> Line? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                if skipping > 0 {
                    let n = skipping + (nl - start)
                    skipping = 0
                    start = nl + 1
                    return .tooLong(n)
                }
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line.count > maxLength ? .tooLong(line.count) : .line(line)
            }
            // No newline in what is buffered: past the limit, drop it and remember the line is too long.
            if buffer.count - start > maxLength {
                skipping += buffer.count - start
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            if eof {
                if skipping > 0 {
                    let n = skipping + (buffer.count - start)
                    skipping = 0
                    start = buffer.count
                    return .tooLong(n)
                }
                if start < buffer.count {
                    let line = Array(buffer[start...])
                    start = buffer.count
                    return line.count > maxLength ? .tooLong(line.count) : .line(line)
                }
                return nil
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let fd = handle.fileDescriptor
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                eof = true
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}
