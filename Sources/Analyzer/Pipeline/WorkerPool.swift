import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small pool of non-thread-safe workers, each behind its own lock, so that many threads can work at once.
///
/// A caller takes the first free slot, scanning from a slot chosen by its thread id (so a thread keeps reusing the
/// same warm worker and threads do not touch each other's locks); empty slots get a worker lazily. If every slot is
/// busy, the caller waits for one. Slot 0 always holds a worker, made eagerly, so a failure to make more workers
/// later only costs parallelism. Slots are padded to 128 bytes so that two locks never share a cache line.
final class WorkerPool<Worker: AnyObject>: Sendable {
    private final class Slot: Sendable {
        let worker: Mutex<Worker?>
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                              UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        init(_ worker: consuming sending Worker?) { self.worker = Mutex(worker) }
    }

    private let slots: [Slot]
    private let make: @Sendable () -> Worker?
    private let waitCounter = Atomic<Int>(0)

    /// - Parameters:
    ///   - first: the worker for slot 0.
    ///   - capacity: the number of slots (defaults to twice the number of online processors, at least 4, at most 64).
    ///   - make: makes another worker; `nil` if that fails.
    init(first: consuming sending Worker, capacity: Int = WorkerPool.defaultCapacity,
         make: @escaping @Sendable () -> Worker?) {
        var slots = [Slot(first)]
        for _ in 1..<max(1, capacity) { slots.append(Slot(nil)) }
        self.slots = slots
        self.make = make
    }

    /// Twice the number of online processors, clamped to 4...64.
    static var defaultCapacity: Int {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        let cores = 4
        #endif
        return min(64, max(4, 2 * cores))
    }

    /// A slot index derived from the calling thread's id.
    private var preferredSlot: Int {
        #if canImport(Glibc) || canImport(Musl)
        var id = UInt64(UInt(pthread_self()))
        #elseif canImport(Darwin)
        var id = UInt64(UInt(bitPattern: pthread_self()))
        #else
        var id: UInt64 = 0
        #endif
        id = (id ^ (id >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        id ^= id >> 29
        return Int(id % UInt64(slots.count))
    }

    /// Runs `body` with exclusive use of a worker.
    func withWorker<Result: Sendable>(_ body: (Worker) -> Result) -> Result {
        let preferred = preferredSlot
        for offset in 0..<slots.count {
            let slot = slots[(preferred + offset) % slots.count]
            let result = slot.worker.withLockIfAvailable { (worker: inout Worker?) -> Result? in
                if worker == nil { worker = make() }
                guard let worker else { return nil }   // could not make one: try the next slot
                return body(worker)
            }
            if let result = result, let value = result { return value }
        }
        // All slots busy (or unusable): wait for one that is sure to hold a worker.
        let index = waitCounter.add(1, ordering: .relaxed).newValue % slots.count
        for slot in [slots[index], slots[0]] {
            let result = slot.worker.withLock { (worker: inout Worker?) -> Result? in
                if worker == nil { worker = make() }
                guard let worker else { return nil }
                return body(worker)
            }
            if let result { return result }
        }
        preconditionFailure("slot 0 always holds a worker")
    }
}
