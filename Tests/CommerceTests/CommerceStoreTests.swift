import Foundation
import Testing
import AisleCatalog
@testable import AisleCommerce

/// Customers, sessions and carts against the real PostgreSQL and Redis of `scripts/test.sh`.
@Suite(.enabled(if: CommerceEnv.ready, Comment(rawValue: CommerceEnv.skipped)))
struct CommerceStoreTests {
    // MARK: - Customers

    @Test func registerStoresOnlyAnArgon2idHashAndEmailsAreCaseInsensitive() throws {
        let shop = try Shop()
        let c = try shop.commerce.register(email: "  Ann@Example.COM ", password: "correct horse", name: " Ann ")
        #expect(c.email == "Ann@Example.COM" && c.name == "Ann" && c.shippingAddress == nil)
        let stored = try shop.sql("SELECT password_hash FROM customers WHERE id = $1", [String(c.id)])[0, 0] ?? ""
        #expect(stored.hasPrefix("$argon2id$"))
        #expect(!stored.contains("correct horse"))
        #expect(failure { try shop.commerce.register(email: "ann@example.com", password: "another one", name: "Imposter") } == "conflict")
        #expect(try shop.sql("SELECT count(*) FROM customers")[0, 0] == "1")
    }

    @Test func badCustomerInputIsNamed() throws {
        let shop = try Shop()
        let cases: [(String?, String?, String?, String)] = [
            (nil, "correct horse", "A", "email is required"), ("no-at-sign", "correct horse", "A", "email must be"),
            ("a@b", "correct horse", "A", "email must be"), ("a @b.c", "correct horse", "A", "email must be"),
            (String(repeating: "a", count: 250) + "@b.co", "correct horse", "A", "254"),
            ("a@b.co", "short", "A", "password must"), ("a@b.co", String(repeating: "p", count: 257), "A", "password must"),
            ("a@b.co", "correct horse", "", "name must"), ("a@b.co", "correct horse", "bad\u{1}name", "name must"),
            ("a@b.co", "correct horse", nil, "name is required"),
        ]
        for (e, p, n, message) in cases {
            do {
                _ = try shop.commerce.register(email: e, password: p, name: n)
                Issue.record("accepted \(String(describing: e)) \(String(describing: n))")
            } catch let err as CommerceError {
                #expect(err.kind == "invalid" && err.description.contains(message), "\(err)")
            }
        }
        #expect(try shop.sql("SELECT count(*) FROM customers")[0, 0] == "0")
    }

