/// 4-bit weight panels. Panel p holds features p·16 ..< p·16+16 (zero past n), one
/// 384-byte record per 32-element block:
///
///     codes[4][64]  byte g·64 + f·4 + j: element 4g + j of feature f (low nibble)
///                   and element 16 + 4g + j (high nibble)
///     d[16] f32, m[16] f32
///
/// so W[f, e] = d[f] · q + m[f]. One 64-byte group is 16 features × 4 consecutive elements
/// (a 512-bit register, or two 256-bit halves of 8 features), ready to multiply against 4
/// broadcast activation codes.
public enum NibblePanelFormat {
    public static let width = 16
    public static let blockLength = 32
    public static let groups = 4
    public static let groupBytes = 64
    public static let dOffset = 256
    public static let mOffset = 320
    public static let recordBytes = 384

    public static func panelBytes(k: Int) -> Int { k / blockLength * recordBytes }
}
