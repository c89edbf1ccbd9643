import _Builtin_intrinsics.intel
import PanelFormat

/// The loop around the integer micro-kernels, whatever the format and kernel set: rows go
/// through the panels in chunks, 4 rows (or the last 1–3) per tile call.
enum IntegerPanels {
    /// Rows go through all panels in chunks whose codes fit in L1 (16 KB): past that,
    /// reloading each panel's codes from L2 for every 4 rows cost ~14% of prompt speed.
    static let chunkBytes = 16384

    /// y (rows, n) row-major, columns of `panelRange`'s panels ← x · Wᵀ (or += it when
    /// `accumulate`), x given as its quantized codes (rows, k); `panels` points at panel 0,
    /// `panelBytes` apart.
    static func multiply(
        rows: Int, k: Int, x: QuantizedActivations, panels: UnsafeRawPointer, panelBytes: Int, panelRange: Range<Int>,
        n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool, halfScales: Bool, tile: PanelTileKernel
    ) {
        let blocks = k / 32, width = NibblePanelFormat.width
        let chunkRows = max(4, chunkBytes / k / 4 * 4)
        var chunk = 0
        while chunk < rows {
            let end = min(rows, chunk + chunkRows)
            for panel in panelRange {
                var row = chunk
                while row < end {
                    let count = min(4, end - row)
                    tile(PanelTile(
                        rows: count, blocks: blocks, codes: UnsafePointer(x.codes + row * k),
                        scales: UnsafePointer(x.scales + row * blocks), sums: UnsafePointer(x.sums + row * blocks),
                        panel: panels + panel * panelBytes, y: y + row * n + panel * width, n: n,
                        columns: min(width, n - panel * width), accumulate: accumulate, halfScales: halfScales))
                    row += count
                }
            }
            chunk = end
        }
    }

    /// Stores (or adds) the tile's rows from 8-lane registers: row r's `count` outputs from
    /// feature `first` on are the lanes of a, b, c, d in turn, 8 per row (16 for one row of
    /// more than 8 outputs).
    @inline(__always)
    static func store(
        _ t: PanelTile, first: Int, count: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>,
        _ c: SIMD8<Float> = .zero, _ d: SIMD8<Float> = .zero
    ) {
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 4) { out in
            out[0] = a; out[1] = b; out[2] = c; out[3] = d
            let values = UnsafeRawPointer(out.baseAddress!).assumingMemoryBound(to: Float.self)
            let stride = count > 8 ? 16 : 8
            for r in 0..<t.rows { t.store(row: r, first: first, count: count, values + stride * r) }
        }
    }

    /// Scales 8·half ..< 8·half + 8 of the 16-scale field at `field` of a record, as f32.
    @inline(__always)
    static func scales8(_ record: UnsafeRawPointer, _ field: Int, half: Int, halfScales: Bool) -> SIMD8<Float> {
        halfScales
            ? unsafeBitCast(_mm256_cvtph_ps(record.loadUnaligned(fromByteOffset: field + half * 16, as: __m128i.self)),
                            to: SIMD8<Float>.self)
            : record.loadUnaligned(fromByteOffset: field + half * 32, as: SIMD8<Float>.self)
    }

    /// Stores a scale into a record's field, f16 or f32.
    @inline(__always)
    static func storeScale(_ value: Float, into record: UnsafeMutableRawPointer, _ field: Int, feature: Int, halfScales: Bool) {
        if halfScales {
            record.storeBytes(of: Float16(value), toByteOffset: field + 2 * feature, as: Float16.self)
        } else {
            record.storeBytes(of: value, toByteOffset: field + 4 * feature, as: Float.self)
        }
    }

    /// A record's scale of `feature` as f32.
    @inline(__always)
    static func scale(_ record: UnsafeRawPointer, _ field: Int, feature: Int, halfScales: Bool) -> Float {
        halfScales ? Float(record.load(fromByteOffset: field + 2 * feature, as: Float16.self))
            : record.load(fromByteOffset: field + 4 * feature, as: Float.self)
    }
}
