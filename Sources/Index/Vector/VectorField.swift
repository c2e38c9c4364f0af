import Foundation
import Synchronization

/// The vectors of one vector field in a segment being written: documents' text waits in a batch
/// until `batchSize` texts are there (or the segment is flushed), then the field's model embeds
/// the batch at once. Nodes are the documents that have a vector, in document order.
final class VectorFieldBuilder {
    static let batchSize = 256

    let field: Int
    let definition: FieldDefinition
    let dims: Int
    /// Node -> document.
    private(set) var docs: [Int32] = []
    /// `docs.count × dims` values; rows of texts not yet embedded are zeros.
    private(set) var values: [Float] = []
    private var pending: [(node: Int, text: String)] = []
    private var embedder: (any VectorEmbedder)?

    init(field: Int, definition: FieldDefinition) {
        self.field = field
        self.definition = definition
        self.dims = definition.dims ?? 0
    }

    var count: Int { docs.count }
    var memoryBytes: Int { values.capacity * 4 + docs.capacity * 4 + pending.count * 64 }

    /// The field's model (loaded on first use; an error names the field and the model).
    func resolveEmbedder() throws -> any VectorEmbedder {
        if let e = embedder { return e }
        let e = try VectorModels.embedder(definition.vectorModel, field: definition.name, dims: dims)
        embedder = e
        return e
    }

    /// Checks a given vector; returns it at unit length.
    static func normalised(_ v: [Float], dims: Int, field: String) throws -> [Float] {
        guard v.count == dims else {
            throw IndexError.invalidDocument("field \(field): a vector of \(v.count) numbers; the field has \(dims) dims")
        }
        var sum: Float = 0
        for x in v {
            guard x.isFinite else { throw IndexError.invalidDocument("field \(field): vector values must be finite numbers") }
            sum += x * x
        }
        guard sum > 0, sum.isFinite else { throw IndexError.invalidDocument("field \(field): a vector of zeros has no direction") }
        let inv = 1 / sum.squareRoot()
        return v.map { $0 * inv }
    }

    func add(doc: Int32, vector: [Float]) {
        docs.append(doc)
        values.append(contentsOf: vector)
    }

    /// Adds a document's text to the batch (the segment writer embeds full batches before its next
    /// document, so a failure there rejects that document and loses nothing).
    func add(doc: Int32, text: String) {
        docs.append(doc)
        values.append(contentsOf: repeatElement(0, count: dims))
        pending.append((docs.count - 1, text))
    }

    var batchIsFull: Bool { pending.count >= Self.batchSize }

    /// Embeds the texts waiting in the batch. When the batch fails, its texts are embedded one by
    /// one and a text the model cannot embed (an error, or a vector of the wrong length or without
    /// direction) leaves its document without a vector, so one bad text never wedges the writer.
    /// A model that cannot be loaded is an error (nothing is lost: the batch stays).
    func embedPending() throws {
        guard !pending.isEmpty else { return }
        let e = try resolveEmbedder()
        var vectors: [[Float]?]
        if let out = try? Self.embedOnAllCores(pending.map { $0.text }, e), out.count == pending.count,
           let units = try? out.map({ try Self.normalised($0, dims: dims, field: definition.name) }) {
            vectors = units
        } else {
            vectors = pending.map { p in
                guard let v = try? e.embed([p.text]), v.count == 1 else { return nil }
                return try? Self.normalised(v[0], dims: dims, field: definition.name)
            }
        }
        var drop = Set<Int>()
        for (p, v) in zip(pending, vectors) {
            guard let unit = v else {
                drop.insert(p.node)
                continue
            }
            values.withUnsafeMutableBufferPointer { b in
                for j in 0..<dims { b[p.node * dims + j] = unit[j] }
            }
        }
        pending.removeAll(keepingCapacity: true)
        if !drop.isEmpty {
            var keptDocs: [Int32] = [], keptValues: [Float] = []
            keptDocs.reserveCapacity(docs.count - drop.count)
            keptValues.reserveCapacity(values.count - drop.count * dims)
            for i in docs.indices where !drop.contains(i) {
                keptDocs.append(docs[i])
                keptValues.append(contentsOf: values[(i * dims)..<((i + 1) * dims)])
            }
            docs = keptDocs
            values = keptValues
        }
    }

