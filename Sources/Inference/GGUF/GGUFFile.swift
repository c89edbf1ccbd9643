/// A GGUF model file (versions 2 and 3), memory-mapped: metadata, tensor directory and
/// views of tensor data. Everything read from the file is bounds-checked, so a damaged
/// file ends in a `GGUFError` naming the place, never in a crash.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// In file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Where tensor data begins; tensor offsets count from here.
    public let dataOffset: Int
    private let tensorIndex: [String: Int]
    /// Where each metadata entry begins, so a wrongly typed value can be pointed at.
    private let keyOffsets: [String: Int]
    private let metadataOffset: Int
    private let file: MappedFile

    public init(path: String) throws {
        file = try MappedFile(path: path)
        self.path = path
        var reader = GGUFReader(bytes: file.bytes, path: path)
        let header = try reader.readHeader()
        version = header.version
        metadataOffset = reader.offset
        var metadata: [String: GGUFValue] = [:]
        var keyOffsets: [String: Int] = [:]
        for _ in 0..<header.metadataCount {
            let keyOffset = reader.offset
            let (key, value) = try reader.readKeyValue()
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError(file: path, offset: keyOffset, reason: "metadata key \(key) appears twice")
            }
            keyOffsets[key] = keyOffset
        }
        self.metadata = metadata
        self.keyOffsets = keyOffsets
        let alignmentValue = metadata["general.alignment"] ?? .uint32(32)
        let alignmentOffset = keyOffsets["general.alignment"] ?? metadataOffset
        guard let alignment = alignmentValue.int else {
            throw GGUFError(file: path, offset: alignmentOffset,
                            reason: "metadata key general.alignment is \(alignmentValue.typeName), expected an integer")
        }
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw GGUFError(file: path, offset: alignmentOffset,
                            reason: "general.alignment \(alignment) is not a power of two up to 2^20")
        }
        self.alignment = alignment
        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for _ in 0..<header.tensorCount {
            let tensor = try reader.readTensorInfo()
            guard tensorIndex[tensor.name] == nil else {
                throw GGUFError(file: path, offset: tensor.infoOffset, reason: "tensor \(tensor.name) appears twice")
            }
            tensorIndex[tensor.name] = tensors.count
            tensors.append(tensor)
        }
        dataOffset = (reader.offset + alignment - 1) / alignment * alignment
        for tensor in tensors {
            try Self.checkBounds(tensor, dataOffset: dataOffset, alignment: alignment,
                                 fileSize: file.bytes.count, path: path)
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    private static func checkBounds(
        _ tensor: GGUFTensorInfo, dataOffset: Int, alignment: Int, fileSize: Int, path: String
    ) throws {
        guard tensor.offset % alignment == 0 else {
            throw GGUFError(file: path, offset: tensor.infoOffset,
                            reason: "tensor \(tensor.name) data offset \(tensor.offset) is not aligned to \(alignment)")
        }
        let (start, overflow) = dataOffset.addingReportingOverflow(tensor.offset)
        let (end, overflow2) = start.addingReportingOverflow(tensor.byteCount)
        guard !overflow, !overflow2, end <= fileSize else {
            throw GGUFError(file: path, offset: tensor.infoOffset,
                            reason: "tensor \(tensor.name) data [\(start), \(end)) lies beyond the end of the file (\(fileSize) bytes)")
        }
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor (in its stored format), valid while this file lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<start + tensor.byteCount])
    }

    // MARK: - Typed metadata access, with errors that name the key

    public func value(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else {
            // No place holds a missing key: point at the metadata section it is missing from.
            throw GGUFError(file: path, offset: metadataOffset, reason: "missing required metadata key \(key)")
        }
        return value
    }

    public func int(_ key: String) throws -> Int {
        let value = try value(key)
        guard let int = value.int else { throw typeError(key, value, expected: "an integer") }
        return int
    }

    public func double(_ key: String) throws -> Double {
        let value = try value(key)
        guard let double = value.double else { throw typeError(key, value, expected: "a number") }
        return double
    }

    public func string(_ key: String) throws -> String {
        let value = try value(key)
        guard let string = value.string else { throw typeError(key, value, expected: "a string") }
        return string
    }

    public func array(_ key: String) throws -> GGUFArray {
        let value = try value(key)
        guard case .array(let array) = value else { throw typeError(key, value, expected: "an array") }
        return array
    }

    private func typeError(_ key: String, _ value: GGUFValue, expected: String) -> GGUFError {
        GGUFError(file: path, offset: keyOffsets[key] ?? metadataOffset,
                  reason: "metadata key \(key) is \(value.typeName), expected \(expected)")
    }
}
