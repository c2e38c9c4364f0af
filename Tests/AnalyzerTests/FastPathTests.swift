import Testing
@testable import AisleAnalyzer

/// The fast paths must give exactly what the slow (ICU) paths give.
@Suite struct FastPathTests {
    static func segments(_ worker: any TokenizerWorker, _ bytes: [UInt8]) -> [[Int32]] {
        var result: [[Int32]] = []
        bytes.withUnsafeBufferPointer { buffer in
            worker.tokenize(buffer) { term, start, end in
                result.append([start, end] + term.map { Int32($0) })
            }
        }
        return result
    }

    /// The ASCII word segmenter equals ICU's word breaking on random ASCII (without `_`, which always takes ICU).
    @Test func asciiSegmenterMatchesICU() throws {
        let fast = try ICUWordTokenizer(asciiFastPath: true).makeWorker()
        let icu = try ICUWordTokenizer(asciiFastPath: false).makeWorker()
        var g = TestSeed.generator(for: "asciiSegmenterMatchesICU")
        let tricky = Array("aZ09.',;: -\"/!?\t\n\r@#$%&*+=<>()[]{}|\\~^`@@".utf8)
        let allButUnderscore = (0...127).map(UInt8.init).filter { $0 != 0x5F }
        for i in 0..<20_000 {
            let bytes = RandomText.ascii(&g, alphabet: i % 3 == 0 ? allButUnderscore : tricky, maxLength: 24)
            #expect(bytes.withUnsafeBufferPointer { ASCIIWordSegmenter.canSegment($0) })
            let a = Self.segments(fast, bytes), b = Self.segments(icu, bytes)
            #expect(a == b, "seed \(TestSeed.base), input \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if a != b { break }
        }
    }

    @Test func canSegmentRejectsUnderscoreAndNonASCII() {
        for text in ["a_b", "________", "abcdefgh_", "abcdefghijklmnop_q", "café", "abcdefghé"] {
            let bytes = Array(text.utf8)
            #expect(!bytes.withUnsafeBufferPointer { ASCIIWordSegmenter.canSegment($0) }, "\(text)")
        }
        for text in ["", "abc", "abcdefghijklmnopqrstuvwxyz 0123456789 .,;:'\"-"] {
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBufferPointer { ASCIIWordSegmenter.canSegment($0) }, "\(text)")
        }
    }

    /// The english analyzer with and without the ASCII fast path agree on random ASCII text.
    @Test func englishWithoutFastPathAgrees() throws {
        let english = try Analyzers.makeEnglish()
        let slow = try PipelineAnalyzer(name: "english-icu", tokenizer: ICUWordTokenizer(asciiFastPath: false),
                                        filters: english.filters)
        var g = TestSeed.generator(for: "englishWithoutFastPathAgrees")
        let alphabet = Array("aeiouystnrlSTNE0159.',;: -\"/".utf8)
        for i in 0..<5_000 {
            let text = String(decoding: RandomText.ascii(&g, alphabet: alphabet, maxLength: 40), as: UTF8.self)
            #expect(english.tokens(text) == slow.tokens(text), "seed \(TestSeed.base), case \(i), input \(text.debugDescription)")
        }
    }

    /// AccentFoldFilter equals the ICU transform "NFD; [:Nonspacing Mark:] Remove; NFC" on Latin, Greek and
    /// Cyrillic text with combining marks (elsewhere it deliberately keeps marks, see its documentation; the Coptic
    /// letters U+03E2...U+03EF of the Greek block are left out for that reason).
    @Test func accentFoldMatchesTransliterator() throws {
        let translit = try TransliterateFilter(id: "NFD; [:Nonspacing Mark:] Remove; NFC").makeWorker()
        let fold = try AccentFoldFilter().makeWorker()
        var g = TestSeed.generator(for: "accentFoldMatchesTransliterator")
        let ranges: [ClosedRange<UInt32>] = [0x41...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF, 0x0370...0x03E1, 0x03F0...0x03FF,
                                             0x0400...0x04FF, 0x0300...0x036F, 0x30...0x39]
        for i in 0..<3_000 {
            var text = ""
            for _ in 0..<Int.random(in: 1...12, using: &g) {
                let range = ranges.randomElement(using: &g)!
                if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &g)) { text.unicodeScalars.append(scalar) }
            }
            var a = Array(text.utf8), b = a
            _ = translit.filter(&a)
            _ = fold.filter(&b)
            #expect(a == b, "seed \(TestSeed.base), case \(i), input \(text.debugDescription)")
        }
    }

    /// Case folding of ASCII terms (a plain lower-casing) equals ICU's NFKC_Casefold.
    @Test func asciiCaseFoldMatchesICU() {
        let all = (1...127).map(UInt8.init)
        var fast = all
        _ = CaseFoldFilter().filter(&fast)
        var icu = all
        ICU.transform(&icu) { cicuFold($0, $1, $2, $3, $4) }
        #expect(fast == icu)
    }
}

import CICUShim
private func cicuFold(_ src: UnsafePointer<UInt8>?, _ len: Int32, _ dst: UnsafeMutablePointer<UInt8>?, _ cap: Int32,
                      _ err: UnsafeMutablePointer<Int32>) -> Int32 {
    cicu_fold_utf8(src, len, Int32(CICU_FOLD_NFKC_CASEFOLD), dst, cap, err)
}
