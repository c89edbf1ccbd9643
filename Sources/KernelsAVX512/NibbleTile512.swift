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
        // Two copies, so the one-row path carries no branches for the others.
        if t.rows == 1 { run(t, single: true) } else { run(t, single: false) }
    }

    @inline(__always)
    static func run(_ t: PanelTile, single: Bool) {
        let rows = TileRecord.Rows(t)
        var y0 = _mm512_setzero_ps(), y1 = y0, y2 = y0, y3 = y0
        let low4 = _mm512_set1_epi8(0x0f)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        var record = t.panel
        for block in 0..<t.blocks {
            var s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0
            for g in 0..<Format.groups {
                let packed = record.loadUnaligned(fromByteOffset: g &* Format.groupBytes, as: __m512i.self)
                let low = _mm512_and_si512(packed, low4)
                let high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4)
                let byte = block &* 32 &+ g &* 4
                let c = rows.words(byte), c16 = rows.words(byte &+ 16)
                s0 = accumulate(accumulate(s0, low, c.0), high, c16.0)
                if !single {
                    s1 = accumulate(accumulate(s1, low, c.1), high, c16.1)
                    s2 = accumulate(accumulate(s2, low, c.2), high, c16.2)
                    s3 = accumulate(accumulate(s3, low, c.3), high, c16.3)
                }
            }
            let d = TileRecord.scales(record, Format.dOffset, halfScales: t.halfScales)
            let m = TileRecord.scales(record, mOffset, halfScales: t.halfScales)
            @inline(__always) func fold(_ y: inout __m512, _ s: __m512i, _ scale: Float, _ sum: Float) {
                y = _mm512_fmadd_ps(widened(s), _mm512_mul_ps(d, _mm512_set1_ps(scale)), y)
                y = _mm512_fmadd_ps(m, _mm512_set1_ps(sum), y)
            }
            fold(&y0, s0, rows.scales.0[block], rows.sums.0[block])
            if !single {
                fold(&y1, s1, rows.scales.1[block], rows.sums.1[block])
                fold(&y2, s2, rows.scales.2[block], rows.sums.2[block])
                fold(&y3, s3, rows.scales.3[block], rows.sums.3[block])
            }
            record += recordBytes
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
