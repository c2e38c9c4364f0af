/// Removes the English possessive `'s` (also `’s`) at the end of a term: `samsung's` -> `samsung`.
/// Run it after ``CaseFoldFilter`` (it matches a lower-case `s`). A term that is only `'s` is left alone.
public struct PossessiveFilter: StatelessTokenFilter {
    /// Creates the filter.
    public init() {}

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// Strips the suffix in place.
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        let n = term.count
        guard n >= 3, term[n - 1] == 0x73 else { return .keep }
        if term[n - 2] == 0x27 {
            term.removeLast(2)
        } else if n >= 5, term[n - 4] == 0xE2, term[n - 3] == 0x80, term[n - 2] == 0x99 {
            term.removeLast(4)
        }
        return .keep
    }
}
