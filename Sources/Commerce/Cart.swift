import AisleCatalog
import Foundation

/// One line as the cart store holds it.
public struct CartLine: Sendable, Equatable {
    public var productId: String
    public var quantity: Int
    /// The price when the line was first added (for the `price_changed` warning).
    public var addedPrice: Money
    /// The cart version at which the line was added: lines show in the order they were added.
    public var addedAt: Int
}

/// A cart as stored: lines and a version that moves on with every change.
public struct StoredCart: Sendable, Equatable {
    public var lines: [CartLine]
    public var version: Int
}

/// The answer to a change of one line.
public struct LineChange: Sendable, Equatable {
    public var productId: String
    /// The line's quantity after the change (0: the line is gone).
    public var quantity: Int
    public var version: Int
    public var itemCount: Int
    public var lineCount: Int
}

/// Carts in Redis: one hash per cart (`aisle:cart:c:<customer>` or `aisle:cart:g:<session>`),
/// field `v` the version, a field `p:<product id>` per line holding `quantity|price when
/// added|version when added`. Every change is one Lua script (atomic: concurrent adds to one line
/// all count), checks `If-Match`, bumps the version and refreshes the TTL (abandoned carts expire).
public struct CartStore: Sendable {
    let redis: RedisPool
    let prefix: String
    public var ttl: Int
    public var maxQuantity: Int
    public var maxLines: Int
    static let store = "cart store"

    public init(redis: RedisPool, prefix: String = "aisle:", ttl: Int, maxQuantity: Int = 99, maxLines: Int = 100) {
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.maxQuantity = maxQuantity
        self.maxLines = maxLines
    }

    func key(_ owner: String) -> String { "\(prefix)cart:\(owner)" }

    /// Shared by the scripts: the version, the If-Match check, the totals after a change.
    static let common = """
    local function version() return tonumber(redis.call('HGET', KEYS[1], 'v') or '0') end
    local function qty(s) return tonumber(string.sub(s, 1, string.find(s, '|', 1, true) - 1)) end
    local function rest(s) return string.sub(s, (string.find(s, '|', 1, true))) end
    local function totals()
      local items, lines = 0, 0
      local all = redis.call('HGETALL', KEYS[1])
      for i = 1, #all, 2 do
        if string.sub(all[i], 1, 2) == 'p:' then items = items + qty(all[i + 1]); lines = lines + 1 end
      end
      return items, lines
    end
    local function bump(ttl)
      local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
      redis.call('EXPIRE', KEYS[1], ttl)
      return v
    end

    """

    /// ARGV: field, quantity, price, max quantity, max lines, ttl, if-match ('' = none).
    /// Returns {status, version, quantity, items, lines}; status 0 ok, 412 version, 409 line full
    /// (quantity = what the line holds), 410 cart full.
    static let add = RedisScript(common + """
    local v = version()
    if ARGV[7] ~= '' and tonumber(ARGV[7]) ~= v then return {412, v, 0, 0, 0} end
    local cur = redis.call('HGET', KEYS[1], ARGV[1])
    local q = tonumber(ARGV[2])
    local value
    if cur then
      local have = qty(cur)
      if have + q > tonumber(ARGV[4]) then return {409, v, have, 0, 0} end
      q = have + q
      value = q .. rest(cur)
    else
      local _, lines = totals()
      if lines >= tonumber(ARGV[5]) then return {410, v, 0, 0, lines} end
      value = q .. '|' .. ARGV[3] .. '|' .. (v + 1)
    end
    redis.call('HSET', KEYS[1], ARGV[1], value)
    v = bump(ARGV[6])
    local items, lines = totals()
    return {0, v, q, items, lines}
    """)

    /// ARGV: field, quantity (0 removes), ttl, if-match. Status 404 when the line is not there.
    static let set = RedisScript(common + """
    local v = version()
    if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= v then return {412, v, 0, 0, 0} end
    local cur = redis.call('HGET', KEYS[1], ARGV[1])
    if not cur then return {404, v, 0, 0, 0} end
    local q = tonumber(ARGV[2])
    if q == 0 then
      redis.call('HDEL', KEYS[1], ARGV[1])
    else
      redis.call('HSET', KEYS[1], ARGV[1], q .. rest(cur))
    end
    v = bump(ARGV[3])
    local items, lines = totals()
    return {0, v, q, items, lines}
    """)

