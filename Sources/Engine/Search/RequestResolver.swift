import AisleIndex

/// Turns a `SearchRequest`'s names into a `SearchSpec` for one index's schema, with errors that
/// name the problem and list what is possible.
struct RequestResolver {
    let schema: Schema
    let layout: SchemaLayout

    /// The hierarchy field that `category` stands for (category_path in the catalog schema).
    var categoryField: Int? {
        if let o = schema.ordinal(of: ProductFields.category), layout.hierarchy[o] != nil { return o }
        return layout.hierarchy.keys.sorted().first
    }

    func field(_ name: String) -> (Int, FieldDefinition)? {
        guard let o = schema.ordinal(of: name) else { return nil }
        return (o, schema.fields[o])
    }

    var filterableNames: String {
        var names: [String] = []
        for f in schema.fields where !f.isPattern && f.name != schema.idField {
            switch f.type {
            case .numeric: names += [f.name + "_min", f.name + "_max"]
            case .boolean, .keyword: names.append(f.name)
            case .text: if f.keyword == true { names.append(f.name) }
            case .stored, .vector: break
            }
        }
        if categoryField != nil && !names.contains(ProductFields.category) { names.append(ProductFields.category) }
        return names.joined(separator: ", ")
    }

    /// A number given as a keyword value, as its text: integers without a fraction (`42`, not
    /// `42.0`) when they are exact, anything else as Swift prints it (never a trapping conversion).
    static func keywordText(_ d: Double) -> String {
        if let i = Int64(exactly: d), i > -(1 << 53), i < (1 << 53) { return String(i) }
        return String(d)
    }

    func filters(_ requests: [FilterRequest]) throws -> [Filter] {
        var out: [Filter] = []
        var ranges: [Int: (Double?, Double?)] = [:]
        var order: [Int] = []
        for r in requests {
            var r = r
            // `x_min` / `x_max` where x is not numeric but `x_min` is a field: that field, equal to the number.
            if case .range(let lo, let hi) = r.condition, r.key != r.field, field(r.field)?.1.type != .numeric, field(r.key) != nil {
                r = FilterRequest(field: r.key, .number((lo ?? hi)!), key: r.key)
            }
            let key = r.key
            if r.field == ProductFields.category, let c = categoryField, !(field(ProductFields.category)?.1.isKeywordIndexed ?? false) {
                guard case .values(let v) = r.condition, v.count == 1 else {
                    throw EngineError.badRequest("filter category: expected a path such as \"Furniture > Sofas\"")
                }
                out.append(Filter(field: c, kind: .path(v[0])))
                continue
            }
            guard let (o, def) = field(r.field) else {
                throw EngineError.badRequest("unknown filter \"\(key.prefix(80))\" (filterable: \(filterableNames))")
            }
            switch def.type {
            case .boolean:
                guard case .flag(let b) = r.condition else { throw EngineError.badRequest("filter \(key): expected true or false") }
                out.append(Filter(field: o, kind: .equals(b)))
            case .numeric:
                let bounds: (Double?, Double?)
                switch r.condition {
                case .number(let n): bounds = (n, n)
                case .range(let lo, let hi):
                    if key != r.field {
                        // `price_min` and `price_max` merge into one range.
                        if ranges[o] == nil { order.append(o) }
                        var x = ranges[o] ?? (nil, nil)
                        if let lo { x.0 = lo }
                        if let hi { x.1 = hi }
                        ranges[o] = x
                        continue
                    }
                    bounds = (lo, hi)
                default:
                    throw EngineError.badRequest("filter \(key): expected a number or {\"min\": .., \"max\": ..}")
                }
                out.append(Filter(field: o, kind: .range(min: bounds.0, max: bounds.1)))
            case .keyword, .text:
                guard def.isKeywordIndexed else {
                    throw EngineError.badRequest("filter \(key): \(key) is a text field; filter on keyword fields (\(filterableNames))")
                }
                let values: [String]
                switch r.condition {
                case .values(let v): values = v
                case .number(let d): values = [Self.keywordText(d)]
                case .flag(let b): values = [b ? "true" : "false"]
                case .range: throw EngineError.badRequest("filter \(key): \(r.field) is not numeric; ranges apply to numeric fields")
                }
                if layout.hierarchy[o] != nil && values.count == 1 {
                    out.append(Filter(field: o, kind: .path(values[0])))
                } else {
                    out.append(Filter(field: o, kind: .anyOf(values)))
                }
            case .stored:
                throw EngineError.badRequest("filter \(key): \(r.field) is kept for display only, not indexed (filterable: \(filterableNames))")
            case .vector:
                throw EngineError.badRequest("filter \(key): \(r.field) is a vector field; it is searched with retrieval \"vector\" or \"hybrid\" (filterable: \(filterableNames))")
            }
        }
        for o in order {
            let (lo, hi) = ranges[o]!
            if let lo, let hi, lo > hi {
                throw EngineError.badRequest("filter \(schema.fields[o].name): minimum \(lo) is above maximum \(hi)")
            }
            out.append(Filter(field: o, kind: .range(min: lo, max: hi)))
        }
        return out
    }

