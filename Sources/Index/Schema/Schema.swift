/// What a field is and how it is indexed.
public enum FieldType: String, Codable, Sendable, CaseIterable {
    /// Analysed full text: postings with per-field term frequencies and positions, BM25F-scored.
    case text
    /// An exact value (brand, category path, attribute): one term per value, for filters and facets.
    case keyword
    /// A number (price, rating, review count).
    case numeric
    /// true / false.
    case boolean
    /// Kept for display only: not indexed, no doc values (a description to show, an original
    /// JSON document). Objects and arrays are kept as their JSON text.
    case stored
    /// A dense vector (`dims` floats) per document, for nearest-neighbour search: embedded at
    /// indexing time from the text of `source` (one field, or several separated by commas) by the
    /// model `model`, or given as an array of numbers in the input. Stored per segment with an
    /// HNSW graph.
    case vector
}

/// One field of a schema.
public struct FieldDefinition: Codable, Sendable, Equatable {
    /// Field name as queries and results use it (`title`, `category_path`, `attributes.color`).
    public var name: String
    public var type: FieldType
    /// Analyzer name for text fields (`english`, `plain`, `standard`, `keyword`).
    public var analyzer: String?
    /// BM25F boost of a text field.
    public var boost: Float?
    /// Keep the original value so results can show it.
    public var stored: Bool?
    /// For text fields: also index the exact value as a keyword (for filters and facets).
    public var keyword: Bool?
    /// Where the value comes from in an input document: a dotted path, `category[0]` for an
    /// array element, or `attributes.*` for every key of an object. Defaults to `name`.
    public var source: String?
    /// Keep a per-document column (for facets, sorting, range filters and display). Default: on for
    /// numeric and boolean fields and for keyword fields, off for instances of pattern fields.
    public var docValues: Bool?
    /// For keyword fields holding a path (`Furniture > Sofas > Loveseats`): the separator. Every
    /// prefix of the path is indexed too, so a filter on `Furniture > Sofas` matches everything below.
    public var hierarchy: String?
    /// For numeric fields: the smallest and largest value a document may have (a price is at least
    /// 0, a rating at most 5). Every write path rejects a value outside them, naming the field.
    /// Whatever they say, values are finite and within ±`IndexLimits.maxNumericMagnitude`.
    public var min: Double?
    public var max: Double?
    /// For numeric fields: `date`, values are instants kept as epoch milliseconds; inputs may be
    /// ISO 8601 dates or date-times (`2026-12-06`, `2026-12-06T10:00:00.5Z`, `…+01:00`) or
    /// numbers of epoch milliseconds.
    public var format: String?
    /// For vector fields: the number of dimensions (384 for all-MiniLM-L6-v2).
    public var dims: Int?
    /// For vector fields: the model that embeds the source text (default `all-MiniLM-L6-v2`).
    public var model: String?
    /// For vector fields: the HNSW graph's links per node (default 16) and its construction
    /// beam width (default 100).
    public var m: Int?
    public var efConstruction: Int?
    /// For text fields: also index adjacent word pairs (see `PairTerms`), so a two-word proximity
    /// check reads one short postings list instead of both words' positions. Costs index size
    /// and build time; searches use the pairs of a text group only when all its fields have them
    /// (default off; the catalog indexes turn it on for the `product` analyzer).
    public var pairs: Bool?

    public enum CodingKeys: String, CodingKey {
        case name, type, analyzer, boost, stored, keyword, source, docValues = "doc_values", hierarchy, min, max, format,
             dims, model, m, efConstruction = "ef_construction", pairs
    }

