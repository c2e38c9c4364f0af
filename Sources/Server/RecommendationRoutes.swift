import AisleCommerce
import AisleEngine
import AisleIndex
import Foundation
import Hummingbird

/// `GET /api/v1/products/{id}/recommendations`: "you might also like". Bought together (the
/// co-purchase projection of the order events, in Commerce) first, then similar products (more
/// like this, from the index) when there are too few. Both skip the product itself, products no
/// longer in the catalog and products out of stock (as the index has them now). The composition
/// is here: Commerce knows no index, the engine knows no orders.
extension APIServer {
    static let recommendationLimit = 8

    func addRecommendationRoutes(_ router: Router<BasicRequestContext>) {
        let api = self
        router.get("/api/v1/products/{id}/recommendations") { request, context in
            guard let id = Self.pathId(context.parameters.get("id")) else { return api.badPath() }
            let query = request.uri.query
            return await api.searching { d in try api.recommendations(id: id, query: query, deadline: d) }
        }
    }

    /// One recommended product as answered.
    struct Recommendation {
        var hit: SearchHit
        var source: String
        var orders: Int?
        var share: Double?
    }

    func recommendations(id: String, query: String?, deadline: SearchDeadline?) throws -> Response {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let qs = try QueryString(query)
        for (k, _) in qs.pairs where k != "limit" { throw APIError.badRequest("unknown parameter \"\(k.prefix(60))\" (limit)") }
        let limit = try qs.int("limit", range: 1...SimilarRequest.maxLimit) ?? Self.recommendationLimit
        guard !id.isEmpty, id.utf8.count <= IndexLimits.maxIdBytes else { throw APIError.badRequest("a product id is 1 to \(IndexLimits.maxIdBytes) bytes") }
        let s = service.searcher
        guard try s.doc(forId: id) != nil else { throw APIError.notFound("no product with id \"\(id)\"") }
        typealias F = ProductFields
        let fields = [F.title, F.brand, F.price, F.categoryPath, F.inStock]
        var out: [Recommendation] = []
        var warnings: [String] = []
        var taken: Set<String> = [id]

        // Bought together: more candidates than needed, as some may be out of stock or gone.
        let (pairs, warning) = boughtTogether(id, limit: limit * 3 + 8)
        if let warning { warnings.append(warning) }
        for p in pairs where out.count < limit && !taken.contains(p.productId) {
            guard let doc = try s.doc(forId: p.productId) else { continue }
            let values = try service.displayFields(doc: doc, wanted: Set(fields), in: s)
            guard values.contains(where: { $0.name == F.inStock && $0.value == .bool(true) }) else { continue }
            taken.insert(p.productId)
            out.append(Recommendation(hit: SearchHit(doc: doc, id: p.productId, score: 0, fields: values), source: "bought_together",
                                      orders: p.orders, share: p.share))
        }
        if out.count < limit, let similar = try service.similar(SimilarRequest(id: id, limit: limit - out.count, exclude: taken), deadline: deadline) {
            for h in similar.hits { out.append(Recommendation(hit: h, source: "similar")) }
        }

        var w = JSONWriter(capacity: 2048)
        w.raw("{\"product_id\":")
        w.string(id)
        w.raw(",\"recommendations\":[")
        for (i, r) in out.enumerated() {
            if i > 0 { w.raw(",") }
            func field(_ n: String) -> JSONValue { r.hit.fields.first { $0.name == n }?.value.json ?? .null }
            var obj: [(String, JSONValue)] = [("id", .string(r.hit.id)), ("title", field(F.title)), ("brand", field(F.brand)),
                                              ("price", field(F.price)), ("category", field(F.categoryPath)), ("in_stock", field(F.inStock)),
                                              ("source", .string(r.source))]
            if let o = r.orders { obj.append(("orders", .number(Double(o)))) }
            if let sh = r.share { obj.append(("share", .number((sh * 10_000).rounded() / 10_000))) }
            w.value(.object(obj))
        }
        w.raw("]")
        if !warnings.isEmpty {
            w.raw(",\"warnings\":")
            w.value(.array(warnings.map { .string($0) }))
        }
        w.raw(",\"took_us\":")
        w.number(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000)
        w.raw("}")
        return bytes(200, w.bytes)
    }

    /// Co-purchases of a product from Commerce, most bought together first. Without commerce, or
    /// with its store down, none (and a warning): similar products still answer.
    func boughtTogether(_ id: String, limit: Int) -> ([(productId: String, orders: Int, share: Double)], String?) {
        guard case .ready(let c) = commerceMount else { return ([], nil) }
        do {
            return (try c.coPurchases.boughtTogether(productId: id, limit: limit).map { ($0.productId, $0.orders, $0.share) }, nil)
        } catch {
            return ([], "bought-together products are not available (\(error)); similar products only")
        }
    }
}
