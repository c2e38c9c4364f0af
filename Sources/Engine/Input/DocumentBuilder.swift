import AisleAnalyzer
import AisleIndex

/// Turns one input record (a JSON line or a TSV row) into an `IndexDocument` following the schema:
/// text is analysed, keywords and numbers are extracted, stored values kept. One per thread.
public final class DocumentBuilder {
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    struct Compiled {
        var ordinal: Int
        var def: FieldDefinition
        var literalKey: String
        var path: [Step]
        var analyzer: (any TextAnalyzer)?
    }

    /// A vector field: the text of its sources (joined with ". ") is embedded by the index's
    /// writer; a single source holding an array of numbers is taken as the vector itself.
    struct VectorSource {
        var ordinal: Int
        var name: String
        var sources: [(literal: String, path: [Step])]
        var tsvColumns: [Int] = []
    }

    struct Pattern {
        var prefix: String            // "attributes."
        var path: [Step]              // path to the object
        var def: FieldDefinition
    }

    let writer: any FieldRegistry
    let format: CorpusFormat
    var fields: [Compiled] = []
    var patterns: [Pattern] = []
    var vectorFields: [VectorSource] = []
    var tsvColumns: [Int?] = []      // column -> index into `fields`
    var idField: Int = -1            // index into `fields`
    var instanceOrdinals: [String: Int] = [:]
    var tape = JSONTape()
    var scratch: [UInt8] = []
    var analyzers: [String: any TextAnalyzer] = [:]

    public init(writer: any FieldRegistry, format: CorpusFormat, header: [String] = []) throws {
        self.writer = writer
        self.format = format
        let schema = writer.schema
        for (i, f) in schema.fields.enumerated() {
            if f.isPattern {
                let src = f.source ?? f.name
                let prefix = String(f.name.dropLast(1))
                patterns.append(Pattern(prefix: prefix, path: try Self.parsePath(String(src.dropLast(2))), def: f))
                continue
            }
            if schema.pattern(matching: f.name) != nil { continue }   // an instance: handled by its pattern
            if f.type == .vector {
                vectorFields.append(VectorSource(ordinal: i, name: f.name,
                                                 sources: try f.vectorSources.map { ($0, try Self.parsePath($0)) }))
                continue
            }
            var analyzer: (any TextAnalyzer)?
            if f.type == .text {
                let name = f.analyzer ?? "english"
                if let a = analyzers[name] {
                    analyzer = a
                } else {
                    do { analyzer = try Analyzers.named(name) } catch {
                        throw EngineError.input("field \(f.name): \(error)")
                    }
                    analyzers[name] = analyzer
                }
            }
            let src = f.source ?? f.name
            fields.append(Compiled(ordinal: i, def: f, literalKey: src, path: try Self.parsePath(src), analyzer: analyzer))
            if f.name == schema.idField { idField = fields.count - 1 }
        }
        guard idField >= 0 else { throw EngineError.input("schema has no id field \(schema.idField)") }
        if format == .tsv {
            tsvColumns = header.map { h in fields.firstIndex { $0.def.name == h } }
            for i in vectorFields.indices {
                vectorFields[i].tsvColumns = try vectorFields[i].sources.map { s in
                    guard let c = header.firstIndex(of: s.literal) else {
                        throw EngineError.input("vector field \(vectorFields[i].name): the TSV has no column \(s.literal)")
                    }
                    return c
                }
            }
            guard tsvColumns.first == idField else {
                throw EngineError.input("the TSV's first column (\(header.first ?? "")) must be the schema's id field (\(schema.idField))")
            }
        }
    }

    /// The name of the schema's id field.
    public var idFieldName: String { fields[idField].def.name }

    static func parsePath(_ s: String) throws -> [Step] {
        var out: [Step] = []
        for part in s.split(separator: ".", omittingEmptySubsequences: false) {
            var p = Substring(part)
            var indexes: [Int] = []
            while p.hasSuffix("]"), let open = p.lastIndex(of: "[") {
                guard let n = Int(p[p.index(after: open)..<p.index(before: p.endIndex)]), n >= 0 else {
                    throw EngineError.input("bad source path \(s)")
                }
                indexes.insert(n, at: 0)
                p = p[..<open]
            }
            guard !p.isEmpty else { throw EngineError.input("bad source path \(s)") }
            out.append(.key(String(p)))
            out += indexes.map { .index($0) }
        }
        return out
    }

    func resolve<S: DocumentSource>(_ src: S, _ path: [Step], literal: String) -> S.Value? {
        if let v = src.member(src.rootNode, literal) { return v }
        guard path.count > 1 else { return nil }
        var node = src.rootNode
        for step in path {
            switch step {
            case .key(let k):
                guard let v = src.member(node, k) else { return nil }
                node = v
            case .index(let i):
                let els = src.elements(node)
                guard i < els.count else { return nil }
                node = els[i]
            }
        }
        return node
    }

