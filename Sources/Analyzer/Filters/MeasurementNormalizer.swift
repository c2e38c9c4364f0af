/// Rewrites how product text writes sizes and quantities into one form before tokenizing, so a
/// shopper's `1/2 inch`, `1/2"`, `1/2-in.` and a title's `1/2 in.` meet:
///
/// | written | becomes | why |
/// | --- | --- | --- |
/// | `1/2`, `1 / 2` | `1f2` | a fraction is one term, not the numbers 1 and 2 |
/// | `1-1/2` | `1 1f2` | mixed numbers: the whole and the fraction |
/// | `4in`, `4 in.`, `4"`, `4-inch`, `4 inches` | `4 inch` | number and canonical unit (table below) |
/// | `2x4`, `2 in. x 4 in.`, `24 X 24`, `4*8` | `2x4 2 inch 4 inch` | the first two dimensions as one term, plus each |
/// | `.5`, `11,000` | `0.5`, `11000` | one way to write a number |
/// | `5'` | `5` | an apostrophe after a number is dropped (shoppers use it for feet and inches alike) |
///
/// A standalone `x` between dimensions is dropped. Units (after a number only): inch (in, ", ''),
/// ft (feet, foot), gal, lb, oz, volt (v), watt (w), amp (a), mm, cm, qt, gauge (ga), btu, gpf,
/// cuft (cu. ft.), sqft (sq. ft.), pack (pk, pc, piece), light (lite), gang, tier.
///
/// Every output byte remembers the input byte range it came from, so tokens keep offsets into
/// the original text (for highlighting).
public struct MeasurementNormalizer: Sendable {
    public init() {}

    /// (unit spelling, canonical); spellings are lower-case ASCII or UTF-8 quote marks; longest match wins.
    static let units: [(String, String)] = {
        let table: [(String, [String])] = [
            ("inch", ["inches", "inch", "in.", "in", "\"", "''", "\u{201D}", "\u{2033}"]),
            ("ft", ["feet", "foot", "ft.", "ft"]),
            // An apostrophe after a number is dropped: shoppers write it for feet and for inches alike.
            ("", ["'", "\u{2019}", "\u{2032}"]),
            ("gal", ["gallons", "gallon", "gal.", "gal"]),
            ("lb", ["pounds", "pound", "lbs.", "lbs", "lb.", "lb"]),
            ("oz", ["ounces", "ounce", "oz.", "oz"]),
            ("volt", ["volts", "volt", "v"]),
            ("watt", ["watts", "watt", "w"]),
            ("amp", ["amperes", "ampere", "amps", "amp", "a"]),
            ("mm", ["millimeters", "millimeter", "mm"]),
            ("cm", ["centimeters", "centimeter", "cm"]),
            ("qt", ["quarts", "quart", "qt.", "qt"]),
            ("gauge", ["gauge", "ga."]),
            ("btu", ["btus", "btu"]),
            ("gpf", ["gpf"]),
            ("cuft", ["cubic feet", "cubic foot", "cubic ft.", "cubic ft", "cu. ft.", "cu.ft.", "cu ft.", "cu. ft", "cu ft", "cuft"]),
            ("sqft", ["square feet", "square foot", "square ft.", "sq. ft.", "sq.ft.", "sq ft.", "sq. ft", "sq ft", "sqft"]),
            ("pack", ["pack", "pk.", "pk", "pcs.", "pcs", "pc.", "pc", "pieces", "piece"]),
            ("light", ["lights", "light", "lite"]),
            ("gang", ["gang"]),
            ("tier", ["tiers", "tier", "teir"]),
        ]
        var out: [(String, String)] = []
        for (canon, spellings) in table { for s in spellings { out.append((s, canon)) } }
        return out.sorted { $0.0.utf8.count > $1.0.utf8.count }
    }()

