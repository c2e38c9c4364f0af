/// What a ``TokenFilterWorker`` decided about a token.
public enum FilterVerdict: Sendable, Equatable {
    /// Keep the token (possibly with a changed term) and pass it on.
    case keep
    /// Remove the token but let it consume its position, leaving a gap (stop words).
    case removeLeavingGap
    /// Remove the token as if it never existed (no position consumed).
    case removeWithoutGap
}

/// A stage after the tokenizer of a ``PipelineAnalyzer``: transforms or removes one token at a time.
///
/// A `TokenFilter` is an immutable, shareable description; per-thread state (ICU or stemmer handles) lives in the
/// ``TokenFilterWorker``s it makes.
public protocol TokenFilter: Sendable {
    /// Whether ``TextAnalyzer/normalize(_:)`` applies this filter too: `true` for folding filters (case, accents,
    /// elisions, ...), `false` for stop-word removal and stemming.
    var appliesToNormalization: Bool { get }

    /// Creates a working instance. Called once per pooled worker, not per token.
    func makeWorker() throws -> TokenFilterWorker
}

/// A single-threaded working instance of a ``TokenFilter``: subclass it and override ``filter(_:)``.
///
/// (A class rather than a protocol so that the pipeline can call it without retaining and releasing the worker for
/// every token, which cost a third of the `english` analyzer's time.)
open class TokenFilterWorker {
    /// Creates the worker.
    public init() {}

    /// Transforms `term` (valid UTF-8, non-empty) in place and says whether to keep the token. If the term is left
    /// empty, the pipeline removes the token without a gap. The default keeps the token unchanged.
    open func filter(_ term: inout [UInt8]) -> FilterVerdict { .keep }
}

/// A filter without per-thread state: it is its own worker logic.
public protocol StatelessTokenFilter: TokenFilter {
    /// Transforms `term` in place; see ``TokenFilterWorker/filter(_:)``.
    func filter(_ term: inout [UInt8]) -> FilterVerdict
}

extension StatelessTokenFilter {
    /// Wraps `self` in a worker.
    public func makeWorker() throws -> TokenFilterWorker { StatelessFilterWorker(self) }
}

/// Adapts a ``StatelessTokenFilter`` to ``TokenFilterWorker`` (generic, so the call is specialised).
final class StatelessFilterWorker<Filter: StatelessTokenFilter>: TokenFilterWorker {
    private let base: Filter
    init(_ base: Filter) { self.base = base }
    override func filter(_ term: inout [UInt8]) -> FilterVerdict { base.filter(&term) }
}
