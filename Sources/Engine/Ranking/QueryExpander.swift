import Foundation
import AisleAnalyzer
import AisleIndex

/// Rewrites a run of plain query words with the index's dictionary (`RankingOptions`):
///
/// - **typo tolerance**: a word the index does not know (or, optionally, a rare one) also searches
///   the most frequent dictionary terms within one edit (two for long words; transpositions count
///   one). Words with digits (numbers, sizes, model codes) are never corrected.
/// - **compounds**: an unknown word also searches its best split into two known words as a phrase
///   (`tvstand` → "tv stand"); two adjacent words also search their concatenation when the index
///   knows it (`dish washer` → dishwasher).
/// - **synonyms**: spans of the analysed words matching a rule also search the rule's alternatives
///   (as phrases when they have several words).
/// - **proximity**: adjacent words found close together in a field add a phrase score.
///
/// Alternatives never replace what was typed; they are optional clauses with lower weights.
public struct QueryExpander {
    public let searcher: Searcher
    public let options: RankingOptions
    /// Compiled synonyms per text group (nil: none).
    public let synonyms: [SynonymMap?]
    /// Typo look-ups and compound phrase counts left for this query (nil: unbounded); when they run
    /// out, the remaining words are searched as typed.
    public var probes: ProbeBudget?
    /// Unknown words longer than this (bytes) are not split into compounds.
    public var maxCompoundWordBytes = Int.max
    /// The search's deadline; the rewriting stops with `IndexError.timedOut` past it.
    public var deadline: SearchDeadline?

    public init(searcher: Searcher, options: RankingOptions, synonyms: [SynonymMap?] = [],
                probes: ProbeBudget? = nil, maxCompoundWordBytes: Int = Int.max, deadline: SearchDeadline? = nil) {
        self.searcher = searcher
        self.options = options
        self.synonyms = synonyms
        self.probes = probes
        self.maxCompoundWordBytes = maxCompoundWordBytes
        self.deadline = deadline
    }

    /// One probe from the budget, after checking the deadline.
    func probe() throws -> Bool {
        try deadline?.check()
        return probes?.take() ?? true
    }

    /// What a run of words became: one clause per analysed word (each the word or its
    /// alternatives), to be combined with the query's operator, and optional clauses that only add
    /// score (or, under OR, also match).
    public struct Expansion {
        public var clauses: [Query] = []
        public var optional: [Query] = []
        /// The analysed terms of the words as typed.
        public var typed: [[UInt8]] = []
    }

    struct Token {
        var term: [UInt8]
        var position: Int32
        var start: Int
        var end: Int
        var docFrequency: Int
    }

    static func hasDigit<C: Collection>(_ s: C) -> Bool where C.Element == UInt8 { s.contains { $0 >= 0x30 && $0 <= 0x39 } }

    func analyze(_ analyzer: any TextAnalyzer, _ text: String) -> [(term: [UInt8], position: Int32, start: Int, end: Int)] {
        var out: [(term: [UInt8], position: Int32, start: Int, end: Int)] = []
        _ = analyzer.analyze(text, firstPosition: 0) { t, p, s, e in out.append((Array(t), p, Int(s), Int(e))) }
        return out
    }

