#if canImport(Glibc)
import Glibc
#endif

/// The feed-forward gate: h = act(gate) · up, with act silu (SwiGLU: llama, qwen2) or GELU's
/// tanh approximation (GeGLU: gemma, as llama.cpp's `ggml_gelu`).
public enum GatedLinearUnit {
    /// gateUp: (rows, 2·n) with gate in the first n columns and up in the last n; h: (rows, n).
    @inline(__always)
    public static func apply(
        _ activation: ModelConfig.Activation, _ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>,
        rows: Int, n: Int
    ) {
        switch activation {
        case .silu: apply(silu, gateUp, into: h, rows: rows, n: n)
        case .geluTanh: apply(gelu, gateUp, into: h, rows: rows, n: n)
        }
    }

    @inline(__always)
    static func apply(
        _ act: (SIMD8<Float>) -> SIMD8<Float>, _ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>,
        rows: Int, n: Int
    ) {
        for row in 0..<rows {
            let gate = gateUp + row * 2 * n
            let up = gate + n
            let out = h + row * n
            var i = 0
            while i + 8 <= n {
                store(act(load(gate + i)) * load(up + i), out + i)
                i += 8
            }
            for j in i..<n { out[j] = act(SIMD8(repeating: gate[j]))[0] * up[j] }
        }
    }

    /// x / (1 + e^-x).
    @inline(__always)
    static func silu(_ x: SIMD8<Float>) -> SIMD8<Float> { x / (1 + Exponential.exp(-x)) }

    /// x/2 · (1 + tanh(y)), y = √(2/π) · (x + 0.044715 x³), is x · sigmoid(2y) = x / (1 + e^(-2y)):
    /// one exponential, no cancellation, and the right limits where e^(-2y) overflows (0)
    /// or vanishes (x).
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

    /// Plain version kept as the reference, in f64 (libm's tanh for GELU).
    public static func reference(
        _ activation: ModelConfig.Activation, _ gateUp: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>,
        rows: Int, n: Int
    ) {
        for row in 0..<rows {
            for i in 0..<n {
                let g = Double(gateUp[row * 2 * n + i])
                let act = switch activation {
                case .silu: g / (1 + exp(-g))
                case .geluTanh: 0.5 * g * (1 + tanh((2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g)))
                }
                h[row * n + i] = Float(act * Double(gateUp[row * 2 * n + n + i]))
            }
        }
    }
}
