import Synchronization

/// A thread-safe map that forgets its least recently used entries once their sizes add up to more
/// than `capacityBytes`. Lookups, insertions and evictions are O(1): the entries form a doubly
/// linked list in order of use (indices into one array, so no allocation per entry). A capacity
/// of 0 turns it off: nothing is kept and every lookup misses without being counted.
final class ByteBoundedCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private struct Node {
        var key: Key?
        var value: Value?
        var bytes = 0
        var prev = -1
        var next = -1
    }

    private struct State {
        var index: [Key: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        /// Most recently used first.
        var head = -1
        var tail = -1
        var bytes = 0
        var capacity: Int
        var stats = CacheStatistics()

        mutating func unlink(_ i: Int) {
            let p = nodes[i].prev, n = nodes[i].next
            if p >= 0 { nodes[p].next = n } else { head = n }
            if n >= 0 { nodes[n].prev = p } else { tail = p }
            nodes[i].prev = -1
            nodes[i].next = -1
        }

        mutating func pushFront(_ i: Int) {
            nodes[i].prev = -1
            nodes[i].next = head
            if head >= 0 { nodes[head].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func remove(_ i: Int) {
            unlink(i)
            if let k = nodes[i].key { index[k] = nil }
            bytes -= nodes[i].bytes
            nodes[i] = Node()
            free.append(i)
        }

        /// Least recently used first, until the entries fit.
        mutating func evict() {
            while bytes > capacity && tail >= 0 {
                remove(tail)
                stats.evictions += 1
            }
        }
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
                s.evict()
            }
        }
    }

    func statistics() -> CacheStatistics {
        state.withLock { s in
            var st = s.stats
            st.entries = s.index.count
            st.bytes = s.bytes
            st.capacityBytes = s.capacity
            return st
        }
    }

    func removeAll() {
        state.withLock { s in
            s.index = [:]
            s.nodes = []
            s.free = []
            s.head = -1
            s.tail = -1
            s.bytes = 0
        }
    }

    func get(_ key: Key) -> Value? {
        state.withLock { s in
            guard s.capacity > 0 else { return nil }
            guard let i = s.index[key] else {
                s.stats.misses += 1
                return nil
            }
            s.stats.hits += 1
            if s.head != i {
                s.unlink(i)
                s.pushFront(i)
            }
            return s.nodes[i].value
        }
    }

    /// Keeps `value` (an entry larger than a quarter of the capacity is not kept).
    func put(_ key: Key, _ value: Value, bytes: Int) {
        state.withLock { s in
            guard s.capacity > 0, bytes <= s.capacity / 4 else { return }
            if let i = s.index[key] {
                s.bytes += bytes - s.nodes[i].bytes
                s.nodes[i].value = value
                s.nodes[i].bytes = bytes
                s.unlink(i)
                s.pushFront(i)
            } else {
                let i: Int
                if let f = s.free.popLast() { i = f } else { i = s.nodes.count; s.nodes.append(Node()) }
                s.nodes[i] = Node(key: key, value: value, bytes: bytes)
                s.index[key] = i
                s.bytes += bytes
                s.pushFront(i)
            }
            s.evict()
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

    public var statistics: CacheStatistics { cache.statistics() }

    func get(file: UInt64, block: Int) -> [UInt8]? { cache.get(Key(file: file, block: block)) }

    func put(file: UInt64, block: Int, _ raw: [UInt8]) { cache.put(Key(file: file, block: block), raw, bytes: raw.count + 64) }
}

/// A cache's figures, for the stats endpoint and benchmarks.
public struct CacheStatistics: Sendable, Equatable {
    public var hits = 0
    public var misses = 0
    public var evictions = 0
    public var entries = 0
    public var bytes = 0
    public var capacityBytes = 0
}
