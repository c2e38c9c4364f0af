import AisleCatalog
import Foundation
import Synchronization

/// How long things live and how much a cart may hold.
public struct CommerceConfig: Sendable {
    /// Seconds a guest session lives without use (slides with every request).
    public var guestSessionTTL = 30 * 60
    /// Seconds a customer session lives without use.
    public var customerSessionTTL = 14 * 24 * 3600
    /// Seconds an untouched cart lives (refreshed by every change).
    public var cartTTL = 7 * 24 * 3600
    public var maxQuantity = 99
    public var maxLines = 100
    /// Failed logins per email before it is refused for `loginWindow` seconds.
    public var loginFailures = 5
    public var loginWindow = 15 * 60
    /// Seconds an unpaid order holds its stock before it expires.
    public var orderExpiry = 30 * 60
    /// Seconds between the expiry sweeper's runs.
    public var sweepInterval = 5.0
    /// Days of analytics events kept (older day partitions are dropped; the daily rollups stay).
    public var analyticsRetentionDays = 90
    /// Redis key prefix.
    public var keyPrefix = "aisle:"
    public var password = PasswordHasher()
    public init() {}
}

/// Customers, sessions and carts: the shop's side behind search. Customers live in PostgreSQL
/// (argon2id hashes), sessions and carts in Redis; product names, prices and stock are read from
/// the catalog's tables. Every method validates its input and answers `CommerceError`s.
public final class Commerce: Sendable {
    public let config: CommerceConfig
    public let customers: CustomerStore
    public let sessions: SessionStore
    public let carts: CartStore
    public let catalog: CatalogReader
    public let throttle: LoginThrottle
    public let orders: OrderStore
    public let inventory: InventoryStore
    public let projector: OrderProjector
    /// Search analytics: events queued here are written in batches by a worker.
    public let analytics: AnalyticsRecorder
    public let analyticsReports: AnalyticsReports
    /// "Bought together": co-purchase counts projected from the order events by a worker
    /// (`startWorkers`); `coPurchases.boughtTogether(productId:limit:)` reads them.
    public let coPurchases: CoPurchaseProjector
    public let redis: RedisPool
    public let postgres: PostgresPool
    /// A hash of a random password: unknown emails are verified against it, so they cost what a
    /// wrong password costs (no user enumeration by timing).
    let decoyHash: String

    public init(redis: RedisPool, postgres: PostgresPool, config: CommerceConfig = CommerceConfig(), migrate: Bool = true) throws {
        self.config = config
        self.redis = redis
        self.postgres = postgres
        customers = CustomerStore(pool: postgres)
        sessions = SessionStore(redis: redis, prefix: config.keyPrefix, guestTTL: config.guestSessionTTL, customerTTL: config.customerSessionTTL)
        carts = CartStore(redis: redis, prefix: config.keyPrefix, ttl: config.cartTTL, maxQuantity: config.maxQuantity, maxLines: config.maxLines)
        catalog = CatalogReader(pool: postgres)
        throttle = LoginThrottle(redis: redis, prefix: config.keyPrefix, limit: config.loginFailures, window: config.loginWindow)
        orders = OrderStore(pool: postgres, expiry: config.orderExpiry)
        inventory = InventoryStore(pool: postgres)
        projector = OrderProjector(url: postgres.url)
        analytics = AnalyticsRecorder(store: AnalyticsStore(url: postgres.url))
        analyticsReports = AnalyticsReports(url: postgres.url)
        coPurchases = CoPurchaseProjector(pool: postgres)
        decoyHash = try config.password.hash(SessionToken.make())
        if migrate {
            // The catalog's tables first: orders and the stock ledger build on products and inventory.
            try inStore("catalog") { _ = try CatalogDatabase(url: postgres.url) }
            try inStore("customer store") { try postgres.withConnection { try CommerceMigrations.migrate($0) } }
        }
    }

    // MARK: - Validation

