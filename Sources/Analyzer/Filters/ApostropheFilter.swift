/// Replaces typographic apostrophes inside a term by the ASCII `'`: U+2019 `’`, U+2018 `‘`, U+02BC `ʼ` and
/// full-width U+FF07 `＇`, so that `samsung’s` and `samsung's` (and `l’été`, `l'été`) analyse alike.
public struct ApostropheFilter: StatelessTokenFilter {
    /// Creates the filter.
    public init() {}

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// Replaces the apostrophes in place.
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        guard term.contains(where: { $0 == 0xE2 || $0 == 0xCA || $0 == 0xEF }) else { return .keep }
        var out: [UInt8] = []
        out.reserveCapacity(term.count)
        var i = 0
        let n = term.count
        while i < n {
            let b = term[i]
            if b == 0xE2, i + 2 < n, term[i + 1] == 0x80, term[i + 2] == 0x98 || term[i + 2] == 0x99 {
                out.append(0x27); i += 3            // U+2018, U+2019
            } else if b == 0xCA, i + 1 < n, term[i + 1] == 0xBC {
                out.append(0x27); i += 2            // U+02BC
            } else if b == 0xEF, i + 2 < n, term[i + 1] == 0xBC, term[i + 2] == 0x87 {
                out.append(0x27); i += 3            // U+FF07
            } else {
                out.append(b); i += 1
            }
        }
        term = out
        return .keep
    }
}
