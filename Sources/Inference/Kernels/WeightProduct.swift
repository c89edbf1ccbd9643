/// y (rows, n) = x (rows, k) · Wᵀ + beta · y for a weight matrix W (n, k), through OpenBLAS.
///
/// OpenBLAS chooses its kernels and blocking by the product's size, so one row's result can
/// change with the number of rows in the call (measured here: identical for calls of up to 16
/// rows wherever the row sits, different beyond). With `rowTile` set, every call has exactly
/// that many rows — the last tile padded through scratch buffers — so a row's result depends
/// only on that row: batch invariance, at the cost of smaller products.
final class WeightProduct {
    let rowTile: Int?
    private let scratchInput: FloatBuffer  // (tile, maxK)
    private let scratchOutput: FloatBuffer  // (tile, maxN)
    private let maxK: Int, maxN: Int

    init(rowTile: Int?, maxK: Int, maxN: Int) {
        self.rowTile = rowTile
        self.maxK = maxK
        self.maxN = maxN
        let tile = rowTile ?? 1
        scratchInput = FloatBuffer(count: tile * maxK)
        scratchOutput = FloatBuffer(count: tile * maxN)
    }

    func callAsFunction(
        rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, beta: Float = 0
    ) {
        guard let tile = rowTile else {
            BLAS.sgemm(m: rows, n: n, k: k, a: x, lda: k, b: weights, ldb: k, transposeB: true, c: y, ldc: n, beta: beta)
            return
        }
        precondition(k <= maxK && n <= maxN)
        var start = 0
        while start + tile <= rows {
            BLAS.sgemm(m: tile, n: n, k: k, a: x + start * k, lda: k, b: weights, ldb: k, transposeB: true,
                       c: y + start * n, ldc: n, beta: beta)
            start += tile
        }
        let rest = rows - start
        guard rest > 0 else { return }
        // The last partial tile goes through scratch space padded with zero rows.
        scratchInput.pointer.update(from: x + start * k, count: rest * k)
        (scratchInput.pointer + rest * k).update(repeating: 0, count: (tile - rest) * k)
        if beta != 0 {
            scratchOutput.pointer.update(from: y + start * n, count: rest * n)
        }
        BLAS.sgemm(m: tile, n: n, k: k, a: scratchInput.pointer, lda: k, b: weights, ldb: k, transposeB: true,
                   c: scratchOutput.pointer, ldc: n, beta: beta)
        (y + start * n).update(from: scratchOutput.pointer, count: rest * n)
    }
}
