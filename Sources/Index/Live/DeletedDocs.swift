/// Tombstones of one segment: a bit per document, set when the document was deleted (or replaced
/// by a newer version). Immutable; the writer makes a new one for each snapshot that changes it.
///
/// On disk (`seg_N_gG.del`, kind DELS): `u32 docCount | u32 deletedCount | u64 words...`.
public final class DeletedDocs: @unchecked Sendable {
    public static let kind = "DELS"
    public static let version: UInt32 = 1

    public let docCount: Int
    public let count: Int
    let words: UnsafeMutablePointer<UInt64>
    let wordCount: Int

    init(docCount: Int, words source: [UInt64]) {
        self.docCount = docCount
        wordCount = (docCount + 63) / 64
        words = .allocate(capacity: max(wordCount, 1))
        words.initialize(repeating: 0, count: max(wordCount, 1))
        var n = 0
        for i in 0..<min(wordCount, source.count) {
            var w = source[i]
            if i == wordCount - 1 && docCount % 64 != 0 { w &= (1 << UInt64(docCount % 64)) - 1 }
            words[i] = w
            n += w.nonzeroBitCount
        }
        count = n
    }

    deinit { words.deallocate() }

    @inline(__always) public func isDeleted(_ doc: Int) -> Bool {
        words[doc >> 6] & (1 << UInt64(doc & 63)) != 0
    }

    /// The bits as words (for the writer's mutable copy).
    var wordArray: [UInt64] { Array(UnsafeBufferPointer(start: words, count: wordCount)) }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 8 + wordCount * 8)
        w.u32(UInt32(docCount))
        w.u32(UInt32(count))
        for i in 0..<wordCount { w.u64(words[i]) }
        return w.bytes
    }

    /// Reads a tombstone file, checking it against the segment it belongs to.
    static func read(file: IndexFile, docCount expected: Int, deleted expectedCount: Int) throws -> DeletedDocs {
        var r = file.reader()
        let dc = Int(try r.u32())
        let n = Int(try r.u32())
        guard dc == expected else {
            throw IndexError.corrupt(file: file.name, reason: "tombstones for \(dc) documents, the segment has \(expected)")
        }
        let wc = (dc + 63) / 64
        guard file.payload.count == 8 + wc * 8 else {
            throw IndexError.corrupt(file: file.name, reason: "tombstone file has the wrong length")
        }
        var ws = [UInt64](repeating: 0, count: wc)
        for i in 0..<wc { ws[i] = try r.u64() }
        let d = DeletedDocs(docCount: dc, words: ws)
        guard d.count == n, n == expectedCount else {
            throw IndexError.corrupt(file: file.name, reason: "tombstone count \(d.count) differs from the recorded \(expectedCount)")
        }
        return d
    }
}

/// Skips deleted documents (a filter every search of a segment with tombstones gets).
final class LiveDocsPredicate: DocPredicate {
    let deleted: DeletedDocs
    let words: UnsafeMutablePointer<UInt64>
    init(_ deleted: DeletedDocs) {
        self.deleted = deleted
        words = deleted.words
    }
    @inline(__always) override func matches(_ doc: UInt32) -> Bool {
        words[Int(doc >> 6)] & (1 << UInt64(doc & 63)) == 0
    }
}
