/// A bounds-checked little-endian cursor over a GGUF file's header section.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset = 0

    /// More elements than this in one array is taken as corruption, whatever the file size.
    static let maximumArrayCount = 1 << 28
    /// Arrays of arrays nest at most this deep: each level recurses, and 12 bytes a level
    /// would otherwise let a damaged file overflow the stack.
    static let maximumArrayDepth = 8

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    func error(_ reason: String, at position: Int? = nil) -> GGUFError {
        GGUFError(file: path, offset: position ?? offset, reason: reason)
    }

    private mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - offset else {
            throw error("file ends inside \(what()): needs \(count) bytes, \(bytes.count - offset) left")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let raw = try take(MemoryLayout<T>.size, what())
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    /// A length-prefixed UTF-8 string. The hot path of loading a vocabulary (~100k strings),
    /// so it reads the prefix directly rather than through `read` and `take`.
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let left = bytes.count - offset
        guard left >= 8 else {
            throw error("file ends inside the length of \(what()): needs 8 bytes, \(left) left")
        }
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        guard length <= UInt64(left - 8) else {
            throw error("length \(length) of \(what()) runs past the end of the file", at: start)
        }
        let end = offset + 8 + Int(length)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[offset + 8..<end])
        offset = end
        return String(decoding: raw, as: UTF8.self)
    }

    // MARK: - Header

    struct Header {
        var version: Int
        var tensorCount: Int
        var metadataCount: Int
    }

    mutating func readHeader() throws -> Header {
        let magic = try take(4, "the magic number")
        guard Array(magic) == Array("GGUF".utf8) else {
            let shown = magic.map { String($0, radix: 16) }.joined(separator: " ")
            throw error("not a GGUF file: magic bytes are \(shown), expected 47 47 55 46 (\"GGUF\")", at: 0)
        }
        let version = try read(UInt32.self, "the version")
        guard version == 2 || version == 3 else {
            throw error("unsupported GGUF version \(version) (2 and 3 are supported)", at: 4)
        }
        let tensorCount = try read(UInt64.self, "the tensor count")
        let metadataCount = try read(UInt64.self, "the metadata count")
        // Each entry takes at least 8 bytes, which bounds both counts by the file size.
        guard tensorCount <= UInt64(bytes.count / 8) else {
            throw error("tensor count \(tensorCount) is impossible for a file of \(bytes.count) bytes", at: 8)
        }
        guard metadataCount <= UInt64(bytes.count / 8) else {
            throw error("metadata count \(metadataCount) is impossible for a file of \(bytes.count) bytes", at: 16)
        }
        return Header(version: Int(version), tensorCount: Int(tensorCount), metadataCount: Int(metadataCount))
    }

    // MARK: - Metadata

    mutating func readKeyValue() throws -> (String, GGUFValue) {
        let key = try readString("a metadata key")
        let typeOffset = offset
        let type = try read(UInt32.self, "the type of metadata key \(key)")
        let value = try readValue(type: type, key: key, typeOffset: typeOffset)
        return (key, value)
    }

    private mutating func readValue(type: UInt32, key: String, typeOffset: Int) throws -> GGUFValue {
        // Descriptions stay autoclosures: built only when an error needs them.
        switch type {
        case 0: return .uint8(try read(UInt8.self, "the value of metadata key \(key)"))
        case 1: return .int8(try read(Int8.self, "the value of metadata key \(key)"))
        case 2: return .uint16(try read(UInt16.self, "the value of metadata key \(key)"))
        case 3: return .int16(try read(Int16.self, "the value of metadata key \(key)"))
        case 4: return .uint32(try read(UInt32.self, "the value of metadata key \(key)"))
        case 5: return .int32(try read(Int32.self, "the value of metadata key \(key)"))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, "the value of metadata key \(key)")))
        case 7: return .bool(try readBool(key: key))
        case 8: return .string(try readString("the value of metadata key \(key)"))
        case 9: return .array(try readArray(key: key))
        case 10: return .uint64(try read(UInt64.self, "the value of metadata key \(key)"))
        case 11: return .int64(try read(Int64.self, "the value of metadata key \(key)"))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, "the value of metadata key \(key)")))
        default:
            throw error("metadata key \(key) has unknown value type \(type)", at: typeOffset)
        }
    }

    private mutating func readBool(key: String) throws -> Bool {
        let start = offset
        let byte = try read(UInt8.self, "the value of metadata key \(key)")
        guard byte <= 1 else { throw error("metadata key \(key) has bool value \(byte)", at: start) }
        return byte == 1
    }

    private mutating func readArray(key: String, depth: Int = 1) throws -> GGUFArray {
        let typeOffset = offset
        guard depth <= Self.maximumArrayDepth else {
            throw error("metadata array \(key) nests arrays more than \(Self.maximumArrayDepth) deep", at: typeOffset)
        }
        let elementType = try read(UInt32.self, "the element type of metadata array \(key)")
        let countOffset = offset
        let count64 = try read(UInt64.self, "the length of metadata array \(key)")
        let minimumElementSize: UInt64 = switch elementType {
        case 0, 1, 7: 1
        case 2, 3: 2
        case 4, 5, 6: 4
        default: 8  // strings (length prefix), arrays (type + count), 64-bit values
        }
        guard count64 <= UInt64(Self.maximumArrayCount),
              count64 * minimumElementSize <= UInt64(bytes.count - offset) else {
            throw error("metadata array \(key) claims \(count64) elements, more than the file holds", at: countOffset)
        }
        let count = Int(count64)
        switch elementType {
        case 0, 1, 2, 3, 4, 5, 11:
            // Fixed-width elements: one bounds check for the whole array (49k token types).
            let width = Int(minimumElementSize)
            let start = offset
            _ = try take(count * width, "metadata array \(key)")
            let base = bytes.baseAddress! + start
            var values = [Int64](repeating: 0, count: count)
            var index = 0
            while index < count {
                let at = index * width
                values[index] = switch elementType {
                case 0: Int64(base.load(fromByteOffset: at, as: UInt8.self))
                case 1: Int64(base.load(fromByteOffset: at, as: Int8.self))
                case 2: Int64(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                case 3: Int64(Int16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: Int16.self)))
                case 4: Int64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                case 5: Int64(Int32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: Int32.self)))
                default: Int64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: Int64.self))
                }
                index += 1
            }
            return .integers(values)
        case 10:
            return .unsignedIntegers(try (0..<count).map { _ in try read(UInt64.self, "metadata array \(key)") })
        case 6, 12:
            return .floats(try (0..<count).map { _ in
                try readValue(type: elementType, key: key, typeOffset: typeOffset).double ?? 0
            })
        case 7:
            return .bools(try (0..<count).map { _ in try readBool(key: key) })
        case 8:
            var values: [String] = []
            values.reserveCapacity(count)
            // `while`, not `for in`: unoptimised (test) builds iterate ranges generically, 3x slower here.
            var index = 0
            while index < count {
                values.append(try readString("element \(index) of metadata array \(key)"))
                index += 1
            }
            return .strings(values)
        case 9:
            return .arrays(try (0..<count).map { _ in try readArray(key: key, depth: depth + 1) })
        default:
            throw error("metadata array \(key) has unknown element type \(elementType)", at: typeOffset)
        }
    }

    // MARK: - Tensor directory

    mutating func readTensorInfo() throws -> GGUFTensorInfo {
        let infoOffset = offset
        let name = try readString("a tensor name")
        let dimensionCount = try read(UInt32.self, "the dimension count of tensor \(name)")
        guard (1...4).contains(dimensionCount) else {
            throw error("tensor \(name) has \(dimensionCount) dimensions (1 to 4 allowed)", at: infoOffset)
        }
        var shape: [Int] = []
        var elements = 1
        for axis in 0..<Int(dimensionCount) {
            let size = try read(UInt64.self, "dimension \(axis) of tensor \(name)")
            guard size > 0, size < 1 << 40 else {
                throw error("tensor \(name) has dimension \(axis) of size \(size)", at: infoOffset)
            }
            shape.append(Int(size))
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(size))
            guard !overflow, product < 1 << 42 else {
                throw error("tensor \(name) has too many elements", at: infoOffset)
            }
            elements = product
        }
        let typeOffset = offset
        let rawType = try read(UInt32.self, "the type of tensor \(name)")
        guard let type = GGMLType(rawValue: rawType) else {
            throw error("tensor \(name) has unknown tensor type \(rawType)", at: typeOffset)
        }
        guard shape[0] % type.blockSize == 0 else {
            throw error("tensor \(name) row length \(shape[0]) is not a multiple of \(type)'s block size \(type.blockSize)", at: infoOffset)
        }
        let dataOffset = try read(UInt64.self, "the data offset of tensor \(name)")
        guard dataOffset < UInt64(bytes.count) else {
            throw error("tensor \(name) data offset \(dataOffset) lies beyond the end of the file", at: typeOffset + 4)
        }
        return GGUFTensorInfo(
            name: name, shape: shape, type: type, offset: Int(dataOffset), infoOffset: infoOffset)
    }
}
