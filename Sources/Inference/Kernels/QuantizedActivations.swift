import _Builtin_intrinsics.intel

/// Activations quantized to 8 bits per 32-element block, the integer side of the integer
/// kernels' products (`NibblePanelKernel`, `BytePanelKernel`): x[e] ≈ scale · q[e], q[e]
/// in -127...127 (llama.cpp's Q8_1). `sum` is scale · Σq, the sum of the quantized values
/// rather than of x: with it the kernel computes the exact product of the weights with the
/// quantized activations, whose error is centred; the exact sum of x would leave the error
/// of `d · q`, whose codes are all positive, uncentred, and doubled the logit error on the
/// reference model.
///
/// Every row is quantized on its own, so a row's codes never depend on the batch.
final class QuantizedActivations {
    static let blockLength = 32
    let maxRows: Int
    let maxColumns: Int
    let codes: UnsafeMutablePointer<Int8>  // (maxRows, k) for the current k
    let scales: UnsafeMutablePointer<Float>  // (maxRows, k / 32)
    let sums: UnsafeMutablePointer<Float>  // (maxRows, k / 32)

    init(maxRows: Int, maxColumns: Int) {
        self.maxRows = maxRows
        self.maxColumns = maxColumns
        codes = .allocate(capacity: maxRows * maxColumns)
        scales = .allocate(capacity: maxRows * maxColumns / Self.blockLength)
        sums = .allocate(capacity: maxRows * maxColumns / Self.blockLength)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    /// Quantizes x (rows, k), k a multiple of 32, split between the pool's threads.
    /// offsetCodes: store each code as q + 128 (unsigned; `sum` is of q still), for tiles
    /// that multiply unsigned activations with signed weights.
    func quantize(rows: Int, k: Int, x: UnsafePointer<Float>, offsetCodes: Bool = false, pool: ThreadPool) {
        precondition(rows <= maxRows && k <= maxColumns && k % Self.blockLength == 0, "activations beyond the scratch")
        let codes = codes, scales = scales, sums = sums
        pool.slices(rows * k / Self.blockLength) { blocks in
            for block in blocks {
                Self.quantizeBlock(x + block * 32, codes: codes + block * 32, scale: scales + block, sum: sums + block,
                                   offset: offsetCodes)
            }
        }
    }

    /// One block: scale = max|x| / 127, q = x / scale rounded to nearest (ties to even).
    @inline(__always)
    private static func quantizeBlock(
        _ x: UnsafePointer<Float>, codes: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
        sum: UnsafeMutablePointer<Float>, offset: Bool
    ) {
        let raw = UnsafeRawPointer(x)
        let v0 = raw.loadUnaligned(as: __m256.self), v1 = raw.loadUnaligned(fromByteOffset: 32, as: __m256.self)
        let v2 = raw.loadUnaligned(fromByteOffset: 64, as: __m256.self)
        let v3 = raw.loadUnaligned(fromByteOffset: 96, as: __m256.self)
        let sign = _mm256_set1_ps(-0.0)
        let largest = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                    _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)))
        let lanes = unsafeBitCast(largest, to: SIMD8<Float>.self)
        let half = _mm_max_ps(unsafeBitCast(lanes.lowHalf, to: __m128.self), unsafeBitCast(lanes.highHalf, to: __m128.self))
        let quarter = _mm_max_ps(half, _mm_movehl_ps(half, half))
        let d = _mm_cvtss_f32(_mm_max_ss(quarter, _mm_movehdup_ps(quarter))) / 127, inverse: Float = d == 0 ? 0 : 1 / d
        let factor = _mm256_set1_ps(inverse)
        let low = _mm256_set1_ps(-127), high = _mm256_set1_ps(127)
        // The default MXCSR rounding, to nearest with ties to even.
        func integers(_ v: __m256) -> __m256i {
            _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, factor), low), high))
        }
        let i0 = integers(v0), i1 = integers(v1), i2 = integers(v2), i3 = integers(v3)
        // packs interleave 128-bit lanes; the permutation puts the 32 codes back in order.
        let packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
        let ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
        // q + 128 as a byte is q with its top bit flipped.
        UnsafeMutableRawPointer(codes).storeBytes(of: offset ? _mm256_xor_si256(ordered, _mm256_set1_epi8(-128)) : ordered,
                                                  as: __m256i.self)
        scale.pointee = d
        let total = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)), to: SIMD8<Int32>.self)
        sum.pointee = d * Float(total.wrappedSum())
    }
}

extension QuantizedActivations {
    /// The plain version of one block, element by element in the same arithmetic.
    static func referenceBlock(_ x: UnsafePointer<Float>) -> (codes: [Int8], scale: Float, sum: Float) {
        var largest: Float = 0
        for e in 0..<32 { largest = max(largest, Swift.abs(x[e])) }
        let d = largest / 127, inverse: Float = d == 0 ? 0 : 1 / d
        let codes = (0..<32).map { Int8(min(max(x[$0] * inverse, -127), 127).rounded(.toNearestOrEven)) }
        return (codes, d, d * Float(codes.reduce(0) { $0 + Int($1) }))
    }
}
