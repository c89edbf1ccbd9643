import _Builtin_intrinsics.intel
import PanelFormat

/// `BytePanelFormat` tiles on 512-bit registers: one group of 16 features × 4 elements per
/// register, 4 rows per call (or 1). Compiled twice like `NibbleTile512`: `vpmaddubsw` +
/// `vpmaddwd` in KernelsAVX512, `vpdpbusd` in KernelsAVX512VNNI, on |q| and c with q's sign
/// (AVX-512 has no `vpsignb`: a masked subtraction). Exact 32-bit sums and
/// `BytePanelKernel`'s folds: the same bits as the AVX2 tile.
public enum ByteTile512 {
    typealias Format = BytePanelFormat

    @inline(never)
    public static func tile(_ t: PanelTile) {
        let single = t.rows == 1
        let r1 = min(1, t.rows - 1), r2 = min(2, t.rows - 1), r3 = min(3, t.rows - 1)
        var y0 = _mm512_setzero_ps(), y1 = y0, y2 = y0, y3 = y0
        let zero = _mm512_setzero_si512()
        let recordBytes = Format.recordBytes(halfScales: t.halfScales)
        let dHighOffset = Format.dHighOffset(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            var s0 = zero, s1 = zero, s2 = zero, s3 = zero
            @inline(__always) func fold(_ y: inout __m512, _ s: inout __m512i, _ r: Int, _ d: __m512) {
                y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(t.scale(row: r, block: block))), y)
                s = zero
            }
            for g in 0..<Format.groups {
                let w = record.loadUnaligned(fromByteOffset: g * Format.groupBytes, as: __m512i.self)
                let magnitude = _mm512_abs_epi8(w), negative = _mm512_movepi8_mask(w)
                let offset = block * 32 + 4 * g
                @inline(__always) func add(_ s: inout __m512i, _ r: Int) {
                    let c = _mm512_set1_epi32(t.codeWord(row: r, offset: offset))
                    s = accumulate(s, magnitude, _mm512_mask_sub_epi8(c, negative, zero, c))
                }
                add(&s0, 0)
                if !single { add(&s1, r1); add(&s2, r2); add(&s3, r3) }
                if g == 3 || g == 7 {
                    let d = TileRecord.scales(record, g == 3 ? Format.dLowOffset : dHighOffset, halfScales: t.halfScales)
                    fold(&y0, &s0, 0, d)
                    if !single { fold(&y1, &s1, r1, d); fold(&y2, &s2, r2, d); fold(&y3, &s3, r3, d) }
                }
            }
            let m = TileRecord.scales(record, mOffset, halfScales: t.halfScales)
            y0 = _mm512_fmadd_ps(m, _mm512_set1_ps(t.sum(row: 0, block: block)), y0)
            if !single {
                y1 = _mm512_fmadd_ps(m, _mm512_set1_ps(t.sum(row: r1, block: block)), y1)
                y2 = _mm512_fmadd_ps(m, _mm512_set1_ps(t.sum(row: r2, block: block)), y2)
                y3 = _mm512_fmadd_ps(m, _mm512_set1_ps(t.sum(row: r3, block: block)), y3)
            }
        }
        TileRecord.store(t, y0, y1, y2, y3)
    }

    /// s + the 32-bit sums of 4 products of |q| (≤ 128) with signed codes (|c| ≤ 127).
    @inline(__always)
    private static func accumulate(_ s: __m512i, _ magnitudes: __m512i, _ codes: __m512i) -> __m512i {
        #if VNNI
        _mm512_dpbusd_epi32(s, magnitudes, codes)
        #else
        _mm512_add_epi32(s, _mm512_madd_epi16(_mm512_maddubs_epi16(magnitudes, codes), _mm512_set1_epi16(1)))
        #endif
    }
}
