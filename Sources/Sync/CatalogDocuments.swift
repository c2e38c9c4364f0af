import AisleCatalog
import AisleEngine

/// Catalog records as index records: a product row and its attribute document become a typed
/// `Record` in the fields of the built-in catalog schema (`ProductFields`), and a price or stock
/// change becomes typed values set in place. Decimals travel as their exact text from PostgreSQL to
/// the doc-values column (`ExactDecimal`); nothing goes through JSON text.
public enum CatalogDocuments {
    typealias F = ProductFields

    /// The product with its attributes (nil: none), for an upsert or a rebuild.
    public static func record(_ p: ProductRecord, _ attributes: AttributeDocument?) -> Record {
        var r = Record([
            (F.id, .text(p.id)),
            (F.title, .text(p.title)),
            (F.description, .text(p.description)),
            (F.brand, p.brand.map { .text($0) } ?? .null),
            (F.category, .list(p.category.map { .text($0) })),
            (F.categoryPath, .text(p.categoryPath)),
        ])
        r.fields += numbers(p)
        r.fields.append((F.attributes, .object((attributes?.attributes ?? []).map { ($0.key, value($0.value)) })))
        return r
    }

    /// The fields that change in place: price, rating (null when there is none), review count,
    /// stock and whether it is in stock.
    public static func numbers(_ p: ProductRecord) -> [(name: String, value: FieldValue)] {
        [(F.price, decimal(p.price)), (F.rating, p.rating.map(decimal) ?? .null),
         (F.reviewCount, .number(p.reviewCount)), (F.stock, .number(p.stock)), (F.inStock, .bool(p.inStock))]
    }

    /// A catalog decimal (validated by the catalog: `ProductRecord.isDecimal`); text that is not a
    /// number in JSON's grammar (`.5`) is kept as text, which the index refuses with a clear error.
    static func decimal(_ text: String) -> FieldValue {
        FieldValue.decimal(text) ?? .text(text)
    }

    /// An attribute value: strings, numbers (with the catalog's text for them), booleans, lists and
    /// documents as they are.
    public static func value(_ v: AttributeValue) -> FieldValue {
        switch v {
        case .string(let s): return .text(s)
        case .int(let i): return .number(ExactDecimal(Double(i), text: String(i)))
        case .double(let d): return d.isFinite ? .number(ExactDecimal(d, text: AttributeValue.format(d))) : .null
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .array(let a): return .list(a.map(value))
        case .document(let f): return .object(f.map { ($0.key, value($0.value)) })
        }
    }
}
