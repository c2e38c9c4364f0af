import Foundation
import Testing
@testable import AisleEmbedding

/// The BERT encoder on a tiny model with seeded random weights (2 layers, hidden 8, 2 heads,
/// intermediate 16, vocabulary 50), written here as config.json + model.safetensors, against a
/// naive forward pass in Double written below from the architecture's definition. The real model
/// is cross-checked against NumPy by scripts/embedding_check.py.
@Suite struct BertTests {
    // MARK: the tiny model

    struct Tiny {
        static let hidden = 8, heads = 2, layers = 2, inner = 16, vocab = 50, positions = 32, types = 2

        /// Every tensor as Hugging Face's BertModel names it, with its shape.
        var tensors: [(name: String, shape: [Int], values: [Float])] = []

        init(seed: UInt64 = 20) {
            var rng = SplitMix(seed)
            let h = Self.hidden, i = Self.inner
            func add(_ name: String, _ shape: [Int], scale: Float, around center: Float = 0) {
                let n = shape.reduce(1, *)
                tensors.append((name, shape, (0..<n).map { _ in center + scale * rng.symmetric() }))
            }
            add("embeddings.word_embeddings.weight", [Self.vocab, h], scale: 1)
            add("embeddings.position_embeddings.weight", [Self.positions, h], scale: 0.5)
            add("embeddings.token_type_embeddings.weight", [Self.types, h], scale: 0.5)
            add("embeddings.LayerNorm.weight", [h], scale: 0.3, around: 1)
            add("embeddings.LayerNorm.bias", [h], scale: 0.2)
            for l in 0..<Self.layers {
                let p = "encoder.layer.\(l)."
                for m in ["query", "key", "value"] {
                    add(p + "attention.self.\(m).weight", [h, h], scale: 0.8)
                    add(p + "attention.self.\(m).bias", [h], scale: 0.3)
                }
                add(p + "attention.output.dense.weight", [h, h], scale: 0.6)
                add(p + "attention.output.dense.bias", [h], scale: 0.2)
                add(p + "attention.output.LayerNorm.weight", [h], scale: 0.3, around: 1)
                add(p + "attention.output.LayerNorm.bias", [h], scale: 0.2)
                add(p + "intermediate.dense.weight", [i, h], scale: 0.7)
                add(p + "intermediate.dense.bias", [i], scale: 0.3)
                add(p + "output.dense.weight", [h, i], scale: 0.4)
                add(p + "output.dense.bias", [h], scale: 0.2)
                add(p + "output.LayerNorm.weight", [h], scale: 0.3, around: 1)
                add(p + "output.LayerNorm.bias", [h], scale: 0.2)
            }
            // Unused by the encoder, present in real checkpoints.
            add("pooler.dense.weight", [h, h], scale: 0.5)
            add("pooler.dense.bias", [h], scale: 0.1)
        }

        subscript(_ name: String) -> [Double] {
            tensors.first { $0.name == name }!.values.map(Double.init)
        }

        static let config = """
        {"architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": \(hidden), "intermediate_size": \(inner),
         "layer_norm_eps": 1e-12, "max_position_embeddings": \(positions), "model_type": "bert",
         "num_attention_heads": \(heads), "num_hidden_layers": \(layers), "pad_token_id": 0,
         "position_embedding_type": "absolute", "type_vocab_size": \(types), "vocab_size": \(vocab)}
        """

        /// A safetensors file of these tensors (plus an I64 `embeddings.position_ids`, as in real
        /// checkpoints), optionally with a name prefix.
        func safetensors(prefix: String = "") -> Data {
            var header: [String: Any] = ["__metadata__": ["format": "pt"]]
            var payload = Data()
            for t in tensors {
                let begin = payload.count
                for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
                header[prefix + t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [begin, payload.count]]
            }
            let begin = payload.count
            for p in 0..<Int64(Self.positions) { withUnsafeBytes(of: p.littleEndian) { payload.append(contentsOf: $0) } }
            header[prefix + "embeddings.position_ids"] = ["dtype": "I64", "shape": [1, Self.positions], "data_offsets": [begin, payload.count]]
            let json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
            var d = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { d.append(contentsOf: $0) }
            return d + json + payload
        }

