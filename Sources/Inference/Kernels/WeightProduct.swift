import PanelFormat

/// y (rows, n) = x (rows, k) · Wᵀ (+ y when accumulating) for a weight matrix W (n, k).
///
/// Weights in panels go to the panel kernel, batch-invariant by construction; weights in
/// 4- or 8-bit panels go to the integer kernels of `kernels` after x is quantized row by
/// row, batch-invariant too and the same bits on every kernel set. Row-major weights go to
/// OpenBLAS, single-threaded, cut and padded into calls by `layout` so that a row's result
/// does not depend on the batch around it when batch invariance is asked for; x must then
/// have `layout.marginRows` rows of readable slack on both sides. Either way the output
/// features are split between the pool's threads, so no row is ever split.
final class WeightProduct {
    /// How OpenBLAS calls are cut; nil when the weights are in panels.
    let layout: ProductLayout?
    let kernels: KernelSet
    let pool: ThreadPool
    /// Column stride of the OpenBLAS scratch: the tallest call.
    private let callHeight: Int
    private let scratch: FloatBuffer  // (maxN, callHeight): one column per output feature
    /// x quantized for integer weights: (maxRows, maxK).
    private let activations: QuantizedActivations

    init(layout: ProductLayout?, kernels: KernelSet = .current, pool: ThreadPool, maxN: Int, maxRows: Int, maxK: Int) {
        self.layout = layout
        self.kernels = kernels
        self.pool = pool
        callHeight = layout.map { $0.chunk + 2 * $0.leadingPadding + $0.rowMultiple } ?? 0
        scratch = FloatBuffer(count: maxN * callHeight)
        activations = QuantizedActivations(maxRows: maxRows, maxColumns: maxK)
    }

    /// With a pool of its own.
    convenience init(layout: ProductLayout?, kernels: KernelSet = .current, threads: Int, maxN: Int, maxRows: Int, maxK: Int) {
        self.init(layout: layout, kernels: kernels, pool: ThreadPool(threads: threads), maxN: maxN, maxRows: maxRows, maxK: maxK)
    }

    var description: String {
        layout.map { "OpenBLAS, \($0)" } ?? "panel kernels, integer ones \(kernels), batch-invariant"
    }

    func callAsFunction(
        rows: Int, x: UnsafePointer<Float>, weights: WeightMatrix, into y: UnsafeMutablePointer<Float>,
        accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        let n = weights.rows, k = weights.columns, w = UnsafePointer(weights.pointer)
        switch weights.packing {
        case .panels:
            let panels = (n + PanelKernel.width - 1) / PanelKernel.width
            pool.slices(panels) { range in
                PanelKernel.multiply(rows: rows, k: k, x: x, panels: w, panelRange: range, n: n,
                                     into: y, accumulate: accumulate)
            }
        case .nibblePanels, .bytePanels:
            let activations = activations, panels = UnsafeRawPointer(w), nibbles = weights.packing == .nibblePanels
            let halfScales = weights.halfScales
            let panelBytes = nibbles ? NibblePanelFormat.panelBytes(k: k, halfScales: halfScales)
                : BytePanelFormat.panelBytes(k: k, halfScales: halfScales)
            let tile = nibbles ? kernels.nibbleTile : kernels.byteTile
            activations.quantize(rows: rows, k: k, x: x, offsetCodes: !nibbles && kernels.byteTileTakesOffsetCodes, pool: pool)
            pool.slices((n + NibblePanelFormat.width - 1) / NibblePanelFormat.width) { range in
                IntegerPanels.multiply(rows: rows, k: k, x: activations, panels: panels, panelBytes: panelBytes,
                                       panelRange: range, n: n, into: y, accumulate: accumulate, halfScales: halfScales,
                                       tile: tile)
            }
        case .rowMajor:
            guard let layout else { preconditionFailure("row-major weights need an OpenBLAS layout") }
            precondition(n * callHeight <= scratch.count, "product wider than the scratch")
            let scratch = scratch.pointer, callHeight = callHeight
            // Slices of whole 16-column groups keep OpenBLAS on its full-width kernels.
            pool.slices(n, groupsOf: 16) { columns in
                var start = 0
                while start < rows {
                    let chunkRows = min(layout.chunk, rows - start)
                    layout.compute(rows: chunkRows, n: n, k: k, x: x + start * k, weights: w,
                                   scratch: scratch, columnStride: callHeight, columns: columns)
                    layout.scatter(rows: chunkRows, columns: columns, n: n, scratch: scratch,
                                   columnStride: callHeight, into: y + start * n, beta: accumulate ? 1 : 0)
                    start += chunkRows
                }
            }
        }
    }
}
