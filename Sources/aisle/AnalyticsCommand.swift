import ArgumentParser
import Foundation
import Synchronization
import AisleCatalog
import AisleCommerce
import AisleEngine
import AisleIndex
import AisleServer

struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Search analytics from the commerce database: reports (top queries, zero-result queries, the funnel) and bulk loads.",
        subcommands: [AnalyticsReportCommand.self, AnalyticsLoadCommand.self]
    )
}

struct AnalyticsReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Top queries (click-through, mean click position, conversion), zero-result queries and the funnel by day and device.",
        discussion: "Reads the daily rollups (never the events), so a report over months stays fast. --html FILE also writes a page with its charts drawn in the file itself (inline SVG, nothing fetched)."
    )

    @Option(help: "First day, yyyy-mm-dd (UTC; default: 29 days before --to).") var from: String?
    @Option(help: "Last day, yyyy-mm-dd, included (default: today, UTC).") var to: String?
    @Option(help: "Queries listed (1 to 1000).") var limit = 20
    @Option(help: "Also write an HTML report with charts to this file.") var html: String?
    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?

    func run() throws {
        guard (1...AnalyticsReports.maxLimit).contains(limit) else { throw fail("--limit must be from 1 to \(AnalyticsReports.maxLimit)") }
        let now = Date()
        let to = self.to ?? AnalyticsStore.day(now)
        let from = self.from ?? AnalyticsStore.day((AnalyticsReports.date(to) ?? now).addingTimeInterval(-29 * 86_400))
        let reports: AnalyticsReports
        let top: [AnalyticsReports.QueryRow], zero: [AnalyticsReports.QueryRow], funnel: [AnalyticsReports.FunnelRow]
        let daily: [(day: String, searches: Int, zeroResults: Int)]
        do {
            try AnalyticsReports.checkRange(from: from, to: to)
            reports = AnalyticsReports(url: try commerceDatabase(database))
            top = try reports.topQueries(from: from, to: to, limit: limit)
            zero = try reports.zeroResultQueries(from: from, to: to, limit: limit)
            funnel = try reports.funnel(from: from, to: to)
            daily = try reports.daily(from: from, to: to)
        } catch {
            throw fail("\(error)")
        }
        print("Search analytics \(from) to \(to)\n")
        print("Top queries")
        table(["query", "searches", "zero", "CTR", "mean pos", "conversion"], top.map { r in
            [r.query, String(r.searches), String(r.zeroResults), percent(r.clickThroughRate),
             r.meanClickPosition.map { String(format: "%.1f", $0) } ?? "-", percent(r.conversionRate)]
        })
        print("\nZero-result queries")
        table(["query", "searches without results"], zero.map { [$0.query, String($0.zeroResults)] })
        print("\nFunnel")
        table(["day", "device", "searches", "clicks", "carts", "purchases"], funnel.map {
            [$0.day, $0.device, String($0.searches), String($0.clicks), String($0.carts), String($0.purchases)]
        })
        if let html {
            let page = AnalyticsReportPage.html(from: from, to: to, top: top, zero: zero, funnel: funnel, daily: daily)
            do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch { throw fail("cannot write \(html): \(error.localizedDescription)") }
            print("\nwrote \(html)")
        }
    }

    func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

    func table(_ head: [String], _ rows: [[String]]) {
        if rows.isEmpty { print("  (none)"); return }
        let widths = head.indices.map { i in max(head[i].count, rows.map { $0[i].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { i, c in i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - c.count) + c }.joined(separator: "  ")
        }
        print(line(head))
        for r in rows { print(line(r)) }
    }
}

