import Foundation
@testable import AisleIndex

/// A random corpus over a small Zipf vocabulary (so terms repeat, phrases occur and postings run
/// over several blocks), its schema, and an index built from it.
struct RandomCorpus {
    static let schema = Schema(idField: "id", fields: [
        FieldDefinition(name: "id", type: .keyword, stored: true),
        FieldDefinition(name: "title", type: .text, analyzer: "plain", boost: 3, stored: true),
        FieldDefinition(name: "brand", type: .text, analyzer: "plain", boost: 2, stored: true, keyword: true),
        FieldDefinition(name: "description", type: .text, analyzer: "plain"),
        FieldDefinition(name: "sku", type: .text, analyzer: "keyword", boost: 1.5),
        FieldDefinition(name: "color", type: .keyword, stored: true),
        FieldDefinition(name: "price", type: .numeric, stored: true),
        FieldDefinition(name: "category", type: .keyword, hierarchy: " > "),
        FieldDefinition(name: "rating", type: .numeric),
        FieldDefinition(name: "in_stock", type: .boolean),
        FieldDefinition(name: "tag", type: .keyword, docValues: false),
    ])

    static let categories = ["Home > Sofas > Loveseats", "Home > Sofas > Sectionals", "Home > Rugs",
                             "Office > Desks > Standing Desks", "Office > Chairs", "Garden"]
    static let tags = ["new", "sale", "eco", "limited"]

    static let vocabulary: [String] = (0..<60).map { i in
        ["sofa", "black", "table", "lamp", "oak", "chair", "rug", "blue", "red", "desk"].indices.contains(i)
            ? ["sofa", "black", "table", "lamp", "oak", "chair", "rug", "blue", "red", "desk"][i] : "w\(i)"
    }
    static let brands = ["acme", "zed", "oak", "northwind", "lamp co"]
    static let colors = ["red", "green", "blue"]

    var docs: [NaiveDoc] = []

    init(count: Int, rng: inout SeededRandom, shuffledIds: Bool = false) {
        let idNumbers = shuffledIds ? Array((0..<count).shuffled(using: &rng)) : Array(0..<count)
        let L = RandomCorpus.schema
        let title = L.ordinal(of: "title")!, brand = L.ordinal(of: "brand")!, desc = L.ordinal(of: "description")!
        let sku = L.ordinal(of: "sku")!, color = L.ordinal(of: "color")!, price = L.ordinal(of: "price")!
        for i in 0..<count {
            var d = NaiveDoc(id: "P\(String(format: "%05d", idNumbers[i]))")
            func words(_ n: Int, gaps: Bool) -> [(term: String, pos: Int)] {
                var out: [(term: String, pos: Int)] = []
                var pos = 0
                for _ in 0..<n {
                    if gaps && Int.random(in: 0..<8, using: &rng) == 0 { pos += 1 }   // a removed stop word
                    out.append((RandomCorpus.vocabulary[rng.zipf(RandomCorpus.vocabulary.count)], pos))
                    pos += 1
                }
                return out
            }
            d.text[title] = words(Int.random(in: 1...8, using: &rng), gaps: true)
            // Rare words: in one or two documents only (inline dictionary entries).
            if Int.random(in: 0..<5, using: &rng) == 0 {
                d.text[title]!.append(("u\(Int.random(in: 0..<(count / 3 + 1), using: &rng))", d.text[title]!.last!.pos + 1))
            }
            let b = RandomCorpus.brands[rng.zipf(RandomCorpus.brands.count)]
            if Int.random(in: 0..<10, using: &rng) > 0 {
                d.text[brand] = b.split(separator: " ").enumerated().map { (String($1), $0) }
                d.keywords[brand] = [b]
                d.stored[brand] = .string(b)
            }
            // Description: sometimes long (several postings blocks for common words), sometimes empty.
            let n = Int.random(in: 0...3, using: &rng) == 0 ? 0 : Int.random(in: 1...(Int.random(in: 0..<6, using: &rng) == 0 ? 300 : 30), using: &rng)
            var descTokens = words(n, gaps: true)
            // A second value of a multi-valued field, after the position gap.
            if Int.random(in: 0..<5, using: &rng) == 0, let last = descTokens.last {
                descTokens += words(Int.random(in: 1...5, using: &rng), gaps: false).map { ($0.term, $0.pos + last.pos + 1 + 100) }
            }
            d.text[desc] = descTokens
            if Int.random(in: 0..<3, using: &rng) == 0 { d.text[sku] = [("SKU-\(Int.random(in: 0..<20, using: &rng))", 0)] }
            let nc = Int.random(in: 0...2, using: &rng)
            if nc > 0 { d.keywords[color] = Array(Set((0..<nc).map { _ in RandomCorpus.colors.randomElement(using: &rng)! })).sorted() }
            d.stored[title] = .string(d.text[title]!.map { $0.term }.joined(separator: " "))
            // Prices repeat (ties for sorting); ratings are often missing.
            let p = Double([999, 1999, 2499, 4999, 12900, Int.random(in: 100...100000, using: &rng)].randomElement(using: &rng)!) / 100
            d.stored[price] = .double(p)
            d.numbers[price] = p
            let cat = L.ordinal(of: "category")!, rating = L.ordinal(of: "rating")!, stock = L.ordinal(of: "in_stock")!
            let tag = L.ordinal(of: "tag")!
            if Int.random(in: 0..<8, using: &rng) > 0 { d.keywords[cat] = [RandomCorpus.categories[rng.zipf(RandomCorpus.categories.count)]] }
            if Int.random(in: 0..<4, using: &rng) > 0 { d.numbers[rating] = Double(Int.random(in: 10...50, using: &rng)) / 10 }
            d.numbers[stock] = Int.random(in: 0..<10, using: &rng) == 0 ? 0 : 1
            if Int.random(in: 0..<3, using: &rng) == 0 { d.keywords[tag] = [RandomCorpus.tags.randomElement(using: &rng)!] }
            if let c = d.keywords[color] { d.stored[color] = .list(c.map { .string($0) }) }
            docs.append(d)
        }
    }

