import AisleCatalog
import Synchronization

/// A small pool of PostgreSQL connections (a `PGConnection` serves one caller at a time). A
/// connection that lost its server is dropped; the next caller connects anew, so the pool recovers
/// by itself when PostgreSQL is back.
public final class PostgresPool: Sendable {
    public let url: String
    public let maxIdle: Int
    private let idle = Mutex<[PGConnection]>([])

    public init(url: String, maxIdle: Int = 16) {
        self.url = url
        self.maxIdle = max(1, maxIdle)
    }

    public var location: String { PGConnection.describe(url) }

    public func withConnection<R>(_ body: (PGConnection) throws -> R) throws -> R {
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
