import Foundation
import Testing
@testable import AisleIndex

/// `Searcher.fuzzyTerms` (typo candidates) against a scan of every distinct term of a seeded random
/// corpus with a plain optimal-string-alignment distance: same terms, distances, document
/// frequencies (summed over segments) and order.
@Suite struct FuzzyTermsTests {
    static let schema = Schema(idField: "id", fields: [
        FieldDefinition(name: "id", type: .keyword, stored: true),
        FieldDefinition(name: "title", type: .text, analyzer: "plain"),
        FieldDefinition(name: "color", type: .keyword),
    ])
    /// Few letters (one of them two bytes in UTF-8), so that many terms are a few edits apart.
    static let letters: [[UInt8]] = ["a", "b", "c", "d", "e", "é"].map { Array($0.utf8) }

    static func word(_ rng: inout SeededRandom, maxLength: Int) -> [UInt8] {
        (0..<Int.random(in: 1...maxLength, using: &rng)).flatMap { _ in letters[Int.random(in: 0..<letters.count, using: &rng)] }
    }

    /// Optimal string alignment distance over bytes, the textbook table.
    static func osa(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let n = a.count, m = b.count
        var d = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in 0...n { d[i][0] = i }
        for j in 0...m { d[0][j] = j }
        if n == 0 || m == 0 { return d[n][m] }
        for i in 1...n {
            for j in 1...m {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[n][m]
    }

    static func mutate(_ w: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var w = w
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let l = letters[Int.random(in: 0..<letters.count, using: &rng)]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: w.insert(contentsOf: l, at: Int.random(in: 0...w.count, using: &rng))
            case 1 where !w.isEmpty: w.remove(at: Int.random(in: 0..<w.count, using: &rng))
            case 2 where !w.isEmpty: w[Int.random(in: 0..<w.count, using: &rng)] = l[0]
            case 3 where w.count >= 2:
                let i = Int.random(in: 0..<(w.count - 1), using: &rng)
                w.swapAt(i, i + 1)
            default: break
            }
        }
        return w
    }

    func run(docs: Int, perSegment: Int, merge: Bool, label: String) throws {
        var (rng, seed) = SeededRandom.fromEnvironment(label)
        let dir = temporaryDirectory(label)
        defer { removeDirectory(dir) }
        let w = try IndexWriter(creating: dir, schema: Self.schema, options: .init(sync: false, maxDocsPerSegment: perSegment))
        var dfs: [Int: [[UInt8]: Int]] = [0: [:], 1: [:]]   // 0: title words, 1: colors -> term -> documents
        var doc = IndexDocument()
        for i in 0..<docs {
            doc.reset()
            doc.id = "D\(i)"
            doc.addStored(field: 0, value: .string(doc.id))
            var seen = Set<[UInt8]>()
            for p in 0..<Int.random(in: 1...6, using: &rng) {
                let t = Self.word(&rng, maxLength: 9)
                doc.addToken(field: 1, term: String(decoding: t, as: UTF8.self), position: Int32(p))
                seen.insert(t)
            }
            for t in seen { dfs[0]![t, default: 0] += 1 }
            let color = Self.word(&rng, maxLength: 4)
            doc.addKeyword(field: 2, value: String(decoding: color, as: UTF8.self))
            dfs[1]![color, default: 0] += 1
            try w.add(doc)
        }
        try w.commit()
        if merge { try w.forceMerge() }
        let searcher = try Searcher.open(directory: dir)
        #expect(searcher.segments.count == (merge ? 1 : (docs + perSegment - 1) / perSegment))
        let colorSlot = try #require(searcher.layout.keywordSlotOfField[2])
        let known = dfs.mapValues { Array($0.keys) }
        for qi in 0..<400 {
            let kind = Int.random(in: 0..<4, using: &rng) == 0 ? 1 : 0   // 0: the text slot, 1: the color slot
            let slot = kind == 0 ? 0 : colorSlot
            let base = Int.random(in: 0..<3, using: &rng) == 0 ? Self.word(&rng, maxLength: 10) : known[kind]!.randomElement(using: &rng)!
            let term = Self.mutate(base, &rng)
            guard !term.isEmpty else { continue }
            let edits = Int.random(in: 1...2, using: &rng)
            let prefix = Int.random(in: 0...2, using: &rng)
            let limit = [1, 5, 1000].randomElement(using: &rng)!
            let p = min(prefix, term.count)
            let want = dfs[kind]!.compactMap { (t, df) -> FuzzyCandidate? in
                guard t.count >= p, t[0..<p] == term[0..<p] else { return nil }
                let d = Self.osa(term, t)
                return d > 0 && d <= edits ? FuzzyCandidate(term: t, edits: d, docFrequency: df) : nil
            }.sorted { a, b in
                if a.edits != b.edits { return a.edits < b.edits }
                if a.docFrequency != b.docFrequency { return a.docFrequency > b.docFrequency }
                return a.term.lexicographicallyPrecedes(b.term)
            }.prefix(limit)
            let got = try searcher.fuzzyTerms(slot: slot, term: term, maxEdits: edits, prefixLength: prefix, limit: limit)
            #expect(got == Array(want), "seed \(seed) query \(qi): \(String(decoding: term, as: UTF8.self)) slot \(slot) edits \(edits) prefix \(prefix) limit \(limit)")
        }
    }

