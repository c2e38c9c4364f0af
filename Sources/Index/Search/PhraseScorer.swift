/// Counts phrase occurrences in one field, given each query term's positions in that field.
///
/// A phrase occurrence is a choice of one position per query term, distinct positions for repeated
/// terms, such that `max(pos_i − offset_i) − min(pos_i − offset_i) <= slop`, where offset_i is the
/// term's position in the query. The phrase frequency is the number of distinct positions of the
/// first query term that start an occurrence (for slop 0: the number of exact matches).
public enum PhraseMatcher {
    /// - Parameters:
    ///   - positions: per query term, its positions in the field, ascending.
    ///   - offsets: per query term, its relative position in the query.
    ///   - sameAs: per query term, the index of the first query term with the same bytes.
    public static func frequency(positions: [ArraySlice<UInt32>], offsets: [Int32], sameAs: [Int], slop: Int) -> Int {
        let n = positions.count
        guard n > 0, positions.allSatisfy({ !$0.isEmpty }) else { return 0 }
        if n == 1 { return positions[0].count }
        if n == 2 {
            return positions[0].withUnsafeBufferPointer { a in
                positions[1].withUnsafeBufferPointer { b in
                    pairFrequency(a, b, distance: Int64(offsets[1]) - Int64(offsets[0]), slop: slop, same: slop > 0 && sameAs[1] == sameAs[0],
                                  first: false)
                }
            }
        }
        return searchFrequency(positions: positions, offsets: offsets, sameAs: sameAs, slop: slop)
    }

    /// The general search, for any number of terms (`frequency` takes a shortcut for two).
    static func searchFrequency(positions: [ArraySlice<UInt32>], offsets: [Int32], sameAs: [Int], slop: Int) -> Int {
        let n = positions.count
        guard n > 0, positions.allSatisfy({ !$0.isEmpty }) else { return 0 }
        if n == 1 { return positions[0].count }
        var count = 0
        let off0 = Int64(offsets[0])
        if slop == 0 {
            for p0 in positions[0] {
                let start = Int64(p0) - off0
                var ok = true
                for i in 1..<n {
                    let want = start + Int64(offsets[i])
                    if want < 0 || want > Int64(UInt32.max) || !contains(positions[i], UInt32(want)) { ok = false; break }
                }
                if ok { count += 1 }
            }
            return count
        }
        var used: [UInt32] = []
        for p0 in positions[0] {
            let a0 = Int64(p0) - off0
            var found = false
            var lo = a0 - Int64(slop)
            while lo <= a0 && !found {
                used.removeAll(keepingCapacity: true)
                used.append(p0)
                var ok = true
                // Terms sorted by offset within groups of identical terms: assign greedily.
                for i in 1..<n {
                    let from = lo + Int64(offsets[i]), to = from + Int64(slop)
                    guard let p = smallest(in: positions[i], from: from, to: to,
                                           avoiding: usedFor(i, sameAs: sameAs, used: used))
                    else { ok = false; break }
                    used.append(p)
                }
                if ok { found = true }
                lo += 1
            }
            if found { count += 1 }
        }
        return count
    }

    /// Two terms: positions p0 of the first that have a position p1 of the second (not p0 itself
    /// when `same`: the same term, with slop) with |(p1 − p0) − distance| <= slop. This is what the
    /// general search finds for two terms: the union of its windows over every start is that
    /// interval (for slop 0, the one position p0 + distance). Both lists ascend, so one pass over
    /// each. `first`: stop at the first occurrence.
    static func pairFrequency(_ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>, distance: Int64, slop: Int,
                              same: Bool, first: Bool) -> Int {
        var count = 0
        var j = 0
        let s = Int64(slop)
        for p0 in a {
            let lo = Int64(p0) + distance - s, hi = Int64(p0) + distance + s
            while j < b.count && Int64(b[j]) < lo { j += 1 }
            var i = j
            while i < b.count && Int64(b[i]) <= hi {
                if !same || b[i] != p0 {
                    count += 1
                    if first { return count }
                    break
                }
                i += 1
            }
        }
        return count
    }

    /// Positions already picked by earlier query terms that share term i's bytes.
    private static func usedFor(_ i: Int, sameAs: [Int], used: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        for j in 0..<i where sameAs[j] == sameAs[i] { out.append(used[j]) }
        return out
    }

    private static func contains(_ s: ArraySlice<UInt32>, _ v: UInt32) -> Bool {
        var lo = s.startIndex, hi = s.endIndex
        while lo < hi {
            let m = (lo + hi) / 2
            if s[m] < v { lo = m + 1 } else { hi = m }
        }
        return lo < s.endIndex && s[lo] == v
    }

