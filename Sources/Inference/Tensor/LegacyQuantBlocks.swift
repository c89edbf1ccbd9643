/// Kernels for ggml's original 32-element block formats. Each block holds one scale `d`
/// (and for the `_1` types a minimum `m`) as little-endian f16, then packed quants; the
/// low nibbles give elements 0..<16 and the high nibbles elements 16..<32.
///
/// Blocks are read with unaligned loads: 18-, 22- or 34-byte blocks put the fields of
/// consecutive blocks at any alignment.
enum LegacyQuantBlocks {
    static let elements = 32

    /// Q4_0, 18 bytes: d f16 | qs[16] (two 4-bit quants a byte). y = d * (q - 8).
    static func q4_0(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 18
            let d = Float16Conversion.half(b, 0)
            let qs = b + 2
            let out = y + block * elements
            for j in 0..<16 {
                out[j] = Float(Int32(qs.byte(j) & 0x0f) - 8) * d
                out[j + 16] = Float(Int32(qs.byte(j) >> 4) - 8) * d
            }
        }
    }

    /// Q4_1, 20 bytes: d f16 | m f16 | qs[16]. y = d * q + m.
    static func q4_1(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 20
            let d = Float16Conversion.half(b, 0)
            let m = Float16Conversion.half(b, 2)
            let qs = b + 4
            let out = y + block * elements
            for j in 0..<16 {
                out[j] = Float(qs.byte(j) & 0x0f) * d + m
                out[j + 16] = Float(qs.byte(j) >> 4) * d + m
            }
        }
    }

    /// Q5_0, 22 bytes: d f16 | qh u32 (bit j = 5th bit of element j) | qs[16]. y = d * (q - 16).
    static func q5_0(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 22
            let d = Float16Conversion.half(b, 0)
            let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = b + 6
            let out = y + block * elements
            for j in 0..<16 {
                let high0 = Int32(truncatingIfNeeded: (qh >> UInt32(j)) << 4 & 0x10)
                let high1 = Int32(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                out[j] = Float((Int32(qs.byte(j) & 0x0f) | high0) - 16) * d
                out[j + 16] = Float((Int32(qs.byte(j) >> 4) | high1) - 16) * d
            }
        }
    }

    /// Q5_1, 24 bytes: d f16 | m f16 | qh u32 | qs[16]. y = d * q + m.
    static func q5_1(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 24
            let d = Float16Conversion.half(b, 0)
            let m = Float16Conversion.half(b, 2)
            let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = b + 8
            let out = y + block * elements
            for j in 0..<16 {
                let high0 = (qh >> UInt32(j)) << 4 & 0x10
                let high1 = (qh >> UInt32(j + 12)) & 0x10
                out[j] = Float(UInt32(qs.byte(j) & 0x0f) | high0) * d + m
                out[j + 16] = Float(UInt32(qs.byte(j) >> 4) | high1) * d + m
            }
        }
    }

    /// Q8_0, 34 bytes: d f16 | qs[32] int8. y = d * q.
    static func q8_0(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 34
            let d = Float16Conversion.half(b, 0)
            let qs = b + 2
            let out = y + block * elements
            for j in 0..<32 { out[j] = Float(Int8(bitPattern: qs.byte(j))) * d }
        }
    }
}

extension UnsafeRawPointer {
    /// One byte at `offset`: raw loads need neither memory binding nor alignment.
    @inline(__always)
    fileprivate func byte(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
}
