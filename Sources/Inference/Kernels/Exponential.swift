/// `exp` of eight floats at once, for softmax and the feed-forward gates over whole rows and
/// for sampling over the vocabulary, where libm's scalar `expf` costs several times more.
package enum Exponential {
    package typealias V8 = SIMD8<Float>

    /// `exp` of eight values, Cephes `expf` polynomial (relative error ~2e-7); exactly 0
    /// below -87.3 (masked -inf logits must get probability 0, not a denormal).
    @inline(__always)
    @inlinable package static func exp(_ x: V8) -> V8 {
        // `clamped` and `pointwiseMax` are not inlined for SIMD8 (a call per vector, measured
        // 20x slower); compare-and-replace compiles to vector compares and blends.
        let low = V8(repeating: -87.33654), high = V8(repeating: 88)
        let underflow = x .< low
        let v = x.replacing(with: low, where: underflow).replacing(with: high, where: x .> high)
        // n = round(v / ln 2) by adding 1.5·2^23: baseline x86-64 (SSE2) has no vector round.
        let magic = V8(repeating: 12_582_912)
        let shifted = v * 1.442_695_04 + magic
        let n = shifted - magic
        let r = v - n * 0.693_359_375 + n * 2.121_944_40e-4
        var p = V8(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        // The low mantissa bits of `shifted` hold n; build 2^n in the exponent field.
        let k = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: V8.self)
        return (p * scale).replacing(with: 0, where: underflow)
    }
}

extension Exponential {
    /// x[i] ← exp(x[i] − shift) for i < n; returns the sum, lanes added in a fixed order.
    @inline(__always)
    static func expShifted(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus shift: Float) -> Float {
        let raw = UnsafeMutableRawPointer(x), s = V8(repeating: shift)
        var acc = V8(), i = 0
        while i + 8 <= n {
            let e = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: V8.self) - s)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: V8.self)
            acc += e
            i += 8
        }
        if i < n {
            // The tail padded with -inf, whose exp is exactly 0.
            var tail = V8(repeating: -.infinity)
            for j in 0..<(n - i) { tail[j] = x[i + j] }
            let e = exp(tail - s)
            for j in 0..<(n - i) { x[i + j] = e[j] }
            acc += e
        }
        let four = acc.lowHalf + acc.highHalf, two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }
}
