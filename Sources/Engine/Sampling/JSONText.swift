/// JSON text straight to and from ``JSONValue``, for bulk input such as a batch file of
/// 50,000 lines: going through `JSONDecoder`'s `Decodable` machinery (which
/// ``JSONValue/parse(_:)`` does) spends ~10× longer, mostly on failed `try?` decodes and
/// coding paths. Same values: a number without fraction or exponent that fits `Int64` is
/// `.integer`, a larger non-negative one `.unsignedInteger`, others `.number` (an
/// integral one that fits `Int64`, like `1.0` or `1e2`, is `.integer` too). Unlike
/// `JSONDecoder`, a key given twice in one object is refused: which one counts is
/// ambiguous, and readers of the same file may disagree.
extension JSONValue {
    /// Where and why a text is not JSON.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based byte offset into the text.
        public var column: Int
        public var reason: String
        public var description: String { "\(reason) at column \(column)" }
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

    /// Compact JSON text with object keys sorted, slashes unescaped: what
    /// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .unsignedInteger(let u): out += String(u)
        case .number(let x): out += x.isFinite ? "\(x)" : "null"
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                object[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, to out: inout String) {
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
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// A recursive-descent parser over UTF-8 bytes (RFC 8259), nesting limited so that
/// hostile input cannot exhaust the stack.
private struct JSONTextParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    static let maxDepth = 512

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
            object[key] = try value(depth: depth + 1)
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
            items.append(try value(depth: depth + 1))
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
