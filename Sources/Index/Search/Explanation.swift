/// Why a document got its score: a tree of values with descriptions (Lucene's Explanation).
public struct Explanation: Sendable, Equatable {
    public var value: Float
    public var description: String
    public var details: [Explanation]

    public init(value: Float, description: String, details: [Explanation] = []) {
        self.value = value
        self.description = description
        self.details = details
    }

    /// Indented text, one node per line.
    public func render(indent: Int = 0) -> String {
        var s = String(repeating: "  ", count: indent) + "\(value) \(description)\n"
        for d in details { s += d.render(indent: indent + 1) }
        return s
    }
}
