/// Converts tensor data stored in ggml's formats to `Float`, bit for bit as ggml's
/// `dequantize_row_*` (and the `gguf` Python package's reference) do.
///
/// Runs once per weight at model load, over 100M+ elements: each kernel borrows raw
/// pointers and walks whole blocks, with no per-element bounds checks or allocation.
/// The bounds are checked once here, before any kernel runs.
public enum Dequantizer {
    /// Whether `dequantize` supports this type.
    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Converts `count` elements (a multiple of type.blockSize) stored in `source` into `destination` (count floats).
    /// Throws `DequantizationError` for unsupported types or a source too short.
    public static func dequantize(
        _ type: GGMLType, _ source: UnsafeRawBufferPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) throws {
        guard supports(type) else {
            throw DequantizationError(type: type, reason: "the format is not supported (supported: \(supportedNames))")
        }
        guard count >= 0, count % type.blockSize == 0 else {
            throw DequantizationError(
                type: type, reason: "element count \(count) is not a multiple of the block size \(type.blockSize)")
        }
        let blocks = count / type.blockSize
        let (needed, overflow) = blocks.multipliedReportingOverflow(by: type.blockBytes)
        guard !overflow, source.count >= needed else {
            throw DequantizationError(
                type: type, reason: "\(count) elements need \(blocks) blocks of \(type.blockBytes) bytes, the source holds \(source.count) bytes")
        }
        guard blocks > 0, let x = source.baseAddress else { return }
        switch type {
        case .f32:
            // GGUF is little-endian, as are the hosts Scribe runs on: a plain copy.
            UnsafeMutableRawPointer(destination).copyMemory(from: x, byteCount: needed)
        case .f16:
            for i in 0..<count { destination[i] = Float16Conversion.half(x, 2 * i) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: x.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float16Conversion.float(fromBFloat16: bits)
            }
        case .q4_0: LegacyQuantBlocks.q4_0(x, blocks: blocks, into: destination)
        case .q4_1: LegacyQuantBlocks.q4_1(x, blocks: blocks, into: destination)
        case .q5_0: LegacyQuantBlocks.q5_0(x, blocks: blocks, into: destination)
        case .q5_1: LegacyQuantBlocks.q5_1(x, blocks: blocks, into: destination)
        case .q8_0: LegacyQuantBlocks.q8_0(x, blocks: blocks, into: destination)
        case .q4_K: KQuantBlocks.q4_K(x, blocks: blocks, into: destination)
        case .q5_K: KQuantBlocks.q5_K(x, blocks: blocks, into: destination)
        case .q6_K: KQuantBlocks.q6_K(x, blocks: blocks, into: destination)
        default:
            // Unreachable while `supports` and this switch agree (a test checks they do).
            throw DequantizationError(type: type, reason: "no kernel for this format")
        }
    }

    private static var supportedNames: String {
        GGMLType.allCases.filter(supports).map(\.description).joined(separator: ", ")
    }
}
