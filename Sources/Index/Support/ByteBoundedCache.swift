import Synchronization

/// A thread-safe map that forgets its least recently used entries once their sizes add up to more
/// than `capacityBytes` (down to 90% of it, so the sort eviction needs runs seldom). A capacity of
/// 0 turns it off: nothing is kept and every lookup misses without being counted.
final class ByteBoundedCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    struct Statistics: Sendable, Equatable {
        var hits = 0
        var misses = 0
        var evictions = 0
        var entries = 0
        var bytes = 0
        var capacityBytes = 0
    }

    private struct Entry {
        var value: Value
        var bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        var capacity: Int
        var stats = Statistics()
    }

    private let state: Mutex<State>

    init(capacityBytes: Int) {
        state = Mutex(State(capacity: max(0, capacityBytes)))
    }

    var capacityBytes: Int {
        get { state.withLock { $0.capacity } }
        set {
            state.withLock { s in
                s.capacity = max(0, newValue)
                Self.evict(&s)
            }
        }
    }

    func statistics() -> Statistics {
        state.withLock { s in
            var st = s.stats
            st.entries = s.entries.count
            st.bytes = s.bytes
            st.capacityBytes = s.capacity
            return st
        }
    }

    func removeAll() {
        state.withLock { s in
            s.entries = [:]
            s.bytes = 0
        }
    }

    func get(_ key: Key) -> Value? {
        state.withLock { s in
            guard s.capacity > 0 else { return nil }
            s.clock &+= 1
            guard var e = s.entries[key] else {
                s.stats.misses += 1
                return nil
            }
            s.stats.hits += 1
            e.lastUse = s.clock
            s.entries[key] = e
            return e.value
        }
    }

    /// Keeps `value` (an entry larger than a quarter of the capacity is not kept).
    func put(_ key: Key, _ value: Value, bytes: Int) {
        state.withLock { s in
            guard s.capacity > 0, bytes <= s.capacity / 4 else { return }
            s.clock &+= 1
            if let old = s.entries[key] { s.bytes -= old.bytes }
            s.entries[key] = Entry(value: value, bytes: bytes, lastUse: s.clock)
            s.bytes += bytes
            Self.evict(&s)
        }
    }

    private static func evict(_ s: inout State) {
        guard s.bytes > s.capacity else { return }
        let target = s.capacity / 10 * 9
        for (k, e) in s.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
            if s.bytes <= target { break }
            s.entries[k] = nil
            s.bytes -= e.bytes
            s.stats.evictions += 1
        }
    }
}

/// Recently decompressed stored-field blocks, shared by every segment: a result page's hits, and
/// the pages asked for most, are read from memory instead of decompressed again. Segment files
/// never change, so entries are never stale (those of dropped segments age out).
public final class StoredBlockCache: @unchecked Sendable {
    /// 64 MiB.
    public static let defaultCapacityBytes = 64 << 20
    public static let shared = StoredBlockCache(capacityBytes: defaultCapacityBytes)

    struct Key: Hashable {
        var file: UInt64
        var block: Int
    }

    private let cache: ByteBoundedCache<Key, [UInt8]>

    public init(capacityBytes: Int) { cache = ByteBoundedCache(capacityBytes: capacityBytes) }

    /// 0 turns the cache off.
    public var capacityBytes: Int {
        get { cache.capacityBytes }
        set { cache.capacityBytes = newValue }
    }

    public var statistics: CacheStatistics { CacheStatistics(cache.statistics()) }

    func get(file: UInt64, block: Int) -> [UInt8]? { cache.get(Key(file: file, block: block)) }

    func put(file: UInt64, block: Int, _ raw: [UInt8]) { cache.put(Key(file: file, block: block), raw, bytes: raw.count + 64) }
}

/// A cache's figures, for the stats endpoint and benchmarks.
public struct CacheStatistics: Sendable, Equatable {
    public var hits: Int
    public var misses: Int
    public var evictions: Int
    public var entries: Int
    public var bytes: Int
    public var capacityBytes: Int

    init<K, V>(_ s: ByteBoundedCache<K, V>.Statistics) {
        hits = s.hits
        misses = s.misses
        evictions = s.evictions
        entries = s.entries
        bytes = s.bytes
        capacityBytes = s.capacityBytes
    }
}
