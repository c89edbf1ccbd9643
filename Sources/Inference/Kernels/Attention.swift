#if canImport(Glibc)
import Glibc
#endif
import _Builtin_intrinsics.intel

/// Causal grouped-query attention of one row against the cached keys and values of its
/// sequence. Each row depends only on its own inputs, in a fixed order, so results do not
/// depend on what else is in the batch.
public enum Attention {
    /// Where one row's keys and values live in the cache.
    public struct Context {
        /// Positions start..<length are attended (the row's own position is length - 1);
        /// start > 0 in sliding-window layers.
        public var length: Int
        public var start: Int
        /// Cache slot of position t: blockTable[t / blockSize] · blockSize + t % blockSize.
        public var blockTable: UnsafePointer<Int32>
        public var blockSize: Int
        /// Base of this layer's keys and values: (slot, kvHeads · headSize) elements of `precision`.
        public var keys: UnsafeRawPointer
        public var values: UnsafeRawPointer
        public var precision: KVCache.Precision

        public init(length: Int, start: Int = 0, blockTable: UnsafePointer<Int32>, blockSize: Int,
                    keys: UnsafeRawPointer, values: UnsafeRawPointer, precision: KVCache.Precision = .f32) {
            precondition(start >= 0 && start < length)
            self.length = length
            self.start = start
            self.blockTable = blockTable
            self.blockSize = blockSize
            self.keys = keys
            self.values = values
            self.precision = precision
        }

        /// Element `index` of the keys or values at `base`, as f32.
        func element(_ base: UnsafeRawPointer, _ index: Int) -> Float {
            precision == .f32 ? base.load(fromByteOffset: 4 * index, as: Float.self)
                : Float(base.load(fromByteOffset: 2 * index, as: Float16.self))
        }

        @inline(__always)
        func slot(_ position: Int) -> Int {
            Int(blockTable[position / blockSize]) * blockSize + position % blockSize
        }
    }

    /// query: (heads, headSize); output: (heads, headSize); headSize a multiple of 8.
    /// scores: scratch of at least heads · context.length floats; slots: of context.length.
    /// scale: multiplies q·k, 1/√headSize when nil.
    /// Every score and output element is summed in an order fixed by its position alone.
    @inline(__always)
    public static func attend(
        query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int, scale: Float? = nil,
        scores: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Int>, output: UnsafeMutablePointer<Float>
    ) {
        let scale = scale ?? 1 / Float(headSize).squareRoot()
        switch context.precision {
        case .f32:
            attend(F32Lanes.self, query: query, context: context, heads: heads, kvHeads: kvHeads, headSize: headSize,
                   scale: scale, scores: scores, slots: slots, output: output)
        case .f16:
            attend(F16Lanes.self, query: query, context: context, heads: heads, kvHeads: kvHeads, headSize: headSize,
                   scale: scale, scores: scores, slots: slots, output: output)
        }
    }

