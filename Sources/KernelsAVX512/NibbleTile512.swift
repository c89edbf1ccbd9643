import _Builtin_intrinsics.intel
import PanelFormat

/// `NibblePanelFormat` tiles on 512-bit registers: one group of 16 features × 4 elements
/// per register, 4 rows per call (or 1). This file is compiled twice: in KernelsAVX512
/// (F, BW, VL: `vpmaddubsw` into 16-bit sums) and, through a link, in KernelsAVX512VNNI
/// (`vpdpbusd` into 32-bit sums). The integer sums are exact either way and the float
/// folds are `NibblePanelKernel`'s, lane for lane: the same bits as the AVX2 tile.
public enum NibbleTile512 {
    typealias Format = NibblePanelFormat

    @inline(never)
    public static func tile(_ t: PanelTile) {
        let single = t.rows == 1
        let r1 = min(1, t.rows - 1), r2 = min(2, t.rows - 1), r3 = min(3, t.rows - 1)
        var y0 = _mm512_setzero_ps(), y1 = y0, y2 = y0, y3 = y0
        let low4 = _mm512_set1_epi8(0x0f)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            var s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0
            for g in 0..<Format.groups {
                let packed = record.loadUnaligned(fromByteOffset: g * Format.groupBytes, as: __m512i.self)
                let low = _mm512_and_si512(packed, low4)
                let high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4)
                let offset = block * 32 + 4 * g
                @inline(__always) func add(_ s: inout __m512i, _ r: Int) {
                    s = accumulate(s, low, _mm512_set1_epi32(t.codeWord(row: r, offset: offset)))
                    s = accumulate(s, high, _mm512_set1_epi32(t.codeWord(row: r, offset: offset + 16)))
                }
                add(&s0, 0)
                if !single { add(&s1, r1); add(&s2, r2); add(&s3, r3) }
            }
            let d = TileRecord.scales(record, Format.dOffset, halfScales: t.halfScales)
            let m = TileRecord.scales(record, mOffset, halfScales: t.halfScales)
            @inline(__always) func fold(_ y: inout __m512, _ s: __m512i, _ r: Int) {
                y = _mm512_fmadd_ps(widened(s), _mm512_mul_ps(d, _mm512_set1_ps(t.scale(row: r, block: block))), y)
                y = _mm512_fmadd_ps(m, _mm512_set1_ps(t.sum(row: r, block: block)), y)
            }
            fold(&y0, s0, 0)
            if !single { fold(&y1, s1, r1); fold(&y2, s2, r2); fold(&y3, s3, r3) }
        }
        TileRecord.store(t, y0, y1, y2, y3)
    }

    /// s + the products of 4 unsigned codes with 4 signed ones, summed in pairs (16-bit
    /// lanes: 16 products of ≤ 15 × 127 per block stay below 2¹⁵) or in fours (32-bit).
    @inline(__always)
    private static func accumulate(_ s: __m512i, _ weights: __m512i, _ codes: __m512i) -> __m512i {
        #if VNNI
        _mm512_dpbusd_epi32(s, weights, codes)
        #else
        _mm512_add_epi16(s, _mm512_maddubs_epi16(weights, codes))
        #endif
    }

    /// A block's sums as f32.
    @inline(__always)
    private static func widened(_ s: __m512i) -> __m512 {
        #if VNNI
        _mm512_cvtepi32_ps(s)
        #else
        _mm512_cvtepi32_ps(_mm512_madd_epi16(s, _mm512_set1_epi16(1)))
        #endif
    }
}
