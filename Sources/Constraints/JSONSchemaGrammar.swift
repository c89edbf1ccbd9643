import ScribeCore

/// JSON Schema to grammar: outputs the grammar allows always validate against the schema.
/// Where the schema leaves a choice the grammar takes a narrower one that still validates
/// (properties in the schema's order, only the declared ones; `enum` values in one
/// spelling; no `prefixItems` left out). A keyword it cannot enforce is refused with its
/// path, never dropped. Supported now: `type` (one or a list), `properties`, `required`,
/// `additionalProperties` (false or absent; or a schema for objects with no
/// `properties`), `enum`, `const`, `items`, `prefixItems`, `minItems`, `maxItems`,
/// `anyOf`, `oneOf` (branches of distinct types), `allOf` of one, `$ref` to `#/$defs/…` or
/// `#/definitions/…` (recursive too), `minLength`, `maxLength`, `pattern` (the
/// `RegexPattern` subset, matched whole), `format` (date, time, date-time, uuid, email),
/// integer `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`, and number bounds
/// that are whole, inclusive and not below 0; annotations are ignored.
public struct JSONSchemaGrammar {
    public struct Unsupported: Error, Equatable, CustomStringConvertible {
        /// `$.properties.email.pattern`
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    typealias Path = [JSONValue.SyntaxError.PathComponent]

    /// Words that describe and never constrain.
    static let annotations: Set<String> = ["title", "description", "$schema", "$id", "default", "examples", "$comment",
                                           "readOnly", "writeOnly", "deprecated", "$defs", "definitions"]
    /// `minLength`, `maxLength`, `minItems` and `maxItems` are at most this.
    public static let maximumLength = 10_000

    private var json: JSONGrammar
    private let root: JSONValue
    private let keyOrder: JSONValue.KeyOrder
    private let propertyOrder: PropertyOrder

    /// The order an object's properties are generated in.
    public enum PropertyOrder: Sendable {
        /// As the schema text lists them (`compile(schemaText:)`), as OpenAI's strict mode
        /// writes them. Jobs never get it: their params pass through `jsonb`.
        case asWritten
        /// The `required` list's order, then the other properties by name: for schemas
        /// that passed through `jsonb`, which keeps arrays' order but not keys'.
        case required
    }
    private var references: [String: Int] = [:]

    /// The grammar of JSON texts valid against `schemaText`.
    public static func compile(schemaText: String, propertyOrder: PropertyOrder = .asWritten,
                               maximumWhitespace: Int = 12) throws -> Grammar {
        let (schema, order): (JSONValue, JSONValue.KeyOrder)
        do {
            (schema, order) = try JSONValue.parseKeepingKeyOrder(schemaText)
        } catch {
            throw Unsupported(path: "$", reason: "the schema is not JSON: \(error)")
        }
        return try compile(schema: schema, keyOrder: order, propertyOrder: propertyOrder, maximumWhitespace: maximumWhitespace)
    }

    /// The grammar of JSON texts valid against `schema`; `keyOrder` as the text was written
    /// (none: properties in `required` order, then by name).
    public static func compile(schema: JSONValue, keyOrder: JSONValue.KeyOrder = .init(), propertyOrder: PropertyOrder = .required,
                               maximumWhitespace: Int = 12) throws(Unsupported) -> Grammar {
        try checkKeywords(schema)
        var compiler = JSONSchemaGrammar(json: JSONGrammar(maximumWhitespace: maximumWhitespace), root: schema, keyOrder: keyOrder,
                                          propertyOrder: propertyOrder)
        let top: Grammar.Element
        do {
            top = try compiler.compile(schema, at: [])
        } catch let error as Unsupported {
            throw error
        } catch {
            throw Unsupported(path: "$", reason: "\(error)")
        }
        compiler.json.grammar.root = compiler.json.grammar.declare("root")
        compiler.json.grammar.define(compiler.json.grammar.root, [[top]])
        return compiler.json.grammar
    }

    static func text(_ path: Path) -> String {
        "$" + path.map { component -> String in
            switch component {
            case .index(let index): "[\(index)]"
            case .key(let key) where !key.isEmpty && key.utf8.allSatisfy(isPlainKeyByte): ".\(key)"
            case .key(let key): "[\(JSONValue.quoted(key, asPostgres: true))]"
            }
        }.joined()
    }

    /// Keys written after a dot in a path; others as `["a key"]`.
    static func isPlainKeyByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F || byte == 0x24
    }

