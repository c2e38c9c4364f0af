/// The in-memory term dictionary of a segment being built: interns term keys (slot prefix + term
/// bytes) to dense term ids with an open-addressing hash table. Keys live in one byte arena.
final class TermTable {
    private(set) var keyBytes: UnsafeMutablePointer<UInt8>
    private var keyCapacity: Int
    private(set) var keyUsed = 0
    /// Per term id: key offset (low 32 bits) and length (next 16) in `keyBytes`: one memory read.
    private var keyMeta: [UInt64] = []

    /// Hash slots: the key's hash (high 32 bits) and term id + 1 (low 32), 0 = empty; a probe
    /// reads one word.
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int

    var count: Int { keyMeta.count }

    @inline(__always) private func keyOffset(_ id: Int) -> Int { Int(truncatingIfNeeded: keyMeta[id] & 0xFFFF_FFFF) }
    @inline(__always) private func keyLength(_ id: Int) -> Int { Int(truncatingIfNeeded: (keyMeta[id] >> 32) & 0xFFFF) }

    init(initialCapacity: Int = 1 << 16) {
        var cap = 1
        while cap < initialCapacity * 2 { cap <<= 1 }
        mask = cap - 1
        slots = .allocate(capacity: cap)
        slots.initialize(repeating: 0, count: cap)
        keyCapacity = 1 << 20
        keyBytes = .allocate(capacity: keyCapacity)
        keyMeta.reserveCapacity(initialCapacity)
    }

    deinit {
        slots.deallocate()
        keyBytes.deallocate()
    }

    var memoryBytes: Int { keyCapacity + (mask + 1) * 8 + keyMeta.capacity * 8 }

    @inline(__always) static func hash(slot: UInt16, _ p: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(slot)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var s: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << s
                s += 8
                i += 1
            }
            h = (h ^ w ^ (UInt64(n) << 56)) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 29
        h = h &* 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }

    /// Returns the id of the key `slot ++ term`, adding it if new.
    @inline(__always)
    func intern(slot: UInt16, _ term: UnsafePointer<UInt8>, _ n: Int) -> UInt32 {
        let h = TermTable.hash(slot: slot, term, n)
        var i = Int(h) & mask
        let tag = UInt64(h) << 32
        while true {
            let s = slots[i]
            if s == 0 { break }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let id = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) - 1
                let meta = keyMeta[id]
                if Int(truncatingIfNeeded: (meta >> 32) & 0xFFFF) == n + 2 {
                    let k = keyBytes + Int(truncatingIfNeeded: meta & 0xFFFF_FFFF)
                    if k[0] == UInt8(slot >> 8) && k[1] == UInt8(slot & 0xFF) && memcmpEqual(k + 2, term, n) {
                        return UInt32(id)
                    }
                }
            }
            i = (i + 1) & mask
        }
        // New key.
        let id = UInt32(keyMeta.count)
        if keyUsed + n + 2 > keyCapacity {
            var newCap = keyCapacity * 2
            while keyUsed + n + 2 > newCap { newCap *= 2 }
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap)
            nb.update(from: keyBytes, count: keyUsed)
            keyBytes.deallocate()
            keyBytes = nb
            keyCapacity = newCap
        }
        let k = keyBytes + keyUsed
        k[0] = UInt8(slot >> 8)
        k[1] = UInt8(slot & 0xFF)
        (k + 2).update(from: term, count: n)
        keyMeta.append(UInt64(UInt32(keyUsed)) | UInt64(UInt16(n + 2)) << 32)
        keyUsed += n + 2
        slots[i] = tag | UInt64(id + 1)
        if keyMeta.count * 2 > mask + 1 { grow() }
        return id
    }

    private func grow() {
        let newCap = (mask + 1) * 2
        let ns = UnsafeMutablePointer<UInt64>.allocate(capacity: newCap)
        ns.initialize(repeating: 0, count: newCap)
        let nm = newCap - 1
        // Each slot carries its key's hash: moved as it is.
        for old in 0...mask where slots[old] != 0 {
            var i = Int(truncatingIfNeeded: slots[old] >> 32) & nm
            while ns[i] != 0 { i = (i + 1) & nm }
            ns[i] = slots[old]
        }
        slots.deallocate()
        slots = ns
        mask = nm
    }

    /// The key of a term id (slot prefix included).
    @inline(__always) func key(_ id: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: keyBytes + keyOffset(id), count: keyLength(id))
    }

    @inline(__always) func slot(_ id: Int) -> Int {
        let k = keyBytes + keyOffset(id)
        return Int(k[0]) << 8 | Int(k[1])
    }

    /// Term ids sorted by key bytes: by the keys' first 8 bytes (big-endian, zero-padded: for keys
    /// a, b, prefix(a) < prefix(b) implies a < b), whole keys compared only where those tie.
    func sortedIds() -> [UInt32] {
        let kb = keyBytes
        var entries = [(prefix: UInt64, id: UInt32)]()
        entries.reserveCapacity(count)
        for id in 0..<count {
            let k = kb + keyOffset(id), n = min(keyLength(id), 8)
            var p: UInt64 = 0
            for i in 0..<n { p |= UInt64(k[i]) << UInt64(56 - 8 * i) }
            entries.append((p, UInt32(id)))
        }
        keyMeta.withUnsafeBufferPointer { meta in
            entries.withUnsafeMutableBufferPointer { buf in
                buf.sort { a, b in
                    if a.prefix != b.prefix { return a.prefix < b.prefix }
                    let ma = meta[Int(a.id)], mb = meta[Int(b.id)]
                    return compareKeys(kb + Int(truncatingIfNeeded: ma & 0xFFFF_FFFF), Int(truncatingIfNeeded: (ma >> 32) & 0xFFFF),
                                       kb + Int(truncatingIfNeeded: mb & 0xFFFF_FFFF), Int(truncatingIfNeeded: (mb >> 32) & 0xFFFF)) < 0
                }
            }
        }
        return entries.map { $0.id }
    }
}

