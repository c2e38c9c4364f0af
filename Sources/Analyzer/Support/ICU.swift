import CICUShim

/// Swift helpers over the `CICUShim` C functions.
enum ICU {
    /// `U_BUFFER_OVERFLOW_ERROR`.
    static let bufferOverflow: Int32 = 15

    /// The ICU library version, e.g. "72.1".
    static var version: String {
        var buffer = [CChar](repeating: 0, count: 32)
        cicu_version(&buffer, Int32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The symbolic name of an ICU error code.
    static func errorName(_ code: Int32) -> String { String(cString: cicu_error_name(code)) }

    /// Throws an ``AnalyzerError`` if `code` is an ICU failure (> 0).
    static func check(_ code: Int32, _ operation: String) throws {
        if code > 0 { throw AnalyzerError(.icu(operation: operation, code: code, codeName: errorName(code))) }
    }

    /// Runs a C function of the shape `f(src, len, dst, cap, &err) -> needed` over `term` and replaces `term` with its
    /// output, retrying once with the capacity it asks for. On an ICU failure `term` is left unchanged.
    static func transform(_ term: inout [UInt8],
                          _ body: (UnsafePointer<UInt8>?, Int32, UnsafeMutablePointer<UInt8>?, Int32,
                                   UnsafeMutablePointer<Int32>) -> Int32) {
        guard !term.isEmpty, term.count < Int(Int32.max) / 4 else { return }
        var capacity = term.count * 2 + 16
        for _ in 0..<3 {
            let retryCapacity = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { out -> Int in
                var err: Int32 = 0
                let needed = term.withUnsafeBufferPointer { src in
                    body(src.baseAddress, Int32(src.count), out.baseAddress, Int32(out.count), &err)
                }
                if err == bufferOverflow { return Int(needed) + 1 }
                if err > 0 || needed < 0 || Int(needed) > out.count { return 0 }   // failure: keep the term
                term.removeAll(keepingCapacity: true)
                term.append(contentsOf: UnsafeBufferPointer(rebasing: out[0..<Int(needed)]))
                return 0
            }
            guard retryCapacity > 0 else { return }
            capacity = retryCapacity
        }
    }
}
