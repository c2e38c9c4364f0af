import AisleAnalyzer
import AisleIndex

/// How unprefixed clauses combine.
public enum DefaultOperator: String, Sendable, CaseIterable {
    case and, or
}

/// How a query string's syntax errors are handled: `strict` answers them with an error naming the
/// column; `lenient` (the shopper-facing default) searches the plain words instead, the way
/// Elasticsearch's `simple_query_string` never fails on a stray quote, parenthesis or `AND`.
public enum QuerySyntax: String, Sendable, CaseIterable {
    case strict, lenient
}

/// What a query may cost before it runs. Over a limit the query is refused (400) with a message
/// naming the limit; nothing about the limits depends on the index's size.
public struct QueryLimits: Sendable, Equatable {
    /// Parts of the parsed query: words, phrases, field qualifiers, operators (NOT, -, +, AND, OR)
    /// and groups.
    public var maxNodes = 256
    /// Parentheses nested inside each other.
    public var maxDepth = 32
    /// Prefix words (`sof*`) expand to at most `PrefixQuery.defaultMaxExpansions` terms each; all of
    /// a query's prefix words together to at most this many.
    public var maxPrefixExpansions = 512
    public init() {}
}

/// A syntax error in a query string (the lenient parser falls back to the plain words).
struct QuerySyntaxError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Parses the query-string syntax into an index `Query`:
///
/// - words: `black sofa` (combined with the default operator, AND or OR)
/// - `"phrases"`, with optional slop: `"leather sofa"~2`
/// - `-excluded`, `+required`, `NOT x`
/// - `a OR b`, `a AND b`, parentheses
/// - `field:value`, `field:"a phrase"`; on a keyword field the value is matched exactly
/// - `prefix*`
///
/// Each word is analysed with its field's analyzer; a word that analyses into several terms
/// (`wi-fi`) becomes several clauses, and one that analyses into none (a stop word) is dropped.
public struct QueryParser: Sendable {
    public static let maxLength = 2000
    public static let maxClauses = 256

    public let layout: SchemaLayout
    let analyzers: [any TextAnalyzer]   // per text group
    public var defaultOperator: DefaultOperator
    /// Text fields searched by unqualified words (nil: all).
    public var defaultFields: Set<String>?
    /// With the OR operator, field clauses (`brand:acme`, `color:"dark red"`) are still required:
    /// AND → OR relaxation makes the words optional, never a filter typed into the query.
    public var fieldClausesRequired = false
    public var limits = QueryLimits()

    public init(layout: SchemaLayout, defaultOperator: DefaultOperator = .and) throws {
        self.layout = layout
        self.defaultOperator = defaultOperator
        analyzers = try layout.textGroups.map { g in
            do { return try Analyzers.named(g.analyzer) } catch {
                throw EngineError.input("the index uses analyzer \(g.analyzer), which this build does not have: \(error)")
            }
        }
    }

    public init(layout: SchemaLayout, analyzers: [any TextAnalyzer], defaultOperator: DefaultOperator = .and) {
        self.layout = layout
        self.analyzers = analyzers
        self.defaultOperator = defaultOperator
    }

    public func analyzer(group: Int) -> any TextAnalyzer { analyzers[group] }

    // MARK: - Syntax

    indirect enum Node: Sendable {
        case word(field: String?, text: String, prefix: Bool, column: Int)
        case phrase(field: String?, text: String, slop: Int, column: Int)
        case not(Node)
        case required(Node)
        case and([Node])
        case or([Node])
        case implicit([Node])
    }

    enum Tok: Equatable {
        case word(String, Int)
        case phrase(String, Int, slop: Int)
        case lparen(Int), rparen(Int)
        case minus(Int), plus(Int)
        case and(Int), or(Int), not(Int)
        case field(String, Int)

        var column: Int {
            switch self {
            case .word(_, let c), .phrase(_, let c, _), .lparen(let c), .rparen(let c), .minus(let c), .plus(let c),
                 .and(let c), .or(let c), .not(let c), .field(_, let c): return c
            }
        }
    }

