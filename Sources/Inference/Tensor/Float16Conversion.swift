/// Half-precision and bfloat16 bit patterns widened to `Float`, exactly: every value,
/// infinities and NaN payloads included, as ggml's and numpy's reference conversions do.
///
/// Done on the bits rather than through `Float16` so the result does not depend on whether
/// the compiler picks F16C instructions (which quiet signalling NaNs) or a library call.
enum Float16Conversion {
    /// IEEE 754 binary16 bits to the equal `Float`.
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let magnitude = UInt32(bits & 0x7fff)
        if magnitude >= 0x7c00 {
            // Infinity or NaN: keep the payload (quiet bit included) in the top mantissa bits.
            return Float(bitPattern: sign | 0x7f80_0000 | (magnitude & 0x03ff) << 13)
        }
        if magnitude >= 0x0400 {
            // Normal: rebias the exponent from 15 to 127 (112 << 23 added to the shifted bits).
            return Float(bitPattern: sign | (magnitude << 13 &+ 0x3800_0000))
        }
        // Zero or subnormal: magnitude * 2^-24 is exact in Float.
        return Float(bitPattern: sign | (Float(magnitude) * 0x1p-24).bitPattern)
    }

    /// bfloat16 bits are the top half of a `Float`'s.
    @inline(__always)
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Reads a little-endian half at `offset` (any alignment) and widens it.
    @inline(__always)
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        float(fromHalf: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
