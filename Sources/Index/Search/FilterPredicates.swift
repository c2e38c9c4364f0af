/// Filters as per-document predicates, shared by the top-level filters of a `SearchSpec` and by
/// `Query.filter` clauses anywhere in a query.
extension Searcher {
    /// The predicate of `f` in segment `si`; nil when no document of the segment can pass.
    func filterPredicate(_ f: Filter, segment si: Int) throws -> DocPredicate? {
        let seg = segments[si]
        func termCursor(_ value: String) throws -> PostingsCursor? {
            guard let slot = layout.keywordSlotOfField[f.field] else { return nil }
            guard let info = try seg.termInfo(slot: slot, term: Array(value.utf8)) else { return nil }
            return try seg.postings(info, text: false)
        }
        switch f.kind {
        case .anyOf(let values):
            if let col = seg.docValues.ordinals[f.field] {
                var ords = Set<Int>()
                for v in values { if let o = try col.dictionary.ordinal(of: Array(v.utf8)) { ords.insert(o) } }
                return ords.isEmpty ? nil : OrdinalSetPredicate(column: col, ordinals: ords)
            }
            let cs = try values.compactMap { try termCursor($0) }
            return cs.isEmpty ? nil : PostingsPredicate(cs)
        case .path(let p):
            return try termCursor(p).map { PostingsPredicate([$0]) }
        case .range(let lo, let hi):
            guard let col = seg.docValues.numeric[f.field], let r = col.rawRange(min: lo, max: hi) else { return nil }
            return NumericRangePredicate(column: col, range: r)
        case .equals(let b):
            let v: Double = b ? 1 : 0
            guard let col = seg.docValues.numeric[f.field], let r = col.rawRange(min: v, max: v) else { return nil }
            return NumericRangePredicate(column: col, range: r)
        case .bounds(let b):
            guard let col = seg.docValues.numeric[f.field], let r = col.rawRange(bounds: b) else { return nil }
            return NumericRangePredicate(column: col, range: r)
        case .exists:
            if let col = seg.docValues.numeric[f.field] { return PresencePredicate(column: col) }
            if let col = seg.docValues.ordinals[f.field] { return AnyOrdinalPredicate(column: col) }
            if let slot = layout.keywordSlotOfField[f.field] {
                // Every term of the field: the union of their postings.
                var bits = DocBits(count: seg.docCount)
                let prefix = SegmentReader.key(slot: slot, term: [])
                var it = try seg.terms.seek(prefix)
                while try it.next() {
                    guard it.key.count >= 2, it.key[0] == prefix[0], it.key[1] == prefix[1] else { break }
                    let c = try seg.postings(it.info, text: false)
                    while c.nextDoc() != PostingsCursor.noMoreDocs { bits.insert(Int(c.doc)) }
                    if let e = c.corruption { throw IndexError.corrupt(file: seg.meta.id + ".docs", reason: e) }
                }
                return bits.isEmpty ? nil : DocBitsPredicate(bits)
            }
            if let ti = layout.textFields.firstIndex(of: f.field) {
                return NormsPredicate(norms: seg.norms(textField: ti))
            }
            return nil
        case .ids(let ids):
            guard let slot = layout.keywordSlotOfField[layout.idOrdinal] else { return nil }
            var bits = DocBits(count: seg.docCount)
            for id in ids { if let d = try seg.doc(forId: id, idSlot: slot) { bits.insert(d) } }
            return bits.isEmpty ? nil : DocBitsPredicate(bits)
        }
    }
}

extension NumericColumn {
    /// The packed values within `b`, exclusive bounds included; nil when none can be.
    func rawRange(bounds b: NumericBounds) -> ClosedRange<UInt64>? {
        guard let r = rawRange(min: b.min, max: b.max) else { return nil }
        var lo = r.lowerBound, hi = r.upperBound
        if let m = b.min, !b.minInclusive, decode(lo) <= m {
            guard lo < UInt64.max else { return nil }
            lo += 1
        }
        if let m = b.max, !b.maxInclusive, decode(hi) >= m {
            guard hi > 0 else { return nil }
            hi -= 1
        }
        return lo <= hi ? lo...hi : nil
    }
}

/// A set of segment-local documents as bits.
struct DocBits {
    var words: [UInt64]
    var isEmpty = true
    init(count: Int) { words = Array(repeating: 0, count: (count + 63) / 64) }
    mutating func insert(_ d: Int) {
        guard d >= 0, d >> 6 < words.count else { return }
        words[d >> 6] |= 1 << UInt64(d & 63)
        isEmpty = false
    }
    @inline(__always) func contains(_ d: Int) -> Bool { d >> 6 < words.count && words[d >> 6] & (1 << UInt64(d & 63)) != 0 }
}

final class DocBitsPredicate: DocPredicate {
    let bits: DocBits
    init(_ bits: DocBits) { self.bits = bits }
    override func matches(_ doc: UInt32) -> Bool { bits.contains(Int(doc)) }
}

/// A numeric column has a value.
final class PresencePredicate: DocPredicate {
    let column: NumericColumn
    init(column: NumericColumn) { self.column = column }
    override func matches(_ doc: UInt32) -> Bool { column.has(Int(doc)) }
}

/// A keyword column has at least one value.
final class AnyOrdinalPredicate: DocPredicate {
    let column: OrdinalColumn
    init(column: OrdinalColumn) { self.column = column }
    override func matches(_ doc: UInt32) -> Bool {
        if !column.multi { return column.ord(Int(doc)) >= 0 }
        var any = false
        column.forEachOrd(Int(doc)) { _ in any = true }
        return any
    }
}

/// A text field has at least one token (its norm code is not 0).
final class NormsPredicate: DocPredicate {
    let norms: UnsafePointer<UInt8>
    init(norms: UnsafePointer<UInt8>) { self.norms = norms }
    override func matches(_ doc: UInt32) -> Bool { norms[Int(doc)] != 0 }
}

/// The documents of a segment that pass a predicate, score 0 (`Query.filter`). It visits every
/// document, so its cost is the segment's size: conjunctions advance it last.
final class PredicateScorer: Scorer {
    let maxDoc: UInt32
    let predicate: DocPredicate
    private var started = false
    init(maxDoc: Int, predicate: DocPredicate) {
        self.maxDoc = UInt32(maxDoc)
        self.predicate = predicate
    }
    override func nextDoc() -> UInt32 {
        if !started { return advance(0) }
        if doc == Scorer.noMoreDocs { return doc }
        return seek(doc + 1)
    }
    override func advance(_ target: UInt32) -> UInt32 {
        if started && doc >= target { return doc }
        return seek(target)
    }
    private func seek(_ from: UInt32) -> UInt32 {
        started = true
        var d = from
        while d < maxDoc {
            if predicate.matches(d) {
                doc = d
                return d
            }
            d += 1
        }
        doc = Scorer.noMoreDocs
        return doc
    }
    override var maxScore: Float { 0 }
    override var cost: Int { Int(maxDoc) }
    override var corruption: String? { predicate.corruption }
    override func explain() -> Explanation { Explanation(value: 0, description: "filter") }
}
