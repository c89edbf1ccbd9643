import Inference

/// Vectorized kernels over logit rows: max, `exp` with sums, masked sums.
///
/// By far the most time in sampling goes to `exp` over the whole vocabulary (49,152
/// entries); libm's scalar `expf` costs several times more than this SIMD polynomial.
enum VectorMath {
    typealias V8 = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V8 {
        UnsafeRawPointer(p).loadUnaligned(as: V8.self)
    }

    @inline(__always)
    static func store(_ v: V8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V8.self)
    }

    // The standard library's `sum()`/`max()` reductions are not inlined for SIMD8 and cost a
    // generic call each; these halve the vector instead.
    @inline(__always)
    static func horizontalSum(_ v: V8) -> Float {
        let four = v.lowHalf + v.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }

    @inline(__always)
    static func horizontalMax(_ v: V8) -> Float {
        let a = v.lowHalf, b = v.highHalf
        let four = a.replacing(with: b, where: b .> a)
        let c = four.lowHalf, d = four.highHalf
        let two = c.replacing(with: d, where: d .> c)
        return two[1] > two[0] ? two[1] : two[0]
    }

    /// `exp` of eight values (`Exponential.exp`, shared with the forward pass).
    @inline(__always)
    static func exp(_ x: V8) -> V8 { Exponential.exp(x) }

    /// `exp` of one value with the same polynomial as the vector loops.
    static func exp(_ x: Float) -> Float {
        exp(V8(repeating: x))[0]
    }

    /// The largest of `count` values (NaNs ignored unless all are NaN); -inf for none.
    static func max(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = V8(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = load(x + i)
            acc = acc.replacing(with: v, where: v .> acc)
            i += 8
        }
        var m = horizontalMax(acc)
        while i < count {
            if x[i] > m { m = x[i] }
            i += 1
        }
        return m
    }

    /// Writes `exp(x[i] - shift)` to `out` and returns their sum; with `blockSums`, also the
    /// sum of each `blockSize` run (the sampler's walk skips whole blocks with them).
    /// Blocks are summed in Float, the total in Double: top-p's cut must not drift over
    /// tens of thousands of terms.
    static func expShifted(
        _ x: UnsafePointer<Float>, _ count: Int, minus shift: Float,
        into out: UnsafeMutablePointer<Float>, blockSums: UnsafeMutablePointer<Float>? = nil
    ) -> Double {
        let s = V8(repeating: shift)
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start + blockSize, count)
            var acc = V8()
            var i = start
            while i + 8 <= end {
                let e = exp(load(x + i) - s)
                store(e, out + i)
                acc += e
                i += 8
            }
            var sum = horizontalSum(acc)
            while i < end {
                let e = exp(x[i] - shift)
                out[i] = e
                sum += e
                i += 1
            }
            blockSums?[start / blockSize] = sum
            total += Double(sum)
            start = end
        }
        return total
    }

    static let blockSize = 64

    /// Sum of `exp(x[i] - shift)` without storing the terms.
    static func sumExpShifted(_ x: UnsafePointer<Float>, _ count: Int, minus shift: Float) -> Double {
        let s = V8(repeating: shift)
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start + blockSize, count)
            var acc = V8()
            var i = start
            while i + 8 <= end {
                acc += exp(load(x + i) - s)
                i += 8
            }
            var sum = horizontalSum(acc)
            while i < end {
                sum += exp(x[i] - shift)
                i += 1
            }
            total += Double(sum)
            start = end
        }
        return total
    }

    /// Sum of `values[i]` over the entries whose `keys[i] >= threshold`.
    static func sum(_ values: UnsafePointer<Float>, where keys: UnsafePointer<Float>, atLeast threshold: Float, _ count: Int) -> Double {
        let t = V8(repeating: threshold)
        var total = 0.0
        var start = 0
        while start < count {
            let end = Swift.min(start + blockSize, count)
            var acc = V8()
            var i = start
            while i + 8 <= end {
                acc += load(values + i).replacing(with: 0, where: load(keys + i) .< t)
                i += 8
            }
            var sum = horizontalSum(acc)
            while i < end {
                if keys[i] >= threshold { sum += values[i] }
                i += 1
            }
            total += Double(sum)
            start = end
        }
        return total
    }

    /// Calls `body` with each run of up to 8 entries of `x` that holds a value
    /// `>= threshold()`, in order, until `body` returns false; everything else costs one
    /// vector compare per 8 entries (per 64 within blocks below the bar). The threshold is
    /// re-read as the scan goes, so a rising bar (top-k's heap root) skips more.
    /// Most of a logits row lies far below any bar sampling sets: this is what makes
    /// selection passes over 49,152 entries cheap.
    @inline(__always)
    static func forEachRun(
        of x: UnsafePointer<Float>, _ count: Int, reaching threshold: () -> Float, _ body: (Range<Int>) -> Bool
    ) {
        var start = 0
        while start + blockSize <= count {
            var acc = load(x + start)
            var i = start + 8
            while i < start + blockSize {
                let v = load(x + i)
                acc = acc.replacing(with: v, where: v .> acc)
                i += 8
            }
            if any(acc .>= V8(repeating: threshold())) {
                var run = start
                while run < start + blockSize {
                    if any(load(x + run) .>= V8(repeating: threshold())), !body(run..<(run + 8)) { return }
                    run += 8
                }
            }
            start += blockSize
        }
        if start < count { _ = body(start..<count) }
    }

    /// The maximum of each `blockSize` run of `x` (the last one may be shorter); returns
    /// how many blocks there are.
    static func blockMaxima(_ x: UnsafePointer<Float>, _ count: Int, into out: UnsafeMutablePointer<Float>) -> Int {
        var b = 0
        var start = 0
        while start < count {
            out[b] = max(x + start, Swift.min(blockSize, count - start))
            b += 1
            start += blockSize
        }
        return b
    }

    /// Multiplies `count` values in place by `factor`.
    static func scale(_ x: UnsafeMutablePointer<Float>, _ count: Int, by factor: Float) {
        var i = 0
        while i + 8 <= count {
            store(load(x + i) * factor, x + i)
            i += 8
        }
        while i < count {
            x[i] *= factor
            i += 1
        }
    }
}
