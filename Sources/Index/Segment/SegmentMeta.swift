/// Length statistics of one text field in one segment (for BM25's average field length).
public struct FieldStats: Codable, Sendable, Equatable {
    /// Sum of the field's lengths (tokens) over the segment's documents.
    public var sumLength: UInt64
    /// Documents that have at least one token in the field.
    public var docCount: UInt32

    public init(sumLength: UInt64 = 0, docCount: UInt32 = 0) {
        self.sumLength = sumLength
        self.docCount = docCount
    }

    /// Mean length over the documents with the field (1 when none has it).
    public var averageLength: Float { docCount == 0 ? 1 : Float(Double(sumLength) / Double(docCount)) }
}

/// Size and checksum of a file, recorded in the commit so `aisle check` can verify everything.
public struct FileInfo: Codable, Sendable, Equatable {
    public var size: UInt64
    public var checksum: String   // XXH64, hex

    public init(size: UInt64, checksum: UInt64) {
        self.size = size
        self.checksum = String(checksum, radix: 16)
    }
}

/// A segment as the commit describes it.
public struct SegmentMeta: Codable, Sendable, Equatable {
    public var id: String
    public var docCount: Int
    /// Number of schema fields when the segment was written.
    public var fieldCount: Int
    /// Per text field (schema order of text fields): length statistics.
    public var textFieldStats: [FieldStats]
    public var files: [String: FileInfo]
    /// Document ids are in strictly increasing byte order: the id column is searched directly and
    /// the dictionary holds no id terms.
    public var idsSorted: Bool
    /// Deleted documents (tombstones) as of this commit; nil when none.
    public var deletes: SideFile?
    /// Numeric and boolean columns updated in place since the segment was written; nil when none.
    public var updates: SideFile?

    /// A file that belongs to a segment but changes between commits (named with the generation
    /// that wrote it, so a commit never overwrites a file an older commit names).
    public struct SideFile: Codable, Sendable, Equatable {
        public var name: String
        public var info: FileInfo
        /// Deleted documents (deletes) or updated fields (updates).
        public var count: Int
        public init(name: String, info: FileInfo, count: Int) {
            self.name = name
            self.info = info
            self.count = count
        }
    }

    /// Documents not deleted.
    public var liveDocCount: Int { docCount - (deletes?.count ?? 0) }

    /// Every file of the segment with its size and checksum: the base files and the side files.
    public var allFiles: [String: FileInfo] {
        var f = files
        if let d = deletes { f[d.name] = d.info }
        if let u = updates { f[u.name] = u.info }
        return f
    }

    public init(id: String, docCount: Int, fieldCount: Int, textFieldStats: [FieldStats], files: [String: FileInfo],
                idsSorted: Bool) {
        self.id = id
        self.docCount = docCount
        self.fieldCount = fieldCount
        self.textFieldStats = textFieldStats
        self.files = files
        self.idsSorted = idsSorted
    }

    public enum CodingKeys: String, CodingKey {
        case id, docCount = "doc_count", fieldCount = "field_count", textFieldStats = "text_field_stats", files,
             idsSorted = "ids_sorted", deletes, updates
    }
}

/// File names of a segment's components.
public enum SegmentComponent: String, CaseIterable, Sendable {
    case terms, docs, pos, norms, store, ids, dv
    /// Vector fields (only in segments of schemas that have them).
    case vec

    public func fileName(segment: String) -> String { "\(segment).\(rawValue)" }

    public var kind: String {
        switch self {
        case .terms: return TermDictionaryFormat.kind
        case .docs: return "DOCS"
        case .pos: return "POSI"
        case .norms: return "NORM"
        case .store: return StoredFieldsFormat.kind
        case .ids: return IdColumnFormat.kind
        case .dv: return DocValuesFormat.kind
        case .vec: return VectorFileFormat.kind
        }
    }

    /// The version new files are written in.
    public var version: UInt32 { self == .docs ? PostingsFormat.writeVersion : 1 }
    /// The versions this build reads.
    public var readableVersions: ClosedRange<UInt32> { self == .docs ? PostingsFormat.readableVersions : 1...1 }
}
