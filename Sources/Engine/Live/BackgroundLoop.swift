import Foundation

/// Work repeated on a thread of its own every `interval` seconds until cancelled: the serving
/// index's refresh, commit and generation watch. It waits on a condition, not in a sleep loop:
/// `cancel()` wakes it at once and returns when the thread has ended; `wake()` runs the work now.
public final class BackgroundLoop: @unchecked Sendable {
    private let cond = NSCondition()
    private var cancelled = false
    private var finished = false
    private var started = false
    private var woken = false
    public let name: String
    public let interval: Double
    private let body: @Sendable () -> Void

    public init(name: String, interval: Double, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.interval = max(0.001, interval)
        self.body = body
    }

    public func start() {
        cond.withLock {
            guard !started else { return }
            started = true
            let t = Thread { [self] in run() }
            t.name = name
            t.start()
        }
    }

    private func run() {
        while true {
            let stop: Bool = cond.withLock {
                let until = Date(timeIntervalSinceNow: interval)
                while !cancelled && !woken && cond.wait(until: until) {}
                woken = false
                return cancelled
            }
            if stop { break }
            body()
        }
        cond.withLock {
            finished = true
            cond.broadcast()
        }
    }

    /// Runs the work once more now (without waiting for it).
    public func wake() {
        cond.withLock {
            woken = true
            cond.broadcast()
        }
    }

    /// Stops the loop and waits for a round in progress to end.
    public func cancel() {
        cond.withLock {
            cancelled = true
            cond.broadcast()
            while started && !finished { cond.wait() }
        }
    }

    public var isCancelled: Bool { cond.withLock { cancelled } }
}
