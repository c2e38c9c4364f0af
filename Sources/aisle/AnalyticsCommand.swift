import ArgumentParser
import Foundation
import AisleCatalog
import AisleCommerce
import AisleServer

struct AnalyticsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Search analytics from the commerce database: top queries, zero-result queries, the funnel.",
        subcommands: [AnalyticsReportCommand.self]
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
