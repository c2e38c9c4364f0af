#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system calls the index needs, each turning errno into an `IndexError`.
public enum FileSystem {
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory and its parents.
    public static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw IndexError.io(path: path, operation: "mkdir", errno: errno, message: errnoMessage())
        }
    }

    /// Names in a directory (no . and ..).
    public static func list(_ path: String) throws -> [String] {
        guard let d = opendir(path) else {
            throw IndexError.io(path: path, operation: "opendir", errno: errno, message: errnoMessage())
        }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out.sorted()
    }

    public static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 {
            throw IndexError.io(path: from, operation: "rename to \(to)", errno: errno, message: errnoMessage())
        }
    }

    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw IndexError.io(path: path, operation: "unlink", errno: errno, message: errnoMessage())
        }
    }

    /// Removes a directory tree.
    public static func removeTree(_ path: String) throws {
        guard isDirectory(path) else { try remove(path); return }
        for name in try list(path) { try removeTree(path + "/" + name) }
        if rmdir(path) != 0 && errno != ENOENT {
            throw IndexError.io(path: path, operation: "rmdir", errno: errno, message: errnoMessage())
        }
    }

    /// fsync a directory so renames in it are durable.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "open", errno: errno, message: errnoMessage()) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw IndexError.io(path: path, operation: "fsync", errno: errno, message: errnoMessage()) }
    }

    /// fsync a file (after it was written without syncing).
    public static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "open", errno: errno, message: errnoMessage()) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw IndexError.io(path: path, operation: "fsync", errno: errno, message: errnoMessage()) }
    }

    public static func size(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_size)
    }

    /// Total bytes of the regular files directly in `path`.
    public static func directorySize(_ path: String) -> UInt64 {
        guard let names = try? list(path) else { return 0 }
        return names.reduce(0) { $0 + (size(path + "/" + $1) ?? 0) }
    }

    public static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "open", errno: errno, message: errnoMessage()) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IndexError.io(path: path, operation: "read", errno: errno, message: errnoMessage())
            }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }
}
