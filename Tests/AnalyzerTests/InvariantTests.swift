import Testing
import AisleAnalyzer

/// Properties every analyzer must keep on any input: no crash, offsets inside the input, positions never going
/// back, non-empty valid UTF-8 terms. Inputs are seeded random strings and random bytes (see `TestSeed`).
@Suite struct InvariantTests {
    static let iterations = 3_000

    /// Checks one analysis of `input`; returns a description of the first violation, if any.
    static func violation(_ analyzer: any TextAnalyzer, _ input: [UInt8], firstPosition: Int32) -> String? {
        var problem: String?
        var lastPosition: Int32?
        var lastStart: Int32 = 0
        let count = Int32(input.count)
        let next = input.withUnsafeBufferPointer { buffer in
            analyzer.analyze(utf8: buffer, firstPosition: firstPosition) { term, position, start, end in
                guard problem == nil else { return }
                if term.isEmpty { problem = "empty term" }
                if String(validating: term, as: UTF8.self) == nil { problem = "term is not valid UTF-8: \(Array(term))" }
                if !(0 <= start && start < end && end <= count) { problem = "range \(start)..<\(end) outside 0..<\(count)" }
                if start < lastStart { problem = "start \(start) before previous start \(lastStart)" }
                if position < firstPosition { problem = "position \(position) before firstPosition \(firstPosition)" }
                if let lastPosition, position <= lastPosition {
                    problem = "position \(position) not after previous \(lastPosition)"
                }
                lastPosition = position
                lastStart = start
            }
        }
        if problem == nil {
            if next < firstPosition { problem = "returned \(next) < firstPosition \(firstPosition)" }
            if let lastPosition, next <= lastPosition { problem = "returned \(next) <= last position \(lastPosition)" }
        }
        return problem
    }

    @Test(arguments: Analyzers.names)
    func randomStrings(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        var g = TestSeed.generator(for: "randomStrings/\(analyzerName)")
        for i in 0..<Self.iterations {
            let text = RandomText.string(&g)
            let first = Int32.random(in: 0...1000, using: &g)
            let problem = Self.violation(analyzer, Array(text.utf8), firstPosition: first)
            #expect(problem == nil, "seed \(TestSeed.base), case \(i), input \(text.debugDescription): \(problem ?? "")")
            if problem != nil { break }
            // normalize() must not crash either, and never returns an empty string.
            if let normalized = analyzer.normalize(text) { #expect(!normalized.isEmpty) }
        }
    }

    @Test(arguments: Analyzers.names)
    func randomBytes(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        var g = TestSeed.generator(for: "randomBytes/\(analyzerName)")
        for i in 0..<Self.iterations {
            let bytes = RandomText.bytes(&g)
            let problem = Self.violation(analyzer, bytes, firstPosition: 0)
            #expect(problem == nil, "seed \(TestSeed.base), case \(i), bytes \(bytes): \(problem ?? "")")
            if problem != nil { break }
        }
    }

    @Test(arguments: Analyzers.names)
    func edgeInputs(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        let inputs: [[UInt8]] = [
            [], [0], [0x20], [0x80], [0xFF], [0xC3], [0xE2, 0x80], Array("\u{301}".utf8), Array("’".utf8),
            Array("'s".utf8), Array("l'".utf8), Array("_".utf8), Array("__".utf8), Array(String(repeating: "a", count: 100_000).utf8),
            Array(String(repeating: "é", count: 10_000).utf8), Array(String(repeating: "the ", count: 5_000).utf8),
            Array(String(repeating: "\u{FDFA}", count: 500).utf8),   // expands 18x under NFKC
            Array(String(repeating: "ß", count: 3_000).utf8),
        ]
        for input in inputs {
            let problem = Self.violation(analyzer, input, firstPosition: 0)
            #expect(problem == nil, "input of \(input.count) bytes starting \(input.prefix(8)): \(problem ?? "")")
        }
        // Positions saturate at Int32.max instead of overflowing (so they never go back).
        let text = Array("alpha beta gamma delta".utf8)
        var positions: [Int32] = []
        let next = text.withUnsafeBufferPointer {
            analyzer.analyze(utf8: $0, firstPosition: Int32.max - 1) { _, position, _, _ in positions.append(position) }
        }
        #expect(positions == positions.sorted() && positions.allSatisfy { $0 >= Int32.max - 1 })
        #expect(next == (positions.isEmpty ? Int32.max - 1 : Int32.max))
    }

    /// The String convenience API gives what the UTF-8 API gives.
    @Test(arguments: Analyzers.names)
    func stringAndBufferAPIsAgree(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        var g = TestSeed.generator(for: "stringAndBufferAPIsAgree/\(analyzerName)")
        for _ in 0..<300 {
            let text = RandomText.string(&g)
            let viaBuffer = Array(text.utf8).withUnsafeBufferPointer { analyzer.tokens(utf8: $0) }
            #expect(analyzer.tokens(text) == viaBuffer, "seed \(TestSeed.base), input \(text.debugDescription)")
        }
    }
}