    /// Builds the document of one JSON line. `id`: the document's id when the record has none (a
    /// record that has one must agree with it).
    public func build(json line: UnsafeBufferPointer<UInt8>, into doc: inout IndexDocument, id: String? = nil) throws {
        do { try tape.parse(line) } catch { throw EngineError.input(error.description) }
        guard tape.kind(tape.root) == .object else {
            doc.reset()
            throw EngineError.input("a record must be a JSON object")
        }
        try build(from: tape, into: &doc, id: id)
    }

    /// Builds the document of a typed record (by the same rules as a JSON line).
    public func build(record: Record, into doc: inout IndexDocument, id: String? = nil) throws {
        try build(from: RecordSource(record: record), into: &doc, id: id)
    }

    func build<S: DocumentSource>(from src: S, into doc: inout IndexDocument, id: String?) throws {
        doc.reset()
        for f in fields {
            guard let node = resolve(src, f.path, literal: f.literalKey) else { continue }
            try add(src, node: node, field: f, doc: &doc)
        }
        if let id {
            if doc.id.isEmpty {
                doc.id = id
                doc.addStored(field: fields[idField].ordinal, value: .string(id))
            } else if doc.id != id {
                throw EngineError.input("the body's \(fields[idField].def.name) \"\(doc.id.prefix(60))\" differs from the product id \"\(id.prefix(60))\"")
            }
        }
        if doc.id.isEmpty { throw EngineError.input("missing id (field \"\(fields[idField].def.name)\")") }
        for v in vectorFields { try addVector(src, field: v, doc: &doc) }
        for p in patterns {
            guard let obj = resolve(src, p.path, literal: String(p.prefix.dropLast())) else { continue }
            guard src.kind(obj) == .object else {
                if src.kind(obj) == .null { continue }
                throw EngineError.input("field \(p.prefix)*: expected an object")
            }
            let members = src.members(obj)
            // New keys are registered together: all of them or, past the index's limit, none.
            let unknown = members.map { p.prefix + $0.0 }.filter { instanceOrdinals[$0] == nil }
            if !unknown.isEmpty {
                for (name, o) in zip(unknown, try writer.fieldOrdinals(unknown)) { if let o { instanceOrdinals[name] = o } }
            }
            for (k, v) in members {
                let name = p.prefix + k
                guard let ordinal = instanceOrdinals[name] else { continue }
                var def = p.def
                def.name = name
                try add(src, node: v, field: Compiled(ordinal: ordinal, def: def, literalKey: name, path: [], analyzer: nil), doc: &doc)
            }
        }
    }

    /// Builds the document of one TSV row.
    public func build(tsv line: UnsafeBufferPointer<UInt8>, into doc: inout IndexDocument) throws {
        doc.reset()
        var cols: [UnsafeBufferPointer<UInt8>] = []
        var s = 0
        for i in 0...line.count {
            if i == line.count || line[i] == 0x09 {
                cols.append(UnsafeBufferPointer(rebasing: line[s..<i]))
                s = i + 1
            }
        }
        guard cols.count == tsvColumns.count else {
            throw EngineError.input("expected \(tsvColumns.count) tab-separated columns, found \(cols.count)")
        }
        for (c, col) in cols.enumerated() {
            guard let fi = tsvColumns[c] else { continue }
            let f = fields[fi]
            if fi == idField {
                doc.id = String(decoding: col, as: UTF8.self).trimmingSpaces()
                if doc.id.isEmpty { throw EngineError.input("empty id in the first column") }
                doc.addStored(field: f.ordinal, value: .string(doc.id))
                continue
            }
            try addText(col, field: f, position: 0, doc: &doc)
            if f.def.isKeywordIndexed { doc.addKeyword(field: f.ordinal, value: String(decoding: col, as: UTF8.self)) }
            if f.def.isStored { doc.addStored(field: f.ordinal, value: .string(String(decoding: col, as: UTF8.self))) }
        }
        for v in vectorFields {
            let text = v.tsvColumns.map { String(decoding: cols[$0], as: UTF8.self).trimmingSpaces() }.filter { !$0.isEmpty }
                .joined(separator: ". ")
            if !text.isEmpty { doc.addVectorText(field: v.ordinal, text: text) }
        }
    }

    /// For analyzers that normalise measurements: the unit terms that, like numbers, do not count
    /// toward a field's length (nil: every token counts).
    static func uncountedTerms(_ a: any TextAnalyzer) -> Set<[UInt8]>? {
        guard let m = a as? MeasurementAnalyzer else { return nil }
        return m.unitTerms
    }

