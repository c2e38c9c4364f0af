/// A ``TextAnalyzer`` assembled from a ``Tokenizer`` followed by ``TokenFilter``s (tantivy/Lucene style).
///
/// ```swift
/// let analyzer = try PipelineAnalyzer(name: "my-english", tokenizer: ICUWordTokenizer(),
///                                     filters: [CaseFoldFilter(), AccentFoldFilter(), SnowballStemFilter()])
/// ```
/// Thread-safe: every call borrows a pooled worker (tokenizer and filter working instances) for its duration.
public final class PipelineAnalyzer: TextAnalyzer {
    /// The analyzer's name.
    public let name: String
    /// The tokenizer.
    public let tokenizer: any Tokenizer
    /// The filters, applied in order to each token.
    public let filters: [any TokenFilter]

    private let pool: WorkerPool<PipelineWorker>

    /// Builds the analyzer and one working instance of each stage (so configuration errors surface here).
    /// - Throws: ``AnalyzerError`` if a stage cannot be created (e.g. an ICU failure, an unknown stemmer language).
    public init(name: String, tokenizer: any Tokenizer, filters: [any TokenFilter]) throws {
        self.name = name
        self.tokenizer = tokenizer
        self.filters = filters
        let first = try PipelineWorker(tokenizer: tokenizer, filters: filters)
        pool = WorkerPool(first: first) { try? PipelineWorker(tokenizer: tokenizer, filters: filters) }
    }

    /// See ``TextAnalyzer/analyze(utf8:firstPosition:emit:)``.
    @discardableResult
    public func analyze(utf8: UnsafeBufferPointer<UInt8>, firstPosition: Int32,
                        emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        let input = UnsafeBufferPointer(rebasing: utf8.prefix(Int(Int32.max)))
        return pool.withWorker { worker in
            worker.run(input, firstPosition: firstPosition, emit: emit)
        }
    }

    /// See ``TextAnalyzer/normalize(_:)``.
    public func normalize(_ text: String) -> String? {
        let terms = normalizedTerms(text)
        return terms.isEmpty ? nil : terms.joined(separator: " ")
    }

    /// The terms of `text` after tokenizing and the filters that apply to normalisation (no stop-word removal, no
    /// stemming), in order.
    public func normalizedTerms(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { input in
            let input = UnsafeBufferPointer(rebasing: input.prefix(Int(Int32.max)))
            return pool.withWorker { worker in
                var terms: [String] = []
                worker.runNormalizing(input, firstPosition: 0) { term, _, _, _ in
                    terms.append(String(decoding: term, as: UTF8.self))
                }
                return terms
            }
        }
    }
}

/// One working instance of a whole pipeline; used by one thread at a time.
final class PipelineWorker {
    let tokenizer: any TokenizerWorker
    let filters: [TokenFilterWorker]
    let normalizationFilters: [TokenFilterWorker]
    /// Set when there are no filters and the tokenizer can emit terms without copying.
    let direct: (any DirectTokenizerWorker)?
    /// `filters` and `normalizationFilters` again, as unretained references (see `run`).
    private let filterChain: [Unmanaged<TokenFilterWorker>]
    private let normalizationChain: [Unmanaged<TokenFilterWorker>]

    init(tokenizer: any Tokenizer, filters: [any TokenFilter]) throws {
        self.tokenizer = try tokenizer.makeWorker()
        var all: [TokenFilterWorker] = []
        var normalizing: [TokenFilterWorker] = []
        for filter in filters {
            let worker = try filter.makeWorker()
            all.append(worker)
            if filter.appliesToNormalization { normalizing.append(worker) }
        }
        self.filters = all
        self.normalizationFilters = normalizing
        direct = all.isEmpty ? self.tokenizer as? any DirectTokenizerWorker : nil
        filterChain = all.map { Unmanaged.passUnretained($0) }
        normalizationChain = normalizing.map { Unmanaged.passUnretained($0) }
    }

    /// Runs the tokenizer and all filters.
    @discardableResult
    func run(_ input: UnsafeBufferPointer<UInt8>, firstPosition: Int32,
             emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        run(input, firstPosition: firstPosition, chain: filterChain, emit: emit)
    }

    /// Runs the tokenizer and the filters that apply to query normalisation.
    @discardableResult
    func runNormalizing(_ input: UnsafeBufferPointer<UInt8>, firstPosition: Int32,
                        emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        run(input, firstPosition: firstPosition, chain: normalizationChain, emit: emit)
    }

    private func run(_ input: UnsafeBufferPointer<UInt8>, firstPosition: Int32, chain: [Unmanaged<TokenFilterWorker>],
                     emit: (UnsafeBufferPointer<UInt8>, Int32, Int32, Int32) -> Void) -> Int32 {
        var position = firstPosition
        if chain.isEmpty, let direct {
            direct.tokenizeDirect(input) { term, start, end in
                emit(term, position, start, end)
                position = position == .max ? .max : position + 1
            }
            return position
        }
        // Call the filters through unretained references (`filters` keeps them alive): calling through strong
        // references retained and released every filter for every token, a third of english's time.
        chain.withUnsafeBufferPointer { chain in
            tokenizer.tokenize(input) { term, start, end in
                var verdict = FilterVerdict.keep
                for index in chain.indices {
                    verdict = chain[index]._withUnsafeGuaranteedRef { $0.filter(&term) }
                    if verdict != .keep || term.isEmpty { break }
                }
                if term.isEmpty && verdict == .keep { verdict = .removeWithoutGap }
                switch verdict {
                case .keep:
                    term.withUnsafeBufferPointer { emit($0, position, start, end) }
                    position = position == .max ? .max : position + 1
                case .removeLeavingGap:
                    position = position == .max ? .max : position + 1
                case .removeWithoutGap:
                    break
                }
            }
        }
        return position
    }
}
