import Foundation
import AisleAnalyzer

/// A query of a query file.
public struct QueryRecord: Sendable, Equatable {
    public var id: String
    public var text: String
}

/// Query files: TSV with a header (first column the query id; the text is the column named
/// text/query/search_term/q, else the last column) or JSON lines with `qid` and `q` (the synth format).
public enum QueryFile {
    public static func read(path: String) throws -> [QueryRecord] {
        guard let data = FileManager.default.contents(atPath: path) else { throw EngineError.input("cannot read query file \(path)") }
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        while let l = lines.last, l.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let first = lines.first else { return [] }
        var out: [QueryRecord] = []
        if first.hasPrefix("{") {
            for (i, l) in lines.enumerated() where !l.trimmingCharacters(in: .whitespaces).isEmpty {
                let v: JSONValue
                do { v = try JSONValue.parse(String(l)) } catch { throw EngineError.badLine(line: i + 1, message: error.description) }
                let idv = v["qid"] ?? v["query_id"] ?? v["id"]
                let id: String
                switch idv {
                case .string(let s)?: id = s
                case .number(let d)?: id = Int64(exactly: d).map { String($0) } ?? String(d)
                default: throw EngineError.badLine(line: i + 1, message: "no qid")
                }
                guard let q = (v["q"] ?? v["query"] ?? v["text"])?.stringValue else {
                    throw EngineError.badLine(line: i + 1, message: "no q (the query text)")
                }
                out.append(QueryRecord(id: id, text: q))
            }
            return out
        }
        let header = first.split(separator: "\t", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.count >= 2 else { throw EngineError.input("\(path): a TSV query file needs a header with an id and a text column") }
        let textCol = header.firstIndex { ["text", "query", "search_term", "q"].contains($0.lowercased()) } ?? header.count - 1
        for (i, l) in lines.enumerated().dropFirst() where !l.trimmingCharacters(in: .whitespaces).isEmpty {
            let cols = l.split(separator: "\t", omittingEmptySubsequences: false)
            guard cols.count == header.count else {
                throw EngineError.badLine(line: i + 1, message: "expected \(header.count) tab-separated columns, found \(cols.count)")
            }
            out.append(QueryRecord(id: String(cols[0]), text: String(cols[textCol])))
        }
        return out
    }
}

/// Names of the analyzers this build has.
public enum AnalyzerNames {
    public static var all: [String] { Analyzers.names }
}
