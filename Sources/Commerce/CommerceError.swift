import AisleCatalog

/// What a commerce operation can answer besides success. Each case maps to one HTTP status at the
/// edge; messages are for users and never contain a password, a token or a hash.
public enum CommerceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Bad input, naming the field (400).
    case invalid(String)
    /// No session, an expired one, or wrong credentials (401).
    case unauthorized(String)
    /// No such product, line or customer (404).
    case notFound(String)
    /// The change conflicts with the state (409): email taken, inactive product, line or cart full.
    case conflict(String)
    /// `If-Match` named another version (412).
    case versionMismatch(current: Int)
    /// Too many failed logins for one email (429).
    case throttled(retryAfter: Int)
    /// A store is down (503): `cart store unavailable: Redis at …: Connection refused`.
    case unavailable(String)
    /// An amount beyond 18 digits.
    case overflow
    case internalError(String)

    public var description: String {
        switch self {
        case .invalid(let m), .unauthorized(let m), .notFound(let m), .conflict(let m), .unavailable(let m), .internalError(let m): return m
        case .versionMismatch(let v): return "the cart changed: its version is \(v); read it again and retry"
        case .throttled(let s): return "too many failed logins for this email; retry in \(s) s"
        case .overflow: return "an amount is too large to compute exactly"
        }
    }

    /// A store's failure as a commerce error: unavailability names the store.
    static func from(_ error: Error, store: String) -> Error {
        switch error {
        case let e as RedisError:
            if case .unavailable(let m) = e { return CommerceError.unavailable("\(store) unavailable: \(m)") }
            return CommerceError.internalError("\(store): \(e)")
        case let e as CatalogError:
            if case .unavailable(let m) = e { return CommerceError.unavailable("\(store) unavailable: \(m)") }
            return CommerceError.internalError("\(store): \(e)")
        default:
            return error
        }
    }
}

/// Runs `body`, turning store failures into `CommerceError`s that name `store`.
func inStore<R>(_ store: String, _ body: () throws -> R) throws -> R {
    do { return try body() } catch { throw CommerceError.from(error, store: store) }
}
