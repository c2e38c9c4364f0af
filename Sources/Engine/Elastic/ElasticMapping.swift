import AisleIndex

/// An error as Elasticsearch names it (`mapper_parsing_exception`, `illegal_argument_exception`,
/// …): the HTTP edge renders `{"error": {"type", "reason", "root_cause"}, "status"}`.
public struct ElasticError: Error, Sendable, Equatable, CustomStringConvertible {
    public var type: String
    public var reason: String
    public var status: Int
    public init(_ type: String, _ reason: String, status: Int = 400) {
        self.type = type
        self.reason = reason
        self.status = status
    }
    public var description: String { "\(type): \(reason)" }

    static func mapper(_ reason: String) -> ElasticError { ElasticError("mapper_parsing_exception", reason) }
    static func argument(_ reason: String) -> ElasticError { ElasticError("illegal_argument_exception", reason) }
}

/// How an Elasticsearch field name reaches the Aisle schema.
public struct ElasticField: Sendable, Equatable {
    public enum Role: String, Sendable {
        case id, text, keyword, numeric, boolean, date
    }
    /// The Aisle field.
    public var field: String
    public var role: Role
    public init(field: String, role: Role) {
        self.field = field
        self.role = role
    }
}

/// A `PUT /{index}` body turned into an Aisle schema, with what was accepted but has no effect.
public struct ElasticIndexDefinition: Sendable {
    public var schema: Schema
    /// Elasticsearch field names (`name`, `name.keyword`, `dims.width`, `_id`) → Aisle fields.
    public var fields: [String: ElasticField]
    /// `path: reason` for every setting or parameter that was accepted and has no effect.
    public var ignored: [String]
    /// `dynamic: strict`: a document with an unmapped field is refused. Otherwise unmapped fields
    /// are kept in `_source` only (Aisle's schema does not grow from documents).
    public var strict: Bool
    /// `refresh_interval` in seconds (nil: the default, 1 s; 0 or less: no periodic refresh).
    public var refreshInterval: Double?
    /// The mappings as given (what `GET /{index}/_mapping` answers).
    public var mappings: JSONValue
}

/// Elasticsearch/OpenSearch mappings and index settings → an Aisle `Schema`.
///
/// | Elasticsearch | Aisle |
/// |---|---|
/// | `text` (`analyzer` standard, english, simple → plain, keyword; none → Aisle's `product`) | text |
/// | `text` with a multi-field `{"type": "keyword"}` | text with `keyword: true`; `x.keyword` filters on it |
/// | other multi-fields | a field of their own named `x.sub`, read from `x` |
/// | `keyword` | keyword |
/// | `long`, `integer`, `short`, `byte`, `double`, `float`, `half_float`, `scaled_float`, `unsigned_long` | numeric, within the type's range |
/// | `boolean` | boolean |
/// | `date` | numeric with `format: date` (epoch milliseconds) |
/// | `object` / `properties` | flattened to dotted names |
///
/// The document id is the keyword field `_id`; the document as sent is the stored-only field
/// `_source`. Anything that would change what a search answers and that Aisle cannot honour is an
/// error naming it; settings that only tune Elasticsearch's cluster are reported as ignored.
public enum ElasticMapping {
    public static let idField = "_id"
    public static let sourceField = "_source"

    static let unsupportedTypes: Set<String> = [
        "nested", "geo_point", "geo_shape", "shape", "point", "ip", "flattened", "join", "dense_vector", "sparse_vector",
        "rank_feature", "rank_features", "completion", "search_as_you_type", "wildcard", "constant_keyword", "percolator",
        "integer_range", "long_range", "float_range", "double_range", "date_range", "ip_range", "alias", "binary",
        "date_nanos", "histogram", "knn_vector", "token_count", "match_only_text", "semantic_text", "version", "murmur3",
        "annotated_text", "aggregate_metric_double",
    ]
    /// Numeric types and their ranges (clipped to what the index keeps exactly, ±1e15).
    static let numericTypes: [String: (Double?, Double?)] = [
        "long": (-9.223372036854776e18, 9.223372036854776e18), "integer": (-2_147_483_648, 2_147_483_647),
        "short": (-32_768, 32_767), "byte": (-128, 127), "double": (nil, nil), "float": (nil, nil), "half_float": (-65_504, 65_504),
        "scaled_float": (nil, nil), "unsigned_long": (0, nil),
    ]
    static let analyzers: [String: String] = ["standard": "standard", "english": "english", "simple": "plain", "keyword": "keyword",
                                               "product": "product", "plain": "plain"]
    static let dateFormats: Set<String> = ["strict_date_optional_time", "date_optional_time", "epoch_millis", "yyyy-MM-dd",
                                           "strict_date", "date", "strict_date_time", "date_time", "strict_date_time_no_millis",
                                           "date_time_no_millis"]

