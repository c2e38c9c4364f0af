import Foundation

/// A session as the server knows it (the token itself is never stored: `id` is its SHA-256).
public struct Session: Sendable, Equatable {
    public enum Kind: String, Sendable { case guest, customer }
    public var id: String
    public var kind: Kind
    public var customerId: Int64?
    public var expiresAt: Date

    /// The key of this session's cart: a customer's cart outlives their sessions; a guest's
    /// belongs to the guest session.
    public var cartOwner: String { customerId.map { "c:\($0)" } ?? "g:\(id)" }
}

/// A session just started: the token goes to the client once.
public struct IssuedSession: Sendable {
    public var token: String
    public var session: Session
    /// Cart lines merged from a guest cart at login (nil when there was none to merge).
    public var mergedLines: Int?
    public var ttl: Int
}

/// Sessions in Redis: one hash per session, `aisle:session:<sha256(token)>`, with a TTL that
/// slides on every use (guests and customers have their own).
public struct SessionStore: Sendable {
    let redis: RedisPool
    let prefix: String
    public var guestTTL: Int
    public var customerTTL: Int
    static let store = "cart store"

    public init(redis: RedisPool, prefix: String = "aisle:", guestTTL: Int, customerTTL: Int) {
        self.redis = redis
        self.prefix = prefix
        self.guestTTL = guestTTL
        self.customerTTL = customerTTL
    }

    func key(_ id: String) -> String { "\(prefix)session:\(id)" }

    static let create = RedisScript("""
    redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'cid', ARGV[3], 'created', ARGV[4])
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    return 1
    """)

    /// Reads a session and slides its TTL in one step; nil when it does not exist (expired).
    static let touch = RedisScript("""
    local v = redis.call('HMGET', KEYS[1], 'kind', 'cid')
    if not v[1] then return false end
    local ttl = ARGV[1]
    if v[1] == 'customer' then ttl = ARGV[2] end
    redis.call('EXPIRE', KEYS[1], ttl)
    return {v[1], v[2], tonumber(ttl)}
    """)

    public func start(customerId: Int64?) throws -> IssuedSession {
        let token = SessionToken.make()
        let id = SessionToken.digest(token)
        let kind: Session.Kind = customerId == nil ? .guest : .customer
        let ttl = kind == .guest ? guestTTL : customerTTL
        _ = try inStore(Self.store) {
            try redis.run(Self.create, keys: [key(id)],
                          args: [String(ttl), kind.rawValue, customerId.map(String.init) ?? "", String(Int(Date().timeIntervalSince1970))])
        }
        return IssuedSession(token: token, session: Session(id: id, kind: kind, customerId: customerId,
                                                            expiresAt: Date().addingTimeInterval(Double(ttl))), ttl: ttl)
    }

    /// The session of a token, its TTL renewed; nil when there is none (unknown, expired, malformed).
    public func session(token: String) throws -> Session? {
        guard SessionToken.isWellFormed(token) else { return nil }
        let id = SessionToken.digest(token)
        let r = try inStore(Self.store) {
            try redis.run(Self.touch, keys: [key(id)], args: [String(guestTTL), String(customerTTL)])
        }
        guard let a = r.array, a.count == 3, let kind = a[0].string.flatMap(Session.Kind.init(rawValue:)), let ttl = a[2].integer else { return nil }
        let cid = a[1].string.flatMap { Int64($0) }
        if kind == .customer && cid == nil { return nil }
        return Session(id: id, kind: kind, customerId: kind == .customer ? cid : nil, expiresAt: Date().addingTimeInterval(Double(ttl)))
    }

    public func end(_ session: Session) throws {
        _ = try inStore(Self.store) { try redis.command(["DEL", key(session.id)]) }
    }
}

/// Failed logins per email, in Redis (`aisle:login-fail:<sha256(lowercased email)>`, a counter
/// that expires `window` seconds after the first failure). At `limit` failures the email is
/// refused (429) until the window ends, whatever the password.
public struct LoginThrottle: Sendable {
    let redis: RedisPool
    let prefix: String
    public var limit: Int
    public var window: Int

    public init(redis: RedisPool, prefix: String = "aisle:", limit: Int = 5, window: Int = 900) {
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
    }

    func key(_ email: String) -> String { "\(prefix)login-fail:\(SHA256.hex(email.lowercased()))" }

    static let fail = RedisScript("""
    local n = redis.call('INCR', KEYS[1])
    if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
    return n
    """)

    /// Seconds until `email` may try again, or nil when it may now.
    public func blocked(_ email: String) throws -> Int? {
        let r = try inStore(SessionStore.store) {
            try redis.withConnection { c -> (RedisReply, RedisReply) in
                (try c.command(["GET", key(email)]), try c.command(["TTL", key(email)]))
            }
        }
        guard let n = r.0.integer, n >= Int64(limit) else { return nil }
        return max(1, Int(r.1.integer ?? Int64(window)))
    }

    public func failed(_ email: String) throws {
        _ = try inStore(SessionStore.store) { try redis.run(Self.fail, keys: [key(email)], args: [String(window)]) }
    }

    public func succeeded(_ email: String) throws {
        _ = try inStore(SessionStore.store) { try redis.command(["DEL", key(email)]) }
    }
}
