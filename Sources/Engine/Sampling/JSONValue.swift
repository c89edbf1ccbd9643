import Foundation

/// A decoded JSON value that keeps booleans, integers and other numbers apart.
///
/// Foundation's `JSONSerialization` on Linux hands back booleans as `NSNumber`, so `true`
/// would pass for `1`; decoding into this enum with `JSONDecoder` keeps them distinct.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without a fraction that fits in `Int64` (`1.0` and `1e2` count too).
    case integer(Int64)
    /// A non-negative integer above `Int64.max` (large seeds).
    case unsignedInteger(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes one JSON document.
    public static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// The numeric value if this is any kind of number; never for booleans.
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .unsignedInteger(let u): Double(u)
        case .number(let x): x
        default: nil
        }
    }

    /// The value if it is an integer-valued number that fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .integer(let i): Int(exactly: i)
        case .number(let x): Int(exactly: x)
        default: nil
        }
    }

    /// Short rendering for error messages: `1.5`, `true`, `"abc"`, `an array`.
    public var summary: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .integer(let i): "\(i)"
        case .unsignedInteger(let u): "\(u)"
        case .number(let x): "\(x)"
        case .string(let s): s.count <= 40 ? "\"\(s)\"" : "\"\(s.prefix(40))…\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        // Order matters: Bool before the numbers, exact integers before Double.
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .integer(i); return }
        if let u = try? c.decode(UInt64.self) { self = .unsignedInteger(u); return }
        if let x = try? c.decode(Double.self) { self = .number(x); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        // Containers element by element, so an element's error keeps its coding path.
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var object: [String: JSONValue] = [:]
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var array: [JSONValue] = []
            while !unkeyed.isAtEnd { array.append(try unkeyed.decode(JSONValue.self)) }
            self = .array(array)
            return
        }
        // Reached by numbers beyond Double's range (1e400) and broken escapes.
        throw DecodingError.dataCorruptedError(
            in: c, debugDescription: "not a representable JSON value (number out of range?)")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .unsignedInteger(let u): try c.encode(u)
        case .number(let x): try c.encode(x)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
