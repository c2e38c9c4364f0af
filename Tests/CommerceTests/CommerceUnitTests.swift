import Foundation
import Testing
@testable import AisleCommerce

/// Value types with no server: SHA-256, money, tokens, password hashes, Redis URLs, the cart view.
@Suite struct CommerceUnitTests {
    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func moneyIsExactWhereBinaryFloatsAreNot() throws {
        let dime = try #require(Money("0.1"))
        #expect(0.1 * 3 != 0.3)                                    // what binary floating point does
        #expect(try dime.multiplied(by: 3) == Money("0.3")!)
        #expect(try dime.multiplied(by: 3).formatted() == "0.30")
        #expect(try Money("0.1")!.adding(Money("0.2")!).formatted() == "0.30")
        #expect(try Money("19.99")!.multiplied(by: 99).formatted() == "1979.01")
        #expect(Money("899")!.formatted() == "899.00")
        #expect(Money("0.005")!.formatted() == "0.005")
        #expect(Money("-4.5")!.formatted() == "-4.50")
        #expect(Money("1.50")! == Money("1.5")!)
        #expect(Money("1.5")!.hashValue == Money("1.50")!.hashValue)
        #expect(Money("2.01")! > Money("2.001")!)
        for bad in ["", "-", "1e5", "NaN", "1.2.3", "12a", " 1", "99999999999999999999"] { #expect(Money(bad) == nil, "\(bad)") }
        #expect(failure { try Money(units: Int64.max / 2, scale: 0).multiplied(by: 3) } == "overflow")
        #expect(failure { try Money(units: Int64.max, scale: 0).adding(Money("0.5")!) } == "overflow")
    }

    @Test func tokensAre256RandomBitsInBase64URL() {
        let tokens = (0..<1000).map { _ in SessionToken.make() }
        #expect(Set(tokens).count == 1000)
        #expect(tokens.allSatisfy { SessionToken.isWellFormed($0) })
        #expect(!SessionToken.isWellFormed("short"))
        #expect(!SessionToken.isWellFormed(String(repeating: "a", count: 42) + "="))
        // Every one of the 64 symbols turns up, in every position but the last (which holds 4 bits).
        #expect(Set(tokens.joined()).count == 64)
        #expect(SessionToken.digest(tokens[0]).count == 64)
    }

    @Test func passwordsAreArgon2idHashes() throws {
        let h = PasswordHasher()
        let encoded = try h.hash("correct horse battery")
        #expect(encoded.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(!encoded.contains("correct horse"))
        #expect(h.verify("correct horse battery", against: encoded))
        #expect(!h.verify("correct horse batterz", against: encoded))
        #expect(!h.verify("", against: encoded))
        #expect(!h.verify("x", against: "not a hash"))
        #expect(try h.hash("same") != h.hash("same"))                    // salted
    }

    @Test func redisURLs() throws {
        #expect(try RedisEndpoint(url: "redis://127.0.0.1:6380/2") == RedisEndpoint(host: "127.0.0.1", port: 6380, database: 2))
        #expect(try RedisEndpoint(url: "redis://:s3cr%40t@cache:7000") == RedisEndpoint(host: "cache", port: 7000, password: "s3cr@t"))
        #expect(try RedisEndpoint(url: "redis://user:pw@h/0") == RedisEndpoint(host: "h", port: 6379, user: "user", password: "pw"))
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "http://x") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://h:99999") }
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "redis://h:1/db") }
    }

    @Test func nothingListeningFailsAtOnceWithTheAddress() throws {
        let pool = RedisPool(RedisEndpoint(port: 1))
        #expect(throws: RedisError.unavailable("Redis at 127.0.0.1:1: Connection refused")) { try pool.command(["PING"]) }
    }

    @Test func cartViewJoinsTheCatalog() throws {
        let stored = StoredCart(lines: [
            CartLine(productId: "a", quantity: 3, addedPrice: Money("0.10")!, addedAt: 1),
            CartLine(productId: "b", quantity: 4, addedPrice: Money("10")!, addedAt: 2),
            CartLine(productId: "c", quantity: 1, addedPrice: Money("5")!, addedAt: 3),
            CartLine(productId: "d", quantity: 1, addedPrice: Money("5")!, addedAt: 4),
        ], version: 9)
        let catalog = [
            "a": CatalogProduct(id: "a", title: "A", price: Money("0.10")!, currency: "EUR", active: true, stock: 100),
            "b": CatalogProduct(id: "b", title: "B", price: Money("12.00")!, currency: "EUR", active: true, stock: 2),
            "c": CatalogProduct(id: "c", title: "C", price: Money("5")!, currency: "EUR", active: false, stock: 9),
        ]
        let v = try CartView.build(stored, catalog: catalog)
        #expect(v.total.formatted() == "48.30")
        #expect(v.currency == "EUR")
        #expect(v.itemCount == 9)
        #expect(v.version == 9)
        #expect(v.items.map(\.warnings) == [[], [.priceChanged(was: Money("10")!, now: Money("12")!), .notEnoughStock(available: 2)],
                                            [.unavailable], [.unavailable]])
        #expect(v.items[2].price == nil && v.items[2].subtotal == nil && v.items[2].name == "C" && v.items[3].name == nil)
    }
}
