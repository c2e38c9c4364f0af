#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A document as typed values, for producers inside the process (the catalog's rows): field name
/// to value, in the shape of the schema's sources (`category` a list, `attributes` an object). It
/// is built into an index document by the same rules as a JSON line (`DocumentBuilder`), without
/// going through JSON text.
public struct Record: Sendable {
    public var fields: [(name: String, value: FieldValue)]
    public init(_ fields: [(name: String, value: FieldValue)] = []) { self.fields = fields }

    /// The value of a field (the last one of that name).
    public subscript(name: String) -> FieldValue? {
        fields.last { $0.name == name }?.value
    }
}

/// One value of a `Record`.
public indirect enum FieldValue: Sendable {
    case null
    case bool(Bool)
    case number(ExactDecimal)
    case text(String)
    case list([FieldValue])
    case object([(name: String, value: FieldValue)])

    public static func number(_ i: Int) -> FieldValue { .number(ExactDecimal(i)) }
}

extension FieldValue {
    /// A decimal given as its exact text (`"28.99"`), or nil when it is not one.
    public static func decimal(_ text: String) -> FieldValue? { ExactDecimal(text).map { .number($0) } }
}

/// A decimal number carried as its exact text from where it was read (a PostgreSQL `numeric`,
/// a JSON number) to where it is stored: the doc-values column gets the double nearest to the
/// text, converted once (as a JSON line's number is), and text fields and keywords get the text.
public struct ExactDecimal: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let value: Double

    /// A number in JSON's grammar (`-12.5e3`), finite as a double.
    public init?(_ text: String) {
        guard Self.isNumber(text) else { return nil }
        let v = text.withCString { strtod($0, nil) }
        guard v.isFinite else { return nil }
        self.text = text
        self.value = v
    }

    public init(_ i: Int) {
        text = String(i)
        value = Double(i)
    }

    /// A double given as text already formatted by its producer (e.g. `2.0`).
    public init(_ value: Double, text: String) {
        self.text = text
        self.value = value
    }

    public var description: String { text }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isNumber(_ s: String) -> Bool {
        var u = Array(s.utf8)[...]
        func digits() -> Int {
            var n = 0
            while let c = u.first, c >= 0x30 && c <= 0x39 { u = u.dropFirst(); n += 1 }
            return n
        }
        if u.first == 0x2D { u = u.dropFirst() }
        if u.first == 0x30 { u = u.dropFirst() } else if digits() == 0 { return false }
        if u.first == 0x2E {
            u = u.dropFirst()
            if digits() == 0 { return false }
        }
        if u.first == 0x65 || u.first == 0x45 {
            u = u.dropFirst()
            if u.first == 0x2B || u.first == 0x2D { u = u.dropFirst() }
            if digits() == 0 { return false }
        }
        return u.isEmpty && s.utf8.count <= 400
    }
}

/// What a document is built from: a parsed JSON line (`JSONTape`) or a typed `Record`. The builder
/// is generic over it, so both follow the same rules.
protocol DocumentSource {
    associatedtype Value
    var rootNode: Value { get }
    func kind(_ n: Value) -> JSONTape.Kind
    func member(_ n: Value, _ key: String) -> Value?
    func elements(_ n: Value) -> [Value]
    func members(_ n: Value) -> [(String, Value)]
    func string(_ n: Value) -> String
    /// A number's (or a boolean's) text as given.
    func scalarText(_ n: Value) -> String
    func number(_ n: Value) -> Double
    func bool(_ n: Value) -> Bool
    func withStringBytes<R>(_ n: Value, scratch: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R
}

extension JSONTape: DocumentSource {
    var rootNode: Int { root }
    func members(_ n: Int) -> [(String, Int)] {
        var out: [(String, Int)] = []
        forEachMember(n) { k, v in out.append((string(k), v)) }
        return out
    }
    func scalarText(_ n: Int) -> String { String(decoding: rawBytes(n), as: UTF8.self) }
}

/// A `Record` seen as a document source.
struct RecordSource: DocumentSource {
    let record: Record
    var rootNode: FieldValue { .object(record.fields) }

    func kind(_ n: FieldValue) -> JSONTape.Kind {
        switch n {
        case .null: return .null
        case .bool: return .bool
        case .number: return .number
        case .text: return .string
        case .list: return .array
        case .object: return .object
        }
    }

    func member(_ n: FieldValue, _ key: String) -> FieldValue? {
        guard case .object(let m) = n else { return nil }
        return m.last { $0.name == key }?.value
    }

    func elements(_ n: FieldValue) -> [FieldValue] {
        if case .list(let l) = n { return l }
        return []
    }

    func members(_ n: FieldValue) -> [(String, FieldValue)] {
        if case .object(let m) = n { return m.map { ($0.name, $0.value) } }
        return []
    }

    func string(_ n: FieldValue) -> String {
        if case .text(let s) = n { return s }
        return ""
    }

    func scalarText(_ n: FieldValue) -> String {
        switch n {
        case .number(let d): return d.text
        case .bool(let b): return b ? "true" : "false"
        default: return ""
        }
    }

    func number(_ n: FieldValue) -> Double {
        if case .number(let d) = n { return d.value }
        return .nan
    }

    func bool(_ n: FieldValue) -> Bool {
        if case .bool(let b) = n { return b }
        return false
    }

    func withStringBytes<R>(_ n: FieldValue, scratch: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var s = string(n)
        return try s.withUTF8 { try body($0) }
    }
}
