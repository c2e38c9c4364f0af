import Foundation
import Testing
@testable import AisleEngine

/// End to end: the `aisle` binary on the fixtures in corpora/.
@Suite(.serialized) struct CLITests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built binary: AISLE_BIN, else next to the test bundle, else .build/debug.
    static let binary: String = {
        if let b = ProcessInfo.processInfo.environment["AISLE_BIN"] { return b }
        let nextToTests = Bundle.main.bundleURL.appendingPathComponent("aisle").path
        if FileManager.default.isExecutableFile(atPath: nextToTests) { return nextToTests }
        for dir in try! FileManager.default.contentsOfDirectory(atPath: root + "/.build") where !dir.hasPrefix(".") {
            let p = root + "/.build/" + dir + "/debug/aisle"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return root + "/.build/debug/aisle"
    }()

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    @discardableResult
    static func aisle(_ args: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let o = Pipe(), e = Pipe(), i = Pipe()
        p.standardOutput = o
        p.standardError = e
        p.standardInput = i
        try p.run()
        if let stdin { i.fileHandleForWriting.write(Data(stdin.utf8)) }
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        let err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, out: String(decoding: out, as: UTF8.self), err: String(decoding: err, as: UTF8.self))
    }

    static func temp(_ label: String) -> String {
        let p = NSTemporaryDirectory() + "aisle-cli-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }

    @Test func version() throws {
        let r = try Self.aisle(["--version"])
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("aisle "))
    }

    @Test func indexSearchRunOnTheSampleCatalog() throws {
        let work = Self.temp("sample")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = work + "/idx"
        let built = try Self.aisle(["index", "--corpus", Self.root + "/corpora/sample-catalog.jsonl", "--index", idx])
        #expect(built.status == 0, "\(built.err)")
        #expect(built.err.contains("indexed 60 documents"), "\(built.err)")

        // Plain text output.
        let s = try Self.aisle(["search", "--index", idx, "--limit", "3", "espresso", "machine"])
        #expect(s.status == 0)
        #expect(s.out.contains("S0034"))
        #expect(s.out.contains("Espresso Machine with Milk Frother"))

        // JSON output, explain.
        let j = try Self.aisle(["search", "--index", idx, "--json", "--explain", "--limit", "1", "sofas"])
        let v = try JSONValue.parse(j.out.trimmingCharacters(in: .whitespacesAndNewlines))
        let hit = try #require(v["hits"]?.arrayValue?.first)
        #expect(["S0001", "S0002"].contains(hit["id"]?.stringValue ?? ""))
        // "sofas" is the word sofa or its built-in synonym couch, the best one counting.
        #expect(hit["explanation"]?["description"]?.stringValue == "best of")
        #expect(hit["explanation"]?.jsonText.contains("title:sofa") == true)

        // Batch mode: answers in order, errors in place.
        let batch = try Self.aisle(["search", "--index", idx, "--stdin"],
                                   stdin: #"{"q":"lamp","limit":2}"# + "\n" + #"{"q":"rug","filters":{"colour":["red"]}}"# + "\n" + #"{"q":"tv OR television","operator":"or"}"# + "\n")
        let lines = batch.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(try JSONValue.parse(lines[0])["hits"]?.arrayValue?.count == 2)
        #expect(try JSONValue.parse(lines[1])["error"]?.stringValue?.contains("unknown filter \"colour\"") == true)
        #expect((try JSONValue.parse(lines[2])["total"]?.numberValue ?? 0) >= 2)

        // A TREC run.
        let queries = work + "/q.tsv"
        _ = FileManager.default.createFile(atPath: queries, contents: Data("query_id\ttext\n1\tsofa\n2\tcoffee maker\n3\tzzzz\n".utf8))
        let run = try Self.aisle(["run", "--index", idx, "--queries", queries, "--out", work + "/run.txt", "--limit", "5"])
        #expect(run.status == 0, "\(run.err)")
        let trec = try String(contentsOfFile: work + "/run.txt", encoding: .utf8).split(separator: "\n")
        #expect(!trec.isEmpty)
        for line in trec {
            let f = line.split(separator: " ")
            #expect(f.count == 6 && f[1] == "Q0" && f[5] == "aisle", "\(line)")
        }
        #expect(trec.filter { $0.hasPrefix("1 ") }.count >= 2)

        // An existing index is not overwritten by accident.
        let again = try Self.aisle(["index", "--corpus", Self.root + "/corpora/sample-catalog.jsonl", "--index", idx])
        #expect(again.status == 1)
        #expect(again.err.contains("already exists"))
        let over = try Self.aisle(["index", "--corpus", Self.root + "/corpora/sample-products.tsv", "--index", idx, "--overwrite"])
        #expect(over.status == 0, "\(over.err)")
        #expect(try Self.aisle(["search", "--index", idx, "copper"]).out.contains("H2"))
    }

    /// `aisle vectors ann-bench`, `aisle model` and the search-feedback flags of `aisle serve`:
    /// bad input is a clear error before any work; a tiny ann-bench run finds the exact neighbours.
    @Test func vectorAndModelCommandsRefuseBadInput() throws {
        let work = Self.temp("vectors")
        defer { try? FileManager.default.removeItem(atPath: work) }
        var rng = SystemRandomNumberGenerator()
        func write(_ path: String, rows: Int, dims: Int) {
            var d = Data()
            for _ in 0..<rows {
                let v = (0..<dims).map { _ in Float.random(in: -1...1, using: &rng) }
                let n = sqrt(v.reduce(0) { $0 + $1 * $1 })
                for x in v { withUnsafeBytes(of: (x / n).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            }
            _ = FileManager.default.createFile(atPath: path, contents: d)
        }
        write(work + "/v.f32", rows: 40, dims: 8)
        write(work + "/q.f32", rows: 5, dims: 8)
        let ok = try Self.aisle(["vectors", "ann-bench", "--vectors", work + "/v.f32", "--queries", work + "/q.f32", "--dims", "8",
                                 "--k", "3", "--ef", "40"])
        #expect(ok.status == 0, "\(ok.err)")
        let v = try JSONValue.parse(ok.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(v["vectors"]?.numberValue == 40 && v["runs"]?.arrayValue?.first?["recall"]?.numberValue == 1, "\(ok.out)")
        func err(_ args: [String], _ says: String) throws {
            let r = try Self.aisle(args)
            #expect(r.status != 0 && r.err.contains(says), "\(args): \(r.err)")
        }
        let bench = ["vectors", "ann-bench", "--vectors", work + "/v.f32", "--queries", work + "/q.f32"]
        try err(bench + ["--dims", "7"], "is not rows of 7 float32 values")
        try err(bench + ["--dims", "8", "--ef", "10,x"], "--ef takes positive integers")
        try err(bench + ["--dims", "8", "--ef", "0"], "--ef takes positive integers")
        try err(bench + ["--dims", "8", "--k", "41"], "more than the 40 vectors")
        try err(bench + ["--dims", "8", "--m", "1"], "--m must be at least 2")
        try err(["vectors", "ann-bench", "--vectors", work + "/missing", "--queries", work + "/q.f32", "--dims", "8"], "cannot read")
        try err(["model", "embed", "--batch", "0"], "--batch must be from 1 to 4096")
        try err(["model", "embed", "--dir", work + "/no-model"], "aisle model install")
        try err(["model", "time", "--dir", work + "/no-model"], "aisle model install")
        try err(["model", "time", "--repeat", "0"], "--repeat must be at least 1")
        // aisle index --vectors: the fields to embed, and the model, are checked before the corpus is read.
        let corpus = Self.root + "/corpora/sample-catalog.jsonl"
        try err(["index", "--corpus", corpus, "--index", work + "/v1", "--vectors", " , "], "--vectors needs the field(s) to embed")
        let noModel = try Self.aisle(["index", "--corpus", corpus, "--index", work + "/v2", "--vectors", "title"],
                                     environment: ["AISLE_MODEL_DIR": work + "/no-model"])
        #expect(noModel.status != 0 && noModel.err.contains("title_vector") && noModel.err.contains("aisle model install"), "\(noModel.err)")
        #expect(!FileManager.default.fileExists(atPath: work + "/v2/commit_1"), "nothing indexed without the model")
        // A schema's vector field given its vectors in the input needs no model; a vector of the
        // wrong length names the line and indexes nothing.
        let schema = #"{"id_field": "id", "fields": [{"name": "title", "type": "text"}, {"name": "emb", "type": "vector", "dims": 3, "source": "emb"}]}"#
        _ = FileManager.default.createFile(atPath: work + "/schema.json", contents: Data(schema.utf8))
        _ = FileManager.default.createFile(atPath: work + "/good.jsonl", contents: Data(#"{"id": "a", "title": "oak table", "emb": [1, 2, 2]}"#.utf8 + [10]))
        _ = FileManager.default.createFile(atPath: work + "/bad.jsonl",
                                           contents: Data((#"{"id": "a", "title": "oak table", "emb": [1, 2, 2]}"# + "\n" + #"{"id": "b", "title": "pine", "emb": [1, 2]}"# + "\n").utf8))
        let good = try Self.aisle(["index", "--corpus", work + "/good.jsonl", "--index", work + "/v3", "--schema", work + "/schema.json", "--quiet"],
                                  environment: ["AISLE_MODEL_DIR": work + "/no-model"])
        #expect(good.status == 0, "\(good.err)")
        #expect(try Self.aisle(["check", "--index", work + "/v3"]).status == 0)
        try err(["index", "--corpus", work + "/bad.jsonl", "--index", work + "/v4", "--schema", work + "/schema.json", "--quiet"],
                "line 2: invalid document: field emb: a vector of 2 numbers; the field has 3 dims")
        // The search-feedback flags of aisle serve are checked before it serves.
        let idx = work + "/i"
        let built = try Self.aisle(["index", "--corpus", Self.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"])
        #expect(built.status == 0, "\(built.err)")
        try err(["serve", "--index", idx, "--port", "0", "--search-feedback-seconds=-1"], "--search-feedback-seconds must be 0 or more")
        try err(["serve", "--index", idx, "--port", "0", "--search-feedback-seconds", "nan"], "--search-feedback-seconds must be 0 or more")
        try err(["serve", "--index", idx, "--port", "0", "--search-feedback-days", "0"], "--search-feedback-days must be 1 to 3650")
        // The caches' sizes: flags of aisle serve, and the environment for every command.
        try err(["serve", "--index", idx, "--port", "0", "--facet-cache-mb=-1"], "--facet-cache-mb and --stored-cache-mb must be from 0 (off) to 1048576")
        try err(["serve", "--index", idx, "--port", "0", "--stored-cache-mb", "99999999999"], "must be from 0 (off) to 1048576")
        for (name, bad) in [("AISLE_FACET_CACHE_MB", "lots"), ("AISLE_STORED_CACHE_MB", "-5"), ("AISLE_FACET_CACHE_MB", "9223372036854775807"),
                            ("AISLE_STORED_CACHE_MB", "")] {
            let r = try Self.aisle(["search", "--index", idx, "sofa"], environment: [name: bad])
            #expect(r.status != 0 && r.err.contains("\(name) must be a whole number of MiB from 0 (off) to 1048576"), "\(name)=\(bad): \(r.err)")
        }
        let off = try Self.aisle(["search", "--index", idx, "sofa"], environment: ["AISLE_FACET_CACHE_MB": "0", "AISLE_STORED_CACHE_MB": " 0 "])
        #expect(off.status == 0, "caches turned off: \(off.err)")
        // The OR loop for benchmarks: a clear error for anything but its names, the same page either way.
        for bad in ["bmw", "", "wand;rm"] {
            let r = try Self.aisle(["search", "--index", idx, "sofa"], environment: ["AISLE_DISJUNCTION": bad])
            #expect(r.status != 0 && r.err.contains("AISLE_DISJUNCTION must be maxscore, wand or auto"), "AISLE_DISJUNCTION=\(bad): \(r.err)")
        }
        var pages: [String] = []
        for choice in ["maxscore", "WAND", "auto"] {
            let r = try Self.aisle(["search", "--index", idx, "--stdin"], stdin: #"{"q":"oak sofa table","operator":"or","limit":5}"# + "\n",
                                   environment: ["AISLE_DISJUNCTION": choice])
            #expect(r.status == 0, "AISLE_DISJUNCTION=\(choice): \(r.err)")
            pages.append(r.out.components(separatedBy: "\"took_us\"").first ?? "")
        }
        #expect(!pages[0].isEmpty && pages.allSatisfy { $0 == pages[0] }, "the loops answer differently: \(pages)")
    }

    @Test func badInputGivesClearErrors() throws {
        let work = Self.temp("bad")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let corpus = work + "/c.jsonl"
        let good = #"{"id":"A1","title":"Oak desk","category_path":"F","price":5}"#
        let badLine = #"{"id":"A2","title":"x","price":"#
        _ = FileManager.default.createFile(atPath: corpus, contents: Data((good + "\n" + badLine + "\n" + good.replacingOccurrences(of: "A1", with: "A3") + "\n").utf8))
        let r = try Self.aisle(["index", "--corpus", corpus, "--index", work + "/i"])
        #expect(r.status == 1)
        #expect(r.err.contains("line 2"), "\(r.err)")
        let skip = try Self.aisle(["index", "--corpus", corpus, "--index", work + "/i2", "--skip-bad"])
        #expect(skip.status == 0, "\(skip.err)")
        #expect(skip.err.contains("indexed 2 documents"))
        #expect(skip.err.contains("skipped 1 bad line"))

        #expect(try Self.aisle(["search", "--index", work + "/nope", "x"]).err.contains("no index at"))
        let q = try Self.aisle(["search", "--index", work + "/i2", "\"oak"])
        #expect(q.status == 1 && q.err.contains("never closed"))
        #expect(try Self.aisle(["index", "--corpus", work + "/missing.jsonl", "--index", work + "/i3"]).err.contains("cannot open corpus"))
        #expect(try Self.aisle(["index", "--corpus", corpus, "--index", work + "/i4", "--analyzer", "klingon"]).err.contains("unknown analyzer"))
        // --pairs takes on, off or auto; anything else names the choices and builds nothing.
        let pairs = try Self.aisle(["index", "--corpus", corpus, "--index", work + "/i5", "--pairs", "maybe", "--skip-bad"])
        #expect(pairs.status != 0 && pairs.err.contains("--pairs") && pairs.err.contains("on"), "\(pairs.err)")
        #expect(!FileManager.default.fileExists(atPath: work + "/i5/commit_1"))
        for (choice, want) in [("on", true), ("off", false), ("auto", true)] {
            let r = try Self.aisle(["index", "--corpus", corpus, "--index", work + "/p-" + choice, "--pairs", choice, "--skip-bad"])
            #expect(r.status == 0, "\(r.err)")
            let inspect = try Self.aisle(["inspect", "--index", work + "/p-" + choice])
            #expect(inspect.status == 0 && inspect.out.contains("word pairs") == want, "--pairs \(choice): \(inspect.out)")
        }
    }
}
