import Synchronization

/// How a product over a batch of rows is cut into OpenBLAS calls.
///
/// OpenBLAS handles the rows of a call with different kernels depending on where they fall
/// (edge rows of a block take other code paths than inner ones), so a row's bits can change
/// with the batch around it. Measured with Debian's OpenBLAS 0.3.21 (Zen kernels, one
/// thread, batch rows as the call's M): calls of up to 12 rows give every row the result it
/// has alone, and so do the inner rows of larger calls once 8 rows of padding lead, at least
/// 8 follow and the call's height is a multiple of 16, up to ~300 rows. Other builds and CPUs differ, so the
/// layout is chosen by `probe`, which checks each candidate on the running library.
struct ProductLayout: Sendable, Equatable, CustomStringConvertible {
    /// Real rows per call at most.
    var chunk: Int
    /// Calls of at most this many rows run as they are.
    var unpaddedUpTo: Int
    /// Rows placed before the real ones in larger calls, and at least as many after them;
    /// their results are discarded.
    var leadingPadding: Int
    /// Larger calls' heights are rounded up to a multiple of this.
    var rowMultiple: Int

    /// Every call exactly `rows` high: the shape of the first invariance fix, kept as fallback.
    static func tiles(_ rows: Int) -> ProductLayout {
        ProductLayout(chunk: rows, unpaddedUpTo: 0, leadingPadding: 0, rowMultiple: rows)
    }

    /// One call per `chunk` rows with no padding: fastest, not batch-invariant.
    static func unpadded(chunk: Int) -> ProductLayout {
        ProductLayout(chunk: chunk, unpaddedUpTo: chunk, leadingPadding: 0, rowMultiple: 1)
    }

    static let paddedCandidate = ProductLayout(chunk: 256, unpaddedUpTo: 12, leadingPadding: 8, rowMultiple: 16)

    /// Candidates tried in order of speed.
    static let invariantCandidates: [ProductLayout] =
        [paddedCandidate] + [16, 12, 8, 4, 2, 1].map(tiles)

    /// Rows the input buffer must hold before its first row and after its last.
    var marginRows: Int { 2 * leadingPadding + rowMultiple }

    /// The call for `rows` real rows (at most `chunk`): its height and the offset of the
    /// first real row in it.
    func call(rows: Int) -> (height: Int, offset: Int) {
        precondition(rows > 0 && rows <= chunk)
        if rows <= unpaddedUpTo { return (rows, 0) }
        let height = (rows + 2 * leadingPadding + rowMultiple - 1) / rowMultiple * rowMultiple
        return (height, leadingPadding)
    }

    var description: String {
        if unpaddedUpTo == 0 && leadingPadding == 0 && rowMultiple == chunk { return "tiles of \(chunk) rows" }
        if leadingPadding == 0 && rowMultiple == 1 { return "unpadded calls of up to \(chunk) rows" }
        return "calls of up to \(chunk) rows, padded by \(leadingPadding) and to multiples of \(rowMultiple) above \(unpaddedUpTo)"
    }
}

extension ProductLayout {
    /// The fastest candidate under which every row of every batch size up to `chunk` gets
    /// the bits it gets alone, checked with random data for each inner dimension `k`.
    /// Results are remembered per set of `k`s for the life of the process.
    static func invariant(innerDimensions: Set<Int>) -> ProductLayout {
        let key = innerDimensions.sorted()
        return probeCache.withLock { cache in
            if let known = cache[key] { return known }
            let layout = invariantCandidates.first { candidate in
                key.allSatisfy { isInvariant(candidate, k: $0) }
            } ?? .tiles(1)
            cache[key] = layout
            return layout
        }
    }

    private static let probeCache = Mutex<[[Int]: ProductLayout]>([:])

    /// Runs every batch size 1...chunk at a shifting offset through `layout` and compares
    /// each row with the same row computed alone. n = 64 output features stand for the
    /// weight matrices: OpenBLAS splits rows by kernel and block, not by output width.
    static func isInvariant(_ layout: ProductLayout, k: Int, n: Int = 64) -> Bool {
        let margin = layout.marginRows
        let pool = 2 * layout.chunk + 1
        var generator = SplitMix64(seed: UInt64(k))
        let inputs = FloatBuffer(count: (pool + 2 * margin) * k)
        for i in 0..<inputs.count { inputs.pointer[i] = generator.nextSignedUnitFloat() }
        let weights = FloatBuffer(count: n * k)
        for i in 0..<weights.count { weights.pointer[i] = generator.nextSignedUnitFloat() }
        let x = inputs.pointer + margin * k
        let stride = layout.chunk + 2 * layout.leadingPadding + layout.rowMultiple
        let scratch = FloatBuffer(count: stride * n)
        let alone = FloatBuffer(count: pool * n), together = FloatBuffer(count: layout.chunk * n)
        for row in 0..<pool {
            layout.compute(rows: 1, n: n, k: k, x: x + row * k, weights: weights.pointer, scratch: scratch.pointer,
                           columnStride: stride, columns: 0..<n)
            layout.scatter(rows: 1, columns: 0..<n, n: n, scratch: scratch.pointer, columnStride: stride,
                           into: alone.pointer + row * n, beta: 0)
        }
        for rows in 1...layout.chunk {
            let start = (rows * 37) % (pool - rows + 1)
            layout.compute(rows: rows, n: n, k: k, x: x + start * k, weights: weights.pointer, scratch: scratch.pointer,
                           columnStride: stride, columns: 0..<n)
            layout.scatter(rows: rows, columns: 0..<n, n: n, scratch: scratch.pointer, columnStride: stride,
                           into: together.pointer, beta: 0)
            for row in 0..<rows {
                for column in 0..<n where together.pointer[row * n + column].bitPattern
                    != alone.pointer[(start + row) * n + column].bitPattern {
                    return false
                }
            }
        }
        return true
    }

    /// scratch (n, columnStride): column j (output feature j) ← rows of x (rows, k) with this layout's padding
    /// around them (read from the margins of x) · Wᵀ for W (n, k), columns `columns` only.
    /// OpenBLAS runs single-threaded here; callers split columns between their threads.
    func compute(rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>, columnStride: Int, columns: Range<Int>) {
        let (height, offset) = call(rows: rows)
        BLAS.sgemmBatchMajor(rows: height, n: columns.count, k: k, x: x - offset * k,
                             weights: weights + columns.lowerBound * k,
                             into: scratch + columns.lowerBound * columnStride, columnStride: columnStride)
    }

    /// y (rows, n) row-major, columns `columns` ← (or +=, with beta 1) the real rows of scratch.
    func scatter(rows: Int, columns: Range<Int>, n: Int, scratch: UnsafePointer<Float>, columnStride: Int,
                 into y: UnsafeMutablePointer<Float>, beta: Float) {
        let offset = call(rows: rows).offset
        // Eight columns at a time: eight sequential reads down scratch, short row writes.
        var block = columns.lowerBound
        while block < columns.upperBound {
            let blockEnd = min(block + 8, columns.upperBound)
            for row in 0..<rows {
                let target = y + row * n
                var column = block
                while column < blockEnd {
                    let value = scratch[column * columnStride + offset + row]
                    target[column] = beta == 0 ? value : target[column] + value
                    column += 1
                }
            }
            block = blockEnd
        }
    }
}