    /// Texts embedded in chunks of at least 64, one chunk per core, in order.
    static func embedOnAllCores(_ texts: [String], _ e: any VectorEmbedder) throws -> [[Float]] {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let parts = max(1, min(cores, texts.count / 64))
        if parts == 1 { return try e.embed(texts) }
        let size = (texts.count + parts - 1) / parts
        let results = Mutex<[Int: Result<[[Float]], Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            let chunk = Array(texts[(i * size)..<min(texts.count, (i + 1) * size)])
            let r = Result { try e.embed(chunk) }
            results.withLock { $0[i] = r }
        }
        let all = results.withLock { $0 }
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        for i in 0..<parts { out += try all[i]!.get() }
        return out
    }

    /// Embeds what is left and builds the graph.
    func finish() throws -> (docs: [Int32], graph: HNSWGraph) {
        try embedPending()
        let g = HNSWGraph(dimensions: dims, parameters: definition.hnswParameters)
        for i in 0..<docs.count {
            g.add(Array(values[(i * dims)..<((i + 1) * dims)]))
        }
        return (docs, g)
    }
}

/// The `.vec` file of a segment: for each vector field, its nodes' documents, their unit vectors
/// and the HNSW graph over them. Vectors and level 0 of the graph are read in place from the
/// mapped file.
///
/// Payload: u32 field count, then per field a fixed entry (ordinal, dims, count, m, ef_construction,
/// entry point, top level, then offsets of its sections), then the sections, each starting at a
/// multiple of 64 bytes from the payload: documents (i32 × count), vectors (f32 × count × dims),
/// level 0 (i32 × count × (1 + 2m): a count then the neighbours), the upper levels (per node: vint
/// levels, then per level vint n and n vint neighbours).
enum VectorFileFormat {
    static let kind = "VECT"
    static let version: UInt32 = 1
    static let entrySize = 4 * 7 + 8 * 5

    static func align(_ x: Int) -> Int { (x + 63) & ~63 }

    /// Writes the fields' graphs (ordinal, docs, graph) to `file`.
    static func write(_ fields: [(field: Int, docs: [Int32], graph: HNSWGraph)], to file: IndexFileWriter) throws {
        var uppers: [ByteWriter] = []
        for f in fields {
            var u = ByteWriter(capacity: 1024)
            for n in 0..<f.graph.count {
                let levels = f.graph.upper[n]
                u.vint(levels.count)
                for l in levels {
                    u.vint(l.count)
                    for x in l { u.vint(UInt32(x)) }
                }
            }
            uppers.append(u)
        }
        var offset = align(4 + fields.count * entrySize)
        var head = ByteWriter(capacity: 4 + fields.count * entrySize)
        head.u32(UInt32(fields.count))
        var sections: [[Int]] = []
        for (i, f) in fields.enumerated() {
            let g = f.graph
            let n = g.count
            let docsOff = offset; offset = align(offset + 4 * n)
            let vecOff = offset; offset = align(offset + 4 * n * g.dimensions)
            let l0Off = offset; offset = align(offset + 4 * n * g.stride0)
            let upOff = offset; offset = align(offset + uppers[i].count)
            sections.append([docsOff, vecOff, l0Off, upOff])
            head.u32(UInt32(f.field))
            head.u32(UInt32(g.dimensions))
            head.u32(UInt32(n))
            head.u32(UInt32(g.parameters.m))
            head.u32(UInt32(g.parameters.efConstruction))
            head.u32(UInt32(bitPattern: g.entryPoint))
            head.u32(UInt32(bitPattern: Int32(g.maxLevel)))
            head.u64(UInt64(docsOff))
            head.u64(UInt64(vecOff))
            head.u64(UInt64(l0Off))
            head.u64(UInt64(upOff))
            head.u64(UInt64(uppers[i].count))
        }
        try file.write(head)
        func pad() throws {
            let at = Int(file.payloadOffset)
            if align(at) > at { try file.write([UInt8](repeating: 0, count: align(at) - at)) }
        }
        for (i, f) in fields.enumerated() {
            let g = f.graph
            try pad()
            precondition(Int(file.payloadOffset) == sections[i][0])
            try f.docs.withUnsafeBytes { try file.write($0) }
            try pad()
            try g.withVectors { v in try file.write(UnsafeRawBufferPointer(start: v, count: 4 * g.count * g.dimensions)) }
            try pad()
            try g.withLevel0 { l in try file.write(UnsafeRawBufferPointer(start: l, count: 4 * g.count * g.stride0)) }
            try pad()
            try file.write(uppers[i])
        }
        try pad()
    }
}

