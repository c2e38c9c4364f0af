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
    /// An order or a stock change refused for a reason a client acts on (409 or 422, with a code).
    case refused(OrderRefusal)
    /// An amount beyond 18 digits.
    case overflow
    case internalError(String)

    public var description: String {
        switch self {
        case .invalid(let m), .unauthorized(let m), .notFound(let m), .conflict(let m), .unavailable(let m), .internalError(let m): return m
        case .versionMismatch(let v): return "the cart changed: its version is \(v); read it again and retry"
        case .throttled(let s): return "too many failed logins for this email; retry in \(s) s"
        case .overflow: return "an amount is too large to compute exactly"
        case .refused(let r): return r.message
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

/// Why an order (or a stock change) was refused. Each has a code the API answers as `error`.
public enum OrderRefusal: Sendable, Equatable {
    case cartEmpty
    /// The catalog's prices give another total than the buyer saw.
    case totalsChanged(total: Money, expected: Money, currency: String)
    /// Not enough sellable stock (`available` = available − reserved, never below 0).
    case outOfStock(productId: String, available: Int)
    /// The product is gone, a draft or discontinued.
    case productUnavailable(productId: String)
    /// A request with this idempotency key is still running.
    case inProgress(retryAfter: Int)
    /// The idempotency key was used with another request body.
    case keyReused
    case illegalTransition(status: OrderStatus, transition: OrderTransition)
    /// The order changed under this request too many times in a row.
    case versionConflict
    /// `if_available` named another stock level than the current one.
    case staleStock(available: Int)

    public var code: String {
        switch self {
        case .cartEmpty: return "cart_empty"
        case .totalsChanged: return "totals_changed"
        case .outOfStock: return "out_of_stock"
        case .productUnavailable: return "product_unavailable"
        case .inProgress: return "in_progress"
        case .keyReused: return "idempotency_key_reused"
        case .illegalTransition: return "illegal_transition"
        case .versionConflict: return "version_conflict"
        case .staleStock: return "stale_stock"
        }
    }

    public var message: String {
        switch self {
        case .cartEmpty: return "the cart is empty: add products before placing an order"
        case .totalsChanged(let t, let e, let c): return "prices changed: the order would cost \(t.formatted()) \(c), not the expected \(e.formatted()); review the cart and send the new total"
        case .outOfStock(let p, let a): return "not enough stock of \(p): \(a) can be sold"
        case .productUnavailable(let p): return "product \(p) is not for sale any more; remove it from the cart"
        case .inProgress(let s): return "a request with this Idempotency-Key is still being processed; retry in \(s) s"
        case .keyReused: return "this Idempotency-Key was already used with a different request body"
        case .illegalTransition(let s, let t): return "an order that is \(s.rawValue) cannot be \(t.pastTense)"
        case .versionConflict: return "the order kept changing while this request ran; read it again and retry"
        case .staleStock(let a): return "the stock changed: available is now \(a)"
        }
    }
}

/// Runs `body`, turning store failures into `CommerceError`s that name `store`.
func inStore<R>(_ store: String, _ body: () throws -> R) throws -> R {
    do { return try body() } catch { throw CommerceError.from(error, store: store) }
}
