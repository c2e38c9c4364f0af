import Foundation
import Synchronization
import AisleIndex

/// An autocomplete request: what has been typed so far.
public struct SuggestRequest: Sendable, Equatable {
    public static let maxLimit = 20
    public var q: String
    public var limit: Int
    public init(q: String, limit: Int = 8) {
        self.q = q
        self.limit = limit
    }

    public func validate() throws {
        guard limit >= 1, limit <= Self.maxLimit else { throw EngineError.badRequest("limit must be between 1 and \(Self.maxLimit), got \(limit)") }
        guard q.utf8.count <= 200 else { throw EngineError.badRequest("q is \(q.utf8.count) bytes; autocomplete takes at most 200") }
    }
}

/// A whole query that completes what was typed. `completionStart` is the character offset in
/// `text` where the part not typed (the completion) begins.
public struct Suggestion: Sendable, Equatable {
    public var text: String
    public var completionStart: Int
}

public struct SuggestResponse: Sendable {
    public var suggestions: [Suggestion]
    public var products: [SearchHit]
    /// Categories with the number of matching products (`exact` false: at least that many).
    public var categories: [(value: String, count: Int, exact: Bool)]
    /// The query the products are for (typos corrected, the last word a prefix).
    public var productQuery: String
    public var tookMicros: Double
    public var warnings: [String] = []
}

/// The catalog's phrases for autocomplete: the words and adjacent word pairs of the titles (with
/// the number of titles having them), and the brand and category names. Built from a snapshot in
/// the background; suggestions are checked against the live index before they are offered.
final class SuggestDictionary: @unchecked Sendable {
    struct Entry {
        var key: String       // normalized (lowercase words joined by one space)
        var count: Int
    }
    let unigrams: [Entry]
    let bigrams: [Entry]
    let names: [Entry]
    /// Unigram indexes by first character, for typo correction.
    let byFirst: [Character: [Int]]
    let documents: Int
    /// The names' words are in searched text fields (the catalog's `brand` and `category` are),
    /// so a name has results without a search.
    let namesSearchable: Bool

    init(unigrams: [Entry], bigrams: [Entry], names: [Entry], documents: Int, namesSearchable: Bool = false) {
        self.namesSearchable = namesSearchable
        self.unigrams = unigrams.sorted { $0.key < $1.key }
        self.bigrams = bigrams.sorted { $0.key < $1.key }
        self.names = names.sorted { $0.key < $1.key }
        var f: [Character: [Int]] = [:]
        for (i, e) in self.unigrams.enumerated() { if let c = e.key.first { f[c, default: []].append(i) } }
        byFirst = f
        self.documents = documents
    }

    static let empty = SuggestDictionary(unigrams: [], bigrams: [], names: [], documents: 0)

