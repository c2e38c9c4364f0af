import Testing
@testable import AisleEngine

@Suite struct JSONTapeTests {
    @Test func parsesValuesAndEscapes() throws {
        let v = try JSONValue.parse(#"{"a": [1, -2.5e3, true, false, null], "s": "x\"y\\z\n\u00e9\ud83d\ude00", "o": {}}"#)
        #expect(v["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
        #expect(v["s"]?.stringValue == "x\"y\\z\né😀")
        #expect(v["o"] == .object([]))
        #expect(v["missing"] == nil)
    }

    @Test(arguments: [
        ("", "end of input"),
        ("{", "string key"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a": 1,}"#, "string key"),
        ("[1 2]", "expected ',' or ']'"),
        (#""abc"#, "unterminated string"),
        (#""\q""#, "bad escape"),
        (#""\u12g4""#, "bad \\u escape"),
        ("01", "unexpected"),
        ("1.", "digits expected"),
        ("tru", "expected true"),
        ("{} x", "after the value"),
        ("\"a\tb\"", "control character"),
    ])
    func rejectsMalformed(_ text: String, _ fragment: String) {
        do {
            _ = try JSONValue.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.contains(fragment), "\(text): \(error.description)")
            #expect(error.description.contains("column"))
        }
    }

    @Test func rejectsDeepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONError.self) { _ = try JSONValue.parse(deep) }
    }

    @Test func writerRoundTrips() throws {
        let v = JSONValue.object([("t", .string("a\"b\u{1}\n")), ("n", .number(12.5)), ("i", .number(3)), ("l", .array([.bool(true), .null]))])
        #expect(try JSONValue.parse(v.jsonText) == v)
    }
}