        /// A model directory in a fresh temporary directory.
        func directory(config: String = Tiny.config, safetensors: Data? = nil) throws -> String {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aisle-bert-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(config.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
            try (safetensors ?? self.safetensors()).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
            return dir
        }

        /// The naive forward pass, in Double, straight from the definition of BERT: the sequence
        /// padded with id 0 to `padTo` tokens, attention masked to the real tokens (as Hugging Face
        /// does, with a large negative score), then the mean of the last states over the real
        /// tokens (over all of them with `poolPadding`), L2-normalised.
        func reference(_ ids: [Int32], padTo: Int? = nil, poolPadding: Bool = false) -> [Double] {
            let h = Self.hidden, d = h / Self.heads
            let n = ids.count, total = max(n, padTo ?? n)
            let tokens = ids.map(Int.init) + Array(repeating: 0, count: total - n)
            let mask = (0..<total).map { $0 < n }

            func linear(_ x: [[Double]], _ name: String, inputs: Int, outputs: Int) -> [[Double]] {
                let w = self[name + ".weight"], b = self[name + ".bias"]
                return x.map { row in
                    (0..<outputs).map { o in
                        var s = b[o]
                        for i in 0..<inputs { s += w[o * inputs + i] * row[i] }
                        return s
                    }
                }
            }
            func layerNorm(_ v: [Double], _ name: String) -> [Double] {
                let g = self[name + ".weight"], b = self[name + ".bias"]
                let mean = v.reduce(0, +) / Double(v.count)
                let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
                return v.indices.map { (v[$0] - mean) / (variance + 1e-12).squareRoot() * g[$0] + b[$0] }
            }

            let word = self["embeddings.word_embeddings.weight"], pos = self["embeddings.position_embeddings.weight"]
            let type = self["embeddings.token_type_embeddings.weight"]
            var x: [[Double]] = (0..<total).map { p in
                layerNorm((0..<h).map { word[tokens[p] * h + $0] + pos[p * h + $0] + type[$0] }, "embeddings.LayerNorm")
            }
            for l in 0..<Self.layers {
                let p = "encoder.layer.\(l)."
                let q = linear(x, p + "attention.self.query", inputs: h, outputs: h)
                let k = linear(x, p + "attention.self.key", inputs: h, outputs: h)
                let v = linear(x, p + "attention.self.value", inputs: h, outputs: h)
                var context = Array(repeating: Array(repeating: 0.0, count: h), count: total)
                for head in 0..<Self.heads {
                    for i in 0..<total {
                        var scores = (0..<total).map { j -> Double in
                            var s = 0.0
                            for c in 0..<d { s += q[i][head * d + c] * k[j][head * d + c] }
                            return s / Double(d).squareRoot() + (mask[j] ? 0 : -1e9)
                        }
                        let top = scores.max()!
                        scores = scores.map { Foundation.exp($0 - top) }
                        let sum = scores.reduce(0, +)
                        for j in 0..<total {
                            for c in 0..<d { context[i][head * d + c] += scores[j] / sum * v[j][head * d + c] }
                        }
                    }
                }
                let attended = linear(context, p + "attention.output.dense", inputs: h, outputs: h)
                x = (0..<total).map { layerNorm(zip(x[$0], attended[$0]).map(+), p + "attention.output.LayerNorm") }
                let inner = linear(x, p + "intermediate.dense", inputs: h, outputs: Self.inner).map { row in
                    row.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }
                }
                let out = linear(inner, p + "output.dense", inputs: Self.inner, outputs: h)
                x = (0..<total).map { layerNorm(zip(x[$0], out[$0]).map(+), p + "output.LayerNorm") }
            }
            var pooled = Array(repeating: 0.0, count: h)
            let pooledRows = (0..<total).filter { poolPadding || mask[$0] }
            for p in pooledRows { for c in 0..<h { pooled[c] += x[p][c] / Double(pooledRows.count) } }
            let norm = pooled.map { $0 * $0 }.reduce(0, +).squareRoot()
            return pooled.map { $0 / norm }
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [-1, 1).
        mutating func symmetric() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func cosine(_ a: [Float], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += Double(a[i]) * b[i]
            na += Double(a[i]) * Double(a[i])
            nb += b[i] * b[i]
        }
        return dot / (na * nb).squareRoot()
    }

