import Foundation
import Testing
@testable import AisleEmbedding

/// The WordPiece tokenizer on a small hand-written tokenizer.json (the real one's configuration,
/// a vocabulary of a few dozen pieces), then, when the model is installed, on known encodings of
/// the real tokenizer. scripts/tokenizer_check.py compares with the `tokenizers` package on a few
/// hundred strings.
@Suite struct WordPieceTests {
    static let vocab: [String] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "hello", "world", "un", "##aff", "##able", "a", "##a", "b", "##b", "creme", "cr", "##eme",
        "brulee", "istanbul", "strasse", "σ", "##α", "##σ", "中", "文", ",", "!", ".", "/", "(", ")", "[", "]",
        "—", "¿", "#", "##", "x", "##x", "5", "##5", "in", "lights", "wall", "mask", "i",
        "straße", "ß", "##ß",
    ]

    /// The real tokenizer.json's configuration around `vocab` (ids are positions).
    static func json(vocab: [String] = vocab, model: String = "WordPiece", extra: String = "") -> String {
        let v = vocab.enumerated().map { "\(jsonString($0.element)): \($0.offset)" }.joined(separator: ", ")
        let added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map { t in
            #"{"id": \#(vocab.firstIndex(of: t) ?? 0), "special": true, "content": "\#(t)", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}"#
        }.joined(separator: ", ")
        return """
        {"version": "1.0", "truncation": {"max_length": 128, "strategy": "LongestFirst", "stride": 0},
         "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
         "added_tokens": [\(added)],
         "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "post_processor": {"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
           "pair": [],
           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
         "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
         "model": {"type": "\(model)", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                   "vocab": {\(v)}}\(extra)}
        """
    }

    static func jsonString(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast().description
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "aisle-wordpiece-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// The tokenizer read from a tokenizer.json file in a temporary directory.
    static let small: WordPieceTokenizer = {
        let dir = try! tempDir()
        let path = dir + "/tokenizer.json"
        try! json().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try! WordPieceTokenizer(path: path)
    }()

    func pieces(_ text: String, maxLength: Int = 128) -> [String] {
        Self.small.encode(text, maxLength: maxLength).map { Self.small.token($0) ?? "?" }
    }

    @Test func splitsWordsAndAddsClsSep() {
        #expect(pieces("hello world") == ["[CLS]", "hello", "world", "[SEP]"])
        #expect(pieces("  hello    world  ") == ["[CLS]", "hello", "world", "[SEP]"])
        #expect(pieces("") == ["[CLS]", "[SEP]"])
        #expect(pieces("   ") == ["[CLS]", "[SEP]"])
        #expect(Self.small.encode("hello world") == [2, 5, 6, 3])
        #expect(Self.small.vocabularySize == Self.vocab.count)
        #expect(Self.small.token(5) == "hello")
        #expect(Self.small.token(-1) == nil && Self.small.token(Int32(Self.vocab.count)) == nil)
    }

    @Test func continuations() {
        #expect(pieces("unaffable") == ["[CLS]", "un", "##aff", "##able", "[SEP]"])
        #expect(pieces("aaa bb") == ["[CLS]", "a", "##a", "##a", "b", "##b", "[SEP]"])
        #expect(pieces("55 5x") == ["[CLS]", "5", "##5", "5", "##x", "[SEP]"])
        // Longest match first: "creme" is a piece of its own, "cremex" is creme ##x.
        #expect(pieces("creme cremex") == ["[CLS]", "creme", "creme", "##x", "[SEP]"])
    }

    @Test func unknownWords() {
        // No piece for "q": the whole word is one [UNK], even after a matched prefix.
        #expect(pieces("q") == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(pieces("helloq world") == ["[CLS]", "[UNK]", "world", "[SEP]"])
        #expect(pieces("unaffableq") == ["[CLS]", "[UNK]", "[SEP]"])
        // Over max_input_chars_per_word (100) characters: [UNK]; 100 is still split.
        #expect(pieces(String(repeating: "a", count: 101)) == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(pieces(String(repeating: "a", count: 100)) == ["[CLS]", "a"] + Array(repeating: "##a", count: 99) + ["[SEP]"])
        // Characters are counted after normalization, not bytes: 100 "á" are 100 characters.
        #expect(pieces(String(repeating: "á", count: 100)).count == 102)
        #expect(pieces(String(repeating: "á", count: 101)) == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test func punctuationIsItsOwnToken() {
        #expect(pieces("hello,world!") == ["[CLS]", "hello", ",", "world", "!", "[SEP]"])
        #expect(pieces("(a)/b.") == ["[CLS]", "(", "a", ")", "/", "b", ".", "[SEP]"])
        // Unicode punctuation (Pd, Po) splits too; "#" is punctuation, so "##" in text is # #.
        #expect(pieces("hello—world ¿a") == ["[CLS]", "hello", "—", "world", "¿", "a", "[SEP]"])
        #expect(pieces("##a") == ["[CLS]", "#", "#", "a", "[SEP]"])
        // All of ASCII 33-47, 58-64, 91-96, 123-126 is punctuation ("+" is not in this vocabulary).
        #expect(pieces("a+b") == ["[CLS]", "a", "[UNK]", "b", "[SEP]"])
        // Symbols (here Sc) are not: they stay inside the word.
        #expect(pieces("a€b") == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test func accentsAndCase() {
        #expect(pieces("HELLO World") == ["[CLS]", "hello", "world", "[SEP]"])
        #expect(pieces("Crème Brûlée") == ["[CLS]", "creme", "brulee", "[SEP]"])
        #expect(pieces("CRÈME") == ["[CLS]", "creme", "[SEP]"])
        // Already decomposed input: the combining mark is dropped too.
        #expect(pieces("cre\u{0300}me") == ["[CLS]", "creme", "[SEP]"])
        // İ decomposes to I + U+0307 (dropped), then lowercases to i.
        #expect(pieces("İstanbul") == ["[CLS]", "istanbul", "[SEP]"])
        // ß stays (lowercase maps, no case folding to ss); ẞ lowercases to ß.
        #expect(pieces("Straße STRAẞE STRASSE") == ["[CLS]", "straße", "straße", "strasse", "[SEP]"])
        // Per-character lowercase without context: final Σ becomes σ, not ς.
        #expect(pieces("ΣΑΣ") == ["[CLS]", "σ", "##α", "##σ", "[SEP]"])
    }

    @Test func controlAndWhitespaceCharacters() {
        #expect(pieces("hel\u{0007}lo") == ["[CLS]", "hello", "[SEP]"])
        #expect(pieces("hel\u{0000}lo wor\u{FFFD}ld") == ["[CLS]", "hello", "world", "[SEP]"])
        #expect(pieces("hel\u{200B}lo\u{FEFF} w\u{00AD}orld") == ["[CLS]", "hello", "world", "[SEP]"])   // Cf
        #expect(pieces("hel\u{E000}lo") == ["[CLS]", "hello", "[SEP]"])                                  // Co
        #expect(pieces("hello\tworld\nhello\rworld") == ["[CLS]", "hello", "world", "hello", "world", "[SEP]"])
        #expect(pieces("hello\u{00A0}world\u{3000}hello\u{2009}world") == ["[CLS]", "hello", "world", "hello", "world", "[SEP]"])
        // \v, \f and NEL are control characters first: removed, not spaces.
        #expect(pieces("hel\u{0B}lo wor\u{0C}ld a\u{85}b") == ["[CLS]", "hello", "world", "a", "##b", "[SEP]"])
    }

    @Test func chineseCharactersAreSplit() {
        #expect(pieces("中文") == ["[CLS]", "中", "文", "[SEP]"])
        #expect(pieces("a中b") == ["[CLS]", "a", "中", "b", "[SEP]"])
        #expect(pieces("中q文") == ["[CLS]", "中", "[UNK]", "文", "[SEP]"])
        // Hiragana is not a CJK ideograph: it stays in the word.
        #expect(pieces("aあb") == ["[CLS]", "[UNK]", "[SEP]"])
    }

    @Test func specialTokensInTheText() {
        #expect(pieces("hello [MASK] world") == ["[CLS]", "hello", "[MASK]", "world", "[SEP]"])
        #expect(pieces("a[CLS]b") == ["[CLS]", "a", "[CLS]", "b", "[SEP]"])
        // Case-sensitive, matched before normalization: "[mask]" is [ mask ].
        #expect(pieces("[mask]") == ["[CLS]", "[", "mask", "]", "[SEP]"])
        #expect(pieces("[[SEP]]") == ["[CLS]", "[", "[SEP]", "]", "[SEP]"])
    }

    @Test func truncationKeepsClsAndSep() {
        let long = Array(repeating: "hello", count: 200).joined(separator: " ")
        let ids = Self.small.encode(long)
        #expect(ids.count == 128)
        #expect(ids.first == 2 && ids.last == 3)
        #expect(ids[1..<127].allSatisfy { $0 == 5 })
        // Exactly 126 pieces fit; 127 are cut to 126.
        #expect(Self.small.encode(Array(repeating: "hello", count: 126).joined(separator: " ")).count == 128)
        #expect(Self.small.encode(Array(repeating: "hello", count: 127).joined(separator: " ")).count == 128)
        #expect(Self.small.encode(Array(repeating: "hello", count: 125).joined(separator: " ")).count == 127)
        // A word's pieces are cut in the middle when the limit falls there.
        #expect(pieces("hello unaffable", maxLength: 4) == ["[CLS]", "hello", "un", "[SEP]"])
        #expect(pieces("hello world", maxLength: 2) == ["[CLS]", "[SEP]"])
        #expect(pieces("[MASK] [MASK] [MASK]", maxLength: 4) == ["[CLS]", "[MASK]", "[MASK]", "[SEP]"])
        #expect(Self.small.configuredMaxLength == 128)
    }

    @Test func badFilesAreClearErrors() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func error(_ text: String?) -> String {
            let p = dir + "/tokenizer.json"
            try? FileManager.default.removeItem(atPath: p)
            if let text { try! text.write(toFile: p, atomically: true, encoding: .utf8) }
            do {
                _ = try WordPieceTokenizer(path: p)
                return "no error"
            } catch let e as EmbeddingError {
                return e.description
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(error(nil).contains("cannot read"))
        #expect(error("not json").contains("not a JSON object"))
        #expect(error(Self.json(model: "BPE")).contains("not supported"))
        #expect(error(#"{"model": {"type": "WordPiece", "vocab": {}}}"#).contains("vocab is missing or empty"))
        #expect(error(Self.json().replacingOccurrences(of: #""unk_token": "[UNK]""#, with: #""unk_token": "<unk>""#)).contains("<unk>"))
        #expect(error(Self.json().replacingOccurrences(of: "BertPreTokenizer", with: "Whitespace")).contains("not supported"))
    }

    @Test func modelFilesDirectoryAndCheck() throws {
        #expect(ModelFiles.directory("/x/y") == "/x/y")
        #expect(ModelFiles.directory(nil).hasSuffix("all-MiniLM-L6-v2") || ProcessInfo.processInfo.environment["AISLE_MODEL_DIR"] != nil)
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func message(_ d: String) -> String {
            do { try ModelFiles.check(d); return "ok" } catch { return "\(error)" }
        }
        #expect(message(dir + "/absent").contains("aisle model install"))
        #expect(message(dir).contains("model.safetensors, tokenizer.json, config.json"))
        for f in ModelFiles.required { try "x".write(toFile: dir + "/" + f, atomically: true, encoding: .utf8) }
        #expect(message(dir) == "ok")
        // An empty file is as good as missing.
        try "".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        #expect(message(dir).contains("config.json") && message(dir).contains("aisle model install"))
        // Installing over a complete directory does nothing (and needs no network).
        try "x".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        var said: [String] = []
        try ModelFiles.install(into: dir, python: "/nonexistent/python") { said.append($0) }
        #expect(said.count == 1 && said[0].contains("already installed"))
    }

    /// The real tokenizer: encodings produced once with the `tokenizers` package (0.23.3):
    ///   t = tokenizers.Tokenizer.from_file(".../all-MiniLM-L6-v2/tokenizer.json"); t.no_padding()
    ///   t.encode(text).ids
    @Test func realTokenizer() throws {
        let dir = ModelFiles.directory(nil)
        guard ModelFiles.installed(dir) else {
            print("WordPieceTests.realTokenizer: no model in \(dir) (`aisle model install`): known encodings skipped")
            return
        }
        let tok = try WordPieceTokenizer(path: ModelFiles.path(dir, "tokenizer.json"))
        #expect(tok.vocabularySize == 30522)
        let known: [(String, [Int32])] = [
            ("DEWALT 20-Volt MAX Cordless Drill/Driver Kit (DCD771C2)",
             [101, 24903, 2389, 2102, 2322, 1011, 5285, 2102, 4098, 11601, 3238, 12913, 1013, 4062, 8934, 1006, 5887, 2094, 2581, 2581, 2487, 2278, 2475, 1007, 102]),
            ("Crème Brûlée torch, Größe XL — İstanbul",
             [101, 13675, 21382, 7987, 9307, 2063, 12723, 1010, 24665, 2080, 17499, 28712, 1517, 9960, 102]),
            ("小米 充电宝 10000mAh 🔋 [MASK]",
             [101, 1829, 100, 100, 100, 100, 6694, 2692, 25687, 100, 103, 102]),
            ("wall lights\tsconce\u{00A0}\u{200B}brass\u{0007}",
             [101, 2813, 4597, 8040, 2239, 3401, 8782, 102]),
            // 70 × "unbelievably" (un ##bel ##ie ##va ##bly): 25 whole words and "un" fit in 126.
            (Array(repeating: "unbelievably", count: 70).joined(separator: " "),
             [101] + Array([[Int32]](repeating: [4895, 8671, 2666, 3567, 6321], count: 25).joined()) + [4895, 102]),
        ]
        for (text, ids) in known {
            #expect(tok.encode(text) == ids, "\(text)")
        }
    }
}
