#if canImport(Glibc)
import Glibc
#endif
import CHiredis
import Foundation
import Synchronization

/// Errors of the Redis layer. Messages name the server and are meant for users.
public enum RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Redis cannot be reached or the connection broke: `Redis at 127.0.0.1:6379: Connection refused`.
    case unavailable(String)
    /// Redis answered with an error (`ERR …`, `NOSCRIPT …`).
    case reply(String)
    /// A reply of a shape the caller did not expect.
    case unexpected(String)

    public var description: String {
        switch self {
        case .unavailable(let m), .reply(let m), .unexpected(let m): return m
        }
    }
}

/// One Redis reply (RESP2), copied out of hiredis's reply object.
public indirect enum RedisReply: Sendable, Equatable {
    case bulk([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    case error(String)

    public var string: String? {
        switch self {
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .status(let s): return s
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk, .status: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var array: [RedisReply]? { if case .array(let a) = self { return a }; return nil }
    public var isNull: Bool { self == .null }
}

/// Where Redis is: `redis://[user:password@]host[:port][/db]` (the form of REDIS_URL).
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var user: String?
    public var password: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, user: String? = nil, password: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// Parses a `redis://` URL; the error names what is wrong.
    public init(url: String) throws {
        guard url.hasPrefix("redis://") else {
            throw RedisError.unavailable("REDIS_URL must look like redis://host:port/db, got \(Self.redact(url))")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
        self.init()
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = cred.firstIndex(of: ":") {
                let u = String(cred[..<colon])
                user = u.isEmpty ? nil : u
                password = String(cred[cred.index(after: colon)...]).removingPercentEncoding
            } else if !cred.isEmpty {
                password = String(cred).removingPercentEncoding
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let d = Int(db), (0...10_000).contains(d) else {
                    throw RedisError.unavailable("REDIS_URL: the database after the / must be a number, got \(db)")
                }
                database = d
            }
        }
        if let colon = hostPort.lastIndex(of: ":") {
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                throw RedisError.unavailable("REDIS_URL: the port must be 1 to 65535, got \(hostPort[hostPort.index(after: colon)...])")
            }
            port = p
            hostPort = hostPort[..<colon]
        }
        if !hostPort.isEmpty { host = String(hostPort) }
    }

    static func redact(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        return String(url[..<scheme.upperBound]) + "…" + String(url[at...])
    }

    public var description: String { "\(host):\(port)" }
}

/// One connection to Redis (hiredis, blocking). Every command is sent as an argument vector
/// (`redisCommandArgv`): values are never formatted into a command string. Not for concurrent
/// use: a `RedisPool` hands each connection to one caller at a time.
public final class RedisConnection: @unchecked Sendable {
    private let ctx: UnsafeMutablePointer<redisContext>
    public let endpoint: RedisEndpoint
    /// Set when an I/O error left the connection unusable; the pool drops it.
    public private(set) var broken = false
    /// The I/O error was a timeout: the command may have run, so it is not retried.
    public private(set) var timedOut = false

    /// Connects (within `connectTimeout` seconds), authenticates and selects the database.
    public init(_ endpoint: RedisEndpoint, connectTimeout: Double = 1, commandTimeout: Double = 2) throws {
        self.endpoint = endpoint
        guard let c = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), Self.timeval(connectTimeout)) else {
            throw RedisError.unavailable("Redis at \(endpoint): out of memory")
        }
        if c.pointee.err != 0 {
            let m = Self.errorString(c)
            redisFree(c)
            throw RedisError.unavailable("Redis at \(endpoint): \(m)")
        }
        ctx = c
        _ = redisSetTimeout(c, Self.timeval(commandTimeout))
        if let pw = endpoint.password {
            let args = endpoint.user.map { ["AUTH", $0, pw] } ?? ["AUTH", pw]
            if case .error(let e) = try command(args.map { Array($0.utf8) }) {
                throw RedisError.unavailable("Redis at \(endpoint): authentication failed: \(e)")
            }
        }
        if endpoint.database != 0, case .error(let e) = try command([Array("SELECT".utf8), Array(String(endpoint.database).utf8)]) {
            throw RedisError.unavailable("Redis at \(endpoint): SELECT \(endpoint.database) failed: \(e)")
        }
    }

    deinit { redisFree(ctx) }

    static func timeval(_ seconds: Double) -> Glibc.timeval {
        let s = max(0, seconds)
        return Glibc.timeval(tv_sec: Int(s), tv_usec: Int((s - s.rounded(.down)) * 1_000_000))
    }

    static func errorString(_ c: UnsafeMutablePointer<redisContext>) -> String {
        let m = withUnsafeBytes(of: c.pointee.errstr) { raw -> String in
            let bytes = raw.prefix(while: { $0 != 0 })
            return String(decoding: bytes, as: UTF8.self)
        }
        return m.isEmpty ? "I/O error \(c.pointee.err)" : m
    }

    /// Sends one command (its arguments as bytes) and returns the reply. An error reply is
    /// returned as `.error`, not thrown; an I/O error throws `.unavailable` and breaks the connection.
    public func command(_ args: [[UInt8]]) throws -> RedisReply {
        guard !broken else { throw RedisError.unavailable("Redis at \(endpoint): connection closed") }
        precondition(!args.isEmpty, "a Redis command needs a name")
        var flat: [UInt8] = []
        flat.reserveCapacity(args.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        var lengths: [Int] = []
        for a in args {
            offsets.append(flat.count)
            lengths.append(a.count)
            flat.append(contentsOf: a)
        }
        flat.append(0)
        let raw: UnsafeMutableRawPointer? = flat.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { base in
                var argv: [UnsafePointer<CChar>?] = offsets.map { UnsafePointer(base + $0) }
                return argv.withUnsafeMutableBufferPointer { av in
                    lengths.withUnsafeBufferPointer { lens in
                        redisCommandArgv(ctx, Int32(args.count), av.baseAddress, lens.baseAddress)
                    }
                }
            }
        }
        guard let raw else {
            broken = true
            let m = Self.errorString(ctx)
            timedOut = ctx.pointee.err == REDIS_ERR_IO && (m.contains("temporarily unavailable") || m.contains("timed out"))
            throw RedisError.unavailable("Redis at \(endpoint): \(Self.errorString(ctx))")
        }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// The same, with text arguments.
    public func command(_ args: [String]) throws -> RedisReply { try command(args.map { Array($0.utf8) }) }

    static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let p = r.pointee
        func bytes() -> [UInt8] {
            guard let s = p.str, p.len > 0 else { return [] }
            return s.withMemoryRebound(to: UInt8.self, capacity: p.len) { Array(UnsafeBufferPointer(start: $0, count: p.len)) }
        }
        switch p.type {
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(p.integer)
        case REDIS_REPLY_NIL: return .null
        case REDIS_REPLY_ARRAY:
            var out: [RedisReply] = []
            out.reserveCapacity(p.elements)
            for i in 0..<p.elements {
                if let e = p.element[i] { out.append(convert(e)) } else { out.append(.null) }
            }
            return .array(out)
        default: return .error("unknown reply type \(p.type)")
        }
    }
}