    public static let defaultVectorModel = "all-MiniLM-L6-v2"
    public static let maxVectorDims = 4096
    /// The model of a vector field.
    public var vectorModel: String { model ?? Self.defaultVectorModel }
    /// The input paths a vector field embeds, in order (`title`, or `title,brand`).
    public var vectorSources: [String] {
        (source ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    /// The HNSW parameters of a vector field.
    public var hnswParameters: HNSWGraph.Parameters {
        HNSWGraph.Parameters(m: m ?? 16, efConstruction: efConstruction ?? 100)
    }

    public static let dateFormat = "date"
    public var isDate: Bool { type == .numeric && format == Self.dateFormat }

    public init(name: String, type: FieldType, analyzer: String? = nil, boost: Float? = nil, stored: Bool? = nil,
                keyword: Bool? = nil, source: String? = nil, docValues: Bool? = nil, hierarchy: String? = nil,
                min: Double? = nil, max: Double? = nil, format: String? = nil, dims: Int? = nil, model: String? = nil) {
        self.format = format
        self.dims = dims
        self.model = model
        self.min = min
        self.max = max
        self.name = name
        self.type = type
        self.analyzer = analyzer
        self.boost = boost
        self.stored = stored
        self.keyword = keyword
        self.source = source
        self.docValues = docValues
        self.hierarchy = hierarchy
    }

    /// Why `value` cannot be this numeric field's value (nil: it can).
    public func numberProblem(_ value: Double) -> String? {
        guard value.isFinite else { return "field \(name) must be a finite number" }
        let limit = IndexLimits.maxNumericMagnitude
        if let lo = min, value < lo { return "field \(name) must be at least \(Self.show(lo)), got \(Self.show(value))" }
        if let hi = max, value > hi { return "field \(name) must be at most \(Self.show(hi)), got \(Self.show(value))" }
        guard abs(value) <= limit else { return "field \(name) must be within ±\(Self.show(limit)), got \(Self.show(value))" }
        return nil
    }

    static func show(_ d: Double) -> String {
        if let i = Int64(exactly: d), i > -(1 << 53), i < (1 << 53) { return String(i) }
        return String(d)
    }

    public var isStored: Bool { type == .stored || (stored ?? false) }
    public var effectiveBoost: Float { boost ?? 1 }
    /// Indexed as exact terms (keyword fields, and text fields with `keyword: true`).
    public var isKeywordIndexed: Bool { type == .keyword || (type == .text && keyword == true) }
    /// A pattern such as `attributes.*` that stands for every field of that prefix found in the input.
    public var isPattern: Bool { name.hasSuffix(".*") }

    /// Whether the field has a doc values column (patterns: whether their instances do).
    public var hasDocValues: Bool {
        switch type {
        case .numeric, .boolean: return docValues ?? true
        case .keyword: return docValues ?? !isPattern
        case .text: return keyword == true && (docValues ?? true)
        case .stored, .vector: return false
        }
    }
}

/// BM25 parameters.
public struct BM25Parameters: Codable, Sendable, Equatable {
    public var k1: Float
    public var b: Float
    public init(k1: Float = 1.2, b: Float = 0.75) {
        self.k1 = k1
        self.b = b
    }

    public func validate() throws {
        guard k1.isFinite, k1 >= 0 else { throw IndexError.schema("illegal k1 value \(k1): must be a non-negative finite number") }
        guard b.isFinite, b >= 0, b <= 1 else { throw IndexError.schema("illegal b value \(b): must be between 0 and 1") }
    }
}

/// The fields of an index, their types and options.
///
/// Text fields that share an analyzer form a **text group**: one postings list per term for the whole
/// group, each posting carrying the term frequency (and positions) of every field of the group, so a
/// query term costs one postings cursor however many fields it is searched in. Every text group and
/// every keyword-indexed field gets an **inverted slot**, the prefix of its terms in the term dictionary.
public struct Schema: Codable, Sendable, Equatable {
    /// The field that holds the document's unique id (always stored and keyword-indexed).
    public var idField: String
    public var fields: [FieldDefinition]
    public var bm25: BM25Parameters?
    /// Input format hint for readers (`catalog`, `tsv`, `jsonl`); informational.
    public var format: String?

    public init(idField: String, fields: [FieldDefinition], bm25: BM25Parameters? = nil, format: String? = nil) {
        self.idField = idField
        self.fields = fields
        self.bm25 = bm25
        self.format = format
    }

    public var bm25Parameters: BM25Parameters { bm25 ?? BM25Parameters() }

    /// Checks names, types and options; throws a message naming the problem.
    public func validate() throws {
        var seen = Set<String>()
        guard !idField.isEmpty else { throw IndexError.schema("id_field must not be empty") }
        for f in fields {
            guard !f.name.isEmpty else { throw IndexError.schema("a field has an empty name") }
            guard seen.insert(f.name).inserted else { throw IndexError.schema("field \(f.name) is defined twice") }
            if f.type == .vector {
                guard let d = f.dims, d >= 1, d <= FieldDefinition.maxVectorDims else {
                    throw IndexError.schema("vector field \(f.name): dims must be between 1 and \(FieldDefinition.maxVectorDims)")
                }
                if f.isPattern { throw IndexError.schema("vector field \(f.name): patterns are only allowed for keyword, numeric and boolean fields") }
                if f.vectorSources.isEmpty { throw IndexError.schema("vector field \(f.name): source must name the field (or fields, separated by commas) to embed") }
                if f.stored == true || f.docValues == true || f.hierarchy != nil || f.min != nil || f.max != nil || f.format != nil {
                    throw IndexError.schema("vector field \(f.name): takes dims, source, model, m and ef_construction only")
                }
                if let m = f.m, !(2...100).contains(m) { throw IndexError.schema("vector field \(f.name): m must be between 2 and 100") }
                if let e = f.efConstruction, !(1...2000).contains(e) { throw IndexError.schema("vector field \(f.name): ef_construction must be between 1 and 2000") }
                if f.name == idField { throw IndexError.schema("id field \(f.name) must be of type keyword") }
            } else if f.dims != nil || f.model != nil || f.m != nil || f.efConstruction != nil {
                throw IndexError.schema("field \(f.name): dims, model, m and ef_construction apply to vector fields only")
            }
            if f.type == .text {
                if f.isPattern { throw IndexError.schema("text field \(f.name): patterns are only allowed for keyword, numeric and boolean fields") }
                if let b = f.boost, !(b.isFinite && b > 0) { throw IndexError.schema("field \(f.name): boost must be a positive number, got \(b)") }
            } else {
                if f.analyzer != nil { throw IndexError.schema("field \(f.name): only text fields take an analyzer") }
                if f.boost != nil { throw IndexError.schema("field \(f.name): only text fields take a boost") }
                if f.keyword != nil { throw IndexError.schema("field \(f.name): `keyword` applies to text fields only") }
                if f.pairs != nil { throw IndexError.schema("field \(f.name): `pairs` applies to text fields only") }
            }
            if let fmt = f.format {
                guard f.type == .numeric, fmt == FieldDefinition.dateFormat else {
                    throw IndexError.schema("field \(f.name): format applies to numeric fields and must be \"date\", got \"\(fmt)\"")
                }
            }
            if f.type == .stored {
                if f.isPattern { throw IndexError.schema("stored field \(f.name): patterns are only allowed for keyword, numeric and boolean fields") }
                if f.docValues == true { throw IndexError.schema("stored field \(f.name): a stored-only field has no doc values") }
                if f.stored == false { throw IndexError.schema("stored field \(f.name): a stored-only field is always stored") }
            }
            if let h = f.hierarchy {
                guard f.isKeywordIndexed, !h.isEmpty else { throw IndexError.schema("field \(f.name): hierarchy needs a keyword field and a non-empty separator") }
            }
            if f.min != nil || f.max != nil {
                guard f.type == .numeric else { throw IndexError.schema("field \(f.name): min and max apply to numeric fields only") }
                for b in [f.min, f.max].compactMap({ $0 }) where !(b.isFinite && abs(b) <= IndexLimits.maxNumericMagnitude) {
                    throw IndexError.schema("field \(f.name): min and max must be finite numbers within ±\(IndexLimits.maxNumericMagnitude)")
                }
                if let lo = f.min, let hi = f.max, lo > hi { throw IndexError.schema("field \(f.name): min \(lo) is above max \(hi)") }
            }
            if f.name == idField && f.type != .keyword {
                throw IndexError.schema("id field \(f.name) must be of type keyword")
            }
        }
        try bm25Parameters.validate()
        if fields.count > SchemaLayout.maxFields { throw IndexError.schema("too many fields (\(fields.count)); the limit is \(SchemaLayout.maxFields)") }
    }

    public func field(named name: String) -> FieldDefinition? { fields.first { $0.name == name } }
    public func ordinal(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    /// The pattern field that `name` would be an instance of (`attributes.color` -> `attributes.*`).
    public func pattern(matching name: String) -> FieldDefinition? {
        fields.first { $0.isPattern && name.hasPrefix(String($0.name.dropLast(1))) && name.count > $0.name.count - 1 }
    }

    /// Adds a concrete field for an instance of a pattern field; returns its ordinal.
    /// Names of pattern instances (`attributes.some key`) are at most this long.
    public static let maxInstanceNameBytes = 256

    /// Instances of pattern fields (`attributes.color` of `attributes.*`) in the schema.
    public var patternInstanceCount: Int {
        let prefixes = fields.filter { $0.isPattern }.map { String($0.name.dropLast(1)) }
        guard !prefixes.isEmpty else { return 0 }
        return fields.reduce(0) { n, f in
            !f.isPattern && prefixes.contains(where: { f.name.hasPrefix($0) && f.name.count > $0.count }) ? n + 1 : n
        }
    }

    /// Ordinals of `names`, adding the instances of pattern fields among them all together, or
    /// none of them: it throws (leaving the schema as it was) when they would take the schema past
    /// `maxInstances` pattern instances or past the field limit. nil for a name no field matches.
    public mutating func ordinalsAddingInstances(_ names: [String], maxInstances: Int) throws -> [Int?] {
        var out: [Int?] = []
        var fresh: [(name: String, pattern: FieldDefinition)] = []
        var seen = Set<String>()
        for n in names {
            // A key such as `*` or `x.*` would name a pattern, not a field.
            if n.hasSuffix(".*") || n.hasSuffix("*") {
                throw IndexError.invalidDocument("field name \"\(n.prefix(60))\" ends with \"*\", which names patterns")
            }
            if let o = ordinal(of: n) { out.append(o); continue }
            guard let p = pattern(matching: n) else { out.append(nil); continue }
            guard n.utf8.count <= Self.maxInstanceNameBytes else {
                throw IndexError.invalidDocument("field name \"\(n.prefix(40))…\" is \(n.utf8.count) bytes; names of \(p.name) fields are at most \(Self.maxInstanceNameBytes)")
            }
            if seen.insert(n).inserted { fresh.append((n, p)) }
            out.append(-1)
        }
        guard !fresh.isEmpty else { return out }
        let have = patternInstanceCount
        if have + fresh.count > maxInstances {
            let example = fresh[0].pattern.name
            throw IndexError.invalidDocument("the document would add \(fresh.count) new \(example) field\(fresh.count == 1 ? "" : "s") to the index's \(have); an index has at most \(maxInstances) (max_attribute_fields); reuse existing keys")
        }
        if fields.count + fresh.count > SchemaLayout.maxFields {
            throw IndexError.invalidDocument("the schema would have more than \(SchemaLayout.maxFields) fields")
        }
        var ordinals: [String: Int] = [:]
        for (n, p) in fresh { ordinals[n] = addInstance(n, of: p) }
        for (i, n) in names.enumerated() where out[i] == -1 { out[i] = ordinals[n] }
        return out
    }

    public mutating func addInstance(_ name: String, of pattern: FieldDefinition) -> Int {
        var f = pattern
        f.name = name
        f.source = nil
        f.docValues = pattern.hasDocValues
        fields.append(f)
        return fields.count - 1
    }

    public enum CodingKeys: String, CodingKey {
        case idField = "id_field", fields, bm25, format
    }
}

/// The index-level view of a schema: ordinals, text groups, inverted slots. Derived, never stored.
public struct SchemaLayout: Sendable {
    /// Fields a schema may have at most (field ordinals are stored in 16 bits).
    public static let maxFields = 60_000

    public struct TextGroup: Sendable, Equatable {
        public var analyzer: String
        /// Field ordinals of the group, in schema order.
        public var fields: [Int]
        /// Every field of the group indexes adjacent word pairs (`FieldDefinition.pairs`).
        public var pairs = false
    }

    public let schema: Schema
    public let textGroups: [TextGroup]
    /// For each field ordinal: its text group and its index within the group, or nil.
    public let groupOfField: [(group: Int, member: Int)?]
    /// For each field ordinal: its keyword slot, or nil.
    public let keywordSlotOfField: [Int?]
    /// Field ordinal of each keyword slot (slot - textGroups.count).
    public let keywordFields: [Int]
    /// Ordinals of the text fields, in schema order (the order of norms in a segment).
    public let textFields: [Int]
    public let idOrdinal: Int
    /// Fields with a numeric doc values column (numeric and boolean fields).
    public let numericColumns: [Int]
    /// Keyword fields with an ordinal doc values column.
    public let ordinalColumns: [Int]
    /// Hierarchy separators of keyword fields that have one.
    public let hierarchy: [Int: [UInt8]]
    /// Ordinals of the vector fields, in schema order (every search asks, so it is kept).
    public let vectorFields: [Int]

    public init(_ schema: Schema, defaultAnalyzer: String = "english") throws {
        try schema.validate()
        self.schema = schema
        var groups: [TextGroup] = []
        var gof: [(group: Int, member: Int)?] = Array(repeating: nil, count: schema.fields.count)
        var kslot: [Int?] = Array(repeating: nil, count: schema.fields.count)
        var text: [Int] = []
        for (i, f) in schema.fields.enumerated() where f.type == .text {
            let a = f.analyzer ?? defaultAnalyzer
            text.append(i)
            if let g = groups.firstIndex(where: { $0.analyzer == a }) {
                gof[i] = (g, groups[g].fields.count)
                groups[g].fields.append(i)
            } else {
                gof[i] = (groups.count, 0)
                groups.append(TextGroup(analyzer: a, fields: [i]))
            }
        }
        for g in groups.indices { groups[g].pairs = groups[g].fields.allSatisfy { schema.fields[$0].pairs == true } }
        guard groups.allSatisfy({ $0.fields.count <= 32 }) else {
            throw IndexError.schema("at most 32 text fields may share one analyzer")
        }
        var kf: [Int] = []
        for (i, f) in schema.fields.enumerated() where f.isKeywordIndexed && !f.isPattern {
            kslot[i] = groups.count + kf.count
            kf.append(i)
        }
        guard let id = schema.ordinal(of: schema.idField) else {
            throw IndexError.schema("id field \(schema.idField) is not among the fields")
        }
        self.textGroups = groups
        self.groupOfField = gof
        self.keywordSlotOfField = kslot
        self.keywordFields = kf
        self.textFields = text
        self.idOrdinal = id
        var nc: [Int] = [], oc: [Int] = []
        var h: [Int: [UInt8]] = [:]
        for (i, f) in schema.fields.enumerated() where !f.isPattern {
            if (f.type == .numeric || f.type == .boolean) && f.hasDocValues { nc.append(i) }
            if f.isKeywordIndexed && f.hasDocValues && i != id { oc.append(i) }
            if let sep = f.hierarchy, f.isKeywordIndexed { h[i] = Array(sep.utf8) }
        }
        numericColumns = nc
        ordinalColumns = oc
        hierarchy = h
        vectorFields = schema.fields.indices.filter { schema.fields[$0].type == .vector }
    }

    public var slotCount: Int { textGroups.count + keywordFields.count }

    public func isTextSlot(_ slot: Int) -> Bool { slot < textGroups.count }
}
