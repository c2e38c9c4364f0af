import Foundation
import Synchronization
import AisleIndex

/// One change to a live index.
public enum Change: Sendable {
    /// Add a product, replacing any live product with the same id.
    case upsert(IndexDocument)
    /// Delete a product by id.
    case delete(id: String)
    /// Set numeric and boolean values of a product in place (nil removes a value).
    case set(id: String, values: [(field: Int, value: Double?)])

    public var id: String {
        switch self {
        case .upsert(let d): return d.id
        case .delete(let id), .set(let id, _): return id
        }
    }
}

/// A change as typed values, from producers inside the process (the catalog follower): no JSON.
public enum RecordChange: Sendable {
    /// Add a product, replacing any live product with the same id.
    case upsert(Record)
    /// Set numeric and boolean fields in place, by name (`.null` removes a value).
    case set(id: String, values: [(name: String, value: FieldValue)])
    case delete(id: String)
}

/// What a batch of change lines did.
public struct ChangeReport: Sendable {
    public var upserts = 0
    public var deletes = 0
    public var sets = 0
    /// Deletes and sets of ids that have no live product: (line, id).
    public var notFound: [(line: Int, id: String)] = []
    /// The line at which the batch stopped because the index could not write (a full disk, a
    /// closed writer); that line is in `errors`, nothing after it was attempted, and every line
    /// before it that is not in `errors` or `notFound` was applied.
    public var stoppedAtLine: Int?
    /// Non-blank lines after `stoppedAtLine`, not attempted.
    public var notAttempted = 0
    /// Lines that could not be parsed or applied: (line, message). Nothing of them was applied.
    public var errors: [(line: Int, message: String)] = []
    /// With `atomic`, a batch with any bad line is rejected whole.
    public var rejected = false
    public var lines = 0

    public var applied: Int { upserts + deletes + sets }

    public init() {}

    public var json: JSONValue {
        .object([("applied", .number(Double(applied))), ("upserts", .number(Double(upserts))),
                 ("deletes", .number(Double(deletes))), ("sets", .number(Double(sets))),
                 ("rejected", .bool(rejected))] + (stoppedAtLine.map { [("stopped_at_line", JSONValue.number(Double($0))),
                                                                    ("not_attempted", .number(Double(notAttempted)))] } ?? []) + [
                 ("not_found", .array(notFound.prefix(1000).map { .object([("line", .number(Double($0.line))), ("id", .string($0.id))]) })),
                 ("errors", .array(errors.prefix(1000).map { .object([("line", .number(Double($0.line))), ("error", .string($0.message))]) }))])
    }
}

/// Turns change lines (`{"op": "upsert", …product}`, `{"op": "delete", "id": …}`,
/// `{"op": "set", "id": …, "price": 12.5, "in_stock": false}`) into changes of a live index.
/// Thread-safe (one change is parsed and applied at a time).
public final class IndexUpdater: @unchecked Sendable {
    public let index: LiveIndex
    private let builder: DocumentBuilder
    private let lock = NSLock()
    private var tape = JSONTape()
    private var doc = IndexDocument()

    public init(index: LiveIndex) throws {
        self.index = index
        let format: CorpusFormat = index.schema.format == "tsv" ? .jsonl : (index.schema.format == "catalog" ? .catalog : .jsonl)
        builder = try DocumentBuilder(writer: index, format: format)
    }

    /// Parses one change line (without applying it).
    public func parse(_ line: UnsafeBufferPointer<UInt8>) throws -> Change {
        lock.lock()
        defer { lock.unlock() }
        return try parseLocked(line)
    }

    private func parseLocked(_ line: UnsafeBufferPointer<UInt8>) throws -> Change {
        do { try tape.parse(line) } catch { throw EngineError.input(error.description) }
        let root = tape.root
        guard tape.kind(root) == .object else { throw EngineError.input("a change must be a JSON object") }
        guard let opNode = tape.member(root, "op") else {
            throw EngineError.input("missing \"op\" (upsert, delete or set)")
        }
        guard tape.kind(opNode) == .string else { throw EngineError.input("\"op\" must be a string (upsert, delete or set)") }
        let op = tape.string(opNode)
        switch op {
        case "upsert", "index", "put":
            try builder.build(json: line, into: &doc)
            return .upsert(doc)
        case "set", "patch":
            let id = try id(root)
            return .set(id: id, values: try setValues(root))
        case "delete":
            return .delete(id: try id(root))
        default:
            throw EngineError.input("unknown op \"\(op.prefix(40))\" (upsert, delete or set)")
        }
    }

