@testable import Inference
import Testing

/// The weight product against the plain triple loop, and the layout probe's verdicts.
@Suite struct WeightProductTests {
    /// x (rows, k) with margins, W (n, k), y (rows, n) prefilled for the beta = 1 case.
    static func operands(rows: Int, n: Int, k: Int, margin: Int) -> (x: FloatBuffer, w: FloatBuffer, y: FloatBuffer) {
        var random = SplitMix64(seed: UInt64(rows * 131 + n))
        let x = FloatBuffer(count: rows * k, margin: margin * k)
        for i in 0..<rows * k { x.pointer[i] = random.nextSignedUnitFloat() }
        let w = FloatBuffer(count: n * k)
        for i in 0..<n * k { w.pointer[i] = random.nextSignedUnitFloat() }
        let y = FloatBuffer(count: rows * n)
        for i in 0..<rows * n { y.pointer[i] = random.nextSignedUnitFloat() }
        return (x, w, y)
    }

    @Test(arguments: [
        ProductLayout.paddedCandidate, .tiles(16), .tiles(1), .unpadded(chunk: 512),
    ], [1, 5, 13, 40, 300])
    func matchesTheReference(layout: ProductLayout, rows: Int) {
        let n = 200, k = 96
        let (x, w, y) = Self.operands(rows: rows, n: n, k: k, margin: layout.marginRows)
        var expected = [Float](repeating: 0, count: rows * n)
        expected.withUnsafeMutableBufferPointer { expected in
            expected.baseAddress!.update(from: y.pointer, count: rows * n)
            BLAS.sgemmReference(m: rows, n: n, k: k, a: x.pointer, lda: k, b: w.pointer, ldb: k, transposeB: true,
                                c: expected.baseAddress!, ldc: n, beta: 1)
        }
        let product = WeightProduct(layout: layout, threads: 2, maxN: n)
        product(rows: rows, n: n, k: k, x: x.pointer, weights: w.pointer, into: y.pointer, beta: 1)
        var worst: Float = 0
        for i in 0..<rows * n { worst = max(worst, abs(y.pointer[i] - expected[i])) }
        // Sums of 96 products of values in [-1, 1): f32 rounding stays far below 1e-4.
        #expect(worst < 1e-4, "max |difference| \(worst) with \(layout)")
    }

    @Test func oneRowCallsAreAlwaysInvariant() {
        #expect(ProductLayout.isInvariant(.tiles(1), k: 96))
        // For the record: whether plain calls would do on this OpenBLAS (they do not on Zen).
        print("unpadded calls invariant here: \(ProductLayout.isInvariant(.unpadded(chunk: 256), k: 576))")
    }

    @Test func theChosenLayoutHoldsAtTheModelsWidths() {
        // The probe checks 64 output features; the model's slices are wider.
        let layout = ProductLayout.invariant(innerDimensions: [576, 1536])
        #expect(ProductLayout.isInvariant(layout, k: 576, n: 480))
        #expect(ProductLayout.isInvariant(layout, k: 1536, n: 288))
        print("weight products: \(layout)")
    }
}
