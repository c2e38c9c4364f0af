import AisleIndex

/// Turns a `SearchRequest`'s names into a `SearchSpec` for one index's schema, with errors that
/// name the problem and list what is possible.
struct RequestResolver {
    let schema: Schema
    let layout: SchemaLayout

    /// The hierarchy field that `category` stands for (category_path in the catalog schema).
    var categoryField: Int? {
        if let o = schema.ordinal(of: "category"), layout.hierarchy[o] != nil { return o }
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
            }
        }
        if categoryField != nil && !names.contains("category") { names.append("category") }
        return names.joined(separator: ", ")
    }

    func strings(_ v: JSONValue, key: String) throws -> [String] {
        switch v {
        case .string(let s): return [s]
        case .number(let d): return [Self.keywordText(d)]
        case .bool(let b): return [b ? "true" : "false"]
        case .array(let a):
            guard !a.isEmpty, a.count <= 1000 else { throw EngineError.badRequest("filter \(key): give 1 to 1000 values") }
            return try a.map {
                guard let s = $0.stringValue else { throw EngineError.badRequest("filter \(key): values must be strings") }
                return s
            }
        default: throw EngineError.badRequest("filter \(key): expected a string or an array of strings, found \(v.typeName)")
        }
    }

    /// A number given as a keyword value, as its text: integers without a fraction (`42`, not
    /// `42.0`) when they are exact, anything else as Swift prints it (never a trapping conversion).
    static func keywordText(_ d: Double) -> String {
        if let i = Int64(exactly: d), i > -(1 << 53), i < (1 << 53) { return String(i) }
        return String(d)
    }

    func filters(_ raw: [(key: String, value: JSONValue)]) throws -> [Filter] {
        var out: [Filter] = []
        var ranges: [Int: (Double?, Double?)] = [:]
        var order: [Int] = []
        for (key, value) in raw {
            if value.isNull { continue }
            if key == "category", let c = categoryField, !(field("category")?.1.isKeywordIndexed ?? false) {
                guard let s = value.stringValue else { throw EngineError.badRequest("filter category: expected a path such as \"Furniture > Sofas\"") }
                out.append(Filter(field: c, kind: .path(s)))
                continue
            }
            for suffix in ["_min", "_max"] where key.hasSuffix(suffix) {
                let base = String(key.dropLast(4))
                if let (o, def) = field(base), def.type == .numeric {
                    guard let n = value.numberValue, n.isFinite else { throw EngineError.badRequest("filter \(key): expected a number, found \(value.typeName)") }
                    if ranges[o] == nil { order.append(o) }
                    var r = ranges[o] ?? (nil, nil)
                    if suffix == "_min" { r.0 = n } else { r.1 = n }
                    ranges[o] = r
                }
            }
            if key.hasSuffix("_min") || key.hasSuffix("_max"), let (_, def) = field(String(key.dropLast(4))), def.type == .numeric { continue }
            guard let (o, def) = field(key) else {
                throw EngineError.badRequest("unknown filter \"\(key)\" (filterable: \(filterableNames))")
            }
            switch def.type {
            case .boolean:
                guard let b = value.boolValue else { throw EngineError.badRequest("filter \(key): expected true or false") }
                out.append(Filter(field: o, kind: .equals(b)))
            case .numeric:
                if let n = value.numberValue {
                    guard n.isFinite else { throw EngineError.badRequest("filter \(key): expected a finite number") }
                    out.append(Filter(field: o, kind: .range(min: n, max: n)))
                } else if value.objectValue != nil {
                    let lo = value["min"]?.numberValue, hi = value["max"]?.numberValue
                    guard lo?.isFinite ?? true, hi?.isFinite ?? true else {
                        throw EngineError.badRequest("filter \(key): min and max must be finite numbers")
                    }
                    out.append(Filter(field: o, kind: .range(min: lo, max: hi)))
                } else {
                    throw EngineError.badRequest("filter \(key): expected a number or {\"min\": .., \"max\": ..}")
                }
            case .keyword, .text:
                guard def.isKeywordIndexed else {
                    throw EngineError.badRequest("filter \(key): \(key) is a text field; filter on keyword fields (\(filterableNames))")
                }
                let values = try strings(value, key: key)
                if layout.hierarchy[o] != nil && values.count == 1 {
                    out.append(Filter(field: o, kind: .path(values[0])))
                } else {
                    out.append(Filter(field: o, kind: .anyOf(values)))
                }
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
            if r.name == "category", let c = categoryField, !(field("category")?.1.isKeywordIndexed ?? false) {
                var path: String?
                for f in filters where f.field == c { if case .path(let p) = f.kind { path = p } }
                return (r.name, FacetSpec(field: c, kind: .hierarchy(path: path, size: r.size ?? 20)))
            }
            guard let (o, def) = field(r.name) else {
                let names = schema.fields.filter { !$0.isPattern && ($0.isKeywordIndexed || $0.type == .numeric) && $0.name != schema.idField }.map { $0.name }
                throw EngineError.badRequest("unknown facet \"\(r.name)\" (facetable: \((names + (categoryField != nil ? ["category"] : [])).joined(separator: ", ")))")
            }
            switch def.type {
            case .numeric:
                return (r.name, FacetSpec(field: o, kind: .ranges(r.ranges)))
            case .keyword, .text, .boolean:
                guard def.isKeywordIndexed else { throw EngineError.badRequest("facet \(r.name): \(r.name) is a text field; facets need keyword fields") }
                if r.ranges != nil { throw EngineError.badRequest("facet \(r.name): ranges apply to numeric fields") }
                return (r.name, FacetSpec(field: o, kind: .terms(size: r.size ?? 10)))
            }
        }
    }

    func sort(_ s: String?) throws -> SortSpec {
        guard let s, s != "relevance", !s.isEmpty else { return .relevance }
        var name = s
        var desc = true
        if s.hasSuffix("_asc") { name = String(s.dropLast(4)); desc = false } else if s.hasSuffix("_desc") { name = String(s.dropLast(5)) }
        // "price" alone sorts ascending; "rating", "review_count" descending (best first).
        if name == s && name == "price" { desc = false }
        guard let (o, def) = field(name), def.type == .numeric || def.type == .boolean, layout.numericColumns.contains(o) else {
            let names = layout.numericColumns.map { schema.fields[$0].name }
            throw EngineError.badRequest("cannot sort by \"\(s)\" (relevance, or \(names.flatMap { ["\($0)_asc", "\($0)_desc"] }.joined(separator: ", ")))")
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

    func searchAfter(_ a: [JSONValue]?, sort: SortSpec) throws -> SortPosition? {
        guard let a else { return nil }
        switch sort {
        case .relevance:
            guard let s = a[0].numberValue, Float(s).isFinite, let d = a[1].numberValue, let doc = Int(exactly: d), doc >= 0 else {
                throw EngineError.badRequest("search_after for relevance is [score, doc] from the last hit's \"sort\" (a finite score and a non-negative integer doc)")
            }
            return .relevance(score: Float(s), doc: doc)
        case .field:
            guard let id = a[1].stringValue, a[0].isNull || a[0].numberValue?.isFinite == true else {
                throw EngineError.badRequest("search_after is [value, id] from the last hit's \"sort\"")
            }
            return .field(value: a[0].numberValue, id: id)
        }
    }
}
