/// The first stage of a ``PipelineAnalyzer``: splits UTF-8 input into tokens.
///
/// A `Tokenizer` is an immutable, shareable description. Per-thread working state (an ICU break iterator, scratch
/// buffers) lives in the ``TokenizerWorker``s it makes; the analyzer keeps a small pool of them.
public protocol Tokenizer: Sendable {
    /// Creates a working instance. Called once per pooled worker, not per input.
    func makeWorker() throws -> any TokenizerWorker
}

/// A single-threaded working instance of a ``Tokenizer``.
public protocol TokenizerWorker: AnyObject {
    /// Calls `sink(&term, start, end)` for each token of `input`, in order.
    ///
    /// `term` holds the token's initial term bytes (non-empty, valid UTF-8); the sink may change it freely.
    /// `start..<end` is the token's byte range in `input`: `0 <= start < end <= input.count`, starts non-decreasing.
    /// `input` may be invalid UTF-8 and is at most `Int32.max` bytes long.
    func tokenize(_ input: UnsafeBufferPointer<UInt8>, _ sink: (inout [UInt8], Int32, Int32) -> Void)
}

/// A tokenizer worker that can hand out terms without copying them into an array; a pipeline without filters uses
/// this (the `plain` and `keyword` hot paths).
protocol DirectTokenizerWorker: TokenizerWorker {
    /// Calls `emit(term, start, end)` for each token, with the same tokens as ``TokenizerWorker/tokenize(_:_:)``;
    /// `term` is valid only during the call (it may point into `input`).
    func tokenizeDirect(_ input: UnsafeBufferPointer<UInt8>, _ emit: (UnsafeBufferPointer<UInt8>, Int32, Int32) -> Void)
}