    private static func smallest(in s: ArraySlice<UInt32>, from: Int64, to: Int64, avoiding: [UInt32]) -> UInt32? {
        guard to >= 0 else { return nil }
        var lo = s.startIndex, hi = s.endIndex
        let f = UInt32(clamping: max(from, 0))
        while lo < hi {
            let m = (lo + hi) / 2
            if s[m] < f { lo = m + 1 } else { hi = m }
        }
        var i = lo
        while i < s.endIndex && Int64(s[i]) <= to {
            if !avoiding.contains(s[i]) { return s[i] }
            i += 1
        }
        return nil
    }
}

/// A phrase in one segment: documents where all terms occur, checked position by position per field.
final class PhraseScorer: Scorer {
    struct FieldPlan {
        var member: Int
        var weight: Float
        var kTable: UnsafePointer<Float>
        var norms: UnsafePointer<UInt8>
        /// For each query term, its index j in that term's cursor mask.
        var js: [Int]
        var name: String
    }

    let cursors: [PostingsCursor]     // one per distinct query term
    /// Per distinct term, another query's cursor over the same postings (`CursorShare`): when it
    /// stands on the document being checked, positions are read from it instead of moving this
    /// scorer's own cursor there (which would decode the same blocks again). Never moved here.
    let shared: [PostingsCursor?]
    /// The cursor each distinct term's positions are read from for the current document.
    private let reading: Unretained<PostingsCursor>
    /// `cursors`, and `shared` with the term's own cursor where there is none, unretained for the loops.
    private let own: Unretained<PostingsCursor>
    private let sharedOrOwn: Unretained<PostingsCursor>
    /// `order`, and per field plan the two terms' indexes in their cursor masks (two-term phrases).
    private let orderList: UnsafeMutablePointer<Int>
    private let pairJs: UnsafeMutablePointer<Int>
    let termCursor: [Int]             // query term -> index into cursors
    let offsets: [Int32]
    let sameAs: [Int]
    let slop: Int
    let plans: [FieldPlan]
    let order: [Int]                  // cursors by cost
    let label: String
    private var freqs: [Int] = []
    private var posBuf: [[UInt32]]
    private var starts: [[Int]]
    private let bound: Float
    private var err: String?

    init(cursors: [PostingsCursor], shared: [PostingsCursor?]? = nil, termCursor: [Int], offsets: [Int32], sameAs: [Int],
         slop: Int, plans: [FieldPlan], label: String) {
        self.cursors = cursors
        self.shared = shared ?? Array(repeating: nil, count: cursors.count)
        reading = Unretained(cursors)
        own = Unretained(cursors)
        sharedOrOwn = Unretained(zip(cursors, self.shared).map { $1 ?? $0 })
        self.termCursor = termCursor
        self.offsets = offsets
        self.sameAs = sameAs
        self.slop = slop
        self.plans = plans
        self.label = label
        order = cursors.indices.sorted { cursors[$0].info.docCount < cursors[$1].info.docCount }
        orderList = .allocate(capacity: max(cursors.count, 1))
        for (i, c) in order.enumerated() { orderList[i] = c }
        pairJs = .allocate(capacity: max(2 * plans.count, 1))
        for (pi, p) in plans.enumerated() where p.js.count >= 2 { pairJs[2 * pi] = p.js[0]; pairJs[2 * pi + 1] = p.js[1] }
        posBuf = Array(repeating: [], count: cursors.count)
        starts = Array(repeating: [], count: cursors.count)
        bound = plans.reduce(0) { $0 + $1.weight }
        freqs = Array(repeating: 0, count: plans.count)
    }

    deinit {
        reading.free()
        own.free()
        sharedOrOwn.free()
        orderList.deallocate()
        pairJs.deallocate()
    }

    override var maxScore: Float { bound }
    override var cost: Int { Int(cursors[order[0]].info.docCount) }
    override var corruption: String? { err ?? cursors.lazy.compactMap { $0.corruption }.first }

    private func align(_ start: UInt32) -> UInt32 {
        var target = start
        let n = own.count
        let lead = orderList[0]
        while target != Scorer.noMoreDocs {
            var moved = false
            var i = 1
            while i < n {
                let d = own.with(orderList[i]) { $0.advance(target) }
                if d > target {
                    target = own.with(lead) { $0.advance(d) }
                    moved = true
                    break
                }
                i += 1
            }
            if moved { continue }
            for c in 0..<n { reading.base[c] = own.base[c] }
            if matchPositions() { break }
            target = own.with(lead) { $0.nextDoc() }
        }
        doc = target
        return target
    }

