// TEMPORARY until the Tensor/ dequantizers land: F32, Q8_0, Q4_1 only.
public enum Dequantizer {
    public static func supports(_ type: GGMLType) -> Bool { [.f32, .q8_0, .q4_1].contains(type) }
    public static func dequantize(_ type: GGMLType, _ source: UnsafeRawBufferPointer, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        switch type {
        case .f32:
            for i in 0..<count { destination[i] = source.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
        case .q8_0:
            for block in 0..<count / 32 {
                let base = block * 34
                let d = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: base, as: UInt16.self)))
                for i in 0..<32 { destination[block * 32 + i] = d * Float(Int8(bitPattern: source[base + 2 + i])) }
            }
        case .q4_1:
            for block in 0..<count / 32 {
                let base = block * 20
                let d = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: base, as: UInt16.self)))
                let m = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: base + 2, as: UInt16.self)))
                for i in 0..<16 {
                    let byte = source[base + 4 + i]
                    destination[block * 32 + i] = Float(byte & 0x0F) * d + m
                    destination[block * 32 + i + 16] = Float(byte >> 4) * d + m
                }
            }
        default:
            struct Unsupported: Error {}
            throw Unsupported()
        }
    }
}