    func tokenize(_ s: String) throws -> [Tok] {
        let chars = Array(s)
        var out: [Tok] = []
        var i = 0
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        while i < chars.count {
            let c = chars[i]
            let col = i + 1
            if isSpace(c) { i += 1; continue }
            if c == "(" { out.append(.lparen(col)); i += 1; continue }
            if c == ")" { out.append(.rparen(col)); i += 1; continue }
            let atStart = i == 0 || isSpace(chars[i - 1]) || chars[i - 1] == "("
            if (c == "-" || c == "+") && atStart && i + 1 < chars.count && !isSpace(chars[i + 1]) {
                out.append(c == "-" ? .minus(col) : .plus(col))
                i += 1
                continue
            }
            if c == "\"" {
                var j = i + 1
                var text = ""
                while j < chars.count && chars[j] != "\"" { text.append(chars[j]); j += 1 }
                guard j < chars.count else {
                    throw QuerySyntaxError(message: "unterminated phrase: the quote at column \(col) is never closed")
                }
                j += 1
                var slop = 0
                if j < chars.count && chars[j] == "~" {
                    var k = j + 1
                    var digits = ""
                    while k < chars.count && chars[k].isASCII && chars[k].isNumber { digits.append(chars[k]); k += 1 }
                    guard let n = Int(digits), n <= 100 else {
                        throw QuerySyntaxError(message: "phrase slop at column \(j + 1) must be a number from 0 to 100")
                    }
                    slop = n
                    j = k
                }
                out.append(.phrase(text, col, slop: slop))
                i = j
                continue
            }
            var j = i
            var text = ""
            // A quote right after a digit is an inch mark (`1/2"`, `55"`), not the start of a phrase.
            while j < chars.count && !isSpace(chars[j]) && chars[j] != "(" && chars[j] != ")"
                    && (chars[j] != "\"" || (j > i && chars[j - 1].isASCII && chars[j - 1].isNumber)) {
                if chars[j] == ":" && !text.isEmpty && j + 1 < chars.count && !isSpace(chars[j + 1]) { break }
                text.append(chars[j])
                j += 1
            }
            if j < chars.count && chars[j] == ":" && !text.isEmpty {
                out.append(.field(text, col))
                i = j + 1
                continue
            }
            if text == "AND" { out.append(.and(col)) } else if text == "OR" { out.append(.or(col)) } else if text == "NOT" {
                out.append(.not(col))
            } else { out.append(.word(text, col)) }
            i = j
        }
        return out
    }

    struct Parser {
        var toks: [Tok]
        let limits: QueryLimits
        var i = 0
        var nodes = 0
        var depth = 0
        var peek: Tok? { i < toks.count ? toks[i] : nil }

        init(toks: [Tok], limits: QueryLimits) {
            self.toks = toks
            self.limits = limits
        }

        func syntax(_ m: String) -> QuerySyntaxError { QuerySyntaxError(message: m) }

        /// Every part of the query counts toward `limits.maxNodes`.
        mutating func countNode() throws {
            nodes += 1
            if nodes > limits.maxNodes {
                throw EngineError.badRequest("the query has more than \(limits.maxNodes) parts (words, phrases, fields, operators and groups count); the limit is \(limits.maxNodes)")
            }
        }

        mutating func parseOr() throws -> Node {
            var parts = [try parseAnd()]
            while case .or(let c)? = peek {
                i += 1
                try countNode()
                guard let p = peek, !isCloser(p) else { throw syntax("OR at column \(c) needs a clause after it") }
                parts.append(try parseAnd())
            }
            if parts.count == 1 { return parts[0] }
            try countNode()
            return .or(parts)
        }

        func isCloser(_ t: Tok) -> Bool {
            switch t {
            case .rparen, .or, .and: return true
            default: return false
            }
        }

