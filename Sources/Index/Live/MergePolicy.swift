/// One segment as a merge policy sees it.
public struct MergeCandidate: Sendable, Equatable {
    /// Documents (deleted ones included) and live documents.
    public var docCount: Int
    public var liveDocCount: Int
    /// A merge of it is already running.
    public var merging: Bool

    public init(docCount: Int, liveDocCount: Int, merging: Bool = false) {
        self.docCount = docCount
        self.liveDocCount = liveDocCount
        self.merging = merging
    }

    public var deletedCount: Int { docCount - liveDocCount }
}

/// Which segments of a live index to merge next: adjacent ones (oldest first, the order of the
/// index), none of them already merging; nil when the index is in shape. Asked after refreshes,
/// commits and merges; called under the writer's lock, so it must be quick and pure.
public protocol MergePolicy: Sendable {
    func pick(_ segments: [MergeCandidate]) -> Range<Int>?
}

/// The log-structured policy: `mergeFactor` adjacent segments of the same size level are merged
/// (levels grow by `mergeFactor`, segments below `minMergeDocs` count as that big); a segment whose
/// deleted share passes `reclaimDeletesAbove` is rewritten alone; past `maxSegments`, the adjacent
/// run with the fewest documents is merged whatever the levels.
public struct LogMergePolicy: MergePolicy {
    public var mergeFactor: Int
    public var minMergeDocs: Int
    public var reclaimDeletesAbove: Double
    public var maxSegments: Int

    public init(mergeFactor: Int = 8, minMergeDocs: Int = 2_000, reclaimDeletesAbove: Double = 0.3, maxSegments: Int = 48) {
        self.mergeFactor = mergeFactor
        self.minMergeDocs = minMergeDocs
        self.reclaimDeletesAbove = reclaimDeletesAbove
        self.maxSegments = maxSegments
    }

    /// The size level of a segment of `liveDocs` documents.
    public func level(_ liveDocs: Int) -> Int {
        var n = max(liveDocs, minMergeDocs)
        var l = 0
        let f = max(mergeFactor, 2)
        while n >= minMergeDocs * f {
            n /= f
            l += 1
        }
        return l
    }

    public func pick(_ s: [MergeCandidate]) -> Range<Int>? {
        let f = max(mergeFactor, 2)
        var i = 0
        while i < s.count {
            if s[i].merging { i += 1; continue }
            let l = level(s[i].liveDocCount)
            var j = i
            while j < s.count && !s[j].merging && level(s[j].liveDocCount) == l { j += 1 }
            if j - i >= f { return i..<(i + f) }
            i = max(j, i + 1)
        }
        // Reclaim deleted documents.
        if let r = s.indices.first(where: {
            !s[$0].merging && s[$0].docCount >= minMergeDocs && Double(s[$0].deletedCount) > reclaimDeletesAbove * Double(s[$0].docCount)
        }) {
            return r..<(r + 1)
        }
        // Too many segments: the adjacent run of `f` with the fewest documents.
        if s.count > maxSegments && s.count >= f {
            var best: (Int, Int)?
            for start in 0...(s.count - f) {
                let run = s[start..<(start + f)]
                guard !run.contains(where: { $0.merging }) else { continue }
                let docs = run.reduce(0) { $0 + $1.liveDocCount }
                if best == nil || docs < best!.1 { best = (start, docs) }
            }
            if let b = best { return b.0..<(b.0 + f) }
        }
        return nil
    }
}
