#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CLibPQ

/// Errors of the catalog layer. Messages are meant for users.
public enum CatalogError: Error, CustomStringConvertible, Sendable {
    /// A store cannot be reached: `cannot connect to PostgreSQL at …: …`.
    case unavailable(String)
    /// A statement failed; `sqlstate` is PostgreSQL's error code when there is one.
    case database(message: String, sqlstate: String?)
    /// Bad input (a corpus row, an attribute document, an option).
    case input(String)
    /// The attribute store failed.
    case attributes(String)

    public var description: String {
        switch self {
        case .unavailable(let m), .input(let m), .attributes(let m): return m
        case .database(let m, let s): return s.map { "[\($0)] \(m)" } ?? m
        }
    }

    public var sqlstate: String? {
        if case .database(_, let s) = self { return s }
        return nil
    }
}

/// The rows of one result, as text (libpq's text format); nil is SQL NULL.
public struct PGRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows affected, for INSERT / UPDATE / DELETE.
    public var affected: Int

    public var count: Int { rows.count }
    public subscript(_ r: Int, _ c: Int) -> String? { rows[r][c] }
}

/// One libpq connection. Every statement with values goes through `PQexecParams` (text
/// parameters); values are never spliced into SQL. Not for concurrent use: one thread at a time
/// (the catalog commands and the sync loop each own theirs).
public final class PGConnection: @unchecked Sendable {
    private let conn: OpaquePointer
    /// Where it is connected, for messages (`host:port/db`, no password).
    public let location: String

    /// Connects to a `postgresql://` URL or a conninfo string (`host=… port=…`).
    public init(url: String) throws {
        let loc = PGConnection.describe(url)
        guard let c = PQconnectdb(url) else { throw CatalogError.unavailable("cannot connect to PostgreSQL at \(loc): out of memory") }
        guard PQstatus(c) == CONNECTION_OK else {
            let msg = String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(c)
            throw CatalogError.unavailable("cannot connect to PostgreSQL at \(loc): \(Self.oneLine(msg))")
        }
        conn = c
        location = loc
        PQsetNoticeProcessor(c, { _, _ in }, nil)   // server NOTICEs are not for the terminal
        _ = try? exec("SET client_min_messages = warning")
    }

