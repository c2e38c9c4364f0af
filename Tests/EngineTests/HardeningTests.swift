import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// The crashes, stalls and lost values an attacker found (issue 13), each kept as a regression
/// test, and the query budget, lenient syntax and write validation that fix them.
@Suite(.serialized) struct EngineHardeningTests {
    static let built: (SearchService, String) = {
        let (svc, _, dir) = try! buildIndex(corpus: fixture("sample-catalog.jsonl"))
        return (svc, dir)
    }()
    var svc: SearchService { Self.built.0 }

    func request(_ json: String) throws -> SearchRequest {
        var t = json
        return try t.withUTF8 { p in
            var tape = JSONTape()
            do { try tape.parse(p) } catch let e as JSONError { throw EngineError.badRequest(e.description) }
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
    }

    /// The message of the error `body` throws (nil: it did not throw).
    func failure(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    // MARK: - Numbers from requests

    @Test(arguments: [#"{"filters": {"brand": 1e300}}"#, #"{"filters": {"brand": 1e19}}"#, #"{"filters": {"brand": -9.3e18}}"#,
                      #"{"filters": {"brand": 12}}"#, #"{"filters": {"brand": 0.5}}"#])
    func aNumericKeywordFilterNeverTraps(_ json: String) throws {
        let r = try svc.search(try request(json))
        #expect(r.total == 0 || json.contains("12"))
    }

    @Test func outOfRangeJSONNumbersAreErrors() {
        #expect(failure { _ = try self.request(#"{"filters": {"brand": 1e999}}"#) }?.contains("out of range") == true)
        #expect(failure { _ = try self.request(#"{"q": "x", "limit": -1e999}"#) }?.contains("out of range") == true)
        #expect(failure { _ = try JSONValue.parse("[" + String(repeating: "9", count: 400) + "]") }?.contains("out of range") == true)
        #expect((try? JSONValue.parse("[1e308, -2.5e-320, 0]")) != nil)
    }

    @Test(arguments: [#"[1.0, 1e19]"#, #"[1.0, -1]"#, #"[1.0, 2.5]"#, #"[1e300, 3]"#, #"[1.0, 9.3e18]"#])
    func searchAfterWithAHugeDocIsABadRequest(_ after: String) throws {
        let m = failure { _ = try self.svc.search(try self.request(#"{"q": "sofa", "search_after": \#(after)}"#)) }
        #expect(m?.contains("search_after") == true, "\(after): \(m ?? "accepted")")
    }

    /// Found by scripts/abuse.py: `a AND b AND c` emptied a list and trapped; two boosts on one
    /// field trapped building a dictionary; a huge boost `missing` made every score infinite (null).
    @Test func andChainsDuplicateBoostsAndHugeMissingValues() throws {
        let chain = try svc.search(SearchRequest(q: "velvet AND sofa AND chesterfield", op: .or, limit: 10))
        let plain = try svc.search(SearchRequest(q: "velvet sofa chesterfield", op: .and, limit: 10))
        #expect(!chain.hits.isEmpty && chain.hits.map { $0.id } == plain.hits.map { $0.id })
        #expect(try QueryParser(layout: svc.searcher.layout, defaultOperator: .or).parse("a1 AND b2 AND c3 d4 AND e5") != .matchNone)
        #expect(failure { _ = try QueryParser(layout: self.svc.searcher.layout).parse("sofa AND AND lamp") } != nil)
        let twice = try svc.search(try request(#"{"q": "sofa", "boost": [{"field": "rating", "weight": 1}, {"field": "rating", "weight": 2}]}"#))
        #expect(!twice.hits.isEmpty && twice.hits.allSatisfy { $0.score.isFinite })
        #expect(failure { _ = try self.request(#"{"q": "sofa", "boost": [{"field": "rating", "missing": 1e308, "modifier": "none"}]}"#) }?.contains("missing") == true)
    }

    // MARK: - The query budget

    @Test func notChainsCollapseAndCostLittle() throws {
        let chain = Array(repeating: "NOT", count: 240).joined(separator: " ") + " sofa"   // even: requires sofa
        let t0 = Date()
        let r = try svc.search(SearchRequest(q: chain, op: .or, limit: 10))
        #expect(Date().timeIntervalSince(t0) < 10)   // it was quadratic: seconds at 20k products
        let plain = try svc.search(SearchRequest(q: "+sofa", op: .or, limit: 10))
        #expect(r.total == plain.total && r.total > 0)
        let odd = try svc.search(SearchRequest(q: "NOT NOT NOT sofa", op: .and, limit: 100))
        let not = try svc.search(SearchRequest(q: "-sofa", op: .and, limit: 100))
        #expect(odd.total == not.total && Set(odd.hits.map { $0.id }) == Set(not.hits.map { $0.id }))
    }

    @Test func theBudgetNamesTheLimit() {
        // More than 256 parts, counted whatever they are.
        let nots = Array(repeating: "NOT", count: 498).joined(separator: " ") + " sofa"
        #expect(failure { _ = try self.svc.search(SearchRequest(q: nots)) }?.contains("the limit is 256") == true)
        let groups = String(repeating: "-(", count: 40) + "sofa" + String(repeating: ")", count: 40)
        #expect(failure { _ = try self.svc.search(SearchRequest(q: groups)) }?.contains("deeper than 32") == true)
        let prefixes = (0..<9).map { "s\($0)*" }.joined(separator: " ")
        #expect(failure { _ = try self.svc.search(SearchRequest(q: prefixes, op: .or)) }?.contains("prefix") == true)
        #expect(failure { _ = try self.svc.search(SearchRequest(q: (0..<8).map { "s\($0)*" }.joined(separator: " "), op: .or)) } == nil)
        // Lenient syntax does not lift the budget.
        var r = SearchRequest(q: nots)
        r.syntax = .lenient
        #expect(failure { _ = try self.svc.search(r) } != nil)
    }

    @Test func rankingOverridesAreClampedToTheServersLimits() throws {
        let r = try request(#"{"q": "sofa", "ranking": {"rescore_window": 100000, "proximity_slop": 100, "typo_candidates": 16, "typo_rare_docs": 1000000, "relax_below": 10000, "feedback_docs": 100, "feedback_terms": 200, "feedback_keep": 1000, "coordination_max_words": 256}}"#)
        let o = try svc.rankingOptions(for: r)
        let l = svc.limits
        #expect(o.rescoreWindow == l.maxRescoreWindow && o.proximitySlop == l.maxProximitySlop && o.typoCandidates == l.maxTypoCandidates)
        #expect(o.typoRareDocs == l.maxTypoRareDocs && o.relaxBelow == l.maxRelaxBelow && o.feedbackDocs == l.maxFeedbackDocs)
        #expect(o.feedbackTerms == l.maxFeedbackTerms && o.feedbackKeep == l.maxFeedbackKeep && o.coordinationMaxWords == l.maxCoordinationWords)
        // Within the limits nothing changes.
        let small = try svc.rankingOptions(for: try request(#"{"q": "sofa", "ranking": {"rescore_window": 50, "proximity_slop": 2}}"#))
        #expect(small.rescoreWindow == 50 && small.proximitySlop == 2)
    }

    @Test func explainIsForSmallPages() throws {
        #expect(failure { _ = try self.svc.search(try self.request(#"{"q": "sofa", "explain": true, "limit": 1000}"#)) }?.contains("max_explain_hits") == true)
        let r = try svc.search(try request(#"{"q": "sofa", "explain": true, "limit": 20}"#))
        #expect(r.hits.allSatisfy { $0.explanation != nil })
    }

    @Test func compoundAndTypoProbesAreBounded() throws {
        // 600 × U+FDFA: one long unknown word; splitting it would analyse every cut and count phrases.
        let t0 = Date()
        let r = try svc.search(SearchRequest(q: String(repeating: "\u{FDFA}", count: 600), op: .or))
        #expect(Date().timeIntervalSince(t0) < 10 && r.total == 0)
        // Many unknown words: the probes stop at the limit, the words are still searched, and the answer says so.
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        var words: [String] = []
        for i in 0..<200 { words.append("zq\(letters[i % 26])sofx\(letters[(i / 26) % 26])") }
        var limits = SearchLimits()
        limits.maxProbes = 8
        let bounded = try SearchService(searcher: svc.searcher, limits: limits)
        let res = try bounded.search(SearchRequest(q: words.joined(separator: " ") + " sofa", op: .or))
        #expect(res.warnings.contains { $0.contains("max_probes") })
        #expect(res.total > 0)
    }

    @Test func aSearchPastTheTimeoutFailsWithTimedOut() throws {
        let past = SearchDeadline(at: SearchDeadline.now() - 1)
        #expect(throws: IndexError.self) { _ = try self.svc.search(SearchRequest(q: "sofa", op: .or), deadline: past) }
        var limits = SearchLimits()
        limits.timeout = 0
        #expect(try SearchService(searcher: svc.searcher, limits: limits).makeDeadline() == nil)
    }

    // MARK: - Lenient syntax

    @Test(arguments: [
        (#"1/2" pipe (copper"#, ["1/2\"", "pipe", "copper"]),
        ("sofa AND", ["sofa"]),
        ("sofa OR", ["sofa"]),
        (#""velvet sofa"#, ["velvet", "sofa"]),
        ("(sofa", ["sofa"]),
        ("sofa)", ["sofa"]),
        ("colour:red sofa", ["colour", "red", "sofa"]),
        ("sofa NOT", ["sofa"]),
        ("+(sofa", ["sofa"]),
        (#"leather "sofa"~x"#, ["leather", "sofa", "x"]),
        ("AND", []),
        ("()", []),
    ])
    func brokenSyntaxSearchesThePlainWords(_ q: String, _ words: [String]) throws {
        #expect(QueryParser.plainWords(q).split(separator: " ").map(String.init) == words, "\(q) -> \(QueryParser.plainWords(q))")
        var strict = SearchRequest(q: q)
        strict.syntax = .strict
        #expect(failure { _ = try self.svc.search(strict) } != nil, "strict accepted \(q)")
        let lenient = try svc.search(SearchRequest(q: q, op: .or))
        #expect(lenient.lenientSyntax, "\(q) not marked lenient")
        if !words.isEmpty {
            let plain = try svc.search(SearchRequest(q: words.joined(separator: " "), op: .or))
            #expect(lenient.total == plain.total && lenient.hits.map { $0.id } == plain.hits.map { $0.id }, "\(q)")
        } else {
            #expect(lenient.total == 0)
        }
        // The JSON says so.
        var w = JSONWriter()
        SearchService.json(lenient, into: &w)
        #expect(w.text.contains(#""query_syntax":"lenient""#))
    }

    @Test func validSyntaxIsNotMarkedLenient() throws {
        for q in [#"velvet "leather sofa"~1 -brown"#, "sofa OR couch", "title:sofa", #"55" tv"#] {
            let r = try svc.search(SearchRequest(q: q, op: .or))
            #expect(!r.lenientSyntax, "\(q)")
        }
    }

    // MARK: - Numbers on write paths

    @Test func everyWritePathValidatesNumbers() throws {
        let dir = tempDir("write-numbers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let live = try LiveIndex.create(directory: dir, schema: Schemas.catalog, options: { var o = LiveIndex.Options(); o.sync = false; return o }())
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        func apply(_ line: String) throws {
            var b = Array(line.utf8)
            _ = try b.withUnsafeMutableBufferPointer { try u.apply(line: UnsafeBufferPointer($0)) }
        }
        try apply(#"{"op":"upsert","id":"P1","title":"Sofa","price":10,"rating":4}"#)
        try live.refresh()
        let bad: [(String, String)] = [
            (#"{"op":"upsert","id":"P2","title":"x","price":-1}"#, "price must be at least 0"),
            (#"{"op":"upsert","id":"P2","title":"x","price":1e300}"#, "price must be at most"),
            (#"{"op":"upsert","id":"P2","title":"x","price":"1e999"}"#, "price"),
            (#"{"op":"upsert","id":"P2","title":"x","rating":1e308}"#, "rating must be at most 5"),
            (#"{"op":"upsert","id":"P2","title":"x","popularity":-1e300}"#, "popularity must be within"),
            (#"{"op":"set","id":"P1","price":1e999}"#, "out of range"),
            (#"{"op":"set","id":"P1","price":-0.01}"#, "price must be at least 0"),
            (#"{"op":"set","id":"P1","rating":6}"#, "rating must be at most 5"),
        ]
        for (line, fragment) in bad {
            let m = failure { try apply(line) }
            #expect(m?.contains(fragment) == true, "\(line): \(m ?? "accepted")")
        }
        // PATCH and PUT parse the body once: 1e999 is an error, never a deleted value.
        var patch = Array(#"{"price": 1e999}"#.utf8)
        #expect(failure { _ = try patch.withUnsafeMutableBufferPointer { try u.set(id: "P1", body: UnsafeBufferPointer($0)) } } != nil)
        var put = Array(#"{"title": "Sofa", "price": -5}"#.utf8)
        #expect(failure { try put.withUnsafeMutableBufferPointer { try u.upsert(id: "P1", body: UnsafeBufferPointer($0)) } }?.contains("price") == true)
        try live.refresh()
        let s = live.searcher
        let doc = try #require(try s.doc(forId: "P1"))
        #expect(try s.docValueFields(of: doc).first { $0.name == "price" }?.value == .int(10))
        #expect(try s.doc(forId: "P2") == nil)
        // A good PUT and PATCH still work, and the id in the body must match the path.
        var good = Array(#"{"title": "Sofa bed", "price": 12.5}"#.utf8)
        try good.withUnsafeMutableBufferPointer { try u.upsert(id: "P3", body: UnsafeBufferPointer($0)) }
        var other = Array(#"{"id": "P9", "title": "x"}"#.utf8)
        #expect(failure { try other.withUnsafeMutableBufferPointer { try u.upsert(id: "P3", body: UnsafeBufferPointer($0)) } }?.contains("differs") == true)
        var rating = Array(#"{"rating": 4.5, "op": "set"}"#.utf8)
        #expect(try rating.withUnsafeMutableBufferPointer { try u.set(id: "P3", body: UnsafeBufferPointer($0)) })
    }

    @Test func aBulkBatchRefusesBadNumbersPerLine() throws {
        let dir = tempDir("bulk-numbers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let live = try LiveIndex.create(directory: dir, schema: Schemas.catalog, options: { var o = LiveIndex.Options(); o.sync = false; return o }())
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        let body = [#"{"op":"upsert","id":"A","title":"a","price":1}"#, #"{"op":"upsert","id":"B","title":"b","price":-1}"#,
                    #"{"op":"upsert","id":"C","title":"c","rating":99}"#, #"{"op":"upsert","id":"D","title":"d","price":2}"#].joined(separator: "\n")
        var b = Array(body.utf8)
        let report = try b.withUnsafeMutableBufferPointer { try u.apply(lines: UnsafeBufferPointer($0), atomic: false) }
        #expect(report.upserts == 2 && report.errors.map { $0.line } == [2, 3])
        let atomic = try b.withUnsafeMutableBufferPointer { try u.apply(lines: UnsafeBufferPointer($0), atomic: true) }
        #expect(atomic.rejected && atomic.applied == 0)
    }

    // MARK: - A full disk

    /// A tmpfs at a new directory (nil when mounting is not allowed here).
    static func mountTmpfs(megabytes: Int) -> String? {
        let dir = tempDir("tmpfs")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? dir : nil
    }

    static func unmount(_ dir: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/umount")
        p.arguments = [dir]
        try? p.run()
        p.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func fill(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { return }
        let chunk = Data(repeating: 0x41, count: 4096)
        var n = 0
        while (try? h.write(contentsOf: chunk)) != nil { n += 1; if n > 1 << 18 { break } }
        try? h.close()
    }

    /// A bulk batch that meets a full disk stops at the line that could not be written and says
    /// exactly what was applied; once there is space again, exactly those lines are searchable.
    @Test func aBulkBatchOnAFullDiskReportsWhatWasApplied() throws {
        guard let mnt = Self.mountTmpfs(megabytes: 8) else {
            print("skipped: cannot mount a tmpfs here (needs root); the full-disk bulk test did not run")
            return
        }
        defer { Self.unmount(mnt) }
        var o = LiveIndex.Options()
        o.sync = false
        o.backgroundMerges = false
        o.memoryBudget = 24 << 10
        let live = try LiveIndex.create(directory: mnt + "/index", schema: Schemas.catalog, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        Self.fill(mnt + "/filler")
        let lines = (0..<3000).map { i in
            i % 7 == 3 ? #"{"op":"upsert","id":"B\#(i)","title":"bad","price":-1}"#
                : #"{"op":"upsert","id":"P\#(i)","title":"velvet sofa number \#(i) with a long description of its cushions","price":\#(i)}"#
        }
        var body = Array(lines.joined(separator: "\n").utf8)
        let report = try body.withUnsafeMutableBufferPointer { try u.apply(lines: UnsafeBufferPointer($0), atomic: false) }
        let stop = try #require(report.stoppedAtLine, "the disk never filled")
        #expect(report.errors.last?.line == stop && report.errors.last?.message.contains("No space") == true)
        #expect(report.notAttempted == lines.count - stop)
        #expect(report.json["stopped_at_line"]?.numberValue == Double(stop))
        let bad = Set(report.errors.map { $0.line })
        let applied = (1..<stop).filter { !bad.contains($0) }
        #expect(report.upserts == applied.count)
        try FileManager.default.removeItem(atPath: mnt + "/filler")
        try live.refresh()
        let s = live.searcher
        #expect(s.liveDocCount == applied.count)
        for line in applied { #expect(try s.doc(forId: "P\(line - 1)") != nil, "line \(line) was reported applied") }
        #expect(try s.doc(forId: "P\(stop - 1)") == nil, "the failing line became visible")
        // An atomic batch never writes in the middle: with room in the buffer it is taken whole (in
        // memory); when the buffer must be written first and the disk is full, nothing of it is.
        Self.fill(mnt + "/filler")
        var more = Array((0..<3000).map { #"{"op":"upsert","id":"Q\#($0)","title":"oak table \#($0) solid wood legs and drawer"}"# }.joined(separator: "\n").utf8)
        let first = try more.withUnsafeMutableBufferPointer { try u.apply(lines: UnsafeBufferPointer($0), atomic: true) }
        #expect(first.stoppedAtLine == nil && first.upserts == 3000)
        let second = try more.withUnsafeMutableBufferPointer { try u.apply(lines: UnsafeBufferPointer($0), atomic: true) }
        #expect(second.stoppedAtLine == 1 && second.rejected && second.applied == 0 && second.notAttempted == 2999)
        try FileManager.default.removeItem(atPath: mnt + "/filler")
        try live.refresh()
        #expect(live.searcher.liveDocCount == applied.count + 3000)
    }

    // MARK: - Attribute keys

    @Test func attributeKeysAreCappedBeforeAnySchemaChange() throws {
        let dir = tempDir("attr-cap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        o.maxPatternFields = 16
        let live = try LiveIndex.create(directory: dir, schema: Schemas.catalog, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        func put(_ id: String, keys: Range<Int>) throws {
            let attrs = keys.map { "\"k\($0)\": \"v\"" }.joined(separator: ", ")
            var b = Array("{\"title\": \"t\", \"attributes\": {\(attrs)}}".utf8)
            try b.withUnsafeMutableBufferPointer { try u.upsert(id: id, body: UnsafeBufferPointer($0)) }
        }
        let fields = live.currentSchema.fields.count
        let t0 = Date()
        #expect(failure { try put("A", keys: 0..<4000) }?.contains("max_attribute_fields") == true)
        #expect(Date().timeIntervalSince(t0) < 5)   // was 12.6 s, one schema rebuild per key
        #expect(live.currentSchema.fields.count == fields)
        try put("B", keys: 0..<16)
        #expect(live.currentSchema.fields.count == fields + 16)
        try put("C", keys: 8..<16)   // known keys are fine
        #expect(failure { try put("D", keys: 15..<17) } != nil)
        try live.refresh()
        #expect(try live.searcher.doc(forId: "D") == nil && live.searcher.doc(forId: "C") != nil)
    }

    // MARK: - Batch input

    @Test func anOverlongStdinLineIsSkippedWithoutBufferingIt() throws {
        let (svc, _, dir) = try buildIndex(corpus: fixture("sample-catalog.jsonl"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inPipe = Pipe(), outPipe = Pipe()
        let writer = Thread {
            let h = inPipe.fileHandleForWriting
            h.write(Data(#"{"q":"sofa","limit":1}"#.utf8 + [0x0A]))
            let chunk = Data(repeating: 0x61, count: 1 << 20)
            for _ in 0..<5 { h.write(chunk) }   // 5 MiB without a newline
            h.write(Data([0x0A] + #"{"q":"lamp","limit":1}"#.utf8))   // and a last line without one
            try? h.close()
        }
        writer.start()
        svc.serveLines(input: inPipe.fileHandleForReading, output: outPipe.fileHandleForWriting)
        try outPipe.fileHandleForWriting.close()
        let lines = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.count == 3 && lines[1].contains("longer than 1048576 bytes"))
        #expect(lines.count == 3 && lines[2].contains("\"hits\""))
    }
}
