import CICUShim

/// Unicode case folding with NFKC normalisation (ICU's `NFKC_Casefold`): `ÉCRAN` -> `écran`, `ﬁ` -> `fi`,
/// full-width `ＴＶ５５` -> `tv55`, `Straße` -> `strasse`; default-ignorable code points (soft hyphen, ZWJ) are removed.
/// ASCII terms are just lower-cased (the same result without ICU).
public struct CaseFoldFilter: StatelessTokenFilter {
    /// Creates the filter.
    public init() {}

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// Folds `term` in place.
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        if UTF8Decoding.isASCII(term) {
            UTF8Decoding.lowercaseASCII(&term)
        } else {
            ICU.transform(&term) { cicu_fold_utf8($0, $1, Int32(CICU_FOLD_NFKC_CASEFOLD), $2, $3, $4) }
        }
        return .keep
    }
}
