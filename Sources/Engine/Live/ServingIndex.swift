import Foundation
import Synchronization
import AisleIndex

/// The index a server searches and writes: the current generation of an index path, opened as
/// the live writer (or, when another process holds the write lock, as a read-only follower of its
/// commits), kept fresh by a background thread that
///
/// - refreshes every `refreshInterval` when there are unpublished changes (accepted writes become
///   searchable within about that time),
/// - commits every `commitInterval` when there are uncommitted changes,
/// - watches the path's `CURRENT` and switches to a new generation when a rebuild publishes one;
///   the old generation is closed and removed once no search holds a snapshot of it.
public final class ServingIndex: @unchecked Sendable {
    public struct Options: Sendable {
        public var refreshInterval: Double = 0.1
        public var commitInterval: Double = 2
        public var watchInterval: Double = 0.25
        /// Elasticsearch's "search idle": with no search for this long (seconds), scheduled
        /// refreshes stop (a bulk load then writes few, large segments); the next search refreshes
        /// first (`searchStarting`), so it still sees every accepted write. nil: never idle.
        public var searchIdleAfter: Double?
        public var live = LiveIndex.Options()
        public init() {}
    }

    /// One opened generation.
    final class Generation: @unchecked Sendable {
        let name: String?               // nil: the path itself is the index
        let directory: String
        let live: LiveIndex?
        let updater: IndexUpdater?
        var follower: Searcher?         // read-only: the newest commit opened
        /// Snapshots handed out, to know when a retired generation is no longer in use.
        var handedOut: [Weak] = []

        init(root: String, options: LiveIndex.Options) throws {
            name = IndexGenerations.current(root: root)
            directory = IndexGenerations.resolve(root)
            var l: LiveIndex?
            do {
                l = try LiveIndex(opening: directory, options: options)
            } catch let e as IndexError {
                guard case .locked = e else { throw e }
            }
            live = l
            if let l {
                updater = try IndexUpdater(index: l)
                follower = nil
            } else {
                updater = nil
                follower = try Searcher.open(directory: directory)
            }
        }

        var searcher: Searcher { live?.searcher ?? follower! }

        func note(_ s: Searcher) {
            if let last = handedOut.last?.value, last === s { return }
            handedOut.removeAll { $0.value == nil }
            handedOut.append(Weak(s))
        }

        var inUse: Bool { handedOut.contains { $0.value != nil } }
    }

    final class Weak {
        weak var value: Searcher?
        init(_ v: Searcher) { value = v }
    }

    public let root: String
    public let options: Options
    private let lock = NSLock()
    private var generation: Generation
    private var retired: [Generation] = []
    private var loop: BackgroundLoop?
    /// The last error of the background work (refresh, commit, switching), for /healthz.
    public private(set) var lastError: String? {
        get { lock.withLock { _lastError } }
        set { lock.withLock { _lastError = newValue } }
    }
    private var _lastError: String?
    private let warming = Atomic<Bool>(false)
    /// Typo vocabularies built in the background so far (for tests).
    public var fuzzyVocabulariesWarmed: Int { warmedCount.load(ordering: .relaxed) }
    private let warmedCount = Atomic<Int>(0)
    private var lastCommit = Date()
    private var lastWatch = Date()
    private var lastRefresh = Date()
    /// When a search last started (for `searchIdleAfter`), seconds since the reference date.
    private let lastSearch = Mutex<Double>(Date().timeIntervalSinceReferenceDate)

    /// Whether no search has started for `searchIdleAfter`.
    public var isSearchIdle: Bool {
        guard let idle = options.searchIdleAfter else { return false }
        return Date().timeIntervalSinceReferenceDate - lastSearch.withLock { $0 } >= idle
    }

    /// Call before a search: on a search-idle index with unpublished writes, refreshes first (the
    /// search waits for it, as in Elasticsearch), and the index is busy again.
    public func searchStarting() throws {
        guard options.searchIdleAfter != nil else { return }
        let wasIdle = isSearchIdle
        lastSearch.withLock { $0 = Date().timeIntervalSinceReferenceDate }
        if wasIdle, let l = live, l.hasUnpublishedChanges { try l.refresh() }
    }
    public private(set) var switches = 0