    /// Lowercase words (letters and digits).
    static func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        for c in s.lowercased() {
            if c.isLetter || c.isNumber { cur.append(c) } else if !cur.isEmpty { out.append(cur); cur = "" }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// Pair entries with fewer titles than this are dropped on big catalogs (memory).
    static let minPairCount = 2
    static let maxEntries = 2_000_000

    static func build(from s: Searcher, deadline: Date? = nil) throws -> SuggestDictionary {
        let schema = s.layout.schema
        var uni: [String: Int] = [:]
        var bi: [String: Int] = [:]
        var docs = 0
        if let title = schema.ordinal(of: ProductFields.title) ?? schema.fields.firstIndex(where: { $0.type == .text && $0.isStored }) {
            try s.forEachStored(field: title) { _, v in
                guard case .string(let t) = v else { return }
                docs += 1
                let w = words(t)
                var seen = Set<String>()
                for x in w where seen.insert(x).inserted { uni[x, default: 0] += 1 }
                var pairs = Set<String>()
                if w.count > 1 { for i in 0..<(w.count - 1) { pairs.insert(w[i] + " " + w[i + 1]) } }
                for p in pairs { bi[p, default: 0] += 1 }
            }
        }
        let keepPairs = bi.count > 200_000 ? minPairCount : 1
        var names: [String: Int] = [:]
        for f in [ProductFields.brand, ProductFields.categoryPath] {
            guard let o = schema.ordinal(of: f), schema.fields[o].isKeywordIndexed, s.layout.ordinalColumns.contains(o) else { continue }
            let r = try s.search(SearchSpec(query: .matchAll, facets: [FacetSpec(field: o, kind: .terms(size: 1_000_000))], limit: 0))
            for c in r.facets[0].values {
                let levels = f == ProductFields.categoryPath ? c.value.components(separatedBy: " > ") : [c.value]
                for l in levels {
                    let k = words(l).joined(separator: " ")
                    if !k.isEmpty { names[k, default: 0] += c.count }
                }
            }
        }
        let searchable = [ProductFields.brand, ProductFields.category].allSatisfy { f in schema.ordinal(of: f).map { schema.fields[$0].type == .text } ?? false }
        return SuggestDictionary(unigrams: uni.map { Entry(key: $0.key, count: $0.value) },
                                 bigrams: bi.compactMap { $0.value >= keepPairs ? Entry(key: $0.key, count: $0.value) : nil }.prefix(maxEntries).map { $0 },
                                 names: names.map { Entry(key: $0.key, count: $0.value) }, documents: docs, namesSearchable: searchable)
    }

    /// Entries whose key starts with `prefix`, most frequent first (at most `k`, scanning at most `scan`).
    static func completions(_ list: [Entry], prefix: String, k: Int, scan: Int = 20_000) -> [Entry] {
        var lo = 0, hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid].key < prefix { lo = mid + 1 } else { hi = mid }
        }
        var best: [Entry] = []
        var i = lo, n = 0
        while i < list.count, n < scan, list[i].key.hasPrefix(prefix) {
            let e = list[i]
            if best.count < k || e.count > best[best.count - 1].count {
                var j = best.count
                while j > 0 && best[j - 1].count < e.count { j -= 1 }
                best.insert(e, at: j)
                if best.count > k { best.removeLast() }
            }
            i += 1
            n += 1
        }
        return best
    }

    func contains(_ word: String) -> Bool {
        var lo = 0, hi = unigrams.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if unigrams[mid].key < word { lo = mid + 1 } else { hi = mid }
        }
        return lo < unigrams.count && unigrams[lo].key == word
    }

    /// The most frequent known word within the typo distance of `word` (1 edit from 4 letters, 2
    /// from 8), or nil.
    func correction(_ word: String) -> String? {
        let chars = Array(word)
        guard chars.count >= 4, let first = chars.first, let candidates = byFirst[first] else { return nil }
        let maxEdits = chars.count >= 8 ? 2 : 1
        var best: Entry?
        for i in candidates {
            let e = unigrams[i]
            let c = Array(e.key)
            guard abs(c.count - chars.count) <= maxEdits else { continue }
            if Self.distance(chars, c, max: maxEdits) <= maxEdits, best.map({ e.count > $0.count }) ?? true { best = e }
        }
        return best?.key
    }

    /// Damerau-Levenshtein (adjacent transpositions), stopping past `max`.
    static func distance(_ a: [Character], _ b: [Character], max limit: Int) -> Int {
        if a == b { return 0 }
        let n = a.count, m = b.count
        if n == 0 || m == 0 { return Swift.max(n, m) }
        var prev2 = [Int](repeating: 0, count: m + 1)
        var prev = Array(0...m)
        var cur = [Int](repeating: 0, count: m + 1)
        for i in 1...n {
            cur[0] = i
            var rowMin = cur[0]
            for j in 1...m {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] { v = min(v, prev2[j - 2] + 1) }
                cur[j] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > limit { return limit + 1 }
            prev2 = prev
            prev = cur
        }
        return prev[m]
    }
}

