/// 4-bit weight panels. Panel p holds features p·16 ..< p·16+16 (zero past n), one record
/// per 32-element block:
///
///     codes[4][64]  byte g·64 + f·4 + j: element 4g + j of feature f (low nibble)
///                   and element 16 + 4g + j (high nibble)
///     d[16], m[16]  f16 when every scale of the matrix is one exactly (Q4_0, Q4_1),
///                   else f32 (Q4_K's d · scale): 320 or 384 bytes a record
///
/// so W[f, e] = d[f] · q + m[f]. One 64-byte group is 16 features × 4 consecutive elements
/// (a 512-bit register, or two 256-bit halves of 8 features), ready to multiply against 4
/// broadcast activation codes. f16 scales save a sixth of the bytes one-sequence decoding
/// streams from memory, and give the same f32 values.
public enum NibblePanelFormat {
    public static let width = 16
    public static let blockLength = 32
    public static let groups = 4
    public static let groupBytes = 64
    public static let dOffset = 256

    public static func mOffset(halfScales: Bool) -> Int { dOffset + 16 * scaleBytes(halfScales) }
    public static func recordBytes(halfScales: Bool) -> Int { dOffset + 32 * scaleBytes(halfScales) }
    public static func panelBytes(k: Int, halfScales: Bool) -> Int { k / blockLength * recordBytes(halfScales: halfScales) }
}

/// Bytes of one stored scale.
@inlinable
public func scaleBytes(_ halfScales: Bool) -> Int { halfScales ? 2 : 4 }
