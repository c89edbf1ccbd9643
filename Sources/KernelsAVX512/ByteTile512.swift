import _Builtin_intrinsics.intel
import PanelFormat

/// `BytePanelFormat` tiles on 512-bit registers: one group of 16 features × 4 elements per
/// register, 4 rows per call (or 1). Compiled twice like `NibbleTile512`:
/// - KernelsAVX512: `vpmaddubsw` + `vpmaddwd` on |q| and c with q's sign (AVX-512 has no
///   `vpsignb`: a masked subtraction), so no 16-bit sum can saturate.
/// - KernelsAVX512VNNI: activation codes come offset (c + 128, unsigned; see
///   `KernelSet.byteTileTakesOffsetCodes`), so `vpdpbusd` takes them and q as they are, and
///   Σ(c + 128)·q − Σ128·q = Σc·q: two instructions fewer per row and group.
/// Exact 32-bit sums and `BytePanelKernel`'s folds: the same bits as the AVX2 tile.
public enum ByteTile512 {
    typealias Format = BytePanelFormat

    @inline(never)
    public static func tile(_ t: PanelTile) {
        // Two copies, so the one-row path carries no branches for the others.
        if t.rows == 1 { run(t, single: true) } else { run(t, single: false) }
    }

    @inline(__always)
    static func run(_ t: PanelTile, single: Bool) {
        let rows = TileRecord.Rows(t)
        var y0 = _mm512_setzero_ps(), y1 = y0, y2 = y0, y3 = y0
        let zero = _mm512_setzero_si512()
        let recordBytes = Format.recordBytes(halfScales: t.halfScales)
        let dHighOffset = Format.dHighOffset(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        var record = t.panel
        for block in 0..<t.blocks {
            /// Elements 16·half ..< 16·half + 16: four groups, then one fold with their scale.
            @inline(__always) func halfBlock(_ half: Int) {
                var s0 = zero, s1 = zero, s2 = zero, s3 = zero
                #if VNNI
                var offsets = zero  // Σ128·q per feature
                #endif
                for g in 0..<4 {
                    let w = record.loadUnaligned(fromByteOffset: (half &* 4 &+ g) &* Format.groupBytes, as: __m512i.self)
                    let c = rows.words(block &* 32 &+ half &* 16 &+ g &* 4)
                    #if VNNI
                    offsets = _mm512_dpbusd_epi32(offsets, _mm512_set1_epi8(-128), w)
                    s0 = _mm512_dpbusd_epi32(s0, c.0, w)
                    if !single { s1 = _mm512_dpbusd_epi32(s1, c.1, w); s2 = _mm512_dpbusd_epi32(s2, c.2, w); s3 = _mm512_dpbusd_epi32(s3, c.3, w) }
                    #else
                    let magnitude = _mm512_abs_epi8(w), negative = _mm512_movepi8_mask(w)
                    @inline(__always) func add(_ s: inout __m512i, _ c: __m512i) {
                        let signed = _mm512_mask_sub_epi8(c, negative, zero, c)
                        s = _mm512_add_epi32(s, _mm512_madd_epi16(_mm512_maddubs_epi16(magnitude, signed), _mm512_set1_epi16(1)))
                    }
                    add(&s0, c.0)
                    if !single { add(&s1, c.1); add(&s2, c.2); add(&s3, c.3) }
                    #endif
                }
                #if VNNI
                s0 = _mm512_sub_epi32(s0, offsets)
                if !single { s1 = _mm512_sub_epi32(s1, offsets); s2 = _mm512_sub_epi32(s2, offsets); s3 = _mm512_sub_epi32(s3, offsets) }
                #endif
                let d = TileRecord.scales(record, half == 0 ? Format.dLowOffset : dHighOffset, halfScales: t.halfScales)
                @inline(__always) func fold(_ y: inout __m512, _ s: __m512i, _ scale: Float) {
                    y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(scale)), y)
                }
                fold(&y0, s0, rows.scales.0[block])
                if !single { fold(&y1, s1, rows.scales.1[block]); fold(&y2, s2, rows.scales.2[block]); fold(&y3, s3, rows.scales.3[block]) }
            }
            halfBlock(0)
            halfBlock(1)
            let m = TileRecord.scales(record, mOffset, halfScales: t.halfScales)
            y0 = _mm512_fmadd_ps(m, _mm512_set1_ps(rows.sums.0[block]), y0)
            if !single {
                y1 = _mm512_fmadd_ps(m, _mm512_set1_ps(rows.sums.1[block]), y1)
                y2 = _mm512_fmadd_ps(m, _mm512_set1_ps(rows.sums.2[block]), y2)
                y3 = _mm512_fmadd_ps(m, _mm512_set1_ps(rows.sums.3[block]), y3)
            }
            record += recordBytes
        }
        TileRecord.store(t, y0, y1, y2, y3)
    }
}
