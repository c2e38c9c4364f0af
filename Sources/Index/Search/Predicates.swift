/// A per-document test used for filters, checked on candidates in increasing doc order.
class DocPredicate {
    func matches(_ doc: UInt32) -> Bool { true }
    var corruption: String? { nil }
}

/// A numeric doc values range (packed values, so no decoding).
final class NumericRangePredicate: DocPredicate {
    let column: NumericColumn
    let lo: UInt64, hi: UInt64
    init(column: NumericColumn, range: ClosedRange<UInt64>) {
        self.column = column
        lo = range.lowerBound
        hi = range.upperBound
    }
    @inline(__always) override func matches(_ doc: UInt32) -> Bool {
        let d = Int(doc)
        guard column.has(d) else { return false }
        let r = column.raw(d)
        return r >= lo && r <= hi
    }
}

/// Keyword doc values: the document has one of a set of ordinals.
final class OrdinalSetPredicate: DocPredicate {
    let column: OrdinalColumn
    let wanted: [Bool]
    init(column: OrdinalColumn, ordinals: Set<Int>) {
        self.column = column
        var w = [Bool](repeating: false, count: column.dictionary.count)
        for o in ordinals where o >= 0 && o < w.count { w[o] = true }
        wanted = w
    }
    @inline(__always) override func matches(_ doc: UInt32) -> Bool {
        if !column.multi {
            let o = column.ord(Int(doc))
            return o >= 0 && o < wanted.count && wanted[o]
        }
        var hit = false
        column.forEachOrd(Int(doc)) { if wanted[$0] { hit = true } }
        return hit
    }
}

/// Membership in the union of postings lists (docs must be asked in increasing order).
final class PostingsPredicate: DocPredicate {
    let cursors: [PostingsCursor]
    init(_ cursors: [PostingsCursor]) { self.cursors = cursors }
    @inline(__always) override func matches(_ doc: UInt32) -> Bool {
        for c in cursors where c.advance(doc) == doc { return true }
        return false
    }
    override var corruption: String? { cursors.lazy.compactMap { $0.corruption }.first }
}

/// Never matches (a filter no document of the segment can pass).
final class NeverPredicate: DocPredicate {
    override func matches(_ doc: UInt32) -> Bool { false }
}

/// All of several predicates.
final class AllPredicate: DocPredicate {
    let parts: [DocPredicate]
    init(_ parts: [DocPredicate]) { self.parts = parts }
    override func matches(_ doc: UInt32) -> Bool {
        for p in parts where !p.matches(doc) { return false }
        return true
    }
    override var corruption: String? { parts.lazy.compactMap { $0.corruption }.first }
}
