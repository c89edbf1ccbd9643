import Foundation
import ScribeCore
import Testing

/// Scribe's one JSON layer (parser, writer, escaper, Codable bridge), checked against
/// Foundation's `JSONDecoder` and `JSONEncoder` as independent readers and writers.
@Suite struct JSONTextTests {
    static let documents = [
        #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
        #"[0, -1, 1.5, -2.25e-3, 1.0, 1e2, 9223372036854775807, 18446744073709551615, -9223372036854775808]"#,
        #""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 plain é 😀""#,
        #"  {"nested": [[[{"x": []}]]], "empty": {}}  "#,
    ]

    @Test(arguments: documents) func parsesAsJSONDecoderDoes(_ text: String) throws {
        #expect(try JSONValue.parse(text) == JSONDecoder().decode(Oracle.self, from: Data(text.utf8)).value)
    }

    @Test(arguments: documents) func writesWhatItReads(_ text: String) throws {
        let value = try JSONValue.parse(utf8: Array(text.utf8))
        #expect(try JSONValue.parse(utf8: Array(value.jsonText.utf8)) == value)
    }

    @Test func writesCompactSortedJSON() {
        let value: JSONValue = .object(["b": .array([.integer(1), .number(0.5)]), "a": .string("x/\"\n\u{01}"), "c": .null])
        #expect(value.jsonText == #"{"a":"x/\"\n\u0001","b":[1,0.5],"c":null}"#)
        #expect(value.prettyText == """
            {
              "a": "x/\\"\\n\\u0001",
              "b": [
                1,
                0.5
              ],
              "c": null
            }
            """)
        #expect(JSONValue.object([:]).prettyText == "{}" && JSONValue.array([]).prettyText == "[]")
    }

    /// One escaper for results, logs and files: NUL dropped (PostgreSQL cannot store it),
    /// control characters, DEL and the JavaScript line separators escaped, the rest kept.
    @Test func theOneEscaperDropsNULAndEscapesWhatJSONAndJavaScriptNeed() throws {
        let text = "a\u{0}b\u{7F}c\u{2028}d\u{2029}e\u{1B}f/é😀\u{8}\u{C}"
        let quoted = JSONValue.quoted(text)
        #expect(quoted == #""ab\u007fc\u2028d\u2029e\u001bf/é😀\b\f""#)
        let foundation = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
        #expect(foundation == text.replacingOccurrences(of: "\u{0}", with: ""))
    }

    /// As PostgreSQL's `to_json`: C0 controls, `"` and `\` escaped; DEL, C1 and the line
    /// separators kept as they are (what paths in the job contract's messages quote).
    @Test func thePostgresStyleEscapesWhatToJSONEscapes() {
        let text = "a\u{7F}b\u{85}c\u{2028}d\u{1B}\"\\\n\t\u{8}"
        #expect(JSONValue.quoted(text, asPostgres: true) == "\"a\u{7F}b\u{85}c\u{2028}d\\u001b\\\"\\\\\\n\\t\\b\"")
    }

    struct Report: Encodable {
        struct Row: Encodable {
            var firstToken: Double
            var jobsURL: String
            var tokenIDs: [Int32]
        }
        var name: String
        var count: Int
        var seed: UInt64
        var ratio: Float
        var missing: String?
        var present: String?
        var rows: [Row]
        var nested: [String: [Bool]]
        var raw: JSONValue
    }

    static let report = Report(
        name: "bench \"1\"", count: -3, seed: .max, ratio: 0.1, missing: nil, present: "here",
        rows: [.init(firstToken: 12.5, jobsURL: "http://x/", tokenIDs: [1, 2])], nested: ["k": [true, false]],
        raw: .object(["keep": .integer(1)]))

    @Test func codableTypesEncodeAsFoundationsEncoderWritesThem() throws {
        let ours = try JSONValue(encoding: Self.report)
        let foundation = String(decoding: try JSONEncoder().encode(Self.report), as: UTF8.self)
        #expect(ours == (try JSONValue.parse(foundation)))
        guard case .object(let object) = ours else { Issue.record("not an object"); return }
        #expect(object["missing"] == nil)  // encodeIfPresent leaves the key out
        #expect(object["ratio"] == .number(0.1))  // Float's shortest decimal
        #expect(object["seed"] == .unsignedInteger(.max))
        #expect(try JSONValue.parse(ours.jsonText) == ours)
    }

    @Test func snakeCaseKeysAreFoundationsConvertToSnakeCase() throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let foundation = String(decoding: try encoder.encode(Self.report), as: UTF8.self)
        #expect(try JSONValue(encoding: Self.report, keys: .snakeCase) == JSONValue.parse(foundation))
    }

    @Test(arguments: [
        ("", "unexpected end of text at column 1"),
        ("{", "unexpected end of text, expected a key at column 2"),
        (#"{"a" 1}"#, "expected ':', found '1' at column 6"),
        ("[1, 2}", "expected ',' or ']', found '}' at column 6"),
        ("[01]", "a number cannot start with 0 at column 2"),
        ("1e999", "number 1e999 is out of range at column 1"),
        (#""\x""#, #"invalid escape \x at column 3"#),
        (#""\ud83d""#, #"a high surrogate \u escape without its low half at column 8"#),
        ("\"a\tb\"", "unescaped control character in a string at column 3"),
        ("tru", "unexpected character 't' at column 1"),
        ("{} x", "unexpected text after the JSON value at column 4"),
        (#"{"dup": 1, "dup": 2}"#, #"duplicate key "dup" at column 12"#),
    ]) func refusesBrokenTextSayingWhereAndWhy(_ text: String, _ message: String) {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(utf8: Array(text.utf8)) }
        do {
            _ = try JSONValue.parse(utf8: Array(text.utf8))
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(utf8: [0x22, 0xFF, 0x22]) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONValue.SyntaxError.self) { try JSONValue.parse(utf8: Array(deep.utf8)) }
    }
}

/// The independent reader: `JSONDecoder` into the same cases, by way of Decodable.
private struct Oracle: Decodable {
    var value: JSONValue

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { value = .null; return }
        if let b = try? c.decode(Bool.self) { value = .bool(b); return }
        if let i = try? c.decode(Int64.self) { value = .integer(i); return }
        if let u = try? c.decode(UInt64.self) { value = .unsignedInteger(u); return }
        if let x = try? c.decode(Double.self) {
            value = x.rounded() == x && abs(x) < 0x1p63 ? .integer(Int64(x)) : .number(x)
            return
        }
        if let s = try? c.decode(String.self) { value = .string(s); return }
        if let object = try? c.decode([String: Oracle].self) { value = .object(object.mapValues(\.value)); return }
        value = .array(try c.decode([Oracle].self).map(\.value))
    }
}

@Suite struct JSONKeyOrderTests {
    @Test func keysAreRecordedInTheOrderWrittenByPath() throws {
        let (value, order) = try JSONValue.parseKeepingKeyOrder(#"{"z": 1, "a": {"m": [ {"y": 0, "b": 1} ], "c": {}}, "k": null}"#)
        #expect(value == (try JSONValue.parse(#"{"a": {"c": {}, "m": [{"b": 1, "y": 0}]}, "k": null, "z": 1}"#)))
        #expect(order.keys(at: []) == ["z", "a", "k"])
        #expect(order.keys(at: [.key("a")]) == ["m", "c"])
        #expect(order.keys(at: [.key("a"), .key("m"), .index(0)]) == ["y", "b"])
        #expect(order.keys(at: [.key("a"), .key("c")]) == [])
        #expect(order.keys(at: [.key("k")]) == nil)
    }
}
