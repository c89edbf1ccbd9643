import _Builtin_intrinsics.intel

/// Weight products in integer arithmetic: 4-bit weight codes times 8-bit activation codes
/// (`QuantizedActivations`), 4 rows × 8 features per micro-kernel call, as llama.cpp
/// multiplies its 4-bit types. `vpmaddubsw` does 32 multiply-adds where an f32 FMA does 8:
/// 1.3–2× `PanelKernel`'s rate, reading an eighth of the bytes.
///
/// A weight W[f, e] in block b (32 elements) is `d[f,b] · q + m[f,b]` (`NibbleBlocks`); an
/// activation is `scale[r,b] · c`. Per block the kernel sums the codes' products exactly in
/// 16- then 32-bit integers, then adds to the f32 result:
///
///     y[r, f] += Float(Σ q·c) × (d[f,b] × scale[r,b])   then   y[r, f] += m[f,b] × sum[r,b]
///
/// two fused multiply-adds per block, in increasing b from zero, whatever rows share the
/// call: a row's result never depends on the batch around it.
///
/// Panel p holds features p·8 ..< p·8+8 (zero past n), one 192-byte record per block:
/// 128 bytes of codes, then d (8 × f32), then m (8 × f32). Code byte `i·32 + f·4 + j`
/// (i in 0..<4) holds element `4i + j` of feature f in its low nibble and element
/// `16 + 4i + j` in its high nibble, so one mask (or shift and mask) gives a register of
/// 8 features × 4 consecutive elements, ready for `vpmaddubsw` against 4 broadcast codes.
enum NibblePanelKernel {
    /// Output features per panel.
    static let width = 8
    static let blockLength = 32
    static let recordBytes = 192

    /// Rows go through all panels in chunks whose codes fit in L1 (16 KB): past that,
    /// reloading each panel's codes from L2 for every 4 rows cost ~14% of prompt speed.
    static let chunkBytes = 16384

    static func panelBytes(k: Int) -> Int { k / blockLength * recordBytes }

    /// Stores feature `feature` (0..<8) of block `block` into a panel.
    static func pack(
        panel: UnsafeMutableRawPointer, feature: Int, block: Int, codes: UnsafePointer<UInt8>, d: Float, m: Float
    ) {
        let record = panel + block * recordBytes
        for i in 0..<4 {
            for j in 0..<4 {
                let byte = codes[4 * i + j] | codes[16 + 4 * i + j] << 4
                record.storeBytes(of: byte, toByteOffset: i * 32 + feature * 4 + j, as: UInt8.self)
            }
        }
        record.storeBytes(of: d, toByteOffset: 128 + 4 * feature, as: Float.self)
        record.storeBytes(of: m, toByteOffset: 160 + 4 * feature, as: Float.self)
    }

    /// Weight [feature, element] of a panel as f32, d · q + m: for embedding lookups.
    static func weight(panel: UnsafeRawPointer, feature: Int, element: Int) -> Float {
        let record = panel + element / blockLength * recordBytes, e = element % blockLength
        let byte = record.load(fromByteOffset: (e % 16) / 4 * 32 + feature * 4 + e % 4, as: UInt8.self)
        let code = e < 16 ? byte & 0x0f : byte >> 4
        let d = record.load(fromByteOffset: 128 + 4 * feature, as: Float.self)
        let m = record.load(fromByteOffset: 160 + 4 * feature, as: Float.self)
        return d * Float(code) + m
    }

    /// y (rows, n) row-major, columns of `panelRange` ← x · Wᵀ (or += it when `accumulate`),
    /// x given as its quantized codes (rows, k); `panels` points at panel 0.
    @inline(never)
    static func multiply(
        rows: Int, k: Int, x: QuantizedActivations, panels: UnsafeRawPointer, panelRange: Range<Int>,
        n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let blocks = k / blockLength
        let chunkRows = max(4, chunkBytes / k / 4 * 4)
        var chunk = 0
        while chunk < rows {
            let end = min(rows, chunk + chunkRows)
            for panel in panelRange {
                let weights = panels + panel * panelBytes(k: k)
                let columns = min(width, n - panel * width)
                var row = chunk
                while row < end {
                    let count = min(4, end - row)
                    tile(rows: count, blocks: blocks, codes: UnsafePointer(x.codes + row * k),
                         scales: UnsafePointer(x.scales + row * blocks), sums: UnsafePointer(x.sums + row * blocks),
                         panel: weights, into: y + row * n + panel * width, n: n, columns: columns, accumulate: accumulate)
                    row += count
                }
            }
            chunk = end
        }
    }

