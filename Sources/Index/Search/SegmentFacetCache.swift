/// What one segment adds to one facet: its ordinal counts (keyword and hierarchy facets), or its
/// range figures and values (numeric range facets).
struct FacetSegmentPart: Sendable {
    var ordinalCounts: [Int32]?
    var rangeCounts: [Int] = []
    var min = Double.infinity
    var max = -Double.infinity
    var valueCount = 0
    /// Every value, in document order (the sum is replayed from them, in order).
    var values: [Double] = []

    init(ordinalCounts: [Int32]) { self.ordinalCounts = ordinalCounts }

    init(rangeCounts: [Int], min: Double, max: Double, valueCount: Int, values: [Double]) {
        self.rangeCounts = rangeCounts
        self.min = min
        self.max = max
        self.valueCount = valueCount
        self.values = values
    }

    var bytes: Int { (ordinalCounts?.count ?? 0) * 4 + rangeCounts.count * 8 + values.count * 8 + 64 }
}

/// Per-segment results of faceted searches: a segment's number of matches and its facet counts
/// for one query, filter set and facet set, so a browse page asked again (another sort, another
/// page, another user) does not count the segment's matches again.
///
/// Entries are keyed by the segment view's versions (`SegmentReader.deletesVersion` and the
/// `columnVersion` of every numeric field the filters and facets read) besides the request, so a
/// tombstone or an in-place update can never serve a stale count: it makes a new version, and the
/// old entries are never asked for again (they age out). Segments a refresh leaves alone keep
/// their entries; so do segments whose updates touched only fields the request does not read.
///
/// Bounded by `capacityBytes` (least recently used entries go first); 0 turns it off.
public final class SegmentFacetCache: @unchecked Sendable {
    /// The cache searches use unless told otherwise.
    public static let shared = SegmentFacetCache(capacityBytes: SegmentFacetCache.defaultCapacityBytes)
    /// 256 MiB.
    public static let defaultCapacityBytes = 256 << 20

    struct RequestKey: Hashable, Sendable {
        var query: Query
        var filters: [Filter]
        var sideways: [Int]
        var baseOnly: [Int]
        var facets: [FacetSpec]
        /// Numeric fields the filters and facets read (their column versions are in the entry key).
        var numericFields: [Int]
    }

    /// A segment view's versions: its tombstones' and those of the numeric fields the request reads.
    struct Versions: Hashable, Sendable {
        var deletes: UInt64
        var columns: [UInt64]
    }

    struct Key: Hashable, Sendable {
        var request: RequestKey
        var versions: Versions
    }

    /// A whole search's count and facets: the request over these segment views, in this order.
    struct MergedKey: Hashable, Sendable {
        var request: RequestKey
        var segments: [Versions]
    }

    /// A segment's best matches by a numeric field.
    struct SortedKey: Hashable, Sendable {
        var segment: Key
        var field: Int
        /// The sort field's column version (it may be a field the request does not otherwise read).
        var version: UInt64
        var descending: Bool
        /// Ties go by doc order when the index's doc order is id order, else by id.
        var idOrder: Bool
    }

    /// How many of a segment's best hits by a field are kept (more when a page asks for more).
    static let sortedDepth = 120

    /// A segment's best matches in sort order: local doc and value.
    struct SortedList: Sendable {
        var docs: [UInt32]
        var values: [Double?]
        /// The collector's size: at most this many were kept.
        var depth: Int
        /// Every match of the segment is in the list.
        var complete: Bool

        init(_ entries: [FieldSortCollector.Entry], base: Int, depth: Int, matches: Int) {
            docs = entries.map { UInt32($0.doc - base) }
            values = entries.map { $0.value }
            self.depth = depth
            complete = matches <= entries.count
        }

        /// Offers the list to `collector` as if the segment's matches were visited: the
        /// collector's best `k` come out the same, since `k` ≤ `depth` or the list is complete.
        func replay(into collector: FieldSortCollector, base: Int) {
            for i in docs.indices { collector.collect(doc: base + Int(docs[i]), value: values[i]) }
        }

        var bytes: Int { docs.count * 4 + values.count * 16 + 64 }
    }

    /// A segment's matches of a query and its base filters (the sideways ones left out), under the
    /// versions of its tombstones and of the numeric fields those read.
    struct MatchKey: Hashable, Sendable {
        var query: Query
        var filters: [Filter]
        var versions: Versions
    }

    /// The keys of one search, built once per search (only when the cache is on).
    struct Keys {
        let request: RequestKey
        /// The filters that narrow the matches (not the sideways ones) and the numeric fields
        /// they and the query read.
        let baseFilters: [Filter]
        let baseNumeric: [Int]

        init(query: Query, filters: [Filter], sideways: [Int], baseOnly: Set<Int>, facets: [FacetSpec]) {
            var read = Set(filters.map { $0.field } + facets.map { $0.field })
            query.filterFields(into: &read)
            request = RequestKey(query: query, filters: filters, sideways: sideways, baseOnly: baseOnly.sorted(),
                                 facets: facets, numericFields: read.sorted())
            let side = Set(sideways)
            baseFilters = filters.enumerated().filter { !(side.contains($0.element.field) && !baseOnly.contains($0.offset)) }.map { $0.element }
            var baseRead = Set(baseFilters.map { $0.field })
            query.filterFields(into: &baseRead)
            baseNumeric = baseRead.sorted()
        }

