import Foundation
import AisleIndex

/// The field names of the built-in catalog schema, defined once: the schema, the HTTP API, the
/// catalog sync and the request aliases use these.
public enum ProductFields {
    public static let id = "id"
    public static let title = "title"
    public static let brand = "brand"
    public static let category = "category"
    public static let description = "description"
    public static let categoryPath = "category_path"
    public static let price = "price"
    public static let rating = "rating"
    public static let reviewCount = "review_count"
    public static let inStock = "in_stock"
    public static let stock = "stock"
    public static let popularity = "popularity"
    /// The object whose every key is a keyword field `attributes.<key>`.
    public static let attributes = "attributes"
    public static let attributesPattern = attributes + ".*"
    public static let attributePrefix = attributes + "."
    /// The levels of `category` as keyword fields (`category[0]` ...).
    public static let categoryLevels = ["category_l1", "category_l2", "category_l3"]
    /// The numbers and flags that change in place (`set`), as the catalog sends them.
    public static let inPlace = [price, rating, reviewCount, stock, inStock]
}

/// Built-in schemas and schema files.
public enum Schemas {
    /// The default schema for the catalog JSONL format (`../shared/corpora/synth/README.md`):
    /// title^3, brand^2, the category levels^1 and description^1 as text; brand, each category level,
    /// category_path (a hierarchy: a filter on a path matches everything below it) and every
    /// attributes.* as keywords; price, rating, review_count (and stock, popularity when present) as numbers;
    /// in_stock as a boolean.
    /// The id and title are stored; brand, category, price and the other columns are shown from doc
    /// values.
    /// The largest price the catalog schema accepts (in the catalog's currency): 1,000,000,000.
    public static let maxPrice = 1e9

    public static let catalog: Schema = {
        typealias F = ProductFields
        return Schema(idField: F.id, fields: [
            FieldDefinition(name: F.id, type: .keyword, stored: true),
            FieldDefinition(name: F.title, type: .text, boost: 3, stored: true),
            FieldDefinition(name: F.brand, type: .text, boost: 2, keyword: true),
            FieldDefinition(name: F.category, type: .text, boost: 1, source: F.category),
            FieldDefinition(name: F.description, type: .text, boost: 1),
            FieldDefinition(name: F.categoryLevels[0], type: .keyword, source: F.category + "[0]"),
            FieldDefinition(name: F.categoryLevels[1], type: .keyword, source: F.category + "[1]"),
            FieldDefinition(name: F.categoryLevels[2], type: .keyword, source: F.category + "[2]"),
            FieldDefinition(name: F.categoryPath, type: .keyword, hierarchy: " > "),
            FieldDefinition(name: F.price, type: .numeric, min: 0, max: Schemas.maxPrice),
            FieldDefinition(name: F.rating, type: .numeric, min: 0, max: 5),
            FieldDefinition(name: F.reviewCount, type: .numeric, min: 0, max: 1e12),
            FieldDefinition(name: F.inStock, type: .boolean),
            // Not in the synth catalog; set in place by live updates (`{"op": "set", "stock": 3}`).
            FieldDefinition(name: F.stock, type: .numeric, min: 0, max: 1e12),
            FieldDefinition(name: F.popularity, type: .numeric),
            FieldDefinition(name: F.attributesPattern, type: .keyword),
        ], format: "catalog")
    }()

    /// The schema for a TSV file with a header: the first column is the id, every other column a
    /// stored text field named by the header.
    public static func tsv(header: [String]) throws -> Schema {
        guard header.count >= 2 else { throw EngineError.input("a TSV corpus needs a header with an id column and at least one text column") }
        var fields = [FieldDefinition(name: header[0], type: .keyword, stored: true)]
        var seen = Set([header[0]])
        for h in header.dropFirst() {
            guard !h.isEmpty, seen.insert(h).inserted else { throw EngineError.input("TSV header has an empty or repeated column name: \"\(h)\"") }
            fields.append(FieldDefinition(name: h, type: .text, stored: true))
        }
        return Schema(idField: header[0], fields: fields, format: "tsv")
    }

