import Inference
import Testing

@Suite struct BLASTests {
    /// Deterministic pseudo-random values in [-1, 1).
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
    }

    @Test(arguments: [
        (1, 1, 1, false), (3, 5, 7, false), (3, 5, 7, true), (64, 576, 1536, true),
        (17, 129, 65, true), (5, 49, 576, false),
    ])
    func sgemmMatchesTheReferenceLoop(m: Int, n: Int, k: Int, transposeB: Bool) {
        let a = Self.values(m * k, seed: 1)
        let b = Self.values(k * n, seed: 2)
        var fast = Self.values(m * n, seed: 3)
        var reference = fast
        let ldb = transposeB ? k : n
        for (alpha, beta) in [(Float(1), Float(0)), (0.5, 2)] {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    fast.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: ldb,
                                   transposeB: transposeB, c: c.baseAddress!, ldc: n, alpha: alpha, beta: beta)
                    }
                    reference.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemmReference(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: ldb,
                                            transposeB: transposeB, c: c.baseAddress!, ldc: n, alpha: alpha, beta: beta)
                    }
                }
            }
            // fp32 accumulation over k terms of magnitude <= 1: error grows like sqrt(k) * eps.
            let tolerance = Float(1e-5) * Float(k).squareRoot() * 4 + 1e-6
            let worst = zip(fast, reference).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= tolerance, "worst relative error \(worst) > \(tolerance) for \(m)x\(n)x\(k)")
        }
    }

    @Test func measuredThroughputIsPositive() {
        let gflops = BLAS.measureGFLOPS(m: 8, n: 64, k: 64, seconds: 0.05)
        #expect(gflops > 0.01)
    }
}
