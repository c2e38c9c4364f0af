#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain mutex with a condition variable (the writer's state lock; never held while searching).
final class StateLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var cond = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
    }

    deinit {
        pthread_cond_destroy(&cond)
        pthread_mutex_destroy(&mutex)
    }

    func lock() { pthread_mutex_lock(&mutex) }
    func unlock() { pthread_mutex_unlock(&mutex) }

    @inline(__always) func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }

    /// Waits for a broadcast; the lock must be held.
    func wait() { pthread_cond_wait(&cond, &mutex) }
    func broadcast() { pthread_cond_broadcast(&cond) }
}

/// The index directory's single-writer lock: an exclusive `flock` on `write.lock`, released when
/// the process ends however it ends (so `kill -9` never leaves a stale lock).
public final class WriterLock: @unchecked Sendable {
    public static let fileName = "write.lock"
    let fd: Int32
    public let path: String

    /// Takes the lock or throws naming the holder.
    public init(directory: String) throws {
        path = directory + "/" + Self.fileName
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "open", errno: errno, message: errnoMessage()) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            var holder = ""
            var buf = [UInt8](repeating: 0, count: 64)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 63, 0) }
            if n > 0 { holder = String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: " \n") }
            close(fd)
            if e == EWOULDBLOCK {
                throw IndexError.locked(path: directory, holder: holder.isEmpty ? "another process" : "process \(holder)")
            }
            throw IndexError.io(path: path, operation: "flock", errno: e, message: errnoMessage(e))
        }
        let me = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = me.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock.
    public func release() {
        _ = flock(fd, LOCK_UN)
    }

    deinit {
        close(fd)
    }

    /// Whether some process holds the writer lock of `directory` now.
    public static func isHeld(directory: String) -> Bool {
        let fd = open(directory + "/" + fileName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return errno == EWOULDBLOCK }
        _ = flock(fd, LOCK_UN)
        return false
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