        static func versions(_ seg: SegmentReader, _ fields: [Int]) -> Versions {
            Versions(deletes: seg.deletesVersion, columns: fields.map { seg.columnVersion($0) })
        }

        func counts(_ seg: SegmentReader) -> Key { Key(request: request, versions: Self.versions(seg, request.numericFields)) }

        func merged(_ segments: [SegmentReader]) -> MergedKey {
            MergedKey(request: request, segments: segments.map { Self.versions($0, request.numericFields) })
        }

        func matches(_ seg: SegmentReader) -> MatchKey {
            MatchKey(query: request.query, filters: baseFilters, versions: Self.versions(seg, baseNumeric))
        }

        func sorted(_ seg: SegmentReader, counts: Key, field: Int, descending: Bool, idOrder: Bool) -> SortedKey {
            SortedKey(segment: counts, field: field, version: seg.columnVersion(field), descending: descending, idOrder: idOrder)
        }
    }

    private enum AnyKey: Hashable, Sendable {
        case counts(Key)
        case merged(MergedKey)
        case sorted(SortedKey)
        case matches(MatchKey)
    }

    private enum Value: Sendable {
        /// Matches in the segment that pass every filter, and what it adds to each facet.
        case counts(total: Int, parts: [FacetSegmentPart])
        case merged(total: Int, facets: [FacetResult])
        case sorted(SortedList)
        case matches([UInt32])
    }

    private let cache: ByteBoundedCache<AnyKey, Value>

    public init(capacityBytes: Int) { cache = ByteBoundedCache(capacityBytes: capacityBytes) }

    /// 0 turns the cache off.
    public var capacityBytes: Int {
        get { cache.capacityBytes }
        set { cache.capacityBytes = newValue }
    }

    public var isEnabled: Bool { capacityBytes > 0 }

    public var statistics: CacheStatistics { cache.statistics() }

    /// Drops every entry (statistics stay).
    public func removeAll() { cache.removeAll() }

    func get(_ key: Key) -> (total: Int, parts: [FacetSegmentPart])? {
        if case .counts(let t, let p)? = cache.get(.counts(key)) { return (t, p) }
        return nil
    }

    func put(_ key: Key, total: Int, parts: [FacetSegmentPart]) {
        cache.put(.counts(key), .counts(total: total, parts: parts),
                  bytes: parts.reduce(0) { $0 + $1.bytes } + Self.keyBytes(key.request))
    }

    func getMerged(_ key: MergedKey) -> (total: Int, facets: [FacetResult])? {
        if case .merged(let t, let f)? = cache.get(.merged(key)) { return (t, f) }
        return nil
    }

    func putMerged(_ key: MergedKey, total: Int, facets: [FacetResult]) {
        let bytes = facets.reduce(0) { n, f in
            n + 64 + (f.values.count + f.path.count) * 48 + f.values.reduce(0) { $0 + $1.value.utf8.count } + f.ranges.count * 40
        }
        cache.put(.merged(key), .merged(total: total, facets: facets), bytes: bytes + Self.keyBytes(key.request) + key.segments.count * 24)
    }

    func getSorted(_ key: SortedKey) -> SortedList? {
        if case .sorted(let l)? = cache.get(.sorted(key)) { return l }
        return nil
    }

    func putSorted(_ key: SortedKey, _ list: SortedList) {
        cache.put(.sorted(key), .sorted(list), bytes: list.bytes + Self.keyBytes(key.segment.request))
    }

    func getMatches(_ key: MatchKey) -> [UInt32]? {
        if case .matches(let d)? = cache.get(.matches(key)) { return d }
        return nil
    }

    func putMatches(_ key: MatchKey, _ docs: [UInt32]) {
        cache.put(.matches(key), .matches(docs), bytes: docs.count * 4 + 256 + key.filters.count * 64
                  + String(describing: key.query).utf8.count)
    }

    private static func keyBytes(_ key: RequestKey) -> Int {
        // A rough size: the filters' values and the query's terms dominate.
        256 + key.filters.count * 64 + key.numericFields.count * 8 + key.facets.count * 32
            + String(describing: key.query).utf8.count
    }
}

extension Query {
    /// Fields of the filters inside the query.
    func filterFields(into out: inout Set<Int>) {
        switch self {
        case .filter(let f): out.insert(f.field)
        case .boolean(let b):
            for q in b.must { q.filterFields(into: &out) }
            for q in b.should { q.filterFields(into: &out) }
            for q in b.mustNot { q.filterFields(into: &out) }
        case .disMax(let d): for q in d.clauses { q.filterFields(into: &out) }
        case .constant(let c): c.query.filterFields(into: &out)
        case .term, .phrase, .prefix, .matchAll, .matchNone: break
        }
    }
}
