import AisleIndex
import ArgumentParser
import Foundation

/// `aisle vectors ann-bench`: builds our HNSW graph over a file of vectors and measures recall@k
/// against exact search and single-threaded query latency at several `ef` (the Swift side of
/// `Benchmarks/ann_bench.py`, which runs hnswlib on the same files).
struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Vector search tools.",
        subcommands: [AnnBenchCommand.self]
    )
}

struct AnnBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann-bench",
        abstract: "Build an HNSW graph over raw float32 vectors and measure recall and latency.",
        discussion: """
        --vectors and --queries are raw little-endian float32 files of rows of --dims values (unit
        vectors: similarity is the inner product). Prints one JSON object: build seconds, and per ef
        the recall@k against exact search and the query latency p50/p99 (one thread, one query at
        a time).
        """
    )

    @Option(help: "Raw float32 vectors (rows of --dims).") var vectors: String
    @Option(help: "Raw float32 query vectors.") var queries: String
    @Option(help: "Dimensions.") var dims: Int = 384
    @Option(help: "Neighbours per node (M).") var m: Int = 16
    @Option(help: "Candidates while building.") var efConstruction: Int = 200
    @Option(help: "Search candidates to try, comma-separated.") var ef: String = "10,20,40,80,160,320"
    @Option(help: "Results per query.") var k: Int = 10
    @Option(help: "Queries used (0: all).") var limit: Int = 0
    @Option(help: "Exact neighbours from this file (int32 rows of k), written there when missing.") var truth: String?

    static func read(_ path: String, dims: Int) throws -> [[Float]] {
        guard let d = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        guard dims > 0, d.count % (4 * dims) == 0 else { throw ValidationError("\(path): \(d.count) bytes is not rows of \(dims) float32 values") }
        let n = d.count / (4 * dims)
        var out: [[Float]] = []
        out.reserveCapacity(n)
        d.withUnsafeBytes { raw in
            for i in 0..<n {
                var row = [Float](repeating: 0, count: dims)
                row.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(i * dims * 4)..<((i + 1) * dims * 4)])) }
                out.append(row)
            }
        }
        return out
    }

    func run() throws {
        let efs = try ef.split(separator: ",").map { s -> Int in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 1 else { throw ValidationError("--ef takes positive integers, got \(s)") }
            return v
        }
        guard m >= 2, efConstruction >= 1, k >= 1 else { throw ValidationError("--m must be at least 2, --ef-construction and --k at least 1") }
        let points = try Self.read(vectors, dims: dims)
        var qs = try Self.read(queries, dims: dims)
        if limit > 0 { qs = Array(qs.prefix(limit)) }
        guard !qs.isEmpty else { throw ValidationError("\(queries) has no query vectors") }
        guard k <= points.count else { throw ValidationError("--k \(k) is more than the \(points.count) vectors of \(vectors)") }
        let g = HNSWGraph(dimensions: dims, parameters: .init(m: m, efConstruction: efConstruction))
        let t0 = Date()
        for (i, p) in points.enumerated() {
            g.add(p)
            if (i + 1) % 50_000 == 0 { FileHandle.standardError.write(Data("built \(i + 1) of \(points.count)\n".utf8)) }
        }
        let build = Date().timeIntervalSince(t0)
        // Exact neighbours: from --truth when it has them, else computed (and written there).
        var exact: [[Int32]] = []
        if let truth, let d = FileManager.default.contents(atPath: truth), d.count == qs.count * k * 4 {
            d.withUnsafeBytes { raw in
                for i in 0..<qs.count { exact.append((0..<k).map { raw.load(fromByteOffset: (i * k + $0) * 4, as: Int32.self) }) }
            }
        } else {
            exact = qs.map { q in g.exact(q, k: k).map(\.node) }
            if let truth {
                var data = Data()
                for row in exact { for v in row { withUnsafeBytes(of: v) { data.append(contentsOf: $0) } } }
                FileManager.default.createFile(atPath: truth, contents: data)
            }
        }
        // The k-th exact similarity per query: a result at least that similar is a true neighbour
        // even when it is not the id the exact search listed (titles repeat: ties).
        let kth: [Float] = qs.indices.map { i in
            points[Int(exact[i][k - 1])].withUnsafeBufferPointer { a in qs[i].withUnsafeBufferPointer { b in HNSWGraph.dot(a.baseAddress!, b.baseAddress!, dims) } }
        }
        var rows: [String] = []
        for e in efs {
            var lat: [Double] = []
            var hit = 0, tieHit = 0
            for (i, q) in qs.enumerated() {
                let s = DispatchTime.now().uptimeNanoseconds
                let r = g.search(q, k: k, ef: e)
                lat.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
                hit += Set(r.map(\.node)).intersection(exact[i]).count
                tieHit += r.filter { $0.similarity >= kth[i] - 1e-5 }.count
            }
            lat.sort()
            let p = { (x: Double) in lat[min(lat.count - 1, Int((x * Double(lat.count - 1)).rounded()))] }
            rows.append(String(format: "{\"ef\": %d, \"recall\": %.4f, \"recall_ties\": %.4f, \"p50_ms\": %.4f, \"p99_ms\": %.4f}", e,
                               Double(hit) / Double(qs.count * k), Double(min(tieHit, qs.count * k)) / Double(qs.count * k), p(0.5), p(0.99)))
        }
        print("{\"engine\": \"aisle\", \"vectors\": \(points.count), \"queries\": \(qs.count), \"m\": \(m), \"ef_construction\": \(efConstruction), "
              + String(format: "\"build_s\": %.2f", build) + ", \"runs\": [" + rows.joined(separator: ", ") + "]}")
    }
}
