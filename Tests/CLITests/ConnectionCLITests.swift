import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `aisle serve`'s connection limits, against the real binary on a real port: slow-header,
/// slow-body and idle connections are closed, and connections past the cap are closed at once
/// (issue 13: 6 of 6 slow connections used to stay open forever).
@Suite(.serialized) struct ConnectionCLITests {
    typealias C = CLITests

    /// A TCP connection to 127.0.0.1:port (nil when refused).
    static func connect(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { close(fd); return nil }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ s: String) {
        _ = Array(s.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server closed the connection within `seconds` (EOF or reset).
    static func closedByServer(_ fd: Int32, within seconds: Double) -> Bool {
        let end = Date(timeIntervalSinceNow: seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while Date() < end {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK { return true }
        }
        return false
    }

    /// The status line of `GET path` on a fresh connection ("" if none came within `seconds`).
    static func get(_ port: Int, _ path: String, within seconds: Double = 10) -> String {
        guard let fd = connect(port) else { return "" }
        defer { close(fd) }
        send(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        var buf = [UInt8](repeating: 0, count: 65536)
        var answer = ""
        let end = Date(timeIntervalSinceNow: seconds)
        while Date() < end && !answer.contains("\r\n\r\n") {
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 { answer += String(decoding: buf[0..<n], as: UTF8.self) } else if n == 0 { break }
        }
        return answer.components(separatedBy: "\r\n").first ?? ""
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @Test func slowAndIdleConnectionsAreClosedAndTheirNumberCapped() throws {
        let work = NSTemporaryDirectory() + "aisle-conn-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let idx = work + "/idx"
        #expect(try C.aisle(["index", "--corpus", C.root + "/corpora/sample-catalog.jsonl", "--index", idx, "--quiet"]).status == 0)
        var port = 0
        var server: Process?
        for _ in 0..<5 where server == nil {
            port = Self.freePort()
            let p = Process()
            p.executableURL = URL(fileURLWithPath: C.binary)
            p.arguments = ["serve", "--index", idx, "--port", String(port), "--max-connections", "4",
                           "--idle-timeout-ms", "500", "--read-timeout-ms", "500"]
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            for _ in 0..<300 where server == nil && p.isRunning {
                if Self.get(port, "/healthz", within: 1).hasPrefix("HTTP/1.1 200") { server = p } else { usleep(50_000) }
            }
            if server == nil { p.terminate(); p.waitUntilExit() }
        }
        let s = try #require(server)
        defer { s.terminate(); s.waitUntilExit() }
        // Slow headers, a slow body and an idle connection: all closed within the timeouts.
        let slowHeader = try #require(Self.connect(port))
        Self.send(slowHeader, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
        let slowBody = try #require(Self.connect(port))
        Self.send(slowBody, "POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"q\":")
        let idle = try #require(Self.connect(port))
        defer { for fd in [slowHeader, slowBody, idle] { close(fd) } }
        #expect(Self.closedByServer(slowHeader, within: 5))
        #expect(Self.closedByServer(slowBody, within: 5))
        #expect(Self.closedByServer(idle, within: 5))
        // A normal request still works (once the closed connections are released).
        var status = ""
        for _ in 0..<20 where !status.hasPrefix("HTTP/1.1 200") {
            status = Self.get(port, "/healthz")
            if !status.hasPrefix("HTTP/1.1 200") { usleep(200_000) }
        }
        #expect(status.hasPrefix("HTTP/1.1 200"), "\(status)")
        // Past the cap, new connections are closed at once; once they go, requests work again.
        var held: [Int32] = []
        for _ in 0..<4 { if let fd = Self.connect(port) { held.append(fd) } }
        usleep(200_000)
        let extra = try #require(Self.connect(port))
        #expect(Self.closedByServer(extra, within: 2))
        close(extra)
        for fd in held { close(fd) }
        status = ""
        for _ in 0..<20 where !status.hasPrefix("HTTP/1.1 200") {
            usleep(200_000)
            status = Self.get(port, "/healthz")
        }
        #expect(status.hasPrefix("HTTP/1.1 200"), "\(status)")
        #expect(Self.get(port, "/healthz").hasPrefix("HTTP/1.1 200"))
    }
}
