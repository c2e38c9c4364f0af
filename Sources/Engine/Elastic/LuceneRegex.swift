/// A regular expression in the common part of Lucene's syntax (what Elasticsearch's `terms`
/// `include`/`exclude` take), matched against a whole value in linear time: a Thompson NFA
/// simulated on sets of states, so no pattern can make a match run away (backtracking engines
/// take exponential time on `(a+)+b`).
///
/// Supported: literals, `\` escapes, `.`, classes `[a-z0-9_]` and `[^...]`, `*`, `+`, `?`,
/// `{n}`, `{n,}`, `{n,m}` (n, m ≤ 100), `|`, groups `( )`. Lucene's optional operators `@`, `&`, `~`,
/// `<n-m>` and `#` are refused (escape them to match them).
public struct LuceneRegex: Sendable {
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A set of code points: ranges, possibly negated.
    struct CharSet: Sendable {
        var ranges: [ClosedRange<UInt32>]
        var negated: Bool
        func contains(_ c: UInt32) -> Bool {
            var hit = false
            for r in ranges where r.contains(c) { hit = true; break }
            return hit != negated
        }
    }

    indirect enum Node {
        case set(CharSet)
        case concat([Node])
        case alt([Node])
        case repeatNode(Node, min: Int, max: Int?)   // max nil: unbounded
        case empty
    }

    /// NFA states: a character transition to `next`, or epsilon edges.
    struct State: Sendable {
        var set: CharSet?
        var next: Int = -1
        var epsilon: [Int] = []
    }

    let states: [State]
    let start: Int
    let accept: Int

    public static let maxStates = 20_000

    public init(_ pattern: String) throws {
        var p = Parser(chars: Array(pattern.unicodeScalars.map { $0.value }))
        let node = try p.parseAlt()
        if p.i < p.chars.count { throw SyntaxError(description: "unexpected ')' at position \(p.i + 1)") }
        var b = Builder()
        let (s, e) = try b.build(node)
        let acc = b.add(State())
        b.states[e].epsilon.append(acc)
        states = b.states
        start = s
        accept = acc
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: String) -> Bool {
        var current = [Bool](repeating: false, count: states.count)
        var list: [Int] = []
        func addClosure(_ s: Int, _ marks: inout [Bool], _ out: inout [Int]) {
            var stack = [s]
            while let x = stack.popLast() {
                if marks[x] { continue }
                marks[x] = true
                out.append(x)
                stack.append(contentsOf: states[x].epsilon)
            }
        }
        addClosure(start, &current, &list)
        for c in value.unicodeScalars {
            var nextMarks = [Bool](repeating: false, count: states.count)
            var nextList: [Int] = []
            for s in list {
                if let set = states[s].set, set.contains(c.value) { addClosure(states[s].next, &nextMarks, &nextList) }
            }
            if nextList.isEmpty { return false }
            current = nextMarks
            list = nextList
        }
        return current[accept]
    }

    struct Parser {
        let chars: [UInt32]
        var i = 0

        func err(_ m: String) -> SyntaxError { SyntaxError(description: m) }

        mutating func parseAlt() throws -> Node {
            var parts = [try parseConcat()]
            while i < chars.count && chars[i] == 0x7C {   // |
                i += 1
                parts.append(try parseConcat())
            }
            return parts.count == 1 ? parts[0] : .alt(parts)
        }

        mutating func parseConcat() throws -> Node {
            var parts: [Node] = []
            while i < chars.count && chars[i] != 0x7C && chars[i] != 0x29 {   // | )
                var atom = try parseAtom()
                quantifiers: while i < chars.count {
                    switch chars[i] {
                    case 0x2A: i += 1; atom = .repeatNode(atom, min: 0, max: nil)       // *
                    case 0x2B: i += 1; atom = .repeatNode(atom, min: 1, max: nil)       // +
                    case 0x3F: i += 1; atom = .repeatNode(atom, min: 0, max: 1)         // ?
                    case 0x7B:                                                          // {
                        let (lo, hi) = try parseBounds()
                        atom = .repeatNode(atom, min: lo, max: hi)
                    default: break quantifiers
                    }
                }
                parts.append(atom)
            }
            return parts.isEmpty ? .empty : parts.count == 1 ? parts[0] : .concat(parts)
        }

