import Foundation
import AisleIndex

/// A hit with its id, score and the stored fields asked for.
public struct SearchHit: Sendable {
    public var doc: Int
    public var id: String
    public var score: Float
    public var fields: [(name: String, value: StoredValue)]
    public var explanation: Explanation?
}

public struct SearchResponse: Sendable {
    public var hits: [SearchHit]
    public var total: Int
    public var totalIsExact: Bool
    public var tookMicros: Double
}

/// Runs search requests against one searcher (thread-safe: a parser per call is cheap, analyzers
/// are shared and thread-safe).
public final class SearchService: Sendable {
    public let searcher: Searcher
    private let parserAnd: QueryParser
    private let parserOr: QueryParser

    public init(searcher: Searcher) throws {
        self.searcher = searcher
        parserAnd = try QueryParser(layout: searcher.layout, defaultOperator: .and)
        var p = parserAnd
        p.defaultOperator = .or
        parserOr = p
    }

    public func parser(_ op: DefaultOperator) -> QueryParser { op == .and ? parserAnd : parserOr }

    public func query(for request: SearchRequest) throws -> Query {
        try parser(request.op).parse(request.q)
    }

    /// Runs a request. `took_us` covers parsing, analysis, search and fetching ids and fields.
    public func search(_ request: SearchRequest, startedAt: UInt64? = nil) throws -> SearchResponse {
        let t0 = startedAt ?? DispatchTime.now().uptimeNanoseconds
        try request.validate()
        let q = try query(for: request)
        let top: TopDocs
        do {
            top = try searcher.search(q, limit: request.limit, offset: request.offset, trackTotalHits: request.trackTotalHits)
        } catch let e as IndexError {
            if case .invalidQuery(let m) = e { throw EngineError.badRequest(m) }
            throw e
        }
        var hits: [SearchHit] = []
        hits.reserveCapacity(top.hits.count)
        let wanted = request.fields.map { Set($0) }
        for h in top.hits {
            var fields: [(name: String, value: StoredValue)] = []
            if let wanted {
                fields = try searcher.storedFields(of: h.doc).filter { wanted.contains("*") || wanted.contains($0.name) }
            }
            hits.append(SearchHit(doc: h.doc, id: try searcher.id(of: h.doc), score: h.score, fields: fields,
                                  explanation: request.explain ? try searcher.explain(q, doc: h.doc) : nil))
        }
        let took = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
        return SearchResponse(hits: hits, total: top.totalHits, totalIsExact: top.totalIsExact, tookMicros: took)
    }

    /// The response as one line of JSON.
    public static func json(_ r: SearchResponse, into w: inout JSONWriter) {
        w.raw("{\"hits\":[")
        for (i, h) in r.hits.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"id\":")
            w.string(h.id)
            w.raw(",\"score\":")
            w.number(h.score)
            if !h.fields.isEmpty {
                w.raw(",\"fields\":{")
                for (j, f) in h.fields.enumerated() {
                    if j > 0 { w.raw(",") }
                    w.key(f.name)
                    w.value(f.value.json)
                }
                w.raw("}")
            }
            if let e = h.explanation {
                w.raw(",\"explanation\":")
                w.value(e.json)
            }
            w.raw("}")
        }
        w.raw("],\"total\":")
        w.number(r.total)
        w.raw(",\"total_relation\":")
        w.raw(r.totalIsExact ? "\"eq\"" : "\"gte\"")
        w.raw(",\"took_us\":")
        w.number((r.tookMicros * 10).rounded() / 10)
        w.raw("}")
    }

    public static func errorJSON(_ message: String, into w: inout JSONWriter) {
        w.raw("{\"error\":")
        w.string(message)
        w.raw("}")
    }

    /// Batch mode: one JSON request per input line, one JSON result per output line, in order.
    /// A bad line answers `{"error": ...}` and the loop goes on.
    public func serveLines(input: FileHandle, output: FileHandle) {
        var reader = LineReader(handle: input)
        var tape = JSONTape()
        var w = JSONWriter(capacity: 4096)
        let maxLine = 1 << 20
        while let line = reader.next() {
            let t0 = DispatchTime.now().uptimeNanoseconds
            w.bytes.removeAll(keepingCapacity: true)
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                guard line.count <= maxLine else { throw EngineError.badRequest("request line longer than \(maxLine) bytes") }
                // The tape points into `line`: read it only while the buffer is pinned.
                let req = try line.withUnsafeBufferPointer { p -> SearchRequest in
                    do { try tape.parse(p) } catch let e as JSONError {
                        throw EngineError.badRequest(e.description)
                    }
                    return try SearchRequest.parse(tape: tape, node: tape.root)
                }
                let res = try search(req, startedAt: t0)
                Self.json(res, into: &w)
            } catch let e as EngineError {
                Self.errorJSON(e.description, into: &w)
            } catch {
                Self.errorJSON("\(error)", into: &w)
            }
            w.bytes.append(0x0A)
            output.write(Data(w.bytes))
        }
    }
}

extension StoredValue {
    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .double(let d): return .number(d)
        case .int(let i): return .number(Double(i))
        case .bool(let b): return .bool(b)
        case .list(let l): return .array(l.map { $0.json })
        }
    }
}

extension Explanation {
    public var json: JSONValue {
        .object([("value", .number(Double(value))), ("description", .string(description)),
                 ("details", .array(details.map { $0.json }))])
    }
}

/// Reads lines from a file handle with a large buffer.
struct LineReader {
    let handle: FileHandle
    var buffer: [UInt8] = []
    var start = 0
    var eof = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                return line
            }
            if eof {
                if start < buffer.count {
                    let line = Array(buffer[start...])
                    start = buffer.count
                    return line
                }
                return nil
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let fd = handle.fileDescriptor
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                eof = true
            } else {
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
    }
}
