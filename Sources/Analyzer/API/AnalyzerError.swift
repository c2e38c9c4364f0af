/// An error from building or looking up an analyzer.
public struct AnalyzerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// No analyzer has this name.
        case unknown(name: String, available: [String])
        /// An ICU call failed (`code` is the ICU `UErrorCode`).
        case icu(operation: String, code: Int32, codeName: String)
        /// libstemmer has no algorithm for this language.
        case unknownStemmerLanguage(String, available: [String])
        /// A filter or tokenizer was configured with an invalid argument.
        case invalidConfiguration(String)
    }

    /// What went wrong.
    public var kind: Kind

    /// Creates an error of the given kind.
    public init(_ kind: Kind) { self.kind = kind }

    /// No analyzer is called `name`; `available` lists the names that exist.
    public static func unknown(_ name: String, available: [String]) -> AnalyzerError {
        AnalyzerError(.unknown(name: name, available: available))
    }

    /// A human-readable message.
    public var description: String {
        switch kind {
        case let .unknown(name, available):
            return "unknown analyzer \"\(name)\"; available analyzers: \(available.joined(separator: ", "))"
        case let .icu(operation, code, codeName):
            return "ICU error in \(operation): \(codeName) (\(code))"
        case let .unknownStemmerLanguage(language, available):
            return "no Snowball stemmer for language \"\(language)\"; available: \(available.joined(separator: ", "))"
        case let .invalidConfiguration(message):
            return "invalid analyzer configuration: \(message)"
        }
    }
}