    /// ARGV: ttl, if-match. Empties the cart; the version goes on (an old If-Match fails).
    static let clear = RedisScript(common + """
    local v = version()
    if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= v then return {412, v, 0, 0, 0} end
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'v', v)
    v = bump(ARGV[1])
    return {0, v, 0, 0, 0}
    """)

    /// KEYS: guest cart, customer cart. ARGV: max quantity, max lines, ttl. Moves every guest line
    /// into the customer's cart (quantities summed and capped; lines past the limit dropped) and
    /// deletes the guest cart, in one step: repeating it finds no guest cart and does nothing.
    /// Returns {merged, dropped, version}.
    static let merge = RedisScript("""
    local guest = redis.call('HGETALL', KEYS[1])
    if #guest == 0 then return {0, 0, tonumber(redis.call('HGET', KEYS[2], 'v') or '0')} end
    local maxq, maxl = tonumber(ARGV[1]), tonumber(ARGV[2])
    local lines = 0
    local mine = redis.call('HGETALL', KEYS[2])
    for i = 1, #mine, 2 do if string.sub(mine[i], 1, 2) == 'p:' then lines = lines + 1 end end
    local v = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
    local merged, dropped = 0, 0
    for i = 1, #guest, 2 do
      local f, g = guest[i], guest[i + 1]
      if string.sub(f, 1, 2) == 'p:' then
        local sep = string.find(g, '|', 1, true)
        local gq = tonumber(string.sub(g, 1, sep - 1))
        local cur = redis.call('HGET', KEYS[2], f)
        if cur then
          local csep = string.find(cur, '|', 1, true)
          local q = math.min(maxq, tonumber(string.sub(cur, 1, csep - 1)) + gq)
          redis.call('HSET', KEYS[2], f, q .. string.sub(cur, csep))
          merged = merged + 1
        elseif lines < maxl then
          local rest = string.sub(g, sep + 1)
          local psep = string.find(rest, '|', 1, true)
          local price = psep and string.sub(rest, 1, psep - 1) or rest
          redis.call('HSET', KEYS[2], f, math.min(maxq, gq) .. '|' .. price .. '|' .. (v + 1))
          lines = lines + 1
          merged = merged + 1
        else
          dropped = dropped + 1
        end
      end
    end
    redis.call('DEL', KEYS[1])
    if merged > 0 then
      v = redis.call('HINCRBY', KEYS[2], 'v', 1)
      redis.call('EXPIRE', KEYS[2], ARGV[3])
    end
    return {merged, dropped, v}
    """)

    /// KEYS: the cart, the order's marker. ARGV: ttl, then (field, quantity) pairs. Takes an
    /// order's quantities out of the cart (a line bought in full goes; one added to since keeps the
    /// rest), once per order: the marker says it was done, so a replay of the order (a retry after
    /// a crash between the commit and this step) removes the lines if and only if they are still
    /// owed. Returns {version, lines removed} (-1: done before).
    static let removeOrdered = RedisScript(common + """
    if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return {version(), -1} end
    local removed = 0
    local changed = false
    for i = 2, #ARGV, 2 do
      local cur = redis.call('HGET', KEYS[1], ARGV[i])
      if cur then
        local left = qty(cur) - tonumber(ARGV[i + 1])
        if left <= 0 then
          redis.call('HDEL', KEYS[1], ARGV[i])
          removed = removed + 1
        else
          redis.call('HSET', KEYS[1], ARGV[i], left .. rest(cur))
        end
        changed = true
      end
    end
    local v = version()
    if changed then v = bump(ARGV[1]) end
    return {v, removed}
    """)

    /// After an order commits: its quantities leave the cart, once per order (nil: already done).
    @discardableResult
    public func removeOrdered(owner: String, orderId: Int64, lines: [(productId: String, quantity: Int)]) throws -> Int? {
        guard !lines.isEmpty else { return 0 }
        var args = [String(ttl)]
        for l in lines { args += [Self.field(l.productId), String(l.quantity)] }
        let r = try inStore(Self.store) { try redis.run(Self.removeOrdered, keys: [key(owner), "\(prefix)ordered:\(orderId)"], args: args) }
        guard let a = r.array, a.count == 2, let removed = a[1].integer else { throw CommerceError.internalError("cart store: unexpected reply \(r)") }
        return removed < 0 ? nil : Int(removed)
    }