    /// Expands `words` (plain, unqualified) in text group `group`. `and`: every word is required.
    func expand(words: [String], group: Int, mask: FieldMask?, analyzer: any TextAnalyzer, and: Bool, cache: AnalysisCache) throws -> Expansion {
        let text = words.joined(separator: " ")
        let bytes = Array(text.utf8)
        var tokens: [Token] = []
        var seen = Set<[UInt8]>()
        for a in cache.tokens(text, group: group, with: analyzer) where seen.insert(a.term).inserted {   // a repeated word counts once
            tokens.append(Token(term: a.term, position: a.position, start: a.start, end: a.end,
                                docFrequency: try searcher.docFrequency(slot: group, term: a.term)))
        }
        var out = Expansion()
        out.typed = tokens.map { $0.term }
        if tokens.isEmpty { return out }
        func term(_ t: [UInt8], _ boost: Double = 1) -> Query { .term(TermQuery(slot: group, term: t, fields: mask, boost: Float(boost))) }
        func phrase(_ ts: [[UInt8]], positions: [Int32]? = nil, slop: Int = 0, boost: Double) -> Query {
            ts.count == 1 ? term(ts[0], boost)
                : .phrase(PhraseQuery(slot: group, terms: ts, positions: positions, slop: slop, fields: mask, boost: Float(boost)))
        }
        func single(_ s: String) -> [UInt8]? {
            let a = analyze(analyzer, s)
            return a.count == 1 ? a[0].term : nil
        }
        // Document frequencies are looked up once per expansion (the words' own are known already).
        var dfs = Dictionary(tokens.map { ($0.term, $0.docFrequency) }, uniquingKeysWith: { a, _ in a })
        func known(_ t: [UInt8]) throws -> Int {
            if let n = dfs[t] { return n }
            let n = try searcher.docFrequency(slot: group, term: t)
            dfs[t] = n
            return n
        }
        func isLetters<C: Collection>(_ s: C) -> Bool where C.Element == UInt8 {
            s.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || $0 >= 0x80 }
        }

        // Joins: adjacent words whose concatenation the index knows (`dish washer` → dishwasher).
        var joins: [Int: [UInt8]] = [:]
        if options.compounds && tokens.count >= 2 {
            for i in 0..<(tokens.count - 1) where tokens[i + 1].position == tokens[i].position + 1 {
                let a = bytes[tokens[i].start..<tokens[i].end], b = bytes[tokens[i + 1].start..<tokens[i + 1].end]
                guard isLetters(a), isLetters(b), a.count >= 2, b.count >= 2,
                      let t = single(String(decoding: a + b, as: UTF8.self)), try known(t) >= 2 else { continue }
                joins[i] = t
            }
        }

        // One clause per word: the word and its alternatives, the best one counting.
        var clauseTerms: [[[UInt8]]] = []     // per clause, its terms (for proximity)
        for (i, tok) in tokens.enumerated() {
            let original = bytes[tok.start..<tok.end]
            if tok.docFrequency == 0 && options.compounds && original.count >= 5 && original.count <= maxCompoundWordBytes
                && isLetters(original) {
                // An unknown word that is two known words written together, as the index has them side by side.
                var best: (a: [UInt8], b: [UInt8], n: Int)?
                let s = Array(original)
                for cut in 2...(s.count - 2) {
                    guard let a = single(String(decoding: s[0..<cut], as: UTF8.self)),
                          let b = single(String(decoding: s[cut...], as: UTF8.self)),
                          try known(a) > 0, try known(b) > 0 else { continue }
                    guard try probe() else { break }
                    let together = try searcher.search(phrase([a, b], boost: 1), limit: 0, trackTotalHits: .exact,
                                                       deadline: deadline).totalHits
                    if together > 0 && together > (best?.n ?? 0) { best = (a, b, together) }
                }
                if let best {
                    out.clauses.append(term(best.a, options.compoundWeight))
                    out.clauses.append(term(best.b, options.compoundWeight))
                    clauseTerms.append([best.a])
                    clauseTerms.append([best.b])
                    continue
                }
            }
            var alts: [(term: [UInt8], weight: Double)] = [(tok.term, 1)]
            let rare = options.typoRareDocs > 0 && tok.docFrequency > 0 && tok.docFrequency <= options.typoRareDocs
            if options.typo && (tok.docFrequency == 0 || rare) && original.count >= options.typoMinLength && isLetters(original),
               try probe() {
                let edits = original.count >= options.typoTwoEdits ? 2 : 1
                var cands = try searcher.fuzzyTerms(slot: group, term: tok.term, maxEdits: edits, prefixLength: 0, limit: 64)
                    .filter { !Self.hasDigit($0.term) }
                    .map { (c: $0, score: Double($0.docFrequency) * ($0.edits == 1 ? 1 : 0.2)) }
                if let top = cands.map({ $0.score }).max(), top > 0 {
                    cands = cands.filter { $0.score >= options.typoKeep * top }
                        .sorted { $0.score > $1.score || ($0.score == $1.score && compareBytes($0.c.term, $1.c.term)) }
                    for (c, score) in cands.prefix(options.typoCandidates) {
                        if rare && Double(c.docFrequency) < options.typoRareRatio * Double(tok.docFrequency) { continue }
                        alts.append((c.term, options.typoWeight * (score / top).squareRoot()))
                    }
                }
            }
            if options.synonyms, group < synonyms.count, let map = synonyms[group] {
                for alt in map.alternatives([tok.term][...]) where alt.count == 1 { alts.append((alt[0], options.synonymWeight)) }
            }
            // The joined word is an alternative of the first of the two words only (not counted twice).
            if let j = joins[i] { alts.append((j, options.compoundWeight)) }
            // Each term once, at its best weight.
            var best: [[UInt8]: Double] = [:]
            var order: [[UInt8]] = []
            for (t, w) in alts {
                if let old = best[t] { best[t] = max(old, w) } else { best[t] = w; order.append(t) }
            }
            let qs = order.map { term($0, best[$0]!) }
            out.clauses.append(qs.count == 1 ? qs[0] : .disMax(DisMaxQuery(clauses: qs)))
            clauseTerms.append(order)
        }