        mutating func parseAnd() throws -> Node {
            var explicit: [Node] = []
            var implicit: [Node] = [try parseUnary()]
            while let p = peek {
                switch p {
                case .or, .rparen: break
                case .and(let c):
                    i += 1
                    try countNode()
                    guard let n = peek, !isCloser(n) else { throw syntax("AND at column \(c) needs a clause after it") }
                    let next = try parseUnary()
                    if let prev = implicit.popLast() {
                        if !implicit.isEmpty { explicit.append(.implicit(implicit)); implicit = []; try countNode() }
                        explicit.append(.and([prev, next]))
                        try countNode()
                    } else if case .and(let parts)? = explicit.last {
                        // `a AND b AND c`: the chain goes on.
                        explicit[explicit.count - 1] = .and(parts + [next])
                    } else {
                        throw syntax("AND at column \(c) needs a clause before it")
                    }
                    continue
                default:
                    implicit.append(try parseUnary())
                    continue
                }
                break
            }
            if explicit.isEmpty {
                if implicit.count == 1 { return implicit[0] }
                try countNode()
                return .implicit(implicit)
            }
            if !implicit.isEmpty { explicit.append(.implicit(implicit)); try countNode() }
            try countNode()
            return .and(explicit)
        }

        /// A clause with its prefix operators (`-`, `NOT`, `+`), read without recursion: a run of
        /// them costs one node each and collapses (`NOT NOT x` requires x, `+ + x` is `+x`).
        mutating func parseUnary() throws -> Node {
            var negate: [Bool] = []   // per operator, in order: true for - / NOT, false for +
            while let t = peek {
                switch t {
                case .minus(let c), .not(let c):
                    i += 1
                    guard let n = peek, !isCloser(n) else { throw syntax("the exclusion at column \(c) needs a clause") }
                    try countNode()
                    negate.append(true)
                case .plus(let c):
                    i += 1
                    guard let n = peek, !isCloser(n) else { throw syntax("the + at column \(c) needs a clause") }
                    try countNode()
                    negate.append(false)
                default:
                    var node = try parsePrimary(field: nil)
                    for isNot in negate.reversed() {
                        switch (isNot, node) {
                        case (true, .not(let inner)): node = .required(inner)
                        case (true, .required(let inner)): node = .not(inner)
                        case (true, _): node = .not(node)
                        case (false, .required), (false, .not): break
                        case (false, _): node = .required(node)
                        }
                    }
                    return node
                }
            }
            throw syntax("the query ends where a clause was expected")
        }

        mutating func parsePrimary(field: String?) throws -> Node {
            guard let t = peek else { throw syntax("the query ends where a clause was expected") }
            i += 1
            switch t {
            case .lparen(let c):
                guard field == nil else { throw syntax("a field cannot apply to parentheses (column \(c))") }
                guard let n = peek else { throw syntax("the parenthesis at column \(c) is never closed") }
                if case .rparen = n { throw syntax("empty parentheses at column \(c)") }
                depth += 1
                defer { depth -= 1 }
                if depth > limits.maxDepth {
                    throw EngineError.badRequest("the query nests parentheses deeper than \(limits.maxDepth) (column \(c)); the limit is \(limits.maxDepth)")
                }
                let inner = try parseOr()
                guard case .rparen? = peek else { throw syntax("the parenthesis at column \(c) is never closed") }
                i += 1
                return inner
            case .rparen(let c):
                throw syntax("unexpected ')' at column \(c)")
            case .word(let w, let c):
                try countNode()
                let prefix = w.count > 1 && w.hasSuffix("*")
                return .word(field: field, text: prefix ? String(w.dropLast()) : w, prefix: prefix, column: c)
            case .phrase(let p, let c, let slop):
                try countNode()
                return .phrase(field: field, text: p, slop: slop, column: c)
            case .field(let f, let c):
                guard field == nil else { throw syntax("nested field at column \(c)") }
                guard let n = peek else { throw syntax("field \(f) at column \(c) has no value") }
                try countNode()
                switch n {
                case .word, .phrase: return try parsePrimary(field: f)
                default: throw syntax("field \(f) at column \(c) needs a word or a phrase")
                }
            case .and(let c), .or(let c):
                throw syntax("\(t == .and(c) ? "AND" : "OR") at column \(c) needs a clause before it")
            case .minus(let c), .plus(let c), .not(let c):
                throw syntax("unexpected operator at column \(c)")
            }
        }
    }

    // MARK: - To index queries

    /// Parses `text` into a query (strict syntax: errors name the column). An empty query matches
    /// everything. With an `expander`, runs of plain words are rewritten with the index's dictionary
    /// (typos, compounds, synonyms, proximity).
    public func parse(_ text: String, expander: QueryExpander? = nil) throws -> Query {
        try parse(text, expander: expander, syntax: .strict).query
    }