    /// Reads the current document's positions and counts the phrase per field (`freqs`); with
    /// `anyField`, two-term phrases stop at the first field where they occur (a match test: the
    /// count there is 1 and later fields count 0).
    private func matchPositions(anyField: Bool = false) -> Bool {
        for c in 0..<own.count {
            if !reading.with(c, { $0.positions(into: &posBuf[c], fieldStarts: &starts[c]) }) {
                err = "positions could not be read"
                return false
            }
        }
        if termCursor.count == 2 {
            // Two terms (proximity pairs): no per-document arrays.
            let c0 = termCursor[0], c1 = termCursor[1]
            let distance = Int64(offsets[1]) - Int64(offsets[0])
            let same = slop > 0 && sameAs[1] == sameAs[0]
            var any = false
            posBuf[c0].withUnsafeBufferPointer { p0 in
                posBuf[c1].withUnsafeBufferPointer { p1 in
                    for pi in 0..<plans.count {
                        let j0 = pairJs[2 &* pi], j1 = pairJs[2 &* pi &+ 1]
                        let s0 = starts[c0][j0], e0 = starts[c0][j0 + 1]
                        let s1 = starts[c1][j1], e1 = starts[c1][j1 + 1]
                        var f = 0
                        if s0 < e0 && s1 < e1 {
                            f = PhraseMatcher.pairFrequency(UnsafeBufferPointer(rebasing: p0[s0..<e0]),
                                                            UnsafeBufferPointer(rebasing: p1[s1..<e1]),
                                                            distance: distance, slop: slop, same: same, first: anyField)
                        }
                        freqs[pi] = f
                        if f > 0 {
                            any = true
                            if anyField {
                                // A match test: the fields not looked at count as absent.
                                for rest in (pi + 1)..<plans.count { freqs[rest] = 0 }
                                break
                            }
                        }
                    }
                }
            }
            return any
        }
        var any = false
        for (pi, plan) in plans.enumerated() {
            var lists: [ArraySlice<UInt32>] = []
            lists.reserveCapacity(offsets.count)
            var ok = true
            for (t, c) in termCursor.enumerated() {
                let j = plan.js[t]
                let s = starts[c][j], e = starts[c][j + 1]
                if s == e { ok = false; break }
                lists.append(posBuf[c][s..<e])
            }
            let f = ok ? PhraseMatcher.frequency(positions: lists, offsets: offsets, sameAs: sameAs, slop: slop) : 0
            freqs[pi] = f
            if f > 0 { any = true }
        }
        return any
    }

    override func nextDoc() -> UInt32 { align(own.with(orderList[0]) { $0.nextDoc() }) }
    override func advance(_ target: UInt32) -> UInt32 { align(own.with(orderList[0]) { $0.advance(target) }) }
    /// Points `reading` at cursors standing on `target`: shared ones where they do, else this
    /// scorer's own, moved there. False when a term does not occur in `target`.
    private func stand(on target: UInt32) -> Bool {
        for i in 0..<own.count {
            let c = orderList[i]
            // The shared cursor, or the own one (then already on `target`: nothing to move).
            if sharedOrOwn.with(c, { $0.stands(on: target) }) {
                reading.base[c] = sharedOrOwn.base[c]
                continue
            }
            if own.with(c, { $0.advance(target) }) != target { return false }
            reading.base[c] = own.base[c]
        }
        return true
    }

    override func score(at target: UInt32) -> Float? {
        guard stand(on: target), matchPositions() else { return nil }
        doc = target
        return score()
    }

    override func matches(at target: UInt32) -> Bool {
        guard stand(on: target), matchPositions(anyField: true) else { return false }
        doc = target
        return true
    }

    override func score() -> Float {
        var s: Float = 0
        let d = Int(doc)
        for (pi, p) in plans.enumerated() where freqs[pi] > 0 {
            s += p.weight / (1 + p.kTable[Int(p.norms[d])] / Float(freqs[pi]))
        }
        return s
    }

    override func explain() -> Explanation {
        var details: [Explanation] = []
        let d = Int(doc)
        for (pi, p) in plans.enumerated() where freqs[pi] > 0 {
            let code = p.norms[d]
            let v = p.weight / (1 + p.kTable[Int(code)] / Float(freqs[pi]))
            details.append(Explanation(value: v, description: "\(p.name):\"\(label)\" phrase freq=\(freqs[pi]) len=\(FieldNorm.decode(code)) weight=\(p.weight)"))
        }
        return Explanation(value: details.reduce(0) { $0 + $1.value }, description: "phrase \"\(label)\"", details: details)
    }
}