    /// The fields an object sets in place (`op`, `id` and the id field are skipped).
    private func setValues(_ root: Int) throws -> [(field: Int, value: Double?)] {
        try setValues(tape, tape.members(root))
    }

    /// The fields `members` set in place, checked (`op`, `id` and the id field are skipped).
    private func setValues<S: DocumentSource>(_ src: S, _ members: [(String, S.Value)]) throws -> [(field: Int, value: Double?)] {
        var values: [(field: Int, value: Double?)] = []
        var problems: [String] = []
        let schema = index.schema
        let layout = index.layout
        let idKey = schema.idField
        for (name, v) in members where name != "op" && name != "id" && name != idKey {
            do { values.append(try Self.value(field: name, node: v, source: src, schema: schema, layout: layout)) } catch {
                problems.append("\(error)")
            }
        }
        if let p = problems.first { throw EngineError.input(p) }
        guard !values.isEmpty else { throw EngineError.input("a set change names no field to set (e.g. \"price\": 12.5)") }
        return values
    }

    /// A product whose JSON object is `body` (no `op`), its id given apart (a PUT's path): parsed
    /// once and applied.
    public func upsert(id: String, body: UnsafeBufferPointer<UInt8>) throws {
        lock.lock()
        defer { lock.unlock() }
        try builder.build(json: body, into: &doc, id: id)
        try index.upsert(doc)
    }

