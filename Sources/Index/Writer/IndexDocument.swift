/// A stored value.
public enum StoredValue: Sendable, Equatable, Hashable {
    case string(String)
    case double(Double)
    case int(Int64)
    case bool(Bool)
    /// Several values (multi-valued fields such as a category list).
    case list([StoredValue])
}

/// One document ready for the index: analysed tokens, keyword values, numbers and stored values,
/// keyed by field ordinal. Reusable: `reset()` keeps the buffers, so building a million documents
/// allocates almost nothing per document.
public struct IndexDocument: Sendable {
    public struct TokenRef: Sendable {
        public var start: UInt32
        public var length: UInt32
        public var field: UInt16
        public var position: UInt32
    }

    public struct KeywordRef: Sendable {
        public var start: UInt32
        public var length: UInt32
        public var field: UInt16
    }

    public var id: String = ""
    /// Term bytes of all tokens and keyword values.
    public internal(set) var bytes: [UInt8] = []
    public internal(set) var tokens: [TokenRef] = []
    public internal(set) var keywords: [KeywordRef] = []
    public internal(set) var numbers: [(field: UInt16, value: Double)] = []
    public internal(set) var stored: [(field: UInt16, value: StoredValue)] = []
    /// Tokens of a field that do not count toward its length for BM25 (measurements in product
    /// titles: a title full of sizes is not a long title).
    public internal(set) var lengthDiscounts: [(field: UInt16, count: UInt32)] = []
    /// Text a vector field embeds (the segment writer embeds it, in batches, with the field's model).
    public internal(set) var vectorTexts: [(field: UInt16, text: String)] = []
    /// Vectors given as they are (an input array of numbers).
    public internal(set) var vectors: [(field: UInt16, values: [Float])] = []

    public init() {
        bytes.reserveCapacity(4096)
        tokens.reserveCapacity(256)
    }

    public mutating func reset() {
        id = ""
        bytes.removeAll(keepingCapacity: true)
        tokens.removeAll(keepingCapacity: true)
        keywords.removeAll(keepingCapacity: true)
        numbers.removeAll(keepingCapacity: true)
        stored.removeAll(keepingCapacity: true)
        lengthDiscounts.removeAll(keepingCapacity: true)
        vectorTexts.removeAll(keepingCapacity: true)
        vectors.removeAll(keepingCapacity: true)
    }

    /// The text of vector field `field` (embedded when the document is added to a segment).
    public mutating func addVectorText(field: Int, text: String) {
        vectorTexts.append((UInt16(field), text))
    }

    /// A ready vector for vector field `field` (normalised to unit length when added).
    public mutating func addVector(field: Int, values: [Float]) {
        vectors.append((UInt16(field), values))
    }

    /// `count` tokens of text field `field` do not count toward its length.
    public mutating func discountLength(field: Int, by count: Int) {
        guard count > 0 else { return }
        lengthDiscounts.append((UInt16(field), UInt32(min(count, Int(UInt32.max)))))
    }

    /// Adds one analysed token of a text field.
    @inline(__always)
    public mutating func addToken(field: Int, term: UnsafeBufferPointer<UInt8>, position: Int32) {
        guard term.count > 0, term.count <= IndexLimits.maxTermBytes, position >= 0 else { return }
        let start = UInt32(bytes.count)
        bytes.append(contentsOf: term)
        tokens.append(TokenRef(start: start, length: UInt32(term.count), field: UInt16(field),
                               position: UInt32(position)))
    }

    public mutating func addToken(field: Int, term: String, position: Int32) {
        var t = term
        t.withUTF8 { addToken(field: field, term: $0, position: position) }
    }

    /// Adds one exact value of a keyword-indexed field.
    public mutating func addKeyword(field: Int, value: String) {
        var v = value
        v.withUTF8 { p in
            guard p.count > 0 else { return }
            let n = min(p.count, IndexLimits.maxTermBytes)
            let start = UInt32(bytes.count)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[0..<n]))
            keywords.append(KeywordRef(start: start, length: UInt32(n), field: UInt16(field)))
        }
    }

    public mutating func addNumber(field: Int, value: Double) {
        numbers.append((UInt16(field), value))
    }

    public mutating func addStored(field: Int, value: StoredValue) {
        stored.append((UInt16(field), value))
    }
}

public enum IndexLimits {
    /// Longer terms are dropped (a token this long is noise, not a word).
    public static let maxTermBytes = 255
    /// Position gap between two values of a multi-valued text field, so phrases do not cross values.
    public static let valuePositionGap: Int32 = 100
    public static let maxIdBytes = 512
    public static let maxStoredValues = 65_535
    public static let maxStoredDepth = 4
    public static let maxStoredStringBytes = 16 << 20
    /// No numeric value is larger in magnitude (whatever a field's own `min`/`max`): doubles hold
    /// every integer exactly up to 9e15, and facet buckets, boosts and sorts stay meaningful.
    public static let maxNumericMagnitude = 1e15
    /// Instances of pattern fields (distinct `attributes.*` keys) an index may have, unless its
    /// writer is told otherwise (`--max-attribute-fields`).
    public static let defaultMaxPatternFields = 1_024
    /// Text a vector field embeds is cut to this many bytes (the model reads 128 tokens at most).
    public static let maxVectorTextBytes = 4_096
}

extension StoredValue {
    /// The stored form of a doc value: an integer when it is one, else a double; booleans as
    /// booleans. nil when there is no value.
    public static func numeric(_ v: Double?, boolean: Bool) -> StoredValue? {
        guard let v else { return nil }
        if boolean { return .bool(v != 0) }
        return v == v.rounded() && abs(v) < 1e15 ? .int(Int64(v)) : .double(v)
    }
}
