import Foundation
import Testing
import AisleAnalyzer

/// Runs the golden files `corpora/analyzer/<analyzer>.tsv`.
/// With `AISLE_GOLDEN_PRINT=1` it also prints every case with the actual output, in the file's format.
@Suite struct GoldenTests {
    @Test(arguments: Analyzers.names)
    func goldenFile(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        let url = GoldenFile.url(for: analyzerName)
        let cases = try GoldenFile.load(url)
        #expect(cases.count >= 10, "\(url.path) has too few cases")
        let printing = ProcessInfo.processInfo.environment["AISLE_GOLDEN_PRINT"] == "1"
        for golden in cases {
            let tokens = golden.input.withUnsafeBufferPointer { analyzer.tokens(utf8: $0) }
            // Offsets are compared only for expected tokens that state them.
            let actual = tokens.enumerated().map { index, token in
                let wantsRange = index < golden.expected.count && golden.expected[index].range != nil
                return GoldenCase.Expected(term: token.term, position: token.position,
                                           range: wantsRange ? (token.start, token.end) : nil)
            }
            if printing {
                let full = tokens.map { GoldenCase.Expected(term: $0.term, position: $0.position, range: ($0.start, $0.end)) }
                print("GOLDEN \(analyzerName):\(golden.line)\t\(full.map(\.description).joined(separator: " "))")
            }
            #expect(actual == golden.expected,
                    "\(url.lastPathComponent):\(golden.line) input \(String(decoding: golden.input, as: UTF8.self).debugDescription)")
        }
    }

    @Test func everyAnalyzerHasAGoldenFile() {
        for name in Analyzers.names {
            #expect(FileManager.default.fileExists(atPath: GoldenFile.url(for: name).path), "no golden file for \(name)")
        }
    }
}
