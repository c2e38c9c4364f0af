#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zero-downtime rebuilds: an index path can hold several complete index generations side by side.
///
/// ```
/// DIR/CURRENT        the name of the generation searches use ("gen-000002"); written atomically
/// DIR/gen-000002/    a complete index (commit points and segments)
/// DIR/gen-000003/    a rebuild in progress (invisible until CURRENT names it)
/// ```
/// A path without `CURRENT` is itself an index (generation "."); the first rebuild adds `CURRENT`
/// next to it. A rebuild writes a new generation while the old one keeps serving, then replaces
/// `CURRENT` (temporary file, fsync, rename, directory fsync): every reader opens either the old
/// generation or the new one, never a mix. A server notices the switch, opens the new generation
/// and drops the old one once no search uses it; `retire` then removes it.
public enum IndexGenerations {
    public static let currentFile = "CURRENT"
    static let prefix = "gen-"

    /// The generation `root` points at (nil: `root` is a plain index, or nothing).
    public static func current(root: String) -> String? {
        guard let bytes = try? FileSystem.readFile(root + "/" + currentFile) else { return nil }
        let name = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n\r\t")
        guard name.hasPrefix(prefix), !name.contains("/"), FileSystem.isDirectory(root + "/" + name) else { return nil }
        return name
    }

    /// The directory holding the index that `root` names now.
    public static func resolve(_ root: String) -> String {
        current(root: root).map { root + "/" + $0 } ?? root
    }

    /// Creates the directory of the next generation (empty) and returns its name.
    public static func begin(root: String) throws -> String {
        try FileSystem.makeDirectories(root)
        var n = 1
        for name in try FileSystem.list(root) where name.hasPrefix(prefix) {
            if let k = Int(name.dropFirst(prefix.count)), k >= 0, k < 99_999_999 { n = max(n, k + 1) }
        }
        let s = String(n)
        let name = prefix + String(repeating: "0", count: max(0, 6 - s.count)) + s
        let dir = root + "/" + name
        if FileSystem.isDirectory(dir) { try FileSystem.removeTree(dir) }
        try FileSystem.makeDirectories(dir)
        return name
    }

    /// Makes `name` the generation searches use (atomically). The generation must hold a commit.
    public static func publish(root: String, name: String, sync: Bool = true) throws {
        let dir = root + "/" + name
        _ = try IndexMeta.readLatest(directory: dir)
        let tmp = root + "/" + currentFile + ".tmp"
        let w = try IndexFileWriterRaw(path: tmp)
        try w.write(Array((name + "\n").utf8))
        try w.close(sync: sync)
        try FileSystem.rename(tmp, root + "/" + currentFile)
        if sync { try FileSystem.syncDirectory(root) }
    }

    /// Removes every generation except the current one and `keep` (and, once `root` has a
    /// `CURRENT`, the plain index files at its top level). Returns what was removed.
    @discardableResult
    public static func retire(root: String, keep: Set<String> = []) throws -> [String] {
        guard let cur = current(root: root) else { return [] }
        var removed: [String] = []
        for name in try FileSystem.list(root) {
            let path = root + "/" + name
            if name.hasPrefix(prefix) && FileSystem.isDirectory(path) {
                guard name != cur, !keep.contains(name), !WriterLock.isHeld(directory: path) else { continue }
                try FileSystem.removeTree(path)
                removed.append(name)
            } else if !keep.contains("."), name.hasPrefix("seg_") || name.hasPrefix("commit_") {
                guard !WriterLock.isHeld(directory: root) else { continue }
                try FileSystem.remove(path)
                removed.append(name)
            }
        }
        return removed
    }
}

/// A small file written with plain POSIX calls (the CURRENT pointer is not an index file).
final class IndexFileWriterRaw {
    let fd: Int32
    let path: String
    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "create", errno: errno, message: errnoMessage()) }
    }
    func write(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IndexError.io(path: path, operation: "write", errno: errno, message: errnoMessage())
            }
            off += n
        }
    }
    func close(sync: Bool) throws {
        defer { Glibc.close(fd) }
        if sync && fsync(fd) != 0 { throw IndexError.io(path: path, operation: "fsync", errno: errno, message: errnoMessage()) }
    }
}
