import Foundation

/// A value of an attribute document (the JSON / BSON types the catalog uses).
public indirect enum AttributeValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([AttributeValue])
    case document([AttributeField])

    /// Compact JSON (numbers as JSON numbers, shortest round-trip form for doubles).
    public func writeJSON(into out: inout String) {
        switch self {
        case .string(let s): JSONText.string(s, into: &out)
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? Self.format(d) : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.writeJSON(into: &out)
            }
            out += "]"
        case .document(let fields): JSONText.object(fields, into: &out)
        }
    }

    /// A double's JSON text as the catalog writes it (`2.0`, `2.5`).
    public static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }
}

public struct AttributeField: Sendable, Equatable {
    public var key: String
    public var value: AttributeValue
    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

/// A document of `ecommerce_catalog.product_attributes`:
/// `{product_id, category, attributes: {size, color, material, …}, last_updated}`.
public struct AttributeDocument: Sendable, Equatable {
    public var productId: String
    public var category: String?
    public var attributes: [AttributeField]
    /// Milliseconds since 1970 (a BSON date).
    public var lastUpdated: Int64

    public init(productId: String, category: String?, attributes: [AttributeField], lastUpdated: Int64 = AttributeDocument.now()) {
        self.productId = productId
        self.category = category
        self.attributes = attributes
        self.lastUpdated = lastUpdated
    }

    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The attributes as a compact JSON object.
    public var attributesJSON: String {
        var s = ""
        JSONText.object(attributes, into: &s)
        return s
    }

    /// Same product, category and attributes (ignores `lastUpdated`).
    public func sameContent(as o: AttributeDocument) -> Bool {
        productId == o.productId && category == o.category && attributes == o.attributes
    }
}

/// A product as the catalog holds it: the relational fields of PostgreSQL plus stock.
/// Decimal columns travel as their exact decimal text (`"28.99"`), never through binary floating point.
public struct ProductRecord: Sendable, Equatable {
    public var id: String
    public var sku: String?
    public var title: String
    public var description: String
    public var brand: String?
    /// Category levels, root first (`["Furniture", "Living Room", "Sofas"]`).
    public var category: [String]
    public var price: String
    public var listPrice: String?
    public var currency: String
    public var rating: String?
    public var reviewCount: Int
    /// active, draft or discontinued; only active products are searchable.
    public var status: String
    public var available: Int
    public var reserved: Int

    public init(id: String, sku: String? = nil, title: String, description: String = "", brand: String? = nil,
                category: [String] = [], price: String, listPrice: String? = nil, currency: String = "USD",
                rating: String? = nil, reviewCount: Int = 0, status: String = "active", available: Int = 0, reserved: Int = 0) {
        self.id = id
        self.sku = sku
        self.title = title
        self.description = description
        self.brand = brand
        self.category = category
        self.price = price
        self.listPrice = listPrice
        self.currency = currency
        self.rating = rating
        self.reviewCount = reviewCount
        self.status = status
        self.available = available
        self.reserved = reserved
    }

    public static let categorySeparator = " > "
    public var categoryPath: String { category.joined(separator: Self.categorySeparator) }
    /// Units that can be sold now.
    public var stock: Int { max(0, available - reserved) }
    public var inStock: Bool { stock > 0 }
    public var isActive: Bool { status == "active" }

    /// Checks the fields the schema constrains; the message names the field.
    public func validate() throws {
        guard !id.isEmpty, id.utf8.count <= 512 else { throw CatalogError.input("id must be a non-empty string of at most 512 bytes") }
        guard !title.isEmpty else { throw CatalogError.input("missing title") }
        guard Self.isDecimal(price) else { throw CatalogError.input("price must be a non-negative number, found \(price.prefix(40))") }
        if let listPrice, !Self.isDecimal(listPrice) { throw CatalogError.input("list price must be a non-negative number, found \(listPrice.prefix(40))") }
        if let rating {
            guard Self.isDecimal(rating), let r = Double(rating), r <= 5 else { throw CatalogError.input("rating must be a number from 0 to 5, found \(rating.prefix(40))") }
        }
        guard reviewCount >= 0 else { throw CatalogError.input("review_count must not be negative") }
        guard available >= 0, reserved >= 0 else { throw CatalogError.input("stock must not be negative") }
        guard currency.utf8.count == 3 else { throw CatalogError.input("currency must be a 3-letter code, found \(currency.prefix(10))") }
        guard ["active", "draft", "discontinued"].contains(status) else { throw CatalogError.input("status must be active, draft or discontinued, found \(status.prefix(20))") }
        for c in category where c.isEmpty || c.contains(Self.categorySeparator) {
            throw CatalogError.input("category levels must be non-empty and must not contain \"\(Self.categorySeparator)\"")
        }
    }

    /// A plain non-negative decimal number (`12`, `12.50`, `1e3`): what PostgreSQL's numeric
    /// accepts and JSON can carry, without NaN or infinity.
    public static func isDecimal(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 40, !s.hasPrefix("-"), let d = Double(s), d.isFinite else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x65 || $0 == 0x45 || $0 == 0x2B || $0 == 0x2D }
    }
}

/// Minimal JSON text output.
public enum JSONText {
    public static func string(_ s: String, into out: inout String) {
        out += "\""
        var plain = true
        for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
        if plain {
            out += s
        } else {
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if u.value < 0x20 {
                        out += String(format: "\\u%04x", u.value)
                    } else {
                        out.unicodeScalars.append(u)
                    }
                }
            }
        }
        out += "\""
    }

    public static func object(_ fields: [AttributeField], into out: inout String) {
        out += "{"
        for (i, f) in fields.enumerated() {
            if i > 0 { out += "," }
            string(f.key, into: &out)
            out += ":"
            f.value.writeJSON(into: &out)
        }
        out += "}"
    }
}
