import Foundation
import Synchronization
import AisleAnalyzer

/// Query-time synonyms in the Solr / Elasticsearch file format:
///
/// ```
/// # comments and blank lines are ignored
/// fridge, refrigerator            # equivalent: each one also searches the others
/// tv => television                # one way: "tv" also searches "television"
/// tv stand, television stand      # several words on either side
/// ```
///
/// Rules are kept as text and analysed with the analyzer of the field they are used on, so
/// `Fridges` in a query meets `fridge` in the file after stemming. Expansion keeps the original
/// words: a rule adds alternatives, it never removes what the shopper typed.
public struct SynonymRules: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// Phrases that trigger the rule.
        public var from: [String]
        /// Phrases they expand to (for equivalence rules, the same list as `from`).
        public var to: [String]
        public var line: Int
    }

    public var rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    public static let maxRules = 100_000
    public static let maxWordsPerPhrase = 8

    /// Parses the file format; a bad line is an error naming its number.
    public static func parse(_ text: String, source: String = "synonyms") throws -> SynonymRules {
        var rules: [Rule] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            func phrases(_ s: Substring) throws -> [String] {
                let ps = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard !ps.contains(where: { $0.isEmpty }) else {
                    throw EngineError.input("\(source) line \(i + 1): empty phrase (a rule is \"a, b, c\" or \"a => b, c\")")
                }
                for p in ps where p.split(separator: " ").count > maxWordsPerPhrase {
                    throw EngineError.input("\(source) line \(i + 1): \"\(p)\" has more than \(maxWordsPerPhrase) words")
                }
                return ps
            }
            let parts = line.components(separatedBy: "=>")
            switch parts.count {
            case 1:
                let ps = try phrases(Substring(parts[0]))
                guard ps.count >= 2 else {
                    throw EngineError.input("\(source) line \(i + 1): an equivalence needs at least two phrases separated by commas")
                }
                rules.append(Rule(from: ps, to: ps, line: i + 1))
            case 2:
                rules.append(Rule(from: try phrases(Substring(parts[0])), to: try phrases(Substring(parts[1])), line: i + 1))
            default:
                throw EngineError.input("\(source) line \(i + 1): more than one \"=>\"")
            }
            guard rules.count <= maxRules else { throw EngineError.input("\(source): more than \(maxRules) rules") }
        }
        return SynonymRules(rules: rules)
    }

    /// Reads and parses a synonyms file.
    public static func load(path: String) throws -> SynonymRules {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.input("cannot read synonyms file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// The rules compiled for one analyzer: analysed term sequences.
    public func compiled(with analyzer: any TextAnalyzer) -> SynonymMap {
        var map = SynonymMap()
        func terms(_ phrase: String) -> [[UInt8]] {
            var out: [[UInt8]] = []
            _ = analyzer.analyze(phrase, firstPosition: 0) { t, _, _, _ in out.append(Array(t)) }
            return out
        }
        for r in rules {
            let targets = r.to.map(terms).filter { !$0.isEmpty }
            for f in r.from {
                let key = terms(f)
                guard !key.isEmpty else { continue }
                for t in targets where t != key {
                    map.add(key, t)
                }
            }
        }
        return map
    }
}

/// Analysed synonyms: term sequence → alternative term sequences.
public struct SynonymMap: Sendable, Equatable {
    private(set) var entries: [[[UInt8]]: [[[UInt8]]]] = [:]
    /// The longest left-hand side, in terms.
    public private(set) var maxLength = 0

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    mutating func add(_ key: [[UInt8]], _ alternative: [[UInt8]]) {
        var list = entries[key] ?? []
        if !list.contains(alternative) { list.append(alternative) }
        entries[key] = list
        maxLength = max(maxLength, key.count)
    }

    /// The alternatives of `terms[start..<start+length]`.
    public func alternatives(_ terms: ArraySlice<[UInt8]>) -> [[[UInt8]]] {
        entries[Array(terms)] ?? []
    }

    /// Every match in a term sequence, longest first at each start: (start, length, alternatives).
    public func matches(in terms: [[UInt8]]) -> [(start: Int, length: Int, alternatives: [[[UInt8]]])] {
        guard !entries.isEmpty else { return [] }
        var out: [(start: Int, length: Int, alternatives: [[[UInt8]]])] = []
        for s in terms.indices {
            for len in stride(from: min(maxLength, terms.count - s), through: 1, by: -1) {
                let alts = alternatives(terms[s..<(s + len)])
                if !alts.isEmpty { out.append((s, len, alts)) }
            }
        }
        return out
    }
}

/// A synonyms file that is re-read when it changes (checked at most once a second), so rules can
/// be edited without rebuilding or restarting anything. A file that fails to parse keeps the last
/// good rules and reports the error.
public final class SynonymSource: Sendable {
    public let path: String
    private struct State {
        var rules: SynonymRules
        var modified: Date?
        var size: Int
        var checkedAt: UInt64
        var error: String?
        var version: Int
    }
    private let state: Mutex<State>

    /// Fixed rules that are never reloaded (the built-in list, or rules given inline).
    public init(rules: SynonymRules, name: String = "built-in") {
        path = ""
        self.name = name
        state = Mutex(State(rules: rules, modified: nil, size: 0, checkedAt: 0, error: nil, version: 1))
    }

    /// The built-in synonyms (``DefaultSynonyms``).
    public static let builtIn = SynonymSource(rules: (try? SynonymRules.parse(DefaultSynonyms.text, source: "built-in synonyms")) ?? SynonymRules())

    /// What the rules come from: the file's path, or "built-in".
    public let name: String

    public init(path: String) throws {
        self.path = path
        name = path
        let rules = try SynonymRules.load(path: path)
        let (m, s) = Self.stamp(path)
        state = Mutex(State(rules: rules, modified: m, size: s, checkedAt: DispatchTime.now().uptimeNanoseconds, error: nil, version: 1))
    }

    static func stamp(_ path: String) -> (Date?, Int) {
        let a = try? FileManager.default.attributesOfItem(atPath: path)
        return (a?[.modificationDate] as? Date, (a?[.size] as? NSNumber)?.intValue ?? -1)
    }

    /// The current rules and their version (which changes on every successful reload).
    public func current() -> (rules: SynonymRules, version: Int) {
        if path.isEmpty { return state.withLock { ($0.rules, $0.version) } }
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { s -> Bool in
            // `now` was read before the lock: another thread may have stored a later time.
            if now <= s.checkedAt || now - s.checkedAt < 1_000_000_000 { return false }
            s.checkedAt = now
            return true
        }
        if due { reloadIfChanged() }
        return state.withLock { ($0.rules, $0.version) }
    }

    /// Re-reads the file if its modification time or size changed. Returns the error, if any.
    @discardableResult
    public func reloadIfChanged(force: Bool = false) -> String? {
        if path.isEmpty { return nil }
        let (m, s) = Self.stamp(path)
        let changed = state.withLock { st in force || st.modified != m || st.size != s }
        guard changed else { return state.withLock { $0.error } }
        do {
            let rules = try SynonymRules.load(path: path)
            state.withLock { st in
                st.rules = rules
                st.modified = m
                st.size = s
                st.error = nil
                st.version += 1
            }
            return nil
        } catch {
            let message = "\(error)"
            state.withLock { st in
                st.modified = m
                st.size = s
                st.error = message
            }
            return message
        }
    }

    /// The last reload error (nil when the rules in use are the file's).
    public var lastError: String? { state.withLock { $0.error } }
}

extension SynonymSource {
    /// What a `--synonyms` flag names: nil → the built-in list, "none" → no synonyms, else a file.
    public static func from(flag: String?) throws -> SynonymSource? {
        guard let flag else { return .builtIn }
        if flag == "none" { return nil }
        return try SynonymSource(path: flag)
    }
}