    @discardableResult
    private func addText(_ bytes: UnsafeBufferPointer<UInt8>, field f: Compiled, position: Int32, doc: inout IndexDocument) throws -> Int32 {
        guard let a = f.analyzer else { return position }
        let ord = f.ordinal
        guard let uncounted = Self.uncountedTerms(a) else {
            return a.analyze(utf8: bytes, firstPosition: position) { term, pos, _, _ in
                doc.addToken(field: ord, term: term, position: pos)
            }
        }
        var discount = 0
        let end = a.analyze(utf8: bytes, firstPosition: position) { term, pos, _, _ in
            doc.addToken(field: ord, term: term, position: pos)
            if let c = term.first, (c >= 0x30 && c <= 0x39) || uncounted.contains(Array(term)) { discount += 1 }
        }
        doc.discountLength(field: ord, by: discount)
        return end
    }

    /// A vector field's text (or its given vector).
    private func addVector<S: DocumentSource>(_ src: S, field v: VectorSource, doc: inout IndexDocument) throws {
        var parts: [String] = []
        for (literal, path) in v.sources {
            guard let node = resolve(src, path, literal: literal) else { continue }
            let kind = src.kind(node)
            switch kind {
            case .null: continue
            case .string: parts.append(src.string(node))
            case .number, .bool: parts.append(src.scalarText(node))
            case .array:
                let els = src.elements(node)
                if v.sources.count == 1, !els.isEmpty, els.allSatisfy({ src.kind($0) == .number }) {
                    doc.addVector(field: v.ordinal, values: els.map { Float(src.number($0)) })
                    return
                }
                for e in els {
                    switch src.kind(e) {
                    case .string: parts.append(src.string(e))
                    case .number, .bool: parts.append(src.scalarText(e))
                    case .null: continue
                    default: throw EngineError.input("field \(v.name): source \(literal) holds \(describe(src.kind(e))) in its array; expected text or numbers")
                    }
                }
            default:
                throw EngineError.input("field \(v.name): source \(literal) is \(describe(kind)); expected text, or an array of numbers (the vector itself)")
            }
        }
        let text = parts.map { $0.trimmingSpaces() }.filter { !$0.isEmpty }.joined(separator: ". ")
        if !text.isEmpty { doc.addVectorText(field: v.ordinal, text: text) }
    }

