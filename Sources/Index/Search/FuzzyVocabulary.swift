import CVectorMath

/// The terms of one slot of a segment, laid out for fuzzy scans: grouped by length (a term of
/// length n is within e edits only of terms of length n-e ... n+e), each with its document
/// frequency and a 64-bit signature of the bytes it contains. One edit changes the set of a term's
/// bytes by at most two members (a substitution drops one and adds one; an insertion or a deletion
/// changes one; a transposition none), so terms whose signatures differ in more than 2e bits are
/// skipped without computing a distance. Built once per segment on first use, from the
/// dictionary, and shared by every searcher over that segment.
final class FuzzyVocabulary: Sendable {
    /// Terms of one length, concatenated, with their document frequencies and signatures.
    struct LengthGroup: Sendable {
        var bytes: [UInt8] = []
        var docFrequencies: [UInt32] = []
        var signatures: [UInt64] = []
    }

    /// Indexed by term length.
    let groups: [LengthGroup]

    init(segment: SegmentReader, slot: Int) throws {
        var groups: [LengthGroup] = []
        let prefix = SegmentReader.key(slot: slot, term: [])
        var it = try segment.terms.seek(prefix)
        while try it.next() {
            // Pair terms (`PairTerms`) sort after every word of the slot.
            guard it.slot == slot, !PairTerms.isPair(it.key[2...]) else { break }
            let length = it.key.count - 2
            guard length > 0 else { continue }
            if groups.count <= length { groups += Array(repeating: LengthGroup(), count: length + 1 - groups.count) }
            groups[length].bytes.append(contentsOf: it.key[2...])
            groups[length].docFrequencies.append(it.info.docCount)
            groups[length].signatures.append(Self.signature(it.key[2...]))
        }
        self.groups = groups
    }

    /// The indexes of the signatures within `maxBits` differing bits of `sig`, in order (replacing
    /// `out`'s contents), taken `chunk` at a time from `aisle_signature_filter` (POPCNT in C).
    static func passing(_ sigs: UnsafeBufferPointer<UInt64>, sig: UInt64, maxBits: Int, chunk: Int = 1024, into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        let hits = UnsafeMutablePointer<UInt32>.allocate(capacity: max(chunk, 1))
        defer { hits.deallocate() }
        var from = 0
        while from < sigs.count {
            var next = 0
            let k = aisle_signature_filter(sigs.baseAddress, from, sigs.count, sig, Int32(maxBits), hits, max(chunk, 1), &next)
            for h in 0..<k { out.append(Int(hits[h])) }
            from = next
        }
    }

    @inline(__always) static func signature<C: Collection>(_ term: C) -> UInt64 where C.Element == UInt8 {
        var s: UInt64 = 0
        for b in term { s |= 1 << UInt64(b & 63) }
        return s
    }

    /// Every term within `maxEdits` of `term` (0 excluded) that starts with its first `prefixLength`
    /// bytes, passed to `found` with its distance and document frequency.
    func scan(term: [UInt8], maxEdits: Int, prefixLength: Int, scratch: inout EditDistanceScratch,
              found: ([UInt8], Int, Int) -> Void) {
        let n = term.count
        let sig = Self.signature(term)
        let maxBits = 2 * maxEdits
        var passed: [Int] = []
        term.withUnsafeBufferPointer { tb in
            for length in max(1, n - maxEdits)...(n + maxEdits) where length < groups.count {
                let g = groups[length]
                g.bytes.withUnsafeBufferPointer { bytes in
                    g.signatures.withUnsafeBufferPointer { Self.passing($0, sig: sig, maxBits: maxBits, into: &passed) }
                    for i in passed {
                        let candidate = UnsafeBufferPointer(rebasing: bytes[(i * length)..<((i + 1) * length)])
                        if prefixLength > 0 {
                            guard length >= prefixLength else { continue }
                            var same = true
                            for k in 0..<prefixLength where candidate[k] != tb[k] { same = false; break }
                            guard same else { continue }
                        }
                        let d = scratch.distance(tb, candidate, bound: maxEdits)
                        if d > 0 && d <= maxEdits { found(Array(candidate), d, Int(g.docFrequencies[i])) }
                    }
                }
            }
        }
    }
}

/// A segment's fuzzy vocabularies per slot, built on first use (thread-safe).
final class FuzzyVocabularies: @unchecked Sendable {
    private let lock = StateLock()
    private var bySlot: [Int: FuzzyVocabulary] = [:]

    func isBuilt(slot: Int) -> Bool { lock.withLock { bySlot[slot] != nil } }

    func vocabulary(segment: SegmentReader, slot: Int) throws -> FuzzyVocabulary {
        if let v = lock.withLock({ bySlot[slot] }) { return v }
        // Built outside the lock (two racing builders make equal vocabularies; the first one stays).
        let v = try FuzzyVocabulary(segment: segment, slot: slot)
        return lock.withLock {
            if let old = bySlot[slot] { return old }
            bySlot[slot] = v
            return v
        }
    }
}
