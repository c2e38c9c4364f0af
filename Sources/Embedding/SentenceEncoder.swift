import Foundation

/// Text in, unit vectors out: the model's WordPiece tokenizer, then `BertEncoder` (forward pass,
/// mean pooling over each text's own tokens, L2 normalisation). Cosine similarity of two vectors
/// is their dot product.
///
/// Thread-safe: one encoder (about 90 MB of weights, loaded once) serves every thread. Each
/// `embed` call runs in its calling thread only (OpenBLAS is set to one thread), so callers get
/// throughput by embedding several batches at once, one per core.
public final class SentenceEncoder: Sendable {
    /// The length of every vector (384 for all-MiniLM-L6-v2).
    public let dimensions: Int
    /// Texts are truncated to this many tokens, [CLS] and [SEP] included.
    public let maxTokens: Int
    public let tokenizer: WordPieceTokenizer
    public let model: BertEncoder

    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from a model directory.
    /// `maxTokens` defaults to the truncation length of `tokenizer.json` (128 for
    /// all-MiniLM-L6-v2), else 128; it is at most the model's position count.
    public init(directory: String, maxTokens: Int? = nil) throws {
        let model = try BertEncoder(directory: directory)
        let tokenizer = try WordPieceTokenizer(path: directory + "/tokenizer.json")
        guard tokenizer.vocabularySize <= model.config.vocabSize else {
            throw EmbeddingError.model("\(directory): tokenizer.json has \(tokenizer.vocabularySize) ids, but the model's vocabulary has \(model.config.vocabSize)")
        }
        let limit = maxTokens ?? min(tokenizer.configuredMaxLength ?? 128, model.config.maxPositions)
        guard limit >= 2, limit <= model.config.maxPositions else {
            throw EmbeddingError.input("maxTokens \(limit) is outside 2...\(model.config.maxPositions)")
        }
        self.model = model
        self.tokenizer = tokenizer
        self.maxTokens = limit
        self.dimensions = model.dimensions
    }

    /// One unit vector per text, in order. Pass many texts at once: a batch is one set of large
    /// matrix products (and no padding is computed, whatever the texts' lengths).
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try model.embed(texts.map { tokenizer.encode($0, maxLength: maxTokens) })
    }

    /// One text's vector.
    public func embed(_ text: String) throws -> [Float] {
        try embed([text])[0]
    }
}

extension SentenceEncoder {
    /// The model installed in `directory`, its files checked first (a missing or partial install
    /// is named, with how to install it).
    public static func installed(at directory: String) throws -> SentenceEncoder {
        try ModelFiles.check(directory)
        return try SentenceEncoder(directory: directory)
    }
}