    @inline(__always)
    static func attend<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int,
        scale: Float, scores: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Int>, output: UnsafeMutablePointer<Float>
    ) {
        let group = heads / kvHeads
        let kvSize = kvHeads * headSize
        // From here on, position t means context position start + t.
        let length = context.length - context.start
        for t in 0..<length { slots[t] = context.slot(context.start + t) * kvSize }
        // Every kv head of a position in turn, so each block of the cache is read front to
        // back (the prefetcher follows it) and each key and value once for the query heads
        // that share it.
        keyScores(Lanes.self, queries: query, heads: heads, group: group, keys: context.keys,
                  slots: slots, length: length, headSize: headSize, scale: scale, into: scores)
        for head in 0..<heads { softmax(scores + head * length, length) }
        weightedValues(Lanes.self, scores, heads: heads, group: group, values: context.values,
                       slots: slots, length: length, headSize: headSize, into: output)
    }

    /// How many of the query heads from `first` on go through the kernels together: up to
    /// three that share a kv head (so each key and value is widened once for them), the
    /// group split evenly (4 as 2 + 2, not 3 + 1).
    @inline(__always)
    static func headsTogether(from first: Int, group: Int) -> Int {
        let left = (first / group + 1) * group - first
        let passes = (left + 2) / 3
        return (left + passes - 1) / passes
    }

    /// scores (heads, length): [h][t] = q_h · k(t) · scale, four positions at a time for up
    /// to three heads; each position's eight lanes are summed by the same tree.
    @inline(__always)
    static func keyScores<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, queries: UnsafePointer<Float>, heads: Int, group: Int, keys: UnsafeRawPointer,
        slots: UnsafePointer<Int>, length: Int, headSize: Int, scale: Float, into scores: UnsafeMutablePointer<Float>
    ) {
        var t = 0
        while t < length {
            let last = min(4, length - t) - 1
            // Past the end, repeat the last key; those sums are dropped.
            func key(_ j: Int) -> UnsafeRawPointer { keys + slots[t + min(j, last)] * Lanes.bytes }
            let p0 = key(0), p1 = key(1), p2 = key(2), p3 = key(3)
            var first = 0
            while first < heads {
                let count = headsTogether(from: first, group: group)
                // Fewer than three heads repeat the last one; its sums are dropped.
                func query(_ h: Int) -> UnsafeRawPointer { UnsafeRawPointer(queries + (first + min(h, count - 1)) * headSize) }
                let q0 = query(0), q1 = query(1), q2 = query(2)
                let offset = first / group * headSize * Lanes.bytes
                let k0 = p0 + offset, k1 = p1 + offset, k2 = p2 + offset, k3 = p3 + offset
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
                var i = 0
                while i < headSize {
                    let byte = i &* 4
                    let v0 = q0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                    let v1 = q1.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                    let v2 = q2.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                    var x = Lanes.load(k0, i)
                    a00 = a00.addingProduct(v0, x); a10 = a10.addingProduct(v1, x); a20 = a20.addingProduct(v2, x)
                    x = Lanes.load(k1, i)
                    a01 = a01.addingProduct(v0, x); a11 = a11.addingProduct(v1, x); a21 = a21.addingProduct(v2, x)
                    x = Lanes.load(k2, i)
                    a02 = a02.addingProduct(v0, x); a12 = a12.addingProduct(v1, x); a22 = a22.addingProduct(v2, x)
                    x = Lanes.load(k3, i)
                    a03 = a03.addingProduct(v0, x); a13 = a13.addingProduct(v1, x); a23 = a23.addingProduct(v2, x)
                    i &+= 8
                }
                // Lane j of the result is the sum of a_j's lanes: adjacent lanes, then pairs,
                // then halves.
                func pair(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
                    SIMD8(lowHalf: x.evenHalf + x.oddHalf, highHalf: y.evenHalf + y.oddHalf)
                }
                func store(_ h: Int, _ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>) {
                    guard h < count else { return }
                    let quarters = pair(pair(a0, a1), pair(a2, a3))
                    let sums = (quarters.evenHalf + quarters.oddHalf) * scale
                    let target = scores + (first + h) * length + t
                    if last == 3 {
                        UnsafeMutableRawPointer(target).storeBytes(of: sums, as: SIMD4<Float>.self)
                    } else {
                        for j in 0...last { target[j] = sums[j] }
                    }
                }
                store(0, a00, a01, a02, a03); store(1, a10, a11, a12, a13); store(2, a20, a21, a22, a23)
                first += count
            }
            t += 4
        }
    }

    /// out (heads, headSize): [h] = Σ_t weights[h][t] · v(t), in increasing t. Positions go
    /// in chunks of 32 that stay in L1 for all heads; each head's sums pass between chunks
    /// through `out` unrounded, 32 dimensions of up to three heads at a time in registers.
    @inline(__always)
    static func weightedValues<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, _ weights: UnsafePointer<Float>, heads: Int, group: Int, values: UnsafeRawPointer,
        slots: UnsafePointer<Int>, length: Int, headSize: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var start = 0
        while start < length {
            let positions = start..<min(length, start + 32)
            var first = 0
            while first < heads {
                let count = headsTogether(from: first, group: group)
                // Fewer than three heads repeat the last one; its sums are not stored.
                let w0 = weights + first * length, w1 = weights + (first + min(1, count - 1)) * length
                let w2 = weights + (first + min(2, count - 1)) * length
                let headValues = values + first / group * headSize * Lanes.bytes
                let rawOut = UnsafeMutableRawPointer(out + first * headSize)
                func load(_ h: Int, _ byte: Int) -> SIMD8<Float> {
                    start == 0 || h >= count ? SIMD8()
                        : rawOut.loadUnaligned(fromByteOffset: h * headSize * 4 + byte, as: SIMD8<Float>.self)
                }
                func store(_ h: Int, _ byte: Int, _ lanes: SIMD8<Float>) {
                    if h < count { rawOut.storeBytes(of: lanes, toByteOffset: h * headSize * 4 + byte, as: SIMD8<Float>.self) }
                }
                var byte = 0
                while byte + 128 <= headSize * 4 {
                    var a00 = load(0, byte), a01 = load(0, byte + 32), a02 = load(0, byte + 64), a03 = load(0, byte + 96)
                    var a10 = load(1, byte), a11 = load(1, byte + 32), a12 = load(1, byte + 64), a13 = load(1, byte + 96)
                    var a20 = load(2, byte), a21 = load(2, byte + 32), a22 = load(2, byte + 64), a23 = load(2, byte + 96)
                    for t in positions {
                        let v = headValues + slots[t] * Lanes.bytes, i = byte / 4
                        let x0 = Lanes.load(v, i), x1 = Lanes.load(v, i + 8), x2 = Lanes.load(v, i + 16), x3 = Lanes.load(v, i + 24)
                        var s = SIMD8<Float>(repeating: w0[t])
                        a00 = a00.addingProduct(s, x0); a01 = a01.addingProduct(s, x1)
                        a02 = a02.addingProduct(s, x2); a03 = a03.addingProduct(s, x3)
                        s = SIMD8<Float>(repeating: w1[t])
                        a10 = a10.addingProduct(s, x0); a11 = a11.addingProduct(s, x1)
                        a12 = a12.addingProduct(s, x2); a13 = a13.addingProduct(s, x3)
                        s = SIMD8<Float>(repeating: w2[t])
                        a20 = a20.addingProduct(s, x0); a21 = a21.addingProduct(s, x1)
                        a22 = a22.addingProduct(s, x2); a23 = a23.addingProduct(s, x3)
                    }
                    store(0, byte, a00); store(0, byte + 32, a01); store(0, byte + 64, a02); store(0, byte + 96, a03)
                    store(1, byte, a10); store(1, byte + 32, a11); store(1, byte + 64, a12); store(1, byte + 96, a13)
                    store(2, byte, a20); store(2, byte + 32, a21); store(2, byte + 64, a22); store(2, byte + 96, a23)
                    byte += 128
                }
                while byte < headSize * 4 {
                    var a0 = load(0, byte), a1 = load(1, byte), a2 = load(2, byte)
                    for t in positions {
                        let x = Lanes.load(headValues + slots[t] * Lanes.bytes, byte / 4)
                        a0 = a0.addingProduct(SIMD8(repeating: w0[t]), x)
                        a1 = a1.addingProduct(SIMD8(repeating: w1[t]), x)
                        a2 = a2.addingProduct(SIMD8(repeating: w2[t]), x)
                    }
                    store(0, byte, a0); store(1, byte, a1); store(2, byte, a2)
                    byte += 32
                }
                first += count
            }
            start = positions.upperBound
        }
    }

    /// In-place softmax of n values.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        let inverse = 1 / Exponential.expShifted(x, n, minus: maximum)
        for i in 0..<n { x[i] *= inverse }
    }

    /// Plain version kept as the reference: one head at a time, f64 throughout.
    public static func reference(
        query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int, scale: Double? = nil,
        output: UnsafeMutablePointer<Float>
    ) {
        let kvSize = kvHeads * headSize
        let positions = Array(context.start..<context.length)
        for head in 0..<heads {
            let kvHead = head / (heads / kvHeads)
            var scores = [Double](repeating: 0, count: positions.count)
            for (index, t) in positions.enumerated() {
                let key = context.slot(t) * kvSize + kvHead * headSize
                var dot = 0.0
                for i in 0..<headSize { dot += Double(query[head * headSize + i]) * Double(context.element(context.keys, key + i)) }
                scores[index] = dot * (scale ?? 1 / Double(headSize).squareRoot())
            }
            let maximum = scores.max() ?? 0
            let exps = scores.map { exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for i in 0..<headSize {
                var sum = 0.0
                for (index, t) in positions.enumerated() {
                    sum += exps[index] / total * Double(context.element(context.values, context.slot(t) * kvSize + kvHead * headSize + i))
                }
                output[head * headSize + i] = Float(sum)
            }
        }
    }
}

/// Eight cached elements as f32 lanes, for attention generic over the cache's precision.
protocol CacheLanes {
    static var bytes: Int { get }
    /// Elements index ..< index + 8 of the array at `base`.
    static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float>
}

enum F32Lanes: CacheLanes {
    static var bytes: Int { 4 }
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
        base.loadUnaligned(fromByteOffset: index * 4, as: SIMD8<Float>.self)
    }
}

enum F16Lanes: CacheLanes {
    static var bytes: Int { 2 }
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
        unsafeBitCast(_mm256_cvtph_ps(base.loadUnaligned(fromByteOffset: index * 2, as: __m128i.self)), to: SIMD8<Float>.self)
    }
}
