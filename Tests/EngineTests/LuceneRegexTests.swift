import Foundation
import Testing
@testable import AisleEngine

/// The linear-time matcher of `terms` `include`/`exclude` patterns against Swift's own regex
/// engine (a backtracking reference) on random patterns and strings, and on patterns that make
/// backtracking engines run away.
@Suite struct LuceneRegexTests {
    struct RNG: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func pattern(_ rng: inout RNG, depth: Int = 0) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            var atom: String
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: atom = "."
            case 1: atom = "[ab]"
            case 2: atom = "[^a]"
            case 3: atom = "[a-b]"
            case 4 where depth < 2: atom = "(" + pattern(&rng, depth: depth + 1) + ")"
            case 5 where depth < 2: atom = "(" + pattern(&rng, depth: depth + 1) + "|" + pattern(&rng, depth: depth + 1) + ")"
            default: atom = ["a", "b", "c"].randomElement(using: &rng)!
            }
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: atom += "*"
            case 1: atom += "+"
            case 2: atom += "?"
            case 3: atom += "{1,2}"
            case 4: atom += "{2}"
            default: break
            }
            out += atom
        }
        return out
    }

    @Test func agreesWithABacktrackingEngine() throws {
        var rng = RNG(state: 2026)
        for _ in 0..<400 {
            let p = pattern(&rng)
            let mine = try LuceneRegex(p)
            let reference = try Regex(p)
            for _ in 0..<25 {
                let s = String((0..<Int.random(in: 0...7, using: &rng)).map { _ in ["a", "b", "c"].randomElement(using: &rng)! })
                let want = (try? reference.wholeMatch(in: s)) != nil
                #expect(mine.matches(s) == want, "pattern \(p) on \"\(s)\": \(mine.matches(s)) vs \(want)")
            }
        }
    }

    @Test func wholeValuesClassesAndEscapes() throws {
        #expect(try LuceneRegex("Out.*").matches("Outdoor Rugs"))
        #expect(try !LuceneRegex("Out").matches("Outdoor"))
        #expect(try LuceneRegex("A.*|Z.*").matches("Zeta"))
        #expect(try LuceneRegex("x\\.y").matches("x.y"))
        #expect(try !LuceneRegex("x\\.y").matches("xzy"))
        #expect(try LuceneRegex("[^0-9]+").matches("abc"))
        #expect(try !LuceneRegex("[^0-9]+").matches("a1"))
        #expect(try LuceneRegex("caf.").matches("café"))
        #expect(try LuceneRegex("").matches(""))
        for bad in ["(a", "a)", "[ab", "*a", "a{200}", "a{3,1}", "a@", "a&b", "~a", "<1-5>", "\\"] {
            #expect(throws: LuceneRegex.SyntaxError.self, "\(bad)") { _ = try LuceneRegex(bad) }
        }
    }

    /// `(a+)+b` on a long run of `a`: exponential for backtracking, linear here (it finishes).
    @Test func pathologicalPatternsStayLinear() throws {
        let long = String(repeating: "a", count: 5_000)
        #expect(try !LuceneRegex("(a+)+b").matches(long))
        #expect(try !LuceneRegex("(a|aa)*c").matches(long))
        #expect(try LuceneRegex("(a*)*").matches(long))
        #expect(try !LuceneRegex("(.*a){20}b").matches(long))
    }
}
