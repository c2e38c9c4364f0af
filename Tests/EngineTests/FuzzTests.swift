import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Seeded random input for every parser that takes outside text: the query parser (strict and
/// lenient), the JSON request decoder, Elasticsearch mappings, change lines and corpus lines (JSON
/// and TSV). Each must never trap, and must answer either a value or an error with a message. The
/// seed is printed; `AISLE_FUZZ_SEED=N` replays it, `AISLE_FUZZ_ITERATIONS=N` runs longer.
@Suite(.serialized) struct FuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["AISLE_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1500

    static func rng(_ label: String) -> Fuzz {
        let seed = ProcessInfo.processInfo.environment["AISLE_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(Int64.max))
        print("[fuzz \(label)] seed \(seed) (replay with AISLE_FUZZ_SEED=\(seed))")
        return Fuzz(seed: seed)
    }

    static let service: SearchService = {
        let (svc, _, _) = try! buildIndex(corpus: fixture("sample-catalog.jsonl"))
        return svc
    }()

    /// The error is one a caller can show: a known type with a message.
    static func isClear(_ error: Error) -> Bool {
        switch error {
        case let e as EngineError: return !e.description.isEmpty
        case let e as IndexError:
            switch e {
            case .invalidQuery, .invalidDocument, .timedOut, .schema: return true
            default: return false
            }
        case let e as JSONError: return !e.message.isEmpty
        default: return false
        }
    }

    @Test func queryParserNeverTraps() throws {
        var f = Self.rng("query")
        var errors = 0, lenientSyntaxErrors = 0
        for _ in 0..<Self.iterations {
            let q = f.query()
            for (op, syntax) in [(DefaultOperator.and, QuerySyntax.strict), (.or, .lenient), (.and, .lenient)] {
                var r = SearchRequest(q: q, op: op, limit: 5)
                r.syntax = syntax
                r.facets = f.bool() ? [FacetRequest(name: "brand"), FacetRequest(name: "price")] : []
                do {
                    _ = try Self.service.search(r)
                } catch {
                    #expect(Self.isClear(error), "\(q.debugDescription): \(error)")
                    errors += 1
                    // Lenient syntax fails only on limits, never on syntax.
                    if syntax == .lenient, !"\(error)".contains("limit") && !"\(error)".contains("bytes") {
                        lenientSyntaxErrors += 1
                        Issue.record("lenient \(q.debugDescription) failed: \(error)")
                    }
                }
            }
        }
        #expect(lenientSyntaxErrors == 0)
        print("[fuzz query] \(Self.iterations) queries, \(errors) clear errors")
    }

    @Test func jsonRequestDecoderNeverTraps() throws {
        try fuzzRequests(on: Self.service, label: "request")
    }

    /// The same against an index with a vector field (hybrid by default): windows, k, offsets,
    /// fusions and filters in every combination answer or refuse clearly.
    @Test func jsonRequestsOnAVectorIndexNeverTrap() throws {
        try fuzzRequests(on: HybridSearchTests.fixture.svc, label: "vector request")
    }

    func fuzzRequests(on service: SearchService, label: String) throws {
        var f = Self.rng(label)
        var answered = 0, refused = 0
        for _ in 0..<Self.iterations {
            var bytes = Array(f.requestJSON().utf8)
            if f.int(4) == 0 { f.mutate(&bytes) }
            do {
                let req = try bytes.withUnsafeBufferPointer { p -> SearchRequest in
                    var tape = JSONTape()
                    do { try tape.parse(p) } catch let e as JSONError { throw EngineError.badRequest(e.description) }
                    return try SearchRequest.parse(tape: tape, node: tape.root)
                }
                let r = try service.search(req)
                var w = JSONWriter()
                SearchService.json(r, into: &w)
                #expect((try? JSONValue.parse(w.text)) != nil, "unparseable answer \(w.text.prefix(200))")
                answered += 1
            } catch {
                #expect(Self.isClear(error), "\(String(decoding: bytes, as: UTF8.self).prefix(300)): \(error)")
                refused += 1
            }
        }
        print("[fuzz \(label)] \(answered) answered, \(refused) clear errors")
        #expect(answered > 0 && refused > 0)
    }

    @Test func changeLinesNeverTrapAndTheIndexStaysSound() throws {
        var f = Self.rng("changes")
        let dir = tempDir("fuzz-changes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        o.memoryBudget = 1 << 20
        o.maxPatternFields = 64
        let live = try LiveIndex.create(directory: dir, schema: Schemas.catalog, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        var applied = 0, refused = 0
        for i in 0..<Self.iterations {
            var bytes = Array(f.changeLine().utf8)
            if f.int(4) == 0 { f.mutate(&bytes) }
            do {
                _ = try bytes.withUnsafeBufferPointer { try u.apply(line: $0) }
                applied += 1
            } catch {
                #expect(Self.isClear(error), "\(String(decoding: bytes, as: UTF8.self).prefix(300)): \(error)")
                refused += 1
            }
            if i % 200 == 0 { try live.refresh() }
        }
        try live.refresh()
        try live.commit()
        // Whatever was accepted is a sound index: it reopens with checksums, and every value is in range.
        let s = try Searcher.open(directory: dir)
        for d in 0..<s.docCount where s.segments[s.locate(d)!.segment].isLive(s.locate(d)!.local) {
            for (name, v) in try s.docValueFields(of: d) {
                guard let def = s.schema.field(named: name), def.type == .numeric else { continue }
                let x: Double? = { if case .int(let i) = v { return Double(i) }; if case .double(let x) = v { return x }; return nil }()
                if let x { #expect(def.numberProblem(x) == nil, "\(name) = \(x)") }
            }
        }
        _ = try s.search(SearchSpec(query: .matchAll, facets: [FacetSpec(field: s.schema.ordinal(of: "price")!, kind: .ranges(nil))]))
        print("[fuzz changes] \(applied) applied, \(refused) clear errors, \(s.liveDocCount) products")
        #expect(applied > 0 && refused > 0)
    }

    /// Elasticsearch mappings (`PUT /{index}` bodies): random types and parameters (`index_phrases`
    /// among them) with values of every JSON kind, whole or mutated, give a definition or a mapper
    /// error with a message, never a trap; an accepted definition's schema lays out, or is refused
    /// as a schema error.
    @Test func elasticMappingsNeverTrap() throws {
        var f = Self.rng("mapping")
        var mapped = 0, refused = 0, withPairs = 0
        for _ in 0..<Self.iterations {
            var bytes = Array(f.mappingJSON().utf8)
            if f.int(4) == 0 { f.mutate(&bytes) }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let d = try ElasticMapping.definition(try JSONValue.parse(text))
                _ = try SchemaLayout(d.schema)
                mapped += 1
                if d.schema.fields.contains(where: { $0.pairs == true }) { withPairs += 1 }
            } catch let e as ElasticError {
                #expect(!e.reason.isEmpty, "\(text.prefix(300)): \(e)")
                refused += 1
            } catch {
                #expect(Self.isClear(error), "\(text.prefix(300)): \(error)")
                refused += 1
            }
        }
        print("[fuzz mapping] \(mapped) mapped (\(withPairs) with word pairs), \(refused) clear errors")
        #expect(mapped > 0 && refused > 0 && withPairs > 0)
    }

    @Test func corpusLinesNeverTrap() throws {
        var f = Self.rng("corpus")
        let dir = tempDir("fuzz-corpus")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var wo = IndexWriter.Options()
        wo.sync = false
        wo.maxPatternFields = 64
        let writer = try IndexWriter(creating: dir, schema: Schemas.catalog, options: wo)
        let json = try DocumentBuilder(writer: writer, format: .catalog)
        let tsvDir = tempDir("fuzz-tsv")
        defer { try? FileManager.default.removeItem(atPath: tsvDir) }
        let tsvSchema = try Schemas.tsv(header: ["id", "title", "description"])
        let tsvWriter = try IndexWriter(creating: tsvDir, schema: tsvSchema, options: wo)
        let tsv = try DocumentBuilder(writer: tsvWriter, format: .tsv, header: ["id", "title", "description"])
        var doc = IndexDocument()
        var ok = 0, refused = 0
        let seg = writer.makeSegmentWriter()
        for _ in 0..<Self.iterations {
            var line = Array(f.productJSON().utf8)
            if f.int(3) == 0 { f.mutate(&line) }
            do {
                try line.withUnsafeBufferPointer { try json.build(json: $0, into: &doc) }
                writer.refreshLayout(of: seg)
                try seg.add(doc)
                ok += 1
            } catch {
                #expect(Self.isClear(error), "\(String(decoding: line, as: UTF8.self).prefix(300)): \(error)")
                refused += 1
            }
            let row = Array(f.tsvLine().utf8)
            do {
                try row.withUnsafeBufferPointer { try tsv.build(tsv: $0, into: &doc) }
                ok += 1
            } catch {
                #expect(Self.isClear(error), "\(String(decoding: row, as: UTF8.self).prefix(300)): \(error)")
                refused += 1
            }
        }
        print("[fuzz corpus] \(ok) built, \(refused) clear errors")
        #expect(ok > 0 && refused > 0)
    }
}

/// Random text for the fuzz tests: syntax-heavy query strings, JSON built from the keys the
/// decoders know with hostile values, and byte-level mutations.
struct Fuzz {
    var mix: RelevanceScorePyTests.Mix
    init(seed: UInt64) { mix = RelevanceScorePyTests.Mix(state: seed) }

    mutating func next() -> UInt64 { mix.next() }

    mutating func int(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func bool() -> Bool { next() & 1 == 0 }
    mutating func pick<T>(_ a: [T]) -> T { a[int(a.count)] }

    static let words = ["sofa", "velvet", "lamp", "oak", "chair", "1/2\"", "55\"", "tv", "wi-fi", "dishwasher", "tvstand",
                        "leathr", "x", "a", "the", "café", "日本", "\u{FDFA}", "🛋️", "e\u{301}", "0", "-1", "1e999", "price:",
                        "title:", "brand:Acme", "attributes.color:red", "category:Furniture", "sof*", "*", "**"]
    static let syntax = ["\"", "(", ")", "-", "+", "AND", "OR", "NOT", ":", "~", "~2", "~999", "*", " ", "  ", "\t", "\\", "\u{0}"]

    mutating func query() -> String {
        var s = ""
        for _ in 0..<int(24) {
            switch int(5) {
            case 0, 1: s += pick(Self.words)
            case 2: s += pick(Self.syntax)
            case 3: s += " "
            default: s += String(repeating: pick(["NOT ", "-(", "(", ")", "\"", "a "]), count: int(40))
            }
        }
        if int(50) == 0 { s = String(repeating: pick(["\u{FDFA}", "a", "(", "x "]), count: 600 + int(1500)) }
        return s
    }

    static let numbers = ["0", "-0", "1", "-1", "2.5", "1e300", "-1e300", "1e999", "-1e999", "1e19", "9.3e18", "5e-324",
                          "1.7976931348623157e308", "123456789012345678901234567890", "0.1", "3", "100000", "-9223372036854775809",
                          "-9223372036854775808", "9223372036854775807", "-9.223372036854775808e18", "4294967296", "65536"]

    mutating func value(depth: Int = 0) -> String {
        switch int(depth > 2 ? 4 : 7) {
        case 0: return pick(Self.numbers)
        case 1: return "\"" + pick(Self.words).replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case 2: return pick(["true", "false", "null"])
        case 3: return "\"" + query().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\u{0}", with: "").replacingOccurrences(of: "\t", with: " ") + "\""
        case 4: return "[" + (0..<int(4)).map { _ in value(depth: depth + 1) }.joined(separator: ",") + "]"
        case 5: return "{" + (0..<int(4)).map { _ in "\"\(pick(["min", "max", "from", "to", "field", "size", "ranges", "weight", "modifier", "missing", "x"]))\":\(value(depth: depth + 1))" }.joined(separator: ",") + "}"
        default: return pick(Self.numbers)
        }
    }

    static let requestKeys = ["q", "operator", "syntax", "limit", "offset", "filters", "facets", "sort", "search_after", "boost",
                              "ranking", "retrieval", "track_total_hits", "explain", "fields", "size", "from", "query", "unknown"]
    static let filterKeys = ["brand", "category", "price_min", "price_max", "in_stock", "price", "rating", "attributes.color",
                             "title", "nosuch", "category_path", "review_count_min"]
    static let rankingKeys = RankingOptions.keys + ["nope"]
    static let retrievalKeys = ["mode", "fusion", "rrf_k", "vector_weight", "window", "k", "num_candidates", "field", "nope"]

    mutating func requestJSON() -> String {
        var members: [String] = []
        for _ in 0..<int(7) {
            let k = pick(Self.requestKeys)
            var v: String
            switch k {
            case "q", "query": v = bool() ? value() : "\"" + query().replacingOccurrences(of: "\\", with: "").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\u{0}", with: "").replacingOccurrences(of: "\t", with: " ") + "\""
            case "filters": v = "{" + (0..<int(4)).map { _ in "\"\(pick(Self.filterKeys))\":\(value())" }.joined(separator: ",") + "}"
            case "ranking": v = "{" + (0..<int(4)).map { _ in "\"\(pick(Self.rankingKeys))\":\(value())" }.joined(separator: ",") + "}"
            case "retrieval": v = bool() ? "\"\(pick(["lexical", "vector", "hybrid", "x", ""]))\""
                : "{" + (0..<int(4)).map { _ in "\"\(pick(Self.retrievalKeys))\":\(bool() ? "\"\(pick(["lexical", "hybrid", "rrf", "linear"]))\"" : value())" }.joined(separator: ",") + "}"
            case "facets": v = "[" + (0..<int(4)).map { _ in bool() ? "\"\(pick(Self.filterKeys))\"" : value() }.joined(separator: ",") + "]"
            case "sort": v = bool() ? "\"\(pick(["price_asc", "price_desc", "rating", "relevance", "x", "price"]))\"" : value()
            case "search_after": v = "[\(value()),\(value())]"
            case "limit", "offset", "size", "from": v = bool() ? String(int(1200) - 100) : value()
            default: v = value()
            }
            members.append("\"\(k)\":\(v)")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func productJSON() -> String {
        var members = ["\"id\":" + (bool() ? "\"P\(int(50))\"" : value())]
        for _ in 0..<int(8) {
            let k = pick(["title", "brand", "description", "category", "category_path", "price", "rating", "review_count", "in_stock",
                          "stock", "popularity", "attributes", "unknown"])
            var v = value()
            if k == "attributes" && bool() {
                v = "{" + (0..<int(6)).map { _ in "\"\(pick(["color", "size", "*", "x.*", "material", "k\(int(200))", String(repeating: "k", count: 300)]))\":\(value())" }.joined(separator: ",") + "}"
            }
            members.append("\"\(k)\":\(v)")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func changeLine() -> String {
        let p = productJSON()
        switch int(4) {
        case 0: return "{\"op\":\"delete\",\"id\":\(bool() ? "\"P\(int(50))\"" : value())}"
        case 1: return "{\"op\":\"set\",\"id\":\"P\(int(50))\"," + (0..<(1 + int(3))).map { _ in "\"\(pick(["price", "rating", "stock", "in_stock", "title", "popularity", "nosuch"]))\":\(value())" }.joined(separator: ",") + "}"
        case 2: return "{\"op\":\"\(pick(["upsert", "index", "put", "nope", ""]))\"," + p.dropFirst()
        default: return "{\"op\":\"upsert\"," + p.dropFirst()
        }
    }

    static let mappingTypes = ["text", "keyword", "boolean", "integer", "long", "float", "double", "scaled_float", "date",
                               "object", "nested", "dense_vector", "knn_vector", "x", ""]
    static let mappingParams = ["analyzer", "search_analyzer", "fields", "index", "index_phrases", "index_prefixes", "copy_to",
                                "norms", "boost", "doc_values", "ignore_above", "format", "dims", "scaling_factor",
                                "properties", "enabled", "null_value", "nope"]
    static let mappingNames = ["title", "brand", "a", "b.c", "_x", "", "d..e", "日本", "name"]

    /// A `PUT /{index}` body: settings and mappings whose properties take known and unknown
    /// parameters, nested up to two levels (`fields`, `properties`).
    mutating func mappingJSON() -> String {
        var members = ["\"mappings\":{\"properties\":\(mappingProperties(depth: 0))" + (bool() ? "" : ",\"dynamic\":\(value())") + "}"]
        if bool() { members.append("\"settings\":{\"number_of_shards\":\(value()),\"refresh_interval\":\(value())}") }
        return "{" + members.joined(separator: ",") + "}"
    }

    mutating func mappingProperties(depth: Int) -> String {
        let props = (0..<int(5)).map { _ -> String in
            if int(3) == 0 {
                // A well-formed text field, so that whole mappings are often accepted.
                var members = ["\"type\":\"text\"", "\"index_phrases\":\(pick(["true", "false"]))"]
                if bool() { members.append("\"analyzer\":\"\(pick(["english", "standard", "product"]))\"") }
                return "\"\(pick(["title", "brand", "name", "a"]))\":{" + (bool() ? members : members.reversed()).joined(separator: ",") + "}"
            }
            var members = int(8) == 0 ? [] : ["\"type\":\"\(pick(Self.mappingTypes))\""]
            for _ in 0..<int(4) {
                let p = pick(Self.mappingParams)
                let v: String
                switch p {
                case "index_phrases", "index", "doc_values", "enabled": v = int(3) == 0 ? value() : pick(["true", "false"])
                case "analyzer", "search_analyzer": v = bool() ? "\"\(pick(["english", "standard", "plain", "product", "klingon"]))\"" : value()
                case "fields", "properties": v = depth < 2 && bool() ? mappingProperties(depth: depth + 1) : value()
                default: v = value()
                }
                members.append("\"\(p)\":\(v)")
            }
            return "\"\(pick(Self.mappingNames))\":{" + members.joined(separator: ",") + "}"
        }
        return "{" + props.joined(separator: ",") + "}"
    }

    mutating func tsvLine() -> String {
        (0..<int(5)).map { _ in query().replacingOccurrences(of: "\n", with: " ") }.joined(separator: "\t")
    }

    /// Flips, inserts, deletes or duplicates bytes.
    mutating func mutate(_ b: inout [UInt8]) {
        for _ in 0..<(1 + int(4)) {
            guard !b.isEmpty else { b = [UInt8(truncatingIfNeeded: next())]; return }
            let i = int(b.count)
            switch int(5) {
            case 0: b[i] = UInt8(truncatingIfNeeded: next())
            case 1: b.insert(pick([0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x00, 0xFF, 0xC3, 0x30]), at: i)
            case 2: b.remove(at: i)
            case 3: b.removeSubrange(i..<b.count)
            default: b.insert(contentsOf: b[i..<min(b.count, i + int(20))], at: i)
            }
        }
    }
}