    /// The numeric and boolean fields of the JSON object `body` set in place on product `id` (a
    /// PATCH): parsed once and applied; false when there is no such product.
    public func set(id: String, body: UnsafeBufferPointer<UInt8>) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        do { try tape.parse(body) } catch { throw EngineError.input(error.description) }
        guard tape.kind(tape.root) == .object else {
            throw EngineError.input("the body must be a JSON object of fields to set, e.g. {\"price\": 12.5}")
        }
        return try index.setValues(id: id, try setValues(tape.root))
    }

    private func id(_ root: Int) throws -> String {
        let key = tape.member(root, "id") ?? tape.member(root, index.schema.idField)
        guard let n = key else { throw EngineError.input("missing \"id\"") }
        switch tape.kind(n) {
        case .string:
            let s = tape.string(n)
            guard !s.isEmpty, s.utf8.count <= IndexLimits.maxIdBytes else { throw EngineError.input("\"id\" must be a non-empty string of at most \(IndexLimits.maxIdBytes) bytes") }
            return s
        case .number:
            guard tape.rawBytes(n).count <= IndexLimits.maxIdBytes else { throw EngineError.input("\"id\" is longer than \(IndexLimits.maxIdBytes) bytes") }
            return String(decoding: tape.rawBytes(n), as: UTF8.self)
        default:
            throw EngineError.input("\"id\" must be a string")
        }
    }

    /// A field to set in place: numeric or boolean with doc values.
    static func value<S: DocumentSource>(field name: String, node: S.Value, source tape: S, schema: Schema, layout: SchemaLayout) throws -> (field: Int, value: Double?) {
        guard let f = schema.ordinal(of: name) else {
            let settable = schema.fields.enumerated().filter { layout.numericColumns.contains($0.offset) }.map { $0.element.name }
            throw EngineError.input("unknown field \"\(name.prefix(60))\" (fields that can be set in place: \(settable.joined(separator: ", ")))")
        }
        let def = schema.fields[f]
        guard (def.type == .numeric || def.type == .boolean), layout.numericColumns.contains(f) else {
            throw EngineError.input("field \(name) is \(def.type.rawValue); only numeric and boolean fields can be set in place (send an upsert to change it)")
        }
        switch tape.kind(node) {
        case .null:
            return (f, nil)
        case .bool where def.type == .boolean:
            return (f, tape.bool(node) ? 1 : 0)
        case .number where def.type == .numeric:
            let v = tape.number(node)
            if let problem = def.numberProblem(v) { throw EngineError.input(problem) }
            return (f, v)
        default:
            throw EngineError.input("field \(name) takes \(def.type == .boolean ? "true or false" : "a number")")
        }
    }

    /// Applies one typed change (a record to upsert, values to set by field name, an id to
    /// delete), checked by the same rules as a change line; false when a delete or set names no
    /// live product.
    @discardableResult
    public func apply(_ change: RecordChange) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        switch change {
        case .upsert(let record):
            try builder.build(record: record, into: &doc)
            try index.upsert(doc)
            return true
        case .set(let id, let values):
            let src = RecordSource(record: Record(values))
            let checked = try setValues(src, values.map { ($0.name, $0.value) })
            return try index.setValues(id: id, checked)
        case .delete(let id):
            return try index.delete(id: id)
        }
    }

    /// Applies one change; false when a delete or set names no live product.
    @discardableResult
    public func apply(_ c: Change) throws -> Bool {
        switch c {
        case .upsert(let d):
            try index.upsert(d)
            return true
        case .delete(let id):
            return try index.delete(id: id)
        case .set(let id, let values):
            return try index.setValues(id: id, values)
        }
    }

    /// Parses and applies one change line.
    @discardableResult
    public func apply(line: UnsafeBufferPointer<UInt8>) throws -> (Change, Bool) {
        lock.lock()
        defer { lock.unlock() }
        let c = try parseLocked(line)
        return (c, try apply(c))
    }

    /// Applies newline-separated change lines. Bad lines are reported with their numbers (from
    /// `firstLine`) and skipped; with `atomic`, any bad line rejects the whole batch (nothing is
    /// applied). Blank lines are ignored.
    public func apply(lines data: UnsafeBufferPointer<UInt8>, atomic: Bool, firstLine: Int = 1,
                      onLine: ((Int) -> Void)? = nil) throws -> ChangeReport {
        var report = ChangeReport()
        var parsed: [(line: Int, change: Change)] = []
        var lineNo = firstLine - 1
        var start = 0
        func record(_ c: Change, _ found: Bool, _ line: Int) {
            switch c {
            case .upsert: report.upserts += 1
            case .delete(let id): if found { report.deletes += 1 } else { report.notFound.append((line, id)) }
            case .set(let id, _): if found { report.sets += 1 } else { report.notFound.append((line, id)) }
            }
        }
        var i = 0
        while i <= data.count {
            if i == data.count || data[i] == 0x0A {
                let end = i > start && data[i - 1] == 0x0D ? i - 1 : i
                lineNo += 1
                let line = UnsafeBufferPointer(rebasing: data[start..<end])
                start = i + 1
                if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) && !(i == data.count && line.isEmpty) {
                    report.lines += 1
                    if report.stoppedAtLine != nil {
                        report.notAttempted += 1
                    } else {
                        do {
                            if atomic {
                                parsed.append((lineNo, try parse(line)))
                            } else {
                                let (c, found) = try apply(line: line)
                                record(c, found, lineNo)
                            }
                        } catch let e as IndexError where Self.stopsBatch(e) {
                            // The index cannot write: this line failed (nothing of it applied) and the
                            // rest is not attempted; the report says exactly what was applied.
                            report.errors.append((lineNo, e.description))
                            report.stoppedAtLine = lineNo
                        } catch let e as IndexError {
                            report.errors.append((lineNo, e.description))
                        } catch {
                            report.errors.append((lineNo, (error as? EngineError)?.description ?? "\(error)"))
                        }
                    }
                    onLine?(i)
                }
            }
            i += 1
        }
        if atomic {
            if !report.errors.isEmpty {
                report.rejected = true
                return report
            }
            // All or nothing: the buffer is written out first (an I/O error there changes nothing),
            // then the batch is applied without touching the disk.
            do {
                try index.withoutFlushes {
                    for (line, c) in parsed { record(c, try apply(c), line) }
                }
            } catch let e as IndexError where Self.stopsBatch(e) && report.applied == 0 {
                report.errors.append((parsed.first?.line ?? firstLine, e.description))
                report.stoppedAtLine = parsed.first?.line ?? firstLine
                report.notAttempted = max(0, parsed.count - 1)
                report.rejected = true
            }
        }
        return report
    }

    /// Errors after which a batch stops: the index cannot write.
    static func stopsBatch(_ e: IndexError) -> Bool {
        switch e {
        case .io, .closed: return true
        default: return false
        }
    }
}
