/// 8-bit weight panels, for Q8_0, Q5_0, Q5_1, Q5_K and Q6_K. Panel p holds features
/// p·16 ..< p·16+16 (zero past n), one 704-byte record per 32-element block:
///
///     codes[8][64]  byte g·64 + f·4 + j: element 4g + j of feature f, signed
///     dLow[16] f32  scale of elements 0..<16
///     dHigh[16] f32 scale of elements 16..<32 (Q6_K's sub-blocks are 16 long)
///     m[16] f32
///
/// so W[f, e] = (e < 16 ? dLow[f] : dHigh[f]) · q + m[f].
public enum BytePanelFormat {
    public static let width = 16
    public static let blockLength = 32
    public static let groups = 8
    public static let groupBytes = 64
    public static let dLowOffset = 512
    public static let dHighOffset = 576
    public static let mOffset = 640
    public static let recordBytes = 704

    public static func panelBytes(k: Int) -> Int { k / blockLength * recordBytes }
}