    /// The definition of a `PUT /{index}` body (nil or `{}`: no fields, every document kept in `_source`).
    public static func definition(_ body: JSONValue?) throws(ElasticError) -> ElasticIndexDefinition {
        var b = Builder()
        var mappings = JSONValue.object([])
        if let body, !body.isNull {
            guard let members = body.objectValue else { throw ElasticError("parsing_exception", "the index definition must be a JSON object") }
            for (k, v) in members {
                switch k {
                case "settings": try b.settings(v)
                case "mappings":
                    mappings = v
                    try b.mappings(v)
                case "aliases":
                    guard v.objectValue?.isEmpty ?? v.isNull else { throw ElasticError.argument("index aliases are not supported by Aisle") }
                default: throw ElasticError("parsing_exception", "unknown key [\(k.prefix(80))] for create index")
                }
            }
        }
        let schema = Schema(idField: idField, fields: [FieldDefinition(name: idField, type: .keyword, stored: true),
                                                       FieldDefinition(name: sourceField, type: .stored)] + b.fields, format: "elasticsearch")
        do { try schema.validate() } catch {
            throw ElasticError.mapper("\(error)")
        }
        var fields = b.names
        fields[idField] = ElasticField(field: idField, role: .id)
        return ElasticIndexDefinition(schema: schema, fields: fields, ignored: b.ignored, strict: b.strict,
                                      refreshInterval: b.refreshInterval, mappings: mappings)
    }

    /// The longest refresh interval accepted: a day.
    public static let maxInterval = 86_400.0

    /// `1s`, `500ms`, `2m`, `-1` (off), or a number of milliseconds → seconds (-1: off); nil for
    /// anything else, a negative other than -1, or more than a day.
    public static func interval(_ v: JSONValue) -> Double? {
        func checked(_ seconds: Double) -> Double? { seconds.isFinite && seconds >= 0 && seconds <= maxInterval ? seconds : nil }
        if let n = v.numberValue { return n == -1 ? -1 : checked(n / 1000) }
        guard let s = v.stringValue?.trimmingCharacters(in: [" "]), !s.isEmpty else { return nil }
        if s == "-1" { return -1 }
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where s.hasSuffix(suffix) {
            guard let n = Double(s.dropLast(suffix.count)) else { return nil }
            return checked(n * factor)
        }
        return Double(s).flatMap { checked($0 / 1000) }
    }

    private struct Builder {
        var fields: [FieldDefinition] = []
        var names: [String: ElasticField] = [:]
        var ignored: [String] = []
        var strict = false
        var refreshInterval: Double?

