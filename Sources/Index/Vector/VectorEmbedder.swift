import Synchronization

/// Turns text into unit vectors for a vector field. The index knows no model: the program
/// registers one under the name a field's `model` gives (`VectorModels.register`), and segment
/// writers embed documents' text with it, in batches, when the documents are added.
public protocol VectorEmbedder: Sendable {
    /// The length of every vector.
    var dimensions: Int { get }
    /// One unit vector per text, in order. Called with batches of documents' text.
    func embed(_ texts: [String]) throws -> [[Float]]
    /// A query's vector (an implementation may cache them).
    func embedQuery(_ text: String) throws -> [Float]
}

extension VectorEmbedder {
    public func embedQuery(_ text: String) throws -> [Float] { try embed([text])[0] }
}

/// The models vector fields can name, loaded on first use and then shared by every writer and
/// searcher of the process.
public enum VectorModels {
    public typealias Loader = @Sendable () throws -> any VectorEmbedder

    private struct State {
        var loaders: [String: Loader] = [:]
        var loaded: [String: any VectorEmbedder] = [:]
    }

    private static let state = Mutex(State())

    /// Makes `name` available; `load` runs once, when a field first needs the model.
    public static func register(_ name: String, load: @escaping Loader) {
        state.withLock {
            $0.loaders[name] = load
            $0.loaded[name] = nil
        }
    }

    /// Makes `name` available as an already loaded embedder (tests).
    public static func register(_ name: String, embedder: any VectorEmbedder) {
        state.withLock {
            $0.loaders[name] = { embedder }
            $0.loaded[name] = embedder
        }
    }

    public static func isRegistered(_ name: String) -> Bool { state.withLock { $0.loaders[name] != nil } }

    /// The embedder of `name`, loading it on first use. `field` names the vector field in errors.
    public static func embedder(_ name: String, field: String, dims: Int) throws -> any VectorEmbedder {
        if let e = state.withLock({ $0.loaded[name] }) { return try check(e, name, field, dims) }
        guard let load = state.withLock({ $0.loaders[name] }) else {
            throw IndexError.schema("vector field \(field) needs the model \(name), which this program does not know")
        }
        let e: any VectorEmbedder
        do { e = try load() } catch {
            throw IndexError.schema("vector field \(field) needs the model \(name), which could not be loaded: \(error)")
        }
        state.withLock { if $0.loaded[name] == nil { $0.loaded[name] = e } }
        return try check(e, name, field, dims)
    }

    private static func check(_ e: any VectorEmbedder, _ name: String, _ field: String, _ dims: Int) throws -> any VectorEmbedder {
        guard e.dimensions == dims else {
            throw IndexError.schema("vector field \(field) has \(dims) dims, but the model \(name) makes vectors of \(e.dimensions)")
        }
        return e
    }
}
