#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON syntax error with its byte offset (and the 1-based column, for one-line documents).
public struct JSONError: Error, CustomStringConvertible, Sendable, Equatable {
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at column \(offset + 1): \(message)" }
}

/// A parsed JSON document as a flat "tape" of nodes over the input bytes (no per-value allocation):
/// strings and numbers are byte ranges of the input, decoded only when asked for. Reusable: parsing
/// the next line reuses the node array. The input must stay alive while the tape is read.
public struct JSONTape {
    public enum Kind: UInt8, Sendable { case null, bool, number, string, array, object }

    public struct Node: Sendable {
        public var kind: Kind
        /// Strings: has backslash escapes. Bools: the value.
        public var flag: Bool
        public var start: UInt32
        public var end: UInt32
        /// Index of the first node after this value's subtree.
        public var next: UInt32
        /// Containers: number of elements (objects: key/value pairs).
        public var count: UInt32
    }

    public private(set) var nodes: [Node] = []
    private var base: UnsafePointer<UInt8> = UnsafePointer(bitPattern: 1)!
    private var length = 0
    public static let maxDepth = 64

    public init() { nodes.reserveCapacity(256) }

    /// Parses one JSON document (surrounding whitespace allowed).
    public mutating func parse(_ input: UnsafeBufferPointer<UInt8>) throws(JSONError) {
        nodes.removeAll(keepingCapacity: true)
        guard input.count < Int(UInt32.max) else { throw JSONError(offset: 0, message: "a JSON document of 4 GiB or more") }
        base = input.baseAddress ?? UnsafePointer(bitPattern: 1)!
        length = input.count
        var p = 0
        skipSpace(&p)
        try parseValue(&p, depth: 0)
        skipSpace(&p)
        if p != length { throw JSONError(offset: p, message: "unexpected \(describe(p)) after the value") }
    }

    @inline(__always) private func byte(_ p: Int) -> UInt8 { base[p] }

