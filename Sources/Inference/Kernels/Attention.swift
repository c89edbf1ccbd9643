#if canImport(Glibc)
import Glibc
#endif

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
        /// Base of this layer's keys and values: (slot, kvHeads · headSize).
        public var keys: UnsafePointer<Float>
        public var values: UnsafePointer<Float>

        public init(length: Int, blockTable: UnsafePointer<Int32>, blockSize: Int,
                    keys: UnsafePointer<Float>, values: UnsafePointer<Float>) {
            self.length = length
            self.blockTable = blockTable
            self.blockSize = blockSize
            self.keys = keys
            self.values = values
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
        let group = heads / kvHeads
        let kvSize = kvHeads * headSize
        let length = context.length
        let scale = 1 / Float(headSize).squareRoot()
        for t in 0..<length { slots[t] = context.slot(t) * kvSize }
        for head in 0..<heads {
            let headScores = scores + head * length
            let offset = (head / group) * headSize
            keyScores(query: query + head * headSize, keys: context.keys + offset, slots: slots, length: length,
                      headSize: headSize, scale: scale, into: headScores)
            softmax(headScores, length)
            weightedValues(headScores, values: context.values + offset, slots: slots, length: length,
                           headSize: headSize, into: output + head * headSize)
        }
    }

    /// scores[t] = q · k(t) · scale for t < length: eight positions at a time, each position's
    /// eight lanes summed by the same tree.
    @inline(__always)
    static func keyScores(
        query q: UnsafePointer<Float>, keys: UnsafePointer<Float>, slots: UnsafePointer<Int>, length: Int,
        headSize: Int, scale: Float, into scores: UnsafeMutablePointer<Float>
    ) {
        var t = 0
        while t < length {
            let last = min(8, length - t) - 1
            // Past the end, repeat the last key; those sums are dropped.
            func key(_ j: Int) -> UnsafeRawPointer { UnsafeRawPointer(keys + slots[t + min(j, last)]) }
            let k0 = key(0), k1 = key(1), k2 = key(2), k3 = key(3), k4 = key(4), k5 = key(5), k6 = key(6), k7 = key(7)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            let rawQ = UnsafeRawPointer(q)
            var byte = 0
            while byte < headSize * 4 {
                let v = rawQ.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                a0 = a0.addingProduct(v, k0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a1 = a1.addingProduct(v, k1.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(v, k2.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(v, k3.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a4 = a4.addingProduct(v, k4.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a5 = a5.addingProduct(v, k5.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a6 = a6.addingProduct(v, k6.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                a7 = a7.addingProduct(v, k7.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self))
                byte += 32
            }
            // Lane j of the result is the sum of a_j's lanes.
            func pair(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
                SIMD8(lowHalf: x.evenHalf + x.oddHalf, highHalf: y.evenHalf + y.oddHalf)
            }
            let sums = pair(pair(pair(a0, a1), pair(a2, a3)), pair(pair(a4, a5), pair(a6, a7))) * scale
            for j in 0...last { scores[t + j] = sums[j] }
            t += 8
        }
    }

    /// out (headSize) = Σ_t weights[t] · v(t), in increasing t, 64 dimensions at a time
    /// in registers.
    @inline(__always)
    static func weightedValues(
        _ weights: UnsafePointer<Float>, values: UnsafePointer<Float>, slots: UnsafePointer<Int>, length: Int,
        headSize: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let rawOut = UnsafeMutableRawPointer(out)
        var byte = 0
        while byte + 256 <= headSize * 4 {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            for t in 0..<length {
                let w = SIMD8<Float>(repeating: weights[t])
                let v = UnsafeRawPointer(values + slots[t]) + byte
                a0 = a0.addingProduct(w, v.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(w, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(w, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(w, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                a4 = a4.addingProduct(w, v.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
                a5 = a5.addingProduct(w, v.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
                a6 = a6.addingProduct(w, v.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
                a7 = a7.addingProduct(w, v.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
            }
            for (index, lanes) in [a0, a1, a2, a3, a4, a5, a6, a7].enumerated() {
                rawOut.storeBytes(of: lanes, toByteOffset: byte + index * 32, as: SIMD8<Float>.self)
            }
            byte += 256
        }
        while byte < headSize * 4 {
            var lanes = SIMD8<Float>()
            for t in 0..<length {
                let v = UnsafeRawPointer(values + slots[t]).loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                lanes = lanes.addingProduct(SIMD8(repeating: weights[t]), v)
            }
            rawOut.storeBytes(of: lanes, toByteOffset: byte, as: SIMD8<Float>.self)
            byte += 32
        }
    }

    /// In-place softmax of n values.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var maximum = -Float.infinity
        for i in 0..<n { maximum = max(maximum, x[i]) }
        var sum: Float = 0
        for i in 0..<n {
            x[i] = expf(x[i] - maximum)
            sum += x[i]
        }
        let inverse = 1 / sum
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
                let key = context.keys + context.slot(t) * kvSize + kvHead * headSize
                var dot = 0.0
                for i in 0..<headSize { dot += Double(query[head * headSize + i]) * Double(key[i]) }
                scores[t] = dot / Double(headSize).squareRoot()
            }
            let maximum = scores.max() ?? 0
            let exps = scores.map { exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for i in 0..<headSize {
                var sum = 0.0
                for t in 0..<context.length {
                    sum += exps[t] / total * Double(context.values[context.slot(t) * kvSize + kvHead * headSize + i])
                }
                output[head * headSize + i] = Float(sum)
            }
        }
    }
}
