import Foundation

/// SplitMix64: a small, fast, seedable generator so failures can be replayed.
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

    /// Seed from `AISLE_TEST_SEED` if set, else random; printed so a failure can be replayed.
    static func fromEnvironment(_ label: String) -> (SeededRandom, UInt64) {
        let seed: UInt64
        if let s = ProcessInfo.processInfo.environment["AISLE_TEST_SEED"], let v = UInt64(s) {
            seed = v
        } else {
            seed = UInt64.random(in: 1...UInt64(Int64.max))
        }
        print("[\(label)] seed \(seed) (replay with AISLE_TEST_SEED=\(seed))")
        return (SeededRandom(seed: seed), seed)
    }

    /// Zipf-like pick in 0..<n (rank r has weight 1/(r+1)).
    mutating func zipf(_ n: Int) -> Int {
        let h = (1...n).reduce(0.0) { $0 + 1.0 / Double($1) }
        var u = Double.random(in: 0..<h, using: &self)
        for r in 0..<n {
            u -= 1.0 / Double(r + 1)
            if u < 0 { return r }
        }
        return n - 1
    }
}

func temporaryDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "aisle-test-\(label)-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}