    /// A query rewritten into an index query, whether its syntax was broken and the plain words were
    /// searched instead, and what a result highlights.
    public struct Parsed: Sendable {
        public var query: Query
        public var lenient: Bool
        /// The analysed terms (first text group) of the words and phrases the query searches, not
        /// of those it excludes: what a result's title highlights.
        public var highlightTerms: Set<[UInt8]> = []
    }

    /// `parseQuery` then `rewrite`.
    public func parse(_ text: String, expander: QueryExpander?, syntax: QuerySyntax) throws -> Parsed {
        try rewrite(try parseQuery(text, syntax: syntax), expander: expander)
    }

    /// Parses `text` into its syntax tree, with nothing but the schema: no searches, no index.
    /// Fields are checked here; with `.lenient`, a syntax error (an unclosed quote or parenthesis, a
    /// dangling `AND`, an unknown `field:`) parses the plain words of the text instead
    /// (`ParsedQuery.lenient`). Limits (`limits`, `maxLength`) are errors either way.
    public func parseQuery(_ text: String, syntax: QuerySyntax) throws -> ParsedQuery {
        guard text.utf8.count <= Self.maxLength else {
            throw EngineError.badRequest("query is \(text.utf8.count) bytes; the limit is \(Self.maxLength)")
        }
        do {
            return ParsedQuery(tree: try syntaxTree(text), lenient: false, empty: .matchAll)
        } catch let e as QuerySyntaxError {
            guard syntax == .lenient else { throw EngineError.badRequest(e.message) }
        }
        let plain = Self.plainWords(text)
        if plain.isEmpty { return ParsedQuery(tree: nil, lenient: true, empty: .matchNone) }
        do {
            return ParsedQuery(tree: try syntaxTree(plain), lenient: true, empty: .matchAll)
        } catch let e as QuerySyntaxError {
            throw EngineError.badRequest(e.message)   // plain words have no syntax; kept as a safety net
        }
    }

    /// Rewrites a parsed query into an index query with this parser's operator: words analysed with
    /// their fields' analyzers and, with an `expander`, runs of plain words rewritten against the
    /// index (typos, compounds, synonyms, proximity). The same parsed query can be rewritten again
    /// (AND relaxed to OR); its analyses are kept in it and reused.
    public func rewrite(_ parsed: ParsedQuery, expander: QueryExpander?) throws -> Parsed {
        guard let tree = parsed.tree else { return Parsed(query: parsed.empty, lenient: parsed.lenient) }
        var state = BuildState(cache: parsed.analyses)
        let q = try build(tree, state: &state, expander: expander) ?? .matchNone
        return Parsed(query: q, lenient: parsed.lenient, highlightTerms: state.highlight)
    }

    /// The syntax tree of `text` (nil: no clause), fields checked against the schema.
    private func syntaxTree(_ text: String) throws -> Node? {
        let toks = try tokenize(text)
        if toks.isEmpty { return nil }
        var p = Parser(toks: toks, limits: limits)
        let node = try p.parseOr()
        if let extra = p.peek {
            if case .rparen(let c) = extra { throw QuerySyntaxError(message: "unexpected ')' at column \(c)") }
            throw QuerySyntaxError(message: "unexpected input at column \(extra.column)")
        }
        try checkFields(node)
        return node
    }

    /// Unknown fields are syntax errors (`colour:red`), found before any rewriting.
    private func checkFields(_ n: Node) throws {
        switch n {
        case .word(let field?, _, _, let col), .phrase(let field?, _, _, let col): _ = try targets(field: field, column: col)
        case .word, .phrase: break
        case .not(let i), .required(let i): try checkFields(i)
        case .and(let ps), .or(let ps), .implicit(let ps): for x in ps { try checkFields(x) }
        }
    }

