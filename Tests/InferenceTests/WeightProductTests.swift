@testable import Inference
import Testing

/// The panel kernel against its plain version bit for bit, both weight layouts against the
/// f64 triple loop, and the OpenBLAS layout probe's verdicts.
@Suite struct WeightProductTests {
    /// x (rows, k) with margins, W (n, k), y (rows, n) prefilled for the accumulating case.
    static func operands(rows: Int, n: Int, k: Int, margin: Int = 0) -> (x: FloatBuffer, w: Matrix, y: FloatBuffer) {
        var random = SplitMix64(seed: UInt64(rows * 131 + n * 7 + k))
        let x = FloatBuffer(count: rows * k, margin: margin * k)
        for i in 0..<rows * k { x.pointer[i] = random.nextSignedUnitFloat() }
        let w = Matrix(rows: n, columns: k)
        for i in 0..<n * k { w.pointer[i] = random.nextSignedUnitFloat() }
        let y = FloatBuffer(count: rows * n)
        for i in 0..<rows * n { y.pointer[i] = random.nextSignedUnitFloat() }
        return (x, w, y)
    }

    static func bits(_ buffer: FloatBuffer) -> [UInt32] {
        (0..<buffer.count).map { buffer.pointer[$0].bitPattern }
    }

    /// Row counts around the 6- and 4-row tiles, widths with partial panels, k of 1 and odd sizes.
    @Test(arguments: [1, 2, 4, 5, 6, 7, 8, 13, 32, 64], [(16, 8), (37, 5), (200, 96), (3, 1)])
    func panelKernelEqualsItsPlainVersionBitForBit(rows: Int, shape: (n: Int, k: Int)) {
        for accumulate in [false, true] {
            let (x, w, y) = Self.operands(rows: rows, n: shape.n, k: shape.k)
            let expected = FloatBuffer(count: rows * shape.n)
            expected.pointer.update(from: y.pointer, count: rows * shape.n)
            PanelKernel.reference(rows: rows, n: shape.n, k: shape.k, x: x.pointer, weights: w.pointer,
                                  into: expected.pointer, accumulate: accumulate)
            let product = WeightProduct(layout: nil, threads: 2, maxN: shape.n, maxRows: 64, maxK: shape.k)
            product(rows: rows, x: x.pointer, weights: WeightMatrix(w, layout: .panels), into: y.pointer,
                    accumulate: accumulate)
            #expect(Self.bits(y) == Self.bits(expected), "rows \(rows), \(shape), accumulate \(accumulate)")
        }
    }

    /// A row gets the same bits alone and at any place in any batch up to 40 rows.
    @Test func aPanelRowsBitsDoNotDependOnTheBatch() {
        let (n, k, pool) = (50, 70, 40)
        let (x, w, _) = Self.operands(rows: pool, n: n, k: k)
        let moved = Self.batchSizesWhereARowMoves(WeightMatrix(w, layout: .panels), x: x, pool: pool)
        #expect(moved.isEmpty, "batch sizes where a row moved: \(moved)")
    }

    /// Batch sizes 1...pool (each at some start within x's `pool` rows) at which a row's
    /// bits differ from the same row computed alone.
    static func batchSizesWhereARowMoves(_ weights: WeightMatrix, x: FloatBuffer, pool: Int) -> [Int] {
        let (n, k) = (weights.rows, weights.columns)
        let product = WeightProduct(layout: nil, threads: 2, maxN: n, maxRows: pool, maxK: k)
        let alone = FloatBuffer(count: pool * n), together = FloatBuffer(count: pool * n)
        for row in 0..<pool {
            product(rows: 1, x: x.pointer + row * k, weights: weights, into: alone.pointer + row * n)
        }
        var moved: [Int] = []
        for rows in 1...pool {
            let start = (rows * 37) % (pool - rows + 1)
            product(rows: rows, x: x.pointer + start * k, weights: weights, into: together.pointer)
            for i in 0..<rows * n where together.pointer[i].bitPattern != alone.pointer[start * n + i].bitPattern {
                moved.append(rows)
                break
            }
        }
        return moved
    }

    @Test(arguments: [
        (WeightMatrix.Layout.panels, nil), (.rowMajor, ProductLayout.paddedCandidate), (.rowMajor, .tiles(16)),
        (.rowMajor, .tiles(1)), (.rowMajor, .unpadded(chunk: 512)),
    ], [1, 5, 13, 40, 300])
    func matchesTheTripleLoop(weights: (layout: WeightMatrix.Layout, product: ProductLayout?), rows: Int) {
        let n = 200, k = 96
        let (x, w, y) = Self.operands(rows: rows, n: n, k: k, margin: weights.product?.marginRows ?? 0)
        var expected = [Float](repeating: 0, count: rows * n)
        expected.withUnsafeMutableBufferPointer { expected in
            expected.baseAddress!.update(from: y.pointer, count: rows * n)
            BLAS.sgemmReference(m: rows, n: n, k: k, a: x.pointer, lda: k, b: w.pointer, ldb: k, transposeB: true,
                                c: expected.baseAddress!, ldc: n, beta: 1)
        }
        let product = WeightProduct(layout: weights.product, threads: 2, maxN: n, maxRows: 64, maxK: k)
        product(rows: rows, x: x.pointer, weights: WeightMatrix(w, layout: weights.layout), into: y.pointer,
                accumulate: true)
        var worst: Float = 0
        for i in 0..<rows * n { worst = max(worst, abs(y.pointer[i] - expected[i])) }
        // Sums of 96 products of values in [-1, 1): f32 rounding stays far below 1e-4.
        #expect(worst < 1e-4, "max |difference| \(worst) with \(product.description)")
    }

    @Test(arguments: [WeightMatrix.Layout.panels, .rowMajor])
    func embeddingRowsComeBackUnchanged(layout: WeightMatrix.Layout) {
        let (_, w, _) = Self.operands(rows: 1, n: 37, k: 11)
        let weights = WeightMatrix(w, layout: layout)
        var row = [Float](repeating: .nan, count: 11)
        for index in [0, 15, 16, 36] {
            row.withUnsafeMutableBufferPointer { weights.copyRow(index, into: $0.baseAddress!) }
            #expect(row == Array(UnsafeBufferPointer(start: w.row(index), count: 11)), "row \(index)")
        }
    }

    @Test func oneRowOpenBLASCallsAreAlwaysInvariant() {
        #expect(ProductLayout.isInvariant(.tiles(1), k: 96))
        // For the record: whether plain calls would do on this OpenBLAS (they do not on Zen).
        print("unpadded calls invariant here: \(ProductLayout.isInvariant(.unpadded(chunk: 256), k: 576))")
    }

    @Test func theChosenOpenBLASLayoutHoldsAtTheModelsWidths() {
        // The probe checks 64 output features; the model's slices are wider.
        let layout = ProductLayout.invariant(innerDimensions: [576, 1536])
        #expect(ProductLayout.isInvariant(layout, k: 576, n: 480))
        #expect(ProductLayout.isInvariant(layout, k: 1536, n: 288))
        print("OpenBLAS weight products: \(layout)")
    }
}
