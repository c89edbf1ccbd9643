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

    /// query: (heads, headSize); output: (heads, headSize);
    /// scores: scratch of at least heads · context.length floats.
    @inline(__always)
    public static func attend(
        query: UnsafePointer<Float>, context: Context, heads: Int, kvHeads: Int, headSize: Int,
        scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let group = heads / kvHeads
        let kvSize = kvHeads * headSize
        let length = context.length
        let scale = 1 / Float(headSize).squareRoot()
        // scores (heads, length): one pass over the keys, each key row read once for all heads.
        for t in 0..<length {
            let key = context.keys + context.slot(t) * kvSize
            for head in 0..<heads {
                scores[head * length + t] = Vector.dot(query + head * headSize, key + (head / group) * headSize, headSize) * scale
            }
        }
        for head in 0..<heads {
            softmax(scores + head * length, length)
        }
        output.update(repeating: 0, count: heads * headSize)
        for t in 0..<length {
            let value = context.values + context.slot(t) * kvSize
            for head in 0..<heads {
                Vector.addScaled(value + (head / group) * headSize, scores[head * length + t],
                                 into: output + head * headSize, headSize)
            }
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
