#if canImport(Glibc)
import Glibc
#endif

/// The GELU gate (gemma): h = gelu(gate) · up, with GELU's tanh approximation
/// gelu(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))), as llama.cpp's `ggml_gelu`.
public enum GeGLU {
    /// gateUp: (rows, 2·n) with gate in the first n columns and up in the last n; h: (rows, n).
    @inline(__always)
    public static func apply(_ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for row in 0..<rows {
            let gate = gateUp + row * 2 * n
            let up = gate + n
            let out = h + row * n
            var i = 0
            while i + 8 <= n {
                store(gelu(load(gate + i)) * load(up + i), out + i)
                i += 8
            }
            for j in i..<n { out[j] = gelu(SIMD8(repeating: gate[j]))[0] * up[j] }
        }
    }

    /// x/2 · (1 + tanh(y)) = x · sigmoid(2y) = x / (1 + e^(-2y)): one exponential, no
    /// cancellation, and the right limits where e^(-2y) overflows (0) or vanishes (x).
    @inline(__always)
    static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let y = 0.797_884_56 * x * (1 + 0.044_715 * x * x)
        return x / (1 + Exponential.exp(-2 * y))
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

    @inline(__always)
    private static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Plain version kept as the reference, in f64 with libm's tanh.
    public static func reference(_ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        for row in 0..<rows {
            for i in 0..<n {
                let g = Double(gateUp[row * 2 * n + i])
                let gelu = 0.5 * g * (1 + tanh((2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g)))
                h[row * n + i] = Float(gelu * Double(gateUp[row * 2 * n + n + i]))
            }
        }
    }
}