    /// Facet specs and the names their results go under.
    func facets(_ reqs: [FacetRequest], filters: [Filter]) throws -> [(name: String, spec: FacetSpec)] {
        try reqs.map { r in
            if r.name == ProductFields.category, let c = categoryField, !(field(ProductFields.category)?.1.isKeywordIndexed ?? false) {
                var path: String?
                for f in filters where f.field == c { if case .path(let p) = f.kind { path = p } }
                return (r.name, FacetSpec(field: c, kind: .hierarchy(path: path, size: r.size ?? 20)))
            }
            guard let (o, def) = field(r.name) else {
                let names = schema.fields.filter { !$0.isPattern && ($0.isKeywordIndexed || $0.type == .numeric) && $0.name != schema.idField }.map { $0.name }
                throw EngineError.badRequest("unknown facet \"\(r.name)\" (facetable: \((names + (categoryField != nil ? [ProductFields.category] : [])).joined(separator: ", ")))")
            }
            switch def.type {
            case .numeric:
                return (r.name, FacetSpec(field: o, kind: .ranges(r.ranges)))
            case .keyword, .text, .boolean:
                guard def.isKeywordIndexed else { throw EngineError.badRequest("facet \(r.name): \(r.name) is a text field; facets need keyword fields") }
                if r.ranges != nil { throw EngineError.badRequest("facet \(r.name): ranges apply to numeric fields") }
                return (r.name, FacetSpec(field: o, kind: .terms(size: r.size ?? 10)))
            case .stored:
                throw EngineError.badRequest("facet \(r.name): \(r.name) is kept for display only; facets need keyword or numeric fields")
            case .vector:
                throw EngineError.badRequest("facet \(r.name): \(r.name) is a vector field; facets need keyword or numeric fields")
            }
        }
    }

    func sort(_ s: SortRequest?) throws -> SortSpec {
        guard let s, case .field(let name, let given) = s else { return .relevance }
        // A price sorts ascending unless told otherwise; counts and ratings best first.
        let desc = given ?? (name != ProductFields.price)
        guard let (o, def) = field(name), def.type == .numeric || def.type == .boolean, layout.numericColumns.contains(o) else {
            let names = layout.numericColumns.map { schema.fields[$0].name }
            throw EngineError.badRequest("cannot sort by \"\(s.name.prefix(80))\" (relevance, or \(names.flatMap { ["\($0)_asc", "\($0)_desc"] }.joined(separator: ", ")))")
        }
        return .field(o, descending: desc)
    }

    func boosts(_ reqs: [BoostRequest]) throws -> [ScoreBoost] {
        try reqs.map { r in
            guard let (o, def) = field(r.name), def.type == .numeric || def.type == .boolean, layout.numericColumns.contains(o) else {
                let names = layout.numericColumns.sorted().map { schema.fields[$0].name }
                throw EngineError.badRequest("cannot boost by \"\(r.name)\" (numeric fields: \(names.joined(separator: ", ")))")
            }
            return ScoreBoost(field: o, weight: r.weight, modifier: r.modifier, missing: r.missing)
        }
    }

    func searchAfter(_ a: SearchAfterRequest?, sort: SortSpec) throws -> SortPosition? {
        guard let a else { return nil }
        switch (sort, a.tie) {
        case (.relevance, .doc(let doc)):
            guard let s = a.value else { throw EngineError.badRequest("search_after for relevance is [score, doc] from the last hit's \"sort\"") }
            return .relevance(score: Float(s), doc: doc)
        case (.relevance, .id):
            throw EngineError.badRequest("search_after for relevance is [score, doc] from the last hit's \"sort\"")
        case (.field, .id(let id)):
            return .field(value: a.value, id: id)
        case (.field, .doc):
            throw EngineError.badRequest("search_after is [value, id] from the last hit's \"sort\"")
        }
    }
}
