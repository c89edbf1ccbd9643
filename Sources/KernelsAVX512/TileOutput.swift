import _Builtin_intrinsics.intel
import PanelFormat

/// Where a 512-bit tile's rows go.
enum TileOutput {
    /// Stores (or adds) rows 0..<t.rows of the tile's 16 outputs per row.
    @inline(__always)
    static func store(_ t: PanelTile, _ y0: __m512, _ y1: __m512, _ y2: __m512, _ y3: __m512) {
        withUnsafeTemporaryAllocation(of: __m512.self, capacity: 4) { out in
            out[0] = y0; out[1] = y1; out[2] = y2; out[3] = y3
            let values = UnsafeRawPointer(out.baseAddress!).assumingMemoryBound(to: Float.self)
            for r in 0..<t.rows { t.store(row: r, first: 0, count: t.columns, values + 16 * r) }
        }
    }
}
