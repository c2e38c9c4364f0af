import Foundation
import CMongoc

/// libbson helpers. libbson's types are 128-byte aligned, which Swift cannot express: every
/// `bson_t *` / `bson_iter_t *` is an `OpaquePointer`, documents live on the heap (`bson_new`) and
/// iterators and child documents in 128-aligned raw storage.
enum BSON {
    static func errorMessage(_ e: bson_error_t) -> String {
        withUnsafeBytes(of: e.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }

    /// 128-aligned storage for a `bson_t` or `bson_iter_t` for the duration of `body`.
    static func withStorage<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        let m = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
        m.initializeMemory(as: UInt8.self, repeating: 0, count: 128)
        defer { m.deallocate() }
        return try body(OpaquePointer(m))
    }

    // MARK: - Writing

    static func append(_ doc: OpaquePointer, _ key: String, _ v: AttributeValue) {
        let klen = Int32(key.utf8.count)
        switch v {
        case .string(let s): bson_append_utf8(doc, key, klen, s, Int32(s.utf8.count))
        case .int(let i):
            if i >= Int64(Int32.min) && i <= Int64(Int32.max) { bson_append_int32(doc, key, klen, Int32(i)) } else { bson_append_int64(doc, key, klen, i) }
        case .double(let d): bson_append_double(doc, key, klen, d)
        case .bool(let b): bson_append_bool(doc, key, klen, b)
        case .null: bson_append_null(doc, key, klen)
        case .array(let a):
            withStorage { child in
                bson_append_array_begin(doc, key, klen, child)
                for (i, e) in a.enumerated() { append(child, String(i), e) }
                bson_append_array_end(doc, child)
            }
        case .document(let fields):
            withStorage { child in
                bson_append_document_begin(doc, key, klen, child)
                for f in fields { append(child, f.key, f.value) }
                bson_append_document_end(doc, child)
            }
        }
    }

    /// A new heap document (the caller destroys it) for an attribute document. `oid` adds an `_id`.
    static func make(_ d: AttributeDocument, oid: [UInt8]? = nil) -> OpaquePointer {
        let doc = bson_new()!
        if let oid, oid.count == 12 {
            var o = bson_oid_t()
            withUnsafeMutableBytes(of: &o.bytes) { $0.copyBytes(from: oid) }
            bson_append_oid(doc, "_id", 3, &o)
        }
        bson_append_utf8(doc, "product_id", 10, d.productId, Int32(d.productId.utf8.count))
        if let c = d.category { bson_append_utf8(doc, "category", 8, c, Int32(c.utf8.count)) } else { bson_append_null(doc, "category", 8) }
        withStorage { child in
            bson_append_document_begin(doc, "attributes", 10, child)
            for f in d.attributes { append(child, f.key, f.value) }
            bson_append_document_end(doc, child)
        }
        bson_append_date_time(doc, "last_updated", 12, d.lastUpdated)
        return doc
    }

    /// Canonical extended JSON of a document (one line).
    static func canonicalJSON(_ doc: OpaquePointer) -> String {
        var len = 0
        guard let p = bson_as_canonical_extended_json(doc, &len) else { return "{}" }
        defer { bson_free(p) }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    static func newOid() -> [UInt8] {
        var o = bson_oid_t()
        bson_oid_init(&o, nil)
        return withUnsafeBytes(of: o.bytes) { Array($0) }
    }

    // MARK: - Reading

    /// Parses an extended-JSON document (canonical or relaxed) into a heap document.
    static func parse(json: [UInt8]) throws -> OpaquePointer {
        var err = bson_error_t()
        guard let doc = json.withUnsafeBufferPointer({ bson_new_from_json($0.baseAddress, $0.count, &err) }) else {
            throw CatalogError.attributes(errorMessage(err))
        }
        return doc
    }

    static func value(_ it: OpaquePointer) -> AttributeValue? {
        let t = bson_iter_type(it)
        switch t {
        case BSON_TYPE_UTF8:
            var len: UInt32 = 0
            guard let p = bson_iter_utf8(it, &len) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: p, count: Int(len)), as: UTF8.self))
        case BSON_TYPE_INT32: return .int(Int64(bson_iter_int32(it)))
        case BSON_TYPE_INT64: return .int(bson_iter_int64(it))
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(it))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(it))
        case BSON_TYPE_NULL, BSON_TYPE_UNDEFINED: return .null
        case BSON_TYPE_DATE_TIME: return .int(bson_iter_date_time(it))
        case BSON_TYPE_DECIMAL128:
            var d = bson_decimal128_t()
            guard bson_iter_decimal128(it, &d) else { return nil }
            var buf = [CChar](repeating: 0, count: 64)
            bson_decimal128_to_string(&d, &buf)
            return .string(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case BSON_TYPE_OID:
            guard let o = bson_iter_oid(it) else { return nil }
            var buf = [CChar](repeating: 0, count: 25)
            bson_oid_to_string(o, &buf)
            return .string(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case BSON_TYPE_DOCUMENT, BSON_TYPE_ARRAY:
            return withStorage { child -> AttributeValue? in
                guard bson_iter_recurse(it, child) else { return nil }
                var fields: [AttributeField] = []
                while bson_iter_next(child) {
                    if let v = value(child) { fields.append(AttributeField(String(cString: bson_iter_key(child)), v)) }
                }
                return t == BSON_TYPE_ARRAY ? .array(fields.map { $0.value }) : .document(fields)
            }
        default:
            return nil
        }
    }

    /// An attribute document from a BSON document, and its `_id` when it is an ObjectId.
    static func attributeDocument(_ doc: OpaquePointer) throws -> (AttributeDocument, [UInt8]?) {
        try withStorage { it in
            guard bson_iter_init(it, doc) else { throw CatalogError.attributes("not a BSON document") }
            var pid: String?
            var category: String?
            var attrs: [AttributeField] = []
            var updated: Int64 = 0
            var oid: [UInt8]?
            while bson_iter_next(it) {
                let key = String(cString: bson_iter_key(it))
                switch key {
                case "_id":
                    if bson_iter_type(it) == BSON_TYPE_OID, let o = bson_iter_oid(it) {
                        oid = withUnsafeBytes(of: o.pointee.bytes) { Array($0) }
                    }
                case "product_id":
                    switch value(it) {
                    case .string(let s)?: pid = s
                    case .int(let i)?: pid = String(i)
                    default: throw CatalogError.attributes("product_id must be a string")
                    }
                case "category":
                    if case .string(let s)? = value(it) { category = s }
                case "attributes":
                    switch value(it) {
                    case .document(let f)?: attrs = f
                    case .null?: attrs = []
                    default: throw CatalogError.attributes("attributes must be a document")
                    }
                case "last_updated":
                    if bson_iter_type(it) == BSON_TYPE_DATE_TIME { updated = bson_iter_date_time(it) } else if case .int(let i)? = value(it) { updated = i }
                default:
                    continue
                }
            }
            guard let pid, !pid.isEmpty else { throw CatalogError.attributes("missing product_id") }
            return (AttributeDocument(productId: pid, category: category, attributes: attrs, lastUpdated: updated), oid)
        }
    }
}
