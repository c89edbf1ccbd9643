import Foundation
import Inference
import Testing
import TestSupport

@Suite struct DequantizerTests {
    static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// One file written by `Tests/Fixtures/quant/make_quant_fixtures.py`.
    struct Fixture: Decodable {
        var type: String
        var elements: Int
        var raw: String
        var expected: String

        static func load(_ name: String) throws -> (type: GGMLType, raw: [UInt8], expected: [UInt32]) {
            let path = Repository.path("Tests/Fixtures/quant/\(name).json")
            let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            let type = try #require(GGMLType.allCases.first { $0.description == fixture.type })
            let raw = try #require(Data(base64Encoded: fixture.raw))
            let expected = try #require(Data(base64Encoded: fixture.expected))
            try #require(expected.count == fixture.elements * 4)
            let bits = expected.withUnsafeBytes { bytes in
                (0..<fixture.elements).map { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
            }
            return (type, Array(raw), bits)
        }
    }

    /// Dequantizes `raw`, placed `misalignment` bytes into a buffer so loads are unaligned.
    static func dequantize(_ type: GGMLType, _ raw: [UInt8], count: Int, misalignment: Int = 0) throws -> [Float] {
        let padded = [UInt8](repeating: 0xAB, count: misalignment) + raw
        var out = [Float](repeating: .nan, count: count)
        try padded.withUnsafeBytes { bytes in
            try out.withUnsafeMutableBufferPointer { out in
                try Dequantizer.dequantize(
                    type, UnsafeRawBufferPointer(rebasing: bytes[misalignment...]), count: count, into: out.baseAddress!)
            }
        }
        return out
    }

    /// nil when `got` equals `expected` bit for bit, else a description of the first difference.
    static func mismatch(_ got: [Float], _ expected: ArraySlice<UInt32>, blockSize: Int) -> String? {
        let differing = zip(got, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1 }
        guard let (index, (value, bits)) = differing.first else { return nil }
        return """
            \(differing.count) of \(expected.count) elements differ; first at \(index) (block \(index / blockSize)): \
            got \(value) (0x\(String(value.bitPattern, radix: 16))), \
            expected \(Float(bitPattern: bits)) (0x\(String(bits, radix: 16)))
            """
    }

    /// Bit for bit, NaN payloads included, against `gguf.quants.dequantize`.
    @Test(arguments: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"])
    func matchesTheGGUFPythonReference(name: String) throws {
        let (type, raw, expected) = try Fixture.load(name)
        #expect(raw.count == expected.count / type.blockSize * type.blockBytes)
        for misalignment in [0, 1, 3] {
            let got = try Self.dequantize(type, raw, count: expected.count, misalignment: misalignment)
            if let mismatch = Self.mismatch(got, expected[...], blockSize: type.blockSize) {
                Issue.record("\(name), source misaligned by \(misalignment): \(mismatch)")
            }
        }
    }

    /// Dequantizing block by block gives the same values as one call over all blocks.
    @Test(arguments: ["Q4_1", "Q5_0", "Q6_K"])
    func blocksAreIndependent(name: String) throws {
        let (type, raw, expected) = try Fixture.load(name)
        for block in 0..<expected.count / type.blockSize {
            let bytes = Array(raw[block * type.blockBytes..<(block + 1) * type.blockBytes])
            let got = try Self.dequantize(type, bytes, count: type.blockSize)
            if let mismatch = Self.mismatch(
                got, expected[block * type.blockSize..<(block + 1) * type.blockSize], blockSize: type.blockSize) {
                Issue.record("\(name) block \(block) alone: \(mismatch)")
            }
        }
    }

    /// Every half, against Swift's own `Float16` conversion (an independent implementation).
    @Test func everyHalfWidensExactly() throws {
        let raw = (0...UInt16.max).flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
        let got = try Self.dequantize(.f16, raw, count: 1 << 16)
        for bits in 0...UInt16.max {
            let value = got[Int(bits)]
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                // Payload kept in the top mantissa bits, signalling NaNs not quieted (as numpy and ggml's table).
                let expected = UInt32(bits & 0x8000) << 16 | 0x7f80_0000 | UInt32(bits & 0x03ff) << 13
                #expect(value.bitPattern == expected, "half 0x\(String(bits, radix: 16))")
            } else {
                #expect(value.bitPattern == reference.bitPattern, "half 0x\(String(bits, radix: 16))")
            }
        }
    }

