/// One token produced by a ``TextAnalyzer``: the indexed term, its position and where it came from in the input.
public struct Token: Equatable, Sendable {
    /// The term (after folding, stemming, ...), as it is indexed.
    public var term: String
    /// The token position. Consecutive tokens have consecutive positions; a removed stop word leaves a gap.
    public var position: Int32
    /// UTF-8 byte offset of the token's source text in the input, inclusive.
    public var start: Int32
    /// UTF-8 byte offset of the end of the token's source text in the input, exclusive.
    public var end: Int32

    /// Creates a token.
    public init(term: String, position: Int32, start: Int32, end: Int32) {
        self.term = term
        self.position = position
        self.start = start
        self.end = end
    }
}

extension Token: CustomStringConvertible {
    /// `term@position[start,end)`, for test output.
    public var description: String { "\(term)@\(position)[\(start),\(end))" }
}
