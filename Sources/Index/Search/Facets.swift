import Foundation

/// Counts one facet over the matches, segment by segment.
final class FacetAccumulator {
    let spec: FacetSpec
    let searcher: Searcher
    /// Merged counts by value (keyword fields without doc values).
    var counts: [String: Int] = [:]
    /// Doc values fields: counts by global ordinal (see `OrdinalMap`).
    private var ordinalMap: OrdinalMap?
    private var globalCounts: [Int] = []
    private var segmentIndex = 0
    /// Ranges: given buckets' counts, or the values seen (automatic buckets).
    var rangeCounts: [Int] = []
    var values: [Double] = []
    var minValue = Double.infinity
    var maxValue = -Double.infinity
    var valueCount = 0
    var sum = 0.0

    // Per segment.
    private var ordinalColumn: OrdinalColumn?
    /// Single-valued ordinal columns: the packed data and width, counted without going through the column.
    private var fastData: UnsafeRawPointer?
    private var fastWidth = 0
    private var counts32: UnsafeMutablePointer<Int32>?
    private var countsSize = 0
    private var numericColumn: NumericColumn?
    /// `numericColumn` for the per-document loop (no reference counting); valid while it is held.
    private var numeric: NumericColumn.Unretained?
    /// This segment's range figures, folded into the totals by `endSegment` (a cached segment's
    /// are folded the same way, so cached and computed answers are bit for bit the same).
    private var segValuesStart = 0
    private var segRangeCounts: [Int] = []
    private var segMin = Double.infinity
    private var segMax = -Double.infinity
    private var segValueCount = 0
    /// Keyword fields without doc values: matching docs, counted through the postings at the end.
    private var matched: [UInt64] = []
    private var usePostings = false

    let deadline: SearchDeadline?

    /// Range facets keep every value seen when automatic buckets need them, or the cache does
    /// (it replays the sum from them).
    private let keepsValues: Bool

    init(spec: FacetSpec, searcher: Searcher, deadline: SearchDeadline? = nil, keepsValues: Bool = false) {
        if case .ranges(nil) = spec.kind { self.keepsValues = true } else { self.keepsValues = keepsValues }
        self.spec = spec
        self.searcher = searcher
        self.deadline = deadline
        if case .ranges(let r?) = spec.kind { rangeCounts = Array(repeating: 0, count: r.count) }
    }

    deinit { counts32?.deallocate() }

    func beginSegment(_ seg: SegmentReader, index: Int) throws {
        segmentIndex = index
        ordinalColumn = seg.docValues.ordinals[spec.field]
        if ordinalColumn != nil && ordinalMap == nil {
            ordinalMap = try searcher.ordinalMap(field: spec.field)
            globalCounts = Array(repeating: 0, count: ordinalMap!.values.count)
        }
        numericColumn = seg.docValues.numeric[spec.field]
        numeric = numericColumn?.unretained
        segValuesStart = values.count
        segRangeCounts = Array(repeating: 0, count: rangeCounts.count)
        segMin = .infinity
        segMax = -.infinity
        segValueCount = 0
        usePostings = false
        switch spec.kind {
        case .terms, .hierarchy:
            if let col = ordinalColumn {
                counts32?.deallocate()
                countsSize = col.dictionary.count + 1
                counts32 = .allocate(capacity: countsSize)
                counts32!.initialize(repeating: 0, count: countsSize)
                fastData = col.multi ? nil : col.data
                fastWidth = col.width
            } else {
                usePostings = true
                matched = Array(repeating: 0, count: (seg.docCount + 63) / 64)
            }
        case .ranges:
            break
        }
    }

    @inline(__always) func count(_ doc: UInt32) {
        let d = Int(doc)
        if let data = fastData, let c = counts32 {
            // Slot 0 counts documents without a value. An ordinal past the dictionary (a damaged
            // file) is not counted rather than written out of bounds.
            let o = Int(unpackWide(data, d, width: fastWidth))
            if o < countsSize { c[o] &+= 1 }
            return
        }
        if let col = ordinalColumn, let c = counts32 {
            let size = countsSize
            col.forEachOrd(d) { o in if o >= 0 && o &+ 1 < size { c[o &+ 1] &+= 1 } }
            return
        }
        if usePostings {
            matched[d >> 6] |= 1 << UInt64(d & 63)
            return
        }
        if let col = numeric, col.has(d) {
            let v = col.decode(col.raw(d))
            if v < segMin { segMin = v }
            if v > segMax { segMax = v }
            segValueCount += 1
            // The sum runs in document order over every segment, cached or not, so it comes out
            // the same bits either way.
            sum += v
            if case .ranges(let r?) = spec.kind {
                for (i, b) in r.enumerated() where b.contains(v) { segRangeCounts[i] += 1 }
            }
            if keepsValues { values.append(v) }
        }
    }

