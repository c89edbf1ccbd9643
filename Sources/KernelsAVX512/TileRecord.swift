import _Builtin_intrinsics.intel
import PanelFormat

/// How a 512-bit tile reads a record's scales and writes its rows.
enum TileRecord {
    /// The 16 scales of the field at `field` of a record, as f32.
    @inline(__always)
    static func scales(_ record: UnsafeRawPointer, _ field: Int, halfScales: Bool) -> __m512 {
        halfScales ? _mm512_cvtph_ps(record.loadUnaligned(fromByteOffset: field, as: __m256i.self))
            : record.loadUnaligned(fromByteOffset: field, as: __m512.self)
    }

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
