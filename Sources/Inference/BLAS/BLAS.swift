import COpenBLAS

/// The one door to OpenBLAS. Row-major throughout.
public enum BLAS {
    /// C[m×n] = alpha · A[m×k] · op(B) + beta · C, with op(B) = B[k×n] or, when
    /// `transposeB`, Bᵀ where B is stored [n×k] (the layout of weight matrices:
    /// one row per output feature).
    @inline(__always)
    public static func sgemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }

    /// C (rows, n) column-major with leading dimension `columnStride` = X · Wᵀ for X (rows, k) and W (n, k), both row-major: the
    /// batch's rows are the call's M, so OpenBLAS's row kernels run over batch rows (see
    /// `ProductLayout`); the result comes out transposed, one column per output feature.
    @inline(__always)
    static func sgemmBatchMajor(
        rows: Int, n: Int, k: Int, x: UnsafePointer<Float>, weights: UnsafePointer<Float>,
        into c: UnsafeMutablePointer<Float>, columnStride: Int
    ) {
        cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, blasint(rows), blasint(n), blasint(k),
                    1, x, blasint(k), weights, blasint(k), 0, c, blasint(columnStride))
    }

    /// Plain triple loop for the same product, kept as the reference the tests compare with.
    public static func sgemmReference(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for p in 0..<k {
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(a[i * lda + p]) * Double(bv)
                }
                let previous = beta == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * Float(sum) + previous
            }
        }
    }

    public static var threadCount: Int {
        Int(openblas_get_num_threads())
    }

    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(count))
    }

    /// The kernel set OpenBLAS chose at load time ("Zen", "SkylakeX", "Prescott", ...).
    public static var coreName: String {
        String(cString: openblas_get_corename())
    }

    /// OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64").
    public static var configuration: String {
        String(cString: openblas_get_config())
    }
}

extension BLAS {
    /// Sustained single-precision GFLOP/s of one product shape, measured for about `seconds`.
    /// Shape [m×k]·[n×k]ᵀ: the default is 64 batch rows through a 576→1536 projection.
    public static func measureGFLOPS(
        m: Int = 64, n: Int = 1536, k: Int = 576, seconds: Double = 1
    ) -> Double {
        let a = [Float](unsafeUninitializedCapacity: m * k) { buffer, count in
            for i in 0..<m * k { buffer[i] = Float(i % 13) * 0.01 }
            count = m * k
        }
        let b = [Float](repeating: 0.5, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        return a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    sustainedGFLOPS(flopsPerCall: 2.0 * Double(m * n * k), seconds: seconds) {
                        sgemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                              b: b.baseAddress!, ldb: k, transposeB: true,
                              c: c.baseAddress!, ldc: n)
                    }
                }
            }
        }
    }

    /// Repeats `call` for about `seconds` and returns the GFLOP/s it sustained.
    static func sustainedGFLOPS(flopsPerCall: Double, seconds: Double, _ call: () -> Void) -> Double {
        let clock = ContinuousClock()
        var iterations = 0
        let start = clock.now
        var elapsed = Duration.zero
        repeat {
            call()
            iterations += 1
            elapsed = clock.now - start
        } while elapsed < .milliseconds(Int(seconds * 1000))
        return flopsPerCall * Double(iterations) / elapsed.seconds / 1e9
    }
}