    private func refuse(_ path: Path, _ reason: String) -> Unsupported {
        Unsupported(path: Self.text(path), reason: reason)
    }

    private mutating func compile(_ schema: JSONValue, at path: Path) throws -> Grammar.Element {
        switch schema {
        case .bool(true): return json.value
        case .bool(false): throw refuse(path, "the schema false matches nothing")
        case .object(let keywords): return try compile(keywords, at: path)
        default: throw refuse(path, "a schema is an object or a boolean")
        }
    }

    private mutating func compile(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        let constraining = keywords.keys.filter { !Self.annotations.contains($0) }

        if let reference = keywords["$ref"] {
            guard constraining.count == 1 else { throw refuse(path + [.key("$ref")], "$ref with other keywords is not supported") }
            return try resolve(reference, at: path + [.key("$ref")])
        }
        if let branches = keywords["allOf"] {
            guard case .array(let list) = branches, list.count == 1, constraining.count == 1 else {
                throw refuse(path + [.key("allOf")], "allOf is supported with one schema and nothing beside it")
            }
            return try compile(list[0], at: path + [.key("allOf"), .index(0)])
        }
        for combinator in ["anyOf", "oneOf"] {
            guard let branches = keywords[combinator] else { continue }
            guard case .array(let list) = branches, !list.isEmpty else {
                throw refuse(path + [.key(combinator)], "\(combinator) is a non-empty array of schemas")
            }
            guard constraining.count == 1 else { throw refuse(path + [.key(combinator)], "\(combinator) with other keywords is not supported") }
            if combinator == "oneOf" { try checkDisjoint(list, at: path + [.key(combinator)]) }
            var alternatives: [[Grammar.Element]] = []
            for (index, branch) in list.enumerated() {
                alternatives.append([try compile(branch, at: path + [.key(combinator), .index(index)])])
            }
            return json.grammar.rule(combinator, alternatives)
        }
        let types = try self.types(keywords["type"], at: path + [.key("type")])
        func hasType(_ value: JSONValue) -> Bool {
            guard let types else { return true }
            return types.contains(Self.type(of: value)) || (types.contains("number") && Self.type(of: value) == "integer")
        }
        for listed in ["const", "enum"] where keywords[listed] != nil {
            // The values are written as they are: any other keyword (a bound, a length, the
            // other of const and enum) could make one invalid, so none may come with them.
            if let other = constraining.filter({ $0 != listed && $0 != "type" }).sorted().first {
                throw refuse(path + [.key(other)], "\(other) beside \(listed) is not supported")
            }
        }
        if let constant = keywords["const"] {
            guard hasType(constant) else { throw refuse(path + [.key("const")], "const does not have the schema's type") }
            return json.grammar.rule("const", [Grammar.literal(constant.jsonText)])
        }
        if let values = keywords["enum"] {
            guard case .array(let list) = values, !list.isEmpty else { throw refuse(path + [.key("enum")], "enum is a non-empty array") }
            let allowed = list.filter(hasType)
            guard !allowed.isEmpty else { throw refuse(path + [.key("enum")], "no enum value has the schema's type") }
            return json.grammar.rule("enum", allowed.map { Grammar.literal($0.jsonText) })
        }
        let implied = types ?? (keywords["properties"] != nil || keywords["additionalProperties"] != nil ? ["object"]
            : keywords["items"] != nil || keywords["prefixItems"] != nil ? ["array"]
            : ["minLength", "maxLength", "pattern", "format"].contains(where: { keywords[$0] != nil }) ? ["string"] : nil)
        guard let implied else { return json.value }
        var alternatives: [[Grammar.Element]] = []
        for type in implied {
            switch type {
            case "null": alternatives.append(Grammar.literal("null"))
            case "boolean": alternatives += [Grammar.literal("true"), Grammar.literal("false")]
            case "integer": alternatives.append([try integer(keywords, at: path)])
            case "number": alternatives.append([try number(keywords, at: path)])
            case "string": alternatives.append([try string(keywords, at: path)])
            case "object": alternatives.append([try object(keywords, at: path)])
            default: alternatives.append([try array(keywords, at: path)])
            }
        }
        return json.grammar.rule("typed", alternatives)
    }

