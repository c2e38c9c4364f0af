#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time after which a search gives up (Elasticsearch's `timeout`, Lucene's
/// `TimeLimitingCollector`). The search loops call `tick()` once per document or window; it reads
/// the clock only every `interval` ticks, so the check costs a decrement and a branch. A search that
/// runs past its deadline stops and throws `IndexError.timedOut`.
///
/// One deadline belongs to one search on one thread at a time (not thread-safe). `onSlow` runs once,
/// on the searching thread, when the search has run for `slowAfter` nanoseconds (a server uses it
/// to lower the priority of expensive searches, so cheap ones keep their latency).
public final class SearchDeadline: @unchecked Sendable {
    /// Monotonic nanoseconds (CLOCK_MONOTONIC) at which the search expires.
    public let at: UInt64
    public let started: UInt64
    private var countdown: Int
    private let interval: Int
    public private(set) var expired = false
    /// Called once when the search has run this long (nanoseconds); nil: never.
    public var slowAfter: UInt64?
    public var onSlow: (() -> Void)?
    public private(set) var wasSlow = false

    public init(at: UInt64, started: UInt64 = SearchDeadline.now(), interval: Int = 256) {
        self.at = at
        self.started = started
        self.interval = max(1, interval)
        countdown = self.interval
    }

    /// A deadline `seconds` from now.
    public static func after(seconds: Double) -> SearchDeadline {
        let now = Self.now()
        let ns = seconds.isFinite && seconds > 0 ? UInt64(min(seconds, 1e6) * 1e9) : 0
        return SearchDeadline(at: now &+ ns, started: now)
    }

    /// Monotonic nanoseconds.
    @inline(__always) public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// True once the deadline has passed; reads the clock every `interval` calls.
    @inline(__always) public func tick() -> Bool {
        countdown &-= 1
        if countdown > 0 { return expired }
        return checkNow()
    }

    /// Reads the clock now.
    @discardableResult
    public func checkNow() -> Bool {
        countdown = interval
        if expired { return true }
        let t = Self.now()
        if !wasSlow, let s = slowAfter, t &- started >= s {
            wasSlow = true
            onSlow?()
        }
        if t >= at { expired = true }
        return expired
    }

    /// Throws `IndexError.timedOut` when the deadline has passed (reads the clock).
    public func check() throws {
        if checkNow() { throw timedOut() }
    }

    /// Throws when a loop stopped because of this deadline.
    public func throwIfExpired() throws {
        if expired { throw timedOut() }
    }

    func timedOut() -> IndexError {
        .timedOut(milliseconds: Int((Double(at > started ? at - started : 0) / 1e6).rounded()))
    }
}

extension Optional where Wrapped == SearchDeadline {
    /// `tick()` of a deadline, false without one.
    @inline(__always) func tick() -> Bool {
        guard let d = self else { return false }
        return d.tick()
    }
}
