import Foundation
import Testing
@testable import AisleEngine
import AisleIndex

/// End to end: `aisle update`, `check`, `export` and the zero-downtime `index --replace`.
@Suite(.serialized) struct LiveCLITests {
    typealias C = CLITests

    func exportPrices(_ idx: String) throws -> [String: Double?] {
        let r = try C.aisle(["export", "--index", idx, "--fields", "price"])
        #expect(r.status == 0, "\(r.err)")
        var out: [String: Double?] = [:]
        for line in r.out.split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            out[v["id"]!.stringValue!] = v["price"]?.numberValue
        }
        return out
    }

    @Test func updateCheckExport() throws {
        let work = C.temp("update")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = work + "/idx"
        #expect(try C.aisle(["index", "--corpus", C.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"]).status == 0)
        let before = try exportPrices(idx)
        #expect(before.count == 60)
        let changes = work + "/changes.jsonl"
        try """
        {"op": "set", "id": "S0002", "price": 1.25, "in_stock": false}
        {"op": "delete", "id": "S0003"}
        {"op": "upsert", "id": "NEW1", "title": "Purple velvet sofa", "brand": "Zed", "price": 99}
        {"op": "set", "id": "S0004", "title": 3}
        not json
        {"op": "delete", "id": "NOPE"}

        """.write(toFile: changes, atomically: true, encoding: .utf8)
        // --atomic: one bad line rejects everything.
        let rejected = try C.aisle(["update", "--index", idx, "--changes", changes, "--atomic", "--quiet"])
        #expect(rejected.status == 2)
        #expect(rejected.err.contains("nothing applied"), "\(rejected.err)")
        #expect(rejected.err.contains("line 4:") && rejected.err.contains("line 5:"), "\(rejected.err)")
        #expect(try exportPrices(idx) == before)
        // Without: the good lines apply, the bad ones are reported by number.
        let r = try C.aisle(["update", "--index", idx, "--changes", changes, "--quiet"])
        #expect(r.status == 2)
        #expect(r.err.contains("applied 3 changes"), "\(r.err)")
        #expect(r.err.contains("line 4: field title is text"), "\(r.err)")
        #expect(r.err.contains("line 6: NOPE"), "\(r.err)")
        let after = try exportPrices(idx)
        #expect(after.count == 60)
        #expect(after["S0002"] == 1.25)
        #expect(after["S0003"] == nil)
        #expect(after["NEW1"] == 99)
        let s = try C.aisle(["search", "--index", idx, "--json", "purple", "velvet"])
        #expect(s.out.contains("\"NEW1\""), "\(s.out)")
        // check: sound; then a damaged tombstone file is named.
        let ok = try C.aisle(["check", "--index", idx, "--json"])
        #expect(ok.status == 0, "\(ok.out)\(ok.err)")
        let report = try JSONValue.parse(ok.out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(report["ok"]?.boolValue == true)
        #expect(report["documents"]?.numberValue == 60)
        #expect(report["deleted"]?.numberValue == 1)
        #expect(report["user_data"]?["changes_lines"]?.stringValue == "6")
        let del = try #require(try FileManager.default.contentsOfDirectory(atPath: idx).first { $0.hasSuffix(".del") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: idx + "/" + del))
        bytes[20] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: idx + "/" + del))
        let bad = try C.aisle(["check", "--index", idx])
        #expect(bad.status == 1)
        #expect(bad.out.contains(del), "\(bad.out)")
        let search = try C.aisle(["search", "--index", idx, "sofa"])
        #expect(search.status == 1)
        #expect(search.err.contains(del), "\(search.err)")
    }

    @Test func writerLockGivesAClearError() throws {
        let work = C.temp("lock")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = work + "/idx"
        #expect(try C.aisle(["index", "--corpus", C.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"]).status == 0)
        // A server holds the write lock.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: C.binary)
        p.arguments = ["serve", "--index", idx, "--port", "0"]
        p.standardError = Pipe()
        p.standardOutput = Pipe()
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        var held = false
        for _ in 0..<200 where !held {
            usleep(20_000)
            held = AisleIndex.WriterLock.isHeld(directory: idx)
        }
        #expect(held)
        let changes = work + "/c.jsonl"
        try "{\"op\": \"delete\", \"id\": \"S0001\"}\n".write(toFile: changes, atomically: true, encoding: .utf8)
        let r = try C.aisle(["update", "--index", idx, "--changes", changes])
        #expect(r.status == 1)
        #expect(r.err.contains("open for writing by process"), "\(r.err)")
    }

    @Test func replaceSwitchesGenerations() throws {
        let work = C.temp("replace")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = work + "/idx"
        #expect(try C.aisle(["index", "--corpus", C.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"]).status == 0)
        // A smaller catalog replaces it.
        let lines = try String(contentsOfFile: C.root + "/corpora/sample-catalog.jsonl", encoding: .utf8).split(separator: "\n").prefix(10)
        let small = work + "/small.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: small, atomically: true, encoding: .utf8)
        let r = try C.aisle(["index", "--corpus", small, "--index", idx, "--replace", "--quiet"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("switched"), "\(r.err)")
        #expect(try String(contentsOfFile: idx + "/CURRENT", encoding: .utf8).hasPrefix("gen-000001"))
        #expect(try exportPrices(idx).count == 10)
        // The old plain index files are gone (nobody used them).
        #expect(try FileManager.default.contentsOfDirectory(atPath: idx).filter { $0.hasPrefix("seg_") || $0.hasPrefix("commit_") }.isEmpty)
        // Again: generation 2; generation 1 is removed.
        #expect(try C.aisle(["index", "--corpus", C.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--replace", "--quiet"]).status == 0)
        #expect(try String(contentsOfFile: idx + "/CURRENT", encoding: .utf8).hasPrefix("gen-000002"))
        #expect(!FileManager.default.fileExists(atPath: idx + "/gen-000001"))
        #expect(try exportPrices(idx).count == 60)
        #expect(try C.aisle(["check", "--index", idx]).status == 0)
    }
}
