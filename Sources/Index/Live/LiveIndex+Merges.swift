import Dispatch

/// Merges of a live index: which segments to merge comes from the options' `MergePolicy`; merges
/// run on a background queue, never block searches or writes, and replay onto the merged segment
/// the changes made while they ran.
extension LiveIndex {
    /// Blocks until no merge is running (and none would start).
    public func waitForMerges() {
        lock.withLock {
            while mergesRunning > 0 { lock.wait() }
        }
    }

    /// Merges every segment into one (in the calling thread), then publishes. Not committed.
    public func forceMerge() throws {
        let job: MergeJob? = try lock.withLock {
            try checkOpen()
            while mergesRunning > 0 { lock.wait() }
            try flushBufferLocked()
            let all = Array(states.indices)
            guard all.count > 1 || states.contains(where: { $0.deletedCount > 0 }) else { return nil }
            return startMergeLocked(all)
        }
        if let job { _ = runMerge(job) }
        lock.withLock { _ = try? publishLocked() }
    }


    struct MergeJob: @unchecked Sendable {
        let sources: [SegmentState]
        let views: [SegmentReader]
        let id: String
        let layout: SchemaLayout
    }

    /// Starts merges the policy asks for (on the merge queue).
    func scheduleMerges() {
        guard options.backgroundMerges else { return }
        let job: MergeJob? = lock.withLock {
            guard !isClosed, mergesRunning == 0, let pick = pickMergeLocked() else { return nil }
            return startMergeLocked(pick)
        }
        guard let job else { return }
        mergeQueue.async { [self] in
            // Each merge picks its successor before it counts itself finished, so `waitForMerges`
            // never sees a gap between two merges of one chain.
            var next: MergeJob? = job
            while let j = next { next = runMerge(j, pickNext: true) }
        }
    }

    /// The policy's pick among the current segments.
    func pickMergeLocked() -> [Int]? {
        let candidates = states.map { MergeCandidate(docCount: $0.meta.docCount, liveDocCount: $0.liveDocCount, merging: $0.merging) }
        guard let r = mergePolicy.pick(candidates), !r.isEmpty, r.lowerBound >= 0, r.upperBound <= states.count,
              !states[r].contains(where: { $0.merging }) else { return nil }
        return Array(r)
    }

    func startMergeLocked(_ indexes: [Int]) -> MergeJob {
        let sources = indexes.map { states[$0] }
        for st in sources {
            if st.viewStale { st.makeView() }
            st.merging = true
            st.mergeLog = []
        }
        let id = segmentName(nextSegment)
        nextSegment += 1
        reserved.insert(id)
        mergesRunning += 1
        return MergeJob(sources: sources, views: sources.map { $0.view }, id: id, layout: layoutValue)
    }

    /// Runs one merge and publishes it. With `pickNext`, a successful merge also starts the policy's
    /// next pick (under the same lock hold) and returns it for the caller to run.
    func runMerge(_ job: MergeJob, pickNext: Bool = false) -> MergeJob? {
        var merged: (SegmentMeta, [[Int32]], SegmentReader)?
        var failure: Error?
        do {
            let m = SegmentMerger(directory: directory, layout: job.layout, readers: job.views)
            let meta = try m.merge(into: job.id, sync: false)
            let r = try SegmentReader(directory: directory, meta: meta, textFieldCount: job.layout.textFields.count, verify: false)
            merged = (meta, m.docMaps, r)
        } catch {
            failure = error
        }
        return lock.withLock { () -> MergeJob? in
            defer {
                mergesRunning -= 1
                reserved.remove(job.id)
                lock.broadcast()
            }
            let first = states.firstIndex { $0 === job.sources[0] }
            let inPlace = first.map { f in
                f + job.sources.count <= states.count && zip(states[f..<(f + job.sources.count)], job.sources).allSatisfy { $0 === $1 }
            } ?? false
            guard let (meta, maps, reader) = merged, inPlace, let f = first else {
                for st in job.sources {
                    st.merging = false
                    st.mergeLog = nil
                }
                if let failure {
                    statsValue.mergeFailures += 1
                    lastMergeError = "\(failure)"
                }
                for name in (try? FileSystem.list(directory)) ?? [] where name.hasPrefix(job.id + ".") {
                    try? FileSystem.remove(directory + "/" + name)
                }
                return nil
            }
            let st = SegmentState(meta: meta, reader: reader, synced: false)
            for (i, src) in job.sources.enumerated() {
                for change in src.mergeLog ?? [] {
                    switch change {
                    case .delete(let d):
                        let nd = maps[i][d]
                        if nd >= 0 { st.deleteDoc(Int(nd)) }
                    case .set(let d, let field, let v):
                        let nd = maps[i][d]
                        if nd >= 0 { st.setValue(Int(nd), field: field, v) }
                    }
                }
                src.merging = false
                src.mergeLog = nil
            }
            states.replaceSubrange(f..<(f + job.sources.count), with: [st])
            statsValue.merges += 1
            statsValue.mergedDocs += meta.docCount
            uncommitted = true
            guard !isClosed else { return nil }
            _ = try? publishLocked()
            guard pickNext, options.backgroundMerges, let pick = pickMergeLocked() else { return nil }
            return startMergeLocked(pick)
        }
    }
}
