import Foundation

/// Relevance judgments: for each query, the judged documents and their grades (raw, as in the file;
/// `GainMapping` turns them into gains).
///
/// Two formats, told apart by the first non-empty line:
/// - TREC qrels: `qid 0 docid rel` (whitespace separated, no header);
/// - TSV with a header: `query_id ⇥ product_id ⇥ relevance` (column names free; fractional grades
///   allowed). A headerless three-column TSV is read too (as score.py does).
/// A document judged twice for a query keeps the last grade (as score.py and trec_eval do).
public struct Judgments: Sendable {
    public enum Format: String, Sendable { case trec, tsv }

    public var format: Format
    /// Query id -> document id -> grade.
    public var grades: [String: [String: Double]]
    /// Query ids in the order of their first judgment.
    public var queryOrder: [String]
    /// Judgment lines that repeated an earlier (query, document) pair.
    public var duplicates = 0

    public init(format: Format = .tsv, grades: [String: [String: Double]], queryOrder: [String]? = nil) {
        self.format = format
        self.grades = grades
        self.queryOrder = queryOrder ?? grades.keys.sorted()
    }

    public var judgmentCount: Int { grades.values.reduce(0) { $0 + $1.count } }

    /// Reads a judgment file; errors name the file and the line.
    public static func read(path: String) throws -> Judgments {
        try readInputFile(path, kind: "judgment file", parse: parse)
    }

    public static func parse(_ text: String) throws -> Judgments {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let firstIndex = lines.firstIndex(where: { !isBlank($0) }) else {
            throw EngineError.input("the judgment file is empty")
        }
        let first = lines[firstIndex]
        let tabs = first.split(separator: "\t", omittingEmptySubsequences: false)
        let words = first.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let format: Format
        var start = firstIndex
        if tabs.count == 3 {
            format = .tsv
            if Double(tabs[2].trimmingCharacters(in: .whitespaces)) == nil { start += 1 }  // a header
        } else if words.count == 4 {
            format = .trec
        } else {
            throw EngineError.badLine(line: firstIndex + 1, message:
                "cannot tell the format: expected TREC qrels `qid 0 docid rel` (4 fields) or a TSV `query_id<TAB>product_id<TAB>relevance` (3 tab-separated columns), found \(words.count) field\(words.count == 1 ? "" : "s")")
        }
        var j = Judgments(format: format, grades: [:], queryOrder: [])
        for n in start..<lines.count {
            let line = lines[n]
            if isBlank(line) { continue }
            let q: Substring, d: Substring, r: Substring
            switch format {
            case .tsv:
                let f = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard f.count == 3 else {
                    throw EngineError.badLine(line: n + 1, message: "expected 3 tab-separated columns (query_id, product_id, relevance), found \(f.count)")
                }
                (q, d, r) = (f[0], f[1], f[2])
            case .trec:
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard f.count == 4 else {
                    throw EngineError.badLine(line: n + 1, message: "expected 4 whitespace-separated fields `qid 0 docid rel`, found \(f.count)")
                }
                (q, d, r) = (f[0], f[2], f[3])
            }
            let qid = q.trimmingCharacters(in: .whitespaces), did = d.trimmingCharacters(in: .whitespaces)
            let rs = r.trimmingCharacters(in: .whitespaces)
            guard !qid.isEmpty else { throw EngineError.badLine(line: n + 1, message: "empty query id") }
            guard !did.isEmpty else { throw EngineError.badLine(line: n + 1, message: "empty document id") }
            guard let grade = Double(rs), grade.isFinite else {
                throw EngineError.badLine(line: n + 1, message: "relevance \"\(rs)\" is not a number")
            }
            if j.grades[qid] == nil {
                j.grades[qid] = [:]
                j.queryOrder.append(qid)
            }
            if j.grades[qid]![did] != nil { j.duplicates += 1 }
            j.grades[qid]![did] = grade
        }
        guard !j.grades.isEmpty else { throw EngineError.input("the judgment file has a header but no judgments") }
        return j
    }

    static func isBlank(_ s: Substring) -> Bool { s.allSatisfy { $0 == " " || $0 == "\t" } }
}

/// How grades become gains for NDCG (and for the binary threshold).
public enum GainMapping: Sendable, Equatable {
    /// `relevance − 1`, at least 0 (Home Depot: 1..3 -> 0..2).
    case minus1
    /// The grade as it is, at least 0.
    case identity
    /// `5 − code` for Cleverdon codes 1..4, 0 otherwise (Cranfield).
    case cranfield
    /// An explicit table grade -> gain; other grades are an error.
    case table([Double: Double])

    /// `minus1` (or `relevance-1`), `identity`, `cranfield` (or `5-code`), or a table `1=0,2=1,3=3`.
    public init(parsing s: String) throws {
        switch s.lowercased() {
        case "minus1", "relevance-1", "rel-1": self = .minus1
        case "identity", "relevance": self = .identity
        case "cranfield", "5-code": self = .cranfield
        default:
            var t: [Double: Double] = [:]
            for part in s.split(separator: ",") {
                let kv = part.split(separator: "=")
                guard kv.count == 2, let g = Double(kv[0].trimmingCharacters(in: .whitespaces)),
                      let v = Double(kv[1].trimmingCharacters(in: .whitespaces)), v.isFinite, g.isFinite else {
                    throw EngineError.input("gain must be minus1, identity, cranfield or a table such as 1=0,2=1,3=3; got \"\(s)\"")
                }
                t[g] = v
            }
            guard !t.isEmpty else { throw EngineError.input("gain table is empty") }
            self = .table(t)
        }
    }

    public var name: String {
        switch self {
        case .minus1: return "minus1"
        case .identity: return "identity"
        case .cranfield: return "cranfield"
        case .table(let t):
            return t.keys.sorted().map { "\(Self.format($0))=\(Self.format(t[$0]!))" }.joined(separator: ",")
        }
    }

    static func format(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }

    public func gain(_ grade: Double) throws -> Double {
        switch self {
        case .minus1: return max(0, grade - 1)
        case .identity: return max(0, grade)
        case .cranfield: return grade >= 1 && grade <= 4 ? Double(5 - Int(grade)) : 0
        case .table(let t):
            guard let g = t[grade] else {
                throw EngineError.input("the gain table has no entry for grade \(Self.format(grade)) (table: \(name))")
            }
            return g
        }
    }
}