        mutating func settings(_ v: JSONValue) throws(ElasticError) {
            guard let members = v.objectValue else { throw ElasticError("parsing_exception", "settings must be an object") }
            var flat: [(String, JSONValue)] = []
            func flatten(_ prefix: String, _ v: JSONValue) {
                if let o = v.objectValue, !o.isEmpty {
                    for (k, x) in o { flatten(prefix.isEmpty ? k : prefix + "." + k, x) }
                } else {
                    flat.append((prefix, v))
                }
            }
            for (k, x) in members { flatten(k, x) }
            for (key, x) in flat {
                let k = key.hasPrefix("index.") ? String(key.dropFirst(6)) : key
                switch k {
                case "number_of_shards", "number_of_replicas", "max_result_window", "auto_expand_replicas", "mapping.total_fields.limit",
                     "mapping.nested_fields.limit", "mapping.depth.limit", "max_inner_result_window", "codec", "routing.allocation.include._tier_preference":
                    ignored.append("settings.index.\(k): Aisle runs one shard without replicas; no effect")
                case "refresh_interval":
                    guard let s = ElasticMapping.interval(x) else {
                        throw ElasticError.argument("failed to parse setting [index.refresh_interval] with value [\(x.jsonText.prefix(40))]")
                    }
                    refreshInterval = s
                case _ where k.hasPrefix("analysis."):
                    throw ElasticError.argument("custom analysis settings are not supported by Aisle (setting [index.\(k.prefix(80))]); use a built-in analyzer")
                default:
                    throw ElasticError.argument("unknown setting [index.\(k.prefix(80))] please check that any required plugins are installed, or check the breaking changes documentation for removed settings")
                }
            }
        }

        mutating func mappings(_ v: JSONValue) throws(ElasticError) {
            guard let members = v.objectValue else { throw ElasticError.mapper("mappings must be an object") }
            for (k, x) in members {
                switch k {
                case "properties": try properties(x, prefix: "")
                case "dynamic":
                    switch x.stringValue ?? x.boolValue.map({ $0 ? "true" : "false" }) {
                    case "strict": strict = true
                    case "true", "false", "runtime":
                        ignored.append("mappings.dynamic: unmapped fields are kept in _source and not indexed (Aisle's schema does not grow from documents)")
                    default: throw ElasticError.mapper("dynamic must be one of [true, false, strict], got [\(x.jsonText.prefix(40))]")
                    }
                case "_meta": ignored.append("mappings._meta: kept with the mapping; no effect")
                case "_source":
                    if x["enabled"]?.boolValue == false || x["excludes"] != nil || x["includes"] != nil {
                        throw ElasticError.mapper("Aisle always keeps the whole _source; _source.enabled, includes and excludes are not supported")
                    }
                case "date_detection", "numeric_detection":
                    ignored.append("mappings.\(k): fields are not added from documents")
                case "dynamic_templates", "runtime", "_routing":
                    throw ElasticError.mapper("mappings.\(k) is not supported by Aisle")
                default:
                    throw ElasticError.mapper("Root mapping definition has unsupported parameters: [\(k.prefix(80)) : \(x.jsonText.prefix(80))]")
                }
            }
        }

        mutating func properties(_ v: JSONValue, prefix: String) throws(ElasticError) {
            guard let members = v.objectValue else { throw ElasticError.mapper("properties must be an object") }
            for (name, spec) in members {
                guard !name.isEmpty, !name.hasPrefix("_"), !name.hasPrefix("."), !name.hasSuffix("."), !name.contains("..") else {
                    throw ElasticError.mapper("field name [\(name.prefix(80))] is not allowed (empty, starting with an underscore or with a bad dot)")
                }
                let path = prefix + name
                guard spec.objectValue != nil else { throw ElasticError.mapper("Expected map for property [fields] on field [\(path.prefix(80))] but got a \(spec.typeName)") }
                let type = spec["type"]?.stringValue ?? (spec["properties"] != nil ? "object" : nil)
                guard let type else {
                    throw ElasticError.mapper("No type specified for field [\(path.prefix(80))]")
                }
                try field(path, type: type, spec: spec)
            }
        }

