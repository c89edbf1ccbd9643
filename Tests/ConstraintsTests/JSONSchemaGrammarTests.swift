import Testing
@testable import Constraints

/// Schemas compiled to grammars: instances that validate are accepted (in the schema's
/// property order), instances that do not are refused, and keywords that cannot be
/// enforced are refused with their path.
@Suite struct JSONSchemaGrammarTests {
    static func check(_ schema: String, accepts valid: [String], refuses invalid: [String]) throws {
        let grammar = try JSONSchemaGrammar.compile(schemaText: schema)
        for text in valid { #expect(try GrammarMatcherTests.matches(grammar, text), "\(schema) should accept \(text)") }
        for text in invalid { #expect(try !GrammarMatcherTests.matches(grammar, text), "\(schema) should refuse \(text)") }
    }

    @Test func objectsFollowTheSchemasPropertyOrderAndRequiredMembers() throws {
        try Self.check(
            #"{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"enum": ["a", "b"]}}, "ok": {"type": "boolean"}}, "required": ["name", "age"], "additionalProperties": false}"#,
            accepts: [#"{"name":"Ada","age":36}"#, #"{"name": "Ada", "age": -1, "tags": ["a", "b", "a"]}"#,
                      #"{"name":"","age":0,"ok":false}"#, #"{"name":"x","age":1,"tags":[],"ok":true}"#],
            refuses: [#"{"age":36,"name":"Ada"}"#, #"{"name":"Ada"}"#, #"{"name":"Ada","age":3.5}"#,
                      #"{"name":"Ada","age":3,"extra":1}"#, #"{"name":"Ada","age":3,"tags":["c"]}"#,
                      #"{"name":"Ada","age":3,}"#, #"{"name":"Ada","age":"3"}"#, #"{}"#])
        try Self.check(#"{"properties": {"b": {}, "a": {}}}"#,
                       accepts: [#"{}"#, #"{"b":1}"#, #"{"a":[]}"#, #"{"b":null,"a":{"x":1}}"#],
                       refuses: [#"{"a":1,"b":2}"#, #"{"c":1}"#])
    }

    /// jsonb keeps arrays' order and not keys': a schema from a job's params is generated
    /// in its `required` order, then the other properties by name.
    @Test func propertiesCanFollowTheRequiredList() throws {
        let schema = #"{"properties": {"b": {}, "zeta": {}, "a": {}}, "required": ["zeta", "a"]}"#
        let grammar = try JSONSchemaGrammar.compile(schemaText: schema, propertyOrder: .required)
        #expect(try GrammarMatcherTests.matches(grammar, #"{"zeta":1,"a":2}"#))
        #expect(try GrammarMatcherTests.matches(grammar, #"{"zeta":1,"a":2,"b":3}"#))
        #expect(try !GrammarMatcherTests.matches(grammar, #"{"b":3,"zeta":1,"a":2}"#))
        #expect(try GrammarMatcherTests.matches(JSONSchemaGrammar.compile(schemaText: schema), #"{"b":3,"zeta":1,"a":2}"#))
    }

    @Test func typesUnionsEnumsAndConstants() throws {
        try Self.check(#"{"type": ["string", "null"]}"#, accepts: [#""x""#, "null"], refuses: ["1", "true", "{}"])
        try Self.check(#"{"anyOf": [{"type": "integer"}, {"type": "object", "properties": {"k": {"const": 1}}, "required": ["k"]}]}"#,
                       accepts: ["12", #"{"k":1}"#], refuses: [#"{"k":2}"#, "1.5", #""1""#])
        try Self.check(#"{"oneOf": [{"type": "string"}, {"type": "boolean"}]}"#, accepts: [#""s""#, "false"], refuses: ["0"])
        try Self.check(#"{"type": "string", "enum": ["red", "green", 3]}"#, accepts: [#""red""#, #""green""#],
                       refuses: ["3", #""blue""#])
        try Self.check(#"{"const": {"b": [1, "x"], "a": null}}"#, accepts: [#"{"a":null,"b":[1,"x"]}"#], refuses: [#"{"a":null}"#])
        try Self.check(#"{"type": "number"}"#, accepts: ["1", "-2.5e3"], refuses: [#""1""#])
        try Self.check(#"{"type": "integer"}"#, accepts: ["0", "-17"], refuses: ["1.0", "01"])
    }

    @Test func arraysAndStringsKeepTheirBounds() throws {
        try Self.check(#"{"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3}"#,
                       accepts: ["[1,2]", "[1, 2, 3]"], refuses: ["[]", "[1]", "[1,2,3,4]", #"[1,"2"]"#])
        try Self.check(#"{"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}"#,
                       accepts: [#"["a",1]"#], refuses: [#"[1,"a"]"#, #"["a"]"#, #"["a",1,2]"#])
        try Self.check(#"{"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "null"}, "maxItems": 3}"#,
                       accepts: [#"["a"]"#, #"["a",null,null]"#], refuses: [#"["a",null,null,null]"#, #"["a",1]"#])
        try Self.check(#"{"type": "string", "minLength": 2, "maxLength": 4}"#,
                       accepts: [#""ab""#, #""日本語!""#, #""a\nb""#], refuses: [#""a""#, #""abcde""#, #""日本語!!""#])
        try Self.check(#"{"type": "object", "additionalProperties": {"type": "integer"}}"#,
                       accepts: ["{}", #"{"x":1,"y":2}"#], refuses: [#"{"x":"1"}"#])
    }

    /// Patterns are matched whole, with the JSON escapes their characters need; formats are
    /// patterns every format checker accepts.
    @Test func patternsAndFormatsHoldInsideTheJSONString() throws {
        try Self.check(#"{"type": "string", "pattern": "^[A-Z]{2}-\\d{3,4}$"}"#,
                       accepts: [#""AB-123""#, #""ZZ-0000""#], refuses: [#""ab-123""#, #""AB-12""#, #""AB-12345""#, #""xAB-123""#])
        try Self.check(#"{"type": "string", "pattern": "(yes|no|\"maybe\")\\n?"}"#,
                       accepts: [#""yes""#, #""\"maybe\"""#, #""no\n""#], refuses: [#""maybe""#, #""yes\\n""#])
        try Self.check(#"{"type": "string", "pattern": "[^a-c]\\.."}"#,
                       accepts: [#""d.x""#, #""日.é""#, #""\\.\"""#], refuses: [#""a.x""#, #""d.\n""#, #""dxx""#])
        try Self.check(#"{"format": "date"}"#, accepts: [#""2024-02-28""#, #""1999-12-31""#, #""2023-04-30""#],
                       refuses: [#""2024-02-30""#, #""2024-04-31""#, #""2024-13-01""#, #""24-01-01""#])
        try Self.check(#"{"type": "string", "format": "date-time"}"#,
                       accepts: [#""2024-05-06T07:08:09Z""#, #""2024-05-06T23:59:59.123+05:30""#],
                       refuses: [#""2024-05-06T24:00:00Z""#, #""2024-05-06 07:08:09Z""#, #""2024-05-06T07:08:09""#])
        try Self.check(#"{"format": "uuid"}"#, accepts: [#""123e4567-e89b-12d3-a456-426614174000""#], refuses: [#""123e4567""#])
        try Self.check(#"{"format": "email"}"#, accepts: [#""ada@example.org""#], refuses: [#""ada@""#, #""@x.org""#])
    }

    /// Integer bounds hold exactly: every integer in a window, against every pair of bounds.
    @Test func integerBoundsAdmitExactlyTheIntegersBetweenThem() throws {
        let bounds: [Int64?] = [nil, -1000, -99, -10, -1, 0, 1, 9, 10, 37, 100, 999, 1000]
        for low in bounds {
            for high in bounds where (low ?? .min) <= (high ?? .max) {
                var schema = #"{"type": "integer""#
                if let low { schema += #", "minimum": \#(low)"# }
                if let high { schema += #", "maximum": \#(high)"# }
                let grammar = try JSONSchemaGrammar.compile(schemaText: schema + "}")
                for value in Array(-1100...1100) + [-123_456, 123_456, 99_999_999] {
                    let inside = (low.map { Int64(value) >= $0 } ?? true) && (high.map { Int64(value) <= $0 } ?? true)
                    #expect(try GrammarMatcherTests.matches(grammar, String(value)) == inside, "\(schema)} \(value)")
                }
                #expect(try !GrammarMatcherTests.matches(grammar, "007"))
            }
        }
        try Self.check(#"{"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3}"#,
                       accepts: ["1", "2"], refuses: ["0", "3"])
        try Self.check(#"{"type": "number", "minimum": 0, "maximum": 1}"#,
                       accepts: ["0", "0.25", "1"], refuses: ["1.5", "-0.5", "2", "1e0"])
    }

    @Test func regexSubsetParsesAndRefusesWhatItCannotHold() throws {
        #expect(try RegexPattern("a{2}") == .repeated(.characters([0x61...0x61]), minimum: 2, maximum: 2))
        for (pattern, offset) in [("a(?=b)", 2), ("(a", 2), ("a\\1", 1), ("a{2000}", 1), ("[ab", 3), ("*a", 0), ("a^b", 1), ("[b-a]", 4)] {
            let error = #expect(throws: RegexPattern.Unsupported.self) { try RegexPattern(pattern) }
            #expect(error?.offset == offset, "\(pattern): \(String(describing: error))")
        }
    }

    /// $ref to definitions, recursive ones included.
    @Test func referencesResolveAndMayRecurse() throws {
        try Self.check(
            ##"{"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["value", "children"]}}}"##,
            accepts: [#"{"value":1,"children":[]}"#, #"{"value":1,"children":[{"value":2,"children":[{"value":3,"children":[]}]}]}"#],
            refuses: [#"{"value":1}"#, #"{"value":1,"children":[{"value":2}]}"#])
    }

    /// Never silently dropped: what the grammar cannot enforce is refused, at its path.
    @Test func unsupportedKeywordsAreRefusedWithTheirPath() {
        let cases = [
            #"{"type": "object", "properties": {"email": {"type": "string", "pattern": "(?=a)b"}}}"#: "$.properties.email.pattern",
            #"{"type": "string", "pattern": "a", "maxLength": 3}"#: "$.pattern",
            #"{"type": "integer", "minimum": 0.5}"#: "$.minimum",
            #"{"type": "number", "minimum": -1}"#: "$.minimum",
            #"{"type": "number", "exclusiveMaximum": 1}"#: "$.exclusiveMaximum",
            #"{"allOf": [{"type": "string"}, {"maxLength": 3}]}"#: "$.allOf",
            #"{"type": "object", "properties": {"a": {"type": "string", "frobnicate": 1}}}"#: "$.properties.a.frobnicate",
            #"{"oneOf": [{"type": "integer"}, {"type": "number"}]}"#: "$.oneOf[1]",
            ##"{"$ref": "#/$defs/missing"}"##: "$.$ref",
            #"{"type": "thing"}"#: "$.type",
            #"{"type": "object", "properties": {"a": {}}, "additionalProperties": true}"#: "$.additionalProperties",
            #"{"type": "object", "required": ["ghost"]}"#: "$.required[0]",
            #"{"items": {"type": "string", "format": "hostname"}}"#: "$.items.format",
            #"{"type": "string", "maxLength": 100000}"#: "$.maxLength",
            // Values written as given cannot also be held to other keywords.
            #"{"const": 5, "minimum": 10}"#: "$.minimum",
            #"{"type": "string", "const": 5}"#: "$.const",
            #"{"enum": ["a", "bb"], "maxLength": 1}"#: "$.maxLength",
            #"{"const": 1, "enum": [2]}"#: "$.enum",
        ]
        for (schema, path) in cases {
            let error = #expect(throws: JSONSchemaGrammar.Unsupported.self) { try JSONSchemaGrammar.compile(schemaText: schema) }
            #expect(error?.path == path, "\(schema): \(String(describing: error))")
        }
    }
}
