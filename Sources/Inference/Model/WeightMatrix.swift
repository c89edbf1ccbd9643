
/// A weight matrix W (n, k), one row per output feature, stored the way the weight product
/// reads it.
public struct WeightMatrix: @unchecked Sendable {
    public enum Layout: String, Sendable, CaseIterable {
        /// Panels of 16 features, k-major (see `PanelKernel`): packed once at load, read by
        /// the panel kernel, batch-invariant by construction.
        case panels
        /// Row-major, read by OpenBLAS, which packs it again on every call: kept to compare
        /// with (`scribe bench --products`).
        case rowMajor = "row-major"
    }

    public let rows: Int  // n
    public let columns: Int  // k
    public let layout: Layout
    let storage: FloatBuffer  // rowMajor: (n, k); panels: (⌈n/16⌉, k, 16)
    var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// `matrix` itself when row-major; a packed copy when in panels.
    init(_ matrix: Matrix, layout: Layout) {
        rows = matrix.rows
        columns = matrix.columns
        self.layout = layout
        switch layout {
        case .rowMajor:
            storage = matrix.storage
        case .panels:
            let width = PanelKernel.width
            storage = FloatBuffer(count: (rows + width - 1) / width * width * columns)
            for row in 0..<rows {
                let source = matrix.row(row)
                let target = storage.pointer + (row / width) * width * columns + row % width
                for column in 0..<columns { target[column * width] = source[column] }
            }
        }
    }

    /// Sustained GFLOP/s of the panel kernel on `threads` threads, the shape of
    /// `BLAS.measureGFLOPS`: 64 batch rows through a 576→1536 projection.
    public static func measurePanelGFLOPS(
        m: Int = 64, n: Int = 1536, k: Int = 576, threads: Int, seconds: Double = 1
    ) -> Double {
        let matrix = Matrix(rows: n, columns: k)
        for i in 0..<n * k { matrix.pointer[i] = 0.5 }
        let weights = WeightMatrix(matrix, layout: .panels)
        let x = FloatBuffer(count: m * k), y = FloatBuffer(count: m * n)
        for i in 0..<m * k { x.pointer[i] = Float(i % 13) * 0.01 }
        let product = WeightProduct(layout: nil, threads: threads, maxN: n)
        return BLAS.sustainedGFLOPS(flopsPerCall: 2.0 * Double(m * n * k), seconds: seconds) {
            product(rows: m, x: x.pointer, weights: weights, into: y.pointer)
        }
    }

    /// out (k) ← row `index` of W: an embedding lookup.
    func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        switch layout {
        case .rowMajor:
            out.update(from: pointer + index * columns, count: columns)
        case .panels:
            let width = PanelKernel.width
            let source = pointer + (index / width) * width * columns + index % width
            for column in 0..<columns { out[column] = source[column * width] }
        }
    }
}
