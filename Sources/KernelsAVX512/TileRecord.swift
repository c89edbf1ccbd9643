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

    /// A tile's four rows (the last repeated when there are fewer): codes, scales and sums of
    /// each, so the loops index them without multiplying rows by blocks again.
    struct Rows {
        let codes: (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer)
        let scales: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
        let sums: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)

        @inline(__always)
        init(_ t: PanelTile) {
            let last = t.rows &- 1
            func row(_ r: Int) -> Int { Swift.min(r, last) &* t.blocks }
            let (r1, r2, r3) = (row(1), row(2), row(3))
            let codes = UnsafeRawPointer(t.codes)
            self.codes = (codes, codes + r1 &* 32, codes + r2 &* 32, codes + r3 &* 32)
            scales = (t.scales, t.scales + r1, t.scales + r2, t.scales + r3)
            sums = (t.sums, t.sums + r1, t.sums + r2, t.sums + r3)
        }

        /// The four codes of each row at `byte` as broadcast 32-bit words.
        @inline(__always)
        func words(_ byte: Int) -> (__m512i, __m512i, __m512i, __m512i) {
            (_mm512_set1_epi32(codes.0.loadUnaligned(fromByteOffset: byte, as: Int32.self)),
             _mm512_set1_epi32(codes.1.loadUnaligned(fromByteOffset: byte, as: Int32.self)),
             _mm512_set1_epi32(codes.2.loadUnaligned(fromByteOffset: byte, as: Int32.self)),
             _mm512_set1_epi32(codes.3.loadUnaligned(fromByteOffset: byte, as: Int32.self)))
        }
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