    public static func email(_ raw: String?) throws -> String {
        guard let raw else { throw CommerceError.invalid("email is required") }
        let e = raw.trimmingCharacters(in: .whitespaces)
        let parts = e.split(separator: "@", omittingEmptySubsequences: false)
        guard e.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix("."), !e.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CommerceError.invalid("email must be an address like name@example.com (at most 254 bytes)")
        }
        return e
    }

    public static func password(_ raw: String?) throws -> String {
        guard let raw else { throw CommerceError.invalid("password is required") }
        guard raw.count >= 8, raw.utf8.count <= 256 else { throw CommerceError.invalid("password must have 8 to 256 bytes (at least 8 characters)") }
        return raw
    }

    public static func name(_ raw: String?, field: String = "name") throws -> String {
        guard let raw else { throw CommerceError.invalid("\(field) is required") }
        let n = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !n.isEmpty, n.count <= 200, !n.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CommerceError.invalid("\(field) must have 1 to 200 characters and no control characters")
        }
        return n
    }

    public static func productId(_ raw: String?) throws -> String {
        guard let raw, !raw.isEmpty else { throw CommerceError.invalid("product_id is required (a product id string)") }
        guard raw.utf8.count <= 256, !raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw CommerceError.invalid("product_id must have 1 to 256 bytes and no control characters")
        }
        return raw
    }

    public func quantity(_ q: Int?, allowZero: Bool) throws -> Int {
        let lo = allowZero ? 0 : 1
        guard let q, (lo...config.maxQuantity).contains(q) else {
            throw CommerceError.invalid("quantity must be a whole number from \(lo) to \(config.maxQuantity)")
        }
        return q
    }

    // MARK: - Customers and sessions

    public func register(email: String?, password: String?, name: String?) throws -> Customer {
        let e = try Self.email(email), p = try Self.password(password), n = try Self.name(name)
        return try customers.create(email: e, passwordHash: try config.password.hash(p), name: n)
    }

    public func startGuestSession() throws -> IssuedSession { try sessions.start(customerId: nil) }

    /// Logs in. Wrong password and unknown email answer the same error after the same work.
    /// A guest session's token (`guestToken`) has its cart merged into the customer's and ends.
    public func logIn(email: String?, password: String?, guestToken: String?) throws -> IssuedSession {
        let e = try Self.email(email)
        guard let password, !password.isEmpty, password.utf8.count <= 256 else {
            throw CommerceError.invalid("password is required (at most 256 bytes)")
        }
        if let wait = try throttle.blocked(e) { throw CommerceError.throttled(retryAfter: wait) }
        let found = try customers.credentials(email: e)
        let ok = config.password.verify(password, against: found?.1 ?? decoyHash) && found != nil
        guard ok, let customer = found?.0 else {
            try throttle.failed(e)
            throw CommerceError.unauthorized("wrong email or password")
        }
        try throttle.succeeded(e)
        var issued = try sessions.start(customerId: customer.id)
        if let guestToken, let guest = try sessions.session(token: guestToken), guest.kind == .guest {
            issued.mergedLines = try carts.merge(guestOwner: guest.cartOwner, into: issued.session.cartOwner) ?? 0
            try sessions.end(guest)
        }
        return issued
    }

    /// The session of a token; 401 when there is none.
    public func session(token: String?) throws -> Session {
        guard let token, !token.isEmpty else {
            throw CommerceError.unauthorized("no session: send Authorization: Bearer <token> or the aisle_session cookie (POST /api/v1/sessions starts one)")
        }
        guard let s = try sessions.session(token: token) else {
            throw CommerceError.unauthorized("the session has expired or does not exist; start a new one with POST /api/v1/sessions")
        }
        return s
    }

    public func logOut(_ session: Session) throws { try sessions.end(session) }

    public func customer(of session: Session) throws -> Customer {
        guard let id = session.customerId else { throw CommerceError.unauthorized("this is a guest session: log in as a customer") }
        guard let c = try customers.customer(id: id) else { throw CommerceError.unauthorized("the customer of this session no longer exists") }
        return c
    }

    public func updateCustomer(of session: Session, _ change: CustomerChange) throws -> Customer {
        guard let id = session.customerId else { throw CommerceError.unauthorized("this is a guest session: log in as a customer") }
        var c = change
        if let n = change.name { c.name = try Self.name(n) }
        if let a = change.shippingAddress, let address = a {
            var v = address
            v.line1 = try Self.name(address.line1, field: "shipping_address.line1")
            v.city = try Self.name(address.city, field: "shipping_address.city")
            v.postalCode = try Self.name(address.postalCode, field: "shipping_address.postal_code")
            v.country = try Self.name(address.country, field: "shipping_address.country")
            v.name = try address.name.map { try Self.name($0, field: "shipping_address.name") }
            v.line2 = try address.line2.map { try Self.name($0, field: "shipping_address.line2") }
            v.region = try address.region.map { try Self.name($0, field: "shipping_address.region") }
            c.shippingAddress = .some(v)
        }
        guard let updated = try customers.update(id: id, c) else { throw CommerceError.unauthorized("the customer of this session no longer exists") }
        return updated
    }

    // MARK: - The cart

    public func cart(of session: Session) throws -> CartView {
        let stored = try carts.read(owner: session.cartOwner)
        let products = try catalog.products(stored.lines.map(\.productId))
        return try CartView.build(stored, catalog: products)
    }

    public func addItem(_ session: Session, productId: String?, quantity: Int?, ifMatch: Int?) throws -> LineChange {
        let id = try Self.productId(productId)
        let q = try self.quantity(quantity, allowZero: false)
        guard let p = try catalog.products([id])[id] else { throw CommerceError.notFound("no product with id \(id)") }
        guard p.active else { throw CommerceError.conflict("product \(id) is not for sale (discontinued or a draft)") }
        return try carts.add(owner: session.cartOwner, productId: id, quantity: q, price: p.price, ifMatch: ifMatch)
    }

    public func setItem(_ session: Session, productId: String?, quantity: Int?, ifMatch: Int?) throws -> LineChange {
        let id = try Self.productId(productId)
        let q = try self.quantity(quantity, allowZero: true)
        return try carts.set(owner: session.cartOwner, productId: id, quantity: q, ifMatch: ifMatch)
    }

    public func removeItem(_ session: Session, productId: String?, ifMatch: Int?) throws -> LineChange {
        try carts.set(owner: session.cartOwner, productId: try Self.productId(productId), quantity: 0, ifMatch: ifMatch)
    }

    public func clearCart(_ session: Session, ifMatch: Int?) throws -> LineChange {
        try carts.clear(owner: session.cartOwner, ifMatch: ifMatch)
    }

    // MARK: - Orders

    /// A payment method reference from the payment provider (`pm_…`); payment itself is external.
    public static func paymentMethod(_ raw: String?) throws -> String {
        guard let raw else { throw CommerceError.invalid("payment_method_id is required (pm_…)") }
        guard raw.hasPrefix("pm_"), (4...128).contains(raw.utf8.count),
              raw.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else {
            throw CommerceError.invalid("payment_method_id must be pm_ followed by 1 to 125 letters, digits, _ or -")
        }
        return raw
    }

    public static func idempotencyKey(_ raw: String?) throws -> String {
        guard let raw, !raw.isEmpty else { throw CommerceError.invalid("the Idempotency-Key header is required (a unique string per order, e.g. a UUID)") }
        guard raw.utf8.count <= 255, raw.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw CommerceError.invalid("Idempotency-Key must be 1 to 255 visible ASCII characters")
        }
        return raw
    }

    public static func address(_ a: ShippingAddress) throws -> ShippingAddress {
        var v = a
        v.line1 = try name(a.line1, field: "shipping_address.line1")
        v.city = try name(a.city, field: "shipping_address.city")
        v.postalCode = try name(a.postalCode, field: "shipping_address.postal_code")
        v.country = try name(a.country, field: "shipping_address.country")
        v.name = try a.name.map { try name($0, field: "shipping_address.name") }
        v.line2 = try a.line2.map { try name($0, field: "shipping_address.line2") }
        v.region = try a.region.map { try name($0, field: "shipping_address.region") }
        return v
    }

    /// Turns the session's cart into an order (one PostgreSQL transaction; `OrderStore.place`).
    /// The ordered quantities leave the cart only after the commit; a replay leaves the cart alone.
    public func placeOrder(_ session: Session, _ request: OrderRequest) throws -> PlacedOrder {
        guard let customerId = session.customerId else { throw CommerceError.unauthorized("log in as a customer to place an order") }
        var r = request
        r.shippingAddress = try Self.address(request.shippingAddress)
        r.paymentMethodId = try Self.paymentMethod(request.paymentMethodId)
        r.idempotencyKey = try Self.idempotencyKey(request.idempotencyKey)
        guard r.expectedTotal >= .zero else { throw CommerceError.invalid("expected_total must not be negative") }
        let cart = try carts.read(owner: session.cartOwner)
        let placed = try orders.place(customerId: customerId, cart: cart.lines.map { ($0.productId, $0.quantity) }, request: r)
        // The order stands even if Redis fails here; the lines then stay in the cart (the answer is
        // still 201). A replay does this too: if the first request died between its commit and this
        // step, the lines are still owed; if it got here, the order's marker makes this a no-op.
        _ = try? carts.removeOrdered(owner: session.cartOwner, orderId: placed.order.id,
                                     lines: placed.order.lines.map { ($0.productId, $0.quantity) })
        return placed
    }

    /// The order for its owner (or for the shop when `session` is nil); 404 for anyone else.
    public func order(_ id: Int64, session: Session?, asOf: Date? = nil) throws -> Order {
        if let session, session.customerId == nil { throw CommerceError.unauthorized("this is a guest session: log in as a customer") }
        guard let o = try orders.order(id, asOf: asOf), session == nil || o.customerId == session?.customerId else {
            throw CommerceError.notFound(asOf == nil ? "no order \(id)" : "no order \(id) at that time")
        }
        return o
    }

    public func orderEvents(_ id: Int64, session: Session?) throws -> [OrderEvent] {
        _ = try order(id, session: session)
        return try orders.events(id)
    }

    public func orderHistory(_ session: Session, limit: Int, before: Int64?) throws -> [OrderSummary] {
        guard let id = session.customerId else { throw CommerceError.unauthorized("this is a guest session: log in as a customer") }
        guard (1...100).contains(limit) else { throw CommerceError.invalid("limit must be from 1 to 100") }
        return try orders.history(customerId: id, limit: limit, before: before)
    }

    public func cancelOrder(_ id: Int64, session: Session, reason: String?) throws -> Order {
        guard let cid = session.customerId else { throw CommerceError.unauthorized("this is a guest session: log in as a customer") }
        let why = try reason.map { try Self.name($0, field: "reason") }
        return try orders.transition(id, .cancel, actor: "customer:\(cid)", owner: cid, change: .init(reason: why ?? "canceled by the customer"))
    }

    /// Payment, shipment and delivery, by the shop (API token).
    public func advanceOrder(_ id: Int64, _ t: OrderTransition, change: OrderEventData.Change) throws -> Order {
        guard t.rule.by == .shop else { throw CommerceError.invalid("\(t.rawValue) is not a shop transition") }
        var c = change
        c.reference = try change.reference.map { try Self.name($0, field: "reference") }
        c.carrier = try change.carrier.map { try Self.name($0, field: "carrier") }
        c.tracking = try change.tracking.map { try Self.name($0, field: "tracking") }
        return try orders.transition(id, t, actor: "shop", change: c)
    }

    public func stock(_ productId: String?) throws -> StockLevel {
        let id = try Self.productId(productId)
        guard let level = try inventory.level(id) else { throw CommerceError.notFound("no product with id \(id)") }
        return level
    }

    public func setStock(_ productId: String?, available: Int?, ifAvailable: Int?, reason: String?) throws -> StockLevel {
        let id = try Self.productId(productId)
        guard let available, (0...1_000_000_000).contains(available) else { throw CommerceError.invalid("available must be a whole number from 0 to 1000000000") }
        if let ifAvailable, ifAvailable < 0 { throw CommerceError.invalid("if_available must not be negative") }
        let why = reason ?? "adjustment"
        guard (1...40).contains(why.utf8.count), why.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (97...122).contains($0) || (48...57).contains($0) }),
              !["order", "cancel", "expire", "opening", "catalog"].contains(why) else {
            throw CommerceError.invalid("reason must be 1 to 40 lowercase letters, digits or _ (e.g. restock, count, damaged), and not order, cancel, expire, opening or catalog")
        }
        return try inventory.set(id, available: available, ifAvailable: ifAvailable, reason: why)
    }

    /// Drops the analytics events of the days before the last `analyticsRetentionDays` (UTC days,
    /// today included); returns the days dropped.
    @discardableResult
    public func applyAnalyticsRetention(now: Date) throws -> [String] {
        let keep = max(1, config.analyticsRetentionDays)
        return try AnalyticsStore(url: postgres.url).dropDays(before: AnalyticsStore.day(now.addingTimeInterval(-Double(keep - 1) * 86_400)))
    }

    /// The background work of a server, on threads of their own until `stop()`: the order
    /// read-model projector, the co-purchase projector, the analytics writer, analytics retention
    /// and the expiry sweeper.
    public func startWorkers(log: @escaping @Sendable (String) -> Void) -> CommerceWorkers {
        let w = CommerceWorkers()
        let projector = self.projector, orders = self.orders, interval = config.sweepInterval
        w.spawn { stop in projector.run(stop: stop, log: log) }
        let coPurchases = self.coPurchases
        w.spawn { stop in coPurchases.run(stop: stop, log: log) }
        let analytics = self.analytics
        w.spawn { stop in analytics.run(stop: stop, log: log) }
        // Retention: at start, then hourly.
        w.spawn { [self] stop in
            while !stop.load(ordering: .relaxed) {
                do {
                    let dropped = try self.applyAnalyticsRetention(now: Date())
                    if !dropped.isEmpty { log("analytics retention: dropped the events of \(dropped.count) day(s) before the last \(self.config.analyticsRetentionDays)") }
                } catch {
                    log("analytics retention: \(error)")
                }
                var waited = 0.0
                while waited < 3600, !stop.load(ordering: .relaxed) { usleep(100_000); waited += 0.1 }
            }
        }
        w.spawn { stop in
            var reported = false
            while !stop.load(ordering: .relaxed) {
                do {
                    let n = try orders.expireDue(failed: { id, e in log("order expiry: order \(id) cannot be expired, passed over: \(e)") })
                    if n > 0 { log("expired \(n) unpaid order(s)") }
                    reported = false
                } catch {
                    if !reported { log("order expiry: \(error)") }
                    reported = true
                }
                var waited = 0.0
                while waited < interval, !stop.load(ordering: .relaxed) { usleep(50_000); waited += 0.05 }
            }
        }
        return w
    }
}

/// Threads that run until stopped (`stop()` waits for them).
public final class CommerceWorkers: Sendable {
    let stopFlag = Atomic<Bool>(false)
    let running = Mutex<Int>(0)
    let finished = Mutex<Int>(0)

    func spawn(_ body: @escaping @Sendable (borrowing Atomic<Bool>) -> Void) {
        let t = Thread { [self] in
            body(stopFlag)
            finished.withLock { $0 += 1 }
        }
        t.stackSize = 1 << 20
        running.withLock { $0 += 1 }
        t.start()
    }

    public func stop() {
        stopFlag.store(true, ordering: .relaxed)
        let n = running.withLock { $0 }
        for _ in 0..<400 where finished.withLock({ $0 }) < n { usleep(10_000) }
    }
}