    /// Up to 4 rows × one panel. Missing rows repeat the last real one and are not stored.
    @inline(never)
    private static func tile(
        rows: Int, blocks: Int, codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        panel: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>, n: Int, columns: Int, accumulate: Bool
    ) {
        let k = blocks * blockLength
        let r1 = min(1, rows - 1), r2 = min(2, rows - 1), r3 = min(3, rows - 1)
        let c0 = UnsafeRawPointer(codes), c1 = UnsafeRawPointer(codes + r1 * k)
        let c2 = UnsafeRawPointer(codes + r2 * k), c3 = UnsafeRawPointer(codes + r3 * k)
        var y0 = SIMD8<Float>(), y1 = SIMD8<Float>(), y2 = SIMD8<Float>(), y3 = SIMD8<Float>()
        let low4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1)
        @inline(__always) func broadcast(_ codes: UnsafeRawPointer, _ offset: Int) -> __m256i {
            _mm256_set1_epi32(codes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        }
        for block in 0..<blocks {
            let record = panel + block * recordBytes
            // 16-bit sums of 8 products of ≤ 15 × 127 each stay below 2¹⁵.
            var s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0
            for i in 0..<4 {
                let packed = record.loadUnaligned(fromByteOffset: i * 32, as: __m256i.self)
                let low = _mm256_and_si256(packed, low4)
                let high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4)
                let offset = block * blockLength + 4 * i
                s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(low, broadcast(c0, offset)))
                s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(low, broadcast(c1, offset)))
                s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(low, broadcast(c2, offset)))
                s3 = _mm256_add_epi16(s3, _mm256_maddubs_epi16(low, broadcast(c3, offset)))
                s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(high, broadcast(c0, offset + 16)))
                s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(high, broadcast(c1, offset + 16)))
                s2 = _mm256_add_epi16(s2, _mm256_maddubs_epi16(high, broadcast(c2, offset + 16)))
                s3 = _mm256_add_epi16(s3, _mm256_maddubs_epi16(high, broadcast(c3, offset + 16)))
            }
            let d = record.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
            let m = record.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
            @inline(__always) func fold(_ y: inout SIMD8<Float>, _ s: __m256i, _ row: Int) {
                let products = unsafeBitCast(_mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones)), to: SIMD8<Float>.self)
                y = y.addingProduct(products, d * SIMD8(repeating: scales[row * blocks + block]))
                y = y.addingProduct(m, SIMD8(repeating: sums[row * blocks + block]))
            }
            fold(&y0, s0, 0); fold(&y1, s1, r1); fold(&y2, s2, r2); fold(&y3, s3, r3)
        }
        store(y0, into: y, columns: columns, accumulate: accumulate)
        if rows > 1 { store(y1, into: y + n, columns: columns, accumulate: accumulate) }
        if rows > 2 { store(y2, into: y + 2 * n, columns: columns, accumulate: accumulate) }
        if rows > 3 { store(y3, into: y + 3 * n, columns: columns, accumulate: accumulate) }
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, into y: UnsafeMutablePointer<Float>, columns: Int, accumulate: Bool) {
        if columns == width {
            let raw = UnsafeMutableRawPointer(y)
            raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: SIMD8<Float>.self) + value : value, as: SIMD8<Float>.self)
            return
        }
        for column in 0..<columns { y[column] = accumulate ? y[column] + value[column] : value[column] }
    }
}

extension NibblePanelKernel {
    /// The plain version: y (rows, n) ← (or +=) the same sums for W given as codes (n, k)
    /// with d and m (n, k / 32), one element at a time in the kernel's order of
    /// floating-point operations, so the two agree bit for bit.
    static func reference(
        rows: Int, n: Int, k: Int, codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        weights: UnsafePointer<UInt8>, d: UnsafePointer<Float>, m: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let blocks = k / blockLength
        for row in 0..<rows {
            for feature in 0..<n {
                var sum: Float = 0
                for block in 0..<blocks {
                    var products: Int32 = 0
                    for e in 0..<blockLength {
                        let index = block * blockLength + e
                        products += Int32(weights[feature * k + index]) * Int32(codes[row * k + index])
                    }
                    let w = feature * blocks + block, a = row * blocks + block
                    sum = sum.addingProduct(Float(products), d[w] * scales[a])
                    sum = sum.addingProduct(m[w], sums[a])
                }
                y[row * n + feature] = accumulate ? y[row * n + feature] + sum : sum
            }
        }
    }
}
