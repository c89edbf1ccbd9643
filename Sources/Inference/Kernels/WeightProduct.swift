import Dispatch

/// y (rows, n) = x (rows, k) · Wᵀ + beta · y for a weight matrix W (n, k), through OpenBLAS.
///
/// OpenBLAS runs single-threaded; the output features are split into `threads` column
/// slices, one call per slice and chunk of rows, so no OpenBLAS threads spin and the split
/// never moves a row. `layout` cuts the rows into calls (and pads them) so that a row's
/// result does not depend on the batch around it, when batch invariance is asked for.
/// x must have `layout.marginRows` rows of readable slack on both sides.
final class WeightProduct {
    let layout: ProductLayout
    let threads: Int
    /// Column stride of the scratch: the tallest call.
    private let callHeight: Int
    private let scratch: FloatBuffer  // (maxN, callHeight): one column per output feature

    init(layout: ProductLayout, threads: Int, maxN: Int) {
        self.layout = layout
        self.threads = max(1, threads)
        callHeight = layout.chunk + 2 * layout.leadingPadding + layout.rowMultiple
        scratch = FloatBuffer(count: maxN * callHeight)
    }

    func callAsFunction(
        rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, beta: Float = 0
    ) {
        guard rows > 0 else { return }
        precondition(n * callHeight <= scratch.count, "product wider than the scratch")
        // Slices of whole 16-column groups keep OpenBLAS on its full-width kernels.
        let sliceWidth = ((n + threads - 1) / threads + 15) / 16 * 16
        let sliceCount = (n + sliceWidth - 1) / sliceWidth
        let scratch = scratch.pointer, layout = layout, callHeight = callHeight
        let work = { (slice: Int) in
            let columns = (slice * sliceWidth)..<min(n, (slice + 1) * sliceWidth)
            var start = 0
            while start < rows {
                let chunkRows = min(layout.chunk, rows - start)
                layout.compute(rows: chunkRows, n: n, k: k, x: x + start * k, weights: weights,
                               scratch: scratch, columnStride: callHeight, columns: columns)
                layout.scatter(rows: chunkRows, columns: columns, n: n, scratch: scratch,
                               columnStride: callHeight, into: y + start * n, beta: beta)
                start += chunkRows
            }
        }
        if sliceCount == 1 {
            work(0)
        } else {
            let shared = UncheckedSendable(work)
            DispatchQueue.concurrentPerform(iterations: sliceCount) { shared.value($0) }
        }
    }
}

/// Hands a closure over raw pointers to worker threads that touch disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
