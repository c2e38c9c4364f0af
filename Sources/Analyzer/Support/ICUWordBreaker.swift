import CICUShim
import Synchronization

/// An ICU word-break iterator (`UBRK_WORD`) opened once per locale; workers get clones of it.
final class ICUWordBreakPrototype: Sendable {
    private let handle: Mutex<OpaquePointer>

    init(locale: String) throws {
        var err: Int32 = 0
        let opened = cicu_wordbreak_open(locale, &err)
        try ICU.check(err, "ubrk_open(UBRK_WORD, \"\(locale)\")")
        guard let opened else {
            throw AnalyzerError(.icu(operation: "ubrk_open", code: 5, codeName: ICU.errorName(5)))
        }
        handle = Mutex(opened)
    }

    deinit {
        handle.withLock { cicu_wordbreak_close($0) }
    }

    /// A new independent iterator for one worker.
    func makeIterator() throws -> ICUWordBreakIterator {
        var err: Int32 = 0
        let clone = handle.withLock { cicu_wordbreak_clone($0, &err) }
        try ICU.check(err, "ubrk_clone")
        guard let clone else {
            throw AnalyzerError(.icu(operation: "ubrk_clone", code: 5, codeName: ICU.errorName(5)))
        }
        return ICUWordBreakIterator(clone)
    }
}

/// One thread's word-break iterator.
final class ICUWordBreakIterator {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { cicu_wordbreak_close(handle) }

    /// Calls `body(start, end, ruleStatus)` for every segment of `text` (UTF-8 byte offsets; ill-formed bytes are
    /// seen as U+FFFD). Segments cover the text without gaps; the rule status is >= 100 for words and numbers.
    func forEachSegment(_ text: UnsafeBufferPointer<UInt8>, _ body: (Int, Int, Int32) -> Void) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        var err: Int32 = 0
        cicu_wordbreak_set_text(handle, base, Int64(text.count), &err)
        defer { cicu_wordbreak_clear(handle) }
        guard err <= 0 else { return }
        var start: Int64 = 0, end: Int64 = 0, status: Int32 = 0
        while cicu_wordbreak_next(handle, &start, &end, &status) != 0 {
            body(Int(start), Int(end), status)
        }
    }
}
