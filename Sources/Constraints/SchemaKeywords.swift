import ScribeCore

extension JSONSchemaGrammar {
    /// Schemas within schemas (a property's, an item's, a branch's) nest at most this deep.
    public static let maximumNesting = 32
    static let typeNames: Set<String> = ["null", "boolean", "integer", "number", "string", "object", "array"]

    /// Every keyword of `schema` and of the schemas in it is one this compiler enforces (the
    /// cases below) or an annotation, and its value has the right JSON type. The database walks a schema the same way at
    /// INSERT (`scribe.schema_problem` in `Migrations/0050_structured_output.sql`), in the
    /// same order (an object's keys by their bytes, each checked and then entered), so the
    /// two name the same first problem; a `pattern` is parsed and a `$ref` resolved here
    /// (`scribe.regex_problem` there). What only compiling finds (`oneOf` branches that
    /// overlap, bounds no value meets) is left to `compile`.
    public static func checkKeywords(_ schema: JSONValue) throws(Unsupported) {
        try check(schema, at: [], nesting: 0, root: schema)
    }

    /// Whether `target` names a schema of `root`: `#/$defs/name` or `#/definitions/name`.
    static func resolves(_ target: String, in root: JSONValue) -> Bool {
        let parts = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "#", ["$defs", "definitions"].contains(parts[1]),
              case .object(let top) = root, case .object(let definitions)? = top[parts[1]] else { return false }
        return definitions[parts[2]] != nil
    }

    /// Keys in byte order, as PostgreSQL's `COLLATE "C"` sorts them.
    static func byBytes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static func check(_ schema: JSONValue, at path: Path, nesting: Int, root: JSONValue) throws(Unsupported) {
        guard nesting <= maximumNesting else {
            throw Unsupported(path: text(path), reason: "schemas nest deeper than \(maximumNesting) levels")
        }
        guard case .object(let keywords) = schema else {
            if case .bool = schema { return }
            throw Unsupported(path: text(path), reason: "a schema is an object or a boolean")
        }
        for key in keywords.keys.sorted(by: byBytes) {
            let value = keywords[key]!, here = path + [.key(key)]
            func refuse(_ reason: String) -> Unsupported { Unsupported(path: text(here), reason: reason) }
            switch key {
            case "type":
                let names: [JSONValue] = if case .array(let list) = value { list } else { [value] }
                guard !names.isEmpty, names.allSatisfy({ if case .string(let name) = $0 { typeNames.contains(name) } else { false } }) else {
                    throw refuse("type is one of null, boolean, integer, number, string, object, array, or a list of them")
                }
            case "properties", "$defs", "definitions":
                guard case .object(let members) = value else { throw refuse("\(key) is an object of schemas") }
                for name in members.keys.sorted(by: byBytes) {
                    try check(members[name]!, at: here + [.key(name)], nesting: nesting + 1, root: root)
                }
            case "additionalProperties", "items":
                try check(value, at: here, nesting: nesting + 1, root: root)
            case "prefixItems", "anyOf", "oneOf", "allOf":
                guard case .array(let list) = value, !list.isEmpty else { throw refuse("\(key) is a non-empty array of schemas") }
                for (index, item) in list.enumerated() { try check(item, at: here + [.index(index)], nesting: nesting + 1, root: root) }
            case "required":
                guard case .array(let names) = value, names.allSatisfy({ if case .string = $0 { true } else { false } }) else {
                    throw refuse("required is an array of names")
                }
            case "enum":
                guard case .array(let list) = value, !list.isEmpty else { throw refuse("enum is a non-empty array") }
            case "$ref", "pattern":
                guard case .string(let text) = value else { throw refuse("\(key) is a string") }
                if key == "pattern" {
                    do { _ = try RegexPattern(text) } catch { throw refuse("\(error)") }
                } else if !resolves(text, in: root) {
                    throw refuse("$ref \(text) does not name a schema in #/$defs or #/definitions")
                }
            case "format":
                guard case .string(let name) = value, formats[name] != nil else {
                    throw refuse("format is one of date, time, date-time, uuid, email")
                }
            case "minLength", "maxLength", "minItems", "maxItems":
                guard let count = value.intValue, (0...maximumLength).contains(count) else {
                    throw refuse("\(key) is a whole number from 0 to \(maximumLength)")
                }
            case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
                guard case .integer(let bound) = value, bound > Int64.min + 1, bound < Int64.max - 1 else {
                    throw refuse("\(key) is supported as a whole number")
                }
            case "const":
                break
            default:
                guard annotations.contains(key) else { throw refuse("\(key) is not supported") }
            }
        }
    }
}
