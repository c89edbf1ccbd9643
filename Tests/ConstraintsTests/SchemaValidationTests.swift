import Foundation
import Inference
import ScribeCore
import Testing
import TestSupport
@testable import Constraints

/// What a constrained output can be always validates: random walks through each schema's
/// grammar (every byte drawn from those the matcher allows) produce instances that the
/// Python `jsonschema` package, an independent validator, checks against the schema.
@Suite struct SchemaValidationTests {
    static let schemas = [
        #"{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}, "email": {"type": ["string", "null"]}}, "required": ["name", "age"], "additionalProperties": false}"#,
        #"{"type": "array", "items": {"enum": ["red", "green", "blue", 7, null]}, "minItems": 1, "maxItems": 4}"#,
        ##"{"$ref": "#/$defs/tree", "$defs": {"tree": {"type": "object", "properties": {"label": {"type": "string", "minLength": 1, "maxLength": 3}, "kids": {"type": "array", "items": {"$ref": "#/$defs/tree"}, "maxItems": 2}}, "required": ["label", "kids"]}}}"##,
        #"{"anyOf": [{"type": "number"}, {"type": "object", "properties": {"ok": {"const": true}}, "required": ["ok"]}]}"#,
        #"{"type": "object", "additionalProperties": {"type": "array", "prefixItems": [{"type": "boolean"}, {"type": "integer"}]}}"#,
        #"{"oneOf": [{"type": "string", "minLength": 2, "maxLength": 2}, {"type": ["integer", "null"]}]}"#,
        #"{"type": "object", "properties": {"invoice": {"type": "object", "properties": {"lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}, "price": {"type": "number"}}, "required": ["sku", "qty", "price"]}}, "total": {"type": "number"}}, "required": ["lines", "total"]}}, "required": ["invoice"]}"#,
        #"{"type": "object", "properties": {"sentiment": {"enum": ["positive", "negative", "neutral"]}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "stars": {"type": "integer", "minimum": 1, "maximum": 5}, "delta": {"type": "integer", "minimum": -250, "exclusiveMaximum": 1300}}, "required": ["sentiment", "stars", "delta"]}"#,
        #"{"type": "array", "prefixItems": [{"type": "string", "format": "date"}, {"type": "string", "format": "uuid"}], "items": false}"#,
        #"{"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{2,4}(/[a-z]+)?$"}, "at": {"format": "date-time"}, "mail": {"format": "email"}}, "required": ["code", "at", "mail"]}"#,
        #"{"type": "object", "properties": {"day": {"type": "string", "format": "date"}, "start": {"type": "string", "format": "time"}}, "required": ["day", "start"], "additionalProperties": false}"#,
        #"{}"#,
    ]

    /// An instance drawn byte by byte from what the grammar allows; short when it can be.
    static func draw(_ grammar: Grammar, _ random: inout SplitMix64, limit: Int = 4000) throws -> String? {
        var matcher = try GrammarMatcher(grammar)
        var bytes: [UInt8] = []
        let closing = ByteSet(ascii: "\"]}0123456789ulea,")
        while bytes.count < limit {
            if matcher.isComplete && (bytes.count > 40 || random.next() % 4 == 0) { break }
            let allowed = matcher.allowedBytes
            guard !allowed.isEmpty else { break }
            var choices = (0...255).map(UInt8.init).filter { allowed.contains($0) }
            if bytes.count > 60 {
                let finishing = choices.filter { closing.contains($0) }
                if !finishing.isEmpty { choices = finishing }
            }
            let byte = choices[Int(random.next() % UInt64(choices.count))]
            _ = matcher.accept(byte)
            bytes.append(byte)
        }
        return matcher.isComplete ? String(decoding: bytes, as: UTF8.self) : nil
    }

    @Test func everyDrawnInstanceValidatesWithJsonschema() throws {
        var random = SplitMix64(seed: 7)
        var lines: [String] = []
        for schema in Self.schemas {
            let grammar = try JSONSchemaGrammar.compile(schemaText: schema)
            var drawn = 0
            for _ in 0..<60 where drawn < 30 {
                guard let instance = try Self.draw(grammar, &random) else { continue }
                lines.append(JSONValue.object(["schema": .string(schema), "instance": .string(instance)]).jsonText)
                drawn += 1
            }
            #expect(drawn == 30, "\(schema)")
        }
        let check = """
            import json, sys, jsonschema
            import rfc3339_validator  # without it jsonschema checks neither time nor date-time as RFC 3339
            bad = 0
            for line in sys.stdin:
                row = json.loads(line)
                try:
                    Validator = jsonschema.Draft202012Validator
                    Validator(json.loads(row["schema"]), format_checker=Validator.FORMAT_CHECKER).validate(json.loads(row["instance"]))
                except Exception as error:
                    bad += 1
                    print(row["schema"], "|", row["instance"], "|", str(error).splitlines()[0])
            print("invalid", bad)
            """
        let result = try ChildProcess.run(["python3", "-c", check], input: lines.joined(separator: "\n") + "\n")
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasSuffix("invalid 0\n"), "\(result.standardOutput)")
        print("schema validation: \(lines.count) drawn instances over \(Self.schemas.count) schemas; \(result.standardOutput.split(separator: "\n").last ?? "")")
    }
}
