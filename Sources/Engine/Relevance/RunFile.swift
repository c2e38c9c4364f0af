import Foundation

/// How a run file's lines become a ranking.
public enum RunOrder: String, Sendable, CaseIterable {
    /// By the rank column, then file order (score.py's default).
    case rank
    /// By score descending, then document id ascending (Aisle's tie-break).
    case score
    /// By score descending, then document id descending (what trec_eval does with ties).
    case trecEval = "trec_eval"
}

/// A ranked result list: the ranking of one query, best first, without duplicates.
public struct RankedDoc: Sendable, Equatable {
    public var id: String
    public var score: Double
    public init(id: String, score: Double) {
        self.id = id
        self.score = score
    }
}

/// A TREC run: `qid Q0 docid rank score tag` lines.
public struct Run: Sendable {
    public struct Line: Sendable, Equatable {
        public var doc: String
        public var rank: Int
        public var score: Double
        /// 1-based line number in the file (file order).
        public var line: Int
    }

    /// Query id -> its lines in file order.
    public var lines: [String: [Line]]
    /// Query ids in the order of their first line.
    public var queryOrder: [String]
    public var tag: String

    public init(lines: [String: [Line]] = [:], queryOrder: [String] = [], tag: String = "aisle") {
        self.lines = lines
        self.queryOrder = queryOrder
        self.tag = tag
    }

    /// A run from rankings already in order (rank = position).
    public init(rankings: [(query: String, docs: [RankedDoc])], tag: String = "aisle") {
        self.init(tag: tag)
        var n = 0
        for (q, docs) in rankings {
            if lines[q] == nil { queryOrder.append(q) }
            var ls = lines[q] ?? []
            for (i, d) in docs.enumerated() {
                n += 1
                ls.append(Line(doc: d.id, rank: i + 1, score: d.score, line: n))
            }
            lines[q] = ls
        }
    }

    public static func read(path: String) throws -> Run {
        try readInputFile(path, kind: "run file", parse: parse)
    }

    public static func parse(_ text: String) throws -> Run {
        var run = Run()
        var n = 0
        var tagSet = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            n += 1
            let f = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if f.isEmpty { continue }
            guard f.count >= 6 else {
                throw EngineError.badLine(line: n, message: "expected `qid Q0 docid rank score tag` (6 fields), found \(f.count)")
            }
            guard let rank = Int(f[3]) else { throw EngineError.badLine(line: n, message: "rank \"\(f[3])\" is not an integer") }
            guard let score = Double(f[4]), !score.isNaN else { throw EngineError.badLine(line: n, message: "score \"\(f[4])\" is not a number") }
            let q = String(f[0])
            if run.lines[q] == nil {
                run.lines[q] = []
                run.queryOrder.append(q)
            }
            run.lines[q]!.append(Line(doc: String(f[2]), rank: rank, score: score, line: n))
            if !tagSet {
                run.tag = String(f[5])
                tagSet = true
            }
        }
        guard !run.lines.isEmpty else { throw EngineError.input("the run file has no lines") }
        return run
    }

    /// Each query's ranking in the given order; a document listed twice keeps its first place.
    public func rankings(order: RunOrder) -> [String: [RankedDoc]] {
        var out: [String: [RankedDoc]] = [:]
        out.reserveCapacity(lines.count)
        for (q, ls) in lines {
            let sorted: [Line]
            switch order {
            case .rank: sorted = ls.sorted { ($0.rank, $0.line) < ($1.rank, $1.line) }
            case .score: sorted = ls.sorted { $0.score != $1.score ? $0.score > $1.score : ($0.doc != $1.doc ? $0.doc < $1.doc : $0.line < $1.line) }
            case .trecEval: sorted = ls.sorted { $0.score != $1.score ? $0.score > $1.score : ($0.doc != $1.doc ? $0.doc > $1.doc : $0.line < $1.line) }
            }
            var seen = Set<String>()
            var r: [RankedDoc] = []
            r.reserveCapacity(sorted.count)
            for l in sorted where seen.insert(l.doc).inserted { r.append(RankedDoc(id: l.doc, score: l.score)) }
            out[q] = r
        }
        return out
    }

    /// The run as TREC text (lines grouped by query, in query order, then file order).
    public func text() -> String {
        var s = ""
        for q in queryOrder {
            for l in lines[q] ?? [] { s += "\(q) Q0 \(l.doc) \(l.rank) \(Self.formatScore(l.score)) \(tag)\n" }
        }
        return s
    }

    public func write(to path: String) throws {
        do {
            try Data(text().utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw EngineError.input("cannot write the run file \(path): \(error.localizedDescription)")
        }
    }

    /// Scores come from Float (the engine) or from a file; print the shortest form that reads back the same.
    static func formatScore(_ d: Double) -> String {
        if let f = Float(exactly: d) { return "\(f)" }
        return "\(d)"
    }
}

/// Reads a text input file (judgments, runs) and parses it; errors name the file and the line.
func readInputFile<T>(_ path: String, kind: String, parse: (String) throws -> T) throws -> T {
    guard FileManager.default.fileExists(atPath: path) else { throw EngineError.input("\(kind) \(path) does not exist") }
    guard let data = FileManager.default.contents(atPath: path) else { throw EngineError.input("cannot read \(kind) \(path)") }
    do {
        return try parse(String(decoding: data, as: UTF8.self))
    } catch let EngineError.badLine(line, message) {
        throw EngineError.input("\(path): line \(line): \(message)")
    } catch let EngineError.input(m) {
        throw EngineError.input("\(path): \(m)")
    }
}