/// One vector field of an open segment.
public final class SegmentVectors: @unchecked Sendable {
    public let field: Int
    public let graph: HNSWGraph
    /// Node -> local document.
    public let docs: UnsafeBufferPointer<Int32>
    /// Local document -> node (-1: no vector).
    let nodeOfDoc: [Int32]
    let owner: AnyObject

    init(field: Int, graph: HNSWGraph, docs: UnsafeBufferPointer<Int32>, docCount: Int, owner: AnyObject) {
        self.field = field
        self.graph = graph
        self.docs = docs
        self.owner = owner
        var map = [Int32](repeating: -1, count: docCount)
        for (n, d) in docs.enumerated() { map[Int(d)] = Int32(n) }   // in range: checked when the file was read
        nodeOfDoc = map
    }

    public var count: Int { graph.count }

    /// The node of local document `doc` (nil: it has no vector).
    @inline(__always) public func node(of doc: Int) -> Int32? {
        guard doc >= 0, doc < nodeOfDoc.count else { return nil }
        let n = nodeOfDoc[doc]
        return n >= 0 ? n : nil
    }

    /// The vector of local document `doc`.
    public func vector(ofDoc doc: Int) -> [Float]? { node(of: doc).map { graph.vector(Int($0)) } }

    /// Reads the vector fields of a `.vec` file (checking every offset and count against the file).
    static func read(_ file: IndexFile, docCount: Int, fieldCount: Int) throws -> [Int: SegmentVectors] {
        let name = file.name
        var r = file.reader()
        let n = Int(try r.u32())
        guard n <= fieldCount else { throw IndexError.corrupt(file: name, reason: "\(n) vector fields") }
        let payload = file.payload
        var out: [Int: SegmentVectors] = [:]
        for _ in 0..<n {
            let field = Int(try r.u32()), dims = Int(try r.u32()), count = Int(try r.u32())
            let m = Int(try r.u32()), efc = Int(try r.u32())
            let entry = Int32(bitPattern: try r.u32()), maxLevel = Int(Int32(bitPattern: try r.u32()))
            let docsOff = try r.offset(max: payload.count), vecOff = try r.offset(max: payload.count)
            let l0Off = try r.offset(max: payload.count), upOff = try r.offset(max: payload.count)
            let upLen = try r.offset(max: payload.count)
            guard field < fieldCount, (1...FieldDefinition.maxVectorDims).contains(dims), out[field] == nil else {
                throw IndexError.corrupt(file: name, reason: "vector field ordinal \(field) with \(dims) dims does not match the schema")
            }
            guard (2...100).contains(m), efc >= 1, count <= docCount, count <= Int(Int32.max) else {
                throw IndexError.corrupt(file: name, reason: "vector field \(field): bad header (m \(m), count \(count))")
            }
            guard (count == 0 && entry == -1) || (entry >= 0 && Int(entry) < count), maxLevel >= -1, maxLevel < 64 else {
                throw IndexError.corrupt(file: name, reason: "vector field \(field): bad entry point")
            }
            let stride0 = 1 + 2 * m
            func section(_ off: Int, _ bytes: Int) throws {
                guard off >= 0, off % 4 == 0, bytes >= 0, off <= payload.count, bytes <= payload.count - off else {
                    throw IndexError.corrupt(file: name, reason: "vector field \(field): a section lies outside the file")
                }
            }
            try section(docsOff, 4 * count)
            try section(vecOff, 4 * count * dims)
            try section(l0Off, 4 * count * stride0)
            try section(upOff, upLen)
            let base = payload.baseAddress!
            guard Int(bitPattern: base + vecOff) % 4 == 0 else { throw IndexError.corrupt(file: name, reason: "misaligned vectors") }
            let docs = UnsafeBufferPointer(start: (base + docsOff).assumingMemoryBound(to: Int32.self), count: count)
            let level0 = (base + l0Off).assumingMemoryBound(to: Int32.self)
            // Level 0 is read in place: every link count and link is checked once here, so a damaged
            // file read without checksums is an error, never a wild read.
            for node in 0..<count {
                let p = level0 + node * stride0
                let k = Int(p[0])
                guard k >= 0, k <= 2 * m else { throw IndexError.corrupt(file: name, reason: "vector field \(field): node \(node) has \(k) links") }
                for j in 0..<k where p[1 + j] < 0 || Int(p[1 + j]) >= count {
                    throw IndexError.corrupt(file: name, reason: "vector field \(field): node \(node) links to \(p[1 + j])")
                }
            }
            for d in docs where d < 0 || Int(d) >= docCount {
                throw IndexError.corrupt(file: name, reason: "vector field \(field): a node's document \(d) is out of range")
            }
            var ur = ByteReader(base: base + upOff, count: upLen, file: name)
            var upper: [[[Int32]]] = []
            upper.reserveCapacity(count)
            for node in 0..<count {
                let levels = try ur.vint(max: 64)
                var ls: [[Int32]] = []
                for _ in 0..<levels {
                    let k = try ur.vint(max: m)
                    var l: [Int32] = []
                    l.reserveCapacity(k)
                    for _ in 0..<k {
                        let x = try ur.vint(max: count - 1)
                        l.append(Int32(x))
                    }
                    ls.append(l)
                }
                if levels > max(maxLevel, 0) { throw IndexError.corrupt(file: name, reason: "vector field \(field): node \(node) above the top level") }
                upper.append(ls)
            }
            let graph = HNSWGraph(dimensions: dims, parameters: HNSWGraph.Parameters(m: m, efConstruction: efc), count: count,
                                  vectors: (base + vecOff).assumingMemoryBound(to: Float.self), level0: level0,
                                  upper: upper, entryPoint: entry, maxLevel: maxLevel, owner: file.mapped)
            out[field] = SegmentVectors(field: field, graph: graph, docs: docs, docCount: docCount, owner: file.mapped)
        }
        return out
    }

    /// Deep checks for `aisle check`, beyond what opening the file checks (link counts and
    /// links, documents in range): no document twice, vectors finite and of unit length.
    public func check(docCount: Int) -> String? {
        var seen = [Bool](repeating: false, count: docCount)
        for d in docs {
            if seen[Int(d)] { return "vector field \(field): document \(d) has two nodes" }
            seen[Int(d)] = true
        }
        let g = graph
        return g.withVectors { v in
            for n in 0..<g.count {
                var s: Float = 0
                for j in 0..<g.dimensions {
                    let x = v[n * g.dimensions + j]
                    if !x.isFinite { return "vector field \(field): node \(n) has a non-finite value" }
                    s += x * x
                }
                if abs(s - 1) > 1e-3 { return "vector field \(field): node \(n)'s vector is not of unit length (\(s))" }
            }
            return nil
        }
    }
}
