import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

@Suite struct SearchRequestTests {
    func parse(_ json: String) throws -> SearchRequest {
        var t = json
        return try t.withUTF8 { p in
            var tape = JSONTape()
            try tape.parse(p)
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
    }

    @Test func parsesAllKeys() throws {
        let r = try parse(#"{"q":"sofa","operator":"OR","limit":5,"offset":10,"track_total_hits":false,"explain":true,"fields":["title"]}"#)
        #expect(r.q == "sofa" && r.op == .or && r.limit == 5 && r.offset == 10 && r.explain && r.fields == ["title"])
        #expect(r.trackTotalHits == .upTo(0))
        #expect(try parse(#"{"q":"x","track_total_hits":true}"#).trackTotalHits == .exact)
    }

    @Test(arguments: [
        (#"{"q":1}"#, "q must be a string"),
        (#"{"q":"x","limit":5000}"#, "limit must be between 0 and 1000"),
        (#"{"q":"x","limit":-1}"#, "limit must be between"),
        (#"{"q":"x","limit":2.5}"#, "limit must be an integer"),
        (#"{"q":"x","offset":9995,"limit":10}"#, "offset + limit must be at most 10000"),
        (#"{"q":"x","operator":"xor"}"#, "operator must be"),
        (#"{"q":"x","colour":"red"}"#, "unknown key \"colour\""),
        (#"{"q":"x","filters":[1]}"#, "filters must be an object"),
        (#"{"q":"x","facets":"brand"}"#, "facets must be an array"),
        (#"{"q":"x","facets":[{"size":3}]}"#, "needs \"field\""),
        (#"{"q":"x","facets":[{"field":"price","ranges":[{"from":5,"to":1}]}]}"#, "must be below"),
        (#"{"q":"x","facets":[{"field":"brand","size":0}]}"#, "facet size must be"),
        (#"{"q":"x","search_after":[1]}"#, "search_after must be"),
        (#"{"q":"x","sort":1}"#, "sort must be a string"),
        (#"["q"]"#, "must be a JSON object"),
    ])
    func rejectsBadRequests(_ json: String, _ fragment: String) {
        do {
            _ = try parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(fragment), "\(json): \(error)")
        }
    }

    @Test func batchModeAnswersEveryLineInOrder() throws {
        let (svc, _, dir) = try buildIndex(corpus: fixture("sample-catalog.jsonl"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = [#"{"q":"sofa","limit":2}"#, "not json", #"{"q":"\"unclosed","syntax":"strict"}"#, "", #"{"q":"lamp","operator":"or","limit":1}"#,
                     #"{"q":"\"velvet sofa"}"#].joined(separator: "\n") + "\n"
        let inPipe = Pipe(), outPipe = Pipe()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        svc.serveLines(input: inPipe.fileHandleForReading, output: outPipe.fileHandleForWriting)
        try outPipe.fileHandleForWriting.close()
        let lines = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 5)
        let first = try JSONValue.parse(String(lines[0]))
        #expect(first["hits"]?.arrayValue?.count == 2)
        #expect(first["total"]?.numberValue ?? 0 >= 2)
        #expect(first["took_us"]?.numberValue != nil)
        #expect(try JSONValue.parse(String(lines[1]))["error"]?.stringValue?.contains("invalid JSON") == true)
        #expect(try JSONValue.parse(String(lines[2]))["error"]?.stringValue?.contains("never closed") == true)
        #expect(try JSONValue.parse(String(lines[3]))["hits"]?.arrayValue?.count == 1)
        // JSON requests are lenient by default: the unclosed quote searches the plain words, and says so.
        let lenient = try JSONValue.parse(String(lines[4]))
        #expect(lenient["query_syntax"]?.stringValue == "lenient" && (lenient["hits"]?.arrayValue?.count ?? 0) >= 1)
    }
}
