/// Result snippets: the title with the words that matched the query marked `<em>…</em>`
/// (HTML-escaped otherwise). The engine says which byte ranges match (with the analysis it did for
/// the query); this only renders them.
enum Snippets {
    static func highlight(_ title: String, ranges: [Range<Int>]) -> String {
        guard !ranges.isEmpty else { return escape(title) }
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
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }
}
