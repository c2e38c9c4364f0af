/// Adjacent word pairs as terms of their text slot.
///
/// A text group whose fields all ask for pairs (`FieldDefinition.pairs`) also indexes, for every
/// two tokens at positions p and p+1 of one field, the pair term `0xFF, len(a), a, b`, with the
/// field and position p like any other posting. A document holds the pair term in field f exactly
/// when the two-word phrase `a b` (slop 0) matches it in f, so the proximity bonus reads one short
/// postings list instead of both words' positions. `0xFF` never starts UTF-8 text, so pair terms
/// cannot collide with words, and they sort after every word of the slot (term scans that list
/// words stop at the first one).
public enum PairTerms {
    /// The first byte of every pair term.
    public static let marker: UInt8 = 0xFF

    /// The pair term of `a` then `b`, or nil when it would be longer than a term may be (such a
    /// pair is not indexed; its phrase is checked from positions).
    public static func term<A: Collection, B: Collection>(_ a: A, _ b: B) -> [UInt8]? where A.Element == UInt8, B.Element == UInt8 {
        var t: [UInt8] = []
        return encode(a, b, into: &t) ? t : nil
    }

    /// Writes the pair term of `a` then `b` into `out` (replacing its contents, keeping its
    /// capacity: the segment writer reuses one buffer); false, and nothing written, when the pair
    /// is not indexed (`term`).
    @inline(__always)
    static func encode<A: Collection, B: Collection>(_ a: A, _ b: B, into out: inout [UInt8]) -> Bool where A.Element == UInt8, B.Element == UInt8 {
        guard !a.isEmpty, !b.isEmpty, fits(a.count, b.count) else { return false }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(2 + a.count + b.count)
        out.append(marker)
        out.append(UInt8(a.count))
        out.append(contentsOf: a)
        out.append(contentsOf: b)
        return true
    }

    @inline(__always) static func fits(_ a: Int, _ b: Int) -> Bool { a + b + 2 <= IndexLimits.maxTermBytes }

    /// Whether `term` (without its slot) is a pair term.
    @inline(__always) public static func isPair<C: Collection>(_ term: C) -> Bool where C.Element == UInt8 { term.first == marker }

    /// The two words of a pair term (nil for any other term).
    public static func words(_ term: [UInt8]) -> (first: [UInt8], second: [UInt8])? {
        guard isPair(term), term.count >= 2, Int(term[1]) + 2 < term.count else { return nil }
        let n = Int(term[1])
        return (Array(term[2..<(2 + n)]), Array(term[(2 + n)...]))
    }

    /// `a b` for a pair term, the term itself otherwise (for explanations and reports).
    public static func display(_ term: [UInt8]) -> String {
        guard let (a, b) = words(term) else { return String(decoding: term, as: UTF8.self) }
        return "\"" + String(decoding: a, as: UTF8.self) + " " + String(decoding: b, as: UTF8.self) + "\" (word pair)"
    }
}
