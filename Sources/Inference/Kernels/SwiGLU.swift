#if canImport(Glibc)
import Glibc
#endif

/// The SwiGLU gate: h = silu(gate) · up, silu(x) = x / (1 + e^-x).
public enum SwiGLU {
    /// gateUp: (rows, 2·n) with gate in the first n columns and up in the last n; h: (rows, n).
    @inline(__always)
    public static func apply(_ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for row in 0..<rows {
            let gate = gateUp + row * 2 * n
            let up = gate + n
            let out = h + row * n
            var i = 0
            while i + 8 <= n {
                let g = load(gate + i)
                store(g / (1 + Exponential.exp(-g)) * load(up + i), out + i)
                i += 8
            }
            for j in i..<n { out[j] = gate[j] / (1 + Exponential.exp(SIMD8(repeating: -gate[j]))[0]) * up[j] }
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Plain version kept as the reference, in f64.
    public static func reference(_ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for row in 0..<rows {
            for i in 0..<n {
                let g = Double(gateUp[row * 2 * n + i])
                h[row * n + i] = Float(g / (1 + exp(-g)) * Double(gateUp[row * 2 * n + n + i]))
            }
        }
    }
}
