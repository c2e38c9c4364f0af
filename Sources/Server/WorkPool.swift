import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (searches, writes) on threads of its own, off the HTTP event loops and off
/// Swift's cooperative pool, so `/healthz` and the accepting of connections never wait behind a
/// search. Admission control: at most `threads` jobs run at once and at most `queueLimit` wait;
/// past that `submit` fails at once (`Busy`) and the handler answers 503 with `Retry-After`.
///
/// Expensive jobs get out of the way of cheap ones: a job that runs longer than its deadline's
/// `slowAfter` lowers its own thread's scheduling priority (`demoteCurrentThread`, nice +10), so a
/// few heavy searches cannot slow every other search down; the thread is replaced by a fresh one at
/// normal priority after the job when the system does not let it raise its priority back.
final class WorkPool: @unchecked Sendable {
    struct Busy: Error {
        var queued: Int
    }

    private struct Job {
        let run: @Sendable () -> Void
    }

    let name: String
    let threads: Int
    let queueLimit: Int
    /// A thread with nothing to do for this long ends (a new one starts when work comes).
    let idleExit: Double
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var head = 0
    private var running = 0
    private var workers = 0
    private var idle = 0
    private var stopped = false
    /// Jobs refused because the queue was full (for /healthz and tests).
    let rejected = Atomic<Int>(0)
    let demotions = Atomic<Int>(0)

    init(name: String, threads: Int, queueLimit: Int, idleExit: Double = 10) {
        self.name = name
        self.threads = max(1, threads)
        self.queueLimit = max(0, queueLimit)
        self.idleExit = idleExit
    }

    /// Waiting jobs.
    var queued: Int { condition.withLock { queue.count - head } }
    var active: Int { condition.withLock { running } }
    var threadCount: Int { condition.withLock { workers } }

    /// Starts a thread (under the lock).
    private func spawnLocked() {
        workers += 1
        let t = Thread { self.work() }
        t.name = name
        t.stackSize = 8 << 20
        t.start()
    }

    private func work() {
        condition.lock()
        while true {
            while head == queue.count && !stopped {
                idle += 1
                let woke = condition.wait(until: Date(timeIntervalSinceNow: idleExit))
                idle -= 1
                if !woke && head == queue.count { break }
            }
            if head == queue.count {
                workers -= 1
                condition.unlock()
                return
            }
            let job = queue[head]
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            running += 1
            condition.unlock()

            Self.demoted = false
            job.run()

            var retire = false
            if Self.demoted {
                Self.demoted = false
                // Back to normal priority; without the privilege to do so, this thread ends and a
                // fresh one (at normal priority) starts when work comes.
                retire = !Self.restoreCurrentThread()
            }
            condition.lock()
            running -= 1
            if retire {
                workers -= 1
                if head < queue.count && !stopped { spawnLocked() }
                condition.unlock()
                return
            }
        }
    }

    /// Runs `work` on a pool thread and returns its result; throws `Busy` at once when every
    /// thread is busy and `queueLimit` jobs already wait.
    func submit<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            condition.lock()
            let waiting = queue.count - head
            let free = threads - running - waiting
            guard (free > 0 || waiting < queueLimit) && !stopped else {
                condition.unlock()
                rejected.add(1, ordering: .relaxed)
                cont.resume(throwing: Busy(queued: waiting))
                return
            }
            queue.append(Job(run: {
                do { cont.resume(returning: try work()) } catch { cont.resume(throwing: error) }
            }))
            if idle > waiting { condition.signal() } else if workers < threads { spawnLocked() } else { condition.signal() }
            condition.unlock()
        }
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    /// Whether the current pool thread lowered its priority during the job it runs.
    private static let demotedKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    static var demoted: Bool {
        get { pthread_getspecific(demotedKey) != nil }
        set { pthread_setspecific(demotedKey, newValue ? UnsafeRawPointer(bitPattern: 1) : nil) }
    }

    /// Linux's SCHED_IDLE policy: the thread runs only when no normal thread wants the CPU, and a
    /// normal thread that wakes up preempts it at once (a nice level alone does not: under EEVDF the
    /// woken thread may wait out the running one's slice, milliseconds on every hop of a request).
    static let schedIdle: Int32 = 5
    static let schedOther: Int32 = 0

    /// Lowers the calling thread's priority (Linux: per thread) for the rest of its job: SCHED_IDLE,
    /// or nice +10 where that is refused.
    static func demoteCurrentThread(_ pool: WorkPool?) {
        guard !demoted else { return }
        demoted = true
        pool?.demotions.add(1, ordering: .relaxed)
        var param = sched_param(sched_priority: 0)
        if sched_setscheduler(0, schedIdle, &param) != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        }
    }

    /// Back to the normal policy and nice 0; false when the system does not allow it.
    static func restoreCurrentThread() -> Bool {
        var param = sched_param(sched_priority: 0)
        let policy = sched_getscheduler(0)
        if policy != schedOther && sched_setscheduler(0, schedOther, &param) != 0 { return false }
        return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 0) == 0
    }
}
