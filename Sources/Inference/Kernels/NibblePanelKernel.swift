import _Builtin_intrinsics.intel
import PanelFormat

/// Weight products in integer arithmetic: 4-bit weight codes times 8-bit activation codes
/// (`QuantizedActivations`), as llama.cpp multiplies its 4-bit types; the panels are
/// `NibblePanelFormat`'s. `vpmaddubsw` does 32 multiply-adds where an f32 FMA does 8:
/// 1.3–2× `PanelKernel`'s rate, reading an eighth of the bytes.
///
/// A weight W[f, e] in block b (32 elements) is `d[f,b] · q + m[f,b]` (`NibbleBlocks`); an
/// activation is `scale[r,b] · c`. Per block every kernel set sums the codes' products
/// exactly in integers, then adds to the f32 result:
///
///     y[r, f] += Float(Σ q·c) × (d[f,b] × scale[r,b])   then   y[r, f] += m[f,b] × sum[r,b]
///
/// two fused multiply-adds per block, in increasing b from zero, whatever rows share the
/// call and whatever the kernel set: a row's result depends neither on the batch around it
/// nor on the CPU.
enum NibblePanelKernel {
    typealias Format = NibblePanelFormat

    /// Stores feature `feature` (0..<16) of block `block` into a panel.
    static func pack(
        panel: UnsafeMutableRawPointer, feature: Int, block: Int, codes: UnsafePointer<UInt8>, d: Float, m: Float,
        halfScales: Bool
    ) {
        let record = panel + block * Format.recordBytes(halfScales: halfScales)
        for g in 0..<Format.groups {
            for j in 0..<4 {
                let byte = codes[4 * g + j] | codes[16 + 4 * g + j] << 4
                record.storeBytes(of: byte, toByteOffset: g * Format.groupBytes + feature * 4 + j, as: UInt8.self)
            }
        }
        IntegerPanels.storeScale(d, into: record, Format.dOffset, feature: feature, halfScales: halfScales)
        IntegerPanels.storeScale(m, into: record, Format.mOffset(halfScales: halfScales), feature: feature, halfScales: halfScales)
    }

    /// Weight [feature, element] of a panel as f32, d · q + m: for embedding lookups.
    static func weight(panel: UnsafeRawPointer, feature: Int, element: Int, halfScales: Bool) -> Float {
        let record = panel + element / Format.blockLength * Format.recordBytes(halfScales: halfScales)
        let e = element % Format.blockLength
        let byte = record.load(fromByteOffset: (e % 16) / 4 * Format.groupBytes + feature * 4 + e % 4, as: UInt8.self)
        let code = e < 16 ? byte & 0x0f : byte >> 4
        let d = IntegerPanels.scale(record, Format.dOffset, feature: feature, halfScales: halfScales)
        let m = IntegerPanels.scale(record, Format.mOffset(halfScales: halfScales), feature: feature, halfScales: halfScales)
        return d * Float(code) + m
    }

    /// The AVX2 micro-kernel: one row takes both 8-feature halves at once; more rows take
    /// one half at a time, 4 rows × 8 features in 8 registers. Missing rows repeat the
    /// last real one and are not stored.
    @inline(never)
    static func tileAVX2(_ t: PanelTile) {
        if t.rows == 1 { return oneRowAVX2(t) }
        for half in 0..<2 where half * 8 < t.columns { fourRowsAVX2(t, half: half) }
    }