    /// The words of a query string with its syntax removed: quotes (but inch marks after a digit),
    /// parentheses, colons, leading `-`/`+`, `~N` and the operators AND, OR, NOT. What is left
    /// parses without error.
    public static func plainWords(_ text: String) -> String {
        var words: [Substring] = []
        var cleaned = ""
        cleaned.reserveCapacity(text.utf8.count)
        var previous: Character?
        for c in text {
            switch c {
            case "(", ")", ":", "~", "\t", "\n", "\r": cleaned.append(" ")
            case "\"": cleaned.append(previous.map { $0.isASCII && $0.isNumber } == true ? "\"" : " ")
            default: cleaned.append(c)
            }
            previous = c
        }
        for part in cleaned.split(separator: " ") {
            var w = part
            while let f = w.first, f == "-" || f == "+" { w = w.dropFirst() }
            guard !w.isEmpty, w != "AND", w != "OR", w != "NOT" else { continue }
            words.append(w)
        }
        return words.joined(separator: " ")
    }

    /// Counts while a parsed query becomes an index query.
    struct BuildState {
        let cache: AnalysisCache
        var clauses = 0
        var prefixExpansions = 0
        /// Inside an exclusion (its words are not highlighted).
        var negated = 0
        var highlight: Set<[UInt8]> = []

        mutating func note(_ terms: [(term: [UInt8], position: Int32)], group: Int) {
            if group == 0 && negated == 0 { for t in terms { highlight.insert(t.term) } }
        }
    }

    /// Analysed terms of `text` in a text group, with positions.
    public func analyze(_ text: String, group: Int) -> [(term: [UInt8], position: Int32)] {
        var out: [(term: [UInt8], position: Int32)] = []
        _ = analyzers[group].analyze(text, firstPosition: 0) { t, pos, _, _ in out.append((Array(t), pos)) }
        return out
    }

    /// Per text group, the member mask for a field restriction (nil = every field of every group).
    func targets(field: String?, column: Int) throws -> [(group: Int, mask: FieldMask?)]? {
        guard let field else {
            guard let dfs = defaultFields else { return layout.textGroups.indices.map { ($0, nil) } }
            var out: [(group: Int, mask: FieldMask?)] = []
            for (g, grp) in layout.textGroups.enumerated() {
                var m: FieldMask = 0
                for (member, ord) in grp.fields.enumerated() where dfs.contains(layout.schema.fields[ord].name) { m |= 1 << UInt32(member) }
                if m != 0 { out.append((g, m)) }
            }
            return out
        }
        guard let ord = layout.schema.ordinal(of: field) else {
            let known = layout.schema.fields.filter { !$0.isPattern && $0.type != .numeric && $0.type != .boolean && $0.type != .stored }.map { $0.name }
            let shown = known.prefix(40).joined(separator: ", ") + (known.count > 40 ? ", … (\(known.count) in all)" : "")
            throw QuerySyntaxError(message: "unknown field \"\(field.prefix(60))\" at column \(column) (searchable fields: \(shown))")
        }
        if let g = layout.groupOfField[ord] { return [(g.group, FieldMask(1) << UInt32(g.member))] }
        if layout.schema.fields[ord].type == .stored {
            throw QuerySyntaxError(message: "field \"\(field.prefix(60))\" at column \(column) is kept for display only and cannot be searched")
        }
        return nil   // keyword-only field
    }

    private func chargePrefix(_ state: inout BuildState) throws {
        state.prefixExpansions += PrefixQuery.defaultMaxExpansions
        if state.prefixExpansions > limits.maxPrefixExpansions {
            throw EngineError.badRequest("the query's prefix words (word*) expand to more than \(limits.maxPrefixExpansions) terms (\(PrefixQuery.defaultMaxExpansions) each); the limit is \(limits.maxPrefixExpansions)")
        }
    }

    private func count(_ state: inout BuildState) throws {
        state.clauses += 1
        if state.clauses > Self.maxClauses { throw EngineError.badRequest("the query has more than \(Self.maxClauses) clauses") }
    }