    private func describe(_ p: Int) -> String {
        guard p < length else { return "end of input" }
        let b = base[p]
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16))"
    }

    @inline(__always) private func skipSpace(_ p: inout Int) {
        while p < length {
            let b = base[p]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { p += 1 } else { break }
        }
    }

    private mutating func parseValue(_ p: inout Int, depth: Int) throws(JSONError) {
        guard p < length else { throw JSONError(offset: p, message: "expected a value, found end of input") }
        switch base[p] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw JSONError(offset: p, message: "nested deeper than \(Self.maxDepth)") }
            let me = nodes.count
            nodes.append(Node(kind: .object, flag: false, start: UInt32(p), end: 0, next: 0, count: 0))
            p += 1
            skipSpace(&p)
            var count: UInt32 = 0
            if p < length && base[p] == UInt8(ascii: "}") {
                p += 1
            } else {
                while true {
                    skipSpace(&p)
                    guard p < length, base[p] == UInt8(ascii: "\"") else {
                        throw JSONError(offset: p, message: "expected a string key, found \(describe(p))")
                    }
                    try parseString(&p)
                    skipSpace(&p)
                    guard p < length, base[p] == UInt8(ascii: ":") else {
                        throw JSONError(offset: p, message: "expected ':' after a key, found \(describe(p))")
                    }
                    p += 1
                    skipSpace(&p)
                    try parseValue(&p, depth: depth + 1)
                    count += 1
                    skipSpace(&p)
                    guard p < length else { throw JSONError(offset: p, message: "unterminated object") }
                    if base[p] == UInt8(ascii: ",") { p += 1; continue }
                    if base[p] == UInt8(ascii: "}") { p += 1; break }
                    throw JSONError(offset: p, message: "expected ',' or '}' in an object, found \(describe(p))")
                }
            }
            nodes[me].end = UInt32(p)
            nodes[me].count = count
            nodes[me].next = UInt32(nodes.count)
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw JSONError(offset: p, message: "nested deeper than \(Self.maxDepth)") }
            let me = nodes.count
            nodes.append(Node(kind: .array, flag: false, start: UInt32(p), end: 0, next: 0, count: 0))
            p += 1
            skipSpace(&p)
            var count: UInt32 = 0
            if p < length && base[p] == UInt8(ascii: "]") {
                p += 1
            } else {
                while true {
                    skipSpace(&p)
                    try parseValue(&p, depth: depth + 1)
                    count += 1
                    skipSpace(&p)
                    guard p < length else { throw JSONError(offset: p, message: "unterminated array") }
                    if base[p] == UInt8(ascii: ",") { p += 1; continue }
                    if base[p] == UInt8(ascii: "]") { p += 1; break }
                    throw JSONError(offset: p, message: "expected ',' or ']' in an array, found \(describe(p))")
                }
            }
            nodes[me].end = UInt32(p)
            nodes[me].count = count
            nodes[me].next = UInt32(nodes.count)
        case UInt8(ascii: "\""):
            try parseString(&p)
        case UInt8(ascii: "t"):
            try literal(&p, "true")
            nodes.append(Node(kind: .bool, flag: true, start: UInt32(p - 4), end: UInt32(p), next: UInt32(nodes.count + 1), count: 0))
        case UInt8(ascii: "f"):
            try literal(&p, "false")
            nodes.append(Node(kind: .bool, flag: false, start: UInt32(p - 5), end: UInt32(p), next: UInt32(nodes.count + 1), count: 0))
        case UInt8(ascii: "n"):
            try literal(&p, "null")
            nodes.append(Node(kind: .null, flag: false, start: UInt32(p - 4), end: UInt32(p), next: UInt32(nodes.count + 1), count: 0))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try parseNumber(&p)
        default:
            throw JSONError(offset: p, message: "expected a value, found \(describe(p))")
        }
    }

    private func literal(_ p: inout Int, _ word: StaticString) throws(JSONError) {
        let n = word.utf8CodeUnitCount
        guard p + n <= length, memcmp(base + p, word.utf8Start, n) == 0 else {
            throw JSONError(offset: p, message: "expected \(word)")
        }
        p += n
    }

    private mutating func parseString(_ p: inout Int) throws(JSONError) {
        let open = p
        p += 1
        let start = p
        var escapes = false
        while true {
            guard p < length else { throw JSONError(offset: open, message: "unterminated string") }
            let b = base[p]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                escapes = true
                p += 1
                guard p < length else { throw JSONError(offset: open, message: "unterminated string") }
                switch base[p] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    p += 1
                case UInt8(ascii: "u"):
                    guard p + 4 < length, (1...4).allSatisfy({ hexValue(base[p + $0]) != nil }) else {
                        throw JSONError(offset: p - 1, message: "bad \\u escape")
                    }
                    p += 5
                default:
                    throw JSONError(offset: p - 1, message: "bad escape \\\(describe(p))")
                }
                continue
            }
            if b < 0x20 { throw JSONError(offset: p, message: "control character in a string (escape it)") }
            p += 1
        }
        nodes.append(Node(kind: .string, flag: escapes, start: UInt32(start), end: UInt32(p), next: UInt32(nodes.count + 1), count: 0))
        p += 1
    }

    private mutating func parseNumber(_ p: inout Int) throws(JSONError) {
        let start = p
        if base[p] == UInt8(ascii: "-") { p += 1 }
        guard p < length, isDigit(base[p]) else { throw JSONError(offset: start, message: "bad number") }
        if base[p] == UInt8(ascii: "0") {
            p += 1
        } else {
            while p < length && isDigit(base[p]) { p += 1 }
        }
        if p < length && base[p] == UInt8(ascii: ".") {
            p += 1
            guard p < length, isDigit(base[p]) else { throw JSONError(offset: start, message: "bad number: digits expected after '.'") }
            while p < length && isDigit(base[p]) { p += 1 }
        }
        if p < length && (base[p] == UInt8(ascii: "e") || base[p] == UInt8(ascii: "E")) {
            p += 1
            if p < length && (base[p] == UInt8(ascii: "+") || base[p] == UInt8(ascii: "-")) { p += 1 }
            guard p < length, isDigit(base[p]) else { throw JSONError(offset: start, message: "bad number: exponent digits expected") }
            while p < length && isDigit(base[p]) { p += 1 }
            try checkRange(start, p)
        } else if p - start > 300 {
            try checkRange(start, p)
        }
        nodes.append(Node(kind: .number, flag: false, start: UInt32(start), end: UInt32(p), next: UInt32(nodes.count + 1), count: 0))
    }

    /// A number beyond `Double`'s range (`1e999`) is an error, not infinity: every consumer would
    /// otherwise have to tell infinity from a real value (re-encoded, it becomes `null`).
    private func checkRange(_ start: Int, _ end: Int) throws(JSONError) {
        var buf = [CChar](repeating: 0, count: end - start + 1)
        for k in 0..<(end - start) { buf[k] = CChar(bitPattern: base[start + k]) }
        guard strtod(buf, nil).isFinite else {
            let text = String(decoding: UnsafeBufferPointer(start: base + start, count: min(end - start, 40)), as: UTF8.self)
            throw JSONError(offset: start, message: "the number \(text)\(end - start > 40 ? "..." : "") is out of range (beyond ±1.8e308)")
        }
    }

    // MARK: - Reading

    /// Index of the root node.
    public var root: Int { 0 }

    public func kind(_ i: Int) -> Kind { nodes[i].kind }

    /// Raw bytes of a string (without quotes, escapes not decoded) or number.
    public func rawBytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let n = nodes[i]
        return UnsafeBufferPointer(start: base + Int(n.start), count: Int(n.end - n.start))
    }

    /// Children of an array: node indexes.
    public func elements(_ i: Int) -> [Int] {
        var out: [Int] = []
        guard nodes[i].kind == .array else { return out }
        var c = i + 1
        for _ in 0..<nodes[i].count {
            out.append(c)
            c = Int(nodes[c].next)
        }
        return out
    }

    /// Calls `body(keyNode, valueNode)` for each member of an object.
    public func forEachMember(_ i: Int, _ body: (Int, Int) throws -> Void) rethrows {
        guard nodes[i].kind == .object else { return }
        var c = i + 1
        for _ in 0..<nodes[i].count {
            let v = c + 1
            try body(c, v)
            c = Int(nodes[v].next)
        }
    }

    /// The value of key `key` in object `i` (the last one if repeated).
    public func member(_ i: Int, _ key: String) -> Int? {
        guard nodes[i].kind == .object else { return nil }
        var found: Int?
        var k = key
        k.withUTF8 { kb in
            var c = i + 1
            for _ in 0..<nodes[i].count {
                let v = c + 1
                let kn = nodes[c]
                if !kn.flag && Int(kn.end - kn.start) == kb.count && memcmp(base + Int(kn.start), kb.baseAddress!, kb.count) == 0 {
                    found = v
                } else if kn.flag && string(c) == key {
                    found = v
                }
                c = Int(nodes[v].next)
            }
        }
        return found
    }

    /// A string node's value (escapes decoded).
    public func string(_ i: Int) -> String {
        let n = nodes[i]
        if !n.flag { return String(decoding: rawBytes(i), as: UTF8.self) }
        var scratch: [UInt8] = []
        unescape(i, into: &scratch)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// A string node's UTF-8 bytes with escapes decoded: the input bytes directly when there are no
    /// escapes, else decoded into `scratch`.
    public func withStringBytes<R>(_ i: Int, scratch: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if !nodes[i].flag { return try body(rawBytes(i)) }
        unescape(i, into: &scratch)
        return try scratch.withUnsafeBufferPointer(body)
    }

    private func unescape(_ i: Int, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        let raw = rawBytes(i)
        var p = 0
        while p < raw.count {
            let b = raw[p]
            if b != UInt8(ascii: "\\") { out.append(b); p += 1; continue }
            p += 1
            let e = raw[p]
            p += 1
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var cp = hex4(raw, p)
                p += 4
                if cp >= 0xD800 && cp < 0xDC00, p + 6 <= raw.count, raw[p] == UInt8(ascii: "\\"), raw[p + 1] == UInt8(ascii: "u") {
                    let lo = hex4(raw, p + 2)
                    if lo >= 0xDC00 && lo < 0xE000 {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        p += 6
                    }
                }
                let scalar = Unicode.Scalar(cp) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)
            }
        }
    }

    private func hex4(_ raw: UnsafeBufferPointer<UInt8>, _ p: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | UInt32(hexValue(raw[p + k]) ?? 0) }
        return v
    }

    /// A number node's value.
    public func number(_ i: Int) -> Double {
        let raw = rawBytes(i)
        var buf = [CChar](repeating: 0, count: raw.count + 1)
        for k in 0..<raw.count { buf[k] = CChar(bitPattern: raw[k]) }
        return strtod(buf, nil)
    }

    /// An integer number node's value, if it is an integer that fits.
    public func integer(_ i: Int) -> Int? {
        let raw = rawBytes(i)
        guard raw.count > 0, raw.count < 19 else { return nil }
        var v = 0
        var neg = false
        for (k, b) in raw.enumerated() {
            if k == 0 && b == UInt8(ascii: "-") { neg = true; continue }
            guard isDigit(b) else { return nil }
            v = v * 10 + Int(b - 48)
        }
        return neg ? -v : v
    }

    public func bool(_ i: Int) -> Bool { nodes[i].flag }

    /// Materialises node `i` as a `JSONValue`.
    public func value(_ i: Int) -> JSONValue {
        switch nodes[i].kind {
        case .null: return .null
        case .bool: return .bool(nodes[i].flag)
        case .number: return .number(number(i))
        case .string: return .string(string(i))
        case .array: return .array(elements(i).map { value($0) })
        case .object:
            var out: [(String, JSONValue)] = []
            forEachMember(i) { k, v in out.append((string(k), value(v))) }
            return .object(out)
        }
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
@inline(__always) func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 48...57: return b - 48
    case 65...70: return b - 55
    case 97...102: return b - 87
    default: return nil
    }
}

/// A JSON value (for requests, schemas and small documents).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Parses a JSON text.
    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        var t = text
        var tape = JSONTape()
        var failure: JSONError?
        let v: JSONValue? = t.withUTF8 { p in
            do {
                try tape.parse(p)
                return tape.value(tape.root)
            } catch let e as JSONError {
                failure = e
                return nil
            } catch {
                return nil
            }
        }
        if let failure { throw failure }
        return v!
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let m) = self { return m.last { $0.0 == key }?.1 }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var numberValue: Double? { if case .number(let d) = self { return d }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
