import Foundation
import Testing
@testable import AisleIndex

/// The per-segment cache of counts, facets and best hits (`SegmentFacetCache`) under live
/// updates: the same browse requests asked again and again, with deletes, upserts and in-place
/// price / stock / rating updates in between, must answer what the searcher answers without the
/// cache (totals and facets bit for bit; hits the same, relevance scores to the last bits) and
/// what the naive searcher answers.
@Suite struct SegmentFacetCacheTests {
    typealias L = LiveIndexTests
    static let S = L.schema
    static let brand = S.ordinal(of: "brand")!, category = S.ordinal(of: "category")!, color = S.ordinal(of: "color")!
    static let price = L.price, rating = L.rating, stock = L.stock

    /// Browse-page requests: a category or brand, sometimes a query and a price cap, the shop's
    /// facets, each sort, several pages.
    static func requests(_ rng: inout SeededRandom, gen: QueryGenerator) -> [SearchSpec] {
        var out: [SearchSpec] = []
        for i in 0..<24 {
            var spec = SearchSpec()
            if i % 3 == 1 { spec.query = gen.query(&rng) }
            switch i % 4 {
            case 0: spec.filters.append(Filter(field: category, kind: .path("Home")))
            case 1: spec.filters.append(Filter(field: category, kind: .path("Home > Sofas")))
            case 2: spec.filters.append(Filter(field: brand, kind: .anyOf(Array(RandomCorpus.brands.prefix(2)))))
            default: break
            }
            if i % 5 == 2 { spec.filters.append(Filter(field: price, kind: .range(min: nil, max: 300))) }
            if i % 7 == 3 { spec.filters.append(Filter(field: stock, kind: .equals(true))) }
            spec.facets = [FacetSpec(field: brand, kind: .terms(size: 3)),
                           FacetSpec(field: category, kind: .hierarchy(path: i % 2 == 0 ? "Home" : nil, size: 3)),
                           FacetSpec(field: price, kind: .ranges(i % 3 == 0 ? nil
                               : [NumericRange(from: nil, to: 50), NumericRange(from: 50, to: 200), NumericRange(from: 200, to: nil)]))]
            if i % 6 == 5 { spec.facets = [FacetSpec(field: color, kind: .terms(size: 4))] }
            if i % 8 == 7 { spec.facets = [] }   // a sorted search without facets
            spec.multiSelect = i % 5 != 4
            spec.sort = [.relevance, .field(price, descending: false), .field(price, descending: true), .field(rating, descending: true)][i % 4]
            spec.limit = [10, 24, 5][i % 3]
            spec.offset = [0, 10, 24, 48][(i / 3) % 4]
            spec.trackTotalHits = .exact
            out.append(spec)
        }
        return out
    }

