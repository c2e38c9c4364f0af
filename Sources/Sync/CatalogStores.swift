import Foundation
import AisleCatalog

/// An attribute store opened on a thread of its own (the file store reads the whole file, seconds
/// for a million documents), so that a server answers searches and applies price and stock changes
/// meanwhile; what needs the documents waits for them.
public final class AttributeStoreLoader: @unchecked Sendable {
    private let cond = NSCondition()
    private var result: Result<any AttributeStore, Error>?

    /// Already open.
    public init(ready store: any AttributeStore) {
        result = .success(store)
    }

    /// Opens the store in the background.
    public init(opening open: @escaping @Sendable () throws -> any AttributeStore) {
        let t = Thread { [self] in
            let r = Result { try open() }
            cond.lock()
            result = r
            cond.broadcast()
            cond.unlock()
        }
        t.name = "aisle-attribute-store"
        t.start()
    }

    public func get() throws -> any AttributeStore {
        cond.lock()
        while result == nil { cond.wait() }
        let r = result!
        cond.unlock()
        return try r.get()
    }
}

/// Where a command's stores are: `--database` / DATABASE_URL, `--attributes` / MONGODB_URI / the file.
public struct CatalogStores {
    public let url: String
    public let attributes: any AttributeStore

    public static func open(database: String?, attributes file: String?, mongo: String? = nil) throws -> CatalogStores {
        guard let url = CatalogDatabase.url(database) else {
            throw CatalogError.input("no database: give --database URL or set DATABASE_URL (scripts/services.sh start gives a local one)")
        }
        return CatalogStores(url: url, attributes: try AttributeStores.open(mongoURI: mongo, file: file))
    }
}
