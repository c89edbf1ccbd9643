#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding with a precomputed cos/sin table.
/// Angles are computed in f64 (position · base^(-2i/n)) so large positions stay accurate.
public struct RoPE: Sendable {
    public let dimensions: Int
    public let style: ModelConfig.RopeStyle
    public let maxPositions: Int
    /// (position, dimensions/2) cos and sin values.
    private let table: [Float]

    public init(dimensions: Int, base: Double, style: ModelConfig.RopeStyle, maxPositions: Int) {
        self.dimensions = dimensions
        self.style = style
        self.maxPositions = maxPositions
        let pairs = dimensions / 2
        var table = [Float](repeating: 0, count: maxPositions * pairs * 2)
        for position in 0..<maxPositions {
            for i in 0..<pairs {
                let angle = Double(position) * pow(base, -2 * Double(i) / Double(dimensions))
                table[(position * pairs + i) * 2] = Float(cos(angle))
                table[(position * pairs + i) * 2 + 1] = Float(sin(angle))
            }
        }
        self.table = table
    }

    /// Rotates `heads` consecutive head vectors of `headSize` at `vector` for `position`.
    @inline(__always)
    public func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, headSize: Int, position: Int) {
        let pairs = dimensions / 2
        table.withUnsafeBufferPointer { table in
            let row = table.baseAddress! + position * pairs * 2
            for head in 0..<heads {
                let x = vector + head * headSize
                for i in 0..<pairs {
                    let c = row[2 * i], s = row[2 * i + 1]
                    let (a, b) = style == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + pairs)
                    let x0 = x[a], x1 = x[b]
                    x[a] = x0 * c - x1 * s
                    x[b] = x0 * s + x1 * c
                }
            }
        }
    }

    /// Plain version kept as the reference: angles and rotation in f64, no table.
    public static func reference(
        _ vector: UnsafeMutablePointer<Float>, heads: Int, headSize: Int, position: Int,
        dimensions: Int, base: Double, style: ModelConfig.RopeStyle
    ) {
        let pairs = dimensions / 2
        for head in 0..<heads {
            let x = vector + head * headSize
            for i in 0..<pairs {
                let angle = Double(position) * pow(base, -2 * Double(i) / Double(dimensions))
                let (a, b) = style == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + pairs)
                let x0 = Double(x[a]), x1 = Double(x[b])
                x[a] = Float(x0 * cos(angle) - x1 * sin(angle))
                x[b] = Float(x0 * sin(angle) + x1 * cos(angle))
            }
        }
    }
}