    /// A schema inferred from the first record of a generic JSON-lines corpus: the id is `id`,
    /// `doc_id` or `_id`; strings and arrays of strings are stored text, numbers numeric, booleans boolean.
    public static func inferred(from first: JSONValue) throws -> Schema {
        guard let members = first.objectValue else { throw EngineError.input("the first line is not a JSON object") }
        guard let idKey = ["id", "doc_id", "_id", "product_id"].first(where: { first[$0] != nil }) else {
            throw EngineError.input("cannot find an id field (id, doc_id, _id or product_id) in the first record; give a schema with --schema")
        }
        var fields = [FieldDefinition(name: idKey, type: .keyword, stored: true)]
        for (k, v) in members where k != idKey {
            switch v {
            case .string: fields.append(FieldDefinition(name: k, type: .text, stored: true))
            case .array(let a) where a.allSatisfy({ $0.stringValue != nil }):
                fields.append(FieldDefinition(name: k, type: .text, stored: true))
            case .number: fields.append(FieldDefinition(name: k, type: .numeric, stored: true))
            case .bool: fields.append(FieldDefinition(name: k, type: .boolean, stored: true))
            default: continue
            }
        }
        return Schema(idField: idKey, fields: fields, format: "jsonl")
    }

    /// Reads a schema file (JSON; see README for the format).
    public static func load(path: String) throws -> Schema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError.input("cannot read schema file \(path)")
        }
        do {
            let s = try JSONDecoder().decode(Schema.self, from: data)
            try s.validate()
            return s
        } catch let e as IndexError {
            throw EngineError.input("schema \(path): \(e.description)")
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw EngineError.input("schema \(path): missing key \"\(key.stringValue)\" at \(ctx.codingPath.map { $0.stringValue }.joined(separator: "."))")
        } catch let DecodingError.dataCorrupted(ctx) {
            throw EngineError.input("schema \(path): \(ctx.debugDescription) at \(ctx.codingPath.map { $0.stringValue }.joined(separator: "."))")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw EngineError.input("schema \(path): wrong type at \(ctx.codingPath.map { $0.stringValue }.joined(separator: ".")): \(ctx.debugDescription)")
        } catch {
            throw EngineError.input("schema \(path): \(error)")
        }
    }

    /// The analyzer of text fields in the built-in and inferred schemas: English with measurement
    /// normalisation (`product`). A schema file may name any analyzer; a text field that names none is
    /// analysed with `english` (what indexes made before `product` existed used).
    public static let defaultAnalyzer = "product"

    /// Text fields without an analyzer get `defaultAnalyzer`.
    public static func withDefaultAnalyzer(_ schema: Schema) -> Schema {
        var s = schema
        for i in s.fields.indices where s.fields[i].type == .text && s.fields[i].analyzer == nil { s.fields[i].analyzer = defaultAnalyzer }
        return s
    }

    /// The analyzer whose fields index adjacent word pairs unless a schema says otherwise: the one
    /// default ranking runs on, whose proximity bonus reads them (`FieldDefinition.pairs`).
    public static let pairsAnalyzer = "product"

    /// Text fields that leave `pairs` unset get it on when they use `pairsAnalyzer`, off otherwise.
    /// Applied when an index is created (an existing index keeps what it was built with).
    public static func withDefaultPairs(_ schema: Schema) -> Schema {
        var s = schema
        for i in s.fields.indices where s.fields[i].type == .text && s.fields[i].pairs == nil {
            s.fields[i].pairs = (s.fields[i].analyzer ?? defaultAnalyzer) == pairsAnalyzer
        }
        return s
    }

    /// Sets every text field's `pairs` (nil: the default for its analyzer).
    public static func withPairs(_ schema: Schema, _ on: Bool?) -> Schema {
        var s = schema
        for i in s.fields.indices where s.fields[i].type == .text { s.fields[i].pairs = on }
        return s
    }

    /// Sets every text field's analyzer to `name`.
    public static func withAnalyzer(_ schema: Schema, _ name: String) -> Schema {
        var s = schema
        for i in s.fields.indices where s.fields[i].type == .text { s.fields[i].analyzer = name }
        return s
    }
}

/// Errors of the engine layer: bad input, bad requests. Messages are meant for users.
public enum EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    case input(String)
    case badRequest(String)
    case badLine(line: Int, message: String)

    public var description: String {
        switch self {
        case .input(let m): return m
        case .badRequest(let m): return m
        case .badLine(let line, let m): return "line \(line): \(m)"
        }
    }
}
