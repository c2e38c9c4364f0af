/// A per-segment cursor over the documents a query matches, in increasing order, with their scores.
/// Call `nextDoc()` or `advance(_:)` before reading `doc`; `noMoreDocs` marks the end.
class Scorer {
    static let noMoreDocs = PostingsCursor.noMoreDocs
    var doc: UInt32 = 0

    /// Moves to the next match.
    func nextDoc() -> UInt32 { fatalError("abstract") }
    /// Moves to the first match >= target (no-op if already there).
    func advance(_ target: UInt32) -> UInt32 { fatalError("abstract") }
    /// Score of the current match.
    func score() -> Float { 0 }
    /// An upper bound of `score()` over the segment.
    var maxScore: Float { Float.infinity }
    /// Estimated number of matches.
    var cost: Int { 0 }
    /// Damage found while reading, if any.
    var corruption: String? { nil }
    /// Explains the score of the current match.
    func explain() -> Explanation { Explanation(value: score(), description: "score") }
    /// The score of `target` if it matches, else nil, for rescoring given documents in increasing
    /// order. Unlike `advance`, it never searches past `target` for the next match (a phrase
    /// would check positions of every document on the way); after a nil the scorer may be anywhere
    /// at or before the next target, so only `score(at:)` with larger targets may follow.
    func score(at target: UInt32) -> Float? { advance(target) == target ? score() : nil }
    /// Whether `target` matches, under the contract of `score(at:)`; for callers that need no
    /// score (a fixed bonus), so a phrase may stop at its first occurrence.
    func matches(at target: UInt32) -> Bool { score(at: target) != nil }
    /// A bonus added to a first score (`TopKCollector`'s rescoring), under the contract of
    /// `score(at:)`: `target`'s score (0 when it does not match); but when `first` plus it cannot
    /// exceed `beat`, any value whose sum with `first` does not exceed `beat` either (the document
    /// will not enter the page, so a sum of bonuses may stop reading once the rest cannot lift it).
    func bonus(at target: UInt32, first: Float, beat: Float) -> Float { score(at: target) ?? 0 }
}

/// Text terms' cursors of one search in one segment by (slot, term): the first query's term
/// scorers offer theirs, and phrases of a second query over the same terms read positions from
/// them (see `PhraseScorer.shared`).
final class CursorShare {
    private struct Key: Hashable {
        var slot: Int
        var term: [UInt8]
    }
    private var cursors: [Key: PostingsCursor] = [:]
    func offer(slot: Int, term: [UInt8], _ cursor: PostingsCursor) {
        let key = Key(slot: slot, term: term)
        if cursors[key] == nil { cursors[key] = cursor }
    }
    func cursor(slot: Int, term: [UInt8]) -> PostingsCursor? { cursors[Key(slot: slot, term: term)] }
}

/// Per-field scoring data for a term in one segment (index j of the term's field mask).
struct TermFieldWeight {
    var member: Int
    var weight: Float              // boost_q * boost_f * idf * (k1 + 1); 0 when the field is not searched
    var kTable: UnsafePointer<Float>
    var norms: UnsafePointer<UInt8>
    var fieldName: String
    var idf: Float
    var df: UInt64
}

/// A text term: BM25F over the fields of its group.
final class TermScorer: Scorer {
    let cursor: PostingsCursor
    let k: Int
    let weights: UnsafeMutablePointer<Float>
    let kTables: UnsafeMutablePointer<UnsafePointer<Float>>
    let norms: UnsafeMutablePointer<UnsafePointer<UInt8>>
    let fieldInfo: [TermFieldWeight]
    /// Some fields of the term are not searched: a doc matches only if a searched field has the term.
    let checkFields: Bool
    let termText: String
    /// The term's slot and bytes (nil when not made from a term query).
    let key: TermKey?
    private let termMaxScore: Float

    init(cursor: PostingsCursor, fields: [TermFieldWeight], checkFields: Bool, termText: String, key: TermKey? = nil) {
        self.cursor = cursor
        self.key = key
        k = fields.count
        weights = .allocate(capacity: max(k, 1))
        kTables = .allocate(capacity: max(k, 1))
        norms = .allocate(capacity: max(k, 1))
        for (j, f) in fields.enumerated() {
            weights[j] = f.weight
            kTables[j] = f.kTable
            norms[j] = f.norms
        }
        fieldInfo = fields
        self.checkFields = checkFields
        self.termText = termText
        var m: Float = 0
        for j in 0..<fields.count {
            let maxTf = cursor.info.fieldMaxTf[j], minNorm = cursor.info.fieldMinNorm[j]
            m += bm25Bound(weight: fields[j].weight, kMin: fields[j].kTable[Int(minNorm)], maxTf: maxTf)
        }
        termMaxScore = m
        super.init()
    }

