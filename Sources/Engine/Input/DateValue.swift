/// Dates and date-times as epoch milliseconds (UTC), for numeric fields with `format: "date"`.
/// Accepts what Elasticsearch's `strict_date_optional_time` does in practice: `yyyy-MM-dd`,
/// optionally followed by `T` (or a space) and `HH:mm`, `HH:mm:ss` or `HH:mm:ss.fraction`, then
/// optionally `Z` or an offset `±HH:mm` / `±HHmm` / `±HH` (no offset: UTC). Nothing else: a
/// string that is not exactly that is nil, never a guess.
public enum DateValue {
    public static func epochMilliseconds(_ text: String) -> Double? {
        var s = Array(text.utf8)[...]
        func digits(_ n: Int) -> Int? {
            guard s.count >= n else { return nil }
            var v = 0
            for c in s.prefix(n) {
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            s = s.dropFirst(n)
            return v
        }
        func take(_ c: UInt8) -> Bool {
            guard s.first == c else { return false }
            s = s.dropFirst()
            return true
        }
        guard let y = digits(4), take(0x2D), let mo = digits(2), take(0x2D), let d = digits(2),
              (1...12).contains(mo), d >= 1, d <= daysIn(month: mo, year: y) else { return nil }
        var seconds = Double(daysFromCivil(y, mo, d)) * 86_400
        if take(0x54) || take(0x20) {   // T or space
            guard let h = digits(2), take(0x3A), let mi = digits(2), h <= 23, mi <= 59 else { return nil }
            seconds += Double(h * 3600 + mi * 60)
            if take(0x3A) {
                guard let sec = digits(2), sec <= 59 else { return nil }
                seconds += Double(sec)
                if take(0x2E) || take(0x2C) {
                    var frac = 0.0, scale = 0.1, n = 0
                    while let c = s.first, c >= 0x30 && c <= 0x39 {
                        frac += Double(c - 0x30) * scale
                        scale /= 10
                        n += 1
                        s = s.dropFirst()
                    }
                    guard n > 0, n <= 9 else { return nil }
                    seconds += frac
                }
            }
            if take(0x5A) {   // Z
            } else if let sign = s.first, sign == 0x2B || sign == 0x2D {
                s = s.dropFirst()
                guard let oh = digits(2), oh <= 23 else { return nil }
                var om = 0
                if take(0x3A) {
                    guard let m = digits(2) else { return nil }
                    om = m
                } else if s.count >= 2, let m = digits(2) {
                    om = m
                }
                guard om <= 59 else { return nil }
                let offset = Double(oh * 3600 + om * 60)
                seconds += sign == 0x2B ? -offset : offset
            }
        }
        guard s.isEmpty else { return nil }
        return (seconds * 1000).rounded()
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month m: Int, year y: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
