/// An exact decimal amount of money: `units × 10^-scale` (never binary floating point). Prices
/// come from PostgreSQL's `numeric` as text and go out as text; sums and products are exact, and
/// an amount too large for 18 digits is an error, not a rounding.
public struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    public private(set) var units: Int64
    public private(set) var scale: Int

    public static let maxScale = 12
    public static let zero = Money(units: 0, scale: 0)

    public init(units: Int64, scale: Int) {
        precondition((0...Money.maxScale).contains(scale), "scale out of range")
        self.units = units
        self.scale = scale
    }

    /// Parses `123`, `-4.5`, `0.10` (PostgreSQL's numeric text). No exponents, no NaN.
    public init?(_ text: String) {
        var units: Int64 = 0
        var scale = 0
        var seenDot = false
        var digits = 0
        var negative = false
        for (i, b) in text.utf8.enumerated() {
            switch b {
            case UInt8(ascii: "-") where i == 0: negative = true
            case UInt8(ascii: "+") where i == 0: break
            case UInt8(ascii: "."):
                if seenDot { return nil }
                seenDot = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let (m, o1) = units.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
                if o1 || o2 { return nil }
                units = a
                digits += 1
                if seenDot { scale += 1 }
                if scale > Money.maxScale { return nil }
            default: return nil
            }
        }
        guard digits > 0 else { return nil }
        self.init(units: negative ? -units : units, scale: scale)
    }

    /// The same amount with `scale` digits after the point (only ever widening).
    func rescaled(to s: Int) -> Money? {
        guard s >= scale else { return nil }
        var u = units
        for _ in scale..<s {
            let (m, o) = u.multipliedReportingOverflow(by: 10)
            if o { return nil }
            u = m
        }
        return Money(units: u, scale: s)
    }

    public func adding(_ other: Money) throws -> Money {
        let s = max(scale, other.scale)
        guard let a = rescaled(to: s), let b = other.rescaled(to: s) else { throw CommerceError.overflow }
        let (sum, o) = a.units.addingReportingOverflow(b.units)
        if o { throw CommerceError.overflow }
        return Money(units: sum, scale: s)
    }

    public func multiplied(by n: Int) throws -> Money {
        let (p, o) = units.multipliedReportingOverflow(by: Int64(n))
        if o { throw CommerceError.overflow }
        return Money(units: p, scale: scale)
    }

    /// Equal amounts compare equal whatever their scales (`1.5 == 1.50`).
    public static func == (a: Money, b: Money) -> Bool { compare(a, b) == 0 }
    public static func < (a: Money, b: Money) -> Bool { compare(a, b) < 0 }

    public func hash(into h: inout Hasher) {
        var u = units, s = scale
        while s > 0, u % 10 == 0 { u /= 10; s -= 1 }
        h.combine(u)
        h.combine(s)
    }

    static func compare(_ a: Money, _ b: Money) -> Int {
        let s = max(a.scale, b.scale)
        if let x = a.rescaled(to: s), let y = b.rescaled(to: s) { return x.units < y.units ? -1 : (x.units > y.units ? 1 : 0) }
        // Too large to align: compare as text-free signs and magnitudes by the whole parts.
        let wa = a.units / pow10(a.scale), wb = b.units / pow10(b.scale)
        return wa < wb ? -1 : (wa > wb ? 1 : 0)
    }

    static func pow10(_ n: Int) -> Int64 { (0..<n).reduce(Int64(1)) { r, _ in r * 10 } }

    /// Text with at least `minScale` decimals (`0.3` → `0.30`): what the API shows.
    public func formatted(minScale: Int = 2) -> String {
        let m = rescaled(to: max(scale, minScale)) ?? self
        let negative = m.units < 0
        let magnitude = m.units.magnitude
        var digits = String(magnitude)
        if m.scale > 0 {
            if digits.count <= m.scale { digits = String(repeating: "0", count: m.scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -m.scale))
        }
        return negative ? "-" + digits : digits
    }

    public var description: String { formatted() }

    /// One text per amount whatever the scale (`1.50` and `1.5` both give `1.5`).
    public var canonical: String {
        var t = formatted(minScale: 0)
        if t.contains(".") {
            while t.hasSuffix("0") { t.removeLast() }
            if t.hasSuffix(".") { t.removeLast() }
        }
        return t
    }
}
