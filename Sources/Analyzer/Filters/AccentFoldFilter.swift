import CICUShim

/// Removes accents: NFD, then remove nonspacing marks (general category Mn), then NFC (`café` -> `cafe`,
/// `été` -> `ete`, `Ελληνικά` -> `Ελληνικα`). Letters that are not "base + accent" stay (`ß`, `ø`, `æ`, `ł`).
///
/// On Latin, Greek, Cyrillic and script-neutral text this is exactly the ICU transform
/// `"NFD; [:Nonspacing Mark:] Remove; NFC"`, but done without a transliterator. Unlike that transform, marks whose
/// base character belongs to another script are kept, because there they are not accents: the kana voicing mark
/// (`テレビ` stays `テレビ`, not `テレヒ`), Indic and Thai vowel signs, Hebrew points.
public struct AccentFoldFilter: StatelessTokenFilter {
    /// Creates the filter.
    public init() {}

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// Folds `term` in place (ASCII terms are left alone).
    public func filter(_ term: inout [UInt8]) -> FilterVerdict {
        if !UTF8Decoding.isASCII(term) {
            ICU.transform(&term) { cicu_fold_utf8($0, $1, Int32(CICU_FOLD_STRIP_MARKS), $2, $3, $4) }
        }
        return .keep
    }
}