    deinit {
        weights.deallocate()
        kTables.deallocate()
        norms.deallocate()
    }

    override var maxScore: Float { termMaxScore }
    override var cost: Int { Int(cursor.info.docCount) }
    override var corruption: String? { cursor.corruption }

    @inline(__always) private func searchedFieldPresent() -> Bool {
        for j in 0..<k where weights[j] > 0 && cursor.tf(j) > 0 { return true }
        return false
    }

    override func nextDoc() -> UInt32 {
        var d = cursor.nextDoc()
        if checkFields {
            while d != Scorer.noMoreDocs && !searchedFieldPresent() { d = cursor.nextDoc() }
        }
        doc = d
        return d
    }

    override func advance(_ target: UInt32) -> UInt32 {
        var d = cursor.advance(target)
        if checkFields {
            while d != Scorer.noMoreDocs && !searchedFieldPresent() { d = cursor.nextDoc() }
        }
        doc = d
        return d
    }

    /// A match test reads no term frequencies (a word pair under a fixed bonus only asks this).
    override func matches(at target: UInt32) -> Bool { advance(target) == target }

    @inline(__always) override func score() -> Float {
        let d = Int(cursor.doc)
        var s: Float = 0
        for j in 0..<k {
            let tf = cursor.tf(j)
            if tf != 0 {
                s += weights[j] / (1 + kTables[j][Int(norms[j][d])] / Float(tf))
            }
        }
        return s
    }

    /// The shallow block whose bound `boundValue` holds (windows are often shorter than a block).
    private var boundBlock = -1
    private var boundValue: Float = 0

    /// Upper bound of the score over the block the cursor's skip position is in: the best of the
    /// block's impact vectors (`PostingsFormat`).
    @inline(__always) func blockMaxScore() -> Float {
        let b = cursor.shallowBlock
        if b == boundBlock { return boundValue }
        var best: Float = 0
        for v in 0..<cursor.blockVectors {
            var s: Float = 0
            for j in 0..<k {
                let (maxTf, minNorm) = cursor.blockBound(v, j)
                s += bm25Bound(weight: weights[j], kMin: kTables[j][Int(minNorm)], maxTf: maxTf)
            }
            if s > best { best = s }
        }
        boundBlock = b
        boundValue = best
        return best
    }

    override func explain() -> Explanation {
        let d = Int(cursor.doc)
        var details: [Explanation] = []
        var total: Float = 0
        for j in 0..<k {
            let tf = cursor.tf(j)
            guard tf > 0, weights[j] > 0 else { continue }
            let f = fieldInfo[j]
            let code = norms[j][d]
            let kk = kTables[j][Int(code)]
            let v = weights[j] / (1 + kk / Float(tf))
            total += v
            details.append(Explanation(
                value: v,
                description: "\(f.fieldName):\(termText) tf=\(tf) len=\(FieldNorm.decode(code)) idf=\(f.idf) (df=\(f.df)) weight=\(f.weight) K=\(kk)",
                details: []))
        }
        return Explanation(value: total, description: "term \(termText)", details: details)
    }
}

/// A keyword term: matches, scores 0.
final class KeywordScorer: Scorer {
    let cursor: PostingsCursor
    let label: String
    init(cursor: PostingsCursor, label: String) {
        self.cursor = cursor
        self.label = label
    }
    override func nextDoc() -> UInt32 { doc = cursor.nextDoc(); return doc }
    override func advance(_ target: UInt32) -> UInt32 { doc = cursor.advance(target); return doc }
    override var maxScore: Float { 0 }
    override var cost: Int { Int(cursor.info.docCount) }
    override var corruption: String? { cursor.corruption }
    override func explain() -> Explanation { Explanation(value: 0, description: "filter \(label)") }
}

/// Every document of the segment, score 0.
final class AllDocsScorer: Scorer {
    let maxDoc: UInt32
    private var started = false
    init(maxDoc: Int) { self.maxDoc = UInt32(maxDoc) }
    override func nextDoc() -> UInt32 {
        if !started { started = true; doc = 0 } else if doc != Scorer.noMoreDocs { doc += 1 }
        if doc >= maxDoc { doc = Scorer.noMoreDocs }
        return doc
    }
    override func advance(_ target: UInt32) -> UInt32 {
        if started && doc >= target { return doc }
        started = true
        doc = target >= maxDoc ? Scorer.noMoreDocs : target
        return doc
    }
    override var maxScore: Float { 0 }
    override var cost: Int { Int(maxDoc) }
    override func explain() -> Explanation { Explanation(value: 0, description: "match all") }
}

