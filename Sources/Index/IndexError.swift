/// Errors of the index. Corruption always names the file, so a damaged index is reported, never a crash.
public enum IndexError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file's bytes are not what the writer wrote (checksum, magic, bounds or structure).
    case corrupt(file: String, reason: String)
    /// A file was written by a format version this build cannot read.
    case unsupportedVersion(file: String, found: UInt32, supported: UInt32)
    /// An operating-system call failed.
    case io(path: String, operation: String, errno: Int32, message: String)
    /// There is no index at the path.
    case notAnIndex(path: String)
    /// The schema is invalid or does not fit the request.
    case schema(String)
    /// The query cannot be run (unknown field, bad parameter).
    case invalidQuery(String)
    /// A document cannot be indexed.
    case invalidDocument(String)
    /// Another writer holds the index's write lock.
    case locked(path: String, holder: String)
    /// The writer was closed.
    case closed(String)
    /// A search ran past its deadline (`SearchDeadline`) and stopped.
    case timedOut(milliseconds: Int)

    public var description: String {
        switch self {
        case .corrupt(let file, let reason): return "index file \(file) is corrupt: \(reason)"
        case .unsupportedVersion(let file, let found, let supported):
            return "index file \(file) has format version \(found); this build reads version \(supported)"
        case .io(let path, let op, let errno, let message): return "\(op) \(path) failed: \(message) (errno \(errno))"
        case .notAnIndex(let path): return "no index at \(path) (no commit file found)"
        case .schema(let m): return "schema error: \(m)"
        case .invalidQuery(let m): return "invalid query: \(m)"
        case .invalidDocument(let m): return "invalid document: \(m)"
        case .locked(let path, let holder):
            return "the index at \(path) is open for writing by \(holder) (one writer at a time; stop it or send the changes to it)"
        case .closed(let m): return "the index writer is closed: \(m)"
        case .timedOut(let ms): return "the search ran past its deadline of \(ms) ms and was stopped"
        }
    }
}