    static let unitBytes: [([UInt8], [UInt8])] = units.map { (Array($0.0.utf8), Array($0.1.utf8)) }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c >= 0x80
    }
    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 32 : c }

    /// The rewritten text and, per output byte, the input range it stands for. `nil` when nothing
    /// changes (the common case for text without numbers).
    public func rewrite(_ s: UnsafeBufferPointer<UInt8>) -> (text: [UInt8], start: [Int32], end: [Int32])? {
        guard s.contains(where: Self.isDigit) else { return nil }
        var out: [UInt8] = []
        var st: [Int32] = []
        var en: [Int32] = []
        out.reserveCapacity(s.count + 16)
        st.reserveCapacity(s.count + 16)
        en.reserveCapacity(s.count + 16)
        let n = s.count
        func put(_ bytes: [UInt8], _ a: Int, _ b: Int) {
            for c in bytes { out.append(c); st.append(Int32(a)); en.append(Int32(b)) }
        }
        func copy(_ i: Int) { out.append(s[i]); st.append(Int32(i)); en.append(Int32(i + 1)) }
        func skipSpace(_ i: Int) -> Int {
            var j = i
            while j < n && (s[j] == 0x20 || s[j] == 0x09) { j += 1 }
            return j
        }
        /// A number at i (digits with ,ddd groups and a decimal part, or .digits): its end.
        func number(_ i: Int) -> Int? {
            var j = i
            if j < n && s[j] == 0x2E { // .5
                guard j + 1 < n && Self.isDigit(s[j + 1]) else { return nil }
                j += 1
                while j < n && Self.isDigit(s[j]) { j += 1 }
                return j
            }
            guard j < n && Self.isDigit(s[j]) else { return nil }
            while j < n && Self.isDigit(s[j]) { j += 1 }
            while j + 3 < n && s[j] == 0x2C && Self.isDigit(s[j + 1]) && Self.isDigit(s[j + 2]) && Self.isDigit(s[j + 3])
                && !(j + 4 < n && Self.isDigit(s[j + 4])) { j += 4 }
            if j + 1 < n && s[j] == 0x2E && Self.isDigit(s[j + 1]) {
                j += 1
                while j < n && Self.isDigit(s[j]) { j += 1 }
            }
            return j
        }
        /// A quantity at i: a number, a fraction or a mixed number. Returns its terms and end.
        func quantity(_ i: Int) -> (terms: [[UInt8]], end: Int)? {
            guard let a = number(i) else { return nil }
            var first = Array(s[i..<a]).filter { $0 != 0x2C }
            if first.first == 0x2E { first.insert(0x30, at: 0) }   // .5 → 0.5
            // a-b/c (mixed) or a/b (fraction); spaces allowed around the slash.
            var j = skipSpace(a)
            if j < n && s[j] == 0x2F {
                let k = skipSpace(j + 1)
                if let b = number(k), !first.contains(0x2E) {
                    return ([first + [0x66] + Array(s[k..<b])], b)
                }
            }
            if a < n && s[a] == 0x2D, let b = number(a + 1) {
                j = skipSpace(b)
                if j < n && s[j] == 0x2F {
                    let k = skipSpace(j + 1)
                    if let c = number(k) { return ([first, Array(s[(a + 1)..<b]) + [0x66] + Array(s[k..<c])], c) }
                }
            }
            return ([first], a)
        }
        /// A unit at i (after optional spaces or a hyphen): canonical and end.
        func unit(_ i: Int) -> (canon: [UInt8], end: Int)? {
            var j = skipSpace(i)
            if j < n && s[j] == 0x2D { j = skipSpace(j + 1) }
            for (spelling, canon) in Self.unitBytes {
                let m = spelling.count
                guard j + m <= n else { continue }
                var ok = true
                for t in 0..<m where Self.lower(s[j + t]) != spelling[t] { ok = false; break }
                guard ok else { continue }
                let last = spelling[m - 1]
                // A word unit must end the word ("in" of "inside" is not a unit); marks and dots may be followed by anything.
                if Self.isAlnum(last) && j + m < n && Self.isAlnum(s[j + m]) { continue }
                // Quote marks only right after the number ('4"', not '4 "').
                if !Self.isAlnum(spelling[0]) && spelling[0] != 0x2E && j != i { continue }
                return (canon, j + m)
            }
            return nil
        }

        var i = 0
        var changed = false
        while i < n {
            let c = s[i]
            let startsWord = i == 0 || !Self.isAlnum(s[i - 1])
            guard startsWord, Self.isDigit(c) || (c == 0x2E && i + 1 < n && Self.isDigit(s[i + 1])),
                  var q = quantity(i) else {
                copy(i)
                i += 1
                continue
            }
            // A quantity, maybe with a unit, maybe the first of dimensions.
            let qStart = i
            var parts: [(terms: [[UInt8]], unit: [UInt8]?, start: Int, end: Int)] = []
            var u = unit(q.end)
            parts.append((q.terms, u?.canon, qStart, u?.end ?? q.end))
            var j = u?.end ?? q.end
            while parts.count < 3 {
                let k = skipSpace(j)
                guard k < n, s[k] == 0x78 || s[k] == 0x58 || s[k] == 0x2A else { break }   // x X *
                let m = skipSpace(k + 1)
                guard m < n, Self.isDigit(s[m]) || s[m] == 0x2E, let q2 = quantity(m) else { break }
                q = q2
                u = unit(q2.end)
                parts.append((q2.terms, u?.canon, m, u?.end ?? q2.end))
                j = u?.end ?? q2.end
            }
            // The quantity must end the word (so "3m" of a model code stays whole unless it is a unit).
            if j < n && Self.isAlnum(s[j]) {
                copy(i)
                i += 1
                while i < n && Self.isAlnum(s[i]) { copy(i); i += 1 }
                continue
            }
            if parts.count == 1 && parts[0].unit == nil && parts[0].terms.count == 1 && parts[0].terms[0].elementsEqual(s[qStart..<parts[0].end]) {
                // A plain number: as it is.
                for k in qStart..<parts[0].end { copy(k) }
                i = parts[0].end
                continue
            }
            changed = true
            put([0x20], qStart, qStart)
            if parts.count >= 2, parts[0].terms.count == 1, parts[1].terms.count == 1 {
                put(parts[0].terms[0] + [0x78] + parts[1].terms[0], qStart, parts[1].end)
                put([0x20], qStart, qStart)
            }
            for p in parts {
                for t in p.terms { put(t, p.start, p.end); put([0x20], p.start, p.start) }
                if let unit = p.unit, !unit.isEmpty { put(unit, p.start, p.end); put([0x20], p.end, p.end) }
            }
            i = j
        }
        return changed ? (out, st, en) : nil
    }
}