/// A sorted list of documents (an ids filter inside a query), score 0.
final class DocListScorer: Scorer {
    let docs: [UInt32]
    private var i = -1
    init(_ sorted: [UInt32]) {
        var unique: [UInt32] = []
        unique.reserveCapacity(sorted.count)
        for d in sorted where unique.last != d { unique.append(d) }
        docs = unique
    }
    override func nextDoc() -> UInt32 {
        if doc == Scorer.noMoreDocs && i >= 0 { return doc }
        i += 1
        doc = i < docs.count ? docs[i] : Scorer.noMoreDocs
        return doc
    }
    override func advance(_ target: UInt32) -> UInt32 {
        if i >= 0 && doc >= target { return doc }
        var lo = max(i, 0), hi = docs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if docs[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        i = lo
        doc = i < docs.count ? docs[i] : Scorer.noMoreDocs
        return doc
    }
    override var maxScore: Float { 0 }
    override var cost: Int { docs.count }
    override func explain() -> Explanation { Explanation(value: 0, description: "filter (ids)") }
}

/// All of the children match; scores add up.
final class ConjunctionScorer: Scorer {
    let children: [Scorer]   // sorted by cost, cheapest first
    private let kids: Unretained<Scorer>
    private let bound: Float
    init(_ children: [Scorer]) {
        self.children = children.sorted { $0.cost < $1.cost }
        kids = Unretained(self.children)
        bound = children.reduce(0) { $0 + $1.maxScore }
    }
    deinit { kids.free() }
    override var maxScore: Float { bound }
    override var cost: Int { children.first?.cost ?? 0 }
    override var corruption: String? { children.lazy.compactMap { $0.corruption }.first }

    private func align(_ start: UInt32) -> UInt32 {
        var target = start
        outer: while target != Scorer.noMoreDocs {
            var i = 1
            while i < kids.count {
                let d = kids.with(i) { $0.advance(target) }
                if d > target {
                    target = kids.with(0) { $0.advance(d) }
                    continue outer
                }
                i += 1
            }
            break
        }
        doc = target
        return target
    }

    override func nextDoc() -> UInt32 { align(kids.with(0) { $0.nextDoc() }) }
    override func advance(_ target: UInt32) -> UInt32 { align(kids.with(0) { $0.advance(target) }) }
    override func score() -> Float {
        var s: Float = 0
        for i in 0..<kids.count { s += kids.with(i) { $0.score() } }
        return s
    }
    override func explain() -> Explanation {
        let d = children.map { $0.explain() }
        return Explanation(value: d.reduce(0) { $0 + $1.value }, description: "all of", details: d)
    }
    override func score(at target: UInt32) -> Float? {
        var s: Float = 0
        for c in children {
            guard let x = c.score(at: target) else { return nil }
            s += x
        }
        return s
    }
}

/// At least `minimumMatch` of the children match. Scores of the matching ones add up (`sum`), add
/// up and are scaled by the share of the query's clauses matched (`coordinated`: `of` counts clauses
/// with no scorer in this segment too), or the best one counts plus `tieBreaker` times the others (`max`).
final class DisjunctionScorer: Scorer {
    enum Mode: Equatable {
        case sum
        case coordinated(of: Int)
        case max(tieBreaker: Float)
    }

    let children: [Scorer]
    private let kids: Unretained<Scorer>
    let minimumMatch: Int
    let mode: Mode
    private var started = false
    private let bound: Float
    deinit { kids.free() }
    init(_ children: [Scorer], minimumMatch: Int = 1, mode: Mode = .sum) {
        self.children = children
        kids = Unretained(children)
        self.minimumMatch = max(1, minimumMatch)
        self.mode = mode
        switch mode {
        case .sum, .coordinated:
            // Coordination scales by at most 1: the sum stays an upper bound.
            bound = children.reduce(0) { $0 + $1.maxScore }
        case .max(let tie):
            let m = children.reduce(0) { Swift.max($0, $1.maxScore) }
            bound = m + tie * (children.reduce(0) { $0 + $1.maxScore } - m)
        }
    }
    override var maxScore: Float { bound }
    override var cost: Int { children.reduce(0) { $0 + $1.cost } }
    override var corruption: String? { children.lazy.compactMap { $0.corruption }.first }

