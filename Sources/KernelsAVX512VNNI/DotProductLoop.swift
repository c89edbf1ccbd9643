import _Builtin_intrinsics.intel

/// The CPU's int8 ceiling: `iterations` rounds of 12 independent `vpdpbusd` chains (64
/// byte products each), nothing loaded, so only the multiply-add units limit it.
public enum DotProductLoop {
    public static let multiplyAddsPerIteration = 12 * 64

    @inline(never)
    public static func run(iterations: Int, seed: Int32) -> Int32 {
        let a = _mm512_set1_epi32(seed | 0x0101_0101), b = _mm512_set1_epi32(0x0102_0304)
        var s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0
        var s6 = s0, s7 = s0, s8 = s0, s9 = s0, s10 = s0, s11 = s0
        for _ in 0..<iterations {
            s0 = step(s0, a, b); s1 = step(s1, a, b); s2 = step(s2, a, b); s3 = step(s3, a, b)
            s4 = step(s4, a, b); s5 = step(s5, a, b); s6 = step(s6, a, b); s7 = step(s7, a, b)
            s8 = step(s8, a, b); s9 = step(s9, a, b); s10 = step(s10, a, b); s11 = step(s11, a, b)
        }
        let sum = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3)),
                                   _mm512_add_epi32(_mm512_add_epi32(s4, s5), _mm512_add_epi32(s6, s7)))
        return _mm512_reduce_add_epi32(_mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(s8, s9),
                                                                             _mm512_add_epi32(s10, s11))))
    }

    @inline(__always)
    private static func step(_ s: __m512i, _ a: __m512i, _ b: __m512i) -> __m512i { _mm512_dpbusd_epi32(s, a, b) }
}