    private static func fourRowsAVX2(_ t: PanelTile, half: Int) {
        let r1 = min(1, t.rows - 1), r2 = min(2, t.rows - 1), r3 = min(3, t.rows - 1)
        var y0 = SIMD8<Float>(), y1 = y0, y2 = y0, y3 = y0
        let low4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            // 16-bit sums of 16 products of ≤ 15 × 127 each stay below 2¹⁵.
            var s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0
            for g in 0..<Format.groups {
                let packed = record.loadUnaligned(fromByteOffset: g * Format.groupBytes + half * 32, as: __m256i.self)
                let low = _mm256_and_si256(packed, low4)
                let high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4)
                let offset = block * 32 + 4 * g
                @inline(__always) func add(_ s: inout __m256i, _ r: Int) {
                    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(low, _mm256_set1_epi32(t.codeWord(row: r, offset: offset))))
                    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(high, _mm256_set1_epi32(t.codeWord(row: r, offset: offset + 16))))
                }
                add(&s0, 0); add(&s1, r1); add(&s2, r2); add(&s3, r3)
            }
            let d = IntegerPanels.scales8(record, Format.dOffset, half: half, halfScales: t.halfScales)
            let m = IntegerPanels.scales8(record, mOffset, half: half, halfScales: t.halfScales)
            @inline(__always) func fold(_ y: inout SIMD8<Float>, _ s: __m256i, _ r: Int) {
                let products = unsafeBitCast(_mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones)), to: SIMD8<Float>.self)
                y = y.addingProduct(products, d * SIMD8(repeating: t.scale(row: r, block: block)))
                y = y.addingProduct(m, SIMD8(repeating: t.sum(row: r, block: block)))
            }
            fold(&y0, s0, 0); fold(&y1, s1, r1); fold(&y2, s2, r2); fold(&y3, s3, r3)
        }
        IntegerPanels.store(t, first: half * 8, count: min(8, t.columns - half * 8), y0, y1, y2, y3)
    }

    private static func oneRowAVX2(_ t: PanelTile) {
        var yLow = SIMD8<Float>(), yHigh = yLow
        let low4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), mOffset = Format.mOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            var sLow = _mm256_setzero_si256(), sHigh = sLow
            for g in 0..<Format.groups {
                let offset = block * 32 + 4 * g
                let c = _mm256_set1_epi32(t.codeWord(row: 0, offset: offset))
                let c16 = _mm256_set1_epi32(t.codeWord(row: 0, offset: offset + 16))
                let packedLow = record.loadUnaligned(fromByteOffset: g * Format.groupBytes, as: __m256i.self)
                let packedHigh = record.loadUnaligned(fromByteOffset: g * Format.groupBytes + 32, as: __m256i.self)
                sLow = _mm256_add_epi16(sLow, _mm256_maddubs_epi16(_mm256_and_si256(packedLow, low4), c))
                sHigh = _mm256_add_epi16(sHigh, _mm256_maddubs_epi16(_mm256_and_si256(packedHigh, low4), c))
                sLow = _mm256_add_epi16(sLow, _mm256_maddubs_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(packedLow, 4), low4), c16))
                sHigh = _mm256_add_epi16(sHigh, _mm256_maddubs_epi16(
                    _mm256_and_si256(_mm256_srli_epi16(packedHigh, 4), low4), c16))
            }
            let scale = SIMD8<Float>(repeating: t.scale(row: 0, block: block))
            let sum = SIMD8<Float>(repeating: t.sum(row: 0, block: block))
            @inline(__always) func fold(_ y: inout SIMD8<Float>, _ s: __m256i, _ half: Int) {
                let d = IntegerPanels.scales8(record, Format.dOffset, half: half, halfScales: t.halfScales)
                let m = IntegerPanels.scales8(record, mOffset, half: half, halfScales: t.halfScales)
                let products = unsafeBitCast(_mm256_cvtepi32_ps(_mm256_madd_epi16(s, ones)), to: SIMD8<Float>.self)
                y = y.addingProduct(products, d * scale)
                y = y.addingProduct(m, sum)
            }
            fold(&yLow, sLow, 0); fold(&yHigh, sHigh, 1)
        }
        IntegerPanels.store(t, first: 0, count: t.columns, yLow, yHigh)
    }
}

extension NibblePanelKernel {
    /// The plain version: y (rows, n) ← (or +=) the same sums for W given as codes (n, k)
    /// with d and m (n, k / 32), one element at a time in the kernels' order of
    /// floating-point operations, so they agree bit for bit.
    static func reference(
        rows: Int, n: Int, k: Int, codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        weights: UnsafePointer<UInt8>, d: UnsafePointer<Float>, m: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let blocks = k / Format.blockLength
        for row in 0..<rows {
            for feature in 0..<n {
                var sum: Float = 0
                for block in 0..<blocks {
                    var products: Int32 = 0
                    for e in 0..<Format.blockLength {
                        let index = block * Format.blockLength + e
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
