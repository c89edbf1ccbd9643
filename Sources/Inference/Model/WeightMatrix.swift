
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
        /// 4-bit matrices (Q4_0, Q4_1, Q4_K) kept 4-bit in `NibblePanelKernel`'s panels and
        /// multiplied in integers by activations quantized to 8 bits, as llama.cpp computes
        /// them; a model loaded this way keeps its other matrices in `.panels`.
        case nibblePanels = "nibble-panels"
    }

    public let rows: Int  // n
    public let columns: Int  // k
    public let layout: Layout
    /// rowMajor: (n, k); panels: (⌈n/16⌉, k, 16); nibblePanels: ⌈n/8⌉ panels of k/32
    /// 192-byte records (see `NibblePanelKernel`).
    let storage: FloatBuffer
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
        case .nibblePanels:
            preconditionFailure("4-bit panels are packed from the file's blocks: init(nibbleParts:columns:)")
        }
    }

    /// 4-bit tensors in a format `NibbleBlocks` reads, one below the other, packed as
    /// `.nibblePanels`; throws when a tensor's data is shorter than its rows.
    init(nibbleParts parts: [(type: GGMLType, data: UnsafeRawBufferPointer, rows: Int)], columns: Int) throws {
        rows = parts.reduce(0) { $0 + $1.rows }
        self.columns = columns
        layout = .nibblePanels
        let width = NibblePanelKernel.width, panelBytes = NibblePanelKernel.panelBytes(k: columns)
        storage = FloatBuffer(count: (rows + width - 1) / width * panelBytes / 4)
        let panels = UnsafeMutableRawPointer(storage.pointer)
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: NibbleBlocks.elements)
        defer { codes.deallocate() }
        var row = 0
        for part in parts {
            let rowBytes = columns / part.type.blockSize * part.type.blockBytes
            guard let base = part.data.baseAddress, part.data.count >= part.rows * rowBytes else {
                throw DequantizationError(type: part.type, reason:
                    "\(part.rows) rows need \(part.rows * rowBytes) bytes, the tensor holds \(part.data.count)")
            }
            for partRow in 0..<part.rows {
                let panel = panels + row / width * panelBytes
                for block in 0..<columns / NibbleBlocks.elements {
                    let (d, m) = NibbleBlocks.block(part.type, row: base + partRow * rowBytes, index: block, codes: codes)
                    NibblePanelKernel.pack(panel: panel, feature: row % width, block: block,
                                           codes: codes, d: d, m: m)
                }
                row += 1
            }
        }
    }

    /// Sustained GFLOP/s of Scribe's weight kernel for `layout` (`.panels` or `.nibblePanels`,
    /// the latter counting the multiply-adds of the f32 product it stands for) on `threads`
    /// threads, the shape of `BLAS.measureGFLOPS`: 64 batch rows through a 576→1536 projection.
    public static func measureGFLOPS(
        layout: Layout, m: Int = 64, n: Int = 1536, k: Int = 576, threads: Int, seconds: Double = 1
    ) -> Double {
        let weights: WeightMatrix
        if layout == .nibblePanels {
            // Q4_1 blocks: d = 0.01, m = -0.05 (as f16), codes cycling through 0...15.
            var bytes: [UInt8] = []
            for block in 0..<n * k / 32 {
                bytes += [0x1f, 0x21, 0x66, 0xaa] + (0..<16).map { UInt8(truncatingIfNeeded: block &+ $0 * 17) }
            }
            weights = bytes.withUnsafeBytes { data in
                try! WeightMatrix(nibbleParts: [(.q4_1, data, n)], columns: k)
            }
        } else {
            let matrix = Matrix(rows: n, columns: k)
            for i in 0..<n * k { matrix.pointer[i] = 0.5 }
            weights = WeightMatrix(matrix, layout: .panels)
        }
        let x = FloatBuffer(count: m * k), y = FloatBuffer(count: m * n)
        for i in 0..<m * k { x.pointer[i] = Float(i % 13) * 0.01 - 0.05 }
        let product = WeightProduct(layout: nil, threads: threads, maxN: n, maxRows: m, maxK: k)
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
        case .nibblePanels:
            let width = NibblePanelKernel.width
            let panel = UnsafeRawPointer(pointer) + index / width * NibblePanelKernel.panelBytes(k: columns)
            for column in 0..<columns {
                out[column] = NibblePanelKernel.weight(panel: panel, feature: index % width, element: column)
            }
        }
    }
}