    @Test func supportsExactlyTheImplementedFormats() throws {
        for type in GGMLType.allCases {
            #expect(Dequantizer.supports(type) == Self.supported.contains(type), "\(type)")
        }
        // And each supported format really has a kernel: a zero block dequantizes to zeros.
        for type in Self.supported {
            let got = try Self.dequantize(type, [UInt8](repeating: 0, count: 2 * type.blockBytes), count: 2 * type.blockSize)
            #expect(got.allSatisfy { $0 == 0 }, "\(type)")
        }
    }

    @Test(arguments: GGMLType.allCases.filter { !DequantizerTests.supported.contains($0) })
    func unsupportedTypesThrow(type: GGMLType) {
        let raw = [UInt8](repeating: 0, count: type.blockBytes)
        let error = #expect(throws: DequantizationError.self) {
            _ = try Self.dequantize(type, raw, count: type.blockSize)
        }
        #expect(error?.type == type)
        #expect(error?.description.contains("\(type)") == true)
        #expect(error?.description.contains("not supported") == true)
    }

    @Test(arguments: DequantizerTests.supported)
    func shortSourceThrows(type: GGMLType) throws {
        let raw = [UInt8](repeating: 0, count: 3 * type.blockBytes - 1)
        let error = #expect(throws: DequantizationError.self) {
            _ = try Self.dequantize(type, raw, count: 3 * type.blockSize)
        }
        #expect(error?.type == type)
        #expect(error?.description.contains("holds \(raw.count) bytes") == true, "\(String(describing: error))")
        // One block fewer fits.
        _ = try Self.dequantize(type, raw, count: 2 * type.blockSize)
    }

    @Test(arguments: DequantizerTests.supported.filter { $0.blockSize > 1 })
    func partialBlockCountThrows(type: GGMLType) {
        let raw = [UInt8](repeating: 0, count: 2 * type.blockBytes)
        let error = #expect(throws: DequantizationError.self) {
            _ = try Self.dequantize(type, raw, count: type.blockSize + 1)
        }
        #expect(error?.description.contains("not a multiple of the block size \(type.blockSize)") == true)
    }

    @Test func zeroElementsIsANoOp() throws {
        var sentinel: Float = 42
        try Dequantizer.dequantize(.q4_K, UnsafeRawBufferPointer(start: nil, count: 0), count: 0, into: &sentinel)
        #expect(sentinel == 42)
    }

    /// The real model's tensors (Q4_1, Q8_0, F32): the first rows of each dequantize to finite values.
    @Test func referenceModelTensorsDequantize() throws {
        guard let path = Repository.referenceModelPath else { return }
        let file = try GGUFFile(path: path)
        var types: Set<GGMLType> = []
        var buffer = [Float](repeating: 0, count: 64 * 49_152)
        for tensor in file.tensors {
            types.insert(tensor.type)
            let rows = min(tensor.rowCount, 16)
            let count = rows * tensor.rowLength
            let data = file.data(of: tensor)
            try buffer.withUnsafeMutableBufferPointer { out in
                try Dequantizer.dequantize(tensor.type, data, count: count, into: out.baseAddress!)
            }
            let values = buffer[..<count]
            #expect(values.allSatisfy { $0.isFinite }, "\(tensor.name) (\(tensor.type))")
            #expect(values.contains { $0 != 0 }, "\(tensor.name) (\(tensor.type)) is all zeros")
            #expect(values.allSatisfy { abs($0) < 1e3 }, "\(tensor.name) (\(tensor.type)) has implausible weights")
        }
        #expect(types.isSuperset(of: [.q4_1, .f32]), "\(types)")
    }
}