    static func field(_ productId: String) -> String { "p:" + productId }

    func change(_ script: RedisScript, owner: String, productId: String, args: [String]) throws -> (status: Int, change: LineChange) {
        let r = try inStore(Self.store) { try redis.run(script, keys: [key(owner)], args: args) }
        guard let a = r.array, a.count == 5, let s = a[0].integer, let v = a[1].integer, let q = a[2].integer,
              let items = a[3].integer, let lines = a[4].integer else {
            throw CommerceError.internalError("cart store: unexpected reply \(r)")
        }
        return (Int(s), LineChange(productId: productId, quantity: Int(q), version: Int(v), itemCount: Int(items), lineCount: Int(lines)))
    }

    static func ifMatch(_ v: Int?) -> String { v.map(String.init) ?? "" }

    /// Adds `quantity` to a product's line (made at `price` when new).
    public func add(owner: String, productId: String, quantity: Int, price: Money, ifMatch: Int?) throws -> LineChange {
        let (s, c) = try change(Self.add, owner: owner, productId: productId,
                                args: [Self.field(productId), String(quantity), price.formatted(minScale: 0), String(maxQuantity),
                                       String(maxLines), String(ttl), Self.ifMatch(ifMatch)])
        switch s {
        case 0: return c
        case 412: throw CommerceError.versionMismatch(current: c.version)
        case 409: throw CommerceError.conflict("the line holds \(c.quantity); adding \(quantity) would pass the limit of \(maxQuantity) per line")
        case 410: throw CommerceError.conflict("the cart already has \(maxLines) lines, the most it may hold")
        default: throw CommerceError.internalError("cart store: status \(s)")
        }
    }

    /// Sets a line's quantity (0 removes it); the line must exist.
    public func set(owner: String, productId: String, quantity: Int, ifMatch: Int?) throws -> LineChange {
        let (s, c) = try change(Self.set, owner: owner, productId: productId,
                                args: [Self.field(productId), String(quantity), String(ttl), Self.ifMatch(ifMatch)])
        switch s {
        case 0: return c
        case 412: throw CommerceError.versionMismatch(current: c.version)
        case 404: throw CommerceError.notFound("product \(productId) is not in the cart")
        default: throw CommerceError.internalError("cart store: status \(s)")
        }
    }

    public func clear(owner: String, ifMatch: Int?) throws -> LineChange {
        let (s, c) = try change(Self.clear, owner: owner, productId: "", args: [String(ttl), Self.ifMatch(ifMatch)])
        if s == 412 { throw CommerceError.versionMismatch(current: c.version) }
        return c
    }

    /// Moves a guest cart into a customer's; returns the lines merged (nil: there was no guest cart).
    public func merge(guestOwner: String, into owner: String) throws -> Int? {
        let r = try inStore(Self.store) {
            try redis.run(Self.merge, keys: [key(guestOwner), key(owner)], args: [String(maxQuantity), String(maxLines), String(ttl)])
        }
        guard let a = r.array, a.count == 3, let merged = a[0].integer, let dropped = a[1].integer else {
            throw CommerceError.internalError("cart store: unexpected reply \(r)")
        }
        return merged + dropped == 0 ? nil : Int(merged)
    }

    public func read(owner: String) throws -> StoredCart {
        let r = try inStore(Self.store) { try redis.command(["HGETALL", key(owner)]) }
        guard let flat = r.array else { throw CommerceError.internalError("cart store: unexpected reply \(r)") }
        var cart = StoredCart(lines: [], version: 0)
        var i = 0
        while i + 1 < flat.count {
            defer { i += 2 }
            guard let f = flat[i].string, let value = flat[i + 1].string else { continue }
            if f == "v" { cart.version = Int(value) ?? 0; continue }
            guard f.hasPrefix("p:") else { continue }
            let parts = value.split(separator: "|", omittingEmptySubsequences: false)
            guard parts.count >= 2, let q = Int(parts[0]), let price = Money(String(parts[1])) else {
                throw CommerceError.internalError("cart store: the line \(f.dropFirst(2)) of cart \(owner) is malformed (\(value.prefix(40)))")
            }
            let at = parts.count > 2 ? Int(parts[2]) ?? 0 : 0
            cart.lines.append(CartLine(productId: String(f.dropFirst(2)), quantity: q, addedPrice: price, addedAt: at))
        }
        cart.lines.sort { ($0.addedAt, $0.productId) < ($1.addedAt, $1.productId) }
        return cart
    }
}

