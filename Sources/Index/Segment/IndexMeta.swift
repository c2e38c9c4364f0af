import FoundationEssentials

/// A commit point: the schema and the segments of one generation of the index.
///
/// Stored as `commit_<generation>` (an index file of kind META whose payload is JSON), written to a
/// temporary name, fsynced, then renamed, so a crash leaves either the old or the new commit and the
/// index always opens at its last complete commit.
public struct IndexMeta: Codable, Sendable, Equatable {
    public static let kind = "META"
    public static let version: UInt32 = 1
    public static let formatVersion = 1

    public var formatVersion: Int
    public var generation: UInt64
    public var schema: Schema
    public var segments: [SegmentMeta]
    /// Counter for new segment names.
    public var nextSegment: Int
    public var createdBy: String
    /// Free-form metadata (e.g. the corpus the index was built from).
    public var userData: [String: String]

    public enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", generation, schema, segments, nextSegment = "next_segment",
             createdBy = "created_by", userData = "user_data"
    }

    public init(schema: Schema) {
        formatVersion = Self.formatVersion
        generation = 0
        self.schema = schema
        segments = []
        nextSegment = 1
        createdBy = "aisle"
        userData = [:]
    }

    public var docCount: Int { segments.reduce(0) { $0 + $1.docCount } }

    static func fileName(_ gen: UInt64) -> String { "commit_\(gen)" }

    /// Generations of the commit files present in `directory`, newest first.
    static func generations(in directory: String) throws -> [UInt64] {
        try FileSystem.list(directory).compactMap { name -> UInt64? in
            guard name.hasPrefix("commit_"), !name.hasSuffix(".tmp") else { return nil }
            return UInt64(name.dropFirst("commit_".count))
        }.sorted(by: >)
    }

    /// Reads the newest commit of the index in `directory`.
    public static func readLatest(directory: String) throws -> IndexMeta {
        guard FileSystem.isDirectory(directory) else { throw IndexError.notAnIndex(path: directory) }
        guard let gen = try generations(in: directory).first else { throw IndexError.notAnIndex(path: directory) }
        return try read(path: directory + "/" + fileName(gen))
    }

    public static func read(path: String) throws -> IndexMeta {
        let f = try IndexFile(path: path, kind: kind, version: version, verify: true)
        let json = Data(f.payload)
        do {
            let m = try JSONDecoder().decode(IndexMeta.self, from: json)
            guard m.formatVersion == formatVersion else {
                throw IndexError.unsupportedVersion(file: f.name, found: UInt32(clamping: m.formatVersion), supported: UInt32(formatVersion))
            }
            // Counters that the writer increments: out-of-range values are damage, not a crash later.
            guard m.generation < UInt64(1) << 62, m.nextSegment >= 0, m.nextSegment < 1 << 40 else {
                throw IndexError.corrupt(file: f.name, reason: "generation \(m.generation) or next segment \(m.nextSegment) out of range")
            }
            return m
        } catch let e as IndexError {
            throw e
        } catch {
            throw IndexError.corrupt(file: f.name, reason: "commit JSON does not decode: \(error)")
        }
    }

    /// Writes this commit as generation `generation` (atomically) and returns its path.
    @discardableResult
    public func write(directory: String, sync: Bool = true) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data: Data
        do { data = try enc.encode(self) } catch { throw IndexError.schema("cannot encode commit: \(error)") }
        let final = directory + "/" + Self.fileName(generation)
        let tmp = final + ".tmp"
        let w = try IndexFileWriter(path: tmp, kind: Self.kind, version: Self.version)
        try w.write(Array(data))
        try w.finish(sync: sync)
        try FileSystem.rename(tmp, final)
        if sync { try FileSystem.syncDirectory(directory) }
        return final
    }
}
