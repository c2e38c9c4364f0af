import ArgumentParser
import Foundation
import AisleEngine
import AisleIndex

struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Apply a file of changes (JSON lines: upsert, delete, set) to an index and commit.",
        discussion: """
        Each line is one change:
          {"op": "upsert", "id": "P1", "title": "...", "price": 12.5, ...}   add or replace a product
          {"op": "delete", "id": "P1"}                                        delete a product
          {"op": "set", "id": "P1", "price": 12.5, "in_stock": false}         numbers and booleans in place
        Bad lines are reported with their line numbers and the good ones applied (--atomic: any bad
        line rejects the whole file). The changes are committed at the end (and every
        --commit-every lines); the commit records how many lines were applied.
        """
    )

    @Option(help: "The index directory.") var index: String
    @Option(help: "The change file (JSON lines).") var changes: String
    @Flag(help: "Reject the whole file if any line is bad (nothing is applied).") var atomic = false
    @Option(help: "Commit every N lines (0: only at the end).") var commitEvery: Int = 0
    @Flag(help: "No progress bar.") var quiet = false

    func run() throws {
        do {
            let t0 = Date()
            let live = try LiveIndex(opening: index)
            defer { live.close() }
            let updater = try IndexUpdater(index: live)
            let file = try MappedFile(path: changes)
            let bytes = file.bytes
            let data = UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            let bar = ProgressBar(label: "updating", total: data.count, unit: "changes", enabled: quiet ? false : nil)
            var report = ChangeReport()
            if atomic || commitEvery <= 0 {
                var last = 0
                report = try updater.apply(lines: data, atomic: atomic) { end in
                    bar.advance(by: end - last, items: 1)
                    last = end
                }
                if !report.rejected && report.stoppedAtLine == nil {
                    try live.commit(userData: ["changes_file": changes, "changes_lines": String(report.lines)])
                }
            } else {
                // In chunks of whole lines, committing after each.
                var start = 0
                var lineNo = 1
                var lines = 0
                while start < data.count {
                    var end = start
                    var n = 0
                    while end < data.count && n < commitEvery {
                        if data[end] == 0x0A { n += 1 }
                        end += 1
                    }
                    let chunk = UnsafeBufferPointer(rebasing: data[start..<end])
                    let r = try updater.apply(lines: chunk, atomic: false, firstLine: lineNo)
                    report.upserts += r.upserts
                    report.deletes += r.deletes
                    report.sets += r.sets
                    report.notFound += r.notFound
                    report.errors += r.errors
                    report.lines += r.lines
                    if let stop = r.stoppedAtLine {
                        report.stoppedAtLine = stop
                        report.notAttempted = r.notAttempted
                        var rest = end
                        while rest < data.count { if data[rest] == 0x0A { report.notAttempted += 1 }; rest += 1 }
                        break
                    }
                    lines += n
                    lineNo += n
                    try live.commit(userData: ["changes_file": changes, "changes_lines": String(lines + (end == data.count && data.last != 0x0A ? 1 : 0))])
                    bar.advance(by: end - start, items: r.lines)
                    start = end
                }
            }
            bar.finish()
            if let stop = report.stoppedAtLine {
                // The index could not write: say exactly what was applied, and keep it if the disk allows.
                let message = report.errors.last?.message ?? "write failed"
                let kept = (try? live.commit(userData: ["changes_file": changes, "changes_lines": String(stop - 1)])) != nil
                stderr("stopped at line \(stop): \(message)")
                stderr("lines before \(stop) were applied (\(formatCount(report.applied)) changes, \(kept ? "committed" : "NOT committed: the commit failed too")); line \(stop) and \(formatCount(report.notAttempted)) later line\(report.notAttempted == 1 ? "" : "s") were not")
                throw ExitCode(1)
            }
            live.waitForMerges()
            let secs = Date().timeIntervalSince(t0)
            if report.rejected {
                stderr("rejected: \(report.errors.count) bad line\(report.errors.count == 1 ? "" : "s"), nothing applied (--atomic)")
            } else {
                let rate = formatCount(Int(Double(report.applied) / max(secs, 0.001)))
                stderr("applied \(formatCount(report.applied)) changes (\(formatCount(report.upserts)) upserts, \(formatCount(report.deletes)) deletes, \(formatCount(report.sets)) sets) in \(String(format: "%.1f", secs)) s (\(rate)/s); committed generation \(live.committedGeneration), \(live.segmentCount) segments")
            }
            if !report.notFound.isEmpty {
                stderr("\(report.notFound.count) change\(report.notFound.count == 1 ? "" : "s") named no live product:")
                for n in report.notFound.prefix(10) { stderr("  line \(n.line): \(n.id)") }
            }
            if !report.errors.isEmpty {
                stderr("\(report.errors.count) bad line\(report.errors.count == 1 ? "" : "s")\(report.rejected ? "" : " skipped"):")
                for e in report.errors.prefix(20) { stderr("  line \(e.line): \(e.message)") }
                if report.errors.count > 20 { stderr("  ...") }
                throw ExitCode(2)
            }
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(describe(error))
        }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify every file's checksum and the index's invariants (exit status 1 when damaged)."
    )
    @Option(help: "The index directory.") var index: String
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        let t0 = Date()
        let r: IndexCheck.Report
        do {
            r = try IndexCheck.run(directory: index)
        } catch {
            throw fail(describe(error))
        }
        let secs = Date().timeIntervalSince(t0)
        if json {
            var w = JSONWriter(capacity: 1024)
            w.value(.object([("ok", .bool(r.ok)), ("commit", .number(Double(r.generation))), ("segments", .number(Double(r.segments))),
                             ("documents", .number(Double(r.documents))), ("deleted", .number(Double(r.deleted))),
                             ("files", .number(Double(r.files))), ("bytes", .number(Double(r.bytes))),
                             ("terms", .number(Double(r.terms))), ("postings", .number(Double(r.postings))),
                             ("problems", .array(r.problems.map { .string($0) })),
                             ("unreferenced", .array(r.unreferenced.map { .string($0) })),
                             ("user_data", .object(r.userData.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))]))
            print(String(decoding: w.bytes, as: UTF8.self))
        } else {
            print("commit \(r.generation): \(r.segments) segments, \(formatCount(r.documents)) documents (\(formatCount(r.deleted)) deleted), \(r.files) files, \(formatBytes(r.bytes)), \(formatCount(r.terms)) terms, \(formatCount(r.postings)) postings checked in \(String(format: "%.1f", secs)) s")
            if !r.unreferenced.isEmpty {
                print("\(r.unreferenced.count) unreferenced file\(r.unreferenced.count == 1 ? "" : "s") (left by interrupted work; the next writer removes them)")
            }
            if r.ok { print("ok") } else {
                for p in r.problems { print("problem: \(p)") }
            }
        }
        if !r.ok { throw ExitCode(1) }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every live document as a JSON line: its id, stored fields and doc values."
    )
    @Option(help: "The index directory.") var index: String
    @Option(help: "Only these fields (comma-separated).") var fields: String?

    func run() throws {
        do {
            let s = try Searcher.open(directory: index)
            let service = try SearchService(searcher: s)
            let wanted: Set<String> = fields.map { Set($0.split(separator: ",").map(String.init)) } ?? ["*"]
            var w = JSONWriter(capacity: 1 << 16)
            let out = FileHandle.standardOutput
            for (si, seg) in s.segments.enumerated() {
                for d in 0..<seg.docCount where seg.isLive(d) {
                    let doc = s.bases[si] + d
                    var obj: [(String, JSONValue)] = [("id", .string(try s.id(of: doc)))]
                    for (n, v) in try service.displayFields(doc: doc, wanted: wanted, in: s) where n != s.schema.idField {
                        obj.append((n, v.json))
                    }
                    w.value(.object(obj))
                    w.raw("\n")
                    if w.bytes.count > 1 << 16 {
                        out.write(Data(w.bytes))
                        w.bytes.removeAll(keepingCapacity: true)
                    }
                }
            }
            out.write(Data(w.bytes))
        } catch {
            throw fail(describe(error))
        }
    }
}
