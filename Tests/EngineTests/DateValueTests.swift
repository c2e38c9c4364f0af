import Foundation
import Testing
@testable import AisleEngine
@testable import AisleIndex

/// Dates as epoch milliseconds, against Foundation's calendar arithmetic as the oracle.
@Suite struct DateValueTests {
    @Test func matchesFoundationOnRandomInstants() throws {
        var rng = SystemRandomNumberGenerator()
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<2000 {
            let ms = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &rng)
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond], from: date)
            let frac = Int(((ms % 1000) + 1000) % 1000)
            let base = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            let exact = Double(ms)
            #expect(DateValue.epochMilliseconds(base + String(format: ".%03dZ", frac)) == exact, "\(base)")
            // The same instant written with an offset.
            let shifted = date.addingTimeInterval(5400)   // +01:30
            let s = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: shifted)
            let local = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03d+01:30", s.year!, s.month!, s.day!, s.hour!, s.minute!, s.second!, frac)
            #expect(DateValue.epochMilliseconds(local) == exact, "\(local)")
            // The day alone is its midnight.
            let day = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
            let midnight = cal.date(from: DateComponents(year: c.year, month: c.month, day: c.day))!
            #expect(DateValue.epochMilliseconds(day) == (midnight.timeIntervalSince1970 * 1000).rounded(), "\(day)")
        }
    }

    @Test func formsAndRefusals() {
        #expect(DateValue.epochMilliseconds("1970-01-01") == 0)
        #expect(DateValue.epochMilliseconds("1970-01-01T00:00Z") == 0)
        #expect(DateValue.epochMilliseconds("1970-01-01 00:00:01") == 1000)
        #expect(DateValue.epochMilliseconds("1970-01-01T01:00:00+0100") == 0)
        #expect(DateValue.epochMilliseconds("1970-01-01T00:00:00-01") == 3_600_000)
        #expect(DateValue.epochMilliseconds("2024-02-29") != nil)
        for bad in ["", "2023-02-29", "2026-13-01", "2026-1-01", "2026-12-06T24:00", "2026-12-06T10:60", "2026-12-06T10:00:00.",
                    "2026-12-06Z", "2026-12-06T10:00:00+25:00", "2026-12-06T10:00:00 UTC", "12/06/2026", "2026-12-06x"] {
            #expect(DateValue.epochMilliseconds(bad) == nil, "\(bad)")
        }
    }

    @Test func dateFieldsIndexMillisecondsAndRefuseNonsense() throws {
        let schema = Schema(idField: "id", fields: [
            FieldDefinition(name: "id", type: .keyword, stored: true),
            FieldDefinition(name: "title", type: .text),
            FieldDefinition(name: "created", type: .numeric, format: "date"),
        ])
        try schema.validate()
        #expect(throws: IndexError.self) {
            try Schema(idField: "id", fields: [FieldDefinition(name: "id", type: .keyword), FieldDefinition(name: "t", type: .keyword, format: "date")]).validate()
        }
        let dir = tempDir("dates")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = LiveIndex.Options()
        o.sync = false
        let live = try LiveIndex.create(directory: dir, schema: schema, options: o)
        defer { live.close() }
        let u = try IndexUpdater(index: live)
        func apply(_ line: String) throws {
            var b = Array(line.utf8)
            _ = try b.withUnsafeMutableBufferPointer { try u.apply(line: UnsafeBufferPointer($0)) }
        }
        try apply(#"{"op":"upsert","id":"a","title":"x","created":"2026-12-06T10:00:00Z"}"#)
        try apply(#"{"op":"upsert","id":"b","title":"x","created":"2026-12-05"}"#)
        try apply(#"{"op":"upsert","id":"c","title":"x","created":1764979200000}"#)
        var badMessage: String?
        do { try apply(#"{"op":"upsert","id":"d","title":"x","created":"yesterday"}"#) } catch { badMessage = "\(error)" }
        #expect(badMessage?.contains("expected a date") == true, "\(badMessage ?? "accepted")")
        let s = try live.refresh()
        func created(_ id: String) throws -> StoredValue? {
            let d = try #require(try s.doc(forId: id))
            return try s.docValueFields(of: d).first { $0.name == "created" }?.value
        }
        #expect(try created("a") == .int(1_796_551_200_000))
        #expect(try created("b") == .int(1_796_428_800_000))
        #expect(try created("c") == .int(1_764_979_200_000))
        let svc = try SearchService(searcher: s)
        var r = SearchRequest(q: "x")
        r.filters = [FilterRequest(field: "created", .range(min: 1_796_428_800_000, max: nil))]   // from 2026-12-05
        #expect(Set(try svc.search(r).hits.map(\.id)) == ["a", "b"])
    }
}