    private func add<S: DocumentSource>(_ src: S, node: S.Value, field f: Compiled, doc: inout IndexDocument) throws {
        let kind = src.kind(node)
        if kind == .null { return }
        let name = f.def.name
        if f.ordinal == fields[idField].ordinal && f.path.count > 0 {
            switch kind {
            case .string: doc.id = src.string(node)
            case .number: doc.id = src.scalarText(node)
            default: throw EngineError.input("field \(name): the id must be a string or a number, found \(describe(kind))")
            }
            if doc.id.isEmpty { throw EngineError.input("field \(name): empty id") }
            doc.addStored(field: f.ordinal, value: .string(doc.id))   // the id term is added by the index
            return
        }
        let values: [S.Value] = kind == .array ? src.elements(node) : [node]
        switch f.def.type {
        case .text:
            var pos: Int32 = 0
            var storedValues: [StoredValue] = []
            for v in values {
                let k = src.kind(v)
                switch k {
                case .null: continue
                case .string:
                    let next = try src.withStringBytes(v, scratch: &scratch) { try addText($0, field: f, position: pos, doc: &doc) }
                    if f.def.isKeywordIndexed || f.def.isStored {
                        let s = src.string(v)
                        if f.def.isKeywordIndexed { doc.addKeyword(field: f.ordinal, value: s) }
                        if f.def.isStored { storedValues.append(.string(s)) }
                    }
                    pos = next.addingReportingOverflow(IndexLimits.valuePositionGap).overflow ? .max : next + IndexLimits.valuePositionGap
                case .number, .bool:
                    let s = src.scalarText(v)
                    let next = try s.utf8.withContiguousStorageIfAvailable { try addText($0, field: f, position: pos, doc: &doc) } ?? pos
                    if f.def.isKeywordIndexed { doc.addKeyword(field: f.ordinal, value: s) }
                    if f.def.isStored { storedValues.append(.string(s)) }
                    pos = next.addingReportingOverflow(IndexLimits.valuePositionGap).overflow ? .max : next + IndexLimits.valuePositionGap
                default:
                    throw EngineError.input("field \(name): expected text, found \(describe(k))")
                }
            }
            if f.def.isStored && !storedValues.isEmpty {
                doc.addStored(field: f.ordinal, value: kind == .array ? .list(storedValues) : storedValues[0])
            }
        case .keyword:
            var storedValues: [StoredValue] = []
            for v in values {
                let k = src.kind(v)
                let s: String
                switch k {
                case .null: continue
                case .string: s = src.string(v)
                case .number, .bool: s = src.scalarText(v)
                default: throw EngineError.input("field \(name): expected a keyword value, found \(describe(k))")
                }
                doc.addKeyword(field: f.ordinal, value: s)
                if f.def.isStored { storedValues.append(.string(s)) }
            }
            if f.def.isStored && !storedValues.isEmpty {
                doc.addStored(field: f.ordinal, value: kind == .array ? .list(storedValues) : storedValues[0])
            }
        case .numeric:
            var storedValues: [StoredValue] = []
            for v in values {
                let k = src.kind(v)
                let d: Double
                switch k {
                case .null: continue
                case .number: d = src.number(v)
                case .string where f.def.isDate:
                    let text = src.string(v)
                    guard let ms = DateValue.epochMilliseconds(text) ?? Double(text.trimmingSpaces()).flatMap({ $0.isFinite ? $0 : nil }) else {
                        throw EngineError.input("field \(name): expected a date (yyyy-MM-dd or an ISO 8601 date-time) or epoch milliseconds, found \"\(text.prefix(40))\"")
                    }
                    d = ms
                case .string:
                    guard let x = Double(src.string(v).trimmingSpaces()), x.isFinite else {
                        throw EngineError.input("field \(name): expected a number, found \"\(src.string(v).prefix(40))\"")
                    }
                    d = x
                default: throw EngineError.input("field \(name): expected a number, found \(describe(k))")
                }
                if let problem = f.def.numberProblem(d) { throw EngineError.input(problem) }
                doc.addNumber(field: f.ordinal, value: d)
                if f.def.isStored { storedValues.append(d == d.rounded() && abs(d) < 1e15 ? .int(Int64(d)) : .double(d)) }
            }
            if f.def.isStored && !storedValues.isEmpty {
                doc.addStored(field: f.ordinal, value: kind == .array ? .list(storedValues) : storedValues[0])
            }
        case .boolean:
            for v in values {
                let k = src.kind(v)
                let b: Bool
                switch k {
                case .null: continue
                case .bool: b = src.bool(v)
                case .string where ["true", "false"].contains(src.string(v)): b = src.string(v) == "true"
                default: throw EngineError.input("field \(name): expected true or false, found \(describe(k))")
                }
                doc.addNumber(field: f.ordinal, value: b ? 1 : 0)
                if f.def.isStored { doc.addStored(field: f.ordinal, value: .bool(b)) }
            }
        case .vector:
            break   // handled by addVector
        case .stored:
            // Kept as given: a scalar as its value, an array of scalars as a list, anything
            // holding an object as its JSON text. Nothing is indexed.
            func scalar(_ v: S.Value) -> StoredValue? {
                switch src.kind(v) {
                case .string: return .string(src.string(v))
                case .bool: return .bool(src.bool(v))
                case .number:
                    let d = src.number(v)
                    return d == d.rounded() && abs(d) < 1e15 ? .int(Int64(d)) : .double(d)
                default: return nil
                }
            }
            if kind == .object || (kind == .array && values.contains { src.kind($0) == .object || src.kind($0) == .array }) {
                var w = JSONWriter(capacity: 256)
                Self.writeJSON(src, node, into: &w)
                doc.addStored(field: f.ordinal, value: .string(w.text))
            } else if kind == .array {
                let list = values.compactMap(scalar)
                if !list.isEmpty { doc.addStored(field: f.ordinal, value: .list(list)) }
            } else if let v = scalar(node) {
                doc.addStored(field: f.ordinal, value: v)
            }
        }
    }

    /// A document source's value as JSON text (numbers as they were written).
    static func writeJSON<S: DocumentSource>(_ src: S, _ n: S.Value, into w: inout JSONWriter) {
        switch src.kind(n) {
        case .null: w.raw("null")
        case .bool: w.bool(src.bool(n))
        case .number: w.raw(src.scalarText(n))
        case .string: w.string(src.string(n))
        case .array:
            w.raw("[")
            for (i, e) in src.elements(n).enumerated() {
                if i > 0 { w.raw(",") }
                writeJSON(src, e, into: &w)
            }
            w.raw("]")
        case .object:
            w.raw("{")
            for (i, (k, v)) in src.members(n).enumerated() {
                if i > 0 { w.raw(",") }
                w.key(k)
                writeJSON(src, v, into: &w)
            }
            w.raw("}")
        }
    }

    private func describe(_ k: JSONTape.Kind) -> String {
        switch k {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