/// What the catalog says of a product now: the cart re-reads this on every view.
public struct CatalogProduct: Sendable, Equatable {
    public var id: String
    public var title: String
    public var price: Money
    public var currency: String
    public var active: Bool
    /// Available minus reserved, never below 0.
    public var stock: Int
}

/// Reads products, prices and stock from the catalog's PostgreSQL tables (Commerce knows no index).
public struct CatalogReader: Sendable {
    let pool: PostgresPool
    static let store = "catalog"

    public init(pool: PostgresPool) { self.pool = pool }

    public func products(_ ids: [String]) throws -> [String: CatalogProduct] {
        guard !ids.isEmpty else { return [:] }
        let rows = try inStore(Self.store) {
            try pool.withConnection { c in
                try c.exec("""
                    SELECT p.id, p.title, p.price::text, p.currency, p.status, GREATEST(COALESCE(i.available - i.reserved, 0), 0)
                    FROM products p LEFT JOIN inventory i ON i.product_id = p.id WHERE p.id = ANY($1::text[])
                    """, [CatalogDatabase.arrayLiteral(ids)])
            }
        }
        var out: [String: CatalogProduct] = [:]
        for row in rows.rows {
            guard let id = row[0], let title = row[1], let priceText = row[2], let price = Money(priceText) else { continue }
            out[id] = CatalogProduct(id: id, title: title, price: price, currency: (row[3] ?? "USD").trimmingCharacters(in: .whitespaces),
                                     active: row[4] == "active", stock: row[5].flatMap { Int($0) } ?? 0)
        }
        return out
    }
}

/// A cart as the shopper sees it: catalog names and prices of now, warnings, exact totals.
public struct CartView: Sendable, Equatable {
    public enum Warning: Sendable, Equatable {
        case priceChanged(was: Money, now: Money)
        case outOfStock
        case notEnoughStock(available: Int)
        case unavailable
    }

    public struct Item: Sendable, Equatable {
        public var productId: String
        public var name: String?
        public var quantity: Int
        /// nil when the product is no longer sold.
        public var price: Money?
        public var subtotal: Money?
        public var addedPrice: Money
        public var warnings: [Warning]
    }

    public var items: [Item]
    public var total: Money
    public var currency: String
    public var itemCount: Int
    public var version: Int

    /// Joins stored lines with the catalog. Lines whose product is gone or inactive show
    /// `unavailable` and count for nothing in the total.
    public static func build(_ cart: StoredCart, catalog: [String: CatalogProduct], defaultCurrency: String = "USD") throws -> CartView {
        var items: [Item] = []
        var total = Money.zero
        var currency: String?
        for line in cart.lines {
            var item = Item(productId: line.productId, name: nil, quantity: line.quantity, price: nil, subtotal: nil,
                            addedPrice: line.addedPrice, warnings: [])
            if let p = catalog[line.productId], p.active {
                item.name = p.title
                item.price = p.price
                let sub = try p.price.multiplied(by: line.quantity)
                item.subtotal = sub
                total = try total.adding(sub)
                currency = currency ?? p.currency
                if p.price != line.addedPrice { item.warnings.append(.priceChanged(was: line.addedPrice, now: p.price)) }
                if p.stock <= 0 {
                    item.warnings.append(.outOfStock)
                } else if p.stock < line.quantity {
                    item.warnings.append(.notEnoughStock(available: p.stock))
                }
            } else {
                item.name = catalog[line.productId]?.title
                item.warnings.append(.unavailable)
            }
            items.append(item)
        }
        return CartView(items: items, total: total, currency: currency ?? defaultCurrency,
                        itemCount: cart.lines.reduce(0) { $0 + $1.quantity }, version: cart.version)
    }
}