    public init(root: String, options: Options = Options()) throws {
        self.root = root
        self.options = options
        generation = try Generation(root: root, options: options.live)
    }

    /// The current snapshot; hold it for one request.
    public var searcher: Searcher {
        lock.withLock {
            let s = generation.searcher
            generation.note(s)
            return s
        }
    }

    /// The updater of the live writer; nil when this process only follows another writer.
    public var updater: IndexUpdater? { lock.withLock { generation.updater } }
    public var live: LiveIndex? { lock.withLock { generation.live } }
    public var generationName: String { lock.withLock { generation.name ?? "." } }

    /// Starts the background work (a `BackgroundLoop`: refresh, commit, generation watch).
    public func start() {
        let l = BackgroundLoop(name: "aisle-refresh", interval: max(0.005, min(options.refreshInterval, options.watchInterval))) { [weak self] in
            self?.tick()
        }
        lock.withLock { loop = l }
        l.start()
    }

    /// Makes accepted writes searchable now (for `refresh=true` requests).
    public func refreshNow() throws {
        if let l = live { try l.refresh() }
    }

    /// Stops the thread, commits what is uncommitted and closes the writer.
    public func close() {
        lock.withLock { loop }?.cancel()
        let g = lock.withLock { generation }
        if let l = g.live {
            if l.hasUncommittedChanges { _ = try? l.commit() }
            l.close()
        }
    }

    /// One round of background work (public for tests).
    public func tick() {
        let g = lock.withLock { generation }
        do {
            if let l = g.live {
                // Every `refreshInterval` (the loop may turn more often, for the watch), unless search-idle.
                if Date().timeIntervalSince(lastRefresh) >= options.refreshInterval * 0.999 && !isSearchIdle {
                    lastRefresh = Date()
                    try l.refreshIfChanged()
                }
                if l.hasUncommittedChanges && Date().timeIntervalSince(lastCommit) >= options.commitInterval {
                    try l.commit()
                    lastCommit = Date()
                }
            } else if let f = g.follower {
                // Follow the writer's commits.
                if let m = try? IndexMeta.readLatest(directory: g.directory), m.generation != f.meta.generation {
                    let s = try Searcher.open(directory: g.directory)
                    lock.withLock { g.follower = s }
                }
            }
            warmNewSegments(lock.withLock { generation.searcher })
            if Date().timeIntervalSince(lastWatch) >= options.watchInterval {
                lastWatch = Date()
                try watchGenerations()
            }
        } catch {
            lastError = "\(error)"
        }
    }

    /// Builds the typo vocabularies of segments new in `s` (after opening, refreshes, merges and
    /// generation switches) on a background queue, off the search path and off this thread, one
    /// round at a time.
    func warmNewSegments(_ s: Searcher) {
        // The work holds the segments, not the snapshot: a retired generation is removed as soon
        // as no search holds a snapshot of it.
        let work = s.fuzzyWarmup()
        guard !work.isDone, warming.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { warming.store(false, ordering: .releasing) }
            if let n = try? work.run() { warmedCount.add(n, ordering: .relaxed) }
        }
    }

    /// Switches to a newly published generation; removes retired ones nobody uses.
    func watchGenerations() throws {
        let name = IndexGenerations.current(root: root)
        let g = lock.withLock { generation }
        if name != nil && name != g.name {
            let fresh = try Generation(root: root, options: options.live)
            lock.withLock {
                retired.append(generation)
                generation = fresh
                switches += 1
            }
            if let l = g.live {
                if l.hasUncommittedChanges { _ = try? l.commit() }
                l.close()
            }
            g.follower = nil
        }
        let done: [Generation] = lock.withLock {
            let d = retired.filter { !$0.inUse }
            retired.removeAll { !$0.inUse }
            return d
        }
        if !done.isEmpty, let cur = IndexGenerations.current(root: root) {
            var keep: Set<String> = [cur]
            for r in lock.withLock({ retired }) { keep.insert(r.name ?? ".") }
            try IndexGenerations.retire(root: root, keep: keep)
        }
    }
}