    /// What this segment added, for `SegmentFacetCache`; nil when it cannot be replayed (keyword
    /// fields counted through the postings). Call after the segment's documents, before `endSegment`.
    func segmentPart() -> FacetSegmentPart? {
        if usePostings { return nil }
        if ordinalColumn != nil {
            guard let c = counts32 else { return nil }
            return FacetSegmentPart(ordinalCounts: Array(UnsafeBufferPointer(start: c, count: countsSize)))
        }
        guard keepsValues else { return nil }
        return FacetSegmentPart(rangeCounts: segRangeCounts, min: segMin, max: segMax, valueCount: segValueCount,
                                values: Array(values[segValuesStart...]))
    }

    /// Counts a segment from its cached part instead of its documents (after `beginSegment`,
    /// before `endSegment`).
    func replay(_ part: FacetSegmentPart) {
        if let oc = part.ordinalCounts, let c = counts32, oc.count == countsSize {
            oc.withUnsafeBufferPointer { c.update(from: $0.baseAddress!, count: countsSize) }
            return
        }
        segRangeCounts = part.rangeCounts
        segMin = part.min
        segMax = part.max
        segValueCount = part.valueCount
        for v in part.values { sum += v }
        values.append(contentsOf: part.values)
    }

    func endSegment(_ seg: SegmentReader) throws {
        defer {
            numericColumn = nil
            numeric = nil
        }
        if segValueCount > 0 {
            if segMin < minValue { minValue = segMin }
            if segMax > maxValue { maxValue = segMax }
            valueCount += segValueCount
            for i in segRangeCounts.indices { rangeCounts[i] += segRangeCounts[i] }
            segValueCount = 0
        }
        if ordinalColumn != nil, let c = counts32, let map = ordinalMap {
            let toGlobal = map.segmentToGlobal[segmentIndex]
            for o in 1..<countsSize where c[o] > 0 { globalCounts[Int(toGlobal[o - 1])] += Int(c[o]) }
            return
        }
        guard usePostings, let slot = searcher.layout.keywordSlotOfField[spec.field] else { return }
        // Every term of the field: intersect its postings with the matched docs.
        let prefix = SegmentReader.key(slot: slot, term: [])
        var it = try seg.terms.seek(prefix)
        while try it.next() {
            guard it.key.count >= 2, it.key[0] == prefix[0], it.key[1] == prefix[1] else { break }
            if deadline.tick() { break }
            let c = try seg.postings(it.info, text: false)
            var n = 0
            while c.nextDoc() != PostingsCursor.noMoreDocs {
                let d = Int(c.doc)
                if matched[d >> 6] & (1 << UInt64(d & 63)) != 0 { n += 1 }
            }
            if let e = c.corruption { throw IndexError.corrupt(file: seg.meta.id + ".docs", reason: e) }
            if n > 0 { counts[String(decoding: it.key[2...], as: UTF8.self), default: 0] += n }
        }
    }

    /// Counts by value: from global ordinals (doc values) or the postings-counted dictionary.
    private func allCounts() -> [(key: String, value: Int)] {
        var out: [(key: String, value: Int)] = counts.map { ($0.key, $0.value) }
        if let map = ordinalMap {
            for (g, n) in globalCounts.enumerated() where n > 0 { out.append((map.values[g], n)) }
        }
        return out
    }