/// Autocomplete over a search service: suggestions (whole queries, never one without results),
/// products for the query with its last word as a prefix, and categories with counts.
public final class Suggester: Sendable {
    public let service: SearchService
    final class WeakSearcher: @unchecked Sendable {
        weak var searcher: Searcher?
        init(_ s: Searcher) { searcher = s }
    }
    private struct State {
        var dictionary = SuggestDictionary.empty
        var builtFor: ObjectIdentifier?
        var source: WeakSearcher?
        var builtAt = Date.distantPast
        var building = false
        /// The first dictionary has been built and the memo warmed with its most frequent words.
        var warmed = false
    }
    private let state = Mutex(State())
    /// A new snapshot rebuilds the dictionary at most this often (seconds).
    public let rebuildInterval: Double

    /// Searches and products remembered per snapshot at most (0: nothing remembered).
    public let memoEntries: Int
    public static let defaultMemoEntries = 200_000

    public init(service: SearchService, rebuildInterval: Double = 300, memoEntries: Int = Suggester.defaultMemoEntries) {
        self.service = service
        self.memoEntries = max(0, memoEntries)
        self.rebuildInterval = rebuildInterval
    }

    /// Remembered searches of one snapshot.
    struct Memo {
        struct Outcome: Sendable {
            var hits: [(doc: Int, score: Float)]
            var total: Int
            var exact: Bool
        }
        struct Product: Sendable {
            var id: String
            var fields: [(name: String, value: StoredValue)]
            var category: String?
        }
        var source: WeakSearcher?
        var entries: [String: Outcome] = [:]
        var products: [Int: Product] = [:]
    }
    private let memoState = Mutex(Memo())

    /// Past queries that led to clicks and sales, normalized (lowercase words joined by one
    /// space), sorted by key for prefix look-ups, each with its weight.
    private let popular = Mutex<[SuggestDictionary.Entry]>([])
    /// Past queries are offered before the catalog's phrases, the most engaging first.
    public static let popularBase = 1e12

    /// Replaces the past queries offered as suggestions: each with how much it led to clicks and
    /// sales (the caller weighs them; `AnalyticsReports.queryEngagement` in a server). Queries
    /// are normalized like what is typed; weights of the same normalized query add up; entries
    /// with a weight of zero or less are dropped. At most `maxPopular` are kept (the heaviest).
    public func setPopularQueries(_ queries: [(query: String, weight: Double)]) {
        var merged: [String: Double] = [:]
        for q in queries where q.weight > 0 && q.weight.isFinite {
            let key = SuggestDictionary.words(q.query).joined(separator: " ")
            if !key.isEmpty, key.utf8.count <= 200 { merged[key, default: 0] += q.weight }
        }
        var list = merged.map { (key: $0.key, weight: $0.value) }
        if list.count > Self.maxPopular {
            list.sort { $0.weight > $1.weight || ($0.weight == $1.weight && $0.key < $1.key) }
            list = Array(list.prefix(Self.maxPopular))
        }
        // Weights become integer counts for the dictionary's prefix look-up (kept in order: × 1000).
        let entries = list.map { SuggestDictionary.Entry(key: $0.key, count: Int(min($0.weight * 1000, 1e15).rounded())) }
            .sorted { $0.key < $1.key }
        popular.withLock { $0 = entries }
    }

    public static let maxPopular = 100_000

    /// How many past queries are held.
    public var popularCount: Int { popular.withLock { $0.count } }

    func memo(_ s: Searcher, _ key: String) -> Memo.Outcome? {
        guard memoEntries > 0 else { return nil }
        return memoState.withLock { m in m.source?.searcher === s ? m.entries[key] : nil }
    }

    func remember(_ s: Searcher, _ key: String, _ o: Memo.Outcome) {
        guard memoEntries > 0 else { return }
        memoState.withLock { m in
            if m.source?.searcher !== s || m.entries.count >= memoEntries || m.products.count >= memoEntries {
                m.entries.removeAll(keepingCapacity: true)
                m.products.removeAll(keepingCapacity: true)
                m.source = WeakSearcher(s)
            }
            m.entries[key] = o
        }
    }

