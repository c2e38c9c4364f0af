import CICUShim
import Synchronization

/// Applies an ICU transform to each term, e.g. `"Any-Latin; Latin-ASCII"` (`Москва` -> `Moskva`).
///
/// Opening a transliterator is slow (milliseconds), so it is opened once and every worker gets a clone.
/// Not used by the built-in analyzers (``AccentFoldFilter`` does accent folding without a transliterator).
public struct TransliterateFilter: TokenFilter {
    /// The ICU transform id.
    public let id: String
    private let prototype: ICUTransliteratorPrototype

    /// Opens the transform.
    /// - Throws: ``AnalyzerError`` if ICU rejects the id.
    public init(id: String) throws {
        self.id = id
        prototype = try ICUTransliteratorPrototype(id: id)
    }

    /// Applies to query normalisation.
    public var appliesToNormalization: Bool { true }

    /// A worker with its own clone of the transliterator.
    public func makeWorker() throws -> TokenFilterWorker {
        TransliterateWorker(try prototype.makeClone())
    }
}

/// The transliterator opened once; clones are made under its lock.
final class ICUTransliteratorPrototype: Sendable {
    private let handle: Mutex<OpaquePointer>

    init(id: String) throws {
        var err: Int32 = 0
        let opened = cicu_translit_open(id, &err)
        try ICU.check(err, "utrans_openU(\"\(id)\")")
        guard let opened else {
            throw AnalyzerError(.icu(operation: "utrans_openU", code: 5, codeName: ICU.errorName(5)))
        }
        handle = Mutex(opened)
    }

    deinit { handle.withLock { cicu_translit_close($0) } }

    func makeClone() throws -> OpaquePointer {
        var err: Int32 = 0
        let clone = handle.withLock { cicu_translit_clone($0, &err) }
        try ICU.check(err, "utrans_clone")
        guard let clone else {
            throw AnalyzerError(.icu(operation: "utrans_clone", code: 5, codeName: ICU.errorName(5)))
        }
        return clone
    }
}

final class TransliterateWorker: TokenFilterWorker {
    private let transliterator: OpaquePointer

    init(_ transliterator: OpaquePointer) {
        self.transliterator = transliterator
        super.init()
    }

    deinit { cicu_translit_close(transliterator) }

    override func filter(_ term: inout [UInt8]) -> FilterVerdict {
        ICU.transform(&term) { cicu_translit_utf8(transliterator, $0, $1, $2, $3, $4) }
        return .keep
    }
}
