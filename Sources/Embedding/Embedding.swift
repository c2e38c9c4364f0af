import Foundation

/// Text embeddings with a pretrained sentence encoder (all-MiniLM-L6-v2), run in Swift: the
/// safetensors weights, the BERT WordPiece tokenizer of its `tokenizer.json`, the encoder's forward
/// pass (matrix products through OpenBLAS), mean pooling over the attention mask and L2
/// normalisation. Knows no index and no database.
public enum EmbeddingError: Error, CustomStringConvertible, Sendable {
    /// The model's files are missing or unreadable (`aisle model install` fetches them).
    case model(String)
    /// Bad input.
    case input(String)

    public var description: String {
        switch self {
        case .model(let m), .input(let m): return m
        }
    }
}
