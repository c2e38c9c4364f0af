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

    public init(searcher: Searcher, options: RankingOptions, synonyms: [SynonymMap?] = []) {
        self.searcher = searcher
        self.options = options
        self.synonyms = synonyms
    }

    /// What a run of words became: one clause per analysed word (each the word or its
    /// alternatives), to be combined with the query's operator, and optional clauses that only add
    /// score (or, under OR, also match).
    public struct Expansion {
        public var clauses: [Query] = []
        public var optional: [Query] = []
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
    public func expand(words: [String], group: Int, mask: FieldMask?, analyzer: any TextAnalyzer, and: Bool) throws -> Expansion {
        let text = words.joined(separator: " ")
        let bytes = Array(text.utf8)
        let analysed = analyze(analyzer, text)
        var tokens: [Token] = []
        for a in analysed {
            tokens.append(Token(term: a.term, position: a.position, start: a.start, end: a.end,
                                docFrequency: try searcher.docFrequency(slot: group, term: a.term)))
        }
        var out = Expansion()
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
        func known(_ t: [UInt8]) throws -> Int { try searcher.docFrequency(slot: group, term: t) }

        // Per word: the word and its alternatives.
        for tok in tokens {
            var alts: [Query] = [term(tok.term)]
            let original = bytes[tok.start..<tok.end]
            if tok.docFrequency == 0 && options.compounds && original.count >= 5 {
                // The best split into two known words (by the rarer half's frequency).
                var best: (a: [UInt8], b: [UInt8], df: Int)?
                let s = Array(original)
                for cut in 2...(s.count - 2) {
                    guard let a = single(String(decoding: s[0..<cut], as: UTF8.self)),
                          let b = single(String(decoding: s[cut...], as: UTF8.self)) else { continue }
                    let df = min(try known(a), try known(b))
                    if df > 0 && df > (best?.df ?? 0) { best = (a, b, df) }
                }
                if let best { alts.append(phrase([best.a, best.b], boost: options.compoundWeight)) }
            }
            let rare = options.typoRareDocs > 0 && tok.docFrequency <= options.typoRareDocs
            if options.typo && (tok.docFrequency == 0 || rare) && original.count >= options.typoMinLength && !Self.hasDigit(original) {
                let edits = original.count >= options.typoTwoEdits ? 2 : 1
                var cands = try searcher.fuzzyTerms(slot: group, term: tok.term, maxEdits: edits, prefixLength: 0,
                                                    limit: options.typoCandidates * 4)
                cands = cands.filter { !Self.hasDigit($0.term) }
                if tok.docFrequency > 0 {
                    cands = cands.filter { Double($0.docFrequency) >= options.typoRareRatio * Double(tok.docFrequency) }
                }
                for c in cands.prefix(options.typoCandidates) {
                    alts.append(term(c.term, c.edits == 1 ? options.typoWeight : options.typoWeight * 0.75))
                }
            }
            out.clauses.append(alts.count == 1 ? alts[0] : .boolean(BooleanQuery(should: alts)))
        }

        // Spans over several words: joined compounds and synonyms.
        var spans: [(start: Int, length: Int, alternatives: [Query])] = []
        if options.compounds && tokens.count >= 2 {
            for i in 0..<(tokens.count - 1) where tokens[i + 1].position == tokens[i].position + 1 {
                let joined = String(decoding: bytes[tokens[i].start..<tokens[i].end] + bytes[tokens[i + 1].start..<tokens[i + 1].end], as: UTF8.self)
                guard let t = single(joined), try known(t) > 0 else { continue }
                spans.append((i, 2, [term(t, options.compoundWeight)]))
            }
        }
        if options.synonyms, group < synonyms.count, let map = synonyms[group], !map.isEmpty {
            for m in map.matches(in: tokens.map { $0.term }) {
                spans.append((m.start, m.length, m.alternatives.map { phrase($0, boost: options.synonymWeight) }))
            }
        }
        if and {
            // Non-overlapping spans, longest first: the span's words, or one of its alternatives.
            var taken = Array(repeating: false, count: tokens.count)
            var replaced: [Int: Query] = [:]
            for s in spans.sorted(by: { $0.length > $1.length || ($0.length == $1.length && $0.start < $1.start) }) {
                let range = s.start..<(s.start + s.length)
                if range.contains(where: { taken[$0] }) {
                    out.optional += s.alternatives
                    continue
                }
                for i in range { taken[i] = true }
                let words: Query = s.length == 1 ? out.clauses[s.start] : .boolean(BooleanQuery(must: Array(out.clauses[range])))
                replaced[s.start] = .boolean(BooleanQuery(should: [words] + s.alternatives))
                for i in range.dropFirst() { replaced[i] = .matchNone }
            }
            if !replaced.isEmpty {
                var clauses: [Query] = []
                for i in out.clauses.indices {
                    if let r = replaced[i] {
                        if case .matchNone = r { continue }
                        clauses.append(r)
                    } else {
                        clauses.append(out.clauses[i])
                    }
                }
                out.clauses = clauses
            }
        } else {
            for s in spans { out.optional += s.alternatives }
        }

        // Proximity: adjacent known words close together.
        if options.proximityBoost > 0 && tokens.count >= 2 {
            for i in 0..<(tokens.count - 1) where tokens[i].docFrequency > 0 && tokens[i + 1].docFrequency > 0 {
                out.optional.append(phrase([tokens[i].term, tokens[i + 1].term],
                                           positions: [0, tokens[i + 1].position - tokens[i].position],
                                           slop: options.proximitySlop, boost: options.proximityBoost))
            }
        }
        return out
    }
}
