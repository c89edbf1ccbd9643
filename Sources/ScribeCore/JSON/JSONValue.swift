/// A JSON value that keeps booleans, integers and other numbers apart (Foundation's
/// `JSONSerialization` on Linux hands back booleans as `NSNumber`, so `true` would pass
/// for `1`). Parsed and written by `JSONText.swift`; Codable, so it can sit inside
/// types that `JSONValue(encoding:)` and `decode(_:)` carry.
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

extension JSONValue: Encodable {
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