        mutating func field(_ path: String, type: String, spec: JSONValue) throws(ElasticError) {
            let params = spec.objectValue ?? []
            func unknown(_ p: String) -> ElasticError {
                ElasticError.mapper("unknown parameter [\(p.prefix(80))] on mapper [\(path.prefix(80))] of type [\(type)]")
            }
            func refused(_ p: String) -> ElasticError {
                ElasticError.mapper("parameter [\(p)] on field [\(path.prefix(80))] of type [\(type)] is not supported by Aisle")
            }
            switch type {
            case "object":
                for (p, x) in params {
                    switch p {
                    case "type": break
                    case "properties": try properties(x, prefix: path + ".")
                    case "enabled":
                        if x.boolValue == false { ignored.append("\(path).enabled: kept in _source only, not indexed") }
                    case "dynamic": ignored.append("\(path).dynamic: unmapped fields are kept in _source only")
                    default: throw unknown(p)
                    }
                }
                if spec["enabled"]?.boolValue == false {
                    // Nothing under it is indexed: drop what `properties` added.
                    fields.removeAll { $0.name.hasPrefix(path + ".") }
                    names = names.filter { !$0.key.hasPrefix(path + ".") }
                }
            case "text":
                var def = FieldDefinition(name: path, type: .text, analyzer: "product", source: path)
                var multi: JSONValue?
                for (p, x) in params {
                    switch p {
                    case "type": break
                    case "analyzer":
                        guard let a = x.stringValue, let mapped = ElasticMapping.analyzers[a] else {
                            throw ElasticError.mapper("analyzer [\(x.jsonText.prefix(40))] has not been configured in mappings (Aisle has standard, english, simple, keyword, product, plain)")
                        }
                        def.analyzer = mapped
                    case "search_analyzer", "search_quote_analyzer":
                        if x.stringValue != params.first(where: { $0.0 == "analyzer" })?.1.stringValue {
                            ignored.append("\(path).\(p): Aisle analyses queries with the field's analyzer")
                        }
                    case "fields": multi = x
                    case "norms", "similarity", "index_options", "term_vector", "position_increment_gap", "store", "boost", "eager_global_ordinals":
                        ignored.append("\(path).\(p): no effect in Aisle")
                    case "index":
                        if x.boolValue == false { throw refused("index: false") }
                    case "fielddata", "fielddata_frequency_filter":
                        if x.boolValue == true || p == "fielddata_frequency_filter" { throw refused(p) }
                    case "index_phrases":
                        // Two-word shingles for faster phrases: Aisle's word pairs (`FieldDefinition.pairs`;
                        // used when every text field of the same analyzer has them).
                        guard let b = x.boolValue else {
                            throw ElasticError.mapper("[index_phrases] on field [\(path.prefix(80))] must be true or false")
                        }
                        def.pairs = b
                    case "copy_to", "index_prefixes": throw refused(p)
                    default: throw unknown(p)
                    }
                }
                fields.append(def)
                names[path] = ElasticField(field: path, role: .text)
                if let multi { try multiFields(multi, parent: path, parentType: "text") }
            case "keyword":
                var def = FieldDefinition(name: path, type: .keyword, source: path)
                var multi: JSONValue?
                for (p, x) in params {
                    switch p {
                    case "type": break
                    case "ignore_above": ignored.append("\(path).ignore_above: Aisle keeps every value (terms are capped at 255 bytes)")
                    case "doc_values": if x.boolValue == false { def.docValues = false }
                    case "fields": multi = x
                    case "store", "eager_global_ordinals", "norms", "similarity", "index_options", "split_queries_on_whitespace", "boost":
                        ignored.append("\(path).\(p): no effect in Aisle")
                    case "index": if x.boolValue == false { throw refused("index: false") }
                    case "normalizer", "null_value", "copy_to", "script", "on_script_error": throw refused(p)
                    default: throw unknown(p)
                    }
                }
                fields.append(def)
                names[path] = ElasticField(field: path, role: .keyword)
                if let multi { try multiFields(multi, parent: path, parentType: "keyword") }
            case "boolean":
                for (p, _) in params {
                    switch p {
                    case "type": break
                    case "doc_values", "index", "store", "boost": ignored.append("\(path).\(p): no effect in Aisle")
                    case "null_value", "copy_to", "script", "on_script_error", "fields": throw refused(p)
                    default: throw unknown(p)
                    }
                }
                fields.append(FieldDefinition(name: path, type: .boolean, source: path))
                names[path] = ElasticField(field: path, role: .boolean)
            case "date":
                for (p, x) in params {
                    switch p {
                    case "type": break
                    case "format":
                        let formats = (x.stringValue ?? "").split(separator: "|", omittingEmptySubsequences: true).map(String.init)
                        guard !formats.isEmpty, formats.allSatisfy({ ElasticMapping.dateFormats.contains($0) }) else {
                            throw ElasticError.mapper("date format [\(x.jsonText.prefix(60))] on field [\(path.prefix(80))] is not supported by Aisle (ISO 8601 dates and date-times, and epoch_millis, are)")
                        }
                    case "doc_values", "index", "store", "boost", "ignore_malformed", "locale":
                        ignored.append("\(path).\(p): no effect in Aisle")
                    case "null_value", "copy_to", "script", "on_script_error", "fields": throw refused(p)
                    default: throw unknown(p)
                    }
                }
                fields.append(FieldDefinition(name: path, type: .numeric, source: path, format: FieldDefinition.dateFormat))
                names[path] = ElasticField(field: path, role: .date)
            case _ where ElasticMapping.numericTypes[type] != nil:
                let (lo, hi) = ElasticMapping.numericTypes[type]!
                let limit = IndexLimits.maxNumericMagnitude
                for (p, _) in params {
                    switch p {
                    case "type": break
                    case "coerce", "scaling_factor", "ignore_malformed", "doc_values", "index", "store", "boost", "time_series_metric":
                        ignored.append("\(path).\(p): no effect in Aisle (numbers are kept as exact decimals)")
                    case "null_value", "copy_to", "script", "on_script_error", "fields": throw refused(p)
                    default: throw unknown(p)
                    }
                }
                fields.append(FieldDefinition(name: path, type: .numeric, source: path,
                                              min: lo.map { Swift.max($0, -limit) }, max: hi.map { Swift.min($0, limit) }))
                names[path] = ElasticField(field: path, role: .numeric)
            case _ where ElasticMapping.unsupportedTypes.contains(type):
                throw ElasticError.mapper("Aisle does not support field type [\(type)] (field [\(path.prefix(80))])")
            default:
                throw ElasticError.mapper("No handler for type [\(type.prefix(60))] declared on field [\(path.prefix(80))]")
            }
        }