    /// Sequences of the given lengths: [CLS]=1 … [SEP]=2 around random ids, as a tokenizer gives.
    static func sequences(_ lengths: [Int], seed: UInt64 = 7) -> [[Int32]] {
        var rng = SplitMix(seed)
        return lengths.map { n in
            if n == 1 { return [Int32(rng.below(Tiny.vocab))] }
            return [1] + (0..<(n - 2)).map { _ in Int32(rng.below(Tiny.vocab)) } + [2]
        }
    }

    static func withTiny<T>(_ body: (BertEncoder, Tiny) throws -> T) throws -> T {
        let tiny = Tiny()
        let dir = try tiny.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(BertEncoder(directory: dir), tiny)
    }

    // MARK: the forward pass

    @Test func loadsTheConfig() throws {
        try Self.withTiny { enc, _ in
            let want = try BertConfig(hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, vocabSize: 50,
                                      maxPositions: 32, typeVocabSize: 2, layerNormEps: 1e-12)
            #expect(enc.config == want)
            #expect(enc.dimensions == 8)
        }
    }

    @Test func matchesTheNaiveForwardPass() throws {
        try Self.withTiny { enc, tiny in
            let seqs = Self.sequences([1, 2, 3, 5, 9, 16, 31, 32], seed: 11) + [[1, 2], [1, 49, 0, 0, 2], [1, 7, 7, 7, 7, 2]]
            for seq in seqs {
                let got = try enc.embed([seq])[0]
                let want = tiny.reference(seq)
                #expect(got.count == 8)
                let c = Self.cosine(got, want)
                #expect(c >= 0.99999, "cosine \(c) for \(seq)")
                #expect(zip(got, want).allSatisfy { abs(Double($0) - $1) < 1e-4 }, "\(got) vs \(want)")
            }
            // The whole batch at once gives the same.
            let batch = try enc.embed(seqs)
            for (seq, got) in zip(seqs, batch) { #expect(Self.cosine(got, tiny.reference(seq)) >= 0.99999) }
        }
    }

    @Test func differentTextsGiveDifferentVectors() throws {
        // A check that the tiny model is not degenerate (or the comparisons above would prove little).
        try Self.withTiny { enc, _ in
            let v = try enc.embed(Self.sequences([6, 6, 6, 12], seed: 3))
            for i in v.indices { for j in v.indices where j > i {
                let c = Self.cosine(v[i], v[j].map(Double.init))
                #expect(c < 0.99, "vectors \(i) and \(j) have cosine \(c)")
            } }
        }
    }

    @Test func batchingAndOrderDoNotChangeAnyVector() throws {
        try Self.withTiny { enc, _ in
            var rng = SplitMix(5)
            // Enough tokens for several passes (tokensPerPass), lengths all different and mixed.
            var lengths = (1...32).map { $0 } + (0..<130).map { _ in 1 + rng.below(32) }
            #expect(lengths.reduce(0, +) > 2 * BertEncoder.tokensPerPass)
            lengths.shuffle(using: &rng)
            let seqs = Self.sequences(lengths, seed: 9)
            let alone = try seqs.map { try enc.embed([$0])[0] }
            let together = try enc.embed(seqs)
            #expect(together.count == seqs.count)
            let reversed = Array(try enc.embed(Array(seqs.reversed())).reversed())
            for i in seqs.indices {
                for other in [together[i], reversed[i]] {
                    #expect(zip(alone[i], other).allSatisfy { abs($0 - $1) <= 1e-6 }, "sequence \(i) (\(seqs[i].count) tokens): \(alone[i]) vs \(other)")
                }
            }
            // Small batches of neighbours too.
            for start in stride(from: 0, to: seqs.count, by: 3) {
                let part = Array(seqs[start..<min(seqs.count, start + 3)])
                for (k, v) in try enc.embed(part).enumerated() {
                    #expect(zip(alone[start + k], v).allSatisfy { abs($0 - $1) <= 1e-6 })
                }
            }
            let none = try enc.embed([[Int32]]())
            #expect(none.isEmpty)
        }
    }

    @Test func outputsAreUnitLength() throws {
        try Self.withTiny { enc, _ in
            for v in try enc.embed(Self.sequences([1, 2, 4, 8, 17, 32], seed: 13)) {
                let norm = v.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
                #expect(abs(norm - 1) < 1e-5, "norm \(norm)")
            }
        }
    }

    @Test func meanPoolingIgnoresPadding() throws {
        try Self.withTiny { enc, tiny in
            for seq in Self.sequences([3, 5, 10], seed: 17) {
                // The reference itself: padding under the attention mask and left out of the pooling
                // changes nothing, which is what an unpadded sequence computes.
                let unpadded = tiny.reference(seq)
                let masked = tiny.reference(seq, padTo: 32)
                #expect(zip(unpadded, masked).allSatisfy { abs($0 - $1) < 1e-9 })
                let got = try enc.embed([seq])[0]
                #expect(Self.cosine(got, masked) >= 0.99999)
                // Pooling over the padding too (the tokenizer pads to 128) gives another vector.
                let overPadding = tiny.reference(seq, padTo: 32, poolPadding: true)
                #expect(Self.cosine(got, overPadding) < 0.999, "pooling over padding should differ")
            }
            // Batched with a much longer sequence, a short one is unchanged.
            let short = Self.sequences([4], seed: 19)[0], long = Self.sequences([32], seed: 23)[0]
            let pair = try enc.embed([short, long])
            let alone = try enc.embed([short])[0]
            #expect(zip(pair[0], alone).allSatisfy { abs($0 - $1) <= 1e-6 })
            #expect(Self.cosine(pair[0], tiny.reference(short)) >= 0.99999)
        }
    }

    @Test func concurrentCallsAgree() throws {
        try Self.withTiny { enc, _ in
            let seqs = Self.sequences((1...32).map { $0 }, seed: 29)
            let want = try enc.embed(seqs)
            final class Box: @unchecked Sendable {
                let lock = NSLock()
                var mismatches = 0
            }
            let box = Box()
            DispatchQueue.concurrentPerform(iterations: 16) { i in
                let part = i % 2 == 0 ? seqs : seqs.reversed()
                let got = (try? enc.embed(part)) ?? []
                let aligned = i % 2 == 0 ? got : got.reversed()
                let same = aligned.count == want.count && zip(aligned, want).allSatisfy { zip($0, $1).allSatisfy { abs($0 - $1) <= 1e-6 } }
                if !same { box.lock.withLock { box.mismatches += 1 } }
            }
            #expect(box.mismatches == 0)
        }
    }

    @Test func acceptsABertPrefix() throws {
        let tiny = Tiny()
        let dir = try tiny.directory(safetensors: tiny.safetensors(prefix: "bert."))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let enc = try BertEncoder(directory: dir)
        let seq = Self.sequences([7], seed: 31)[0]
        let got = try enc.embed([seq])[0]
        #expect(Self.cosine(got, tiny.reference(seq)) >= 0.99999)
    }

    @Test func fastErfIsCloseToErf() {
        var worst = 0.0
        for i in -100_000...100_000 {
            let x = Double(i) / 10_000
            worst = max(worst, abs(Double(BertEncoder.fastErf(Float(x))) - Foundation.erf(x)))
        }
        #expect(worst < 1e-6, "max error \(worst)")
        #expect(BertEncoder.fastErf(.infinity) == 1 && BertEncoder.fastErf(-.infinity) == -1)
    }

    // MARK: errors

    static func fails(_ says: [String], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("no error; expected one saying \(says)")
        } catch {
            for s in says { #expect("\(error)".contains(s), "\(error)") }
        }
    }

    @Test func aMissingTensorIsAClearError() throws {
        var tiny = Tiny()
        tiny.tensors.removeAll { $0.name == "encoder.layer.1.output.dense.bias" }
        let dir = try tiny.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Self.fails(["no tensor encoder.layer.1.output.dense.bias", "model.safetensors"]) { _ = try BertEncoder(directory: dir) }
    }

    @Test func aShapeMismatchIsAClearError() throws {
        var tiny = Tiny()
        let i = tiny.tensors.firstIndex { $0.name == "encoder.layer.0.intermediate.dense.weight" }!
        tiny.tensors[i].shape = [8, 16]   // transposed: the same count, the wrong shape
        let dir = try tiny.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Self.fails(["encoder.layer.0.intermediate.dense.weight", "[8, 16]", "needs [16, 8]"]) { _ = try BertEncoder(directory: dir) }

        // A config that disagrees with the weights.
        let dir2 = try Tiny().directory(config: Tiny.config.replacingOccurrences(of: "\"vocab_size\": 50", with: "\"vocab_size\": 60"))
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        Self.fails(["embeddings.word_embeddings.weight", "[50, 8]", "needs [60, 8]"]) { _ = try BertEncoder(directory: dir2) }
    }

    @Test func badConfigsAreClearErrors() throws {
        let tiny = Tiny()
        func check(_ config: String, _ says: String) throws {
            let dir = try tiny.directory(config: config)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            Self.fails([says]) { _ = try BertEncoder(directory: dir) }
        }
        try check(Tiny.config.replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3"),
                  "hidden_size 8 is not a multiple of num_attention_heads 3")
        try check(Tiny.config.replacingOccurrences(of: "\"gelu\"", with: "\"relu\""), "hidden_act relu is not supported")
        try check(Tiny.config.replacingOccurrences(of: "\"hidden_size\": 8,", with: ""), "hidden_size is missing")
        try check(Tiny.config.replacingOccurrences(of: "\"hidden_size\": 8", with: "\"hidden_size\": \"8\""), "hidden_size is not an integer")
        try check("[]", "is not a JSON object")
        Self.fails(["cannot read", "config.json", "aisle model install"]) { _ = try BertEncoder(directory: "/nonexistent/aisle-model") }
        let noWeights = try tiny.directory()
        defer { try? FileManager.default.removeItem(atPath: noWeights) }
        try FileManager.default.removeItem(atPath: noWeights + "/model.safetensors")
        Self.fails(["cannot read", "model.safetensors"]) { _ = try BertEncoder(directory: noWeights) }
    }

    @Test func badInputIsAClearError() throws {
        try Self.withTiny { enc, _ in
            Self.fails(["token sequence 1 is empty"]) { _ = try enc.embed([[1, 2], []]) }
            Self.fails(["id 50", "outside the vocabulary (0..<50)"]) { _ = try enc.embed([[1, 50, 2]]) }
            Self.fails(["id -1", "outside the vocabulary"]) { _ = try enc.embed([[1, -1, 2]]) }
            Self.fails(["33 tokens", "at most 32"]) { _ = try enc.embed([Array(repeating: 5, count: 33)]) }
            // Nothing was half-done: the encoder still works.
            let after = try enc.embed([[1, 5, 2]])
            #expect(after.count == 1)
        }
    }

    // MARK: the real model, when installed

    static let modelDirectory: String? = {
        let env = ProcessInfo.processInfo.environment
        let dir = env["AISLE_MODEL_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"] ?? NSHomeDirectory()) + "/.cache/aisle/models/all-MiniLM-L6-v2"
        return FileManager.default.fileExists(atPath: dir + "/model.safetensors")
            && FileManager.default.fileExists(atPath: dir + "/tokenizer.json") ? dir : nil
    }()

    @Test(.enabled(if: modelDirectory != nil, "all-MiniLM-L6-v2 is not installed (aisle model install): real-model checks skipped"))
    func theRealModel() throws {
        let enc = try SentenceEncoder(directory: Self.modelDirectory!)
        #expect(enc.dimensions == 384 && enc.maxTokens == 128)
        let texts = ["wall lights", "wall sconce with glass shade", "paint roller tray", "", "Ünïcödé lamp 💡"]
        let batch = try enc.embed(texts)
        for (t, v) in zip(texts, batch) {
            #expect(v.count == 384)
            #expect(abs(v.map { $0 * $0 }.reduce(0, +) - 1) < 1e-4)
            let alone = try enc.embed(t)
            #expect(zip(v, alone).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
        func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map(*).reduce(0, +) }
        // The point of the model: a sconce is a wall light, a roller tray is not.
        #expect(dot(batch[0], batch[1]) > dot(batch[0], batch[2]) + 0.1)
    }
}
