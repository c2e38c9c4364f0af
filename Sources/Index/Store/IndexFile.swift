#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The container every index file uses.
///
/// ```
/// header (16 bytes): "AISL" | kind (4 ASCII bytes) | format version u32 | header flags u32 (0)
/// payload
/// footer (16 bytes): payload length u64 | XXH64 of header+payload u64 ... then nothing
/// ```
/// The footer also guarantees 16 readable bytes after the payload, which bit unpacking relies on.
public enum IndexFileFormat {
    public static let magic: [UInt8] = Array("AISL".utf8)
    public static let headerSize = 16
    public static let footerSize = 16
}

/// Writes one index file: buffered, checksummed as it goes, fsynced and closed by `finish()`.
public final class IndexFileWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var hasher = XXHash64()
    private var written: UInt64 = 0
    private var payloadStart: UInt64 = 0
    private var finished = false
    private let flushThreshold = 1 << 20

    /// Creates (truncates) `path` and writes the header.
    public init(path: String, kind: String, version: UInt32) throws {
        precondition(kind.utf8.count == 4, "file kind must be 4 ASCII bytes")
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IndexError.io(path: path, operation: "create", errno: errno, message: errnoMessage()) }
        buffer.reserveCapacity(flushThreshold + 4096)
        var h = ByteWriter(capacity: 16)
        h.append(IndexFileFormat.magic)
        h.append(Array(kind.utf8))
        h.u32(version)
        h.u32(0)
        try write(h.bytes)
        payloadStart = UInt64(IndexFileFormat.headerSize)
    }

    deinit {
        if !finished { close(fd) }
    }

    /// Bytes of payload written so far (the offset the next byte will have, relative to payload start).
    public var payloadOffset: UInt64 { written + UInt64(buffer.count) - payloadStart }

    public func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    public func write(_ w: ByteWriter) throws { try write(w.bytes) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            hasher.update(raw)
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw IndexError.io(path: path, operation: "write", errno: errno, message: errnoMessage())
                }
                off += n
            }
        }
        written += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the footer, fsyncs and closes. Returns the file size and checksum.
    @discardableResult
    public func finish(sync: Bool = true) throws -> (size: UInt64, checksum: UInt64) {
        let payloadLength = payloadOffset
        var f = ByteWriter(capacity: 8)
        f.u64(payloadLength)
        buffer.append(contentsOf: f.bytes)
        try flush()
        let checksum = hasher.finalize()
        var c = ByteWriter(capacity: 8)
        c.u64(checksum)
        let cb = c.bytes
        try cb.withUnsafeBytes { raw in
            let n = Glibc.write(fd, raw.baseAddress!, 8)
            if n != 8 { throw IndexError.io(path: path, operation: "write", errno: errno, message: errnoMessage()) }
        }
        written += 8
        if sync && fsync(fd) != 0 {
            throw IndexError.io(path: path, operation: "fsync", errno: errno, message: errnoMessage())
        }
        close(fd)
        finished = true
        return (written, checksum)
    }
}

/// An opened, validated index file: the payload of a mapped file whose header and footer checked out.
/// `@unchecked Sendable`: the payload points into `mapped`, which is immutable and kept alive by this value.
public struct IndexFile: @unchecked Sendable {
    public let mapped: MappedFile
    public let kind: String
    public let version: UInt32
    /// The payload (between header and footer). At least 16 bytes after it are readable.
    public let payload: UnsafeRawBufferPointer
    public let checksum: UInt64

    public var name: String { mapped.name }

    /// Opens and validates `path`: magic, kind, version, length; and, when `verify` is set,
    /// the XXH64 checksum of the whole file.
    public init(path: String, kind expectedKind: String, version supported: UInt32, verify: Bool) throws {
        try self.init(path: path, kind: expectedKind, versions: supported...supported, verify: verify)
    }

    /// Opens a file of any of the `versions` (the opened one is `version`).
    public init(path: String, kind expectedKind: String, versions: ClosedRange<UInt32>, verify: Bool) throws {
        let m = try MappedFile(path: path)
        try self.init(mapped: m, kind: expectedKind, versions: versions, verify: verify)
    }

    public init(mapped m: MappedFile, kind expectedKind: String, version supported: UInt32, verify: Bool) throws {
        try self.init(mapped: m, kind: expectedKind, versions: supported...supported, verify: verify)
    }

    public init(mapped m: MappedFile, kind expectedKind: String, versions supported: ClosedRange<UInt32>, verify: Bool) throws {
        let name = m.name
        let all = m.bytes
        guard all.count >= IndexFileFormat.headerSize + IndexFileFormat.footerSize else {
            throw IndexError.corrupt(file: name, reason: "file is \(all.count) bytes, too short for header and footer")
        }
        var r = ByteReader(all, file: name)
        let magic = try r.bytes(4)
        guard Array(magic) == IndexFileFormat.magic else {
            throw IndexError.corrupt(file: name, reason: "bad magic (not an Aisle index file)")
        }
        let kindBytes = try r.bytes(4)
        let kind = String(decoding: kindBytes, as: UTF8.self)
        guard kind == expectedKind else {
            throw IndexError.corrupt(file: name, reason: "file kind is \(kind), expected \(expectedKind)")
        }
        let version = try r.u32()
        guard supported.contains(version) else {
            throw IndexError.unsupportedVersion(file: name, found: version, supported: supported.upperBound)
        }
        _ = try r.u32()
        var f = ByteReader(all, file: name, offset: all.count - IndexFileFormat.footerSize)
        let payloadLength = try f.u64()
        let checksum = try f.u64()
        guard payloadLength == UInt64(all.count - IndexFileFormat.headerSize - IndexFileFormat.footerSize) else {
            throw IndexError.corrupt(file: name, reason: "footer says payload is \(payloadLength) bytes, file has \(all.count - 32)")
        }
        if verify {
            let actual = XXHash64.hash(UnsafeRawBufferPointer(rebasing: all[0..<(all.count - 8)]))
            guard actual == checksum else {
                throw IndexError.corrupt(
                    file: name,
                    reason: "checksum mismatch (stored \(String(checksum, radix: 16)), computed \(String(actual, radix: 16)))")
            }
        }
        self.mapped = m
        self.kind = kind
        self.version = version
        self.checksum = checksum
        self.payload = UnsafeRawBufferPointer(rebasing: all[IndexFileFormat.headerSize..<(all.count - IndexFileFormat.footerSize)])
    }

    /// Recomputes the checksum of the whole file.
    public func verifyChecksum() throws {
        let all = mapped.bytes
        let actual = XXHash64.hash(UnsafeRawBufferPointer(rebasing: all[0..<(all.count - 8)]))
        guard actual == checksum else {
            throw IndexError.corrupt(file: name, reason: "checksum mismatch")
        }
    }

    public func reader(at offset: Int = 0) -> ByteReader {
        ByteReader(payload, file: name, offset: offset)
    }
}
