import Foundation
import Testing
import AisleCatalog
import AisleEngine

/// What the integration tests need from the environment. `scripts/test.sh` starts a throwaway
/// PostgreSQL (and the MongoDB wire-protocol test server) and sets these; without them the tests
/// that need a server are skipped, saying so.
enum TestEnv {
    static let database = ProcessInfo.processInfo.environment["AISLE_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let mongo = ProcessInfo.processInfo.environment["AISLE_TEST_MONGODB_URI"].flatMap { $0.isEmpty ? nil : $0 }
    static let noDatabase = "AISLE_TEST_DATABASE_URL is not set: PostgreSQL integration test skipped (scripts/test.sh starts a server and sets it)"
    static let noMongo = "AISLE_TEST_MONGODB_URI is not set: libmongoc test skipped (scripts/test.sh starts scripts/mongo_wire_server.py and sets it)"

    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// ../shared/corpora next to the repository (absent on a fresh clone).
    static let shared: String? = {
        let p = (root as NSString).deletingLastPathComponent + "/shared/corpora"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }()

    static func temp(_ label: String) -> String {
        let p = NSTemporaryDirectory() + "aisle-catalog-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// A database of its own for one test (created from AISLE_TEST_DATABASE_URL, dropped at the end),
/// so tests run in parallel without seeing each other's catalog.
final class TestDatabase {
    let name: String
    let url: String
    private let admin: PGConnection

    init() throws {
        guard let base = TestEnv.database else { throw CatalogError.input(TestEnv.noDatabase) }
        admin = try PGConnection(url: base)
        name = "aisle_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        // An identifier made here (letters and digits), not a value: CREATE DATABASE takes no parameters.
        try admin.exec("CREATE DATABASE \(name)")
        url = Self.url(base, database: name)
    }

    deinit {
        _ = try? admin.exec("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func url(_ base: String, database: String) -> String {
        if base.hasPrefix("postgres://") || base.hasPrefix("postgresql://") {
            var s = base
            var query = ""
            if let q = s.firstIndex(of: "?") { query = String(s[q...]); s = String(s[..<q]) }
            let schemeEnd = s.range(of: "://")!.upperBound
            if let slash = s[schemeEnd...].firstIndex(of: "/") { s = String(s[..<slash]) }
            return s + "/" + database + query
        }
        return base + " dbname=" + database
    }
}

/// The `aisle` binary, run as a process.
enum CLI {
    static let binary: String = {
        if let b = ProcessInfo.processInfo.environment["AISLE_BIN"] { return b }
        let nextToTests = Bundle.main.bundleURL.appendingPathComponent("aisle").path
        if FileManager.default.isExecutableFile(atPath: nextToTests) { return nextToTests }
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: TestEnv.root + "/.build")) ?? [] where !dir.hasPrefix(".") {
            let p = TestEnv.root + "/.build/" + dir + "/debug/aisle"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return TestEnv.root + "/.build/debug/aisle"
    }()

    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    static func environment(_ extra: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for k in ["DATABASE_URL", "MONGODB_URI", "AISLE_ATTRIBUTES"] { env[k] = nil }
        for (k, v) in extra { env[k] = v }
        return env
    }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = environment(env)
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Read both pipes concurrently (a full stderr pipe would block the child).
        let errData = Mutex2<Data>(Data())
        let t = Thread { errData.set(e.fileHandleForReading.readDataToEndOfFile()) }
        t.start()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !t.isFinished { usleep(1000) }
        return Run(status: p.terminationStatus, out: String(decoding: out, as: UTF8.self), err: String(decoding: errData.get(), as: UTF8.self))
    }

    /// Starts a long-running command (output to a log file).
    static func start(_ args: [String], env: [String: String] = [:], log: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = environment(env)
        FileManager.default.createFile(atPath: log, contents: nil)
        let fh = FileHandle(forWritingAtPath: log)!
        p.standardOutput = fh
        p.standardError = fh
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// `aisle export --fields …` as id -> fields.
    static func export(_ index: String, fields: String = "price,in_stock,stock,rating,review_count,title,brand,category_path") throws -> [String: JSONValue] {
        let r = try run(["export", "--index", index, "--fields", fields])
        guard r.status == 0 else { throw CatalogError.input("export failed: \(r.err)") }
        var out: [String: JSONValue] = [:]
        for line in r.out.split(separator: "\n") {
            let v = try JSONValue.parse(String(line))
            out[v["id"]!.stringValue!] = v
        }
        return out
    }

    /// Ids and scores (3 decimals) of a JSON search request.
    static func search(_ index: String, _ request: String) throws -> (total: Int, hits: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["search", "--index", index, "--stdin"]
        let i = Pipe(), o = Pipe()
        p.standardInput = i
        p.standardOutput = o
        p.standardError = FileHandle.nullDevice
        try p.run()
        i.fileHandleForWriting.write(Data((request + "\n").utf8))
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let v = try JSONValue.parse(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        let hits = (v["hits"]?.arrayValue ?? []).map { h in
            "\(h["id"]?.stringValue ?? "?"):\(String(format: "%.3f", h["score"]?.numberValue ?? -1))"
        }
        return (Int(v["total"]?.numberValue ?? -1), hits)
    }
}

final class Mutex2<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}

/// Waits until `cond` holds (polling), at most `seconds`.
func eventually(_ seconds: Double, _ cond: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try cond() { return true }
        usleep(50_000)
    }
    return try cond()
}
