/// Kernels for ggml's k-quant formats: 256-element super-blocks split into sub-blocks,
/// each sub-block with its own small integer scale (and minimum) relative to the super-block's
/// f16 `d` (and `dmin`). Arithmetic follows ggml's order exactly, e.g. `(d * sc) * q - (dmin * m)`,
/// so results match bit for bit.
enum KQuantBlocks {
    static let elements = 256

    /// The 6-bit scale and minimum of sub-block `j` (0..<8), packed in 12 bytes as
    /// ggml's `get_scale_min_k4` reads them:
    ///   bytes 0..<4:  scale j (low 6 bits), for j < 4; top 2 bits = high bits of scale j+4
    ///   bytes 4..<8:  min j (low 6 bits), for j < 4;   top 2 bits = high bits of min j+4
    ///   bytes 8..<12: low 4 bits of scale j+4 | low 4 bits of min j+4 << 4
    @inline(__always)
    static func scaleMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: Float, min: Float) {
        if j < 4 {
            return (Float(scales.byte(j) & 63), Float(scales.byte(j + 4) & 63))
        }
        let scale = scales.byte(j + 4) & 0x0f | (scales.byte(j - 4) >> 6) << 4
        let min = scales.byte(j + 4) >> 4 | (scales.byte(j) >> 6) << 4
        return (Float(scale), Float(min))
    }

    /// Q4_K, 144 bytes: d f16 | dmin f16 | scales[12] | qs[128].
    /// Eight sub-blocks of 32; each 32 bytes of qs hold two sub-blocks (low nibbles, then high).
    /// y = (d * scale) * q - (dmin * min).
    static func q4_K(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 144
            let d = Float16Conversion.half(b, 0)
            let dmin = Float16Conversion.half(b, 2)
            let scales = b + 4
            var out = y + block * elements
            for pair in 0..<4 {
                let qs = b + 16 + 32 * pair
                let (scale1, min1) = scaleMin(scales, 2 * pair)
                let (scale2, min2) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * scale1, m1 = dmin * min1
                let d2 = d * scale2, m2 = dmin * min2
                for l in 0..<32 {
                    out[l] = d1 * Float(qs.byte(l) & 0x0f) - m1
                    out[l + 32] = d2 * Float(qs.byte(l) >> 4) - m2
                }
                out += 64
            }
        }
    }

    /// Q5_K, 176 bytes: d f16 | dmin f16 | scales[12] | qh[32] | qs[128].
    /// As Q4_K, with a fifth bit per element: bit `2 * pair` (low nibbles) or `2 * pair + 1`
    /// (high nibbles) of qh[l].
    static func q5_K(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 176
            let d = Float16Conversion.half(b, 0)
            let dmin = Float16Conversion.half(b, 2)
            let scales = b + 4
            let qh = b + 16
            var out = y + block * elements
            for pair in 0..<4 {
                let qs = b + 48 + 32 * pair
                let (scale1, min1) = scaleMin(scales, 2 * pair)
                let (scale2, min2) = scaleMin(scales, 2 * pair + 1)
                let d1 = d * scale1, m1 = dmin * min1
                let d2 = d * scale2, m2 = dmin * min2
                let shift1 = UInt8(2 * pair), shift2 = UInt8(2 * pair + 1)
                for l in 0..<32 {
                    let high1 = (qh.byte(l) >> shift1 & 1) << 4
                    let high2 = (qh.byte(l) >> shift2 & 1) << 4
                    out[l] = d1 * Float(qs.byte(l) & 0x0f | high1) - m1
                    out[l + 32] = d2 * Float(qs.byte(l) >> 4 | high2) - m2
                }
                out += 64
            }
        }
    }

    /// Q6_K, 210 bytes: ql[128] | qh[64] | scales[16] int8 | d f16.
    /// Two halves of 128; in each, ql[0..<64] hold low nibbles, qh[0..<32] the top two bits,
    /// for four runs of 32 elements; sixteen sub-blocks of 16 share a scale.
    /// y = (d * scale) * (q - 32).
    static func q6_K(_ x: UnsafeRawPointer, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        for block in 0..<blocks {
            let b = x + block * 210
            let d = Float16Conversion.half(b, 208)
            var out = y + block * elements
            for half in 0..<2 {
                let ql = b + 64 * half
                let qh = b + 128 + 32 * half
                let scales = b + 192 + 8 * half
                // Elements l and l + 16 of each run of 32 have different scales: two passes of 16.
                for group in 0..<2 {
                    let d1 = d * scale(scales, group), d2 = d * scale(scales, group + 2)
                    let d3 = d * scale(scales, group + 4), d4 = d * scale(scales, group + 6)
                    for l in 16 * group..<16 * group + 16 {
                        let low = ql.byte(l), low32 = ql.byte(l + 32), high = qh.byte(l)
                        out[l] = d1 * Float(Int32(low & 0x0f | (high & 3) << 4) - 32)
                        out[l + 32] = d2 * Float(Int32(low32 & 0x0f | (high >> 2 & 3) << 4) - 32)
                        out[l + 64] = d3 * Float(Int32(low >> 4 | (high >> 4 & 3) << 4) - 32)
                        out[l + 96] = d4 * Float(Int32(low32 >> 4 | (high >> 6 & 3) << 4) - 32)
                    }
                }
                out += 128
            }
        }
    }

    @inline(__always)
    private static func scale(_ scales: UnsafeRawPointer, _ index: Int) -> Float {
        Float(Int8(bitPattern: scales.byte(index)))
    }
}

extension UnsafeRawPointer {
    /// One byte at `offset`: raw loads need neither memory binding nor alignment.
    @inline(__always)
    fileprivate func byte(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
}