    /// Whether `dict` holds the phrases of exactly this snapshot.
    func current(_ dict: SuggestDictionary, _ s: Searcher) -> Bool {
        state.withLock { $0.dictionary === dict && $0.source?.searcher === s }
    }

    /// Starts reading the catalog's phrases in the background (the first requests answer
    /// products and categories meanwhile).
    public func warm() { _ = dictionary() }

    /// Builds the phrase dictionary now (blocking), for tests and start-up.
    public func prepare() throws {
        let s = service.searcher
        let d = try SuggestDictionary.build(from: s)
        state.withLock {
            $0.dictionary = d
            $0.builtFor = ObjectIdentifier(s)
            $0.source = WeakSearcher(s)
            $0.builtAt = Date()
        }
        warm(d)
    }

    /// Words whose autocomplete answers are computed ahead, when the phrases have been read.
    public static let warmWords = 2_000

    /// Runs autocomplete for the catalog's most frequent words, so the memo holds their products,
    /// category counts and product fields before shoppers type them (the most expensive keystrokes:
    /// the commonest words have the longest postings). Nothing when the memo is off.
    func warm(_ d: SuggestDictionary) {
        defer { state.withLock { $0.warmed = true } }
        guard memoEntries > 0 else { return }
        var top = d.unigrams.filter { $0.key.count >= 2 }
        top.sort { $0.count > $1.count || ($0.count == $1.count && $0.key < $1.key) }
        for e in top.prefix(Self.warmWords) { _ = try? suggest(SuggestRequest(q: e.key)) }
    }

    /// The dictionary, with a background rebuild started when the snapshot changed long enough ago.
    @discardableResult
    func dictionary() -> (SuggestDictionary, ready: Bool) {
        let s = service.searcher
        let (d, start, ready): (SuggestDictionary, Bool, Bool) = state.withLock { st in
            let stale = st.builtFor != ObjectIdentifier(s) && (st.builtFor == nil || Date().timeIntervalSince(st.builtAt) >= rebuildInterval)
            let start = stale && !st.building
            if start { st.building = true }
            return (st.dictionary, start, st.builtFor != nil && st.warmed)
        }
        if start {
            DispatchQueue.global(qos: .utility).async { [self] in
                let built = try? SuggestDictionary.build(from: s)
                state.withLock {
                    if let built {
                        $0.dictionary = built
                        $0.builtFor = ObjectIdentifier(s)
                        $0.source = WeakSearcher(s)
                    }
                    $0.builtAt = Date()
                    $0.building = false
                }
                if let built { warm(built) }
            }
        }
        return (d, ready)
    }

