/// One metadata value of a GGUF file, with every type the format defines.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    /// Any integer type, widened (nil for other types or a UInt64 beyond Int's range).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// Either float type, or an integer.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var typeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        }
    }
}

/// A metadata array, stored by element kind so a 49,152-entry vocabulary stays compact.
public enum GGUFArray: Sendable, Equatable {
    case integers([Int64])
    /// UInt64 elements do not all fit Int64.
    case unsignedIntegers([UInt64])
    case floats([Double])
    case bools([Bool])
    case strings([String])
    /// Arrays of arrays (allowed by the format, unused by llama-family files).
    case arrays([GGUFArray])

    public var count: Int {
        switch self {
        case .integers(let v): v.count
        case .unsignedIntegers(let v): v.count
        case .floats(let v): v.count
        case .bools(let v): v.count
        case .strings(let v): v.count
        case .arrays(let v): v.count
        }
    }
}
