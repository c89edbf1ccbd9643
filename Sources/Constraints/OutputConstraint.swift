import ScribeCore

/// What a constrained output must be, as a job's params ask for it: OpenAI's
/// `response_format` (`{"type": "json_object"}`, `{"type": "json_schema", "json_schema":
/// {"name", "schema", "strict"}}`) or vLLM's `structured_outputs` (`json`, `regex`,
/// `choice`, `grammar`, `json_object`). `parse` checks what the database checks at INSERT
/// (`scribe.constraint_problem`), regex syntax included; `grammar()` compiles, and finds
/// what only compiling can (a `$ref` that names nothing, a rule never defined).
public struct OutputConstraint: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Any JSON object.
        case jsonObject
        /// JSON valid against this schema.
        case jsonSchema(JSONValue)
        /// Text the whole of which matches this `RegexPattern`.
        case regex(String)
        /// Exactly one of these strings.
        case choice([String])
        /// Text llama.cpp's GBNF grammar accepts from `root`.
        case grammar(String)
    }

    public var kind: Kind
    /// Where the params hold it (`params.response_format.json_schema.schema`), for messages.
    public var field: String

    public init(_ kind: Kind, field: String) {
        self.kind = kind
        self.field = field
    }

    public static let maxSchemaBytes = 64 << 10
    public static let maxSchemaNameBytes = 64
    public static let maxRegexBytes = 4 << 10
    public static let maxGrammarBytes = 64 << 10
    public static let maxChoices = 256
    public static let maxChoiceBytes = 1 << 10

    /// Why params were refused: the field and a sentence naming it.
    public struct Problem: ClassifiedError, Equatable, CustomStringConvertible {
        public var field: String
        public var message: String
        public var description: String { message }
        public var kind: FailureKind { .invalidInput }

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }

        /// The same problem of the same constraint written under another field.
        public func moved(from old: String, to new: String) -> Problem {
            func move(_ text: String) -> String { text.hasPrefix(old) ? new + text.dropFirst(old.count) : text }
            return Problem(field: move(field), message: move(message))
        }
    }

    /// Equal for equal constraints wherever they were written: what compiled grammars are
    /// shared by.
    public var key: String {
        switch kind {
        case .jsonObject: "json_object"
        case .jsonSchema(let schema): "json:" + schema.jsonText
        case .regex(let pattern): "regex:" + pattern
        case .choice(let choices): "choice:" + JSONValue.array(choices.map { .string($0) }).jsonText
        case .grammar(let text): "grammar:" + text
        }
    }

    /// The constraint as `structured_outputs` writes it (which `parse` reads back).
    public var structuredOutputs: JSONValue {
        switch kind {
        case .jsonObject: .object(["json_object": .bool(true)])
        case .jsonSchema(let schema): .object(["json": schema])
        case .regex(let pattern): .object(["regex": .string(pattern)])
        case .choice(let choices): .object(["choice": .array(choices.map { .string($0) })])
        case .grammar(let text): .object(["grammar": .string(text)])
        }
    }

    /// The constraint in a params object's `response_format` and `structured_outputs`
    /// (`nil` or `null` for either: absent), or nil when neither asks for one.
    /// - Parameter prefix: put before field names (`params.`, `body.`).
    public static func parse(responseFormat: JSONValue?, structuredOutputs: JSONValue?,
                             prefix: String) throws(Problem) -> OutputConstraint? {
        let fromFormat = try parse(responseFormat: responseFormat ?? .null, prefix: prefix)
        let fromOutputs = try parse(structuredOutputs: structuredOutputs ?? .null, prefix: prefix)
        if fromFormat != nil, fromOutputs != nil {
            throw Problem(field: prefix + "structured_outputs",
                          message: "\(prefix)structured_outputs and \(prefix)response_format both ask for a format; give one")
        }
        return fromFormat ?? fromOutputs
    }

    private static func parse(responseFormat value: JSONValue, prefix: String) throws(Problem) -> OutputConstraint? {
        let field = prefix + "response_format"
        guard value != .null else { return nil }
        guard case .object(let object) = value else {
            throw Problem(field: field, message: "\(field) must be an object such as {\"type\": \"json_object\"}")
        }
        try refuseUnknown(object, known: ["type", "json_schema"], field: field)
        let type = object["type"] ?? .null
        let schemaSpec = object["json_schema"] ?? .null
        switch type {
        case .string("text"), .string("json_object"):
            guard schemaSpec == .null else {
                throw Problem(field: field + ".json_schema", message: "\(field).json_schema goes with type json_schema")
            }
            return type == .string("text") ? nil : OutputConstraint(.jsonObject, field: field)
        case .string("json_schema"):
            let specField = field + ".json_schema"
            guard case .object(let spec) = schemaSpec else {
                throw Problem(field: specField, message: "\(specField) must be an object with name and schema")
            }
            try refuseUnknown(spec, known: ["name", "schema", "strict", "description"], field: specField)
            guard case .string(let name)? = spec["name"], (1...maxSchemaNameBytes).contains(name.utf8.count),
                  name.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 != UInt8(ascii: "$") && JSONSchemaGrammar.isPlainKeyByte($0) }) else {
                throw Problem(field: specField + ".name",
                              message: "\(specField).name must be 1 to \(maxSchemaNameBytes) letters, digits, _ or -")
            }
            switch spec["strict"] ?? .null {
            case .null, .bool: break
            default: throw Problem(field: specField + ".strict", message: "\(specField).strict must be true or false")
            }
            switch spec["description"] ?? .null {
            case .null, .string: break
            default: throw Problem(field: specField + ".description", message: "\(specField).description must be a string")
            }
            return try schema(spec["schema"] ?? .null, field: specField + ".schema")
        default:
            throw Problem(field: field + ".type", message: "\(field).type must be text, json_object or json_schema")
        }
    }

    private static func parse(structuredOutputs value: JSONValue, prefix: String) throws(Problem) -> OutputConstraint? {
        let field = prefix + "structured_outputs"
        let kinds = ["choice", "grammar", "json", "json_object", "regex"]
        guard value != .null else { return nil }
        guard case .object(let object) = value else {
            throw Problem(field: field, message: "\(field) must be an object with one of json, regex, choice, grammar, json_object")
        }
        try refuseUnknown(object, known: Set(kinds), field: field)
        // null is absent, as everywhere in params; so is json_object: false.
        let given = kinds.filter { kind in
            let value = object[kind] ?? .null
            return value != .null && !(kind == "json_object" && value == .bool(false))
        }
        guard given.count == 1, let kind = given.first else {
            throw Problem(field: field, message: "\(field) must have exactly one of json, regex, choice, grammar, json_object")
        }
        let value = object[kind]!, here = "\(field).\(kind)"
        switch kind {
        case "json":
            return try schema(value, field: here)
        case "json_object":
            guard value == .bool(true) else { throw Problem(field: here, message: "\(here) must be true") }
            return OutputConstraint(.jsonObject, field: here)
        case "choice":
            guard case .array(let items) = value, (1...maxChoices).contains(items.count) else {
                throw Problem(field: here, message: "\(here) must be an array of 1 to \(maxChoices) strings")
            }
            var choices: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let choice) = item, (1...maxChoiceBytes).contains(choice.utf8.count) else {
                    throw Problem(field: "\(here)[\(index)]", message: "\(here)[\(index)] must be a string of 1 to \(maxChoiceBytes) bytes")
                }
                choices.append(choice)
            }
            return OutputConstraint(.choice(choices), field: here)
        default:
            let limit = kind == "regex" ? maxRegexBytes : maxGrammarBytes
            guard case .string(let text) = value, (1...limit).contains(text.utf8.count) else {
                throw Problem(field: here, message: "\(here) must be a string of 1 to \(limit) bytes")
            }
            if kind == "regex" {
                do { _ = try RegexPattern(text) } catch { throw Problem(field: here, message: "\(here): \(error)") }
            }
            return OutputConstraint(kind == "regex" ? .regex(text) : .grammar(text), field: here)
        }
    }

    private static func schema(_ value: JSONValue, field: String) throws(Problem) -> OutputConstraint {
        guard case .object = value else { throw Problem(field: field, message: "\(field) must be a JSON Schema object") }
        let size = value.postgresText.utf8.count
        guard size <= maxSchemaBytes else {
            throw Problem(field: field, message: "\(field) is \(size) bytes as JSON; at most \(maxSchemaBytes) are allowed")
        }
        do {
            try JSONSchemaGrammar.checkKeywords(value)
        } catch {
            throw problem(error, in: field)
        }
        return OutputConstraint(.jsonSchema(value), field: field)
    }

    private static func refuseUnknown(_ object: [String: JSONValue], known: Set<String>, field: String) throws(Problem) {
        if let unknown = object.keys.filter({ !known.contains($0) }).min(by: JSONSchemaGrammar.byBytes) {
            let path = JSONSchemaGrammar.text([.key(unknown)]).dropFirst()
            throw Problem(field: field + path, message: "unknown field \(field)\(path)")
        }
    }

    /// A schema's problem under the params field that holds it.
    static func problem(_ unsupported: JSONSchemaGrammar.Unsupported, in field: String) -> Problem {
        let path = field + unsupported.path.dropFirst()
        return Problem(field: path, message: "\(path): \(unsupported.reason)")
    }

    /// The grammar outputs must match.
    public func grammar(maximumWhitespace: Int = 12) throws(Problem) -> Grammar {
        switch kind {
        case .jsonObject:
            return JSONGrammar.object(maximumWhitespace: maximumWhitespace)
        case .jsonSchema(let schema):
            do {
                return try JSONSchemaGrammar.compile(schema: schema, maximumWhitespace: maximumWhitespace)
            } catch {
                throw Self.problem(error, in: field)
            }
        case .regex(let text):
            do {
                var grammar = Grammar()
                let elements = grammar.elements(for: try RegexPattern(text), inJSONString: false)
                grammar.root = grammar.declare("root")
                grammar.define(grammar.root, [elements])
                return grammar
            } catch {
                throw Problem(field: field, message: "\(field): \(error)")
            }
        case .choice(let choices):
            var grammar = Grammar()
            grammar.root = grammar.declare("root")
            grammar.define(grammar.root, choices.map(Grammar.literal))
            return grammar
        case .grammar(let text):
            do {
                return try GBNFGrammar.compile(text)
            } catch {
                throw Problem(field: field, message: "\(field): \(error)")
            }
        }
    }
}