        // Synonyms over several words: optional phrases.
        if options.synonyms, group < synonyms.count, let map = synonyms[group], !map.isEmpty {
            for m in map.matches(in: tokens.map { $0.term }) where m.length > 1 || m.alternatives.contains(where: { $0.count > 1 }) {
                for alt in m.alternatives where !(m.length == 1 && alt.count == 1) {
                    out.optional.append(phrase(alt, boost: options.synonymWeight))
                }
            }
        }

        // Proximity: consecutive words (or their alternatives) found side by side add a fixed bonus,
        // `proximityBoost` times the query's mean word weight (idf times the group's top field boost).
        if options.proximityBoost > 0 && clauseTerms.count >= 2 {
            let n = Double(max(searcher.docCount, 1))
            var idfs: [Double] = []
            var knownTerms: [[[UInt8]]] = []
            for ts in clauseTerms {
                var best = 0.0
                var k: [[UInt8]] = []
                for t in ts {
                    let df = try known(t)
                    guard df > 0 else { continue }
                    k.append(t)
                    best = max(best, log(1 + (n - Double(df) + 0.5) / (Double(df) + 0.5)))
                }
                idfs.append(best)
                knownTerms.append(Array(k.prefix(3)))
            }
            let fieldBoost = searcher.layout.textGroups[group].fields.map { Double(searcher.schema.fields[$0].effectiveBoost) }.max() ?? 1
            let bonus = options.proximityBoost * idfs.reduce(0, +) / Double(idfs.count) * fieldBoost
            // An index with word pairs (`PairTerms`) answers "a b side by side" from the pair's own
            // postings: the same documents as the phrase, without reading positions. Pairs no
            // document holds are dropped.
            let usePairs = options.proximitySlop == 0 && searcher.layout.textGroups[group].pairs
            for i in 0..<(knownTerms.count - 1) where !knownTerms[i].isEmpty && !knownTerms[i + 1].isEmpty && bonus > 0 {
                var pairs: [Query] = []
                for a in knownTerms[i] {
                    for b in knownTerms[i + 1] {
                        if usePairs, let pt = PairTerms.term(a, b) {
                            if try known(pt) > 0 { pairs.append(term(pt)) }
                        } else {
                            pairs.append(phrase([a, b], slop: options.proximitySlop, boost: 1))
                        }
                    }
                }
                guard !pairs.isEmpty else { continue }
                out.optional.append(.constant(ConstantQuery(query: pairs.count == 1 ? pairs[0] : .disMax(DisMaxQuery(clauses: pairs)),
                                                            score: Float(bonus))))
            }
        }

        if !and && options.coordination && out.clauses.count > 1 && out.clauses.count <= options.coordinationMaxWords {
            out.clauses = [.boolean(BooleanQuery(should: out.clauses, coordination: true))]
        }
        return out
    }
}

@inline(__always) func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
