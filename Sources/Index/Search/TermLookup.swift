/// Dictionary lookups for query rewriting in the engine (typo tolerance, compounds): document
/// frequencies and terms within a small edit distance. The index knows nothing of analyzers: terms
/// are the analysed bytes of a slot.
public struct FuzzyCandidate: Sendable, Equatable {
    public var term: [UInt8]
    /// Edits (insertions, deletions, substitutions, transpositions of adjacent bytes) from the asked term.
    public var edits: Int
    /// Documents containing the term, over every segment (deleted ones included until merged away).
    public var docFrequency: Int
}

/// Builds the typo vocabularies of a snapshot's segments (`Searcher.fuzzyWarmup()`).
public struct FuzzyWarmup: @unchecked Sendable {
    let segments: [SegmentReader]
    let slots: Int

    /// Every vocabulary is built already.
    public var isDone: Bool {
        segments.allSatisfy { s in (0..<slots).allSatisfy { s.fuzzy.isBuilt(slot: $0) } }
    }

    /// Builds what is not built yet; returns how many vocabularies it built.
    @discardableResult
    public func run() throws -> Int {
        var built = 0
        for s in segments {
            for slot in 0..<slots where !s.fuzzy.isBuilt(slot: slot) {
                _ = try s.fuzzy.vocabulary(segment: s, slot: slot)
                built += 1
            }
        }
        return built
    }
}

extension Searcher {
    /// Documents containing `term` in `slot`, summed over segments.
    public func docFrequency(slot: Int, term: [UInt8]) throws -> Int {
        guard slot >= 0 && slot < layout.slotCount else { throw IndexError.invalidQuery("no field with slot \(slot)") }
        var n = 0
        for s in segments { n += Int(try s.termInfo(slot: slot, term: term)?.docCount ?? 0) }
        return n
    }

    /// Building the typo vocabularies (what `fuzzyTerms` scans) of the text slots ahead of the first
    /// typo query that reaches a segment (about 40 ms for a 1M-product segment), to run on another
    /// thread without keeping this snapshot alive: it holds the segments only.
    public func fuzzyWarmup() -> FuzzyWarmup { FuzzyWarmup(segments: segments, slots: layout.textGroups.count) }

    /// Terms of `slot` within `maxEdits` (optimal string alignment distance over bytes) of `term`
    /// that share its first `prefixLength` bytes, best first (fewest edits, then most documents,
    /// then byte order), at most `limit`. The term itself is not included. Scans each segment's
    /// `FuzzyVocabulary` (terms grouped by length, filtered by a byte signature before the distance).
    public func fuzzyTerms(slot: Int, term: [UInt8], maxEdits: Int, prefixLength: Int = 1, limit: Int = 16) throws -> [FuzzyCandidate] {
        guard slot >= 0 && slot < layout.slotCount else { throw IndexError.invalidQuery("no field with slot \(slot)") }
        guard maxEdits > 0, limit > 0, !term.isEmpty else { return [] }
        let p = min(max(prefixLength, 0), term.count)
        var found: [[UInt8]: (edits: Int, df: Int)] = [:]
        var scratch = EditDistanceScratch()
        for s in segments {
            try s.fuzzy.vocabulary(segment: s, slot: slot).scan(term: term, maxEdits: maxEdits, prefixLength: p, scratch: &scratch) { t, d, df in
                let prev = found[t]?.df ?? 0
                found[t] = (d, prev + df)
            }
        }
        return found.map { FuzzyCandidate(term: $0.key, edits: $0.value.edits, docFrequency: $0.value.df) }
            .sorted { a, b in
                if a.edits != b.edits { return a.edits < b.edits }
                if a.docFrequency != b.docFrequency { return a.docFrequency > b.docFrequency }
                return compareBytes2(a.term, b.term) < 0
            }
            .prefix(limit).map { $0 }
    }
}

/// Optimal string alignment distance (Levenshtein plus transposition of adjacent symbols), with an
/// early exit once every cell of a row exceeds the bound, the table computed in the band the bound
/// allows, and no table at all for a bound of one. Rows are reused between calls.
public struct EditDistanceScratch {
    var prev2: [Int] = []
    var prev: [Int] = []
    var cur: [Int] = []

    public init() {}

    /// The distance, or `bound + 1` when it is larger than `bound`.
    public mutating func distance(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, bound: Int) -> Int {
        if bound == 1 { return Self.withinOne(a, b) }
        return table(a, b, bound: bound)
    }

    /// The distance when it is 0 or 1, else 2, without a table: equal lengths differ in one byte or
    /// in two adjacent bytes swapped; lengths one apart agree once the longer skips one byte.
    @inline(__always) static func withinOne(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let n = a.count, m = b.count
        if n == m {
            var i = 0
            while i < n && a[i] == b[i] { i += 1 }
            if i == n { return 0 }
            // First difference at i: one substitution, or a swap of i and i + 1.
            var j = i + 1
            if j < n && a[i] == b[j] && a[j] == b[i] { j += 1 }
            while j < n && a[j] == b[j] { j += 1 }
            return j == n ? 1 : 2
        }
        if abs(n - m) != 1 { return 2 }
        let (long, short) = n > m ? (a, b) : (b, a)
        var i = 0
        while i < short.count && long[i] == short[i] { i += 1 }
        // The longer one's byte i is the extra one.
        while i < short.count && long[i + 1] == short[i] { i += 1 }
        return i == short.count ? 1 : 2
    }

    /// The table (rows of the optimal string alignment), with the early exit, computed only in the
    /// band |i - j| <= bound: a cell outside it is above the bound whatever the strings.
    mutating func table(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, bound: Int) -> Int {
        let n = a.count, m = b.count
        let inf = bound + 1
        if abs(n - m) > bound { return inf }
        if n == 0 { return min(m, inf) }
        if m == 0 { return min(n, inf) }
        if prev.count < m + 2 {
            prev2 = Array(repeating: 0, count: m + 2)
            prev = prev2
            cur = prev2
        }
        for j in 0...min(m, bound) { prev[j] = j }
        if bound + 1 <= m { prev[bound + 1] = inf }
        for i in 1...n {
            let lo = max(1, i - bound), hi = min(m, i + bound)
            cur[lo - 1] = lo == 1 ? i : inf
            var rowMin = cur[lo - 1]
            let ai = a[i - 1]
            for j in lo...hi {
                let cost = ai == b[j - 1] ? 0 : 1
                var v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
                if i > 1 && j > 1 && ai == b[j - 2] && a[i - 2] == b[j - 1] { v = min(v, prev2[j - 2] + 1) }
                if v > inf { v = inf }
                cur[j] = v
                if v < rowMin { rowMin = v }
            }
            if hi < m { cur[hi + 1] = inf }
            if rowMin > bound { return inf }
            swap(&prev2, &prev)
            swap(&prev, &cur)
        }
        return min(prev[m], inf)
    }

    /// Convenience over arrays.
    public mutating func distance(_ a: [UInt8], _ b: [UInt8], bound: Int) -> Int {
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in distance(ab, bb, bound: bound) } }
    }
}