        mutating func parseBounds() throws -> (Int, Int?) {
            i += 1
            func number() -> Int? {
                var n = 0, any = false
                while i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39 {
                    n = n * 10 + Int(chars[i] - 0x30)
                    any = true
                    i += 1
                    if n > 1000 { return nil }
                }
                return any ? n : nil
            }
            guard let lo = number(), lo <= 100 else { throw err("a repetition {n,m} needs n ≤ 100") }
            var hi: Int? = lo
            if i < chars.count && chars[i] == 0x2C {   // ,
                i += 1
                hi = number()
                if let h = hi, h > 100 || h < lo { throw err("a repetition {n,m} needs n ≤ m ≤ 100") }
            }
            guard i < chars.count && chars[i] == 0x7D else { throw err("unclosed repetition '{'") }
            i += 1
            return (lo, hi)
        }

        mutating func parseAtom() throws -> Node {
            let c = chars[i]
            i += 1
            switch c {
            case 0x28:   // (
                let inner = try parseAlt()
                guard i < chars.count && chars[i] == 0x29 else { throw err("unclosed group '('") }
                i += 1
                return inner
            case 0x2E: return .set(CharSet(ranges: [0...0x10FFFF], negated: false))   // .
            case 0x5B: return .set(try parseClass())
            case 0x5C:   // \
                guard i < chars.count else { throw err("the pattern ends with '\\'") }
                i += 1
                return .set(CharSet(ranges: [chars[i - 1]...chars[i - 1]], negated: false))
            case 0x2A, 0x2B, 0x3F, 0x7B: throw err("nothing to repeat at position \(i)")
            case 0x40, 0x26, 0x7E, 0x3C, 0x3E, 0x23, 0x22:
                throw err("Lucene's operator '\(String(UnicodeScalar(c)!))' is not supported by Aisle; escape it with '\\' to match it")
            default:
                return .set(CharSet(ranges: [c...c], negated: false))
            }
        }

        mutating func parseClass() throws -> CharSet {
            var negated = false
            if i < chars.count && chars[i] == 0x5E { negated = true; i += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while i < chars.count && (chars[i] != 0x5D || first) {
                first = false
                var lo = chars[i]
                i += 1
                if lo == 0x5C {
                    guard i < chars.count else { throw err("unclosed class '['") }
                    lo = chars[i]
                    i += 1
                }
                var hi = lo
                if i + 1 < chars.count && chars[i] == 0x2D && chars[i + 1] != 0x5D {   // a-z
                    hi = chars[i + 1]
                    i += 2
                    if hi == 0x5C, i < chars.count { hi = chars[i]; i += 1 }
                    guard lo <= hi else { throw err("a class range goes backwards") }
                }
                ranges.append(lo...hi)
            }
            guard i < chars.count else { throw err("unclosed class '['") }
            i += 1
            return CharSet(ranges: ranges, negated: negated)
        }
    }

    struct Builder {
        var states: [State] = []

        mutating func add(_ s: State) -> Int {
            states.append(s)
            return states.count - 1
        }

        /// A fragment: its start state and its end state (to be linked by epsilon).
        mutating func build(_ n: Node) throws -> (Int, Int) {
            guard states.count < LuceneRegex.maxStates else {
                throw SyntaxError(description: "the pattern is too large (more than \(LuceneRegex.maxStates) states)")
            }
            switch n {
            case .empty:
                let s = add(State())
                return (s, s)
            case .set(let cs):
                let e = add(State())
                let s = add(State(set: cs, next: e))
                return (s, e)
            case .concat(let parts):
                var (s, e) = try build(parts[0])
                for p in parts.dropFirst() {
                    let (s2, e2) = try build(p)
                    states[e].epsilon.append(s2)
                    e = e2
                }
                return (s, e)
            case .alt(let parts):
                let s = add(State()), e = add(State())
                for p in parts {
                    let (ps, pe) = try build(p)
                    states[s].epsilon.append(ps)
                    states[pe].epsilon.append(e)
                }
                return (s, e)
            case .repeatNode(let inner, let lo, let hi):
                let s = add(State())
                var e = s
                for _ in 0..<lo {
                    let (a, b) = try build(inner)
                    states[e].epsilon.append(a)
                    e = b
                }
                if let hi {
                    let end = add(State())
                    states[e].epsilon.append(end)
                    for _ in lo..<hi {
                        let (a, b) = try build(inner)
                        states[e].epsilon.append(a)
                        states[b].epsilon.append(end)
                        e = b
                    }
                    return (s, end)
                }
                // Unbounded: a loop.
                let (a, b) = try build(inner)
                let end = add(State())
                states[e].epsilon.append(a)
                states[e].epsilon.append(end)
                states[b].epsilon.append(a)
                states[b].epsilon.append(end)
                return (s, end)
            }
        }
    }
}
