/// Weight products on panel-packed matrices, 6 (or 4) rows × 16 features per micro-kernel
/// call in twelve (or eight) AVX registers.
///
/// A panel holds 16 output features of a weight matrix W (n, k) k-major: panel p is
/// (k, 16), element [kk][c] = W[p·16 + c, kk], zero past n. Every output element is
/// accumulated by fused multiply-adds in increasing kk starting from zero, whatever rows
/// share the call, so a row's result never depends on the batch around it.
enum PanelKernel {
    /// Output features per panel.
    static let width = 16
    /// Height of the next micro-kernel call for `remaining` rows: 6 rows × 16 features fill
    /// 12 of the 16 vector registers, but 4 + 4 rows waste less than 6 + 6 for 7 or 8, and 4
    /// less than 6 for the last 1–4.
    static func height(remaining: Int) -> Int {
        remaining <= 4 || remaining == 7 || remaining == 8 ? 4 : 6
    }

    /// y (rows, n) row-major, columns of `panelRange` ← x (rows, k) · Wᵀ, or += it when
    /// `accumulate`; `panels` points at panel 0.
    @inline(never)
    static func multiply(
        rows: Int, k: Int, x: UnsafePointer<Float>, panels: UnsafePointer<Float>, panelRange: Range<Int>,
        n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        for panel in panelRange {
            let weights = UnsafeRawPointer(panels + panel * k * width)
            let columns = min(width, n - panel * width)
            var row = 0
            while row < rows {
                let height = height(remaining: rows - row), count = min(height, rows - row)
                let output = y + row * n + panel * width
                if height == 6 {
                    tile6(rows: count, k: k, x: x + row * k, panel: weights,
                          into: output, n: n, columns: columns, accumulate: accumulate)
                } else {
                    tile4(rows: count, k: k, x: x + row * k, panel: weights,
                          into: output, n: n, columns: columns, accumulate: accumulate)
                }
                row += count
            }
        }
    }

    // One copy of `tile` per height, so the height is a constant in each.
    @inline(never)
    private static func tile6(
        rows: Int, k: Int, x: UnsafePointer<Float>, panel: UnsafeRawPointer,
        into y: UnsafeMutablePointer<Float>, n: Int, columns: Int, accumulate: Bool
    ) {
        tile(height: 6, rows: rows, k: k, x: x, panel: panel, into: y, n: n, columns: columns, accumulate: accumulate)
    }

    @inline(never)
    private static func tile4(
        rows: Int, k: Int, x: UnsafePointer<Float>, panel: UnsafeRawPointer,
        into y: UnsafeMutablePointer<Float>, n: Int, columns: Int, accumulate: Bool
    ) {
        tile(height: 4, rows: rows, k: k, x: x, panel: panel, into: y, n: n, columns: columns, accumulate: accumulate)
    }

    /// Up to `height` (4 or 6, a constant once inlined) rows × one panel. Missing rows
    /// repeat the last real one and are not stored, so every row takes the same instructions.
    @inline(__always)
    private static func tile(
        height: Int, rows: Int, k: Int, x: UnsafePointer<Float>, panel: UnsafeRawPointer,
        into y: UnsafeMutablePointer<Float>, n: Int, columns: Int, accumulate: Bool
    ) {
        let x0 = x, x1 = x + min(1, rows - 1) * k, x2 = x + min(2, rows - 1) * k
        let x3 = x + min(3, rows - 1) * k, x4 = x + min(4, rows - 1) * k, x5 = x + min(5, rows - 1) * k
        var a0 = SIMD8<Float>(), b0 = SIMD8<Float>(), a1 = SIMD8<Float>(), b1 = SIMD8<Float>()
        var a2 = SIMD8<Float>(), b2 = SIMD8<Float>(), a3 = SIMD8<Float>(), b3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), b4 = SIMD8<Float>(), a5 = SIMD8<Float>(), b5 = SIMD8<Float>()
        for kk in 0..<k {
            let low = panel.loadUnaligned(fromByteOffset: kk * 64, as: SIMD8<Float>.self)
            let high = panel.loadUnaligned(fromByteOffset: kk * 64 + 32, as: SIMD8<Float>.self)
            var s = SIMD8<Float>(repeating: x0[kk])
            a0 = a0.addingProduct(low, s); b0 = b0.addingProduct(high, s)
            s = SIMD8<Float>(repeating: x1[kk])
            a1 = a1.addingProduct(low, s); b1 = b1.addingProduct(high, s)
            s = SIMD8<Float>(repeating: x2[kk])
            a2 = a2.addingProduct(low, s); b2 = b2.addingProduct(high, s)
            s = SIMD8<Float>(repeating: x3[kk])
            a3 = a3.addingProduct(low, s); b3 = b3.addingProduct(high, s)
            if height > 4 {
                s = SIMD8<Float>(repeating: x4[kk])
                a4 = a4.addingProduct(low, s); b4 = b4.addingProduct(high, s)
                s = SIMD8<Float>(repeating: x5[kk])
                a5 = a5.addingProduct(low, s); b5 = b5.addingProduct(high, s)
            }
        }
        store(a0, b0, into: y, columns: columns, accumulate: accumulate)
        if rows > 1 { store(a1, b1, into: y + n, columns: columns, accumulate: accumulate) }
        if rows > 2 { store(a2, b2, into: y + 2 * n, columns: columns, accumulate: accumulate) }
        if rows > 3 { store(a3, b3, into: y + 3 * n, columns: columns, accumulate: accumulate) }
        if rows > 4 { store(a4, b4, into: y + 4 * n, columns: columns, accumulate: accumulate) }
        if rows > 5 { store(a5, b5, into: y + 5 * n, columns: columns, accumulate: accumulate) }
    }

    @inline(__always)
    private static func store(
        _ low: SIMD8<Float>, _ high: SIMD8<Float>, into y: UnsafeMutablePointer<Float>, columns: Int, accumulate: Bool
    ) {
        if columns == width {
            let raw = UnsafeMutableRawPointer(y)
            if accumulate {
                raw.storeBytes(of: raw.loadUnaligned(as: SIMD8<Float>.self) + low, as: SIMD8<Float>.self)
                raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + high,
                               toByteOffset: 32, as: SIMD8<Float>.self)
            } else {
                raw.storeBytes(of: low, as: SIMD8<Float>.self)
                raw.storeBytes(of: high, toByteOffset: 32, as: SIMD8<Float>.self)
            }
            return
        }
        for column in 0..<columns {
            let value = column < 8 ? low[column] : high[column - 8]
            y[column] = accumulate ? y[column] + value : value
        }
    }
}

extension PanelKernel {
    /// The plain version: y (rows, n) ← (or +=) x (rows, k) · Wᵀ for row-major W (n, k), one
    /// fused multiply-add at a time in the kernel's order, so the two agree bit for bit.
    static func reference(
        rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        for row in 0..<rows {
            for feature in 0..<n {
                var sum: Float = 0
                for i in 0..<k { sum = sum.addingProduct(x[row * k + i], weights[feature * k + i]) }
                y[row * n + feature] = accumulate ? y[row * n + feature] + sum : sum
            }
        }
    }
}