    private func build(_ n: Node, state: inout BuildState, expander: QueryExpander?) throws -> Query? {
        switch n {
        case .word(nil, _, false, _) where expander != nil:
            return try combine([n], op: defaultOperator, state: &state, expander: expander)
        case .word(let field, let text, let prefix, let col):
            try count(&state)
            guard let targets = try targets(field: field, column: col) else {
                if prefix { try chargePrefix(&state) }
                return keywordQuery(field: field!, value: text, prefix: prefix)
            }
            var perGroup: [Query] = []
            for (g, mask) in targets {
                if prefix {
                    guard let norm = analyzers[g].normalize(text), !norm.isEmpty else { continue }
                    try chargePrefix(&state)
                    perGroup.append(.prefix(PrefixQuery(slot: g, prefix: Array(norm.utf8), fields: mask)))
                    continue
                }
                let terms = state.cache.analyze(text, group: g, with: analyzers[g])
                state.note(terms, group: g)
                if terms.isEmpty { continue }
                let qs: [Query] = terms.map { .term(TermQuery(slot: g, term: $0.term, fields: mask)) }
                if qs.count == 1 { perGroup.append(qs[0]) } else {
                    perGroup.append(defaultOperator == .and ? .boolean(BooleanQuery(must: qs)) : .boolean(BooleanQuery(should: qs)))
                }
            }
            if perGroup.isEmpty { return nil }
            return perGroup.count == 1 ? perGroup[0] : .boolean(BooleanQuery(should: perGroup))
        case .phrase(let field, let text, let slop, let col):
            try count(&state)
            guard let targets = try targets(field: field, column: col) else {
                return keywordQuery(field: field!, value: text, prefix: false)
            }
            var perGroup: [Query] = []
            for (g, mask) in targets {
                let terms = state.cache.analyze(text, group: g, with: analyzers[g])
                state.note(terms, group: g)
                if terms.isEmpty { continue }
                perGroup.append(.phrase(PhraseQuery(slot: g, terms: terms.map { $0.term }, positions: terms.map { $0.position },
                                                    slop: slop, fields: mask)))
            }
            if perGroup.isEmpty { return nil }
            return perGroup.count == 1 ? perGroup[0] : .boolean(BooleanQuery(should: perGroup))
        case .not(let inner):
            state.negated += 1
            defer { state.negated -= 1 }
            guard let q = try build(inner, state: &state, expander: expander) else { return nil }
            return .boolean(BooleanQuery(must: [.matchAll], mustNot: [q]))
        case .required(let inner):
            return try build(inner, state: &state, expander: expander)
        case .or(let parts):
            let qs = try parts.compactMap { try build($0, state: &state, expander: expander) }
            if qs.isEmpty { return nil }
            return qs.count == 1 ? qs[0] : .boolean(BooleanQuery(should: qs))
        case .and(let parts):
            return try combine(parts, op: .and, state: &state, expander: expander)
        case .implicit(let parts):
            return try combine(parts, op: defaultOperator, state: &state, expander: expander)
        }
    }

    /// Combines sibling clauses: `-x` become must_not, `+x` must, the rest must (AND) or should (OR).
    private func combine(_ parts: [Node], op: DefaultOperator, state: inout BuildState, expander: QueryExpander?) throws -> Query? {
        var must: [Query] = [], should: [Query] = [], excluded: [Query] = []
        var parts = parts
        // Plain words go to the expander together (it sees neighbours: compounds, synonyms, proximity).
        if let expander, let targets = try targets(field: nil, column: 0), targets.count == 1 {
            var words: [String] = []
            parts = parts.filter { p in
                if case .word(nil, let text, false, _) = p { words.append(text); return false }
                return true
            }
            if !words.isEmpty {
                for _ in words { try count(&state) }
                let (g, mask) = targets[0]
                let e = try expander.expand(words: words, group: g, mask: mask, analyzer: analyzers[g], and: op == .and, cache: state.cache)
                state.note(e.typed.map { ($0, 0) }, group: g)
                if op == .and { must += e.clauses } else { should += e.clauses }
                should += e.optional
            }
        }
        for p in parts {
            switch p {
            case .not(let inner):
                state.negated += 1
                defer { state.negated -= 1 }
                if let q = try build(inner, state: &state, expander: expander) { excluded.append(q) }
            case .required(let inner):
                if let q = try build(inner, state: &state, expander: expander) { must.append(q) }
            default:
                // Plain words left here were not taken by the expander (it works within one text
                // group; with several, words are searched in each group as written): build them
                // without it, or they would come straight back here.
                let plainWord: Bool
                if case .word(nil, _, false, _) = p { plainWord = true } else { plainWord = false }
                guard let q = try build(p, state: &state, expander: plainWord ? nil : expander) else { continue }
                if op == .or && fieldClausesRequired && Self.isFieldClause(p) {
                    must.append(q)
                    continue
                }
                // A multi-term word under AND is itself a must-list: flatten it.
                if op == .and, case .boolean(let b) = q, b.should.isEmpty, b.mustNot.isEmpty, !b.must.isEmpty {
                    must += b.must
                } else if op == .or, case .boolean(let b) = q, b.must.isEmpty, b.mustNot.isEmpty, b.minimumShouldMatch == 0,
                          !b.should.isEmpty, isPlainTermList(b.should) {
                    should += b.should
                } else if op == .and {
                    must.append(q)
                } else {
                    should.append(q)
                }
            }
        }
        if must.isEmpty && should.isEmpty {
            if !excluded.isEmpty { return .boolean(BooleanQuery(must: [.matchAll], mustNot: excluded)) }
            return nil
        }
        if !excluded.isEmpty || must.count + should.count > 1 {
            // With musts, shoulds only add score.
            return .boolean(BooleanQuery(must: must, should: should, mustNot: excluded))
        }
        return must.first ?? should.first
    }

