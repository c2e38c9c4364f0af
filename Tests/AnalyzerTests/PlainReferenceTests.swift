import Testing
import AisleAnalyzer

/// `plain` on ASCII must equal Python's `re.findall(r"[a-z0-9]+", s.lower())`.
@Suite struct PlainReferenceTests {
    /// A straightforward reference: lower-case, then maximal runs of [a-z0-9] (as byte ranges of the input).
    static func reference(_ bytes: [UInt8]) -> [Token] {
        var tokens: [Token] = []
        var run: [UInt8] = []
        var start = 0
        for (i, byte) in (bytes + [0x20]).enumerated() {
            let lower = (0x41...0x5A).contains(byte) ? byte + 0x20 : byte
            if (0x61...0x7A).contains(lower) || (0x30...0x39).contains(lower) {
                if run.isEmpty { start = i }
                run.append(lower)
            } else if !run.isEmpty {
                tokens.append(Token(term: String(decoding: run, as: UTF8.self), position: Int32(tokens.count),
                                    start: Int32(start), end: Int32(i)))
                run.removeAll()
            }
        }
        return tokens
    }

    @Test func randomASCIIMatchesReference() throws {
        let plain = try Analyzers.named("plain")
        var g = TestSeed.generator(for: "plainRandomASCII")
        let allASCII = (0...127).map(UInt8.init)
        let texty = Array("aAzZ09 _-'.,/\"\tQN55Q80C".utf8)
        for i in 0..<5_000 {
            let bytes = RandomText.ascii(&g, alphabet: i % 2 == 0 ? allASCII : texty, maxLength: 60)
            let actual = bytes.withUnsafeBufferPointer { plain.tokens(utf8: $0) }
            #expect(actual == Self.reference(bytes), "seed \(TestSeed.base), case \(i), input \(bytes)")
        }
    }

    @Test func longRunsAndScratchGrowth() throws {
        let plain = try Analyzers.named("plain")
        for length in [1, 255, 256, 257, 1_000, 70_000] {
            let upper = String(repeating: "AbC", count: length)
            #expect(plain.terms(upper) == [upper.lowercased()])
            #expect(plain.terms("x " + upper + " y") == ["x", upper.lowercased(), "y"])
        }
    }
}