struct AnalyticsLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load analytics events from a JSON-lines file (simulated traffic, an export) into the commerce database.",
        discussion: """
        One event per line, the fields of POST /api/v1/events plus searches:
          {"type": "search", "at": 1780000000000, "session": "s1", "device": "phone", "query_id": "q1", "query": "sofa", "total": 12, "took_us": 850}
          {"type": "click", "at": 1780000001000, "session": "s1", "device": "phone", "query_id": "q1", "product_id": "p7", "position": 2}
          {"type": "purchase", "at": 1780000060000, "session": "s1", "device": "phone", "order_id": "o1", "lines": [{"product_id": "p7", "quantity": 1}]}
        `at` (milliseconds since 1970) is required. Events are written in batches (one transaction each, with their rollups), in
        file order. A bad line is reported with its number and skipped; the exit status is then 2. If the database fails, the
        batches before the failing one are written and the command says which --from-line goes on from there.
        """
    )

    @Option(help: "The events file (JSON lines).") var events: String
    @Option(help: "PostgreSQL URL (default: $DATABASE_URL).") var database: String?
    @Option(help: "Events per transaction.") var batch = 5_000
    @Option(help: "Start at this line (1-based; to go on after a failed load).") var fromLine = 1
    @Flag(help: "No progress on standard error.") var quiet = false

    /// The writer: one connection, batches in file order on one queue; after a failure, the
    /// batches still queued are not written.
    final class Writer: @unchecked Sendable {
        let store: AnalyticsStore
        let queue = DispatchQueue(label: "aisle.analytics.load")
        /// Two batches in flight at most: one written while the next is parsed.
        let slots = DispatchSemaphore(value: 2)
        var conn: PGConnection?   // used on `queue` only
        struct State {
            var written = 0
            var failure: (firstLine: Int, lastLine: Int, message: String)?
        }
        let state = Mutex(State())

        init(url: String) { store = AnalyticsStore(url: url) }

        var failed: Bool { state.withLock { $0.failure != nil } }

        func submit(_ events: [AnalyticsEvent], firstLine: Int, lastLine: Int, done: @escaping @Sendable (Int) -> Void) {
            slots.wait()
            queue.async { [self] in
                defer { slots.signal() }
                guard !failed else { return }
                do {
                    if conn == nil { conn = try PGConnection(url: store.url) }
                    try store.write(events, on: conn!)
                    state.withLock { $0.written += events.count }
                    done(events.count)
                } catch {
                    state.withLock { $0.failure = (firstLine, lastLine, "\(error)") }
                }
            }
        }

        func finish() -> State { queue.sync {}; return state.withLock { $0 } }
    }

    func run() throws {
        guard (1...100_000).contains(batch) else { throw fail("--batch must be from 1 to 100000") }
        guard fromLine >= 1 else { throw fail("--from-line must be 1 or more") }
        let url: String
        let file: MappedFile
        do {
            url = try commerceDatabase(database)
            file = try MappedFile(path: events)
        } catch {
            throw fail(describe(error))
        }
        let t0 = Date()
        let bytes = file.bytes
        let data = UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        let tty = isatty(2) != 0
        let bar = ProgressBar(label: "loading", total: data.count, unit: "events", enabled: quiet ? false : tty)
        let writer = Writer(url: url)
        // Without a terminal, a progress line every 10 s (a benchmark's log).
        let lastReport = Mutex(0.0)
        let quiet = self.quiet
        let progress: @Sendable (Int) -> Void = { n in
            guard !quiet, !tty else { return }
            let now = Date().timeIntervalSince(t0)
            let due = lastReport.withLock { last -> Bool in
                if now - last < 10 { return false }
                last = now
                return true
            }
            if due {
                let w = writer.state.withLock { $0.written }
                stderr("loading: \(formatCount(w)) events written in \(String(format: "%.0f", now)) s (\(formatCount(Int(Double(w) / max(now, 0.001))))/s)")
            }
        }

        var pending: [AnalyticsEvent] = []
        pending.reserveCapacity(batch)
        var pendingFirst = 0, lineNo = 0, parsed = 0
        var bad = 0
        var badLines: [(line: Int, message: String)] = []
        var start = 0, lastAdvance = 0
        while start < data.count, !writer.failed {
            var end = start
            while end < data.count && data[end] != 0x0A { end += 1 }
            lineNo += 1
            var stop = end
            if stop > start && data[stop - 1] == 0x0D { stop -= 1 }   // CRLF
            let line = UnsafeBufferPointer(rebasing: data[start..<stop])
            start = end + 1
            if lineNo < fromLine || line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                guard let text = String(validating: line, as: UTF8.self) else { throw CommerceError.invalid("not valid UTF-8") }
                let event = try AnalyticsEventJSON.line(text)
                if pending.isEmpty { pendingFirst = lineNo }
                pending.append(event)
                parsed += 1
            } catch {
                bad += 1
                if badLines.count < 20 { badLines.append((lineNo, "\(error)")) }
            }
            if pending.count >= batch {
                writer.submit(pending, firstLine: pendingFirst, lastLine: lineNo, done: progress)
                pending.removeAll(keepingCapacity: true)
                bar.advance(by: min(start, data.count) - lastAdvance, items: batch)
                lastAdvance = min(start, data.count)
            }
        }
        if !pending.isEmpty && !writer.failed { writer.submit(pending, firstLine: pendingFirst, lastLine: lineNo, done: progress) }
        let result = writer.finish()
        bar.advance(by: data.count - lastAdvance, items: pending.count)
        bar.finish()
        let secs = Date().timeIntervalSince(t0)
        if !badLines.isEmpty {
            stderr("\(formatCount(bad)) bad line\(bad == 1 ? "" : "s") skipped:")
            for b in badLines { stderr("  line \(b.line): \(b.message)") }
            if bad > badLines.count { stderr("  ... and \(formatCount(bad - badLines.count)) more") }
        }
        if let f = result.failure {
            stderr("error: writing the events of lines \(f.firstLine)-\(f.lastLine) failed: \(f.message)")
            stderr("the \(formatCount(result.written)) events before line \(f.firstLine) are written (committed); to go on: --from-line \(f.firstLine)")
            throw ExitCode(1)
        }
        print("loaded \(formatCount(result.written)) events in \(String(format: "%.1f", secs)) s (\(formatCount(Int(Double(result.written) / max(secs, 0.001)))) events/s)\(bad > 0 ? "; \(formatCount(bad)) bad line\(bad == 1 ? "" : "s") skipped" : "")")
        if bad > 0 { throw ExitCode(2) }
    }
}