    public func suggest(_ r: SuggestRequest, deadline: SearchDeadline? = nil) throws -> SuggestResponse {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try r.validate()
        let (dict, ready) = dictionary()
        var words = SuggestDictionary.words(r.q)
        let open = !(r.q.last.map { $0 == " " || $0 == "\t" } ?? true)   // the last word is still being typed
        let partial = open ? (words.popLast() ?? "") : ""
        // Finished words: typos corrected against the catalog's words.
        let finished = words.map { dict.contains($0) ? $0 : (dict.correction($0) ?? $0) }
        let typed = SuggestDictionary.words(r.q).joined(separator: " ")
        var response = SuggestResponse(suggestions: [], products: [], categories: [], productQuery: "", tookMicros: 0)
        if !ready { response.warnings.append("suggestions are being prepared from the catalog (its phrases read, its most frequent words answered ahead); products and categories are already answered") }
        guard !finished.isEmpty || !partial.isEmpty else {
            response.tookMicros = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
            return response
        }

        // Candidates: the partial word completed after the previous word (title word pairs), on its
        // own (title words), and brand and category names that start with everything typed.
        // `known`: the phrase itself is in the catalog (a title's word or word pair, a name), so
        // while the phrases are those of the snapshot searched it has results without a search.
        var candidates: [(text: String, score: Double, known: Bool)] = []
        let want = r.limit * 2
        let prefixText = finished.joined(separator: " ")
        func add(_ text: String, _ score: Double, known: Bool) {
            if !candidates.contains(where: { $0.text == text }) { candidates.append((text, score, known)) }
        }
        // Past queries that led to clicks and sales and start with what was typed (as typed, and
        // with typos corrected), the most engaging first: checked for results like any other.
        let pastQueries = popular.withLock { $0 }
        if !pastQueries.isEmpty {
            var prefixes = [words + (partial.isEmpty ? [] : [partial])]
            if finished != words { prefixes.append(finished + (partial.isEmpty ? [] : [partial])) }
            for ws in prefixes {
                var p = ws.joined(separator: " ")
                if !open && !p.isEmpty { p += " " }   // a finished last word: only queries that go on after it
                for e in SuggestDictionary.completions(pastQueries, prefix: p, k: r.limit) {
                    add(e.key, Self.popularBase + Double(e.count), known: false)
                }
            }
        }
        for e in SuggestDictionary.completions(dict.names, prefix: (finished + (partial.isEmpty ? [] : [partial])).joined(separator: " "), k: 3) {
            add(e.key, Double(e.count) * 2, known: dict.namesSearchable)
        }
        if let prev = finished.last {
            let pairPrefix = prev + " " + partial
            for e in SuggestDictionary.completions(dict.bigrams, prefix: pairPrefix, k: want) {
                let second = String(e.key.split(separator: " ").last ?? "")
                add((finished + [second]).joined(separator: " "), Double(e.count), known: finished.count == 1)
            }
        }
        if !partial.isEmpty {
            // A word already typed is not suggested again (`wood w` → not `wood wood`).
            for e in SuggestDictionary.completions(dict.unigrams, prefix: partial, k: want) where !finished.contains(e.key) {
                add((finished + [e.key]).joined(separator: " "), Double(e.count) * (finished.isEmpty ? 1 : 0.01), known: finished.isEmpty)
            }
        }
        candidates.sort { $0.score > $1.score || ($0.score == $1.score && $0.text < $1.text) }

        // Queries run on the index directly: each word's terms in every text group (what `q`
        // searches), without the typo and synonym look-ups of a full search: autocomplete runs
        // on every keystroke.
        let searcher = service.searcher
        let current = current(dict, searcher)
        let ctx = try service.context(searcher)
        let layout = searcher.layout
        func wordQuery(_ word: String) -> Query? {
            var alternatives: [Query] = []
            for g in layout.textGroups.indices {
                let ts = ctx.parserAnd.analyze(word, group: g).map { Query.term(TermQuery(slot: g, term: $0.term)) }
                if ts.isEmpty { continue }
                alternatives.append(ts.count == 1 ? ts[0] : .boolean(BooleanQuery(must: ts)))
            }
            return alternatives.isEmpty ? nil : alternatives.count == 1 ? alternatives[0] : .disMax(DisMaxQuery(clauses: alternatives))
        }
        func phraseQuery(_ ws: [String]) -> Query? {
            let parts = ws.compactMap(wordQuery)
            return parts.isEmpty ? nil : parts.count == 1 ? parts[0] : .boolean(BooleanQuery(must: parts))
        }
        // Searches are remembered per snapshot by what they ask (a phrase, a completion, a
        // category): the keystrokes of one query share them (`patio m`, `patio ma`, … all show
        // `patio mats`).
        func run(_ spec: SearchSpec, key: String?) throws -> Memo.Outcome {
            if let key, let hit = memo(searcher, key) { return hit }
            var spec = spec
            spec.deadline = deadline
            do {
                let o = try searcher.search(spec)
                let out = Memo.Outcome(hits: o.hits.map { ($0.doc, $0.score) }, total: o.totalHits, exact: o.totalIsExact)
                if let key { remember(searcher, key, out) }
                return out
            } catch let e as IndexError {
                if case .invalidQuery(let m) = e { throw EngineError.badRequest(m) }
                throw e
            }
        }

        // Never a suggestion without results: one not known to have some is searched (every word
        // required) first.
        for c in candidates where response.suggestions.count < r.limit {
            guard let q = phraseQuery(c.text.split(separator: " ").map(String.init)) else { continue }
            if !(c.known && current) {
                guard try run(SearchSpec(query: q, limit: 0, trackTotalHits: .upTo(1)), key: "x\u{1}" + c.text).total > 0 else { continue }
            }
            var common = 0
            for (a, b) in zip(c.text, typed) {
                guard a == b else { break }
                common += 1
            }
            response.suggestions.append(Suggestion(text: c.text, completionStart: common))
        }

        // Products: the finished words with the partial word completed (or, while the phrases are
        // being read, as a prefix of the index's terms). Each completion is its own conjunction
        // (the fast, pruned path).
        let head = finished.compactMap(wordQuery)
        var queries: [Query] = []
        var keys: [String?] = []
        var shown = prefixText
        if partial.isEmpty {
            if !head.isEmpty {
                queries = [head.count == 1 ? head[0] : .boolean(BooleanQuery(must: head))]
                keys = ["p\u{1}" + finished.joined(separator: " ") + "\u{1}" + String(r.limit)]
            }
        } else {
            // Completions in the order of the suggestions (the likeliest first), then by frequency.
            var completions: [String] = []
            for sug in response.suggestions {
                let ws = sug.text.split(separator: " ").map(String.init)
                if ws.count == finished.count + 1, Array(ws.dropLast()) == finished, let last = ws.last, last.hasPrefix(partial),
                   !completions.contains(last) { completions.append(last) }
            }
            for e in SuggestDictionary.completions(dict.unigrams, prefix: partial, k: Self.prefixCompletions) where !completions.contains(e.key) {
                completions.append(e.key)
            }
            completions = Array(completions.prefix(Self.prefixCompletions))
            if completions.isEmpty, let fixed = dict.correction(partial) { completions = [fixed] }
            if completions.isEmpty && !ready {
                for g in layout.textGroups.indices {
                    queries.append(.boolean(BooleanQuery(must: head + [.prefix(PrefixQuery(slot: g, prefix: Array(partial.utf8), maxExpansions: Self.prefixCompletions))])))
                    keys.append(nil)
                }
            }
            for c in completions {
                // A completion that repeats a finished word (`wood w` → `wood`) asks for nothing
                // more than the finished words: it is their search (and shares its memo).
                if finished.contains(c) {
                    if !head.isEmpty {
                        queries.append(head.count == 1 ? head[0] : .boolean(BooleanQuery(must: head)))
                        keys.append("p\u{1}" + finished.joined(separator: " ") + "\u{1}" + String(r.limit))
                    }
                    continue
                }
                guard let w = wordQuery(c) else { continue }
                queries.append(head.isEmpty ? w : .boolean(BooleanQuery(must: head + [w])))
                keys.append("p\u{1}" + (finished + [c]).joined(separator: " ") + "\u{1}" + String(r.limit))
            }
            shown += (shown.isEmpty ? "" : " ") + partial + "*"
        }
        response.productQuery = shown
        // The completions' searches in that order, until the page is full: the products of the
        // likeliest completion first, each search's hits by score.
        var seen = Set<Int>()
        var ranked: [(key: Int, value: Float)] = []
        for (q, key) in zip(queries, keys) where ranked.count < max(r.limit, Self.categorySample) {
            for h in try run(SearchSpec(query: q, limit: r.limit, trackTotalHits: .upTo(0)), key: key).hits where seen.insert(h.doc).inserted {
                ranked.append((h.doc, h.score))
            }
            if ranked.count >= r.limit { break }
        }
        let wanted: Set<String> = [ProductFields.title, ProductFields.brand, ProductFields.price, ProductFields.inStock]
        // A product's id, shown fields and category, read once per snapshot.
        func product(_ doc: Int) throws -> Memo.Product {
            if memoEntries > 0, let p = memoState.withLock({ m in m.source?.searcher === searcher ? m.products[doc] : nil }) { return p }
            var category: String?
            if layout.schema.ordinal(of: ProductFields.categoryPath) != nil {
                for (n, v) in try searcher.docValueFields(of: doc, named: [ProductFields.categoryPath]) where n == ProductFields.categoryPath {
                    if case .string(let c) = v { category = c }
                }
            }
            let p = Memo.Product(id: try searcher.id(of: doc), fields: try service.displayFields(doc: doc, wanted: wanted, in: searcher),
                                 category: category)
            memoState.withLock { m in if m.source?.searcher === searcher { m.products[doc] = p } }
            return p
        }
        for (doc, score) in ranked.prefix(r.limit) {
            let p = try product(doc)
            response.products.append(SearchHit(doc: doc, id: p.id, score: score, sortValue: nil, fields: p.fields, explanation: nil))
        }
        // Categories: the most common among the best matches, each counted over the matches of
        // the query (up to `maxCategoryCount`).
        if let cf = layout.schema.ordinal(of: ProductFields.categoryPath), layout.ordinalColumns.contains(cf), !queries.isEmpty {
            var sample: [String: Int] = [:]
            for (doc, _) in ranked.prefix(Self.categorySample) {
                if let c = try product(doc).category { sample[c, default: 0] += 1 }
            }
            // Counted for the top suggestion (what a shopper picking it gets), else the best completion.
            let all: Query = response.suggestions.first.flatMap { phraseQuery($0.text.split(separator: " ").map(String.init)) } ?? queries[0]
            let allKey = response.suggestions.first.map { "c\u{1}" + $0.text } ?? keys[0].map { "c\u{1}" + $0 }
            for (c, _) in sample.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }).prefix(Self.categories) {
                let o = try run(SearchSpec(query: all, filters: [Filter(field: cf, kind: .anyOf([c]))], limit: 0,
                                           trackTotalHits: .upTo(Self.maxCategoryCount)), key: allKey.map { $0 + "\u{1}" + c })
                response.categories.append((c, o.total, o.exact))
            }
            response.categories.sort { $0.count > $1.count || ($0.count == $1.count && $0.value < $1.value) }
        }
        response.tookMicros = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
        return response
    }

    /// Completions of the partial word searched for products.
    static let prefixCompletions = 6
    /// Best matches whose categories are looked at, categories shown, and the most a category count counts.
    static let categorySample = 40
    static let categories = 4
    static let maxCategoryCount = 1_000

    public static func json(_ r: SuggestResponse, into w: inout JSONWriter) {
        w.raw("{\"suggestions\":[")
        for (i, s) in r.suggestions.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"text\":"); w.string(s.text)
            w.raw(",\"completion_start\":"); w.number(s.completionStart)
            w.raw("}")
        }
        w.raw("],\"products\":[")
        for (i, h) in r.products.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"id\":"); w.string(h.id)
            w.raw(",\"score\":"); w.number(h.score)
            for (n, v) in h.fields where n != "id" {
                w.raw(","); w.key(n); w.value(v.json)
            }
            w.raw("}")
        }
        w.raw("],\"categories\":[")
        for (i, c) in r.categories.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"value\":"); w.string(c.value)
            w.raw(",\"count\":"); w.number(c.count)
            if !c.exact { w.raw(",\"count_is_lower_bound\":true") }
            w.raw("}")
        }
        w.raw("],\"query\":"); w.string(r.productQuery)
        if !r.warnings.isEmpty {
            w.raw(",\"warnings\":")
            w.value(.array(r.warnings.map { .string($0) }))
        }
        w.raw(",\"took_us\":"); w.number(r.tookMicros)
        w.raw("}")
    }
}