    private func types(_ value: JSONValue?, at path: Path) throws -> [String]? {
        let valid: Set<String> = ["null", "boolean", "integer", "number", "string", "object", "array"]
        switch value {
        case nil: return nil
        case .string(let one) where valid.contains(one): return [one]
        case .array(let list):
            let names = list.compactMap { if case .string(let name) = $0, valid.contains(name) { name } else { nil } }
            guard names.count == list.count, !names.isEmpty else { break }
            return names
        default: break
        }
        throw refuse(path, "type is one of null, boolean, integer, number, string, object, array, or a list of them")
    }

    static func type(of value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .unsignedInteger: "integer"
        case .number(let number): number.rounded() == number ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// oneOf is compiled as anyOf, which is the same only when no output can match two
    /// branches: each branch must name its types, and no type may appear in two.
    private func checkDisjoint(_ branches: [JSONValue], at path: Path) throws {
        var seen: Set<String> = []
        for (index, branch) in branches.enumerated() {
            guard case .object(let keywords) = branch, let names = try types(keywords["type"], at: path + [.index(index), .key("type")]) else {
                throw refuse(path + [.index(index)], "oneOf is supported when every branch has a type and no two share one")
            }
            var expanded = Set(names)
            if expanded.contains("number") { expanded.insert("integer") }
            guard seen.isDisjoint(with: expanded) else {
                throw refuse(path + [.index(index)], "oneOf is supported when every branch has a type and no two share one")
            }
            seen.formUnion(expanded)
        }
    }

    /// Integer bounds, inclusive; exclusive ones moved by one. nil: no bound given.
    private func bounds(_ keywords: [String: JSONValue], at path: Path) throws -> (Int64?, Int64?, given: Bool) {
        var low: Int64?, high: Int64?
        for (name, isMinimum, exclusive) in [("minimum", true, false), ("exclusiveMinimum", true, true),
                                             ("maximum", false, false), ("exclusiveMaximum", false, true)] {
            guard let value = keywords[name] else { continue }
            guard case .integer(let bound) = value, bound > Int64.min + 1, bound < Int64.max - 1 else {
                throw refuse(path + [.key(name)], "\(name) is supported as a whole number")
            }
            if isMinimum {
                let inclusive = exclusive ? bound + 1 : bound
                low = max(low ?? inclusive, inclusive)
            } else {
                let inclusive = exclusive ? bound - 1 : bound
                high = min(high ?? inclusive, inclusive)
            }
        }
        return (low, high, low != nil || high != nil)
    }

    private mutating func integer(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        let (low, high, given) = try bounds(keywords, at: path)
        guard given else { return json.integer }
        guard let pattern = IntegerRange.pattern(minimum: low, maximum: high) else {
            throw refuse(path + [.key("maximum")], "no integer lies between the bounds")
        }
        return json.grammar.rule("bounded-integer", [json.grammar.elements(for: pattern, inJSONString: false)])
    }

    /// Numbers with bounds: those with whole-number bounds are held to a whole part in
    /// range and a fraction (none at the maximum), without an exponent; others refused.
    private mutating func number(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        let (low, high, given) = try bounds(keywords, at: path)
        guard given else { return json.number }
        guard keywords["exclusiveMinimum"] == nil, keywords["exclusiveMaximum"] == nil, (low ?? 0) >= 0 else {
            throw refuse(path + [.key(keywords["exclusiveMinimum"] != nil ? "exclusiveMinimum"
                : keywords["exclusiveMaximum"] != nil ? "exclusiveMaximum" : "minimum")],
                "number bounds are supported as whole, inclusive and not below 0")
        }
        let digit = RegexPattern.characters([0x30...0x39])
        let fraction = RegexPattern.sequence([.characters([0x2E...0x2E]), .repeated(digit, minimum: 1, maximum: nil)])
        var branches: [RegexPattern] = []
        if high.map({ $0 > (low ?? 0) }) ?? true, let below = IntegerRange.pattern(minimum: low ?? 0, maximum: high.map { $0 - 1 }) {
            branches.append(.sequence([below, .repeated(fraction, minimum: 0, maximum: 1)]))
        }
        if let high, high >= (low ?? 0), let exact = IntegerRange.pattern(minimum: high, maximum: high) {
            branches.append(exact)
        }
        guard !branches.isEmpty else { throw refuse(path + [.key("maximum")], "no number lies between the bounds") }
        return json.grammar.rule("bounded-number", [json.grammar.elements(for: .choice(branches), inJSONString: false)])
    }

    private mutating func resolve(_ reference: JSONValue, at path: Path) throws -> Grammar.Element {
        guard case .string(let target) = reference else { throw refuse(path, "$ref is a string") }
        if let known = references[target] { return .rule(known) }
        let parts = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        // `checkKeywords` made sure the target resolves.
        guard Self.resolves(target, in: root), case .object(let top) = root, case .object(let definitions)? = top[parts[1]],
              let definition = definitions[parts[2]] else {
            throw refuse(path, "$ref \(target) does not name a schema in #/$defs or #/definitions")
        }
        // Declared before it is compiled, so that a schema may refer to itself.
        let rule = json.grammar.declare("ref")
        references[target] = rule
        json.grammar.define(rule, [[try compile(definition, at: [.key(parts[1]), .key(parts[2])])]])
        return .rule(rule)
    }

    private func count(_ keywords: [String: JSONValue], _ name: String, at path: Path) throws -> Int? {
        guard let value = keywords[name] else { return nil }
        guard let count = value.intValue, count >= 0, count <= Self.maximumLength else {
            throw refuse(path + [.key(name)], "\(name) is a whole number from 0 to \(Self.maximumLength)")
        }
        return count
    }

    /// The formats a string may be held to, as patterns whose strings every format
    /// checker accepts (years from 0001; dates only to the 28th, but the 29th–31st of months that have them;
    /// times with an offset, as RFC 3339 wants).
    static let formats: [String: String] = {
        // Years 0001–9999: 0000 is not a year RFC 3339 (nor Python's datetime) accepts.
        let date = #"(?:[1-9]\d{3}|0[1-9]\d\d|00[1-9]\d|000[1-9])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"#
        let time = #"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"#
        return [
            "date": date, "time": time, "date-time": date + "T" + time,
            "uuid": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "email": #"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24}"#,
        ]
    }()

    private mutating func string(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        let lengthGiven = keywords["minLength"] != nil || keywords["maxLength"] != nil
        for (name, source) in [("pattern", keywords["pattern"]), ("format", keywords["format"])] {
            guard let source else { continue }
            guard case .string(let text) = source else { throw refuse(path + [.key(name)], "\(name) is a string") }
            guard !lengthGiven, name == "format" || keywords["format"] == nil else {
                throw refuse(path + [.key(name)], "\(name) together with minLength, maxLength or format is not supported")
            }
            let regex: String
            if name == "format" {
                guard let known = Self.formats[text] else {
                    throw refuse(path + [.key(name)], "format \(text) is not supported (date, time, date-time, uuid, email are)")
                }
                regex = known
            } else {
                regex = text
            }
            let pattern: RegexPattern
            do { pattern = try RegexPattern(regex) } catch {
                throw refuse(path + [.key(name)], "\(error)")
            }
            return json.grammar.rule("string", [Grammar.literal("\"") + json.grammar.elements(for: pattern, inJSONString: true)
                + Grammar.literal("\"")])
        }
        let minimum = try count(keywords, "minLength", at: path) ?? 0
        let maximum = try count(keywords, "maxLength", at: path)
        if minimum == 0 && maximum == nil { return json.string }
        guard maximum.map({ $0 >= minimum }) ?? true else { throw refuse(path + [.key("maxLength")], "maxLength is below minLength") }
        let character = json.character
        return json.grammar.rule("string", [Grammar.literal("\"")
            + json.grammar.repeated("chars", character, minimum: minimum, maximum: maximum) + Grammar.literal("\"")])
    }

    private mutating func object(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        let open = Grammar.literal("{") + json.whitespace, close = json.whitespace + Grammar.literal("}")
        let separator = json.whitespace + Grammar.literal(",") + json.whitespace
        var properties: [(name: String, schema: JSONValue)] = []
        if let declared = keywords["properties"] {
            guard case .object(let members) = declared else { throw refuse(path + [.key("properties")], "properties is an object") }
            var order = keyOrder.keys(at: path + [.key("properties")]) ?? members.keys.sorted()
            if propertyOrder == .required, case .array(let names)? = keywords["required"] {
                let listed = names.compactMap { if case .string(let name) = $0, members[name] != nil { name } else { nil } }
                order = listed + members.keys.sorted().filter { !listed.contains($0) }
            }
            properties = order.compactMap { name in members[name].map { (name, $0) } }
        }
        var required: Set<String> = []
        if let list = keywords["required"] {
            guard case .array(let names) = list else { throw refuse(path + [.key("required")], "required is an array of names") }
            for (index, name) in names.enumerated() {
                guard case .string(let text) = name, properties.contains(where: { $0.name == text }) else {
                    throw refuse(path + [.key("required"), .index(index)], "a required property must be declared in properties")
                }
                required.insert(text)
            }
        }
        switch keywords["additionalProperties"] {
        case nil, .bool(false): break
        case .some(let extra) where properties.isEmpty && required.isEmpty:
            // A map: any keys, every value valid against the schema.
            let value = try compile(extra, at: path + [.key("additionalProperties")])
            let member = json.grammar.rule("entry", [[json.string] + json.whitespace + Grammar.literal(":") + json.whitespace + [value]])
            let more = json.grammar.star("entries", json.grammar.rule("next-entry", [separator + [member]]))
            return json.grammar.rule("map", [open + close, open + [member, more] + close])
        default:
            throw refuse(path + [.key("additionalProperties")], "additionalProperties is false, or a schema for an object without properties")
        }
        // after[i][c]: the members from property i on, c: whether one came before (a comma first).
        var compiled: [Grammar.Element] = []
        for (name, schema) in properties {
            let value = try compile(schema, at: path + [.key("properties"), .key(name)])
            compiled.append(json.grammar.rule("member", [Grammar.literal(JSONValue.quoted(name)) + json.whitespace
                + Grammar.literal(":") + json.whitespace + [value]]))
        }
        var after: [[Grammar.Element]] = Array(repeating: [], count: properties.count + 1)
        after[properties.count] = [json.grammar.rule("end", [[]]), json.grammar.rule("end", [[]])]
        for index in stride(from: properties.count - 1, through: 0, by: -1) {
            after[index] = (0..<2).map { comma in
                let present = (comma == 1 ? separator : []) + [compiled[index], after[index + 1][1]]
                let alternatives = required.contains(properties[index].name) ? [present] : [present, [after[index + 1][comma]]]
                return json.grammar.rule("members", alternatives)
            }
        }
        return json.grammar.rule("object", [open + [after[0][0]] + close])
    }

    private mutating func array(_ keywords: [String: JSONValue], at path: Path) throws -> Grammar.Element {
        var prefix: [Grammar.Element] = []
        if let items = keywords["prefixItems"] {
            guard case .array(let list) = items else { throw refuse(path + [.key("prefixItems")], "prefixItems is an array of schemas") }
            for (index, item) in list.enumerated() { prefix.append(try compile(item, at: path + [.key("prefixItems"), .index(index)])) }
        }
        let minimum = try count(keywords, "minItems", at: path) ?? 0
        let maximum = try count(keywords, "maxItems", at: path)
        guard maximum.map({ $0 >= max(minimum, prefix.count) }) ?? true else {
            throw refuse(path + [.key("maxItems")], "maxItems is below minItems or the number of prefixItems")
        }
        let item: Grammar.Element?
        switch keywords["items"] {
        case nil: item = prefix.isEmpty ? json.value : nil  // after prefixItems: none (narrower, still valid)
        case .bool(false): item = nil
        case .some(let schema): item = try compile(schema, at: path + [.key("items")])
        }
        let open = Grammar.literal("[") + json.whitespace, close = json.whitespace + Grammar.literal("]")
        let separator = json.whitespace + Grammar.literal(",") + json.whitespace
        let low = max(0, minimum - prefix.count), high = maximum.map { $0 - prefix.count }
        guard item != nil || low == 0 else { throw refuse(path + [.key("minItems")], "minItems needs more items than the schema allows") }
        var sequence: [Grammar.Element] = []
        for (index, element) in prefix.enumerated() { sequence += (index > 0 ? separator : []) + [element] }
        guard let item, high.map({ $0 > 0 }) ?? true else {
            return json.grammar.rule("array", [open + sequence + close])
        }
        let next = json.grammar.rule("next-item", [separator + [item]])
        if !prefix.isEmpty {
            return json.grammar.rule("array", [open + sequence + json.grammar.repeated("items", next, minimum: low, maximum: high) + close])
        }
        let nonEmpty = [item] + json.grammar.repeated("items", next, minimum: max(0, low - 1), maximum: high.map { $0 - 1 })
        return json.grammar.rule("array", low == 0 ? [open + close, open + nonEmpty + close] : [open + nonEmpty + close])
    }
}
