import Foundation

/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then the data. Read
/// whole into memory (the model is 90 MB); tensors are copied out as `[Float]`.
public struct SafeTensors: Sendable {
    public struct Info: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        public var begin: Int
        public var end: Int
    }

    public let tensors: [String: Info]
    public let metadata: [String: String]
    let data: Data
    let dataStart: Int

    /// The largest header accepted (the format's own limit is 100 MB).
    public static let maxHeader = 100 << 20

    public init(path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else { throw EmbeddingError.model("cannot read \(path)") }
        try self.init(data: d, name: path)
    }

    public init(data d: Data, name: String = "safetensors") throws {
        guard d.count >= 8 else { throw EmbeddingError.model("\(name): shorter than its 8-byte header length") }
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = n << 8 | UInt64(d[d.startIndex + i]) }
        guard n <= UInt64(Self.maxHeader), Int(n) <= d.count - 8 else {
            throw EmbeddingError.model("\(name): header length \(n) does not fit the file (\(d.count) bytes)")
        }
        let header = d.subdata(in: (d.startIndex + 8)..<(d.startIndex + 8 + Int(n)))
        guard let obj = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw EmbeddingError.model("\(name): the header is not a JSON object")
        }
        let dataBytes = d.count - 8 - Int(n)
        var tensors: [String: Info] = [:]
        var metadata: [String: String] = [:]
        for (k, v) in obj {
            if k == "__metadata__" {
                for (mk, mv) in (v as? [String: Any]) ?? [:] { metadata[mk] = mv as? String ?? "\(mv)" }
                continue
            }
            guard let t = v as? [String: Any], let dtype = t["dtype"] as? String, let shape = t["shape"] as? [Int],
                  let offs = t["data_offsets"] as? [Int], offs.count == 2 else {
                throw EmbeddingError.model("\(name): tensor \(k) has no dtype, shape and data_offsets")
            }
            guard offs[0] >= 0, offs[0] <= offs[1], offs[1] <= dataBytes else {
                throw EmbeddingError.model("\(name): tensor \(k) lies outside the data (\(offs) of \(dataBytes) bytes)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw EmbeddingError.model("\(name): tensor \(k) has a negative dimension") }
            let count = shape.reduce(1, *)
            let width = Self.width(dtype)
            if let width, count * width != offs[1] - offs[0] {
                throw EmbeddingError.model("\(name): tensor \(k) has \(offs[1] - offs[0]) bytes for \(count) \(dtype) values")
            }
            tensors[k] = Info(dtype: dtype, shape: shape, begin: offs[0], end: offs[1])
        }
        self.tensors = tensors
        self.metadata = metadata
        self.data = d
        self.dataStart = d.startIndex + 8 + Int(n)
    }

    static func width(_ dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": return 8
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "I8", "U8", "BOOL": return 1
        default: return nil
        }
    }

    /// A tensor's values as Float (F32 as stored; F16 and BF16 widened), with its shape.
    public func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        guard let t = tensors[name] else { throw EmbeddingError.model("no tensor \(name) in the model") }
        let count = t.shape.reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        let start = dataStart + t.begin
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.baseAddress!.advanced(by: start - data.startIndex)
            switch t.dtype {
            case "F32":
                out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: base, count: count * 4)) }
                #if _endian(big)
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
                #endif
            case "F16":
                for i in 0..<count {
                    let bits = UInt16(base.load(fromByteOffset: i * 2, as: UInt8.self)) | UInt16(base.load(fromByteOffset: i * 2 + 1, as: UInt8.self)) << 8
                    out[i] = Float(Float16(bitPattern: bits))
                }
            case "BF16":
                for i in 0..<count {
                    let bits = UInt32(base.load(fromByteOffset: i * 2, as: UInt8.self)) | UInt32(base.load(fromByteOffset: i * 2 + 1, as: UInt8.self)) << 8
                    out[i] = Float(bitPattern: bits << 16)
                }
            default:
                throw EmbeddingError.model("tensor \(name) is \(t.dtype); only F32, F16 and BF16 are read")
            }
        }
        return (t.shape, out)
    }
}