    /// A word or phrase qualified with a field (`brand:acme`), or a group of them
    /// (`(color:red OR color:blue)`).
    static func isFieldClause(_ n: Node) -> Bool {
        switch n {
        case .word(let field, _, _, _), .phrase(let field, _, _, _): return field != nil
        case .required(let inner): return isFieldClause(inner)
        case .or(let parts), .and(let parts), .implicit(let parts):
            return parts.contains { if case .not = $0 { return false }; return true }
                && parts.allSatisfy { if case .not = $0 { return true }; return isFieldClause($0) }
        case .not: return false
        }
    }

    private func isPlainTermList(_ qs: [Query]) -> Bool {
        qs.allSatisfy { if case .term = $0 { return true }; return false }
    }

    private func keywordQuery(field: String, value: String, prefix: Bool) -> Query {
        guard let ord = layout.schema.ordinal(of: field), let slot = layout.keywordSlotOfField[ord] else { return .matchNone }
        if prefix { return .prefix(PrefixQuery(slot: slot, prefix: Array(value.utf8))) }
        return .term(TermQuery(slot: slot, term: value))
    }
}

/// A query string parsed into its syntax tree (`QueryParser.parseQuery`): pure, made once per
/// request, rewritten into index queries as often as needed (`QueryParser.rewrite`: the query as
/// asked, then AND relaxed to OR). The analyses made while rewriting are kept and reused.
public struct ParsedQuery: Sendable {
    let tree: QueryParser.Node?
    /// The syntax was broken and the plain words were parsed.
    public let lenient: Bool
    /// The query when there is no clause: everything (an empty query) or nothing (only syntax).
    let empty: Query
    let analyses = AnalysisCache()

    /// The words and phrases the query asks for, in order, without the excluded ones (`-word`,
    /// `NOT word`), operators or field names: the text a query embedding is made from.
    public var positiveText: String {
        var out: [String] = []
        func walk(_ n: QueryParser.Node) {
            switch n {
            case .word(_, let text, _, _), .phrase(_, let text, _, _): out.append(text)
            case .not: break
            case .required(let c): walk(c)
            case .and(let cs), .or(let cs), .implicit(let cs): cs.forEach(walk)
            }
        }
        if let tree { walk(tree) }
        return out.joined(separator: " ")
    }
}

/// Analyses of query text per text group, made once for all the rewrites of a parsed query.
final class AnalysisCache: @unchecked Sendable {
    struct Token: Sendable {
        var term: [UInt8]
        var position: Int32
        var start: Int
        var end: Int
    }

    private var tokens: [String: [Token]] = [:]

    func tokens(_ text: String, group: Int, with analyzer: any TextAnalyzer) -> [Token] {
        let key = String(group) + "\u{0}" + text
        if let t = tokens[key] { return t }
        var out: [Token] = []
        _ = analyzer.analyze(text, firstPosition: 0) { t, p, s, e in out.append(Token(term: Array(t), position: p, start: Int(s), end: Int(e))) }
        tokens[key] = out
        return out
    }

    func analyze(_ text: String, group: Int, with analyzer: any TextAnalyzer) -> [(term: [UInt8], position: Int32)] {
        tokens(text, group: group, with: analyzer).map { ($0.term, $0.position) }
    }
}
