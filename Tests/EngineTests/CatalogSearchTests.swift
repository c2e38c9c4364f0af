import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Filters, facets and sorting through the request layer, on the hand-written sample catalog.
@Suite struct CatalogSearchTests {
    static let built: (SearchService, String) = {
        let (svc, _, dir) = try! buildIndex(corpus: fixture("sample-catalog.jsonl"))
        return (svc, dir)
    }()

    func run(_ json: String) throws -> SearchResponse {
        var t = json
        let req = try t.withUTF8 { p -> SearchRequest in
            var tape = JSONTape()
            try tape.parse(p)
            return try SearchRequest.parse(tape: tape, node: tape.root)
        }
        return try Self.built.0.search(req)
    }

    func facet(_ r: SearchResponse, _ name: String) -> NamedFacet? { r.facets.first { $0.name == name } }

    @Test func categoryPageWithFacets() throws {
        let r = try run(#"{"q":"","filters":{"category":"Furniture > Living Room"},"facets":["brand","category","price"],"sort":"price_asc","limit":3,"fields":["title","price","brand"]}"#)
        // Living room furniture in the fixture: S0001-S0006 and S0025 (TV stand).
        #expect(r.total == 7)
        #expect(r.hits.map { $0.id } == ["S0006", "S0025", "S0004"])  // 219.00, 239.00, 279.00
        #expect(r.hits[0].fields.contains { $0.name == "price" && $0.value == .int(219) })
        #expect(r.hits[0].fields.contains { $0.name == "brand" && $0.value == .string("Zed Design") })
        let brands = try #require(facet(r, "brand"))
        #expect(brands.result.values == [.init(value: "Acme Living", count: 2), .init(value: "Northwind Home", count: 2),
                                         .init(value: "Timberline", count: 2), .init(value: "Zed Design", count: 1)])
        let cat = try #require(facet(r, "category"))
        // Along the path (ignoring the category filter itself): all furniture, then living room.
        #expect(cat.result.path == [.init(value: "Furniture", count: 15), .init(value: "Furniture > Living Room", count: 7)])
        // Children by count, ties by value.
        #expect(cat.result.values.prefix(2) == [.init(value: "Furniture > Living Room > Coffee Tables", count: 2),
                                                .init(value: "Furniture > Living Room > Sofas", count: 2)])
        let price = try #require(facet(r, "price"))
        #expect(price.result.min == 219 && price.result.max == 1149)
        #expect(price.result.ranges.reduce(0) { $0 + $1.count } == 7)
    }

    @Test func multiSelectBrandFacet() throws {
        // Ticking Acme: hits narrow, the brand facet still shows the other brands' counts.
        let r = try run(#"{"q":"chair","filters":{"brand":["Acme Living"]},"facets":["brand"]}"#)
        #expect(Set(r.hits.map { $0.id }) == ["S0004", "S0008"])
        let b = try #require(facet(r, "brand")).result.values
        #expect(b.contains(.init(value: "Acme Living", count: 2)))
        #expect(b.contains(.init(value: "Zed Design", count: 1)))    // the office chair
        #expect(b.contains(.init(value: "Sunhaven", count: 3)))      // adirondack, bistro chairs, patio set ("chairs")
    }

    @Test func rangesSortsAndPaging() throws {
        let cheap = try run(#"{"q":"","filters":{"price_max":20},"sort":"price_desc"}"#)
        #expect(cheap.hits.map { $0.id } == ["S0056", "S0054"])  // 19.99, 14.99
        let stock = try run(#"{"q":"","filters":{"in_stock":false},"limit":100}"#)
        #expect(stock.total == stock.hits.count && stock.total < 60 && stock.total > 0)
        // search_after walks the same order as offset.
        let all = try run(#"{"q":"","sort":"price_asc","limit":60}"#).hits.map { $0.id }
        var seen: [String] = []
        var after = ""
        while true {
            let page = try run(#"{"q":"","sort":"price_asc","limit":7"# + after + "}")
            if page.hits.isEmpty { break }
            seen += page.hits.map { $0.id }
            let last = page.hits.last!
            after = #","search_after":["# + (last.sortValue.map { String($0) } ?? "null") + #",""# + last.id + #""]"#
        }
        #expect(seen == all)
        #expect(all.count == 60)
    }

    @Test(arguments: [
        (#"{"filters":{"colour":"red"}}"#, "unknown filter \"colour\""),
        (#"{"filters":{"price_min":"cheap"}}"#, "expected a number"),
        (#"{"filters":{"price_min":50,"price_max":10}}"#, "minimum 50.0 is above maximum 10.0"),
        (#"{"filters":{"in_stock":"yes"}}"#, "expected true or false"),
        (#"{"filters":{"title":"sofa"}}"#, "is a text field"),
        (#"{"facets":["colour"]}"#, "unknown facet \"colour\""),
        (#"{"facets":["description"]}"#, "is a text field"),
        (#"{"sort":"cheapest"}"#, "cannot sort by \"cheapest\""),
        (#"{"sort":"price_asc","offset":5,"search_after":[1,"S0001"]}"#, "either offset or search_after"),
    ])
    func badRequests(_ json: String, _ fragment: String) {
        do {
            _ = try run(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(fragment), "\(json): \(error)")
        }
    }
}