    /// Indexes the corpus (in order) into `dir`, flushing a segment every `perSegment` documents.
    func buildIndex(at dir: String, perSegment: Int, merge: Bool = false, schema: Schema = RandomCorpus.schema) throws -> Searcher {
        let w = try IndexWriter(creating: dir, schema: schema,
                                options: .init(sync: false, maxDocsPerSegment: perSegment))
        var doc = IndexDocument()
        for d in docs {
            d.fill(&doc)
            try w.add(doc)
        }
        try w.commit()
        if merge { try w.forceMerge() }
        return try Searcher.open(directory: dir)
    }
}

extension NaiveDoc {
    /// The document as the index receives it (fields in ordinal order, the id stored as field 0).
    func fill(_ doc: inout IndexDocument) {
        doc.reset()
        doc.id = id
        for (f, toks) in text.sorted(by: { $0.key < $1.key }) {
            for t in toks { doc.addToken(field: f, term: t.term, position: Int32(t.pos)) }
        }
        for (f, vals) in keywords.sorted(by: { $0.key < $1.key }) { for v in vals { doc.addKeyword(field: f, value: v) } }
        for (f, v) in numbers.sorted(by: { $0.key < $1.key }) { doc.addNumber(field: f, value: v) }
        for (f, v) in stored.sorted(by: { $0.key < $1.key }) { doc.addStored(field: f, value: v) }
        doc.addStored(field: 0, value: .string(id))
    }
}

/// Random queries over the corpus's fields.
struct QueryGenerator {
    let layout: SchemaLayout
    var textSlot: Int { 0 }

    func term(_ rng: inout SeededRandom, restrict: Bool = true) -> Query {
        let w = RandomCorpus.vocabulary[rng.zipf(RandomCorpus.vocabulary.count + 10) % RandomCorpus.vocabulary.count]
        var word = Int.random(in: 0..<30, using: &rng) == 0 ? "missing\(Int.random(in: 0..<3, using: &rng))" : w
        if Int.random(in: 0..<8, using: &rng) == 0 { word = "u\(Int.random(in: 0..<40, using: &rng))" }
        var fields: FieldMask? = nil
        if restrict && Int.random(in: 0..<6, using: &rng) == 0 { fields = FieldMask(Int.random(in: 1...7, using: &rng)) }
        let boost: Float = Int.random(in: 0..<5, using: &rng) == 0 ? 2.5 : 1
        return .term(TermQuery(slot: textSlot, term: word, fields: fields, boost: boost))
    }

