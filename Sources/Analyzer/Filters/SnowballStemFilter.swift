import CStemmer

/// Snowball stemming with libstemmer (`televisions` -> `televis`, `batteries` -> `batteri`). Each worker owns its
/// own `sb_stemmer` (they are not thread-safe). Expects lower-case input.
public struct SnowballStemFilter: TokenFilter {
    /// The Snowball algorithm, e.g. `"english"`.
    public let language: String

    /// The algorithms libstemmer offers.
    public static var languages: [String] {
        var result: [String] = []
        guard let list = sb_stemmer_list() else { return result }
        var i = 0
        while let name = list[i] {
            result.append(String(cString: name))
            i += 1
        }
        return result
    }

    /// Creates the filter.
    /// - Throws: ``AnalyzerError`` if libstemmer has no such algorithm.
    public init(language: String = "english") throws {
        let available = Self.languages
        guard available.contains(language) else {
            throw AnalyzerError(.unknownStemmerLanguage(language, available: available))
        }
        self.language = language
    }

    /// Does not apply to query normalisation.
    public var appliesToNormalization: Bool { false }

    /// A worker with its own stemmer.
    public func makeWorker() throws -> TokenFilterWorker {
        guard let stemmer = sb_stemmer_new(language, nil) else {
            throw AnalyzerError(.unknownStemmerLanguage(language, available: Self.languages))
        }
        return SnowballStemWorker(stemmer)
    }
}

final class SnowballStemWorker: TokenFilterWorker {
    private let stemmer: OpaquePointer

    init(_ stemmer: OpaquePointer) {
        self.stemmer = stemmer
        super.init()
    }

    deinit { sb_stemmer_delete(stemmer) }

    override func filter(_ term: inout [UInt8]) -> FilterVerdict {
        guard !term.isEmpty, term.count < Int(Int32.max) else { return .keep }
        let stemmed = term.withUnsafeBufferPointer { sb_stemmer_stem(stemmer, $0.baseAddress, Int32($0.count)) }
        guard let stemmed else { return .keep }   // out of memory: keep the word as it is
        let length = Int(sb_stemmer_length(stemmer))
        guard length > 0 else { return .keep }
        term.removeAll(keepingCapacity: true)
        term.append(contentsOf: UnsafeBufferPointer(start: stemmed, count: length))
        return .keep
    }
}
