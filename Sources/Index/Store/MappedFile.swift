#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory-mapped file. Immutable and shared by every reader of a segment.
public final class MappedFile: Sendable {
    public let path: String
    /// File name used in error messages.
    public let name: String
    nonisolated(unsafe) private let base: UnsafeMutableRawPointer?
    public let count: Int

    public init(path: String) throws {
        self.path = path
        self.name = String(path.split(separator: "/").last ?? Substring(path))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "open", errno: errno, message: errnoMessage()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw IndexError.io(path: path, operation: "stat", errno: errno, message: errnoMessage())
        }
        count = Int(st.st_size)
        if count == 0 {
            base = nil
            return
        }
        let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw IndexError.io(path: path, operation: "mmap", errno: errno, message: errnoMessage())
        }
        base = p
    }

    deinit {
        if let base { munmap(base, count) }
    }

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: count)
    }

    /// Hint the kernel that the file will be read soon (warm the page cache).
    public func willNeed() {
        if let base { _ = madvise(base, count, MADV_WILLNEED) }
    }
}

func errnoMessage(_ e: Int32 = errno) -> String {
    String(cString: strerror(e))
}
