import Foundation
import AisleCatalog
import AisleEngine

// Corpus rows into catalog records (`aisle catalog load`).

/// Reads catalog corpora: the synth catalog JSONL (`../shared/corpora/synth`) and the BigBasket
/// product list (`../shared/corpora/bigbasket/products.jsonl`), told apart by their fields.
public struct CorpusRowReader {
    public enum Kind: String, Sendable {
        case synth, bigbasket
    }

    public let kind: Kind
    public let defaultStock: Int
    private var tape = JSONTape()

    public init(firstLine: String, defaultStock: Int) throws {
        self.defaultStock = defaultStock
        guard let v = try? JSONValue.parse(firstLine), v.objectValue != nil else {
            throw CatalogError.input("row 1: not a JSON object (the catalog corpus is JSON lines)")
        }
        if v["product"] != nil && v["sale_price"] != nil {
            kind = .bigbasket
        } else if v["title"] != nil && v["id"] != nil {
            kind = .synth
        } else {
            throw CatalogError.input("row 1: neither a catalog record (id, title, price, …) nor a BigBasket row (index, product, sale_price, …)")
        }
    }

    private func text(_ node: Int?, _ name: String, required: Bool = false) throws -> String? {
        guard let node, tape.kind(node) != .null else {
            if required { throw CatalogError.input("missing \(name)") }
            return nil
        }
        switch tape.kind(node) {
        case .string: return tape.string(node)
        case .number: return String(decoding: tape.rawBytes(node), as: UTF8.self)
        default: throw CatalogError.input("\(name) must be a string")
        }
    }

    /// A decimal as its exact JSON text.
    private func decimal(_ node: Int?, _ name: String, required: Bool = false) throws -> String? {
        guard let node, tape.kind(node) != .null else {
            if required { throw CatalogError.input("missing \(name)") }
            return nil
        }
        let s: String
        switch tape.kind(node) {
        case .number: s = String(decoding: tape.rawBytes(node), as: UTF8.self)
        case .string: s = tape.string(node).trimmingCharacters(in: .whitespaces)
        default: throw CatalogError.input("\(name) must be a number")
        }
        guard ProductRecord.isDecimal(s) else { throw CatalogError.input("\(name) must be a non-negative number, found \(s.prefix(40))") }
        return s
    }

    private func integer(_ node: Int?, _ name: String) throws -> Int? {
        guard let node, tape.kind(node) != .null else { return nil }
        guard tape.kind(node) == .number, let i = tape.integer(node) else { throw CatalogError.input("\(name) must be a whole number") }
        return i
    }

    private func attributeValue(_ n: Int) -> AttributeValue {
        switch tape.kind(n) {
        case .null: return .null
        case .bool: return .bool(tape.bool(n))
        case .string: return .string(tape.string(n))
        case .number:
            let raw = String(decoding: tape.rawBytes(n), as: UTF8.self)
            if let i = Int64(raw) { return .int(i) }
            return .double(tape.number(n))
        case .array: return .array(tape.elements(n).map { attributeValue($0) })
        case .object:
            var f: [AttributeField] = []
            tape.forEachMember(n) { k, v in f.append(AttributeField(tape.string(k), attributeValue(v))) }
            return .document(f)
        }
    }

    /// One row: its product and attribute document (nil when it has no attributes).
    public mutating func read(_ line: UnsafeBufferPointer<UInt8>) throws -> (ProductRecord, AttributeDocument?) {
        do { try tape.parse(line) } catch { throw CatalogError.input(error.description) }
        let root = tape.root
        guard tape.kind(root) == .object else { throw CatalogError.input("a row must be a JSON object") }
        func m(_ k: String) -> Int? { tape.member(root, k) }
        var p: ProductRecord
        var attrs: [AttributeField]?
        switch kind {
        case .synth:
            var category: [String] = []
            if let c = m("category"), tape.kind(c) == .array {
                for e in tape.elements(c) {
                    guard tape.kind(e) == .string else { throw CatalogError.input("category must be a list of strings") }
                    category.append(tape.string(e))
                }
            } else if let path = try text(m("category_path"), "category_path") ?? text(m("category"), "category") {
                category = path.components(separatedBy: ProductRecord.categorySeparator)
            }
            let inStock: Bool
            if let s = m("in_stock"), tape.kind(s) != .null {
                guard tape.kind(s) == .bool else { throw CatalogError.input("in_stock must be true or false") }
                inStock = tape.bool(s)
            } else {
                inStock = true
            }
            let stock = try integer(m("stock"), "stock") ?? (inStock ? defaultStock : 0)
            p = ProductRecord(id: try text(m("id"), "id", required: true)!, sku: try text(m("sku"), "sku"),
                              title: try text(m("title"), "title", required: true)!,
                              description: try text(m("description"), "description") ?? "",
                              brand: try text(m("brand"), "brand"), category: category,
                              price: try decimal(m("price"), "price", required: true)!,
                              listPrice: try decimal(m("list_price"), "list_price"),
                              currency: try text(m("currency"), "currency") ?? "USD",
                              rating: try decimal(m("rating"), "rating"),
                              reviewCount: try integer(m("review_count"), "review_count") ?? 0,
                              status: try text(m("status"), "status") ?? "active",
                              available: stock, reserved: 0)
            if let a = m("attributes"), tape.kind(a) != .null {
                guard tape.kind(a) == .object else { throw CatalogError.input("attributes must be an object") }
                if case .document(let f) = attributeValue(a) { attrs = f }
            }
        case .bigbasket:
            let cat = [try text(m("category"), "category"), try text(m("sub_category"), "sub_category"), try text(m("type"), "type")]
                .compactMap { $0 }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            p = ProductRecord(id: try text(m("index"), "index", required: true)!,
                              title: try text(m("product"), "product", required: true)!,
                              description: try text(m("description"), "description") ?? "",
                              brand: try text(m("brand"), "brand").flatMap { $0.isEmpty ? nil : $0 }, category: cat,
                              price: try decimal(m("sale_price"), "sale_price", required: true)!,
                              listPrice: try decimal(m("market_price"), "market_price"), currency: "INR",
                              rating: try decimal(m("rating"), "rating"), reviewCount: 0, status: "active",
                              available: defaultStock, reserved: 0)
        }
        try p.validate()
        let doc = attrs.map { AttributeDocument(productId: p.id, category: p.category.isEmpty ? nil : p.categoryPath, attributes: $0) }
        return (p, doc)
    }
}
