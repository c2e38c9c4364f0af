import Foundation

/// The BERT WordPiece tokenizer of a Hugging Face `tokenizer.json` (the one all-MiniLM-L6-v2 ships),
/// giving the ids the `tokenizers` package gives with padding off:
///
/// 1. Added tokens that are not normalized (`[CLS]`, `[SEP]`, `[MASK]`, ...) are split out of the
///    raw text first (leftmost, then longest match; case-sensitive), as the `tokenizers` package does.
/// 2. `BertNormalizer`: clean text (drop U+0000, U+FFFD and control/format/private-use characters
///    except tab, newline and carriage return; every whitespace character becomes a space), spaces
///    around CJK ideographs, accents stripped (NFD, then nonspacing marks dropped; `strip_accents:
///    null` follows `lowercase`), lowercase (per character, full mappings, no context: "İ" → "i̇",
///    "Σ" → "σ" everywhere).
/// 3. `BertPreTokenizer`: split on whitespace, and every punctuation character (ASCII 33-47, 58-64,
///    91-96, 123-126, or Unicode category P*) is a token of its own.
/// 4. `WordPiece`: greedy longest match first, continuations prefixed `##`; a word with no
///    segmentation, or longer than `max_input_chars_per_word` characters, is one `[UNK]`.
/// 5. `[CLS] A [SEP]`, the word pieces truncated to `maxLength - 2` (truncation from the right).
///
/// The `tokenizers` package classifies characters (control, nonspacing mark, punctuation) with
/// the `unicode_categories` crate, whose tables are Unicode 8.0: a character assigned later is none
/// of these there, so it is here too (its current category counts only if its Unicode age is at
/// most 8.0, with seven exceptions listed below). Whitespace, lowercase and NFD use current Unicode data, as Rust's standard library and
/// `unicode-normalization` do.
///
/// ASCII text never leaves UTF-8 bytes: a byte class table, then vocabulary lookups in a
/// byte-keyed open-addressing hash table (no `String` per word piece). Only words holding non-ASCII
/// characters go through Foundation's NFD.
public final class WordPieceTokenizer: Sendable {
    /// The number of ids (one more than the largest id of the vocabulary and the added tokens).
    public let vocabularySize: Int
    /// `[UNK]`'s id.
    public let unknownId: Int32
    /// The ids put before and after the text (`[CLS]`, `[SEP]`).
    public let prefixIds: [Int32]
    public let suffixIds: [Int32]
    /// The truncation length configured in tokenizer.json (nil: none).
    public let configuredMaxLength: Int?
    /// `max_input_chars_per_word`: longer words are one `[UNK]`.
    public let maxInputCharsPerWord: Int

    let tokens: [String?]
    let initial: PieceTable
    let continuation: PieceTable
    let added: [(bytes: [UInt8], id: Int32)]
    let addedFirstBytes: [Bool]
    /// Per ASCII byte: 0 word character, 1 whitespace (a boundary), 2 removed, 3 punctuation.
    let asciiClass: [UInt8]
    /// Per ASCII byte: the byte after lowercasing (identity when `lowercase` is off).
    let asciiMap: [UInt8]
    let cleanText: Bool
    let chineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool

    static let wordChar: UInt8 = 0, space: UInt8 = 1, removed: UInt8 = 2, punct: UInt8 = 3

