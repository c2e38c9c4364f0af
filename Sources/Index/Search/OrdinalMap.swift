import Synchronization

/// The values of a keyword doc values field over every segment of a searcher, in value order, and
/// each segment's ordinals mapped to them (Lucene's OrdinalMap), so facet counts merge by number and
/// only the values shown are ever turned into strings. Built once per field and searcher.
final class OrdinalMap: Sendable {
    let values: [String]
    let segmentToGlobal: [[Int32]]

    init(values: [String], segmentToGlobal: [[Int32]]) {
        self.values = values
        self.segmentToGlobal = segmentToGlobal
    }

    static func build(_ searcher: Searcher, field: Int) throws -> OrdinalMap {
        var perSegment: [[[UInt8]]] = []
        var all = Set<[UInt8]>()
        for seg in searcher.segments {
            let vals = try seg.docValues.ordinals[field]?.dictionary.allValues() ?? []
            perSegment.append(vals)
            all.formUnion(vals)
        }
        let sorted = all.sorted { $0.lexicographicallyPrecedes($1) }
        var index: [[UInt8]: Int32] = [:]
        index.reserveCapacity(sorted.count)
        for (i, v) in sorted.enumerated() { index[v] = Int32(i) }
        return OrdinalMap(values: sorted.map { String(decoding: $0, as: UTF8.self) },
                          segmentToGlobal: perSegment.map { $0.map { index[$0]! } })
    }
}

/// Per-searcher cache of ordinal maps.
final class OrdinalMapCache: Sendable {
    private let maps = Mutex<[Int: OrdinalMap]>([:])

    func get(_ searcher: Searcher, field: Int) throws -> OrdinalMap {
        if let m = maps.withLock({ $0[field] }) { return m }
        let m = try OrdinalMap.build(searcher, field: field)
        maps.withLock { $0[field] = m }
        return m
    }
}

extension Searcher {
    func ordinalMap(field: Int) throws -> OrdinalMap { try ordinalMaps.get(self, field: field) }
}