    deinit { PQfinish(conn) }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: { $0 == "\n" || $0 == "\t" }).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// `host:port/db` of a URL or conninfo, without credentials.
    public static func describe(_ url: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            var rest = Substring(url.drop(while: { $0 != ":" }).dropFirst(3))
            if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
            if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
            return String(rest)
        }
        var kv: [String: String] = [:]
        for part in url.split(separator: " ") {
            let p = part.split(separator: "=", maxSplits: 1)
            if p.count == 2 { kv[String(p[0])] = String(p[1]) }
        }
        return "\(kv["host"] ?? "localhost"):\(kv["port"] ?? "5432")/\(kv["dbname"] ?? kv["user"] ?? "postgres")"
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …; nil is NULL).
    @discardableResult
    public func exec(_ sql: String, _ params: [String?] = []) throws -> PGRows {
        let res = try execRaw(sql, params)
        defer { PQclear(res) }
        return Self.rows(res)
    }

    /// Runs a script of several statements without parameters (migrations only: no values in it).
    public func execScript(_ sql: String) throws {
        guard let res = PQexec(conn, sql) else { throw lostOrError(nil) }
        defer { PQclear(res) }
        let st = PQresultStatus(res)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw lostOrError(res) }
    }

    /// Runs a statement and calls `body` with the raw result (for large results read row by row).
    public func withResult<R>(_ sql: String, _ params: [String?] = [], _ body: (PGResultView) throws -> R) throws -> R {
        let res = try execRaw(sql, params)
        defer { PQclear(res) }
        return try body(PGResultView(res: res))
    }

    /// Statements this connection has prepared (SQL text -> statement name). A statement runs
    /// the same whether prepared or not; preparing skips parsing and analysis on every later run,
    /// and after a few runs PostgreSQL may keep a generic plan instead of planning each time (the
    /// order path's statements spent ~40% of PostgreSQL's CPU being parsed and planned).
    private var prepared: [String: String] = [:]
    /// Names are never reused (a forgotten statement's name may still exist on the server).
    private var preparedSerial = 0
    /// At most this many per connection (SQL built with varying text is then run unprepared).
    public static let maxPrepared = 256

    /// Queries and data changes are prepared on first use; utility statements (BEGIN, SET, …) are not.
    public static func preparable(_ sql: String) -> Bool {
        var it = sql.utf8.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D })
        var word: [UInt8] = []
        while let c = it.first, word.count < 7, (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) {
            word.append(c & 0xDF)
            it = it.dropFirst()
        }
        switch String(decoding: word, as: UTF8.self) {
        case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH": return true
        default: return false
        }
    }

    private func execRaw(_ sql: String, _ params: [String?]) throws -> OpaquePointer {
        let cstrs = params.map { $0.flatMap { strdup($0) } }
        defer { cstrs.forEach { free($0) } }
        let values: [UnsafePointer<CChar>?] = cstrs.map { $0.map { UnsafePointer($0) } }
        var name = prepared[sql]
        if name == nil && prepared.count < Self.maxPrepared && Self.preparable(sql) {
            preparedSerial += 1
            let n = "aisle_\(preparedSerial)"
            if let r = PQprepare(conn, n, sql, Int32(params.count), nil) {
                let ok = PQresultStatus(r) == PGRES_COMMAND_OK
                PQclear(r)
                if ok {
                    prepared[sql] = n
                    name = n
                }
            }
            // Not prepared (an error, e.g. in an aborted transaction): run it unprepared below,
            // which reports the error as it always did.
        }
        let res: OpaquePointer?
        if let name {
            res = PQexecPrepared(conn, name, Int32(params.count), values, nil, nil, 0)
        } else {
            res = PQexecParams(conn, sql, Int32(params.count), nil, values, nil, nil, 0)
        }
        guard let res else { throw lostOrError(nil) }
        let st = PQresultStatus(res)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else {
            let e = lostOrError(res)
            PQclear(res)
            // A table's columns changed under a prepared query: forget it, the next run prepares anew.
            if name != nil, e.sqlstate == "0A000" {
                prepared[sql] = nil
                if let n = name, PQtransactionStatus(conn) == PQTRANS_IDLE, let r = PQexec(conn, "DEALLOCATE \(n)") { PQclear(r) }
            }
            throw e
        }
        return res
    }

    private func lostOrError(_ res: OpaquePointer?) -> CatalogError {
        if PQstatus(conn) != CONNECTION_OK {
            let msg = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            return .unavailable("lost the connection to PostgreSQL at \(location): \(Self.oneLine(msg))")
        }
        guard let res else { return .database(message: String(cString: PQerrorMessage(conn)), sqlstate: nil) }
        let msg = String(cString: PQresultErrorMessage(res)).trimmingCharacters(in: .whitespacesAndNewlines)
        let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        var m = msg
        if m.hasPrefix("ERROR:  ") { m.removeFirst(8) }
        return .database(message: m.replacingOccurrences(of: "\n", with: "; "), sqlstate: state)
    }

    static func rows(_ res: OpaquePointer) -> PGRows {
        let v = PGResultView(res: res)
        var rows: [[String?]] = []
        rows.reserveCapacity(v.rowCount)
        for r in 0..<v.rowCount { rows.append((0..<v.columnCount).map { v.string(r, $0) }) }
        let cols = (0..<v.columnCount).map { String(cString: PQfname(res, Int32($0))) }
        let affected = Int(String(cString: PQcmdTuples(res))) ?? 0
        return PGRows(columns: cols, rows: rows, affected: affected)
    }

    /// `BEGIN` … `COMMIT`; rolls back when `body` throws.
    public func transaction<R>(_ begin: String = "BEGIN", _ body: () throws -> R) throws -> R {
        try exec(begin)
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            _ = try? exec("ROLLBACK")
            throw error
        }
    }

    /// `COPY … FROM STDIN`: sends `data` (COPY text format) and returns the rows copied.
    @discardableResult
    public func copyIn(_ sql: String, data: [UInt8]) throws -> Int {
        guard let res = PQexec(conn, sql) else { throw lostOrError(nil) }
        guard PQresultStatus(res) == PGRES_COPY_IN else {
            let e = lostOrError(res)
            PQclear(res)
            throw e
        }
        PQclear(res)
        var off = 0
        var failed = false
        while off < data.count {
            let n = min(1 << 20, data.count - off)
            let ok = data.withUnsafeBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { PQputCopyData(conn, $0 + off, Int32(n)) }
            }
            if ok != 1 { failed = true; break }
            off += n
        }
        _ = PQputCopyEnd(conn, failed ? "client error" : nil)
        var copied = 0
        var err: CatalogError?
        while let r = PQgetResult(conn) {
            if PQresultStatus(r) != PGRES_COMMAND_OK, err == nil { err = lostOrError(r) }
            copied = Int(String(cString: PQcmdTuples(r))) ?? copied
            PQclear(r)
        }
        if let err { throw err }
        if failed { throw lostOrError(nil) }
        return copied
    }

    // MARK: - LISTEN / NOTIFY

    /// `LISTEN channel` (the name is an identifier, quoted).
    public func listen(_ channel: String) throws {
        try exec("LISTEN \"\(channel.replacingOccurrences(of: "\"", with: "\"\""))\"")
    }

    /// Waits up to `timeout` seconds for a notification; returns the channels that were notified
    /// (empty on timeout). Consumes every notification that has arrived.
    public func waitForNotifications(timeout: Double) throws -> [String] {
        var out = drainNotifications()
        if !out.isEmpty { return out }
        let fd = PQsocket(conn)
        guard fd >= 0 else { throw lostOrError(nil) }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&p, 1, Int32(max(0, timeout * 1000)))
        if r > 0 {
            guard PQconsumeInput(conn) == 1 else { throw lostOrError(nil) }
            out = drainNotifications()
        }
        return out
    }

    private func drainNotifications() -> [String] {
        var out: [String] = []
        _ = PQconsumeInput(conn)
        while let n = PQnotifies(conn) {
            out.append(String(cString: n.pointee.relname))
            PQfreemem(n)
        }
        return out
    }

    public var serverVersion: Int { Int(PQserverVersion(conn)) }
}