    /// The signature filter in C (POPCNT when the CPU has it) passes exactly the signatures within
    /// the bound, in order, whatever the chunk it is read in.
    @Test func signatureFilterPassesWhatACountPasses() {
        var (rng, seed) = SeededRandom.fromEnvironment("signature-filter")
        var sigs: [UInt64] = []
        for _ in 0..<5000 {
            // Few bits set, as a word's signature has: many near the query's, some far.
            var s: UInt64 = 0
            for _ in 0..<Int.random(in: 1...9, using: &rng) { s |= 1 << UInt64(Int.random(in: 0..<64, using: &rng)) }
            sigs.append(s)
        }
        var out: [Int] = []
        for q in 0..<40 {
            let sig = sigs[q * 97 % sigs.count] ^ (q % 3 == 0 ? 1 << UInt64(q % 64) : 0)
            for maxBits in [0, 2, 4] {
                let want = sigs.indices.filter { (sigs[$0] ^ sig).nonzeroBitCount <= maxBits }
                for chunk in [1, 7, 1024, 10_000] {
                    sigs.withUnsafeBufferPointer { FuzzyVocabulary.passing($0, sig: sig, maxBits: maxBits, chunk: chunk, into: &out) }
                    #expect(out == want, "seed \(seed): query \(q), \(maxBits) bits, chunks of \(chunk)")
                }
            }
        }
        // The empty list passes nothing.
        [UInt64]().withUnsafeBufferPointer { FuzzyVocabulary.passing($0, sig: 0, maxBits: 64, into: &out) }
        #expect(out.isEmpty)
    }

    /// The distance (the one-edit check without a table, the banded table for larger bounds) agrees
    /// with the full table, capped at bound + 1, on every pair of short strings over a small
    /// alphabet (repeats, swaps, insertions at either end) and on random longer ones.
    @Test func editDistanceAgreesWithTheFullTable() {
        var (rng, seed) = SeededRandom.fromEnvironment("one-edit")
        var scratch = EditDistanceScratch()
        func check(_ a: [UInt8], _ b: [UInt8]) {
            let want = Self.osa(a, b)
            for bound in 1...3 {
                let got = scratch.distance(a, b, bound: bound)
                #expect(got == min(want, bound + 1), "seed \(seed): \(a) \(b) bound \(bound): \(got) vs \(want)")
            }
        }
        // Every pair of strings of up to 4 letters over {a, b, c}.
        var all: [[UInt8]] = [[]]
        var level: [[UInt8]] = [[]]
        for _ in 0..<4 {
            level = level.flatMap { w in [UInt8(97), 98, 99].map { w + [$0] } }
            all += level
        }
        for a in all { for b in all { check(a, b) } }
        // Random longer words and their one- and two-edit variants.
        for _ in 0..<3000 {
            let a = (0..<Int.random(in: 1...14, using: &rng)).map { _ in UInt8.random(in: 97...101, using: &rng) }
            var b = a
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 97...101, using: &rng)
                case 1: b.insert(UInt8.random(in: 97...101, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
                case 2 where !b.isEmpty: b.remove(at: Int.random(in: 0..<b.count, using: &rng))
                case 3 where b.count >= 2:
                    let i = Int.random(in: 0..<(b.count - 1), using: &rng)
                    b.swapAt(i, i + 1)
                default: break
                }
            }
            check(a, b)
            check(b, a)
        }
    }

    @Test func manySegments() throws {
        try run(docs: 600, perSegment: 97, merge: false, label: "fuzzy-segments")
    }

    @Test func oneMergedSegment() throws {
        try run(docs: 600, perSegment: 97, merge: true, label: "fuzzy-merged")
    }
}
