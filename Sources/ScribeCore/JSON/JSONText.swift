/// Scribe's one JSON layer: this parser, this writer and its one string escaper; Codable
/// types go through `JSONValue(encoding:)` and `JSONValue.decode(_:)`. Straight to and from
/// ``JSONValue``, fast enough for a batch file of 50,000 lines (Foundation's `JSONDecoder`
/// spends ~10× longer). Numbers: one without fraction or exponent that fits `Int64` is
/// `.integer`, a larger non-negative one `.unsignedInteger`, others `.number` (an integral
/// one that fits `Int64`, like `1.0` or `1e2`, is `.integer` too); one beyond `Double`'s
/// range (`1e400`) is refused. A key given twice in one object is refused: which one
/// counts is ambiguous, and readers of the same file may disagree.
extension JSONValue {
    /// Where and why a text is not JSON.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public enum PathComponent: Sendable, Hashable {
            case key(String)
            case index(Int)
        }

        /// 1-based byte offset into the text.
        public var column: Int
        public var reason: String
        /// The member whose value is at fault (`temperature` for `{"temperature": 1e400}`);
        /// empty when the fault is in the document's own structure.
        public var path: [PathComponent] = []
        public var description: String { "\(reason) at column \(column)" }

        /// The member at fault as a field name after `prefix`: names as `.top_p`, other keys
        /// (logit_bias's) as `["5"]`, indices as `[1]` (`params.logit_bias["5"]`); nil at the top.
        public func field(prefix: String) -> String? {
            guard !path.isEmpty else { return nil }
            let text = path.map { component -> String in
                switch component {
                case .index(let index): "[\(index)]"
                case .key(let key) where key.allSatisfy({ $0 == "_" || ("a"..."z").contains($0) }): ".\(key)"
                case .key(let key): "[\(JSONValue.quoted(key))]"
                }
            }.joined()
            return prefix + (text.hasPrefix(".") && (prefix.isEmpty || prefix.hasSuffix(".")) ? String(text.dropFirst()) : text)
        }

        func inside(_ component: PathComponent) -> SyntaxError {
            var error = self
            error.path.insert(component, at: 0)
            return error
        }
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    public static func parse(utf8 bytes: some Collection<UInt8>) throws(SyntaxError) -> JSONValue {
        try Array(bytes).withUnsafeBufferPointer { buffer throws(SyntaxError) -> JSONValue in
            var parser = JSONTextParser(bytes: buffer)
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return value
        }
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        try parse(utf8: text.utf8)
    }

    /// The order keys were written in, by the path of their object (`.object` is a
    /// dictionary): for what gives the order meaning, like a JSON Schema's `properties`.
    public struct KeyOrder: Sendable, Equatable {
        var orders: [[SyntaxError.PathComponent]: [String]] = [:]

        /// No order recorded: every object's keys come back as nil.
        public init() {}

        /// The keys of the object at `path`, in the order written; nil when there is none.
        public func keys(at path: [SyntaxError.PathComponent]) -> [String]? { orders[path] }
    }

    /// Parses like `parse`, and records the order of every object's keys.
    public static func parseKeepingKeyOrder(_ text: String) throws(SyntaxError) -> (JSONValue, KeyOrder) {
        try Array(text.utf8).withUnsafeBufferPointer { buffer throws(SyntaxError) -> (JSONValue, KeyOrder) in
            var parser = JSONTextParser(bytes: buffer)
            parser.keyOrder = KeyOrder()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return (value, parser.keyOrder!)
        }
    }

    /// The value as PostgreSQL prints jsonb (`{"a": 1, "b": [1, 2]}`), for limits the
    /// database measures with `octet_length(metadata::text)`; the length is exact but for
    /// numbers with a fraction, which jsonb prints as written. Keys come in no set order: only
    /// the length is meant to match.
    public var postgresText: String {
        switch self {
        case .object(let object):
            return "{" + object.map { JSONValue.string($0.key).jsonText + ": " + $0.value.postgresText }.joined(separator: ", ") + "}"
        case .array(let items): return "[" + items.map(\.postgresText).joined(separator: ", ") + "]"
        default: return jsonText
        }
    }

    /// Compact JSON text, object keys sorted (the same value always gives the same bytes).
    public var jsonText: String {
        var out = ""
        write(to: &out, indent: nil)
        return out
    }

    /// JSON text for people: two-space indentation, object keys sorted.
    public var prettyText: String {
        var out = ""
        write(to: &out, indent: "")
        return out
    }

    private func write(to out: inout String, indent: String?) {
        let inner = indent.map { $0 + "  " }
        func newline(_ level: String?) {
            if let level { out += "\n" + level }
        }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .unsignedInteger(let u): out += String(u)
        case .number(let x): out += JSONValue.numberText(x)
        case .string(let s): JSONValue.appendString(s, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                newline(inner)
                item.write(to: &out, indent: inner)
            }
            if !items.isEmpty { newline(indent) }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                newline(inner)
                JSONValue.appendString(key, to: &out)
                out += indent == nil ? ":" : ": "
                object[key]!.write(to: &out, indent: inner)
            }
            if !object.isEmpty { newline(indent) }
            out += "}"
        }
    }

    /// The shortest text that reads back as `x`: `20` rather than `20.0` (as Foundation's
    /// encoder writes it, and as jsonb keeps it); `null` for what JSON cannot hold.
    static func numberText(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x.rounded() == x, abs(x) < 0x1p53 { return String(Int64(x)) }
        return "\(x)"
    }

    /// The one JSON string escaper (logfmt's quoted values too): `"` and `\` escaped, control
    /// characters (C0, DEL, C1), U+2028 and U+2029 as escapes (so a line is valid
    /// JavaScript too), `/` left alone, and NUL dropped:
    /// PostgreSQL's text and jsonb cannot hold it, and one rule everywhere keeps a result
    /// the same in the database, in a batch output file and in `scribe generate`'s output.
    ///
    /// `asPostgres`: as PostgreSQL's `to_json` writes a string instead (only `"`, `\` and C0
    /// controls escaped), for text that must read the same as the database's own.
    public static func appendString(_ text: String, to out: inout String, asPostgres: Bool = false) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\0" where !asPostgres: break
            case _ where scalar.value < 0x20
                || !asPostgres && ((0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// `text` as a JSON string literal (see `appendString`).
    public static func quoted(_ text: String) -> String {
        quoted(text, asPostgres: false)
    }

    public static func quoted(_ text: String, asPostgres: Bool) -> String {
        var out = ""
        appendString(text, to: &out, asPostgres: asPostgres)
        return out
    }
}

/// A recursive-descent parser over UTF-8 bytes (RFC 8259), nesting limited so that
/// hostile input cannot exhaust the stack.
private struct JSONTextParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    static let maxDepth = 512
    /// Set when key order is recorded; `path` is then where the parser stands.
    var keyOrder: JSONValue.KeyOrder?
    var path: [JSONValue.SyntaxError.PathComponent] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ reason: String) -> JSONValue.SyntaxError {
        JSONValue.SyntaxError(column: position + 1, reason: reason)
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func value(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of text") }
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) levels") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character \(describe(bytes[position]))")
        }
    }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    mutating func literal(_ word: StaticString) throws(JSONValue.SyntaxError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[position + $0] == word.utf8Start[$0] }) else {
            throw error("unexpected character \(describe(bytes[position]))")
        }
        position += count
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONValue.SyntaxError) {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of text, expected \(what)") }
        guard bytes[position] == byte else { throw error("expected \(what), found \(describe(bytes[position]))") }
        position += 1
    }

    mutating func object(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        position += 1  // {
        var object: [String: JSONValue] = [:]
        var keys: [String] = []
        defer { if keyOrder != nil { keyOrder!.orders[path] = keys } }
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw position < bytes.count ? error("expected a string key, found \(describe(bytes[position]))")
                    : error("unexpected end of text, expected a key")
            }
            let keyStart = position
            let key = try string()
            guard object[key] == nil else {
                position = keyStart
                throw error("duplicate key \"\(key)\"")
            }
            try expect(UInt8(ascii: ":"), "':'")
            if keyOrder != nil {
                keys.append(key)
                path.append(.key(key))
            }
            do {
                object[key] = try value(depth: depth + 1)
            } catch {
                throw error.inside(.key(key))
            }
            if keyOrder != nil { path.removeLast() }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of text, expected ',' or '}'") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(object)
            default: throw error("expected ',' or '}', found \(describe(bytes[position]))")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONValue.SyntaxError) -> JSONValue {
        position += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            if keyOrder != nil { path.append(.index(items.count)) }
            do {
                items.append(try value(depth: depth + 1))
            } catch {
                throw error.inside(.index(items.count))
            }
            if keyOrder != nil { path.removeLast() }
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of text, expected ',' or ']'") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(items)
            default: throw error("expected ',' or ']', found \(describe(bytes[position]))")
            }
        }
    }

    mutating func string() throws(JSONValue.SyntaxError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, copy the bytes once (validated as UTF-8).
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = try utf8(start..<position)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("unescaped control character in a string") }
            position += 1
        }
        var text = try utf8(start..<position)
        var pending: [UInt8] = []
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                text += try utf8Bytes(pending)
                position += 1
                return text
            case UInt8(ascii: "\\"):
                text += try utf8Bytes(pending)
                pending.removeAll(keepingCapacity: true)
                text.unicodeScalars.append(try escape())
            case 0..<0x20:
                throw error("unescaped control character in a string")
            default:
                pending.append(byte)
                position += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func escape() throws(JSONValue.SyntaxError) -> Unicode.Scalar {
        position += 1  // backslash
        guard position < bytes.count else { throw error("unterminated string") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try hex4()
            if (0xD800..<0xDC00).contains(high) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw error("a high surrogate \\u escape without its low half") }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate \\u escape") }
                return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(high) else { throw error("a lone low surrogate \\u escape") }
            return scalar
        default:
            position -= 1
            throw error("invalid escape \\\(Character(Unicode.Scalar(byte)))")
        }
    }

    mutating func hex4() throws(JSONValue.SyntaxError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("a \\u escape needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    func utf8(_ range: Range<Int>) throws(JSONValue.SyntaxError) -> String {
        try utf8Bytes(UnsafeBufferPointer(rebasing: bytes[range]))
    }

    func utf8Bytes(_ slice: some Collection<UInt8>) throws(JSONValue.SyntaxError) -> String {
        guard let text = String(validating: slice, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
        return text
    }

    mutating func number() throws(JSONValue.SyntaxError) -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ parser: inout JSONTextParser) -> Int {
            let from = parser.position
            while parser.position < parser.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.position]) { parser.position += 1 }
            return parser.position - from
        }
        let leading = position
        let count = digits(&self)
        guard count > 0 else { throw error("a number needs digits") }
        guard count == 1 || bytes[leading] != UInt8(ascii: "0") else {
            position = leading
            throw error("a number cannot start with 0")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            isInteger = false
            guard digits(&self) > 0 else { throw error("a number needs digits after '.'") }
        }
        if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
            position += 1
            isInteger = false
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard digits(&self) > 0 else { throw error("a number needs digits in its exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger {
            if let i = Int64(text) { return .integer(i) }
            if let u = UInt64(text) { return .unsignedInteger(u) }
        }
        guard let x = Double(text), x.isFinite else {
            position = start
            throw error("number \(text) is out of range")
        }
        if x.rounded() == x, x >= -0x1p63, x < 0x1p63 { return .integer(Int64(x)) }
        return .number(x)
    }
}
