import _Builtin_intrinsics.intel
import PanelFormat

/// Weight products in integer arithmetic for 5-, 6- and 8-bit formats: signed 8-bit weight
/// codes times 8-bit activation codes (`QuantizedActivations`), the panels
/// `BytePanelFormat`'s. Q8_0 output heads (a fifth of a small model's arithmetic) and the
/// Q5/Q6 halves of Q4_K_M and Q5_K_M files stay integer instead of becoming f32 panels.
///
/// Per block b every kernel set sums the codes' products exactly in 32-bit integers, the
/// first and second 16 elements apart, then adds to the f32 result:
///
///     y[r, f] += Float(Σ₀..₁₅ q·c) × (dLow[f,b] × scale[r,b])
///     y[r, f] += Float(Σ₁₆..₃₁ q·c) × (dHigh[f,b] × scale[r,b])
///     y[r, f] += m[f,b] × sum[r,b]
///
/// in increasing b from zero: the same bits for any batch and any kernel set. A product
/// pair |q|·c + |q|·c ≤ 2 × 128 × 127 fits `vpmaddubsw`'s 16 bits, with q's sign moved to c.
enum BytePanelKernel {
    typealias Format = BytePanelFormat

    /// Stores feature `feature` (0..<16) of block `block` into a panel.
    static func pack(
        panel: UnsafeMutableRawPointer, feature: Int, block: Int, codes: UnsafePointer<Int8>,
        dLow: Float, dHigh: Float, m: Float, halfScales: Bool
    ) {
        let record = panel + block * Format.recordBytes(halfScales: halfScales)
        for g in 0..<Format.groups {
            for j in 0..<4 {
                record.storeBytes(of: codes[4 * g + j], toByteOffset: g * Format.groupBytes + feature * 4 + j, as: Int8.self)
            }
        }
        IntegerPanels.storeScale(dLow, into: record, Format.dLowOffset, feature: feature, halfScales: halfScales)
        IntegerPanels.storeScale(dHigh, into: record, Format.dHighOffset(halfScales: halfScales), feature: feature,
                                 halfScales: halfScales)
        IntegerPanels.storeScale(m, into: record, Format.mOffset(halfScales: halfScales), feature: feature, halfScales: halfScales)
    }

    /// Weight [feature, element] of a panel as f32: for embedding lookups.
    static func weight(panel: UnsafeRawPointer, feature: Int, element: Int, halfScales: Bool) -> Float {
        let record = panel + element / Format.blockLength * Format.recordBytes(halfScales: halfScales)
        let e = element % Format.blockLength
        let code = record.load(fromByteOffset: e / 4 * Format.groupBytes + feature * 4 + e % 4, as: Int8.self)
        let field = e < 16 ? Format.dLowOffset : Format.dHighOffset(halfScales: halfScales)
        let d = IntegerPanels.scale(record, field, feature: feature, halfScales: halfScales)
        let m = IntegerPanels.scale(record, Format.mOffset(halfScales: halfScales), feature: feature, halfScales: halfScales)
        return d * Float(code) + m
    }

    /// The AVX2 micro-kernel: one row takes both 8-feature halves at once; more rows take
    /// one half at a time, 4 rows × 8 features. Missing rows repeat the last real one and
    /// are not stored.
    @inline(never)
    static func tileAVX2(_ t: PanelTile) {
        if t.rows == 1 { return oneRowAVX2(t) }
        for half in 0..<2 where half * 8 < t.columns { fourRowsAVX2(t, half: half) }
    }