    func leaf(_ rng: inout SeededRandom) -> Query {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0:
            let n = Int.random(in: 2...3, using: &rng)
            let terms = (0..<n).map { _ in RandomCorpus.vocabulary[rng.zipf(12)] }
            var pos: [Int32] = []
            var p: Int32 = 0
            for _ in 0..<n { pos.append(p); p += Int.random(in: 0..<5, using: &rng) == 0 ? 2 : 1 }
            return .phrase(PhraseQuery(slot: textSlot, terms: terms.map { Array($0.utf8) }, positions: pos,
                                       slop: [0, 0, 1, 2, 3].randomElement(using: &rng)!,
                                       fields: Int.random(in: 0..<3, using: &rng) == 0 ? 1 : nil))
        case 1:
            let p = ["w1", "w2", "s", "b", "w", "bl", "zz"].randomElement(using: &rng)!
            return .prefix(PrefixQuery(slot: textSlot, prefix: Array(p.utf8), maxExpansions: Int.random(in: 1...8, using: &rng)))
        case 2:
            let colorSlot = layout.keywordSlotOfField[RandomCorpus.schema.ordinal(of: "color")!]!
            return .term(TermQuery(slot: colorSlot, term: RandomCorpus.colors.randomElement(using: &rng)!))
        case 3:
            let skuSlot = layout.groupOfField[RandomCorpus.schema.ordinal(of: "sku")!]!.group
            return .term(TermQuery(slot: skuSlot, term: "SKU-\(Int.random(in: 0..<20, using: &rng))"))
        default:
            return term(&rng)
        }
    }

    /// A query of one of the shapes the engine builds, plus nested ones.
    func query(_ rng: inout SeededRandom) -> Query {
        let n = Int.random(in: 1...4, using: &rng)
        switch Int.random(in: 0..<10, using: &rng) {
        case 8:      // coordinated OR of words, each word a term or the best of its alternatives
            let clauses: [Query] = (0..<max(2, n)).map { _ in
                Int.random(in: 0..<2, using: &rng) == 0 ? term(&rng, restrict: false)
                    : .disMax(DisMaxQuery(clauses: (0..<Int.random(in: 1...3, using: &rng)).map { _ in term(&rng, restrict: false) }))
            }
            let coordinated = Query.boolean(BooleanQuery(should: clauses, coordination: true))
            // Sometimes with an optional phrase boost beside it, as the query expander builds.
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: return coordinated
            case 1: return .boolean(BooleanQuery(should: [coordinated, leaf(&rng)]))
            default: return .boolean(BooleanQuery(should: [coordinated, .constant(ConstantQuery(query: leaf(&rng), score: 0.75))]))
            }
        case 9:
            return .disMax(DisMaxQuery(clauses: (0..<n).map { _ in leaf(&rng) },
                                       tieBreaker: [0, 0, 0.3].randomElement(using: &rng)!))
        case 0, 1:   // plain AND of terms (the bulk conjunction path)
            return .boolean(BooleanQuery(must: (0..<n).map { _ in term(&rng, restrict: false) }))
        case 2, 3:   // plain OR of terms (the MaxScore path)
            return .boolean(BooleanQuery(should: (0..<n).map { _ in term(&rng, restrict: false) }))
        case 4:      // with exclusions
            return .boolean(BooleanQuery(must: (0..<n).map { _ in term(&rng, restrict: false) },
                                         mustNot: [term(&rng, restrict: false)]))
        case 5:
            return .boolean(BooleanQuery(should: (0..<n).map { _ in term(&rng, restrict: false) }, mustNot: [leaf(&rng)]))
        case 6:
            return leaf(&rng)
        default:     // nested
            let must = (0..<Int.random(in: 0...2, using: &rng)).map { _ in leaf(&rng) }
            let should = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                Int.random(in: 0..<3, using: &rng) == 0
                    ? Query.boolean(BooleanQuery(must: [leaf(&rng), leaf(&rng)])) : leaf(&rng)
            }
            let not = Int.random(in: 0..<3, using: &rng) == 0 ? [leaf(&rng)] : []
            let msm = should.count > 1 && Int.random(in: 0..<4, using: &rng) == 0 ? 2 : 0
            if must.isEmpty && should.isEmpty { return .matchAll }
            return .boolean(BooleanQuery(must: must, should: should, mustNot: not, minimumShouldMatch: msm))
        }
    }
}
