import Foundation

/// A golden file `corpora/analyzer/<analyzer>.tsv`: one case per line, `input<TAB>expected`; see
/// `corpora/analyzer/README.md` for the format and its escapes.
struct GoldenCase {
    var line: Int
    var input: [UInt8]
    var expected: [Expected]

    struct Expected: Equatable, CustomStringConvertible {
        var term: String
        var position: Int32
        var range: (start: Int32, end: Int32)?

        static func == (a: Expected, b: Expected) -> Bool {
            a.term == b.term && a.position == b.position && a.range?.start == b.range?.start && a.range?.end == b.range?.end
        }

        var description: String {
            let term = GoldenFile.escapeTerm(self.term)
            if let range { return "\(term)@\(position):\(range.start)-\(range.end)" }
            return "\(term)@\(position)"
        }
    }
}

enum GoldenFile {
    struct FormatError: Error, CustomStringConvertible {
        var file: String, line: Int, message: String
        var description: String { "\(file):\(line): \(message)" }
    }

    /// `corpora/analyzer`, found from this source file's path.
    static var directory: URL {
        URL(fileURLWithPath: #filePath)                 // Tests/AnalyzerTests/Support/GoldenFile.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("corpora/analyzer")
    }

    static func url(for analyzer: String) -> URL { directory.appendingPathComponent("\(analyzer).tsv") }

    static func load(_ url: URL) throws -> [GoldenCase] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var cases: [GoldenCase] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            if rawLine.isEmpty || rawLine.hasPrefix("#") { continue }
            let fail = { (message: String) in FormatError(file: url.lastPathComponent, line: line, message: message) }
            let columns = rawLine.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count == 2 else { throw fail("expected exactly one TAB, found \(columns.count - 1)") }
            let input = try unescape(columns[0], fail)
            var expected: [GoldenCase.Expected] = []
            for item in columns[1].split(separator: " ") {
                guard let at = item.lastIndex(of: "@") else { throw fail("missing @position in \(item)") }
                let term = String(decoding: try unescape(item[..<at], fail), as: UTF8.self)
                let rest = item[item.index(after: at)...]
                let parts = rest.split(separator: ":")
                guard let position = Int32(parts[0]) else { throw fail("bad position in \(item)") }
                var range: (Int32, Int32)?
                if parts.count == 2 {
                    let bounds = parts[1].split(separator: "-")
                    guard bounds.count == 2, let s = Int32(bounds[0]), let e = Int32(bounds[1]) else {
                        throw fail("bad range in \(item)")
                    }
                    range = (s, e)
                }
                expected.append(.init(term: term, position: position, range: range))
            }
            cases.append(GoldenCase(line: line, input: input, expected: expected))
        }
        return cases
    }

    /// Escapes: `\t` `\n` `\r` `\\` `\s` (space), `\u{HEX}` (a scalar), `\xHH` (a raw byte, for ill-formed UTF-8).
    static func unescape(_ text: Substring, _ fail: (String) -> FormatError) throws -> [UInt8] {
        var out: [UInt8] = []
        var it = text.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out += Array(String(c).utf8); continue }
            switch it.next() {
            case "t": out.append(0x09)
            case "n": out.append(0x0A)
            case "r": out.append(0x0D)
            case "s": out.append(0x20)
            case "\\": out.append(0x5C)
            case "x":
                guard let h = it.next(), let l = it.next(), let byte = UInt8("\(h)\(l)", radix: 16) else {
                    throw fail("bad \\x escape")
                }
                out.append(byte)
            case "u":
                guard it.next() == "{" else { throw fail("bad \\u escape") }
                var hex = ""
                while let d = it.next(), d != "}" { hex.unicodeScalars.append(d) }
                guard let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) else { throw fail("bad \\u{\(hex)}") }
                out += Array(String(s).utf8)
            default:
                throw fail("unknown escape")
            }
        }
        return out
    }

    /// The inverse of `unescape` for terms (space, TAB, newline, backslash, CR).
    static func escapeTerm(_ term: String) -> String {
        var out = ""
        for c in term.unicodeScalars {
            switch c {
            case " ": out += "\\s"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
