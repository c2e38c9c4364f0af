import AisleAnalyzer
import AisleEngine
import AisleIndex

/// Result snippets: the title with the words that matched the query marked `<em>…</em>`
/// (HTML-escaped otherwise).
enum Snippets {
    /// The analysed terms of the query (first text group), to compare with analysed title tokens.
    static func queryTerms(_ q: String, service: SearchService) -> Set<[UInt8]> {
        guard !service.searcher.layout.textGroups.isEmpty else { return [] }
        let parser = service.parser(.or)
        var out = Set<[UInt8]>()
        let cleaned = q.map { "\"()+-*:".contains($0) ? " " : $0 }
        for t in parser.analyze(String(cleaned), group: 0) { out.insert(t.term) }
        return out
    }

    static func highlight(_ title: String, terms: Set<[UInt8]>, service: SearchService) -> String {
        guard !terms.isEmpty, !service.searcher.layout.textGroups.isEmpty else { return escape(title) }
        let analyzer = service.parser(.or).analyzer(group: 0)
        var ranges: [Range<Int>] = []
        _ = analyzer.analyze(title, firstPosition: 0) { term, _, start, end in
            if terms.contains(Array(term)) { ranges.append(Int(start)..<Int(end)) }
        }
        let bytes = Array(title.utf8)
        var out = ""
        var at = 0
        for r in ranges where r.lowerBound >= at && r.upperBound <= bytes.count {
            out += escape(String(decoding: bytes[at..<r.lowerBound], as: UTF8.self))
            out += "<em>" + escape(String(decoding: bytes[r], as: UTF8.self)) + "</em>"
            at = r.upperBound
        }
        out += escape(String(decoding: bytes[at...], as: UTF8.self))
        return out
    }

    static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "&": o += "&amp;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }
}
