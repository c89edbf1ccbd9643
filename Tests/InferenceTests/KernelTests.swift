import Inference
import Testing

/// Each optimized kernel against its plain reference version.
@Suite struct KernelTests {
    static func values(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        BLASTests.values(count, seed: seed).map { $0 * scale }
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test func rmsNormMatchesReference() {
        let (rows, n) = (3, 576)
        let x = Self.values(rows * n, seed: 10, scale: 3)
        let weight = Self.values(n, seed: 11)
        var fast = [Float](repeating: 0, count: rows * n), reference = fast
        RMSNorm.apply(x, weight: weight, into: &fast, rows: rows, n: n, epsilon: 1e-5)
        RMSNorm.reference(x, weight: weight, into: &reference, rows: rows, n: n, epsilon: 1e-5)
        // Tolerance: f32 sum of 576 squares vs f64, relative ~1e-6, on outputs of order 1-3.
        #expect(Self.maxDifference(fast, reference) < 1e-5)
    }

    @Test(arguments: [ModelConfig.RopeStyle.adjacentPairs, .halves])
    func ropeMatchesReference(style: ModelConfig.RopeStyle) {
        let (heads, headSize) = (9, 64)
        let rope = RoPE(dimensions: headSize, base: 100_000, style: style, maxPositions: 4096)
        for position in [0, 1, 17, 511, 4095] {
            var fast = Self.values(heads * headSize, seed: UInt64(position))
            var reference = fast
            rope.rotate(&fast, heads: heads, headSize: headSize, position: position)
            RoPE.reference(&reference, heads: heads, headSize: headSize, position: position,
                           dimensions: headSize, base: 100_000, style: style)
            // The table holds f32 cos/sin of f64 angles: error ~ 2 ulp of values <= 1.
            #expect(Self.maxDifference(fast, reference) < 1e-6, "position \(position)")
        }
        // Position 0 is the identity; a rotation keeps each pair's length.
        var x = Self.values(headSize, seed: 5)
        let original = x
        rope.rotate(&x, heads: 1, headSize: headSize, position: 0)
        #expect(x == original)
    }

    /// Gates from -16 to 16: both tails, where the exponential saturates, and the middle.
    @Test func gegluMatchesReference() {
        let (rows, n) = (4, 1540)
        var gateUp = Self.values(rows * 2 * n, seed: 21, scale: 16)
        gateUp[0] = -40; gateUp[1] = 40; gateUp[2] = 0
        var fast = [Float](repeating: 0, count: rows * n), reference = fast
        GatedLinearUnit.apply(.geluTanh, gateUp, into: &fast, rows: rows, n: n)
        GatedLinearUnit.reference(.geluTanh, gateUp, into: &reference, rows: rows, n: n)
        // Relative to each value's size: the f32 exponential is good to a few ulps.
        for (a, b) in zip(fast, reference) { #expect(abs(a - b) <= 2e-6 * max(1, abs(b))) }
    }

    @Test func swigluMatchesReference() {
        let (rows, n) = (4, 1536)
        let gateUp = Self.values(rows * 2 * n, seed: 20, scale: 8)
        var fast = [Float](repeating: 0, count: rows * n), reference = fast
        GatedLinearUnit.apply(.silu, gateUp, into: &fast, rows: rows, n: n)
        GatedLinearUnit.reference(.silu, gateUp, into: &reference, rows: rows, n: n)
        #expect(Self.maxDifference(fast, reference) < 1e-5)
    }

    /// Lengths around the 8-position groups and blocks; head sizes taking the 64-wide
    /// value path, the 8-wide one, and both; caches in f32 and f16 (the reference reads the
    /// same f16 values, widened).
    @Test(arguments: [1, 2, 15, 16, 17, 100], [(64, KVCache.Precision.f32), (16, .f32), (72, .f32), (64, .f16), (72, .f16)])
    func attentionMatchesReference(length: Int, cache: (headSize: Int, precision: KVCache.Precision)) {
        attentionMatchesReference(length: length, headSize: cache.headSize, precision: cache.precision, heads: 9, kvHeads: 3)
    }

    /// Query heads per kv head from 1 to 8: the kernels take up to three at a time, so
    /// groups of 1, 2, 4 (2 + 2), 5 (3 + 2) and 8 (3 + 3 + 2) take every split.
    @Test(arguments: [(6, 6), (8, 4), (4, 1), (10, 2), (16, 2)], [3, 37])
    func attentionMatchesReferenceForEveryGroup(heads: (query: Int, kv: Int), length: Int) {
        attentionMatchesReference(length: length, headSize: 64, precision: .f16, heads: heads.query, kvHeads: heads.kv)
    }

    /// Sliding-window layers attend the last positions only, from `start` on.
    @Test(arguments: [(37, 5), (100, 99), (100, 36)])
    func attentionOverAWindowMatchesReference(range: (length: Int, start: Int)) {
        attentionMatchesReference(length: range.length, headSize: 64, precision: .f16, heads: 4, kvHeads: 1,
                                  start: range.start, scale: 0.3)
    }

    func attentionMatchesReference(length: Int, headSize: Int, precision: KVCache.Precision, heads: Int, kvHeads: Int,
                                   start: Int = 0, scale: Float? = nil) {
        let blockSize = 16
        let cache = (headSize: headSize, precision: precision)
        let kvSize = kvHeads * headSize
        // Blocks deliberately out of order and not starting at zero.
        let blocks = (length + blockSize - 1) / blockSize
        let table: [Int32] = (0..<blocks).map { Int32(2 * blocks - 1 - $0) }
        let slots = 2 * blocks * blockSize
        func stored(_ values: [Float]) -> [UInt8] {
            cache.precision == .f32 ? values.withUnsafeBytes { Array($0) }
                : values.map { Float16($0) }.withUnsafeBytes { Array($0) }
        }
        let keys = stored(Self.values(slots * kvSize, seed: 30, scale: 2))
        let values = stored(Self.values(slots * kvSize, seed: 31))
        let query = Self.values(heads * headSize, seed: 32, scale: 2)
        var fast = [Float](repeating: .nan, count: heads * headSize), reference = fast
        var scores = [Float](repeating: 0, count: heads * length)
        var slotScratch = [Int](repeating: 0, count: length)
        table.withUnsafeBufferPointer { table in
            keys.withUnsafeBytes { keys in
                values.withUnsafeBytes { values in
                    let context = Attention.Context(length: length, start: start, blockTable: table.baseAddress!,
                                                    blockSize: blockSize, keys: keys.baseAddress!, values: values.baseAddress!,
                                                    precision: cache.precision)
                    Attention.attend(query: query, context: context, heads: heads, kvHeads: kvHeads,
                                     headSize: headSize, scale: scale, scores: &scores, slots: &slotScratch, output: &fast)
                    Attention.reference(query: query, context: context, heads: heads, kvHeads: kvHeads,
                                        headSize: headSize, scale: scale.map(Double.init), output: &reference)
                }
            }
        }
        // f32 dot products of 64 terms and an f32 softmax against f64: ~1e-6 on outputs <= 1.
        #expect(Self.maxDifference(fast, reference) < 2e-6)
    }
}
