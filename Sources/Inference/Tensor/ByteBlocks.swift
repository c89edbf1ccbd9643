/// ggml's 5-, 6- and 8-bit formats read as 32-element blocks of signed codes: element e of
/// a block is `(e < 16 ? dLow : dHigh) · q[e] + m`, q[e] in -128...127. Q8_0 and Q5_0 take
/// the form with m = 0, Q5_1 and Q5_K (sub-blocks of 32 with their own `d · scale` and
/// `dmin · min`) with codes 0...31, and Q6_K, whose sub-blocks of 16 each have a scale,
/// with codes q − 32 and the two halves' scales. Every value equals the dequantizer's, so
/// their matrices can stay 8-bit for integer products (see `BytePanelKernel`).
enum ByteBlocks {
    static let elements = 32

    static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q8_0, .q5_0, .q5_1, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Block `index` of a row stored in `type` at `row`: writes its 32 codes to `codes` and
    /// returns its scales and offset. `supports(type)` or `NibbleBlocks.supports(type)` must hold.
    static func block(
        _ type: GGMLType, row: UnsafeRawPointer, index: Int, codes: UnsafeMutablePointer<Int8>
    ) -> (dLow: Float, dHigh: Float, m: Float) {
        func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }
        // Q5_0 and Q5_1: low nibbles are elements 0..<16, high nibbles 16..<32, bit e of qh
        // the fifth bit of element e.
        func legacy(_ qh: UInt32, _ qs: UnsafeRawPointer, offset: Int32) {
            for j in 0..<16 {
                let high0 = Int32(truncatingIfNeeded: (qh >> UInt32(j)) << 4 & 0x10)
                let high1 = Int32(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                codes[j] = Int8((Int32(byte(qs, j) & 0x0f) | high0) - offset)
                codes[j + 16] = Int8((Int32(byte(qs, j) >> 4) | high1) - offset)
            }
        }
        switch type {
        case .q8_0:
            let b = row + index * 34
            for e in 0..<32 { codes[e] = Int8(bitPattern: byte(b, 2 + e)) }
            let d = Float16Conversion.half(b, 0)
            return (d, d, 0)
        case .q5_0:
            let b = row + index * 22
            legacy(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)), b + 6, offset: 16)
            let d = Float16Conversion.half(b, 0)
            return (d, d, 0)
        case .q5_1:
            let b = row + index * 24
            legacy(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)), b + 8, offset: 0)
            let d = Float16Conversion.half(b, 0)
            return (d, d, Float16Conversion.half(b, 2))
        case .q5_K:
            // Sub-block j of a 256-element super-block: 32 bytes of qs hold sub-blocks 2p (low
            // nibbles) and 2p + 1 (high nibbles); bit j of qh[l] is the fifth bit.
            let b = row + index / 8 * 176, j = index % 8
            let qs = b + 48 + 32 * (j / 2), shift: UInt8 = j % 2 == 0 ? 0 : 4
            for l in 0..<32 {
                codes[l] = Int8(byte(qs, l) >> shift & 0x0f | (byte(b + 16, l) >> UInt8(j) & 1) << 4)
            }
            let (scale, min) = KQuantBlocks.scaleMin(b + 4, j)
            let d = Float16Conversion.half(b, 0) * scale
            return (d, d, -(Float16Conversion.half(b, 2) * min))
        case .q6_K:
            // Run j of half h of a 256-element super-block: low nibbles of ql[l] (runs 0, 2
            // as low and high nibble) or ql[l + 32] (runs 1, 3), the top two bits at
            // 2j of qh[l]; elements l < 16 and l ≥ 16 have scales 2j and 2j + 1.
            let b = row + index / 8 * 210, h = index % 8 / 4, j = index % 4
            let ql = b + 64 * h + (j % 2) * 32, qh = b + 128 + 32 * h, shift: UInt8 = j < 2 ? 0 : 4
            for l in 0..<32 {
                let q = byte(ql, l) >> shift & 0x0f | (byte(qh, l) >> UInt8(2 * j) & 3) << 4
                codes[l] = Int8(Int32(q) - 32)
            }
            let d = Float16Conversion.half(b, 208)
            let scales = b + 192 + 8 * h
            func scale(_ i: Int) -> Float { Float(Int8(bitPattern: byte(scales, i))) }
            return (d * scale(2 * j), d * scale(2 * j + 1), 0)
        default:
            // A 4-bit tensor stacked with 5- to 8-bit ones: its codes 0...15 as they are.
            let (d, m) = NibbleBlocks.block(
                type, row: row, index: index, codes: UnsafeMutableRawPointer(codes).assumingMemoryBound(to: UInt8.self))
            return (d, d, m)
        }
    }
}