/// A result read in place (no copies until asked).
public struct PGResultView {
    let res: OpaquePointer
    public var rowCount: Int { Int(PQntuples(res)) }
    public var columnCount: Int { Int(PQnfields(res)) }
    public func isNull(_ r: Int, _ c: Int) -> Bool { PQgetisnull(res, Int32(r), Int32(c)) == 1 }
    public func string(_ r: Int, _ c: Int) -> String? {
        if isNull(r, c) { return nil }
        return String(cString: PQgetvalue(res, Int32(r), Int32(c)))
    }
    public func int(_ r: Int, _ c: Int) -> Int? {
        if isNull(r, c) { return nil }
        return strtol(PQgetvalue(res, Int32(r), Int32(c)), nil, 10)
    }
}

/// COPY text format: one row per line, tab-separated, `\N` for NULL.
public struct CopyBuffer {
    public private(set) var bytes: [UInt8] = []
    public init() { bytes.reserveCapacity(1 << 20) }

    public mutating func field(_ s: String?, last: Bool = false) {
        if let s {
            for b in s.utf8 {
                switch b {
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
                default: bytes.append(b)
                }
            }
        } else {
            bytes.append(0x5C); bytes.append(UInt8(ascii: "N"))
        }
        bytes.append(last ? 0x0A : 0x09)
    }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }
}