/// An analyzer that normalises measurements (``MeasurementNormalizer``) and then runs another one,
/// with offsets mapped back to the original text.
public final class MeasurementAnalyzer: TextAnalyzer {
    public let name: String
    public let inner: any TextAnalyzer
    let normalizer = MeasurementNormalizer()

    /// The canonical unit names as this analyzer indexes them (after stemming), and `x`.
    public let unitTerms: Set<[UInt8]>

    public init(name: String, inner: any TextAnalyzer) {
        self.name = name
        self.inner = inner
        var terms: Set<[UInt8]> = [Array("x".utf8)]
        for canon in Set(MeasurementNormalizer.units.map { $0.1 }) where !canon.isEmpty {
            inner.analyze(canon, firstPosition: 0) { t, _, _, _ in terms.insert(Array(t)) }
        }
        unitTerms = terms
    }

    @discardableResult
    public func analyze(utf8: UnsafeBufferPointer<UInt8>, firstPosition: Int32,
                        emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        guard let r = normalizer.rewrite(utf8) else { return inner.analyze(utf8: utf8, firstPosition: firstPosition, emit: emit) }
        return r.text.withUnsafeBufferPointer { p in
            inner.analyze(utf8: p, firstPosition: firstPosition) { term, pos, a, b in
                let s = Int(a) < r.start.count ? r.start[Int(a)] : Int32(utf8.count)
                let e = b > 0 && Int(b - 1) < r.end.count ? r.end[Int(b - 1)] : s
                emit(term, pos, s, max(s, e))
            }
        }
    }

    public func normalize(_ text: String) -> String? { inner.normalize(text) }
}
