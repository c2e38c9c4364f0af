import Foundation
import Testing
import AisleAnalyzer

/// Checks on real product text from `../shared/corpora` (read in place, never copied into the repository).
/// Skipped, saying so, when that folder is absent.
@Suite(.enabled(if: RealCorpus.available, "../shared/corpora (homedepot, bigbasket) not found: real-data checks skipped"))
struct RealCorpusTests {
    @Test func plainEqualsReferenceOnASCIIProducts() throws {
        let plain = try Analyzers.named("plain")
        var checked = 0
        for text in RealCorpus.all where text.utf8.allSatisfy({ $0 < 0x80 }) {
            let bytes = Array(text.utf8)
            #expect(plain.tokens(text) == PlainReferenceTests.reference(bytes), "\(text.debugDescription)")
            checked += 1
        }
        #expect(checked > 50_000)
    }

    @Test(arguments: Analyzers.names)
    func invariantsOnRealProducts(analyzerName: String) throws {
        let analyzer = try Analyzers.named(analyzerName)
        let texts = RealCorpus.all
        #expect(texts.count > 60_000)
        for text in texts.prefix(12_000) {
            let problem = InvariantTests.violation(analyzer, Array(text.utf8), firstPosition: 0)
            #expect(problem == nil, "\(text.debugDescription): \(problem ?? "")")
        }
    }
}

enum RealCorpus {
    /// `../shared/corpora` next to the repository (found from this file's path).
    static var directory: URL {
        URL(fileURLWithPath: #filePath)   // Tests/AnalyzerTests/RealCorpusTests.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("shared/corpora")
    }

    static var homeDepot: URL { directory.appendingPathComponent("homedepot/products.tsv") }
    static var bigBasket: URL { directory.appendingPathComponent("bigbasket/products.jsonl") }

    static var available: Bool {
        FileManager.default.fileExists(atPath: homeDepot.path) && FileManager.default.fileExists(atPath: bigBasket.path)
    }

    /// The texts, read once.
    static let all: [String] = (try? texts()) ?? []

    /// Home Depot product titles, then BigBasket "name description" texts.
    static func texts() throws -> [String] {
        var texts: [String] = []
        let tsv = try String(contentsOf: homeDepot, encoding: .utf8)
        for line in tsv.split(separator: "\n").dropFirst() {   // header: product_uid<TAB>product_title
            if let tab = line.firstIndex(of: "\t") { texts.append(String(line[line.index(after: tab)...])) }
        }
        let jsonl = try String(contentsOf: bigBasket, encoding: .utf8)
        for line in jsonl.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            texts.append("\(object["product"] as? String ?? "") \(object["description"] as? String ?? "")")
        }
        return texts
    }
}
