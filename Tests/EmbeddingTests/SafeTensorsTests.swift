import Foundation
import Testing
@testable import AisleEmbedding

/// The safetensors reader on files written here byte by byte: values, shapes, F16/BF16 widening,
/// and clear errors for truncated or inconsistent files.
@Suite struct SafeTensorsTests {
    static func file(_ header: String, _ payload: [UInt8]) -> Data {
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: payload)
        return d
    }

    @Test func readsF32F16AndBF16() throws {
        let f32: [Float] = [1.5, -2, 0.25, 1e-3, 3, 4]
        var payload: [UInt8] = []
        for v in f32 { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        let f16: [Float16] = [0.5, -1.25]
        for v in f16 { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        let bf: [Float] = [2.0, -0.75]   // exact in bfloat16
        for v in bf { withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { payload.append(contentsOf: $0) } }
        let header = #"{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, "h": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]}, "b": {"dtype": "BF16", "shape": [2], "data_offsets": [28, 32]}}"#
        let st = try SafeTensors(data: Self.file(header, payload))
        #expect(st.metadata["format"] == "pt")
        let a = try st.floats("a")
        #expect(a.shape == [2, 3] && a.values == f32)
        #expect(try st.floats("h").values == [0.5, -1.25])
        #expect(try st.floats("b").values == bf)
        #expect(throws: EmbeddingError.self) { try st.floats("missing") }
    }

    @Test func badFilesAreClearErrors() {
        func fails(_ d: Data, _ says: String) {
            do {
                _ = try SafeTensors(data: d, name: "m")
                Issue.record("no error for \(says)")
            } catch {
                #expect("\(error)".contains(says), "\(error)")
            }
        }
        fails(Data([1, 2, 3]), "shorter than")
        fails(Self.file(String(repeating: " ", count: 100), []).prefix(10), "header length 100 does not fit")
        fails(Self.file("[1]", []), "not a JSON object")
        fails(Self.file(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, [0, 0, 0, 0]), "outside the data")
        fails(Self.file(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, Array(repeating: 0, count: 8)), "8 bytes for 3 F32")
        fails(Self.file(#"{"a": {"dtype": "F32"}}"#, []), "no dtype, shape and data_offsets")
    }
}