    @Test func profileAndShippingAddress() throws {
        let shop = try Shop()
        let (c, s) = try shop.customer()
        #expect(try shop.commerce.customer(of: s.session) == c)
        let address = ShippingAddress(line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US")
        let u = try shop.commerce.updateCustomer(of: s.session, CustomerChange(name: "Ann B", shippingAddress: .some(address)))
        #expect(u.name == "Ann B" && u.shippingAddress == address)
        let cleared = try shop.commerce.updateCustomer(of: s.session, CustomerChange(shippingAddress: .some(nil)))
        #expect(cleared.shippingAddress == nil && cleared.name == "Ann B")
        #expect(failure { try shop.commerce.updateCustomer(of: s.session, CustomerChange(name: "")) } == "invalid")
        let guest = try shop.commerce.startGuestSession()
        #expect(failure { try shop.commerce.customer(of: guest.session) } == "unauthorized")
    }

    // MARK: - Sessions

    @Test func logInLogOutAndNoUserEnumeration() throws {
        let shop = try Shop()
        let (c, s) = try shop.customer()
        #expect(s.session.kind == .customer && s.session.customerId == c.id)
        #expect(SessionToken.isWellFormed(s.token))
        let looked = try shop.commerce.session(token: s.token)
        #expect(looked.id == s.session.id && looked.kind == .customer && looked.customerId == c.id)
        // Only the token's hash is in Redis.
        let keys = try shop.redis.command(["KEYS", shop.prefix + "session:*"]).array?.compactMap(\.string) ?? []
        #expect(keys == [shop.prefix + "session:" + SessionToken.digest(s.token)])
        #expect(!keys.joined().contains(s.token))
        var messages: [String] = []
        for (email, pw) in [("ann@example.com", "wrong horse"), ("nobody@example.com", "wrong horse"), ("ANN@example.com", "Correct horse")] {
            do { _ = try shop.commerce.logIn(email: email, password: pw, guestToken: nil) } catch let e as CommerceError {
                #expect(e.kind == "unauthorized")
                messages.append(e.description)
            }
        }
        #expect(messages.count == 3 && Set(messages).count == 1)
        try shop.commerce.logOut(s.session)
        #expect(failure { try shop.commerce.session(token: s.token) } == "unauthorized")
        #expect(failure { try shop.commerce.session(token: nil) } == "unauthorized")
        #expect(failure { try shop.commerce.session(token: "garbage") } == "unauthorized")
    }

    @Test func repeatedFailuresForOneEmailAreThrottled() throws {
        let shop = try Shop { $0.loginFailures = 3 }
        _ = try shop.customer()
        for _ in 0..<3 { #expect(failure { try shop.commerce.logIn(email: "ann@example.com", password: "wrong horse", guestToken: nil) } == "unauthorized") }
        // Now even the right password waits, and so does any spelling of the email.
        #expect(failure { try shop.commerce.logIn(email: "ANN@example.com", password: "correct horse", guestToken: nil) } == "throttled")
        // Another email is not affected.
        _ = try shop.commerce.register(email: "bob@example.com", password: "bob's password", name: "Bob")
        #expect(try shop.commerce.logIn(email: "bob@example.com", password: "bob's password", guestToken: nil).session.kind == .customer)
        // When the window ends, logging in works and clears the count.
        _ = try shop.redis.command(["DEL", shop.commerce.throttle.key("ann@example.com")])
        _ = try shop.commerce.logIn(email: "ann@example.com", password: "correct horse", guestToken: nil)
    }

    @Test func sessionsExpireAndSlideWithUse() throws {
        let shop = try Shop { $0.guestSessionTTL = 1; $0.customerSessionTTL = 100 }
        let guest = try shop.commerce.startGuestSession()
        #expect(guest.ttl == 1)
        Thread.sleep(forTimeInterval: 2.2)
        #expect(failure { try shop.commerce.session(token: guest.token) } == "unauthorized")

        let (_, s) = try shop.customer()
        let key = shop.commerce.sessions.key(s.session.id)
        _ = try shop.redis.command(["EXPIRE", key, "5"])
        _ = try shop.commerce.session(token: s.token)
        let ttl = try shop.redis.command(["TTL", key]).integer ?? 0
        #expect((95...100).contains(ttl), "the TTL slid back to the customer's 100 s, got \(ttl)")
    }

    // MARK: - The cart

    @Test func linesTotalsAndExactDecimals() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        let a = try shop.commerce.addItem(s, productId: "dime", quantity: 1, ifMatch: nil)
        #expect(a == LineChange(productId: "dime", quantity: 1, version: 1, itemCount: 1, lineCount: 1))
        _ = try shop.commerce.addItem(s, productId: "dime", quantity: 2, ifMatch: nil)        // adds up
        _ = try shop.commerce.addItem(s, productId: "lamp", quantity: 4, ifMatch: nil)
        let v = try shop.commerce.cart(of: s)
        #expect(v.items.map(\.productId) == ["dime", "lamp"])                                // added order
        #expect(v.items[0].quantity == 3 && v.items[0].subtotal?.formatted() == "0.30")      // 3 x 0.10, exactly
        #expect(v.items[1].subtotal?.formatted() == "79.96" && v.items[1].name == "Brass desk lamp")
        #expect(v.total.formatted() == "80.26" && v.currency == "USD" && v.itemCount == 7 && v.version == 3)
        #expect(v.items[0].warnings.isEmpty)
        #expect(v.items[1].warnings == [.notEnoughStock(available: 3)])                        // 5 available - 2 reserved

        let set = try shop.commerce.setItem(s, productId: "lamp", quantity: 1, ifMatch: nil)
        #expect(set.quantity == 1 && set.itemCount == 4)
        let removed = try shop.commerce.setItem(s, productId: "dime", quantity: 0, ifMatch: nil)
        #expect(removed.quantity == 0 && removed.lineCount == 1)
        #expect(failure { try shop.commerce.removeItem(s, productId: "dime", ifMatch: nil) } == "notFound")
        #expect(failure { try shop.commerce.setItem(s, productId: "sofa", quantity: 2, ifMatch: nil) } == "notFound")
        let cleared = try shop.commerce.clearCart(s, ifMatch: nil)
        #expect(cleared.version == 6 && cleared.itemCount == 0)
        #expect(try shop.commerce.cart(of: s).items.isEmpty)
        #expect(try shop.commerce.cart(of: s).total.formatted() == "0.00")
    }

    @Test func badCartInput() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        #expect(failure { try shop.commerce.addItem(s, productId: "nope", quantity: 1, ifMatch: nil) } == "notFound")
        #expect(failure { try shop.commerce.addItem(s, productId: "old", quantity: 1, ifMatch: nil) } == "conflict")
        for q in [0, 100, -1, Int.max] { #expect(failure { try shop.commerce.addItem(s, productId: "dime", quantity: q, ifMatch: nil) } == "invalid") }
        #expect(failure { try shop.commerce.addItem(s, productId: nil, quantity: 1, ifMatch: nil) } == "invalid")
        #expect(failure { try shop.commerce.addItem(s, productId: "", quantity: 1, ifMatch: nil) } == "invalid")
        #expect(failure { try shop.commerce.addItem(s, productId: "x\ny", quantity: 1, ifMatch: nil) } == "invalid")
        #expect(failure { try shop.commerce.addItem(s, productId: String(repeating: "x", count: 257), quantity: 1, ifMatch: nil) } == "invalid")
        #expect(failure { try shop.commerce.addItem(s, productId: "dime", quantity: nil, ifMatch: nil) } == "invalid")
        // Hostile ids are data, not Redis syntax or SQL.
        for id in ["' OR 1=1 --", "p:dime|1|1", "*", "dime\r\nDEL x"] {
            #expect(failure { try shop.commerce.addItem(s, productId: id, quantity: 1, ifMatch: nil) } != nil)
        }
        _ = try shop.commerce.addItem(s, productId: "dime", quantity: 60, ifMatch: nil)
        #expect(failure { try shop.commerce.addItem(s, productId: "dime", quantity: 40, ifMatch: nil) } == "conflict")   // 100 > 99
        #expect(try shop.commerce.addItem(s, productId: "dime", quantity: 39, ifMatch: nil).quantity == 99)
        #expect(failure { try shop.commerce.setItem(s, productId: "dime", quantity: 100, ifMatch: nil) } == "invalid")
        #expect(try shop.commerce.cart(of: s).itemCount == 99)
    }

    @Test func atMostOneHundredLines() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        for i in 1...100 { _ = try shop.commerce.addItem(s, productId: "bulk\(i)", quantity: 1, ifMatch: nil) }
        #expect(failure { try shop.commerce.addItem(s, productId: "bulk101", quantity: 1, ifMatch: nil) } == "conflict")
        #expect(try shop.commerce.addItem(s, productId: "bulk100", quantity: 1, ifMatch: nil).quantity == 2)   // an existing line still grows
        let v = try shop.commerce.cart(of: s)
        #expect(v.items.count == 100 && v.total.formatted() == "101.00")
    }

