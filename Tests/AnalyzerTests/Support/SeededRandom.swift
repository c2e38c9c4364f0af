import Foundation

/// SplitMix64: a small deterministic generator, so a failing random case can be replayed from its seed.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The base seed of the randomised tests: `AISLE_TEST_SEED` (decimal or 0x-hex) if set, else a fresh one.
/// Each test derives its own generator from it and prints it, so a failure can be replayed with
/// `AISLE_TEST_SEED=<seed> swift test --filter AisleAnalyzerTests`.
enum TestSeed {
    static let base: UInt64 = {
        if let text = ProcessInfo.processInfo.environment["AISLE_TEST_SEED"] {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let parsed = trimmed.hasPrefix("0x") ? UInt64(trimmed.dropFirst(2), radix: 16) : UInt64(trimmed)
            if let parsed { return parsed }
            print("AISLE_TEST_SEED=\(text) is not a UInt64; using a random seed")
        }
        return UInt64.random(in: 0...UInt64.max)
    }()

    /// A generator for one test; prints the seed with the test's name.
    static func generator(for test: String) -> SeededRandom {
        print("[\(test)] seed \(base) (replay: AISLE_TEST_SEED=\(base))")
        var mix = SeededRandom(seed: base)
        var salt: UInt64 = 0
        for b in test.utf8 { salt = salt &* 31 &+ UInt64(b) }
        return SeededRandom(seed: mix.next() ^ salt)
    }
}

/// Random test inputs.
enum RandomText {
    /// Scalar ranges to draw from, with weights: ASCII, Latin-1, combining marks, CJK/kana/hangul, emoji and emoji
    /// glue, assorted scripts and punctuation, and any non-surrogate scalar.
    private static let pools: [(weight: Int, ranges: [ClosedRange<UInt32>])] = [
        (30, [0x20...0x7E]),
        (4, [0x00...0x1F, 0x7F...0x7F]),
        (8, [0xA0...0xFF]),
        (6, [0x0300...0x036F, 0x3099...0x309A, 0x20D0...0x20FF]),
        (6, [0x4E00...0x9FFF, 0x3040...0x30FF, 0xAC00...0xD7A3, 0xFF01...0xFF5E, 0xFF61...0xFF9F]),
        (5, [0x1F300...0x1FAFF, 0x200D...0x200D, 0xFE0F...0xFE0F, 0x1F3FB...0x1F3FF]),
        (6, [0x0370...0x03FF, 0x0400...0x04FF, 0x0590...0x05FF, 0x0600...0x06FF, 0x0900...0x097F, 0x0E00...0x0E7F,
             0x2000...0x206F, 0x2018...0x2019, 0xFB00...0xFB06, 0x00AD...0x00AD, 0x2150...0x218F]),
        (3, [0x0000...0xD7FF, 0xE000...0x10FFFF]),
    ]

    /// Some text-like ASCII fragments (words, numbers, model codes, apostrophes) to mix in.
    private static let fragments = [
        "Samsung's", "l'été", "QN55Q80C", "4K-TV", "1/2 in.", "55\"", "the", "batteries", "1,000.50", "don't",
        "a.b.c", "foo_bar", "e-mail", "  ", "\t", "\n", "’s", "qu'il", "ÉCRAN", "ﬁ", "ＴＶ", "東京", "😀",
    ]

    static func scalar<G: RandomNumberGenerator>(_ g: inout G) -> Unicode.Scalar {
        let total = pools.reduce(0) { $0 + $1.weight }
        var pick = Int.random(in: 0..<total, using: &g)
        for pool in pools {
            if pick < pool.weight {
                let range = pool.ranges.randomElement(using: &g)!
                return Unicode.Scalar(UInt32.random(in: range, using: &g))!
            }
            pick -= pool.weight
        }
        return "x"
    }

    /// A random string of up to `maxLength` pieces (scalars or fragments).
    static func string<G: RandomNumberGenerator>(_ g: inout G, maxLength: Int = 40) -> String {
        var s = ""
        for _ in 0..<Int.random(in: 0...maxLength, using: &g) {
            if Int.random(in: 0..<6, using: &g) == 0 {
                s += fragments.randomElement(using: &g)!
            } else {
                s.unicodeScalars.append(scalar(&g))
            }
        }
        return s
    }

    /// Random bytes: valid UTF-8 pieces mixed with ill-formed ones (stray continuation bytes, truncated sequences,
    /// overlong forms, encoded surrogates, values above U+10FFFF, F5...FF).
    static func bytes<G: RandomNumberGenerator>(_ g: inout G, maxLength: Int = 60) -> [UInt8] {
        let broken: [[UInt8]] = [
            [0x80], [0xBF], [0xC3], [0xE2, 0x80], [0xF0, 0x9F, 0x98], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80],
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5], [0xFE], [0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80],
        ]
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...maxLength, using: &g) {
            switch Int.random(in: 0..<10, using: &g) {
            case 0...1: out += broken.randomElement(using: &g)!
            case 2: out.append(UInt8.random(in: 0...255, using: &g))
            default: out += Array(String(scalar(&g)).utf8)
            }
        }
        return out
    }

    /// Random ASCII from an alphabet weighted towards characters that matter to word breaking.
    static func ascii<G: RandomNumberGenerator>(_ g: inout G, alphabet: [UInt8], maxLength: Int = 30) -> [UInt8] {
        (0..<Int.random(in: 0...maxLength, using: &g)).map { _ in alphabet.randomElement(using: &g)! }
    }
}