    /// The `size` largest counts (ties: value order) and the sum of the rest, without sorting everything.
    private func top(_ size: Int) -> ([FacetResult.Count], Int) {
        var entries: [(key: String, value: Int)] = []
        var totalCount = 0
        if let map = ordinalMap, counts.isEmpty, size <= 1000 {
            // Global ordinals are in value order, so ties resolve by ordinal.
            var best: [(Int, Int)] = []   // (count, ordinal), kept sorted best first
            for (g, n) in globalCounts.enumerated() where n > 0 {
                totalCount += n
                if best.count < size || n > best[best.count - 1].0 {
                    var i = best.count
                    while i > 0 && best[i - 1].0 < n { i -= 1 }
                    best.insert((n, g), at: i)
                    if best.count > size { best.removeLast() }
                }
            }
            let vals = best.map { FacetResult.Count(value: map.values[$0.1], count: $0.0) }
            return (vals, totalCount - vals.reduce(0) { $0 + $1.count })
        }
        entries = allCounts()
        entries.sort { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        let vals = entries.prefix(max(0, size)).map { FacetResult.Count(value: $0.key, count: $0.value) }
        return (vals, entries.dropFirst(max(0, size)).reduce(0) { $0 + $1.value })
    }

    func result() -> FacetResult {
        var r = FacetResult(field: spec.field)
        switch spec.kind {
        case .terms(let size):
            (r.values, r.other) = top(max(0, size))
        case .hierarchy(let path, let size):
            let sep = String(decoding: searcher.layout.hierarchy[spec.field] ?? Array(" > ".utf8), as: UTF8.self)
            let levels = path.map { $0.components(separatedBy: sep).map { $0.trimmingSpaces() }.filter { !$0.isEmpty } } ?? []
            var children: [String: Int] = [:]
            var pathCounts = Array(repeating: 0, count: levels.count)
            for (value, n) in allCounts() {
                let parts = value.components(separatedBy: sep).map { $0.trimmingSpaces() }
                var depth = 0
                while depth < levels.count && depth < parts.count && parts[depth] == levels[depth] { depth += 1 }
                for i in 0..<depth { pathCounts[i] += n }
                if depth == levels.count && parts.count > depth {
                    children[parts[depth], default: 0] += n
                }
            }
            var prefix: [String] = []
            for (i, l) in levels.enumerated() {
                prefix.append(l)
                r.path.append(FacetResult.Count(value: prefix.joined(separator: sep), count: pathCounts[i]))
            }
            let base = prefix.isEmpty ? "" : prefix.joined(separator: sep) + sep
            let sorted = children.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            r.values = sorted.prefix(max(0, size)).map { FacetResult.Count(value: base + $0.key, count: $0.value) }
            r.other = sorted.dropFirst(max(0, size)).reduce(0) { $0 + $1.value }
        case .ranges(let given):
            if minValue <= maxValue {
                r.min = minValue
                r.max = maxValue
            }
            r.valueCount = valueCount
            r.sum = sum
            if let given {
                r.ranges = zip(given, rangeCounts).map { FacetResult.RangeCount(from: $0.from, to: $0.to, count: $1) }
            } else {
                r.ranges = Self.niceBuckets(values)
            }
        }
        return r
    }

    /// At most this many automatic buckets (normally five or six).
    static let maxAutomaticBuckets = 12

    /// About five buckets of a "nice" width (1, 2, 2.5 or 5 times a power of ten) from the values'
    /// minimum to their 95th percentile, the last one open-ended. Linear time: the percentile by
    /// selection, the counts by arithmetic.
    ///
    /// Never fails and never loops: for any input (extreme, infinite or NaN values, spans beyond
    /// `Double`'s range, steps below the values' precision) it answers at most
    /// `maxAutomaticBuckets` increasing buckets whose counts sum to the number of values, falling
    /// back to fewer buckets (one, open at both ends) when no width fits. Infinite and NaN values
    /// (which no write path accepts, but an old index may hold) fall into the first or last bucket.
    static func niceBuckets(_ input: [Double]) -> [FacetResult.RangeCount] {
        guard !input.isEmpty else { return [] }
        let single = [FacetResult.RangeCount(from: nil, to: nil, count: input.count)]
        var values = input.allSatisfy({ $0.isFinite }) ? input : input.filter { $0.isFinite }
        guard !values.isEmpty else { return single }
        let lo = values.min()!
        let hi = select(&values, Int(Double(values.count - 1) * 0.95))
        let span = hi - lo
        guard hi > lo, span.isFinite else { return single }
        let raw = span / 5
        guard raw.isNormal else { return single }
        var mag = Foundation.pow(10.0, Foundation.log10(raw).rounded(.down))
        guard mag.isFinite, mag > 0 else { return single }
        if mag > raw { mag /= 10 }
        if mag * 10 <= raw { mag *= 10 }
        let step = [1.0, 2.0, 2.5, 5.0, 10.0].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        guard step.isFinite, step > 0 else { return single }
        let first = (lo / step).rounded(.down) * step
        let n = (hi - first) / step
        guard first.isFinite, n.isFinite, n >= 0 else { return single }
        let count = Int(min(n.rounded(.down), Double(Self.maxAutomaticBuckets - 1))) + 1
        // Edges by multiplication (no accumulated error, no loop on a step below the precision);
        // edges that round to the same value are dropped.
        var edges: [Double] = []
        for i in 0..<count {
            let e = first + Double(i) * step
            guard e.isFinite, e <= hi else { break }
            if let last = edges.last, !(e > last) { continue }
            edges.append(e)
        }
        guard edges.count >= 2 else { return single }
        var counts = [Int](repeating: 0, count: edges.count)
        let lastIndex = edges.count - 1
        for v in input {
            var i: Int
            let x = (v - first) / step
            if v.isNaN || x >= Double(lastIndex) { i = lastIndex } else if !(x > 0) { i = 0 } else { i = Int(x) }
            // Guard against rounding at the edges.
            while i > 0 && v < edges[i] { i -= 1 }
            while i < lastIndex && v >= edges[i + 1] { i += 1 }
            counts[i] += 1
        }
        return edges.indices.map { i in
            FacetResult.RangeCount(from: i == 0 ? nil : edges[i], to: i < lastIndex ? edges[i + 1] : nil, count: counts[i])
        }
    }

    /// The k-th smallest value (quickselect; reorders `a`).
    static func select(_ a: inout [Double], _ k: Int) -> Double {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let pivot = a[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }

    static func lowerBound(_ a: [Double], _ v: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let m = (lo + hi) / 2
            if a[m] < v { lo = m + 1 } else { hi = m }
        }
        return lo
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " { s.removeFirst() }
        while let l = s.last, l == " " { s.removeLast() }
        return String(s)
    }
}
