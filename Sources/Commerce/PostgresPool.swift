import AisleCatalog
import Dispatch
import Synchronization

/// A small pool of PostgreSQL connections (a `PGConnection` serves one caller at a time). At most
/// `maxOpen` are open at once: a caller beyond that waits up to `waitTimeout` seconds for one to
/// come back, then gets an `unavailable` error (a 503), so a burst of requests cannot exhaust the
/// server's `max_connections`. A connection that lost its server is dropped; the next caller
/// connects anew, so the pool recovers by itself when PostgreSQL is back.
public final class PostgresPool: Sendable {
    public let url: String
    public let maxIdle: Int
    public let maxOpen: Int
    public let waitTimeout: Double
    private let idle = Mutex<[PGConnection]>([])
    private let slots: DispatchSemaphore

    public init(url: String, maxIdle: Int = 16, maxOpen: Int = 32, waitTimeout: Double = 10) {
        self.url = url
        self.maxOpen = max(1, maxOpen)
        self.maxIdle = min(max(1, maxIdle), self.maxOpen)
        self.waitTimeout = waitTimeout
        slots = DispatchSemaphore(value: self.maxOpen)
    }

    public var location: String { PGConnection.describe(url) }

    public func withConnection<R>(_ body: (PGConnection) throws -> R) throws -> R {
        guard slots.wait(timeout: .now() + waitTimeout) == .success else {
            throw CatalogError.unavailable("all \(maxOpen) connections to PostgreSQL at \(location) stayed busy for \(Int(waitTimeout)) s")
        }
        defer { slots.signal() }
        let c = try idle.withLock({ $0.popLast() }) ?? PGConnection(url: url)
        do {
            let r = try body(c)
            idle.withLock { if $0.count < maxIdle { $0.append(c) } }
            return r
        } catch let e as CatalogError {
            if case .unavailable = e {
                idle.withLock { $0.removeAll() }
            } else {
                idle.withLock { if $0.count < maxIdle { $0.append(c) } }
            }
            throw e
        } catch {
            idle.withLock { if $0.count < maxIdle { $0.append(c) } }
            throw error
        }
    }
}
