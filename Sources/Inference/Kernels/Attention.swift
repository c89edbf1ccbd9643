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
        /// Positions 0..<length are attended (the row's own position is length - 1).
        public var length: Int
        /// Cache slot of position t: blockTable[t / blockSize] · blockSize + t % blockSize.
        public var blockTable: UnsafePointer<Int32>
        public var blockSize: Int
        /// Base of this layer's keys and values: (slot, kvHeads · headSize) elements of `precision`.
        public var keys: UnsafeRawPointer
        public var values: UnsafeRawPointer
        public var precision: KVCache.Precision

        public init(length: Int, blockTable: UnsafePointer<Int32>, blockSize: Int,
                    keys: UnsafeRawPointer, values: UnsafeRawPointer, precision: KVCache.Precision = .f32) {
            self.length = length
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
    /// Every score and output element is summed in an order fixed by its position alone.
    @inline(__always)
    public static func attend(
        query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int,
        scores: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Int>, output: UnsafeMutablePointer<Float>
    ) {
        switch context.precision {
        case .f32:
            attend(F32Lanes.self, query: query, context: context, heads: heads, kvHeads: kvHeads, headSize: headSize,
                   scores: scores, slots: slots, output: output)
        case .f16:
            attend(F16Lanes.self, query: query, context: context, heads: heads, kvHeads: kvHeads, headSize: headSize,
                   scores: scores, slots: slots, output: output)
        }
    }

    @inline(__always)
    static func attend<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int,
        scores: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Int>, output: UnsafeMutablePointer<Float>
    ) {
        let group = heads / kvHeads
        let kvSize = kvHeads * headSize
        let length = context.length
        let scale = 1 / Float(headSize).squareRoot()
        for t in 0..<length { slots[t] = context.slot(t) * kvSize }
        // Query heads sharing a kv head go together, so each key and value is read from
        // memory once for all of them.
        for kvHead in 0..<kvHeads {
            let first = kvHead * group
            keyScores(Lanes.self, queries: query + first * headSize, heads: group,
                      keys: context.keys + kvHead * headSize * Lanes.bytes,
                      slots: slots, length: length, headSize: headSize, scale: scale, into: scores + first * length)
            for head in first..<(first + group) { softmax(scores + head * length, length) }
            weightedValues(Lanes.self, scores + first * length, heads: group,
                           values: context.values + kvHead * headSize * Lanes.bytes,
                           slots: slots, length: length, headSize: headSize, into: output + first * headSize)
        }
    }

    /// scores (heads, length): [h][t] = q_h · k(t) · scale, eight positions at a time, each
    /// position's eight lanes summed by the same tree.
    @inline(__always)
    static func keyScores<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, queries: UnsafePointer<Float>, heads: Int, keys: UnsafeRawPointer, slots: UnsafePointer<Int>,
        length: Int, headSize: Int, scale: Float, into scores: UnsafeMutablePointer<Float>
    ) {
        var t = 0
        while t < length {
            let last = min(8, length - t) - 1
            // Past the end, repeat the last key; those sums are dropped.
            func key(_ j: Int) -> UnsafeRawPointer { keys + slots[t + min(j, last)] * Lanes.bytes }
            let k0 = key(0), k1 = key(1), k2 = key(2), k3 = key(3), k4 = key(4), k5 = key(5), k6 = key(6), k7 = key(7)
            for head in 0..<heads {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
                let rawQ = UnsafeRawPointer(queries + head * headSize)
                var i = 0
                while i < headSize {
                    let v = rawQ.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                    a0 = a0.addingProduct(v, Lanes.load(k0, i)); a1 = a1.addingProduct(v, Lanes.load(k1, i))
                    a2 = a2.addingProduct(v, Lanes.load(k2, i)); a3 = a3.addingProduct(v, Lanes.load(k3, i))
                    a4 = a4.addingProduct(v, Lanes.load(k4, i)); a5 = a5.addingProduct(v, Lanes.load(k5, i))
                    a6 = a6.addingProduct(v, Lanes.load(k6, i)); a7 = a7.addingProduct(v, Lanes.load(k7, i))
                    i += 8
                }
                // Lane j of the result is the sum of a_j's lanes.
                func pair(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
                    SIMD8(lowHalf: x.evenHalf + x.oddHalf, highHalf: y.evenHalf + y.oddHalf)
                }
                let sums = pair(pair(pair(a0, a1), pair(a2, a3)), pair(pair(a4, a5), pair(a6, a7))) * scale
                for j in 0...last { scores[head * length + t + j] = sums[j] }
            }
            t += 8
        }
    }

    /// out (heads, headSize): [h] = Σ_t weights[h][t] · v(t), in increasing t. Positions go
    /// in chunks of 32 that stay in L1 for all heads; each head's sums pass between chunks
    /// through `out` unrounded, 64 dimensions at a time in registers.
    @inline(__always)
    static func weightedValues<Lanes: CacheLanes>(
        _ lanes: Lanes.Type, _ weights: UnsafePointer<Float>, heads: Int, values: UnsafeRawPointer, slots: UnsafePointer<Int>,
        length: Int, headSize: Int, into out: UnsafeMutablePointer<Float>
    ) {
        var start = 0
        while start < length {
            let positions = start..<min(length, start + 32)
            for head in 0..<heads {
                let w = weights + head * length
                let rawOut = UnsafeMutableRawPointer(out + head * headSize)
                func load(_ byte: Int) -> SIMD8<Float> {
                    start == 0 ? SIMD8() : rawOut.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                }
                var byte = 0
                while byte + 256 <= headSize * 4 {
                    var a0 = load(byte), a1 = load(byte + 32), a2 = load(byte + 64), a3 = load(byte + 96)
                    var a4 = load(byte + 128), a5 = load(byte + 160), a6 = load(byte + 192), a7 = load(byte + 224)
                    for t in positions {
                        let s = SIMD8<Float>(repeating: w[t])
                        let v = values + slots[t] * Lanes.bytes, i = byte / 4
                        a0 = a0.addingProduct(s, Lanes.load(v, i)); a1 = a1.addingProduct(s, Lanes.load(v, i + 8))
                        a2 = a2.addingProduct(s, Lanes.load(v, i + 16)); a3 = a3.addingProduct(s, Lanes.load(v, i + 24))
                        a4 = a4.addingProduct(s, Lanes.load(v, i + 32)); a5 = a5.addingProduct(s, Lanes.load(v, i + 40))
                        a6 = a6.addingProduct(s, Lanes.load(v, i + 48)); a7 = a7.addingProduct(s, Lanes.load(v, i + 56))
                    }
                    for (index, lanes) in [a0, a1, a2, a3, a4, a5, a6, a7].enumerated() {
                        rawOut.storeBytes(of: lanes, toByteOffset: byte + index * 32, as: SIMD8<Float>.self)
                    }
                    byte += 256
                }
                while byte < headSize * 4 {
                    var lanes = load(byte)
                    for t in positions {
                        lanes = lanes.addingProduct(SIMD8(repeating: w[t]), Lanes.load(values + slots[t] * Lanes.bytes, byte / 4))
                    }
                    rawOut.storeBytes(of: lanes, toByteOffset: byte, as: SIMD8<Float>.self)
                    byte += 32
                }
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
        query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int,
        output: UnsafeMutablePointer<Float>
    ) {
        let kvSize = kvHeads * headSize
        for head in 0..<heads {
            let kvHead = head / (heads / kvHeads)
            var scores = [Double](repeating: 0, count: context.length)
            for t in 0..<context.length {
                let key = context.slot(t) * kvSize + kvHead * headSize
                var dot = 0.0
                for i in 0..<headSize { dot += Double(query[head * headSize + i]) * Double(context.element(context.keys, key + i)) }
                scores[t] = dot / Double(headSize).squareRoot()
            }
            let maximum = scores.max() ?? 0
            let exps = scores.map { exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for i in 0..<headSize {
                var sum = 0.0
                for t in 0..<context.length {
                    sum += exps[t] / total * Double(context.element(context.values, context.slot(t) * kvSize + kvHead * headSize + i))
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
