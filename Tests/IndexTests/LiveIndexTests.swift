import Foundation
import Testing
@testable import AisleIndex

/// The live index (upserts, deletes, in-place updates, refresh, commit, merges) against the naive
/// searcher on seeded random operation sequences.
///
/// Every document version carries a stored `ver` number, so after any sequence of flushes and
/// merges the test rebuilds the index's physical document list (deleted documents included, as
/// they still count in BM25's statistics until a merge drops them) and the naive searcher scans
/// exactly that.
@Suite struct LiveIndexTests {
    static let schema: Schema = {
        var s = RandomCorpus.schema
        s.fields.append(FieldDefinition(name: "ver", type: .numeric, stored: true, docValues: false))
        return s
    }()
    static let ver = schema.ordinal(of: "ver")!
    static let price = schema.ordinal(of: "price")!
    static let rating = schema.ordinal(of: "rating")!
    static let stock = schema.ordinal(of: "in_stock")!

    static func document(_ d: NaiveDoc, ver: Int) -> IndexDocument {
        var doc = IndexDocument()
        d.fill(&doc)
        doc.addStored(field: Self.ver, value: .int(Int64(ver)))
        return doc
    }

    /// The model: every version ever written, and which version of each id is live.
    struct Model {
        var versions: [NaiveDoc] = []
        var live: [String: Int] = [:]

