import AisleCatalog
import Foundation

/// A shipping address (all text; `line2`, `region` and `name` optional).
public struct ShippingAddress: Sendable, Equatable, Codable {
    enum CodingKeys: String, CodingKey { case name, line1, line2, city, region, postalCode = "postal_code", country }

    public var name: String?
    public var line1: String
    public var line2: String?
    public var city: String
    public var region: String?
    public var postalCode: String
    public var country: String

    public init(name: String? = nil, line1: String, line2: String? = nil, city: String, region: String? = nil, postalCode: String, country: String) {
        self.name = name
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
    }
}

public struct Customer: Sendable, Equatable {
    public var id: Int64
    public var email: String
    public var name: String
    public var shippingAddress: ShippingAddress?
    public var createdAt: Date
}

/// A change to a customer: nil leaves a field alone; `.some(nil)` clears the address.
public struct CustomerChange: Sendable {
    public var name: String?
    public var shippingAddress: ShippingAddress??
    public init(name: String? = nil, shippingAddress: ShippingAddress?? = nil) {
        self.name = name
        self.shippingAddress = shippingAddress
    }
}

/// Commerce's own tables in PostgreSQL, as numbered migrations (`commerce_schema_migrations`),
/// applied at start-up under an advisory lock. The catalog's tables are the catalog's.
public enum CommerceMigrations {
    public static let all: [(version: Int, name: String, sql: String)] = [
        (1, "customers", """
        CREATE TABLE customers (
            id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email            text NOT NULL CHECK (email <> '' AND length(email) <= 254),
            password_hash    text NOT NULL,              -- argon2id, PHC string form
            name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            ship_name        text,
            ship_line1       text,
            ship_line2       text,
            ship_city        text,
            ship_region      text,
            ship_postal_code text,
            ship_country     text,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX customers_email ON customers (lower(email));
        """),
        OrderSchema.migration,
        AnalyticsSchema.migration,
        AnalyticsSchema.feedback,
    ]

    /// Applies what is missing; returns the versions applied.
    @discardableResult
    public static func migrate(_ conn: PGConnection) throws -> [Int] {
        try conn.exec("CREATE TABLE IF NOT EXISTS commerce_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        try conn.exec("SELECT pg_advisory_lock($1::bigint)", ["7206410315"])
        defer { _ = try? conn.exec("SELECT pg_advisory_unlock($1::bigint)", ["7206410315"]) }
        let done = Set(try conn.exec("SELECT version FROM commerce_schema_migrations").rows.compactMap { $0[0].flatMap(Int.init) })
        var applied: [Int] = []
        for m in all where !done.contains(m.version) {
            do {
                try conn.transaction {
                    try conn.execScript(m.sql)
                    try conn.exec("INSERT INTO commerce_schema_migrations (version, name) VALUES ($1, $2)", [String(m.version), m.name])
                }
            } catch {
                throw CatalogError.database(message: "commerce migration \(m.version) (\(m.name)) failed: \(error)", sqlstate: (error as? CatalogError)?.sqlstate)
            }
            applied.append(m.version)
        }
        return applied
    }
}

/// Customers in PostgreSQL. Emails are unique case-insensitively (`lower(email)`); the password is
/// stored only as its argon2id hash.
public struct CustomerStore: Sendable {
    let pool: PostgresPool
    static let store = "customer store"
    static let columns = "id, email, name, ship_name, ship_line1, ship_line2, ship_city, ship_region, ship_postal_code, ship_country, extract(epoch from created_at)::float8::text"

    public init(pool: PostgresPool) { self.pool = pool }

    public func create(email: String, passwordHash: String, name: String) throws -> Customer {
        try inStore(Self.store) {
            try pool.withConnection { c in
                do {
                    let r = try c.exec("INSERT INTO customers (email, password_hash, name) VALUES ($1, $2, $3) RETURNING \(Self.columns)",
                                       [email, passwordHash, name])
                    return try Self.customer(r.rows[0])
                } catch let e as CatalogError where e.sqlstate == "23505" {
                    throw CommerceError.conflict("a customer with this email already exists")
                }
            }
        }
    }

    /// The customer and their password hash, by email (any case).
    public func credentials(email: String) throws -> (Customer, String)? {
        try inStore(Self.store) {
            try pool.withConnection { c in
                let r = try c.exec("SELECT \(Self.columns), password_hash FROM customers WHERE lower(email) = lower($1)", [email])
                guard let row = r.rows.first, let hash = row.last ?? nil else { return nil }
                return (try Self.customer(row), hash)
            }
        }
    }

    public func customer(id: Int64) throws -> Customer? {
        try inStore(Self.store) {
            try pool.withConnection { c in
                let r = try c.exec("SELECT \(Self.columns) FROM customers WHERE id = $1", [String(id)])
                return try r.rows.first.map(Self.customer)
            }
        }
    }

    public func update(id: Int64, _ change: CustomerChange) throws -> Customer? {
        var sets: [String] = []
        var params: [String?] = [String(id)]
        func set(_ column: String, _ value: String?) {
            params.append(value)
            sets.append("\(column) = $\(params.count)")
        }
        if let name = change.name { set("name", name) }
        if let address = change.shippingAddress {
            set("ship_name", address?.name)
            set("ship_line1", address?.line1)
            set("ship_line2", address?.line2)
            set("ship_city", address?.city)
            set("ship_region", address?.region)
            set("ship_postal_code", address?.postalCode)
            set("ship_country", address?.country)
        }
        sets.append("updated_at = now()")
        return try inStore(Self.store) {
            try pool.withConnection { c in
                let r = try c.exec("UPDATE customers SET \(sets.joined(separator: ", ")) WHERE id = $1 RETURNING \(Self.columns)", params)
                return try r.rows.first.map(Self.customer)
            }
        }
    }

    static func customer(_ row: [String?]) throws -> Customer {
        guard let idText = row[0], let id = Int64(idText), let email = row[1], let name = row[2] else {
            throw CommerceError.internalError("customer store: a customers row without id, email or name")
        }
        var address: ShippingAddress?
        if let line1 = row[4], let city = row[6], let postal = row[8], let country = row[9] {
            address = ShippingAddress(name: row[3], line1: line1, line2: row[5], city: city, region: row[7], postalCode: postal, country: country)
        }
        let created = row[10].flatMap(Double.init).map { Date(timeIntervalSince1970: $0) } ?? Date(timeIntervalSince1970: 0)
        return Customer(id: id, email: email, name: name, shippingAddress: address, createdAt: created)
    }
}
