import Foundation
import Inference

/// Writes small GGUF files (version 3, or 2: the same layout) for tests: metadata of every
/// value type, tensors of any ggml type from raw bytes, data aligned to `general.alignment`.
///
///     var builder = GGUFBuilder()
///     builder.set("general.architecture", .string("llama"))
///     builder.addTensor(name: "output_norm.weight", shape: [4], values: [1, 1, 1, 1])
///     try builder.write(to: path)
///
/// `layout()` tells where each field landed, so robustness tests can damage exact bytes.
public struct GGUFBuilder: Sendable {
    /// GGUF's metadata value types, with their codes in the file.
    public enum ValueType: UInt32, Sendable {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
        case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12
    }

    /// A metadata value as written: arrays carry their element type explicitly.
    public indirect enum Value: Sendable, Equatable {
        case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
        case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
        case float32(Float), float64(Double), bool(Bool), string(String)
        /// Every element must be of `elementType` (nested arrays: `.array`).
        case array(ValueType, [Value])

        public static func strings(_ values: [String]) -> Value { .array(.string, values.map(Value.string)) }
        public static func int32s(_ values: [Int32]) -> Value { .array(.int32, values.map(Value.int32)) }
        public static func float32s(_ values: [Float]) -> Value { .array(.float32, values.map(Value.float32)) }

        public var type: ValueType {
            switch self {
            case .uint8: .uint8
            case .int8: .int8
            case .uint16: .uint16
            case .int16: .int16
            case .uint32: .uint32
            case .int32: .int32
            case .uint64: .uint64
            case .int64: .int64
            case .float32: .float32
            case .float64: .float64
            case .bool: .bool
            case .string: .string
            case .array: .array
            }
        }
    }

    public struct Tensor: Sendable {
        public var name: String
        /// ggml order: row length first.
        public var shape: [Int]
        /// The raw type code, so tests can also write codes no `GGMLType` has.
        public var typeCode: UInt32
        public var data: [UInt8]
    }

    /// Byte offsets in the built file, for tests that damage specific fields.
    public struct Layout: Sendable {
        /// Where each key's entry begins (its length prefix).
        public var keyOffsets: [String: Int] = [:]
        /// Where each key's value begins (after its type code).
        public var valueOffsets: [String: Int] = [:]
        /// Where each tensor's directory entry begins (its name's length prefix).
        public var tensorInfoOffsets: [String: Int] = [:]
        public var tensorTypeFieldOffsets: [String: Int] = [:]
        public var tensorOffsetFieldOffsets: [String: Int] = [:]
        /// Where the data section begins (aligned).
        public var dataOffset = 0
        /// Absolute offset of each tensor's data.
        public var tensorDataOffsets: [String: Int] = [:]
        public var fileSize = 0
    }

    public var version: UInt32 = 3
    /// In insertion order, as written.
    public private(set) var metadata: [(key: String, value: Value)] = []
    public private(set) var tensors: [Tensor] = []

    public init(version: UInt32 = 3) {
        self.version = version
    }

    /// Sets a key, replacing an earlier value in place.
    public mutating func set(_ key: String, _ value: Value) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key, value))
        }
    }

    public var alignment: Int {
        switch metadata.first(where: { $0.key == "general.alignment" })?.value {
        case .uint32(let value): Int(value)
        case .uint64(let value): Int(value)
        case .int32(let value): Int(value)
        default: 32
        }
    }

    /// Adds a tensor of `type` whose stored bytes are `data` (exactly the size its shape needs).
    public mutating func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8]) {
        let elements = shape.reduce(1, *)
        precondition(elements % type.blockSize == 0 && data.count == elements / type.blockSize * type.blockBytes,
                     "tensor \(name): \(data.count) bytes do not hold \(shape) elements of \(type)")
        tensors.append(Tensor(name: name, shape: shape, typeCode: type.rawValue, data: data))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, shape: [Int], values: [Float]) {
        let data = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
        addTensor(name: name, shape: shape, type: .f32, data: data)
    }

    /// Adds a tensor entry with any type code and any bytes, for malformed files.
    public mutating func addRawTensor(name: String, shape: [Int], typeCode: UInt32, data: [UInt8]) {
        tensors.append(Tensor(name: name, shape: shape, typeCode: typeCode, data: data))
    }

    public func build() -> [UInt8] { buildWithLayout().bytes }

    public func write(to path: String) throws {
        try Data(build()).write(to: URL(fileURLWithPath: path))
    }

    public func buildWithLayout() -> (bytes: [UInt8], layout: Layout) {
        var out = Writer()
        var layout = Layout()
        // A zero alignment (written to test its rejection) still needs some layout.
        let alignment = max(alignment, 1)
        out.bytes += Array("GGUF".utf8)
        out.integer(version)
        out.integer(UInt64(tensors.count))
        out.integer(UInt64(metadata.count))
        for (key, value) in metadata {
            layout.keyOffsets[key] = out.bytes.count
            out.string(key)
            out.integer(value.type.rawValue)
            layout.valueOffsets[key] = out.bytes.count
            out.value(value)
        }
        // Each tensor's data starts at a multiple of the alignment from the data section.
        var dataOffsets: [Int] = []
        var next = 0
        for tensor in tensors {
            dataOffsets.append(next)
            next = Self.align(next + tensor.data.count, alignment)
        }
        for (tensor, offset) in zip(tensors, dataOffsets) {
            layout.tensorInfoOffsets[tensor.name] = out.bytes.count
            out.string(tensor.name)
            out.integer(UInt32(tensor.shape.count))
            for size in tensor.shape { out.integer(UInt64(size)) }
            layout.tensorTypeFieldOffsets[tensor.name] = out.bytes.count
            out.integer(tensor.typeCode)
            layout.tensorOffsetFieldOffsets[tensor.name] = out.bytes.count
            out.integer(UInt64(offset))
        }
        layout.dataOffset = Self.align(out.bytes.count, alignment)
        out.bytes += [UInt8](repeating: 0, count: layout.dataOffset - out.bytes.count)
        for (tensor, offset) in zip(tensors, dataOffsets) {
            layout.tensorDataOffsets[tensor.name] = layout.dataOffset + offset
            out.bytes += [UInt8](repeating: 0, count: layout.dataOffset + offset - out.bytes.count)
            out.bytes += tensor.data
        }
        layout.fileSize = out.bytes.count
        return (out.bytes, layout)
    }

    static func align(_ offset: Int, _ alignment: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }

    /// Little-endian serialisation of GGUF's primitive fields.
    private struct Writer {
        var bytes: [UInt8] = []

        mutating func integer<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }

        mutating func string(_ value: String) {
            integer(UInt64(value.utf8.count))
            bytes += Array(value.utf8)
        }

        mutating func value(_ value: Value) {
            switch value {
            case .uint8(let v): integer(v)
            case .int8(let v): integer(v)
            case .uint16(let v): integer(v)
            case .int16(let v): integer(v)
            case .uint32(let v): integer(v)
            case .int32(let v): integer(v)
            case .uint64(let v): integer(v)
            case .int64(let v): integer(v)
            case .float32(let v): integer(v.bitPattern)
            case .float64(let v): integer(v.bitPattern)
            case .bool(let v): integer(UInt8(v ? 1 : 0))
            case .string(let v): string(v)
            case .array(let elementType, let elements):
                precondition(elements.allSatisfy { $0.type == elementType }, "array elements must all be \(elementType)")
                integer(elementType.rawValue)
                integer(UInt64(elements.count))
                for element in elements { self.value(element) }
            }
        }
    }
}