    @inline(__always) private func docOf(_ i: Int) -> UInt32 { kids.with(i) { $0.doc } }

    private func settle() -> UInt32 {
        let n = kids.count
        while true {
            var m = Scorer.noMoreDocs
            for i in 0..<n { let d = docOf(i); if d < m { m = d } }
            if m == Scorer.noMoreDocs { doc = m; return m }
            var k = 0
            for i in 0..<n where docOf(i) == m { k += 1 }
            if k >= minimumMatch { doc = m; return m }
            for i in 0..<n where docOf(i) == m { _ = kids.with(i) { $0.nextDoc() } }
        }
    }

    override func nextDoc() -> UInt32 {
        if !started {
            started = true
            for i in 0..<kids.count { _ = kids.with(i) { $0.nextDoc() } }
        } else {
            for i in 0..<kids.count where docOf(i) == doc { _ = kids.with(i) { $0.nextDoc() } }
        }
        return settle()
    }

    override func advance(_ target: UInt32) -> UInt32 {
        if started && doc >= target { return doc }
        started = true
        for i in 0..<kids.count { _ = kids.with(i) { $0.advance(target) } }
        return settle()
    }

    override func score() -> Float {
        let n = kids.count
        switch mode {
        case .sum:
            var s: Float = 0
            for i in 0..<n where docOf(i) == doc { s += kids.with(i) { $0.score() } }
            return s
        case .coordinated(let c):
            var s: Float = 0
            var k = 0
            for i in 0..<n where docOf(i) == doc { s += kids.with(i) { $0.score() }; k += 1 }
            return s * Float(k) / Float(c)
        case .max(let tie):
            var s: Float = 0
            var m: Float = 0
            for i in 0..<n where docOf(i) == doc {
                let x = kids.with(i) { $0.score() }
                s += x
                if x > m { m = x }
            }
            return tie == 0 ? m : m + tie * (s - m)
        }
    }

    /// A sum of bonuses stops once those not read yet cannot lift `first` above `beat`.
    override func bonus(at target: UInt32, first: Float, beat: Float) -> Float {
        guard mode == .sum, minimumMatch == 1, beat > -Float.infinity else { return score(at: target) ?? 0 }
        var sum: Float = 0
        var rest = bound
        for i in 0..<kids.count {
            // Float sums of the same terms in another order differ by ulps: the bound allows for it.
            if (first + sum + rest) * (1 + 1e-5) + 1e-5 <= beat { return sum }
            rest -= kids.with(i) { $0.maxScore }
            if let x = kids.with(i, { $0.score(at: target) }) { sum += x }
        }
        return sum
    }

    override func matches(at target: UInt32) -> Bool {
        var k = 0
        for i in 0..<kids.count where kids.with(i, { $0.matches(at: target) }) {
            k += 1
            if k >= minimumMatch { return true }
        }
        return false
    }

    override func score(at target: UInt32) -> Float? {
        var sum: Float = 0, best: Float = 0
        var k = 0
        for i in 0..<kids.count {
            guard let x = kids.with(i, { $0.score(at: target) }) else { continue }
            sum += x
            if x > best { best = x }
            k += 1
        }
        guard k >= minimumMatch else { return nil }
        switch mode {
        case .sum: return sum
        case .coordinated(let n): return sum * Float(k) / Float(n)
        case .max(let tie): return tie == 0 ? best : best + tie * (sum - best)
        }
    }

    /// When every clause is a plain term or the best of plain terms: the terms, each one's clause
    /// (nil: one clause per term) and the coordination divisor (0: none), for the MaxScore bulk path.
    var termClauses: (terms: [TermScorer], groups: [Int]?, coordination: Int)? {
        guard minimumMatch == 1 else { return nil }
        var terms: [TermScorer] = []
        var groups: [Int] = []
        var plain = true
        switch mode {
        case .max(let tie):
            guard tie == 0 else { return nil }
            for c in children {
                guard let t = c as? TermScorer, !t.checkFields else { return nil }
                terms.append(t)
                groups.append(0)
            }
            return (terms, groups, 0)
        case .sum, .coordinated:
            for (g, c) in children.enumerated() {
                if let t = c as? TermScorer, !t.checkFields {
                    terms.append(t)
                    groups.append(g)
                } else if let d = c as? DisjunctionScorer, d.mode == .max(tieBreaker: 0), d.minimumMatch == 1 {
                    for x in d.children {
                        guard let t = x as? TermScorer, !t.checkFields else { return nil }
                        terms.append(t)
                        groups.append(g)
                    }
                    plain = false
                } else {
                    return nil
                }
            }
        }
        let coordination: Int
        if case .coordinated(let n) = mode { coordination = n } else { coordination = 0 }
        return (terms, plain ? nil : groups, coordination)
    }

