import Foundation
import Inference
import Testing
import TestSupport

/// GGUF files built in memory by `GGUFBuilder`: every value type round-trips, and each kind of
/// damage ends in a `GGUFError` naming the file, the key or tensor, and the exact byte offset.
@Suite struct GGUFFileTests {
    /// Every value type the format has, and tensors of 1 to 4 dimensions.
    static func sampleBuilder(version: UInt32 = 3, alignment: UInt32? = nil) -> GGUFBuilder {
        var builder = GGUFBuilder(version: version)
        builder.set("general.architecture", .string("llama"))
        if let alignment { builder.set("general.alignment", .uint32(alignment)) }
        for (key, value) in sampleValues { builder.set(key, value.written) }
        builder.addTensor(name: "token_embd.weight", shape: [4, 3], values: (0..<12).map { Float($0) - 5.5 })
        builder.addTensor(name: "blk.0.attn_q.weight", shape: [64, 2], type: .q4_0,
                          data: (0..<72).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        builder.addTensor(name: "blk.0.ffn_up.weight", shape: [32, 1, 2, 1], type: .q8_0,
                          data: (0..<68).map { UInt8(truncatingIfNeeded: 255 - $0) })
        builder.addTensor(name: "output_norm.weight", shape: [5], values: [1, -2, 3, -4, 5])
        return builder
    }

    /// (key, value as written, value as read).
    static let sampleValues: [(String, (written: GGUFBuilder.Value, read: GGUFValue))] = [
        ("test.uint8", (.uint8(200), .uint8(200))),
        ("test.int8", (.int8(-100), .int8(-100))),
        ("test.uint16", (.uint16(60_000), .uint16(60_000))),
        ("test.int16", (.int16(-30_000), .int16(-30_000))),
        ("test.uint32", (.uint32(4_000_000_000), .uint32(4_000_000_000))),
        ("test.int32", (.int32(-2_000_000_000), .int32(-2_000_000_000))),
        ("test.uint64", (.uint64(.max), .uint64(.max))),
        ("test.int64", (.int64(.min), .int64(.min))),
        ("test.float32", (.float32(1.5), .float32(1.5))),
        ("test.float64", (.float64(-2.25e300), .float64(-2.25e300))),
        ("test.bool.true", (.bool(true), .bool(true))),
        ("test.bool.false", (.bool(false), .bool(false))),
        ("test.string.empty", (.string(""), .string(""))),
        ("test.string.unicode", (.string("héllo ▁wörld 🚀"), .string("héllo ▁wörld 🚀"))),
        ("test.array.uint8", (.array(.uint8, [.uint8(0), .uint8(255)]), .array(.integers([0, 255])))),
        ("test.array.int8", (.array(.int8, [.int8(-128), .int8(127)]), .array(.integers([-128, 127])))),
        ("test.array.uint16", (.array(.uint16, [.uint16(65_535)]), .array(.integers([65_535])))),
        ("test.array.int16", (.array(.int16, [.int16(-32_768), .int16(7)]), .array(.integers([-32_768, 7])))),
        ("test.array.uint32", (.array(.uint32, [.uint32(.max), .uint32(0)]), .array(.integers([4_294_967_295, 0])))),
        ("test.array.int32", (.int32s([1, -2, 3]), .array(.integers([1, -2, 3])))),
        ("test.array.uint64", (.array(.uint64, [.uint64(.max), .uint64(1)]), .array(.unsignedIntegers([.max, 1])))),
        ("test.array.int64", (.array(.int64, [.int64(.min), .int64(.max)]), .array(.integers([.min, .max])))),
        ("test.array.float32", (.float32s([0.5, -1, .infinity]), .array(.floats([0.5, -1, .infinity])))),
        ("test.array.float64", (.array(.float64, [.float64(1e-300)]), .array(.floats([1e-300])))),
        ("test.array.bool", (.array(.bool, [.bool(true), .bool(false)]), .array(.bools([true, false])))),
        ("test.array.string", (.strings(["a", "", "▁b"]), .array(.strings(["a", "", "▁b"])))),
        ("test.array.empty", (.strings([]), .array(.strings([])))),
        ("test.array.nested", (.array(.array, [.int32s([1, 2]), .strings(["x"])]),
                               .array(.arrays([.integers([1, 2]), .strings(["x"])])))),
    ]

    /// Writes `bytes` to a temporary file and opens it.
    static func open(_ bytes: [UInt8]) throws -> GGUFFile {
        let scratch = try ScratchFile(name: "gguf")
        defer { scratch.remove() }
        try scratch.write(bytes)
        return try GGUFFile(path: scratch.path)
    }

    /// The error opening `bytes` throws, checked to name the file; nil (and an issue) if it opens.
    static func openingError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> GGUFError? {
        let scratch = try ScratchFile(name: "gguf")
        defer { scratch.remove() }
        try scratch.write(bytes)
        let error = #expect(throws: GGUFError.self, sourceLocation: sourceLocation) { try GGUFFile(path: scratch.path) }
        #expect(error?.file == scratch.path, sourceLocation: sourceLocation)
        return error
    }

    @Test(arguments: [(3, nil), (2, nil), (3, 1), (3, 64), (2, 256)] as [(UInt32, UInt32?)])
    func builtFileRoundTrips(version: UInt32, alignment: UInt32?) throws {
        let builder = Self.sampleBuilder(version: version, alignment: alignment)
        let (bytes, layout) = builder.buildWithLayout()
        let file = try Self.open(bytes)
        #expect(file.version == Int(version))
        #expect(file.alignment == Int(alignment ?? 32))
        #expect(file.metadata.count == builder.metadata.count)
        #expect(try file.string("general.architecture") == "llama")
        for (key, value) in Self.sampleValues {
            #expect(file.metadata[key] == value.read, "\(key)")
        }
        #expect(try file.int("test.uint32") == 4_000_000_000)
        #expect(try file.double("test.float32") == 1.5)
        #expect(try file.array("test.array.string") == .strings(["a", "", "▁b"]))

        #expect(file.dataOffset == layout.dataOffset)
        #expect(file.dataOffset % file.alignment == 0)
        #expect(file.tensors.map(\.name) == builder.tensors.map(\.name))
        for (tensor, built) in zip(file.tensors, builder.tensors) {
            #expect(tensor.shape == built.shape)
            #expect(tensor.type.rawValue == built.typeCode)
            #expect(tensor.offset % file.alignment == 0, "\(tensor.name)")
            #expect(file.dataOffset + tensor.offset == layout.tensorDataOffsets[tensor.name])
            #expect(tensor.infoOffset == layout.tensorInfoOffsets[tensor.name])
            #expect(Array(file.data(of: tensor)) == built.data, "\(tensor.name)")
            #expect(file.tensor(named: tensor.name) == tensor)
        }
        #expect(file.tensor(named: "no.such.tensor") == nil)
    }

    @Test func wrongMagicIsRefused() throws {
        var bytes = Self.sampleBuilder().build()
        bytes[3] = UInt8(ascii: "G")
        let error = try Self.openingError(bytes)
        #expect(error?.offset == 0)
        #expect(error?.reason.contains("not a GGUF file: magic bytes are 47 47 55 47") == true, "\(String(describing: error))")
    }

    @Test(arguments: [0, 1, 4, 0xFFFF_FFFF] as [UInt32])
    func unsupportedVersionIsRefused(version: UInt32) throws {
        let error = try Self.openingError(Self.sampleBuilder(version: version).build())
        #expect(error?.offset == 4)
        #expect(error?.reason.contains("unsupported GGUF version \(version)") == true, "\(String(describing: error))")
    }

    @Test func emptyFileIsRefused() throws {
        let error = try Self.openingError([])
        #expect(error?.reason == "file is empty")
    }

    @Test func truncatedMetadataNamesTheKey() throws {
        var builder = Self.sampleBuilder()
        // Last, so the cut file is long enough for its metadata count to look plausible.
        builder.set("late.uint32", .uint32(7))
        let (bytes, layout) = builder.buildWithLayout()
        // Inside a fixed-size value: the error points at the value's first byte.
        let uint32 = try #require(layout.valueOffsets["late.uint32"])
        var error = try Self.openingError(Array(bytes[..<(uint32 + 2)]))
        #expect(error?.offset == uint32)
        #expect(error?.reason.contains("file ends inside the value of metadata key late.uint32") == true,
                "\(String(describing: error))")
        // Inside a string: the error points at its length prefix.
        let string = try #require(layout.valueOffsets["test.string.unicode"])
        error = try Self.openingError(Array(bytes[..<(string + 11)]))
        #expect(error?.offset == string)
        #expect(error?.reason.contains("of the value of metadata key test.string.unicode runs past the end") == true,
                "\(String(describing: error))")
        // Inside an integer array.
        let array = try #require(layout.valueOffsets["test.array.int32"])
        error = try Self.openingError(Array(bytes[..<(array + 12 + 5)]))
        #expect(error?.offset == array + 4)  // its element count
        #expect(error?.reason.contains("metadata array test.array.int32 claims 3 elements, more than the file holds") == true,
                "\(String(describing: error))")
        // Inside a key.
        let key = try #require(layout.keyOffsets["test.bool.true"])
        error = try Self.openingError(Array(bytes[..<(key + 10)]))
        #expect(error?.offset == key)
        #expect(error?.reason.contains("a metadata key runs past the end") == true, "\(String(describing: error))")
    }

    @Test func truncatedTensorDirectoryNamesTheTensor() throws {
        let (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let type = try #require(layout.tensorTypeFieldOffsets["blk.0.ffn_up.weight"])
        let error = try Self.openingError(Array(bytes[..<(type + 3)]))
        #expect(error?.offset == type)
        #expect(error?.reason.contains("file ends inside the type of tensor blk.0.ffn_up.weight") == true,
                "\(String(describing: error))")
    }

    @Test func unknownTensorTypeIsRefused() throws {
        var builder = Self.sampleBuilder()
        builder.addRawTensor(name: "blk.0.odd.weight", shape: [32], typeCode: 99, data: [UInt8](repeating: 0, count: 32))
        let (bytes, layout) = builder.buildWithLayout()
        let error = try Self.openingError(bytes)
        #expect(error?.offset == layout.tensorTypeFieldOffsets["blk.0.odd.weight"])
        #expect(error?.reason.contains("tensor blk.0.odd.weight has unknown tensor type 99") == true,
                "\(String(describing: error))")
    }

    @Test func unknownValueTypeIsRefused() throws {
        var (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let value = try #require(layout.valueOffsets["test.int16"])
        bytes[value - 4] = 13  // the type code, just before the value
        let error = try Self.openingError(bytes)
        #expect(error?.offset == value - 4)
        #expect(error?.reason.contains("metadata key test.int16 has unknown value type 13") == true,
                "\(String(describing: error))")
    }

    @Test func tensorDataPastTheEndIsRefused() throws {
        let (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let last = "output_norm.weight"
        let error = try Self.openingError(Array(bytes.dropLast()))
        #expect(error?.offset == layout.tensorInfoOffsets[last])
        #expect(error?.reason.contains("tensor \(last) data [") == true, "\(String(describing: error))")
        #expect(error?.reason.contains("lies beyond the end of the file (\(bytes.count - 1) bytes)") == true,
                "\(String(describing: error))")
    }

    @Test func tensorOffsetBeyondTheFileIsRefused() throws {
        var (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let field = try #require(layout.tensorOffsetFieldOffsets["blk.0.attn_q.weight"])
        bytes.replaceSubrange(field..<field + 8, with: [0, 0, 0, 0, 0, 1, 0, 0])  // 2^40
        let error = try Self.openingError(bytes)
        #expect(error?.offset == field)
        #expect(error?.reason.contains("tensor blk.0.attn_q.weight data offset 1099511627776 lies beyond") == true,
                "\(String(describing: error))")
    }

    @Test func misalignedTensorOffsetIsRefused() throws {
        var (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let field = try #require(layout.tensorOffsetFieldOffsets["output_norm.weight"])
        bytes[field] += 4
        let error = try Self.openingError(bytes)
        #expect(error?.offset == layout.tensorInfoOffsets["output_norm.weight"])
        #expect(error?.reason.contains("is not aligned to 32") == true, "\(String(describing: error))")
    }

    @Test func impossibleCountsAreRefused() throws {
        var (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let count = try #require(layout.valueOffsets["test.array.string"]) + 4
        bytes.replaceSubrange(count..<count + 8, with: [UInt8](repeating: 0xFF, count: 8))
        var error = try Self.openingError(bytes)
        #expect(error?.offset == count)
        #expect(error?.reason.contains("metadata array test.array.string claims 18446744073709551615 elements") == true,
                "\(String(describing: error))")

        bytes = Self.sampleBuilder().build()
        bytes.replaceSubrange(8..<16, with: [0, 0, 0, 0, 0, 0, 0, 1])
        error = try Self.openingError(bytes)
        #expect(error?.offset == 8)
        #expect(error?.reason.contains("tensor count 72057594037927936 is impossible") == true, "\(String(describing: error))")
    }

    @Test func duplicateKeysAndTensorsAreRefused() throws {
        var builder = Self.sampleBuilder()
        builder.set("dup.a", .uint8(1))
        builder.set("dup.b", .uint8(2))
        var (bytes, layout) = builder.buildWithLayout()
        let second = try #require(layout.keyOffsets["dup.b"])
        bytes[second + 8 + 4] = UInt8(ascii: "a")
        var error = try Self.openingError(bytes)
        #expect(error?.offset == second)
        #expect(error?.reason == "metadata key dup.a appears twice")

        builder = Self.sampleBuilder()
        builder.addTensor(name: "dup.a", shape: [1], values: [1])
        builder.addTensor(name: "dup.b", shape: [1], values: [2])
        (bytes, layout) = builder.buildWithLayout()
        let tensor = try #require(layout.tensorInfoOffsets["dup.b"])
        bytes[tensor + 8 + 4] = UInt8(ascii: "a")
        error = try Self.openingError(bytes)
        #expect(error?.offset == tensor)
        #expect(error?.reason == "tensor dup.a appears twice")
    }

    @Test func badAlignmentIsRefused() throws {
        for (value, reason) in [(GGUFBuilder.Value.uint32(48), "general.alignment 48 is not a power of two"),
                                (.uint32(0), "general.alignment 0 is not a power of two"),
                                (.string("32"), "general.alignment is string, expected an integer")] {
            var builder = Self.sampleBuilder()
            builder.set("general.alignment", value)
            let (bytes, layout) = builder.buildWithLayout()
            let error = try Self.openingError(bytes)
            #expect(error?.offset == layout.keyOffsets["general.alignment"])
            #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
        }
    }

    @Test func deeplyNestedArraysAreRefusedNotOverflowingTheStack() throws {
        var builder = GGUFBuilder()
        var nested = GGUFBuilder.Value.int32s([1])
        for _ in 1..<8 { nested = .array(.array, [nested]) }
        builder.set("ok", nested)
        _ = try Self.open(builder.build())  // 8 levels: the most allowed

        // 100,000 levels written by hand (the builder itself recurses).
        var bytes = Array(GGUFBuilder().build()[..<24])  // the header alone
        bytes.replaceSubrange(16..<24, with: [1, 0, 0, 0, 0, 0, 0, 0])  // one metadata entry
        bytes += [4, 0, 0, 0, 0, 0, 0, 0] + Array("deep".utf8) + [9, 0, 0, 0]
        for _ in 0..<100_000 { bytes += [9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0] }
        let error = try Self.openingError(bytes)
        #expect(error?.offset == 24 + 8 + 4 + 4 + 8 * 12)
        #expect(error?.reason.contains("metadata array deep nests arrays more than 8 deep") == true,
                "\(String(describing: error))")
    }

    @Test func missingOrMistypedKeysNameTheKey() throws {
        let (bytes, layout) = Self.sampleBuilder().buildWithLayout()
        let file = try Self.open(bytes)
        var error = #expect(throws: GGUFError.self) { try file.int("llama.block_count") }
        #expect(error?.file == file.path)
        #expect(error?.offset == 24)  // where the metadata it is missing from begins
        #expect(error?.reason == "missing required metadata key llama.block_count")

        error = #expect(throws: GGUFError.self) { try file.int("general.architecture") }
        #expect(error?.offset == layout.keyOffsets["general.architecture"])
        #expect(error?.reason == "metadata key general.architecture is string, expected an integer")

        error = #expect(throws: GGUFError.self) { try file.string("test.float32") }
        #expect(error?.offset == layout.keyOffsets["test.float32"])
        #expect(error?.reason == "metadata key test.float32 is float32, expected a string")

        error = #expect(throws: GGUFError.self) { try file.array("test.uint8") }
        #expect(error?.reason == "metadata key test.uint8 is uint8, expected an array")
        #expect(error?.description.hasPrefix(file.path + ": ") == true)
    }
}
