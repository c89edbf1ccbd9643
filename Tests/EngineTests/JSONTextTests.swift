import Engine
import Testing

/// The byte parser and writer of `JSONText.swift` agree with the `JSONDecoder` path.
@Suite struct JSONTextTests {
    static let documents = [
        #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
        #"[0, -1, 1.5, -2.25e-3, 1.0, 1e2, 9223372036854775807, 18446744073709551615, -9223372036854775808]"#,
        #""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 plain é 😀""#,
        #"  {"nested": [[[{"x": []}]]], "empty": {}}  "#,
    ]

    @Test(arguments: documents) func parsesAsJSONDecoderDoes(_ text: String) throws {
        #expect(try JSONValue.parse(utf8: Array(text.utf8)) == JSONValue.parse(text))
    }

    @Test(arguments: documents) func writesWhatItReads(_ text: String) throws {
        let value = try JSONValue.parse(utf8: Array(text.utf8))
        #expect(try JSONValue.parse(utf8: Array(value.jsonText.utf8)) == value)
    }

    @Test func writesCompactSortedJSON() {
        let value: JSONValue = .object(["b": .array([.integer(1), .number(0.5)]), "a": .string("x/\"\n\u{01}"), "c": .null])
        #expect(value.jsonText == #"{"a":"x/\"\n\u0001","b":[1,0.5],"c":null}"#)
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
