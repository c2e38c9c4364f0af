import Testing
@testable import AisleEngine
@testable import AisleIndex

/// `Query.additiveBonus`: rescoring may add only the bonuses to the first-phase score when the full
/// query is exactly its recall form plus optional fixed bonuses, and never otherwise.
@Suite struct AdditiveBonusTests {
    func term(_ s: String, boost: Float = 1) -> Query { .term(TermQuery(slot: 0, term: Array(s.utf8), boost: boost)) }
    func bonus(_ a: String, _ b: String, _ score: Float) -> Query {
        .constant(ConstantQuery(query: .phrase(PhraseQuery(slot: 0, terms: [Array(a.utf8), Array(b.utf8)])), score: score))
    }

    @Test func wordsPlusBonusesAreAdditive() {
        // AND: required words, optional proximity bonuses.
        let and = Query.boolean(BooleanQuery(must: [term("patio"), term("mat")], should: [bonus("patio", "mat", 3)]))
        #expect(and.additiveBonus(recall: and.recallForm()) == bonus("patio", "mat", 3))
        // OR: a coordinated group of words beside two bonuses.
        let words = Query.boolean(BooleanQuery(should: [term("red"), term("patio"), term("mat")], coordination: true))
        let or = Query.boolean(BooleanQuery(should: [words, bonus("red", "patio", 2), bonus("patio", "mat", 2)]))
        #expect(or.additiveBonus(recall: or.recallForm())
                == .boolean(BooleanQuery(should: [bonus("red", "patio", 2), bonus("patio", "mat", 2)])))
    }

    @Test func anythingElseIsNot() {
        // No bonus at all.
        let plain = Query.boolean(BooleanQuery(must: [term("patio"), term("mat")]))
        #expect(plain.additiveBonus(recall: plain.recallForm()) == nil)
        // The recall form merges a repeated word (the larger weight stays): the first phase does not
        // score what the full query's words score.
        let repeated = Query.boolean(BooleanQuery(should: [term("mat"), term("mat", boost: 2), bonus("patio", "mat", 1)]))
        #expect(repeated.recallForm() != .boolean(BooleanQuery(should: [term("mat"), term("mat", boost: 2)])))
        #expect(repeated.additiveBonus(recall: repeated.recallForm()) == nil)
        // A bonus inside a dis-max is not added: the best clause counts, not the sum.
        let inside = Query.boolean(BooleanQuery(must: [term("mat")],
                                                should: [.disMax(DisMaxQuery(clauses: [term("patio"), bonus("patio", "mat", 1)]))]))
        #expect(inside.additiveBonus(recall: inside.recallForm()) == nil)
        // A minimum number of optional clauses would count the bonuses as matches.
        let msm = Query.boolean(BooleanQuery(should: [term("patio"), term("mat"), bonus("patio", "mat", 1)], minimumShouldMatch: 2))
        #expect(msm.additiveBonus(recall: msm.recallForm()) == nil)
        // A coordinated group scales its clauses by the share matched: a bonus there is not additive.
        let coord = Query.boolean(BooleanQuery(should: [term("patio"), bonus("patio", "mat", 1)], coordination: true))
        #expect(coord.additiveBonus(recall: coord.recallForm()) == nil)
    }
}
