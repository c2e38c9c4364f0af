import Foundation
import Testing
@testable import AisleIndex

/// Hostile numbers, deadlines, pattern-field caps and a full disk at the index level.
@Suite struct HardeningTests {
    // MARK: - Automatic price buckets

    /// Checks one answer of `niceBuckets` against a scan: at most the cap, increasing edges, every
    /// value counted once, in the bucket whose bounds hold it (non-finite values at the ends).
    func checkBuckets(_ values: [Double], _ label: String) {
        let b = FacetAccumulator.niceBuckets(values)
        if values.isEmpty { #expect(b.isEmpty); return }
        #expect(!b.isEmpty && b.count <= FacetAccumulator.maxAutomaticBuckets, "\(label): \(b.count) buckets")
        #expect(b.reduce(0) { $0 + $1.count } == values.count, "\(label): counts sum to \(b.reduce(0) { $0 + $1.count }) of \(values.count)")
        #expect(b.first?.from == nil && b.last?.to == nil, "\(label): open ends")
        for i in 1..<max(b.count, 1) {
            #expect(b[i].from != nil && b[i - 1].to == b[i].from, "\(label): bucket \(i) does not continue the previous one")
            if let f = b[i].from, let t = b[i].to { #expect(f < t, "\(label): empty bucket [\(f), \(t))") }
        }
        var naive = [Int](repeating: 0, count: b.count)
        for v in values {
            let i: Int
            if v.isNaN || v == .infinity { i = b.count - 1 } else {
                i = b.lastIndex { $0.from.map { v >= $0 } ?? true } ?? 0
            }
            naive[i] += 1
        }
        #expect(naive == b.map { $0.count }, "\(label): counts \(b.map { $0.count }) vs scan \(naive)")
    }

    @Test func automaticBucketsSurviveExtremeValues() {
        let cases: [(String, [Double])] = [
            ("one price 1e300", [1, 5, 20, 1e300] + Array(repeating: 10, count: 30)),
            ("prices ±1.7e308", [-1.7e308, 1.7e308] + Array(repeating: 1.7e308, count: 20) + Array(repeating: -1.7e308, count: 20)),
            ("1e17 and 1e17+16", Array(repeating: 1e17, count: 10) + Array(repeating: 1e17 + 16, count: 10)),
            ("spread below 1e17's precision", (0..<40).map { 1e17 + Double($0 % 4) * 16 }),
            ("1e20 over small prices", (0..<100).map { Double($0) / 100 } + [1e20]),
            ("denormal spread", [0] + Array(repeating: 5e-324, count: 40)),
            ("infinities and NaN", [.infinity, -.infinity, .nan, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            ("only non-finite", [.infinity, .nan]),
            ("all equal", Array(repeating: 9.99, count: 50)),
            ("max and min doubles", [Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, 0]),
            ("huge negative", (0..<30).map { -1e300 * Double($0) }),
            ("empty", []),
            ("plain prices", (1...200).map { Double($0) * 1.25 }),
        ]
        for (label, values) in cases { checkBuckets(values, label) }
    }

    @Test func automaticBucketsAgreeWithAScanOnRandomValues() {
        var (rng, _) = SeededRandom.fromEnvironment("niceBuckets")
        let pools: [Double] = [0, 1e-300, 5e-324, 0.01, 1, 9.99, 1e6, 1e15, 1e16, 1e17, 1e300, 1.7e308,
                               .greatestFiniteMagnitude, .infinity, .nan]
        for round in 0..<400 {
            let n = Int.random(in: 0...60, using: &rng)
            var values: [Double] = []
            for _ in 0..<n {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: values.append(pools.randomElement(using: &rng)! * (Bool.random(using: &rng) ? 1 : -1))
                case 1: values.append(Double.random(in: 0..<1000, using: &rng).rounded())
                case 2: values.append(1e17 + Double(Int.random(in: 0..<8, using: &rng)) * 16)
                default: values.append(Double(bitPattern: rng.next()))
                }
            }
            checkBuckets(values, "round \(round)")
        }
    }

    // MARK: - Deadlines

    static func liveIndex(_ dir: String, docs: Int = 600, maxPatternFields: Int? = nil, memoryBudget: Int? = nil,
                          schema: Schema = RandomCorpus.schema) throws -> LiveIndex {
        var o = LiveIndex.Options()
        o.sync = false
        o.backgroundMerges = false
        if let maxPatternFields { o.maxPatternFields = maxPatternFields }
        if let memoryBudget { o.memoryBudget = memoryBudget }
        let index = try LiveIndex.create(directory: dir, schema: schema, options: o)
        var rng = SeededRandom(seed: 7)
        var doc = IndexDocument()
        for d in RandomCorpus(count: docs, rng: &rng).docs {
            d.fill(&doc)
            try index.upsert(doc)
        }
        try index.refresh()
        return index
    }

    @Test func aSearchPastItsDeadlineStops() throws {
        let dir = temporaryDirectory("deadline")
        defer { removeDirectory(dir) }
        let index = try Self.liveIndex(dir)
        defer { index.close() }
        let s = index.searcher
        let L = s.layout
        let sofa = Query.term(TermQuery(slot: 0, term: "sofa"))
        let any = Query.boolean(BooleanQuery(should: ["sofa", "black", "table", "lamp", "w11"].map { .term(TermQuery(slot: 0, term: $0)) }))
        let past = SearchDeadline(at: SearchDeadline.now() - 1)
        _ = past.checkNow()
        for q in [sofa, any, Query.matchAll] {
            #expect(throws: IndexError.timedOut(milliseconds: 0)) { _ = try s.search(q, limit: 10, trackTotalHits: .exact, deadline: past) }
            var spec = SearchSpec(query: q, facets: [FacetSpec(field: L.schema.ordinal(of: "color")!, kind: .terms(size: 5))], limit: 10)
            spec.deadline = past
            #expect(throws: IndexError.self) { _ = try s.search(spec) }
            spec.facets = []
            spec.sort = .field(L.schema.ordinal(of: "price")!, descending: false)
            #expect(throws: IndexError.self) { _ = try s.search(spec) }
            // A deadline that is far away changes nothing.
            var free = SearchSpec(query: q, limit: 10)
            let plain = try s.search(free)
            free.deadline = SearchDeadline.after(seconds: 60)
            let bounded = try s.search(free)
            #expect(plain.hits.map { $0.doc } == bounded.hits.map { $0.doc } && plain.totalHits == bounded.totalHits)
        }
    }

    @Test func aDeadlineCallsItsSlowHookOnce() {
        let d = SearchDeadline.after(seconds: 60)
        d.slowAfter = 0
        var calls = 0
        d.onSlow = { calls += 1 }
        for _ in 0..<5_000 { _ = d.tick() }
        #expect(calls == 1 && d.wasSlow && !d.expired)
    }

    // MARK: - Pattern fields

    static let attributeSchema: Schema = {
        var s = RandomCorpus.schema
        s.fields.append(FieldDefinition(name: "attributes.*", type: .keyword))
        return s
    }()

    @Test func patternFieldsAreCappedAndAddedAllOrNothing() throws {
        let dir = temporaryDirectory("pattern-cap")
        defer { removeDirectory(dir) }
        let index = try Self.liveIndex(dir, docs: 10, maxPatternFields: 4, schema: Self.attributeSchema)
        defer { index.close() }
        let before = index.currentSchema.fields.count
        // Five new keys at once: refused, nothing added.
        #expect(throws: IndexError.self) { _ = try index.fieldOrdinals((0..<5).map { "attributes.k\($0)" }) }
        #expect(index.currentSchema.fields.count == before)
        // Three: added together; known and unknown names resolve.
        let three = try index.fieldOrdinals(["attributes.k0", "title", "attributes.k1", "nosuch", "attributes.k2", "attributes.k0"])
        #expect(three.map { $0 == nil } == [false, false, false, true, false, false] && three[0] == three[5])
        #expect(index.currentSchema.fields.count == before + 3)
        // Two more would pass the cap: refused, the schema stays; one fits.
        #expect(throws: IndexError.self) { _ = try index.fieldOrdinals(["attributes.k3", "attributes.k4"]) }
        #expect(index.currentSchema.fields.count == before + 3)
        #expect(try index.fieldOrdinal("attributes.k3") != nil)
        #expect(throws: IndexError.self) { _ = try index.fieldOrdinal("attributes.k4") }
        #expect(try index.fieldOrdinal("attributes.k1") == three[2])
        #expect(index.currentSchema.patternInstanceCount == 4)
        // Over-long names are refused.
        #expect(throws: IndexError.self) { _ = try index.fieldOrdinal("attributes." + String(repeating: "x", count: 300)) }
        try index.commit()
        // The committed schema opens and searches.
        let s = try Searcher.open(directory: dir)
        #expect(s.schema.patternInstanceCount == 4)
    }

    // MARK: - A full disk

    /// A tmpfs of `megabytes` at a new directory (nil when this machine does not allow mounting:
    /// the caller skips, saying so).
    static func mountTmpfs(megabytes: Int) -> String? {
        let dir = temporaryDirectory("tmpfs")
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
        removeDirectory(dir)
    }

    /// Fills the file system of `dir` with `path` until a write fails (returns the bytes written).
    static func fill(_ path: String) -> Int {
        guard let h = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { return 0 }
        defer { try? h.close() }
        let chunk = Data(repeating: 0x41, count: 4096)
        var n = 0
        while (try? h.write(contentsOf: chunk)) != nil { n += chunk.count; if n > 1 << 30 { break } }
        try? h.synchronize()
        return n
    }

    /// On a full disk an upsert that needs to write fails, and nothing of it remains: once space is
    /// back, every accepted document is searchable and the refused one is not.
    @Test func anUpsertRefusedOnAFullDiskLeavesNoTrace() throws {
        guard let mnt = Self.mountTmpfs(megabytes: 8) else {
            print("skipped: cannot mount a tmpfs here (needs root); the full-disk test did not run")
            return
        }
        defer { Self.unmount(mnt) }
        let dir = mnt + "/index"
        let index = try Self.liveIndex(dir, docs: 50, memoryBudget: 16 << 10)
        defer { index.close() }
        try index.commit()
        let filler = mnt + "/filler"
        #expect(Self.fill(filler) > 0)
        var rng = SeededRandom(seed: 99)
        var accepted: [String] = []
        var refused: String?
        var doc = IndexDocument()
        for (i, d) in RandomCorpus(count: 5000, rng: &rng).docs.enumerated() {
            var nd = d
            nd.id = "N\(i)"
            nd.fill(&doc)
            do {
                try index.upsert(doc)
                accepted.append(nd.id)
            } catch let e as IndexError {
                guard case .io = e else { Issue.record("unexpected \(e)"); break }
                refused = nd.id
                break
            }
        }
        #expect(refused != nil, "the disk never filled (\(accepted.count) upserts accepted)")
        // Still full: refreshes fail and keep the accepted documents.
        #expect(throws: IndexError.self) { try index.refresh() }
        try FileManager.default.removeItem(atPath: filler)
        try index.refresh()
        try index.commit()
        let s = index.searcher
        for id in accepted { #expect(try s.doc(forId: id) != nil, "accepted \(id) is missing") }
        if let refused { #expect(try s.doc(forId: refused) == nil, "refused \(refused) became visible") }
        #expect(s.liveDocCount == 50 + accepted.count)
    }
}