    func run(label: String, merges: Bool, rounds: Int) throws {
        var (rng, seed) = SeededRandom.fromEnvironment(label)
        let pool = RandomCorpus(count: 1200, rng: &rng, shuffledIds: true).docs
        let dir = temporaryDirectory(label)
        defer { removeDirectory(dir) }
        var options = LiveIndex.Options()
        options.sync = false
        options.backgroundMerges = merges
        options.mergeFactor = 3
        options.minMergeDocs = 20
        let index = try LiveIndex.create(directory: dir, schema: Self.S, options: options)
        var model = L.Model()
        var next = 0
        func upsert(_ id: String?) throws {
            var d = pool[next % pool.count]
            next += 1
            d.id = id ?? "N\(model.versions.count)"
            let v = model.versions.count
            model.versions.append(d)
            model.live[d.id] = v
            try index.upsert(L.document(d, ver: v))
        }
        // Several segments, so that an update leaves most of them (and their entries) alone.
        for i in 0..<600 {
            try upsert(nil)
            if i % 150 == 149 { _ = try index.refresh() }
        }
        let cache = SegmentFacetCache(capacityBytes: 8 << 20)
        let requests = Self.requests(&rng, gen: QueryGenerator(layout: index.layout))
        let oracle = SearchSpecOracleTests()
        for round in 0..<rounds {
            if merges { index.waitForMerges() }
            let s = try index.refresh()
            let (naive, ids) = try model.naive(for: s)
            // Each request twice: the second time from the cache.
            for pass in 0..<2 {
                for (ri, r) in requests.enumerated() {
                    var cached = r
                    cached.facetCache = cache
                    var plain = r
                    plain.facetCache = nil
                    let got = try s.search(cached)
                    let want = try s.search(plain)
                    let ctx = "seed \(seed) round \(round) pass \(pass) request \(ri)"
                    #expect(got.totalHits == want.totalHits, "\(ctx): total")
                    // Relevance pages with cached counts take the pruned path, which sums a document's
                    // term scores in another order: scores may differ in the last bits (as between a
                    // page with facets and one without), so near-ties may swap.
                    #expect(got.hits.count == want.hits.count, "\(ctx): \(got.hits.count) hits vs \(want.hits.count)")
                    for (i, (g, w)) in zip(got.hits, want.hits).enumerated() {
                        let close = abs(g.score - w.score) <= 1e-4 * max(1, abs(w.score))
                        #expect(close && g.sortValue == w.sortValue && (g.doc == w.doc || close),
                                "\(ctx): rank \(i): \(g) vs \(w); \(r.sort) offset \(r.offset) query \(r.query)")
                    }
                    #expect(got.facets == want.facets, "\(ctx): facets")
                    oracle.check(r, got: got, want: naive.run(r), ids: ids, context: ctx)
                }
            }
            // Updates between rounds: a few in-place sets, deletes and upserts, each touching one segment.
            let liveIds = Array(model.live.keys).sorted()
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let id = liveIds.randomElement(using: &rng)!
                guard let v = model.live[id] else { continue }
                switch Int.random(in: 0..<6, using: &rng) {
                case 0:
                    _ = try index.delete(id: id)
                    model.live[id] = nil
                case 1: try upsert(id)
                case 2: try upsert(nil)
                default:
                    let f = [Self.price, Self.stock, Self.rating].randomElement(using: &rng)!
                    let value: Double? = f == Self.stock ? Double(Int.random(in: 0...1, using: &rng))
                        : f == Self.rating ? Double(Int.random(in: 10...50, using: &rng)) / 10
                        : Double(Int.random(in: 100...90_000, using: &rng)) / 100
                    #expect(try index.setValues(id: id, [(f, value)]))
                    model.versions[v].numbers[f] = value
                }
            }
            if round % 4 == 3 { try index.commit() }
        }
        let st = cache.statistics
        #expect(st.hits > rounds * requests.count / 2, "seed \(seed): the second pass of each round should hit: \(st)")
        #expect(st.bytes <= st.capacityBytes)
        index.close()
    }

    @Test func updatesNeverServeAStaleCount() throws {
        try run(label: "facet-cache", merges: false, rounds: 16)
    }

    @Test func updatesAndMergesNeverServeAStaleCount() throws {
        try run(label: "facet-cache-merge", merges: true, rounds: 16)
    }

    /// A live index without background merges over `documents` random products, a segment (a
    /// refresh) every `segmentSize` of them.
    static func liveIndex(_ dir: String, documents: Int, seed: UInt64, segmentSize: Int) throws -> (LiveIndex, [NaiveDoc]) {
        var o = LiveIndex.Options()
        o.sync = false
        o.backgroundMerges = false
        let index = try LiveIndex.create(directory: dir, schema: S, options: o)
        var rng = SeededRandom(seed: seed)
        let docs = RandomCorpus(count: documents, rng: &rng).docs
        for (i, d) in docs.enumerated() {
            try index.upsert(L.document(d, ver: i))
            if i % segmentSize == segmentSize - 1 { _ = try index.refresh() }
        }
        return (index, docs)
    }

    /// An update to one segment leaves the other segments' entries in use; an update to a field a
    /// request does not read leaves even that segment's entry in use.
    @Test func entriesSurviveUpdatesElsewhere() throws {
        let dir = temporaryDirectory("facet-cache-survive")
        defer { removeDirectory(dir) }
        let (index, docs) = try Self.liveIndex(dir, documents: 400, seed: 11, segmentSize: 100)
        let cache = SegmentFacetCache(capacityBytes: 8 << 20)
        var spec = SearchSpec()
        spec.facets = [FacetSpec(field: Self.brand, kind: .terms(size: 5))]
        spec.filters = [Filter(field: Self.category, kind: .path("Home"))]
        spec.trackTotalHits = .exact
        spec.facetCache = cache
        var s = try index.refresh()
        #expect(s.segments.count == 4)
        _ = try s.search(spec)
        let cold = cache.statistics
        // The rating is read by nothing here: every segment's entry stays (one whole-search hit).
        #expect(try index.setValues(id: docs[0].id, [(Self.rating, 4.5)]))
        s = try index.refresh()
        _ = try s.search(spec)
        var warm = cache.statistics
        #expect(warm.hits == cold.hits + 1, "\(cold) → \(warm)")
        // A delete in the first segment: its entry is new, the three others are reused.
        _ = try index.delete(id: docs[1].id)
        s = try index.refresh()
        var plain = spec
        plain.facetCache = nil
        let got = try s.search(spec)
        #expect(got.facets == (try s.search(plain)).facets)
        #expect(got.totalHits == (try s.search(plain)).totalHits)
        let after = cache.statistics
        #expect(after.hits == warm.hits + 3, "\(warm) → \(after)")
        // A price update to the last segment, with a price filter: that segment's entry is new.
        spec.filters.append(Filter(field: Self.price, kind: .range(min: 10, max: nil)))
        _ = try s.search(spec)
        warm = cache.statistics
        #expect(try index.setValues(id: docs[399].id, [(Self.price, 5)]))
        s = try index.refresh()
        plain = spec
        plain.facetCache = nil
        #expect(try s.search(spec).totalHits == (try s.search(plain)).totalHits)
        #expect(cache.statistics.hits == warm.hits + 3)
        index.close()
    }

    /// The cache keeps to its capacity, evicting the least recently used entries; 0 turns it off.
    @Test func capacityIsABound() throws {
        let dir = temporaryDirectory("facet-cache-bound")
        defer { removeDirectory(dir) }
        let (index, _) = try Self.liveIndex(dir, documents: 300, seed: 5, segmentSize: 300)
        let s = try index.refresh()
        let cache = SegmentFacetCache(capacityBytes: 64 << 10)
        for i in 0..<200 {
            var spec = SearchSpec()
            spec.filters = [Filter(field: Self.price, kind: .range(min: Double(i), max: nil))]
            spec.facets = [FacetSpec(field: Self.price, kind: .ranges(nil)), FacetSpec(field: Self.brand, kind: .terms(size: 3))]
            spec.facetCache = cache
            _ = try s.search(spec)
            #expect(cache.statistics.bytes <= 64 << 10)
        }
        #expect(cache.statistics.evictions > 0)
        cache.capacityBytes = 0
        #expect(cache.statistics.bytes == 0 && cache.statistics.entries == 0)
        var spec = SearchSpec()
        spec.facets = [FacetSpec(field: Self.brand, kind: .terms(size: 3))]
        spec.facetCache = cache
        let before = cache.statistics
        _ = try s.search(spec)
        #expect(cache.statistics == before, "a cache turned off is not consulted")
        index.close()
    }
}

