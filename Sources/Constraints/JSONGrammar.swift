/// The grammar of JSON text (RFC 8259), for `response_format: {"type": "json_object"}` and
/// as the building blocks of JSON Schema constraints. Whitespace between tokens is at
/// most `maximumWhitespace` characters, so a small model cannot loop on spaces; strings
/// are valid UTF-8 with JSON's escapes, numbers JSON's numbers.
public struct JSONGrammar {
    public var grammar = Grammar()
    public let maximumWhitespace: Int

    public let whitespace: [Grammar.Element]
    public let string: Grammar.Element
    /// One character of a string's content (unescaped or an escape).
    public let character: Grammar.Element
    public let number: Grammar.Element
    public let integer: Grammar.Element
    /// Any JSON value (a rule declared first, defined once objects and arrays exist).
    public let value: Grammar.Element
    public let object: Grammar.Element
    public let array: Grammar.Element

    public init(maximumWhitespace: Int = 12) {
        self.maximumWhitespace = maximumWhitespace
        var g = Grammar()
        let space = Grammar.Element.bytes(ByteSet(ascii: " \t\n\r"))
        let ws = g.repeated("ws", space, minimum: 0, maximum: maximumWhitespace)
        whitespace = ws

        // Strings: any character but " and \ and controls, or an escape.
        let hex = Grammar.Element.bytes(ByteSet(ascii: "0123456789abcdefABCDEF"))
        let plain = UTF8Ranges.anyCharacter(excludingASCII: ByteSet(ascii: "\"\\"), controls: false)
        let escape = Grammar.literal("\\")
        let character = g.rule("char", plain.map { $0.map(Grammar.Element.bytes) } + [
            escape + [.bytes(ByteSet(ascii: "\"\\/bfnrt"))],
            escape + Grammar.literal("u") + [hex, hex, hex, hex],
        ])
        self.character = character
        string = g.rule("string", [Grammar.literal("\"") + [g.star("chars", character)] + Grammar.literal("\"")])

        // Numbers: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
        let digit = Grammar.Element.bytes(ByteSet(ascii: "0123456789"))
        let digits = g.star("digits", digit)
        let intPart = g.rule("int-part", [Grammar.literal("0"), [.bytes(ByteSet(ascii: "123456789")), digits]])
        let minus = g.rule("minus", [Grammar.literal("-"), []])
        integer = g.rule("integer", [[minus, intPart]])
        let fraction = g.rule("fraction", [Grammar.literal(".") + [digit, digits], []])
        let exponent = g.rule("exponent", [[.bytes(ByteSet(ascii: "eE")), g.rule("sign", [Grammar.literal("+"), Grammar.literal("-"), []]), digit, digits], []])
        number = g.rule("number", [[minus, intPart, fraction, exponent]])

        let valueRule = g.declare("value")
        let v = Grammar.Element.rule(valueRule)
        let comma = ws + Grammar.literal(",") + ws
        let member = g.rule("member", [[string] + ws + Grammar.literal(":") + ws + [v]])
        let moreMembers = g.star("members", g.rule("next-member", [comma + [member]]))
        object = g.rule("object", [
            Grammar.literal("{") + ws + Grammar.literal("}"),
            Grammar.literal("{") + ws + [member, moreMembers] + ws + Grammar.literal("}"),
        ])
        let moreValues = g.star("values", g.rule("next-value", [comma + [v]]))
        array = g.rule("array", [
            Grammar.literal("[") + ws + Grammar.literal("]"),
            Grammar.literal("[") + ws + [v, moreValues] + ws + Grammar.literal("]"),
        ])
        g.define(valueRule, [[object], [array], [string], [number], Grammar.literal("true"), Grammar.literal("false"),
                             Grammar.literal("null")])
        value = v
        grammar = g
    }

    /// JSON text whose top level is an object (OpenAI's `json_object`), with no leading or
    /// trailing whitespace.
    public static func object(maximumWhitespace: Int = 12) -> Grammar {
        var json = JSONGrammar(maximumWhitespace: maximumWhitespace)
        guard case .rule(let object) = json.object else { preconditionFailure("object is a rule") }
        json.grammar.root = object
        return json.grammar
    }
}
