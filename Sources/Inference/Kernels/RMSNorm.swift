/// RMSNorm: y = x / sqrt(mean(x²) + ε) · w, row by row.
public enum RMSNorm {
    /// x, y: (rows, n); weight: (n). `y` may be `x`.
    @inline(__always)
    public static func apply(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, epsilon: Float
    ) {
        for row in 0..<rows {
            let input = x + row * n
            let output = y + row * n
            let sum = Vector.sumOfSquares(input, n)
            let scale = 1 / (sum / Float(n) + epsilon).squareRoot()
            for i in 0..<n { output[i] = input[i] * scale * weight[i] }
        }
    }

    /// Plain version kept as the reference: f64 accumulation.
    public static func reference(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        rows: Int, n: Int, epsilon: Float
    ) {
        for row in 0..<rows {
            var sum = 0.0
            for i in 0..<n { sum += Double(x[row * n + i]) * Double(x[row * n + i]) }
            let scale = 1 / (sum / Double(n) + Double(epsilon)).squareRoot()
            for i in 0..<n { y[row * n + i] = Float(Double(x[row * n + i]) * scale) * weight[i] }
        }
    }
}

/// Small vector helpers with a fixed summation order (results never depend on batch shape).
public enum Vector {
    /// Σ a[i]·b[i] over n elements, eight lanes then a fixed tree.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var lanes = SIMD8<Float>()
        var i = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        while i + 8 <= n {
            let va = rawA.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let vb = rawB.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            lanes = lanes.addingProduct(va, vb)
            i += 8
        }
        var sum = lanes.sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    @inline(__always)
    public static func sumOfSquares(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        dot(a, a, n)
    }

    /// y[i] += alpha · x[i]
    @inline(__always)
    public static func addScaled(_ x: UnsafePointer<Float>, _ alpha: Float, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        let scale = SIMD8<Float>(repeating: alpha)
        var i = 0
        let rawX = UnsafeRawPointer(x), rawY = UnsafeMutableRawPointer(y)
        while i + 8 <= n {
            let vx = rawX.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let vy = rawY.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            rawY.storeBytes(of: vy.addingProduct(vx, scale), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n {
            y[i] += alpha * x[i]
            i += 1
        }
    }
}