/// A Lua script run with `EVALSHA` (loaded on first use and again after a Redis restart forgets
/// it: a `NOSCRIPT` reply loads it and retries). Multi-key changes are atomic this way.
public final class RedisScript: Sendable {
    public let source: String
    private let sha = Mutex<String?>(nil)

    public init(_ source: String) { self.source = source }

    func run(on c: RedisConnection, keys: [String], args: [[UInt8]]) throws -> RedisReply {
        for attempt in 0..<2 {
            let known = sha.withLock { $0 }
            let digest: String
            if let known, attempt == 0 {
                digest = known
            } else {
                let r = try c.command(["SCRIPT", "LOAD", source])
                guard case .bulk = r, let d = r.string else { throw RedisError.reply("SCRIPT LOAD failed: \(r)") }
                sha.withLock { $0 = d }
                digest = d
            }
            var argv: [[UInt8]] = [Array("EVALSHA".utf8), Array(digest.utf8), Array(String(keys.count).utf8)]
            argv += keys.map { Array($0.utf8) }
            argv += args
            let r = try c.command(argv)
            if case .error(let e) = r {
                if e.hasPrefix("NOSCRIPT") { continue }
                throw RedisError.reply(e)
            }
            return r
        }
        throw RedisError.reply("the script could not be loaded into Redis at \(c.endpoint)")
    }
}

/// A small pool of Redis connections for concurrent requests. A connection is made when none is
/// idle; a broken one is dropped, so the pool reconnects by itself once Redis is back. A command
/// that fails on a connection taken from the pool (it may have gone stale while Redis restarted)
/// is tried once more on a fresh connection; a fresh connection's failure is final, at once.
public final class RedisPool: Sendable {
    public let endpoint: RedisEndpoint
    public let maxIdle: Int
    let connectTimeout: Double
    let commandTimeout: Double
    private let idle = Mutex<[RedisConnection]>([])
    /// Connections made so far (for tests and /healthz).
    public let connectionsMade = Atomic<Int>(0)

    public init(_ endpoint: RedisEndpoint, maxIdle: Int = 32, connectTimeout: Double = 1, commandTimeout: Double = 2) {
        // hiredis writes with write(2): a connection Redis closed must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        self.endpoint = endpoint
        self.maxIdle = max(1, maxIdle)
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    public convenience init(url: String, maxIdle: Int = 32) throws {
        self.init(try RedisEndpoint(url: url), maxIdle: maxIdle)
    }

    private func take() throws -> (RedisConnection, pooled: Bool) {
        if let c = idle.withLock({ $0.popLast() }) { return (c, true) }
        let c = try RedisConnection(endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout)
        connectionsMade.add(1, ordering: .relaxed)
        return (c, false)
    }

    private func give(_ c: RedisConnection) {
        guard !c.broken else { return }
        idle.withLock { if $0.count < maxIdle { $0.append(c) } }
    }

    /// Runs `body` with a connection of its own.
    public func withConnection<R>(_ body: (RedisConnection) throws -> R) throws -> R {
        var (c, pooled) = try take()
        while true {
            do {
                let r = try body(c)
                give(c)
                return r
            } catch let e as RedisError {
                if c.broken {
                    // The idle connections are likely as stale as this one.
                    idle.withLock { $0.removeAll() }
                    if pooled && !c.timedOut {
                        (c, pooled) = (try RedisConnection(endpoint, connectTimeout: connectTimeout, commandTimeout: commandTimeout), false)
                        connectionsMade.add(1, ordering: .relaxed)
                        continue
                    }
                } else {
                    give(c)
                }
                throw e
            } catch {
                give(c)
                throw error
            }
        }
    }

    public func command(_ args: [String]) throws -> RedisReply { try withConnection { try $0.command(args) } }

    /// Runs a script: `EVALSHA sha numkeys keys… args…`.
    public func run(_ script: RedisScript, keys: [String], args: [String]) throws -> RedisReply {
        try withConnection { try script.run(on: $0, keys: keys, args: args.map { Array($0.utf8) }) }
    }

    /// Drops every idle connection (tests; after a configuration change).
    public func reset() { idle.withLock { $0.removeAll() } }
}
