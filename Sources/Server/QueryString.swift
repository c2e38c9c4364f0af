/// URL query-string parsing (`a=1&b=x+y&b=%C3%A9`) with clear errors for bad escapes.
struct QueryString {
    var pairs: [(String, String)] = []

    init(_ query: String?) throws {
        guard let query, !query.isEmpty else { return }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = try Self.decode(kv[0])
            let v = kv.count > 1 ? try Self.decode(kv[1]) : ""
            pairs.append((k, v))
        }
    }

    static func decode(_ s: Substring, plusIsSpace: Bool = true) throws -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "+") && plusIsSpace {
                bytes.append(0x20)
            } else if b == UInt8(ascii: "%") {
                guard it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) else {
                    throw APIError.badRequest("malformed percent escape in the query string near \"\(s.prefix(40))\"")
                }
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        guard let str = String(validating: bytes, as: UTF8.self) else {
            throw APIError.badRequest("the query string is not valid UTF-8")
        }
        return str
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }

    func all(_ k: String) -> [String] { pairs.filter { $0.0 == k }.map { $0.1 } }

    func one(_ k: String) throws -> String? {
        let v = all(k)
        guard v.count <= 1 else { throw APIError.badRequest("parameter \(k) is given \(v.count) times; it takes one value") }
        return v.first
    }

    func int(_ k: String, range: ClosedRange<Int>) throws -> Int? {
        guard let s = try one(k), !s.isEmpty else { return nil }
        guard let n = Int(s), range.contains(n) else {
            throw APIError.badRequest("parameter \(k) must be an integer from \(range.lowerBound) to \(range.upperBound), got \"\(s.prefix(40))\"")
        }
        return n
    }

    func number(_ k: String) throws -> Double? {
        guard let s = try one(k), !s.isEmpty else { return nil }
        guard let n = Double(s), n.isFinite else { throw APIError.badRequest("parameter \(k) must be a number, got \"\(s.prefix(40))\"") }
        return n
    }
}

/// An error answered as `{"error": "..."}` with a status.
struct APIError: Error {
    var status: Int
    var message: String
    static func badRequest(_ m: String) -> APIError { APIError(status: 400, message: m) }
    static func notFound(_ m: String) -> APIError { APIError(status: 404, message: m) }
}