/// The byte-bounded LRU under both caches, against a model: a list in order of use.
@Suite struct ByteBoundedCacheTests {
    @Test func evictsLeastRecentlyUsedFirstAndKeepsItsBound() {
        var rng = SeededRandom(seed: 3)
        let cap = 1000
        let cache = ByteBoundedCache<Int, Int>(capacityBytes: cap)
        var model: [(key: Int, value: Int, bytes: Int)] = []   // most recent first
        for step in 0..<20_000 {
            let key = Int.random(in: 0..<60, using: &rng)
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let got = cache.get(key)
                if let i = model.firstIndex(where: { $0.key == key }) {
                    #expect(got == model[i].value, "step \(step): get \(key)")
                    model.insert(model.remove(at: i), at: 0)
                } else {
                    #expect(got == nil, "step \(step): \(key) should be gone")
                }
            } else {
                let bytes = Int.random(in: 1...300, using: &rng)
                cache.put(key, step, bytes: bytes)
                guard bytes <= cap / 4 else { continue }
                model.removeAll { $0.key == key }
                model.insert((key, step, bytes), at: 0)
                while model.reduce(0, { $0 + $1.bytes }) > cap { model.removeLast() }
            }
            let st = cache.statistics()
            #expect(st.bytes == model.reduce(0) { $0 + $1.bytes } && st.entries == model.count, "step \(step)")
            #expect(st.bytes <= cap)
        }
        cache.capacityBytes = 100
        #expect(cache.statistics().bytes <= 100)
        cache.removeAll()
        #expect(cache.statistics().entries == 0 && cache.statistics().bytes == 0)
    }
}