    public convenience init(path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw EmbeddingError.model("cannot read \(path) (run `aisle model install`)")
        }
        try self.init(data: d, name: path)
    }

    public init(data: Data, name: String = "tokenizer.json") throws {
        func bad(_ m: String) -> EmbeddingError { .model("\(name): \(m)") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let model = root["model"] as? [String: Any] else { throw bad("no \"model\"") }
        let modelType = model["type"] as? String ?? "WordPiece"
        guard modelType == "WordPiece" else { throw bad("model type \(modelType) is not supported (only WordPiece)") }
        guard let vocabAny = model["vocab"] as? [String: Any], !vocabAny.isEmpty else { throw bad("model.vocab is missing or empty") }
        var vocab: [(String, Int32)] = []
        vocab.reserveCapacity(vocabAny.count)
        for (k, v) in vocabAny {
            guard let n = Self.int(v), n >= 0, n < Int(Int32.max) else { throw bad("vocabulary entry \(k) has no valid id") }
            vocab.append((k, Int32(n)))
        }
        let unk = model["unk_token"] as? String ?? "[UNK]"
        let prefix = model["continuing_subword_prefix"] as? String ?? "##"
        maxInputCharsPerWord = Self.int(model["max_input_chars_per_word"]) ?? 100

        // Added tokens: those not normalized are matched in the raw text.
        var addedTokens: [(bytes: [UInt8], id: Int32)] = []
        var maxId = vocab.map(\.1).max() ?? 0
        for t in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = t["content"] as? String, let id = Self.int(t["id"]), id >= 0, id < Int(Int32.max) else {
                throw bad("an added token has no content or id")
            }
            maxId = max(maxId, Int32(id))
            if (t["normalized"] as? Bool) == true || content.isEmpty { continue }
            addedTokens.append((Array(content.utf8), Int32(id)))
        }
        added = addedTokens
        var firsts = [Bool](repeating: false, count: 256)
        for a in addedTokens { firsts[Int(a.bytes[0])] = true }
        addedFirstBytes = firsts

        var byId = [String?](repeating: nil, count: Int(maxId) + 1)
        for (k, id) in vocab { byId[Int(id)] = k }
        for t in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let c = t["content"] as? String, let id = Self.int(t["id"]), id >= 0, id < byId.count, byId[id] == nil { byId[id] = c }
        }
        tokens = byId
        vocabularySize = byId.count

        func idOf(_ token: String) -> Int32? {
            if let v = Self.int(vocabAny[token]) { return Int32(v) }
            return addedTokens.first { $0.bytes == Array(token.utf8) }?.id
        }
        guard let unkId = idOf(unk) else { throw bad("the unknown token \(unk) is not in the vocabulary") }
        unknownId = unkId

        // Normalizer.
        let norm = root["normalizer"] as? [String: Any]
        if let norm {
            guard norm["type"] as? String == "BertNormalizer" else {
                throw bad("normalizer \(norm["type"] ?? "?") is not supported (only BertNormalizer)")
            }
        }
        cleanText = norm?["clean_text"] as? Bool ?? false
        chineseChars = norm?["handle_chinese_chars"] as? Bool ?? false
        lowercase = norm?["lowercase"] as? Bool ?? false
        stripAccents = norm?["strip_accents"] as? Bool ?? lowercase
        if let pre = root["pre_tokenizer"] as? [String: Any] {
            guard pre["type"] as? String == "BertPreTokenizer" else {
                throw bad("pre-tokenizer \(pre["type"] ?? "?") is not supported (only BertPreTokenizer)")
            }
        } else {
            throw bad("no pre_tokenizer (only BertPreTokenizer is supported)")
        }

        // Post-processor: [CLS] A [SEP].
        var before: [Int32] = [], after: [Int32] = []
        if let post = root["post_processor"] as? [String: Any] {
            switch post["type"] as? String {
            case "TemplateProcessing":
                let specials = post["special_tokens"] as? [String: Any] ?? [:]
                var seenA = false
                for item in post["single"] as? [[String: Any]] ?? [] {
                    if item["Sequence"] != nil { seenA = true; continue }
                    guard let sp = item["SpecialToken"] as? [String: Any], let name = sp["id"] as? String else {
                        throw bad("post_processor.single has an item that is neither SpecialToken nor Sequence")
                    }
                    var ids: [Int32] = []
                    if let s = specials[name] as? [String: Any], let l = s["ids"] as? [Any], !l.isEmpty {
                        ids = try l.map { guard let v = Self.int($0) else { throw bad("special token \(name) has a bad id") }; return Int32(v) }
                    } else if let id = idOf(name) {
                        ids = [id]
                    } else {
                        throw bad("special token \(name) has no id")
                    }
                    if seenA { after += ids } else { before += ids }
                }
            case "BertProcessing":
                guard let cls = post["cls"] as? [Any], cls.count == 2, let c = Self.int(cls[1]),
                      let sep = post["sep"] as? [Any], sep.count == 2, let s = Self.int(sep[1]) else {
                    throw bad("BertProcessing without cls and sep")
                }
                before = [Int32(c)]; after = [Int32(s)]
            default:
                throw bad("post-processor \(post["type"] ?? "?") is not supported")
            }
        }
        prefixIds = before
        suffixIds = after
        configuredMaxLength = Self.int((root["truncation"] as? [String: Any])?["max_length"])

        // Lookup tables: every piece as is, and the continuations keyed without their prefix.
        initial = PieceTable(vocab.map { (Array($0.0.utf8), $0.1) })
        let p = Array(prefix.utf8)
        continuation = PieceTable(vocab.compactMap { k, id in
            let b = Array(k.utf8)
            guard b.count > p.count, b.starts(with: p) else { return nil }
            return (Array(b[p.count...]), id)
        })

        var cls = [UInt8](repeating: Self.wordChar, count: 128)
        var map = [UInt8](0..<128)
        for b in 0..<128 {
            let c = UInt8(b)
            if (33...47).contains(c) || (58...64).contains(c) || (91...96).contains(c) || (123...126).contains(c) {
                cls[b] = Self.punct
            } else if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                cls[b] = Self.space
            } else if c < 0x20 || c == 0x7F {
                // Other C0 controls: removed by clean_text; \v and \f are whitespace to the pre-tokenizer.
                cls[b] = cleanText ? Self.removed : (c == 0x0B || c == 0x0C ? Self.space : Self.wordChar)
            }
            if lowercase, (65...90).contains(c) { map[b] = c + 32 }
        }
        asciiClass = cls
        asciiMap = map
    }

    /// A JSON integer (JSONSerialization gives Int or NSNumber).
    static func int(_ v: Any?) -> Int? {
        switch v {
        case let i as Int: return i
        case let n as NSNumber: return Int(exactly: n.doubleValue)
        case let d as Double: return Int(exactly: d)
        default: return nil
        }
    }

    /// The vocabulary entry of an id.
    public func token(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }

    /// The ids of a text: `[CLS]`, at most `maxLength - 2` word pieces, `[SEP]`. Not padded.
    public func encode(_ text: String, maxLength: Int = 128) -> [Int32] {
        let limit = max(0, maxLength - prefixIds.count - suffixIds.count)
        var out: [Int32] = []
        out.reserveCapacity(min(limit, text.utf8.count + 1) + prefixIds.count + suffixIds.count)
        out += prefixIds
        let base = out.count
        var state = State()
        var t = text
        t.withUTF8 { bytes in
            guard let p = bytes.baseAddress, bytes.count > 0 else { return }
            run(p, bytes.count, limit: base + limit, out: &out, state: &state)
        }
        if out.count > base + limit { out.removeSubrange((base + limit)...) }
        out += suffixIds
        return out
    }

    /// The word pieces of a text as strings (for display).
    public func tokenize(_ text: String, maxLength: Int = 128) -> [String] {
        encode(text, maxLength: maxLength).map { token($0) ?? "?" }
    }

    /// Reused buffers of one encode call.
    struct State {
        var word: [UInt8] = []
        var wordChars = 0
        var wordASCII = true
        var piece: [UInt8] = []
        init() {
            word.reserveCapacity(64)
            piece.reserveCapacity(64)
        }
    }

    /// Splits out the added tokens, then tokenizes the text between them.
    private func run(_ p: UnsafePointer<UInt8>, _ n: Int, limit: Int, out: inout [Int32], state: inout State) {
        var segmentStart = 0
        if !added.isEmpty {
            var i = 0
            while i < n {
                if addedFirstBytes[Int(p[i])] {
                    var best = -1, bestLen = 0
                    for (k, a) in added.enumerated() where a.bytes.count > bestLen && a.bytes.count <= n - i {
                        var same = true
                        for j in 0..<a.bytes.count where p[i + j] != a.bytes[j] { same = false; break }
                        if same { best = k; bestLen = a.bytes.count }
                    }
                    if best >= 0 {
                        if i > segmentStart { segment(p + segmentStart, i - segmentStart, limit: limit, out: &out, state: &state) }
                        if out.count >= limit { return }
                        out.append(added[best].id)
                        i += bestLen
                        segmentStart = i
                        continue
                    }
                }
                i += 1
            }
        }
        if n > segmentStart { segment(p + segmentStart, n - segmentStart, limit: limit, out: &out, state: &state) }
    }

    /// Normalizes, pre-tokenizes and word-pieces one stretch of text (no added tokens in it).
    private func segment(_ p: UnsafePointer<UInt8>, _ n: Int, limit: Int, out: inout [Int32], state: inout State) {
        state.word.removeAll(keepingCapacity: true)
        state.wordChars = 0
        state.wordASCII = true
        var i = 0
        while i < n {
            let b = p[i]
            if b < 0x80 {
                i += 1
                switch asciiClass[Int(b)] {
                case Self.wordChar:
                    state.word.append(asciiMap[Int(b)])
                    state.wordChars += 1
                case Self.space:
                    flush(&state, out: &out)
                    if out.count >= limit { return }
                case Self.punct:
                    flush(&state, out: &out)
                    if out.count >= limit { return }
                    state.word.append(b)
                    state.wordChars = 1
                    flush(&state, out: &out)
                    if out.count >= limit { return }
                default:
                    break    // removed
                }
                continue
            }
            // A non-ASCII scalar (the input is valid UTF-8).
            let len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            var v = UInt32(b) & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07)
            for j in 1..<len where i + j < n { v = v << 6 | UInt32(p[i + j] & 0x3F) }
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            let start = i
            i = min(n, i + len)
            if cleanText && Self.cleanRemoves(scalar) { continue }
            if scalar.properties.isWhitespace {
                flush(&state, out: &out)
                if out.count >= limit { return }
                continue
            }
            let chinese = chineseChars && Self.isChinese(v)
            if chinese {
                flush(&state, out: &out)
                if out.count >= limit { return }
            }
            for j in start..<i { state.word.append(p[j]) }
            state.wordChars += 1
            state.wordASCII = false
            if chinese {
                flush(&state, out: &out)
                if out.count >= limit { return }
            }
        }
        flush(&state, out: &out)
    }

    /// Ends the current word: ASCII words go straight to WordPiece; others are normalized (NFD,
    /// marks dropped, lowercased) and split at punctuation first.
    private func flush(_ state: inout State, out: inout [Int32]) {
        defer {
            state.word.removeAll(keepingCapacity: true)
            state.wordChars = 0
            state.wordASCII = true
        }
        if state.word.isEmpty { return }
        if state.wordASCII {
            wordPiece(state.word, chars: state.wordChars, out: &out)
            return
        }
        var text = String(decoding: state.word, as: UTF8.self)
        if stripAccents { text = text.decomposedStringWithCanonicalMapping }
        state.piece.removeAll(keepingCapacity: true)
        var chars = 0
        func emit(_ s: Unicode.Scalar) {
            if s.isASCII {
                let b = UInt8(s.value)
                if asciiClass[Int(b)] == Self.punct {
                    if !state.piece.isEmpty { wordPiece(state.piece, chars: chars, out: &out) }
                    state.piece.removeAll(keepingCapacity: true)
                    wordPiece([b], chars: 1, out: &out)
                    chars = 0
                } else {
                    state.piece.append(b)
                    chars += 1
                }
            } else if Self.isPunctuation(s) {
                if !state.piece.isEmpty { wordPiece(state.piece, chars: chars, out: &out) }
                state.piece.removeAll(keepingCapacity: true)
                wordPiece(Array(String(s).utf8), chars: 1, out: &out)
                chars = 0
            } else {
                state.piece.append(contentsOf: String(s).utf8)
                chars += 1
            }
        }
        for s in text.unicodeScalars {
            if stripAccents && Self.isNonspacingMark(s) { continue }
            if lowercase && !s.isASCII && s.properties.changesWhenLowercased {
                for l in s.properties.lowercaseMapping.unicodeScalars { emit(l) }
            } else if lowercase && s.isASCII {
                emit(Unicode.Scalar(asciiMap[Int(s.value)]))
            } else {
                emit(s)
            }
        }
        if !state.piece.isEmpty { wordPiece(state.piece, chars: chars, out: &out) }
    }

    /// Greedy longest-match-first WordPiece of one pre-tokenized word (UTF-8, `chars` characters).
    private func wordPiece(_ word: [UInt8], chars: Int, out: inout [Int32]) {
        if chars > maxInputCharsPerWord {
            out.append(unknownId)
            return
        }
        let mark = out.count
        word.withUnsafeBufferPointer { w in
            let n = w.count
            var start = 0
            while start < n {
                let table = start == 0 ? initial : continuation
                var end = min(n, start + table.maxKey)
                while end < n && end > start && w[end] & 0xC0 == 0x80 { end -= 1 }   // a character boundary
                var found: Int32 = -1
                while end > start {
                    if let id = table.lookup(w.baseAddress! + start, end - start) { found = id; break }
                    end -= 1
                    while end > start && w[end] & 0xC0 == 0x80 { end -= 1 }
                }
                if found < 0 {
                    out.removeSubrange(mark...)
                    out.append(unknownId)
                    return
                }
                out.append(found)
                start = end
            }
        }
    }

    // MARK: character classes (see the type's comment on Unicode 8.0)

    /// Whether a character assigned by Unicode 8.0 (the tables of the `unicode_categories` crate).
    @inline(__always) static func inUnicode8(_ s: Unicode.Scalar) -> Bool {
        guard let age = s.properties.age else { return false }
        return age.major < 8 || (age.major == 8 && age.minor == 0)
    }

    /// clean_text drops U+0000, U+FFFD, and control (Cc), format (Cf) and private-use (Co)
    /// characters, but not tab, newline and carriage return.
    static func cleanRemoves(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v == 0 || v == 0xFFFD { return true }
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        switch s.properties.generalCategory {
        case .control, .privateUse, .surrogate: return true
        case .format: return inUnicode8(s)
        default: return false
        }
    }

    // Characters of Unicode 8.0 whose category changed since (found by comparing every code point's
    // treatment by `tokenizers` 0.23.3's BertNormalizer and BertPreTokenizer with the rule
    // "current category, age at most 8.0"): these seven are the only differences.
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x1734, 0x1171E: return true                     // Mn in 8.0, Mc now
        case 0x1885, 0x1886, 0xA9BD, 0x111C9: return false    // Lo, Lo, Mc, Po in 8.0; Mn now
        default: return s.properties.generalCategory == .nonspacingMark && inUnicode8(s)
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value == 0x166D || s.value == 0x111C9 { return true }   // Po in 8.0; So and Mn now
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return inUnicode8(s)
        default:
            return false
        }
    }

    /// CJK ideographs, as the `tokenizers` package defines them.
    @inline(__always) static func isChinese(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

/// Vocabulary pieces keyed by their UTF-8 bytes: open addressing, linear probing, the keys in one
/// byte array.
struct PieceTable: Sendable {
    let bytes: [UInt8]
    /// Per slot: the entry's start in `bytes`, its length and id; length -1 for an empty slot.
    let starts: [Int32]
    let lengths: [Int32]
    let ids: [Int32]
    let mask: Int
    let maxKey: Int

    init(_ entries: [([UInt8], Int32)]) {
        var cap = 16
        while cap < entries.count * 2 { cap <<= 1 }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.reduce(0) { $0 + $1.0.count })
        var starts = [Int32](repeating: 0, count: cap)
        var lengths = [Int32](repeating: -1, count: cap)
        var ids = [Int32](repeating: 0, count: cap)
        var maxKey = 0
        let mask = cap - 1
        for (key, id) in entries {
            let h = key.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
            var slot = Int(truncatingIfNeeded: h) & mask
            while lengths[slot] >= 0 { slot = (slot + 1) & mask }
            starts[slot] = Int32(bytes.count)
            lengths[slot] = Int32(key.count)
            ids[slot] = id
            bytes += key
            maxKey = max(maxKey, key.count)
        }
        self.bytes = bytes
        self.starts = starts
        self.lengths = lengths
        self.ids = ids
        self.mask = mask
        self.maxKey = maxKey
    }

    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        if n > maxKey { return nil }
        var slot = Int(truncatingIfNeeded: Self.hash(p, n)) & mask
        return lengths.withUnsafeBufferPointer { lengths in
            bytes.withUnsafeBufferPointer { bytes in
                while true {
                    let len = Int(lengths[slot])
                    if len < 0 { return nil }
                    if len == n {
                        let s = Int(starts[slot])
                        if memcmp(bytes.baseAddress! + s, p, n) == 0 { return ids[slot] }
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
    }
}