    @Test func ifMatchMakesChangesConditional() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        #expect(try shop.commerce.addItem(s, productId: "dime", quantity: 1, ifMatch: 0).version == 1)
        #expect(try shop.commerce.addItem(s, productId: "lamp", quantity: 1, ifMatch: 1).version == 2)
        do {
            _ = try shop.commerce.addItem(s, productId: "sofa", quantity: 1, ifMatch: 1)
            Issue.record("a stale If-Match was accepted")
        } catch CommerceError.versionMismatch(let current) {
            #expect(current == 2)
        }
        #expect(failure { try shop.commerce.setItem(s, productId: "dime", quantity: 5, ifMatch: 1) } == "versionMismatch")
        #expect(failure { try shop.commerce.removeItem(s, productId: "dime", ifMatch: 7) } == "versionMismatch")
        #expect(failure { try shop.commerce.clearCart(s, ifMatch: 3) } == "versionMismatch")
        let v = try shop.commerce.cart(of: s)
        #expect(v.items.map(\.quantity) == [1, 1] && v.version == 2)   // nothing changed
        #expect(try shop.commerce.setItem(s, productId: "dime", quantity: 5, ifMatch: 2).version == 3)
    }

    @Test func warningsFollowTheCatalog() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        for id in ["dime", "lamp", "sofa", "gone"] { _ = try shop.commerce.addItem(s, productId: id, quantity: 2, ifMatch: nil) }
        var v = try shop.commerce.cart(of: s)
        #expect(v.items.map(\.warnings) == [[], [], [], [.outOfStock]])
        try shop.sql("UPDATE products SET price = 0.15 WHERE id = 'dime'")
        try shop.sql("UPDATE inventory SET available = 1 WHERE product_id = 'sofa'")
        try shop.sql("UPDATE products SET status = 'discontinued' WHERE id = 'lamp'")
        try shop.sql("UPDATE inventory SET available = 9 WHERE product_id = 'gone'")
        v = try shop.commerce.cart(of: s)
        #expect(v.items[0].warnings == [.priceChanged(was: Money("0.10")!, now: Money("0.15")!)])
        #expect(v.items[0].price?.formatted() == "0.15" && v.items[0].addedPrice.formatted() == "0.10")
        #expect(v.items[1].warnings == [.unavailable] && v.items[1].price == nil)
        #expect(v.items[2].warnings == [.notEnoughStock(available: 1)])
        #expect(v.items[3].warnings.isEmpty)
        #expect(v.total.formatted() == "1823.30")                         // 0.30 + 1798.00 + 25.00; the lamp counts for nothing
        try shop.sql("DELETE FROM products WHERE id = 'sofa'")
        v = try shop.commerce.cart(of: s)
        #expect(v.items[2].warnings == [.unavailable] && v.items[2].name == nil)
        #expect(v.total.formatted() == "25.30")
    }

    @Test func guestCartMergesIntoTheCustomersAtLogin() throws {
        let shop = try Shop()
        _ = try shop.commerce.register(email: "ann@example.com", password: "correct horse", name: "Ann")
        let first = try shop.commerce.logIn(email: "ann@example.com", password: "correct horse", guestToken: nil)
        _ = try shop.commerce.addItem(first.session, productId: "dime", quantity: 60, ifMatch: nil)
        _ = try shop.commerce.addItem(first.session, productId: "lamp", quantity: 1, ifMatch: nil)

        let guest = try shop.commerce.startGuestSession()
        _ = try shop.commerce.addItem(guest.session, productId: "dime", quantity: 50, ifMatch: nil)
        _ = try shop.commerce.addItem(guest.session, productId: "sofa", quantity: 2, ifMatch: nil)
        let login = try shop.commerce.logIn(email: "ann@example.com", password: "correct horse", guestToken: guest.token)
        #expect(login.mergedLines == 2)
        let v = try shop.commerce.cart(of: login.session)
        #expect(v.items.map(\.productId) == ["dime", "lamp", "sofa"])
        #expect(v.items.map(\.quantity) == [99, 1, 2])                      // 60 + 50, capped at 99
        // The guest cart and the guest session are gone; the same login again merges nothing.
        #expect(try shop.redis.command(["EXISTS", shop.commerce.carts.key(guest.session.cartOwner)]).integer == 0)
        #expect(failure { try shop.commerce.session(token: guest.token) } == "unauthorized")
        let again = try shop.commerce.logIn(email: "ann@example.com", password: "correct horse", guestToken: guest.token)
        #expect(again.mergedLines == nil)
        #expect(try shop.commerce.cart(of: again.session).items.map(\.quantity) == [99, 1, 2])
        // The customer's cart is the same from every session.
        #expect(try shop.commerce.cart(of: first.session) == shop.commerce.cart(of: again.session))
    }

    @Test func mergeIsAtomicAndSafelyRepeatableUnderRaces() throws {
        let shop = try Shop()
        _ = try shop.commerce.register(email: "ann@example.com", password: "correct horse", name: "Ann")
        let guest = try shop.commerce.startGuestSession()
        _ = try shop.commerce.addItem(guest.session, productId: "dime", quantity: 3, ifMatch: nil)
        let owner = "c:1"
        let results = Mutex2<[Int?]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let r = try? shop.commerce.carts.merge(guestOwner: guest.session.cartOwner, into: owner)
            results.update { $0.append(r ?? nil) }
        }
        #expect(results.get().compactMap { $0 } == [1])                       // exactly one merge did the work
        #expect(try shop.commerce.carts.read(owner: owner).lines.map(\.quantity) == [3])
    }

    @Test func sixteenConcurrentAddsLoseNothing() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            _ = try? shop.commerce.addItem(s, productId: "dime", quantity: 1, ifMatch: nil)
        }
        let v = try shop.commerce.cart(of: s)
        #expect(v.items.map(\.quantity) == [16])
        #expect(v.version == 16)

        // Sixteen clients, each with its own token for the same customer cart, race 10 adds each over 4 products.
        let (_, first) = try shop.customer()
        let tokens = try (0..<16).map { _ in try shop.commerce.logIn(email: "ann@example.com", password: "correct horse", guestToken: nil).token }
        let ids = ["dime", "lamp", "sofa", "gone"]
        let errors = Mutex2<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { client in
            for i in 0..<10 {
                do {
                    let session = try shop.commerce.session(token: tokens[client])
                    _ = try shop.commerce.addItem(session, productId: ids[(client + i) % 4], quantity: 1 + (client % 3), ifMatch: nil)
                } catch {
                    errors.update { $0 += 1 }
                }
            }
        }
        #expect(errors.get() == 0)
        var expected: [String: Int] = [:]
        for client in 0..<16 { for i in 0..<10 { expected[ids[(client + i) % 4], default: 0] += 1 + (client % 3) } }
        let cart = try shop.commerce.cart(of: first.session)
        #expect(Dictionary(uniqueKeysWithValues: cart.items.map { ($0.productId, $0.quantity) }) == expected)
        #expect(cart.version == 160)
    }

    @Test func cartsExpireWhenAbandonedAndChangesRefreshTheTTL() throws {
        let shop = try Shop { $0.cartTTL = 50 }
        let s = try shop.commerce.startGuestSession().session
        _ = try shop.commerce.addItem(s, productId: "dime", quantity: 1, ifMatch: nil)
        let key = shop.commerce.carts.key(s.cartOwner)
        #expect((45...50).contains(try shop.redis.command(["TTL", key]).integer ?? 0))
        _ = try shop.redis.command(["EXPIRE", key, "3"])
        _ = try shop.commerce.cart(of: s)                                   // reading does not refresh
        #expect((0...3).contains(try shop.redis.command(["TTL", key]).integer ?? -9))
        _ = try shop.commerce.addItem(s, productId: "dime", quantity: 1, ifMatch: nil)
        #expect((45...50).contains(try shop.redis.command(["TTL", key]).integer ?? 0))
    }

    // MARK: - Outages

    @Test func redisDownAnswersUnavailableAtOnceAndRecoversWithoutRestart() throws {
        let own = try OwnRedis()
        let shop = try Shop(redisURL: own.url)
        let s = try shop.commerce.startGuestSession()
        _ = try shop.commerce.addItem(s.session, productId: "dime", quantity: 1, ifMatch: nil)
        own.stop()
        let started = Date()
        for op in 0..<4 {
            do {
                switch op {
                case 0: _ = try shop.commerce.session(token: s.token)
                case 1: _ = try shop.commerce.addItem(s.session, productId: "dime", quantity: 1, ifMatch: nil)
                case 2: _ = try shop.commerce.cart(of: s.session)
                default: _ = try shop.commerce.startGuestSession()
                }
                Issue.record("operation \(op) worked with Redis down")
            } catch let e as CommerceError {
                #expect(e == .unavailable("cart store unavailable: Redis at 127.0.0.1:\(own.port): Connection refused"), "\(e)")
            }
        }
        #expect(Date().timeIntervalSince(started) < 5, "with Redis down, the answers must come at once, not hang")
        // Customers (PostgreSQL) still register.
        _ = try shop.commerce.register(email: "during@example.com", password: "correct horse", name: "During")
        try own.start()
        let again = try shop.commerce.startGuestSession()                   // the pool reconnects by itself
        _ = try shop.commerce.addItem(again.session, productId: "dime", quantity: 2, ifMatch: nil)
        #expect(try shop.commerce.cart(of: again.session).itemCount == 2)
        // A restart while connections sit idle in the pool: the stale ones are replaced, no error.
        own.stop()
        try own.start()
        #expect(try shop.commerce.startGuestSession().session.kind == .guest)
    }

    @Test func postgresDownIsNamed() throws {
        let shop = try Shop()
        let s = try shop.commerce.startGuestSession().session
        let broken = try Commerce(redis: shop.redis, postgres: PostgresPool(url: "postgresql://postgres@127.0.0.1:1/x"),
                                  config: shop.commerce.config, migrate: false)
        do {
            _ = try broken.addItem(s, productId: "dime", quantity: 1, ifMatch: nil)
            Issue.record("added with PostgreSQL down")
        } catch let e as CommerceError {
            #expect(e.kind == "unavailable" && e.description.hasPrefix("catalog unavailable: cannot connect to PostgreSQL at 127.0.0.1:1/x"), "\(e)")
        }
        #expect(failure { try broken.register(email: "x@y.co", password: "correct horse", name: "X") } == "unavailable")
    }
}

/// A value behind a lock, for the concurrency tests.
final class Mutex2<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func update(_ f: (inout T) -> Void) { lock.lock(); defer { lock.unlock() }; f(&value) }
}
