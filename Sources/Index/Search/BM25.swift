/// BM25F as Aisle computes it: per-field BM25, weighted by the field's boost, summed over fields
/// and query terms.
///
///     score(d, q) = Σ_t∈q Σ_f boost_q · boost_f · idf_f(t) · (k1 + 1) · tf / (tf + k1 · (1 − b + b · len_f(d) / avglen_f))
///     idf_f(t)    = ln(1 + (N − df_f(t) + 0.5) / (df_f(t) + 0.5))
///
/// where tf is the frequency of t in field f of d, len_f(d) the field's length in tokens (decoded
/// from its one-byte norm, `FieldNorm`), avglen_f the mean length over documents that have the
/// field, df_f(t) the number of documents with t in field f, and N the number of documents, all over
/// the whole index (every segment). For speed the per-field term is computed as
/// `W / (1 + K(len) / tf)` with `W = boost_q · boost_f · idf · (k1 + 1)` and
/// `K(len) = k1 · (1 − b + b · len / avglen_f)`, which is the same value; this form is monotone in
/// tf and len, so block upper bounds computed from (max tf, min len) are true bounds.
public struct BM25Statistics: Sendable {
    public let parameters: BM25Parameters
    /// Documents in the index.
    public let docCount: Int
    /// Per text field (schema order of text fields): average length.
    public let averageLength: [Float]
    /// Per text field: K for each norm code.
    let kTables: [[Float]]

    public init(parameters: BM25Parameters, docCount: Int, fieldStats: [FieldStats]) {
        self.parameters = parameters
        self.docCount = docCount
        averageLength = fieldStats.map(\.averageLength)
        let k1 = parameters.k1, b = parameters.b
        kTables = averageLength.map { avg in
            (0..<256).map { code in
                k1 * (1 - b + b * Float(FieldNorm.decode(UInt8(code))) / avg)
            }
        }
    }

    /// idf of a term with document frequency `df` in a field.
    @inline(__always) public func idf(_ df: UInt64) -> Float {
        let n = Double(docCount), d = Double(df)
        return Float((1 + (n - d + 0.5) / (d + 0.5)).log())
    }

    public func k(textField: Int, normCode: UInt8) -> Float { kTables[textField][Int(normCode)] }
}

/// One field's contribution: `w / (1 + k / tf)`, 0 when tf is 0.
@inline(__always) public func bm25Contribution(weight w: Float, k: Float, tf: UInt32) -> Float {
    tf == 0 ? 0 : w / (1 + k / Float(tf))
}

/// Upper bound of a field's contribution given the max tf (255 = saturated, meaning any tf) and the K
/// of the shortest field in the block.
@inline(__always) func bm25Bound(weight w: Float, kMin: Float, maxTf: UInt8) -> Float {
    if maxTf == 0 { return 0 }
    if maxTf == 255 { return w }
    return w / (1 + kMin / Float(maxTf))
}

extension Double {
    @inline(__always) func log() -> Double {
        #if canImport(Glibc)
        return Glibc.log(self)
        #else
        return Darwin.log(self)
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