        /// `fields` of a text or keyword field: the first plain `keyword` under a text field is
        /// the text field's own keyword side (`keyword: true`); any other becomes a field of its
        /// own, `parent.sub`, read from the parent's value.
        mutating func multiFields(_ v: JSONValue, parent: String, parentType: String) throws(ElasticError) {
            guard let members = v.objectValue else { throw ElasticError.mapper("fields of [\(parent.prefix(80))] must be an object") }
            for (sub, spec) in members {
                guard !sub.isEmpty, !sub.contains("."), !sub.hasPrefix("_") else {
                    throw ElasticError.mapper("multi-field name [\(sub.prefix(80))] of [\(parent.prefix(80))] is not allowed")
                }
                let name = parent + "." + sub
                guard let type = spec["type"]?.stringValue else { throw ElasticError.mapper("No type specified for field [\(name.prefix(80))]") }
                let plain = (spec.objectValue ?? []).allSatisfy { $0.0 == "type" || $0.0 == "ignore_above" }
                if parentType == "text" && type == "keyword" && plain, let i = fields.lastIndex(where: { $0.name == parent }), fields[i].keyword != true {
                    fields[i].keyword = true
                    names[name] = ElasticField(field: parent, role: .keyword)
                    if spec["ignore_above"] != nil { ignored.append("\(name).ignore_above: Aisle keeps every value (terms are capped at 255 bytes)") }
                    continue
                }
                guard ["text", "keyword"].contains(type) || ElasticMapping.numericTypes[type] != nil || type == "boolean" || type == "date" else {
                    if ElasticMapping.unsupportedTypes.contains(type) {
                        throw ElasticError.mapper("Aisle does not support field type [\(type)] (field [\(name.prefix(80))])")
                    }
                    throw ElasticError.mapper("No handler for type [\(type.prefix(60))] declared on field [\(name.prefix(80))]")
                }
                if spec["fields"] != nil { throw ElasticError.mapper("multi-field [\(name.prefix(80))] may not have fields of its own") }
                let before = fields.count
                try field(name, type: type, spec: spec)
                for i in before..<fields.count { fields[i].source = parent }
            }
        }
    }
}

