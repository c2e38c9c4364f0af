import Foundation
import AisleIndex

/// Input formats `aisle index` reads.
public enum CorpusFormat: String, Sendable, CaseIterable {
    /// Catalog JSON lines (the synth format): the built-in catalog schema.
    case catalog
    /// Any JSON lines: a schema inferred from the first record, or given.
    case jsonl
    /// Tab-separated values with a header row: first column the id, the others text.
    case tsv
}

/// A corpus file, memory-mapped, with its format and schema.
public final class Corpus: @unchecked Sendable {
    public let path: String
    let file: MappedFile
    public let format: CorpusFormat
    public let schema: Schema
    /// TSV column names.
    public let header: [String]
    /// Byte offset where data lines start (after a TSV header).
    let dataStart: Int
    /// Line number of the first data line (1-based).
    let firstDataLine: Int

    public var byteCount: Int { file.count }
    var bytes: UnsafeRawBufferPointer { file.bytes }

    /// Opens a corpus. The format is guessed from the extension and first line unless given; the
    /// schema is the given one, else the built-in one for the format.
    public init(path: String, format given: CorpusFormat? = nil, schema: Schema? = nil) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch {
            throw EngineError.input("cannot open corpus \(path): \(error)")
        }
        let all = file.bytes
        // First line.
        var firstEnd = 0
        while firstEnd < all.count && all[firstEnd] != 0x0A { firstEnd += 1 }
        var firstLine = String(decoding: UnsafeRawBufferPointer(rebasing: all[0..<firstEnd]), as: UTF8.self)
        if firstLine.hasSuffix("\r") { firstLine.removeLast() }
        if firstLine.hasPrefix("\u{FEFF}") { firstLine.removeFirst() }
        let trimmed = firstLine.trimmingCharacters(in: .whitespaces)
        let fmt: CorpusFormat
        if let given {
            fmt = given
        } else if path.hasSuffix(".tsv") || path.hasSuffix(".tab") || (!trimmed.hasPrefix("{") && firstLine.contains("\t")) {
            fmt = .tsv
        } else {
            guard trimmed.hasPrefix("{") else {
                throw EngineError.input("cannot tell the format of \(path): the first line is neither a JSON object nor a tab-separated header (use --format)")
            }
            let v: JSONValue
            do { v = try JSONValue.parse(firstLine) } catch {
                throw EngineError.badLine(line: 1, message: error.description)
            }
            fmt = v["category_path"] != nil && v["title"] != nil ? .catalog : .jsonl
        }
        format = fmt
        switch fmt {
        case .tsv:
            header = firstLine.split(separator: "\t", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            dataStart = min(firstEnd + 1, all.count)
            firstDataLine = 2
            self.schema = try schema ?? Schemas.withDefaultAnalyzer(Schemas.tsv(header: header))
        case .catalog:
            header = []
            dataStart = 0
            firstDataLine = 1
            self.schema = schema ?? Schemas.withDefaultAnalyzer(Schemas.catalog)
        case .jsonl:
            header = []
            dataStart = 0
            firstDataLine = 1
            if let schema {
                self.schema = schema
            } else {
                let v: JSONValue
                do { v = try JSONValue.parse(firstLine) } catch {
                    throw EngineError.badLine(line: 1, message: error.description)
                }
                self.schema = Schemas.withDefaultAnalyzer(try Schemas.inferred(from: v))
            }
        }
    }

    /// A contiguous run of whole lines.
    public struct Part: Sendable {
        public var start: Int
        public var end: Int
        public var firstLine: Int
    }

    /// Splits the data into up to `n` parts of about equal size at line boundaries.
    public func parts(_ n: Int) -> [Part] {
        let all = file.bytes
        let total = all.count - dataStart
        guard n > 1, total > 32 << 20 else { return [Part(start: dataStart, end: all.count, firstLine: firstDataLine)] }
        var cuts = [dataStart]
        for i in 1..<n {
            var c = dataStart + total * i / n
            while c < all.count && all[c - 1] != 0x0A { c += 1 }
            if c > cuts.last! && c < all.count { cuts.append(c) }
        }
        cuts.append(all.count)
        var out: [Part] = []
        var line = firstDataLine
        for i in 0..<(cuts.count - 1) {
            out.append(Part(start: cuts[i], end: cuts[i + 1], firstLine: line))
            line += countNewlines(from: cuts[i], to: cuts[i + 1])
        }
        return out
    }

    private func countNewlines(from a: Int, to b: Int) -> Int {
        guard let base = file.bytes.baseAddress else { return 0 }
        var n = 0
        var p = base + a
        let end = base + b
        while p < end {
            guard let q = memchr(p, 0x0A, end - p) else { break }
            n += 1
            p = UnsafeRawPointer(q) + 1
        }
        return n
    }

    /// Calls `body(lineNumber, line)` for each non-blank line of a part (line without its newline).
    /// `body` returns false to stop.
    public func forEachLine(in part: Part, _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows {
        guard let base = file.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var p = part.start
        var line = part.firstLine
        while p < part.end {
            var e: Int
            if let q = memchr(base + p, 0x0A, part.end - p) {
                e = UnsafeRawPointer(q) - UnsafeRawPointer(base)
            } else {
                e = part.end
            }
            let next = e + 1
            if e > p && base[e - 1] == 0x0D { e -= 1 }
            var blank = true
            var i = p
            while i < e { let b = base[i]; if b != 0x20 && b != 0x09 { blank = false; break }; i += 1 }
            if !blank {
                if try !body(line, UnsafeBufferPointer(start: base + p, count: e - p)) { return }
            }
            p = next
            line += 1
        }
    }
}
