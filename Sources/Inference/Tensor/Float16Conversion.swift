/// Half-precision and bfloat16 bit patterns widened to `Float`, exactly: every value,
/// infinities and NaN payloads included, as ggml's and numpy's reference conversions do.
///
/// Done on the bits rather than through `Float16` so the result does not depend on whether
/// the compiler picks F16C instructions (which quiet signalling NaNs) or a library call.
enum Float16Conversion {
    /// IEEE 754 binary16 bits to the equal `Float`. Branches become selects, so loops over
    /// F16 tensors vectorise.
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        let shifted = UInt32(bits & 0x7fff) << 13
        let exponent = shifted & 0x0f80_0000
        // Rebias the exponent from 15 to 127; infinities and NaNs go to 255, payload kept.
        var magnitude = shifted &+ 0x3800_0000
        if exponent == 0x0f80_0000 { magnitude &+= 0x3800_0000 }
        var value = Float(bitPattern: magnitude)
        if exponent == 0 {
            // Zero or subnormal: as a normal with one more in the exponent, minus 2^-14. Exact.
            value = Float(bitPattern: magnitude &+ 0x0080_0000) - 0x1p-14
        }
        return Float(bitPattern: value.bitPattern | UInt32(bits & 0x8000) << 16)
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
