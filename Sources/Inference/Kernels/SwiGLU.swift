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
            for i in 0..<n {
                let g = gate[i]
                out[i] = g / (1 + expf(-g)) * up[i]
            }
        }
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
