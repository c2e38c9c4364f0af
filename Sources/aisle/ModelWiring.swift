import Foundation
import AisleEmbedding
import AisleIndex

/// The sentence encoder as the index's embedder for vector fields: documents are embedded in the
/// batches the segment writers hand over; queries go through the query embedding cache.
final class SentenceEmbedder: VectorEmbedder {
    let encoder: SentenceEncoder
    let cache: EmbeddingCache

    init(directory: String) throws {
        encoder = try SentenceEncoder.installed(at: directory)
        cache = EmbeddingCache(encoder: encoder, capacity: 100_000)
    }

    var dimensions: Int { encoder.dimensions }
    func embed(_ texts: [String]) throws -> [[Float]] { try encoder.embed(texts) }
    func embedQuery(_ text: String) throws -> [Float] { try cache.embed(text) }
}

enum ModelWiring {
    /// Makes all-MiniLM-L6-v2 available to vector fields (loaded from the model cache, or
    /// $AISLE_MODEL_DIR, the first time a field needs it).
    static func register() {
        VectorModels.register(ModelFiles.name) { try SentenceEmbedder(directory: ModelFiles.directory(nil)) }
    }
}
