import Foundation
import Testing
import AisleCatalog
@testable import AisleCommerce

/// The real stores `scripts/test.sh` starts (a throwaway PostgreSQL and Redis on 127.0.0.1).
enum CommerceEnv {
    static let database = ProcessInfo.processInfo.environment["AISLE_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let redis = ProcessInfo.processInfo.environment["AISLE_TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var ready: Bool { database != nil && redis != nil }
    static let skipped = "AISLE_TEST_DATABASE_URL and AISLE_TEST_REDIS_URL are not both set: commerce tests against real PostgreSQL and Redis skipped (scripts/test.sh starts both and sets them)"
}

/// A database of its own (dropped at the end), the catalog's tables with a few products, a Redis
/// key prefix of its own, and `Commerce` over them.
/// Shared with concurrent closures only for `commerce` (Sendable); the catalog connection stays on the test's thread.
final class Shop: @unchecked Sendable {
    let name: String
    let url: String
    let admin: PGConnection
    let catalog: CatalogDatabase
    let commerce: Commerce
    let prefix: String
    let redis: RedisPool

    init(config: (inout CommerceConfig) -> Void = { _ in }, redisURL: String? = nil) throws {
        guard let base = CommerceEnv.database, let r = redisURL ?? CommerceEnv.redis else { throw CommerceError.unavailable(CommerceEnv.skipped) }
        admin = try PGConnection(url: base)
        name = "aisle_c_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try admin.exec("CREATE DATABASE \(name)")   // an identifier made here, not a value
        url = base.hasPrefix("postgres") ? Self.swapDatabase(base, name) : base + " dbname=" + name
        catalog = try CatalogDatabase(url: url)
        try catalog.conn.execScript("""
        INSERT INTO products (id, title, price, status) VALUES
          ('dime', 'A dime''s worth', 0.10, 'active'),
          ('lamp', 'Brass desk lamp', 19.99, 'active'),
          ('sofa', 'Velvet sofa', 899.00, 'active'),
          ('old', 'Discontinued stool', 5.00, 'discontinued'),
          ('gone', 'Out of stock vase', 12.50, 'active');
        INSERT INTO inventory (product_id, available, reserved) VALUES
          ('dime', 1000, 0), ('lamp', 5, 2), ('sofa', 10, 0), ('old', 3, 0), ('gone', 0, 0);
        INSERT INTO products (id, title, price) SELECT 'bulk' || g, 'Bulk item ' || g, 1.00 FROM generate_series(1, 120) g;
        INSERT INTO inventory (product_id, available) SELECT 'bulk' || g, 50 FROM generate_series(1, 120) g;
        """)
        prefix = "t\(UUID().uuidString.prefix(8)):"
        var c = CommerceConfig()
        c.keyPrefix = prefix
        c.password.memoryKiB = 1024   // fast tests; the defaults are checked in their own test
        config(&c)
        redis = try RedisPool(url: r)
        commerce = try Commerce(redis: redis, postgres: PostgresPool(url: url), config: c)
    }

    deinit {
        _ = try? redis.withConnection { c -> Void in
            let keys = try c.command(["KEYS", prefix + "*"]).array ?? []
            for k in keys { if let s = k.string { _ = try c.command(["DEL", s]) } }
        }
        _ = try? admin.exec("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func swapDatabase(_ base: String, _ db: String) -> String {
        var s = base
        var query = ""
        if let q = s.firstIndex(of: "?") { query = String(s[q...]); s = String(s[..<q]) }
        let schemeEnd = s.range(of: "://")!.upperBound
        if let slash = s[schemeEnd...].firstIndex(of: "/") { s = String(s[..<slash]) }
        return s + "/" + db + query
    }

    func sql(_ q: String, _ p: [String?] = []) throws -> PGRows { try catalog.conn.exec(q, p) }

    func customer(_ email: String = "ann@example.com", password: String = "correct horse") throws -> (Customer, IssuedSession) {
        let c = try commerce.register(email: email, password: password, name: "Ann")
        return (c, try commerce.logIn(email: email, password: password, guestToken: nil))
    }
}

/// A redis-server of the test's own on a free port, to stop and start again.
final class OwnRedis {
    let port: Int
    var process: Process?
    let dir: String

    init() throws {
        port = Int.random(in: 20_000...29_999)
        dir = NSTemporaryDirectory() + "aisle-redis-\(port)-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try start()
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        p.arguments = ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<250 {
            if (try? RedisConnection(RedisEndpoint(port: port)).command(["PING"])) == .status("PONG") { return }
            usleep(20_000)
        }
        throw RedisError.unavailable("the test's redis-server did not start on port \(port)")
    }

    func stop() {
        guard let p = process else { return }
        // SIGKILL: a process spawned from a dispatch worker thread may have SIGTERM blocked.
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

extension CommerceError {
    var kind: String {
        switch self {
        case .invalid: return "invalid"
        case .unauthorized: return "unauthorized"
        case .notFound: return "notFound"
        case .conflict: return "conflict"
        case .versionMismatch: return "versionMismatch"
        case .throttled: return "throttled"
        case .unavailable: return "unavailable"
        case .overflow: return "overflow"
        case .internalError: return "internal"
        case .refused(let r): return r.code
        }
    }
}

/// The kind of CommerceError `body` throws (nil when it throws none or another error).
func failure<R>(_ body: () throws -> R) -> String? {
    do { _ = try body(); return nil } catch let e as CommerceError { return e.kind } catch { return "other: \(error)" }
}