    override func explain() -> Explanation {
        let d = children.filter { $0.doc == doc }.map { $0.explain() }
        switch mode {
        case .sum:
            return Explanation(value: d.reduce(0) { $0 + $1.value }, description: "any of", details: d)
        case .coordinated(let n):
            return Explanation(value: score(), description: "any of, sum times \(d.count)/\(n) clauses matched", details: d)
        case .max(let tie):
            return Explanation(value: score(), description: tie == 0 ? "best of" : "best of, plus \(tie) times the others", details: d)
        }
    }
}

/// Matches of `required` that none of `excluded` match.
final class ReqExclScorer: Scorer {
    let required: Scorer
    let excluded: [Scorer]
    init(required: Scorer, excluded: [Scorer]) {
        self.required = required
        self.excluded = excluded
    }
    override var maxScore: Float { required.maxScore }
    override var cost: Int { required.cost }
    override var corruption: String? { required.corruption ?? excluded.lazy.compactMap { $0.corruption }.first }

    private func skipExcluded(_ start: UInt32) -> UInt32 {
        var d = start
        while d != Scorer.noMoreDocs && excluded.contains(where: { $0.advance(d) == d }) {
            d = required.nextDoc()
        }
        doc = d
        return d
    }
    override func nextDoc() -> UInt32 { skipExcluded(required.nextDoc()) }
    override func advance(_ target: UInt32) -> UInt32 { skipExcluded(required.advance(target)) }
    override func score() -> Float { required.score() }
    override func explain() -> Explanation { required.explain() }
    override func score(at target: UInt32) -> Float? {
        guard let s = required.score(at: target) else { return nil }
        return excluded.contains(where: { $0.score(at: target) != nil }) ? nil : s
    }
}

/// Matches of `required`; matching `optional` clauses add their scores.
final class ReqOptScorer: Scorer {
    let required: Scorer
    let optional: [Scorer]
    private let opts: Unretained<Scorer>
    init(required: Scorer, optional: [Scorer]) {
        self.required = required
        self.optional = optional
        opts = Unretained(optional)
    }
    deinit { opts.free() }
    override var maxScore: Float { optional.reduce(required.maxScore) { $0 + $1.maxScore } }
    override var cost: Int { required.cost }
    override var corruption: String? { required.corruption ?? optional.lazy.compactMap { $0.corruption }.first }
    override func nextDoc() -> UInt32 { doc = required.nextDoc(); return doc }
    override func advance(_ target: UInt32) -> UInt32 { doc = required.advance(target); return doc }
    override func score() -> Float {
        var s = required.score()
        let d = doc
        for i in 0..<opts.count where opts.with(i, { $0.advance(d) }) == d { s += opts.with(i) { $0.score() } }
        return s
    }
    override func explain() -> Explanation {
        var d = [required.explain()]
        for o in optional where o.advance(doc) == doc { d.append(o.explain()) }
        return Explanation(value: d.reduce(0) { $0 + $1.value }, description: "required plus optional", details: d)
    }
    override func score(at target: UInt32) -> Float? {
        guard var s = required.score(at: target) else { return nil }
        for i in 0..<opts.count { if let x = opts.with(i, { $0.score(at: target) }) { s += x } }
        return s
    }
}

/// Wraps a scorer and replaces its score by a constant.
final class ConstantScorer: Scorer {
    let inner: Scorer
    let value: Float
    init(_ inner: Scorer, value: Float) {
        self.inner = inner
        self.value = value
    }
    override var maxScore: Float { value }
    override var cost: Int { inner.cost }
    override var corruption: String? { inner.corruption }
    override func nextDoc() -> UInt32 { doc = inner.nextDoc(); return doc }
    override func advance(_ target: UInt32) -> UInt32 { doc = inner.advance(target); return doc }
    override func score() -> Float { value }
    override func explain() -> Explanation {
        Explanation(value: value, description: "constant", details: [inner.explain()])
    }
    override func score(at target: UInt32) -> Float? { inner.matches(at: target) ? value : nil }
    override func matches(at target: UInt32) -> Bool { inner.matches(at: target) }
}
