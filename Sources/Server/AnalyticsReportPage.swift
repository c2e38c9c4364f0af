import AisleCommerce
import Foundation

/// The HTML search analytics report (`aisle analytics report --html`): one self-contained page,
/// its charts inline SVG (nothing fetched), every query escaped.
public enum AnalyticsReportPage {
    /// A horizontal bar chart as inline SVG.
    static func bars(_ items: [(label: String, value: Int)], color: String) -> String {
        let maxV = max(1, items.map(\.value).max() ?? 1)
        let h = 22, w = 560, labelW = 150
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w + labelW + 60)\" height=\"\(max(1, items.count) * h + 4)\" role=\"img\">"
        for (i, it) in items.enumerated() {
            let bw = Int(Double(w) * Double(it.value) / Double(maxV))
            let y = i * h
            svg += "<text x=\"0\" y=\"\(y + 15)\" font-size=\"12\">\(Snippets.escape(it.label))</text>"
            svg += "<rect x=\"\(labelW)\" y=\"\(y + 3)\" width=\"\(bw)\" height=\"\(h - 6)\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(labelW + bw + 4)\" y=\"\(y + 15)\" font-size=\"12\">\(it.value)</text>"
        }
        return svg + "</svg>"
    }

    public static func html(from: String, to: String, top: [AnalyticsReports.QueryRow], zero: [AnalyticsReports.QueryRow],
                     funnel: [AnalyticsReports.FunnelRow], daily: [(day: String, searches: Int, zeroResults: Int)]) -> String {
        let sum = { (f: (AnalyticsReports.FunnelRow) -> Int) in funnel.reduce(0) { $0 + f($1) } }
        var o = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Aisle search analytics \(Snippets.escape(from)) to \(Snippets.escape(to))</title>
        <style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}</style>
        </head><body><h1>Search analytics, \(Snippets.escape(from)) to \(Snippets.escape(to))</h1>
        <h2>Funnel</h2>
        """
        o += Self.bars([("searches", sum(\.searches)), ("clicks", sum(\.clicks)), ("add to cart", sum(\.carts)), ("purchases", sum(\.purchases))], color: "#2f6fdf")
        o += "<h2>Searches per day</h2>" + Self.bars(daily.map { ($0.day, $0.searches) }, color: "#5a9")
        o += "<h2>Zero-result searches per day</h2>" + Self.bars(daily.map { ($0.day, $0.zeroResults) }, color: "#d55")
        o += "<h2>Top queries</h2><table><tr><th>query</th><th>searches</th><th>zero results</th><th>CTR</th><th>mean click position</th><th>conversion</th></tr>"
        for r in top {
            o += "<tr><td>\(Snippets.escape(r.query))</td><td>\(r.searches)</td><td>\(r.zeroResults)</td><td>\(String(format: "%.1f%%", r.clickThroughRate * 100))</td>"
                + "<td>\(r.meanClickPosition.map { String(format: "%.1f", $0) } ?? "-")</td><td>\(String(format: "%.1f%%", r.conversionRate * 100))</td></tr>"
        }
        o += "</table><h2>Zero-result queries</h2><table><tr><th>query</th><th>searches without results</th></tr>"
        for r in zero { o += "<tr><td>\(Snippets.escape(r.query))</td><td>\(r.zeroResults)</td></tr>" }
        o += "</table></body></html>\n"
        return o
    }
}