    private static func fourRowsAVX2(_ t: PanelTile, half: Int) {
        let r1 = min(1, t.rows - 1), r2 = min(2, t.rows - 1), r3 = min(3, t.rows - 1)
        var y0 = SIMD8<Float>(), y1 = y0, y2 = y0, y3 = y0
        let ones = _mm256_set1_epi16(1)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), dHighOffset = Format.dHighOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            var s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0
            @inline(__always) func fold(_ y: inout SIMD8<Float>, _ s: inout __m256i, _ r: Int, _ field: Int) {
                let d = IntegerPanels.scales8(record, field, half: half, halfScales: t.halfScales)
                let products = unsafeBitCast(_mm256_cvtepi32_ps(s), to: SIMD8<Float>.self)
                y = y.addingProduct(products, d * SIMD8(repeating: t.scale(row: r, block: block)))
                s = _mm256_setzero_si256()
            }
            for g in 0..<Format.groups {
                let w = record.loadUnaligned(fromByteOffset: g * Format.groupBytes + half * 32, as: __m256i.self)
                let magnitude = _mm256_abs_epi8(w)
                let offset = block * 32 + 4 * g
                @inline(__always) func add(_ s: inout __m256i, _ r: Int) {
                    let c = _mm256_sign_epi8(_mm256_set1_epi32(t.codeWord(row: r, offset: offset)), w)
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, c), ones))
                }
                add(&s0, 0); add(&s1, r1); add(&s2, r2); add(&s3, r3)
                if g == 3 || g == 7 {
                    let field = g == 3 ? Format.dLowOffset : dHighOffset
                    fold(&y0, &s0, 0, field); fold(&y1, &s1, r1, field)
                    fold(&y2, &s2, r2, field); fold(&y3, &s3, r3, field)
                }
            }
            let m = IntegerPanels.scales8(record, Format.mOffset(halfScales: t.halfScales), half: half, halfScales: t.halfScales)
            y0 = y0.addingProduct(m, SIMD8(repeating: t.sum(row: 0, block: block)))
            y1 = y1.addingProduct(m, SIMD8(repeating: t.sum(row: r1, block: block)))
            y2 = y2.addingProduct(m, SIMD8(repeating: t.sum(row: r2, block: block)))
            y3 = y3.addingProduct(m, SIMD8(repeating: t.sum(row: r3, block: block)))
        }
        IntegerPanels.store(t, first: half * 8, count: min(8, t.columns - half * 8), y0, y1, y2, y3)
    }

    private static func oneRowAVX2(_ t: PanelTile) {
        var yLow = SIMD8<Float>(), yHigh = yLow
        let ones = _mm256_set1_epi16(1)
        let recordBytes = Format.recordBytes(halfScales: t.halfScales), dHighOffset = Format.dHighOffset(halfScales: t.halfScales)
        let mOffset = Format.mOffset(halfScales: t.halfScales)
        for block in 0..<t.blocks {
            let record = t.panel + block * recordBytes
            let scale = SIMD8<Float>(repeating: t.scale(row: 0, block: block))
            var sLow = _mm256_setzero_si256(), sHigh = sLow
            for g in 0..<Format.groups {
                let c = _mm256_set1_epi32(t.codeWord(row: 0, offset: block * 32 + 4 * g))
                let wLow = record.loadUnaligned(fromByteOffset: g * Format.groupBytes, as: __m256i.self)
                let wHigh = record.loadUnaligned(fromByteOffset: g * Format.groupBytes + 32, as: __m256i.self)
                sLow = _mm256_add_epi32(sLow, _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_abs_epi8(wLow), _mm256_sign_epi8(c, wLow)), ones))
                sHigh = _mm256_add_epi32(sHigh, _mm256_madd_epi16(
                    _mm256_maddubs_epi16(_mm256_abs_epi8(wHigh), _mm256_sign_epi8(c, wHigh)), ones))
                if g == 3 || g == 7 {
                    let field = g == 3 ? Format.dLowOffset : dHighOffset
                    let dLow = IntegerPanels.scales8(record, field, half: 0, halfScales: t.halfScales)
                    let dHigh = IntegerPanels.scales8(record, field, half: 1, halfScales: t.halfScales)
                    yLow = yLow.addingProduct(unsafeBitCast(_mm256_cvtepi32_ps(sLow), to: SIMD8<Float>.self), dLow * scale)
                    yHigh = yHigh.addingProduct(unsafeBitCast(_mm256_cvtepi32_ps(sHigh), to: SIMD8<Float>.self), dHigh * scale)
                    sLow = _mm256_setzero_si256(); sHigh = sLow
                }
            }
            let sum = SIMD8<Float>(repeating: t.sum(row: 0, block: block))
            yLow = yLow.addingProduct(IntegerPanels.scales8(record, mOffset, half: 0, halfScales: t.halfScales), sum)
            yHigh = yHigh.addingProduct(IntegerPanels.scales8(record, mOffset, half: 1, halfScales: t.halfScales), sum)
        }
        IntegerPanels.store(t, first: 0, count: t.columns, yLow, yHigh)
    }
}

extension BytePanelKernel {
    /// The plain version: y (rows, n) ← (or +=) the same sums for W given as signed codes
    /// (n, k) with dLow, dHigh and m (n, k / 32), element by element in the kernels' order
    /// of floating-point operations, so they agree bit for bit.
    static func reference(
        rows: Int, n: Int, k: Int, codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        weights: UnsafePointer<Int8>, dLow: UnsafePointer<Float>, dHigh: UnsafePointer<Float>, m: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        let blocks = k / Format.blockLength
        for row in 0..<rows {
            for feature in 0..<n {
                var sum: Float = 0
                for block in 0..<blocks {
                    let w = feature * blocks + block, a = row * blocks + block
                    for (half, d) in [(0, dLow[w]), (1, dHigh[w])] {
                        var products: Int32 = 0
                        for e in 16 * half..<16 * half + 16 {
                            let index = block * Format.blockLength + e
                            products += Int32(weights[feature * k + index]) * Int32(codes[row * k + index])
                        }
                        sum = sum.addingProduct(Float(products), d * scales[a])
                    }
                    sum = sum.addingProduct(m[w], sums[a])
                }
                y[row * n + feature] = accumulate ? y[row * n + feature] + sum : sum
            }
        }
    }
}