        /// The naive searcher over the index's physical documents.
        func naive(for s: Searcher) throws -> (NaiveSearcher, [String]) {
            var docs: [NaiveDoc] = []
            var deleted = Set<Int>()
            for seg in s.segments {
                for d in 0..<seg.docCount {
                    let stored = try seg.stored.document(d)
                    guard case .int(let v)? = stored.first(where: { $0.0 == LiveIndexTests.ver })?.1 else {
                        throw IndexError.invalidDocument("doc without ver: \(stored) in \(seg.meta.id) doc \(d)")
                    }
                    let version = Int(v)
                    if !seg.isLive(d) { deleted.insert(docs.count) }
                    #expect(seg.isLive(d) == (live[versions[version].id] == version),
                            "doc \(docs.count) (\(versions[version].id) v\(version)) live \(seg.isLive(d))")
                    docs.append(versions[version])
                }
            }
            var avg: [Int: Float] = [:]
            for (i, f) in s.layout.textFields.enumerated() { avg[f] = s.stats.averageLength[i] }
            return (try NaiveSearcher(schema: s.schema, docs: docs, deleted: deleted, averageLengths: avg), docs.map { $0.id })
        }
    }

    /// Random upserts (new ids and replacements), deletes and in-place sets, with refreshes,
    /// commits and (optionally) background merges; after each refresh, random searches with
    /// filters, facets and sorts must agree with the naive searcher.
    func run(label: String, merges: Bool, operations: Int) throws {
        var (rng, seed) = SeededRandom.fromEnvironment(label)
        let pool = RandomCorpus(count: 1500, rng: &rng, shuffledIds: true).docs
        let dir = temporaryDirectory(label)
        defer { removeDirectory(dir) }
        var options = LiveIndex.Options()
        options.sync = false
        options.backgroundMerges = merges
        options.mergeFactor = 3
        options.minMergeDocs = 20
        options.reclaimDeletesAbove = 0.2
        let index = try LiveIndex.create(directory: dir, schema: Self.schema, options: options)
        var model = Model()
        var next = 0
        let gen = QueryGenerator(layout: index.layout)
        let spec = SearchSpecOracleTests()
        var checks = 0
        func upsert(_ id: String?) throws {
            var d = pool[next % pool.count]
            next += 1
            if let id { d.id = id } else { d.id = "N\(model.versions.count)" }
            let v = model.versions.count
            model.versions.append(d)
            model.live[d.id] = v
            try index.upsert(Self.document(d, ver: v))
        }
        for _ in 0..<120 { try upsert(nil) }
        for op in 0..<operations {
            let ids = Array(model.live.keys).sorted()
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1: try upsert(nil)
            case 2, 3: try upsert(ids.randomElement(using: &rng))
            case 4:
                let id = Int.random(in: 0..<8, using: &rng) == 0 ? "missing" : ids.randomElement(using: &rng)!
                let existed = model.live[id] != nil
                #expect(try index.delete(id: id) == existed)
                model.live[id] = nil
            default:
                guard let id = ids.randomElement(using: &rng), let v = model.live[id] else { continue }
                var changes: [(field: Int, value: Double?)] = []
                if Int.random(in: 0..<3, using: &rng) > 0 {
                    // Cents fit the column's encoding; a third decimal forces a re-encode.
                    let cents = Double(Int.random(in: 1...200_000, using: &rng))
                    changes.append((Self.price, Int.random(in: 0..<10, using: &rng) == 0 ? cents / 1000 : cents / 100))
                }
                if Int.random(in: 0..<3, using: &rng) == 0 { changes.append((Self.stock, Double(Int.random(in: 0...1, using: &rng)))) }
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    changes.append((Self.rating, Int.random(in: 0..<4, using: &rng) == 0 ? nil : Double(Int.random(in: 10...50, using: &rng)) / 10))
                }
                #expect(try index.setValues(id: id, changes))
                for (f, value) in changes { model.versions[v].numbers[f] = value }
            }
            if op % 29 == 28 { try index.commit() }
            if op % 13 == 12 || op == operations - 1 {
                let s = try index.refresh()
                if op % 39 == 38 || op == operations - 1 {
                    if merges { index.waitForMerges() }
                    let s2 = merges ? index.searcher : s
                    let (naive, ids) = try model.naive(for: s2)
                    #expect(s2.liveDocCount == model.live.count, "seed \(seed) op \(op): live count")
                    var previous: [(doc: Int, score: Float, value: Double?)] = []
                    for qi in 0..<25 {
                        let sp = spec.randomSpec(&rng, gen: gen, previous: previous, ids: ids, numbers: naive.docs.map { $0.numbers })
                        let want = naive.run(sp)
                        let got = try s2.search(sp)
                        spec.check(sp, got: got, want: want, ids: ids, context: "seed \(seed) op \(op) case \(qi): \(sp)")
                        if !want.ranked.isEmpty { previous = Array(want.ranked.prefix(40)) }
                        checks += 1
                    }
                    // Plain top-k searches (the pruned paths) skip deleted documents too.
                    for _ in 0..<15 {
                        let q = gen.query(&rng)
                        let want = naive.search(q)
                        let all = Dictionary(uniqueKeysWithValues: want.map { ($0.doc, $0.score) })
                        let got = try s2.search(q, limit: 10, trackTotalHits: .upTo(0))
                        OracleTests.check(got.hits, Array(want.prefix(10)), all: all, context: "seed \(seed) op \(op) \(q)")
                    }
                    // Every live id is found; deleted ones are not.
                    for id in ids.prefix(50) where model.live[id] != nil {
                        #expect(try s2.doc(forId: id) != nil, "seed \(seed): \(id) not found")
                    }
                    #expect(try s2.doc(forId: "missing") == nil)
                }
            }
        }
        if merges {
            index.waitForMerges()
            #expect(index.stats.merges > 0, "no merge ran")
        }
        // Commit, force-merge, reopen: the same documents and values.
        try index.commit()
        try index.forceMerge()
        try index.commit()
        let merged = index.searcher
        #expect(merged.segments.count == 1)
        #expect(merged.docCount == model.live.count, "a full merge drops every deleted document")
        index.close()
        let reopened = try Searcher.open(directory: dir)
        #expect(reopened.liveDocCount == model.live.count)
        for (id, v) in model.live.sorted(by: { $0.key < $1.key }).prefix(200) {
            guard let d = try reopened.doc(forId: id), let (si, l) = reopened.locate(d) else {
                Issue.record("seed \(seed): \(id) lost after reopen")
                continue
            }
            let col = reopened.segments[si].docValues.numeric[Self.price]
            #expect(col?.value(l) == model.versions[v].numbers[Self.price], "seed \(seed): price of \(id)")
            // The stored copy follows the in-place update once a merge rewrote the segment.
            let stored: Double? = switch try reopened.storedFields(of: d).first(where: { $0.name == "price" })?.value {
            case .int(let i)?: Double(i)
            case .double(let x)?: x
            default: nil
            }
            #expect(stored == model.versions[v].numbers[Self.price], "seed \(seed): stored price of \(id)")
        }
        #expect(checks > 0)
    }

    @Test func operationsWithoutMergesAgreeWithNaive() throws {
        try run(label: "live-nomerge", merges: false, operations: 400)
    }

    @Test func operationsWithBackgroundMergesAgreeWithNaive() throws {
        try run(label: "live-merge", merges: true, operations: 600)
    }

    @Test func snapshotsAreIsolated() throws {
        let dir = temporaryDirectory("live-snapshot")
        defer { removeDirectory(dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let index = try LiveIndex.create(directory: dir, schema: Self.schema, options: o)
        var rng = SeededRandom(seed: 7)
        let docs = RandomCorpus(count: 50, rng: &rng).docs
        for (i, d) in docs.enumerated() { try index.upsert(Self.document(d, ver: i)) }
        let before = try index.refresh()
        #expect(before.liveDocCount == 50)
        #expect(try index.delete(id: docs[0].id))
        #expect(try index.setValues(id: docs[1].id, [(Self.price, 123.45)]))
        // Not visible before a refresh.
        #expect(try index.searcher.doc(forId: docs[0].id) != nil)
        let after = try index.refresh()
        #expect(after.liveDocCount == 49)
        #expect(try after.doc(forId: docs[0].id) == nil)
        // The old snapshot is unchanged.
        #expect(try before.doc(forId: docs[0].id) != nil)
        let d1 = try before.doc(forId: docs[1].id)!
        #expect(before.segments[0].docValues.numeric[Self.price]?.value(d1) == docs[1].numbers[Self.price])
        let n1 = try after.doc(forId: docs[1].id)!
        let (s1, l1) = after.locate(n1)!
        #expect(after.segments[s1].docValues.numeric[Self.price]?.value(l1) == 123.45)
        // Unknown ids and bad fields.
        #expect(try index.setValues(id: "nope", [(Self.price, 1)]) == false)
        #expect(throws: IndexError.self) { try index.setValues(id: docs[2].id, [(Self.schema.ordinal(of: "title")!, 1)]) }
        #expect(throws: IndexError.self) { try index.setValues(id: docs[2].id, [(Self.price, .infinity)]) }
        index.close()
    }

    @Test func uncommittedChangesAreLostAndCommittedOnesKept() throws {
        let dir = temporaryDirectory("live-commit")
        defer { removeDirectory(dir) }
        var o = LiveIndex.Options()
        o.sync = false
        var rng = SeededRandom(seed: 11)
        let docs = RandomCorpus(count: 40, rng: &rng).docs
        do {
            let index = try LiveIndex.create(directory: dir, schema: Self.schema, options: o)
            for (i, d) in docs.prefix(30).enumerated() { try index.upsert(Self.document(d, ver: i)) }
            try index.delete(id: docs[3].id)
            try index.setValues(id: docs[4].id, [(Self.price, 7.5), (Self.stock, 0)])
            try index.commit(userData: ["changes_line": "30"])
            for (i, d) in docs.suffix(10).enumerated() { try index.upsert(Self.document(d, ver: 30 + i)) }
            try index.delete(id: docs[5].id)
            try index.refresh()
            #expect(index.searcher.liveDocCount == 38)
            index.close()
        }
        let s = try Searcher.open(directory: dir)
        #expect(s.liveDocCount == 29)
        #expect(s.meta.userData["changes_line"] == "30")
        #expect(try s.doc(forId: docs[3].id) == nil)
        #expect(try s.doc(forId: docs[5].id) != nil)
        #expect(try s.doc(forId: docs[35].id) == nil)
        let d4 = try s.doc(forId: docs[4].id)!
        let (si, l) = s.locate(d4)!
        #expect(s.segments[si].docValues.numeric[Self.price]?.value(l) == 7.5)
        #expect(s.segments[si].docValues.numeric[Self.stock]?.value(l) == 0)
        // Reopening for writing sweeps what the lost changes left behind.
        let index = try LiveIndex(opening: dir, options: o)
        let names = try FileSystem.list(dir)
        let referenced = Set(s.meta.segments.flatMap { $0.allFiles.keys })
        for n in names where n.hasPrefix("seg_") { #expect(referenced.contains(n), "unreferenced file \(n) kept") }
        index.close()
    }

    /// Commits write updated columns as they are (their packed bytes, not re-encoded): whatever
    /// mix of patched, re-encoded and removed values, every commit reads back to the model, also
    /// after reopening for writing and updating further.
    @Test func committedColumnUpdatesReadBackExactly() throws {
        let dir = temporaryDirectory("live-dvu")
        defer { removeDirectory(dir) }
        var o = LiveIndex.Options()
        o.sync = false
        o.backgroundMerges = false
        var rng = SeededRandom(seed: 23)
        let docs = RandomCorpus(count: 300, rng: &rng).docs
        var model: [String: [Int: Double?]] = [:]
        for d in docs {
            model[d.id] = [Self.price: d.numbers[Self.price] ?? nil, Self.stock: d.numbers[Self.stock] ?? nil,
                           Self.rating: d.numbers[Self.rating] ?? nil]
        }
        var index = try LiveIndex.create(directory: dir, schema: Self.schema, options: o)
        for (i, d) in docs.enumerated() {
            try index.upsert(Self.document(d, ver: i))
            if i == 149 { try index.commit() }   // two segments
        }
        try index.commit()
        func check(_ label: String) throws {
            let s = try Searcher.open(directory: dir)
            for d in docs {
                let n = try s.doc(forId: d.id)!
                let (si, l) = s.locate(n)!
                for f in [Self.price, Self.stock, Self.rating] {
                    let got = s.segments[si].docValues.numeric[f]?.value(l)
                    #expect(got == model[d.id]![f]!, "\(label): \(d.id) field \(f): \(String(describing: got)) != \(String(describing: model[d.id]![f]!))")
                }
            }
        }
        for round in 0..<6 {
            for _ in 0..<40 {
                let d = docs.randomElement(using: &rng)!
                var changes: [(field: Int, value: Double?)] = []
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: changes.append((Self.price, Double(Int.random(in: 1...200_000, using: &rng)) / 100))     // fits: patched
                case 1: changes.append((Self.price, Double(Int.random(in: 1...9_999_999, using: &rng)) / 1000)) // re-encoded
                case 2: changes.append((Self.rating, nil))                                                     // presence
                default: changes.append((Self.stock, Double(Int.random(in: 0...1, using: &rng))))
                }
                #expect(try index.setValues(id: d.id, changes))
                for (f, v) in changes { model[d.id]![f] = v }
            }
            try index.commit()
            try check("round \(round)")
            if round == 2 {
                index.close()
                index = try LiveIndex(opening: dir, options: o)
            }
        }
        index.close()
    }

    @Test func oneWriterAtATime() throws {
        let dir = temporaryDirectory("live-lock")
        defer { removeDirectory(dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let a = try LiveIndex.create(directory: dir, schema: Self.schema, options: o)
        #expect(WriterLock.isHeld(directory: dir))
        do {
            _ = try LiveIndex(opening: dir, options: o)
            Issue.record("a second writer opened the index")
        } catch let e as IndexError {
            guard case .locked = e else { Issue.record("unexpected error \(e)"); return }
            #expect(e.description.contains("open for writing"))
        }
        a.close()
        #expect(!WriterLock.isHeld(directory: dir))
        let b = try LiveIndex(opening: dir, options: o)
        b.close()
    }

    @Test func columnPatchingKeepsEveryOtherValue() throws {
        var rng = SeededRandom(seed: 99)
        for trial in 0..<40 {
            let n = Int.random(in: 1...300, using: &rng)
            var values: [Double?] = (0..<n).map { _ in
                Int.random(in: 0..<6, using: &rng) == 0 ? nil : Double(Int.random(in: 0...50_000, using: &rng)) / 100
            }
            if trial % 5 == 0 { values = values.map { $0 ?? 1 } }   // no missing values: no presence bitmap
            var col = NumericColumn.encode(values)
            for _ in 0..<3 {
                var changes: [Int: Double?] = [:]
                for _ in 0..<Int.random(in: 1...10, using: &rng) {
                    let d = Int.random(in: 0..<n, using: &rng)
                    switch Int.random(in: 0..<6, using: &rng) {
                    case 0: changes[d] = .some(nil)
                    case 1: changes[d] = 1234.567                   // a finer scale: re-encoded
                    case 2: changes[d] = 1e6                        // wider than the column: re-encoded
                    default: changes[d] = values[Int.random(in: 0..<n, using: &rng)] ?? 5
                    }
                }
                col = col.applying(changes)
                for (d, v) in changes { values[d] = v }
                for d in 0..<n { #expect(col.value(d) == values[d], "trial \(trial) doc \(d)") }
            }
        }
    }
}