@inline(__always) func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}

/// Lexicographic byte comparison (shorter prefix first).
@inline(__always) func compareKeys(_ a: UnsafePointer<UInt8>, _ an: Int, _ b: UnsafePointer<UInt8>, _ bn: Int) -> Int {
    let n = min(an, bn)
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        let x = UInt64(bigEndian: ra.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let y = UInt64(bigEndian: rb.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        i += 1
    }
    return an == bn ? 0 : (an < bn ? -1 : 1)
}

/// Compare two raw byte buffers.
@inline(__always) func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let an = a.count, bn = b.count
    if an == 0 || bn == 0 { return an == bn ? 0 : (an < bn ? -1 : 1) }
    return compareKeys(a.baseAddress!.assumingMemoryBound(to: UInt8.self), an,
                       b.baseAddress!.assumingMemoryBound(to: UInt8.self), bn)
}

/// Append-only byte streams, one per term, in one arena of 1 MiB pages (tantivy's "stacker"):
/// each stream is a chain of blocks that double in size (16 bytes up to 32 KiB), the last 4 bytes of
/// a block holding the address of the next. Addresses are 32-bit: page (12 bits) and offset (20 bits).
final class PostingsArena {
    static let pageBits = 20
    static let pageSize = 1 << pageBits
    private var pages: [UnsafeMutablePointer<UInt8>] = []
    private var pageUsed = PostingsArena.pageSize

    var memoryBytes: Int { pages.count * PostingsArena.pageSize }

    deinit { for p in pages { p.deallocate() } }

    @inline(__always) func pointer(_ addr: UInt32) -> UnsafeMutablePointer<UInt8> {
        pages[Int(addr >> UInt32(PostingsArena.pageBits))] + Int(addr & UInt32(PostingsArena.pageSize - 1))
    }

    /// Allocates `size` bytes (size <= page size) and returns the address.
    @inline(__always) func allocate(_ size: Int) -> UInt32 {
        if pageUsed + size > PostingsArena.pageSize {
            precondition(pages.count < 4096, "postings arena is full (4 GiB); flush segments earlier")
            pages.append(.allocate(capacity: PostingsArena.pageSize))
            pageUsed = 0
        }
        let addr = UInt32(pages.count - 1) << UInt32(PostingsArena.pageBits) | UInt32(pageUsed)
        pageUsed += size
        return addr
    }

    static func blockSize(level: UInt8) -> Int { min(16 << Int(level), 1 << 15) }
}

/// Write position of one term's stream.
struct StreamState {
    var head: UInt32 = 0
    var cursor: UInt32 = 0
    var end: UInt32 = 0   // address of the link slot of the current block
    var level: UInt8 = 0
    var started = false
}

extension PostingsArena {
    @inline(__always) func write(_ s: inout StreamState, _ byte: UInt8) {
        if !s.started {
            let size = PostingsArena.blockSize(level: 0)
            let a = allocate(size)
            s.head = a
            s.cursor = a
            s.end = a + UInt32(size - 4)
            s.started = true
        } else if s.cursor == s.end {
            s.level = min(s.level + 1, 11)
            let size = PostingsArena.blockSize(level: s.level)
            let a = allocate(size)
            UnsafeMutableRawPointer(pointer(s.end)).storeBytes(of: a, as: UInt32.self)
            s.cursor = a
            s.end = a + UInt32(size - 4)
        }
        pointer(s.cursor).pointee = byte
        s.cursor += 1
    }

    @inline(__always) func writeVInt(_ s: inout StreamState, _ value: UInt32) {
        var v = value
        while v >= 0x80 {
            write(&s, UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        write(&s, UInt8(v))
    }
}

/// Reads a stream written by `PostingsArena.write` from its head to its final cursor.
struct StreamReader {
    let arena: PostingsArena
    var pos: UInt32
    var end: UInt32
    var level: UInt8 = 0
    let stop: UInt32

    init(arena: PostingsArena, state: StreamState) {
        self.arena = arena
        pos = state.head
        end = state.head + UInt32(PostingsArena.blockSize(level: 0) - 4)
        stop = state.cursor
    }

    var atEnd: Bool { pos == stop }

    @inline(__always) mutating func byte() -> UInt8 {
        if pos == end {
            let next = UnsafeRawPointer(arena.pointer(end)).load(as: UInt32.self)
            level = min(level + 1, 11)
            pos = next
            end = next + UInt32(PostingsArena.blockSize(level: level) - 4)
        }
        let b = arena.pointer(pos).pointee
        pos += 1
        return b
    }

    @inline(__always) mutating func vint() -> UInt32 {
        var b = byte()
        var v = UInt32(b & 0x7F)
        var shift: UInt32 = 7
        while b >= 0x80 {
            b = byte()
            v |= UInt32(b & 0x7F) << shift
            shift += 7
        }
        return v
    }
}
