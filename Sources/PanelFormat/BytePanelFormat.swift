/// 8-bit weight panels, for Q8_0, Q5_0, Q5_1, Q5_K and Q6_K. Panel p holds features
/// p·16 ..< p·16+16 (zero past n), one record per 32-element block:
///
///     codes[8][64]  byte g·64 + f·4 + j: element 4g + j of feature f, signed
///     dLow[16]      scale of elements 0..<16
///     dHigh[16]     scale of elements 16..<32 (Q6_K's sub-blocks are 16 long)
///     m[16]         the scales f16 when every one of the matrix is one exactly (Q8_0,
///                   Q5_0, Q5_1), else f32: 608 or 704 bytes a record
///
/// so W[f, e] = (e < 16 ? dLow[f] : dHigh[f]) · q + m[f].
public enum BytePanelFormat {
    public static let width = 16
    public static let blockLength = 32
    public static let groups = 8
    public static let groupBytes = 64
    public static let dLowOffset = 512

    public static func dHighOffset(halfScales: Bool) -> Int { dLowOffset + 16 * scaleBytes(halfScales) }
    public static func mOffset(halfScales: Bool) -> Int { dLowOffset + 32 * scaleBytes(halfScales) }
    public static func recordBytes(halfScales: Bool) -> Int { dLowOffset + 48 * scaleBytes(halfScales) }
    public static func panelBytes(k: Int, halfScales: Bool) -> Int { k / blockLength * recordBytes(halfScales: halfScales) }
}
