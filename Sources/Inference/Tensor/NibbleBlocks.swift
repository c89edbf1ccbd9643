/// ggml's 4-bit formats read as 32-element blocks of codes: element e of a block is
/// `d · q[e] + m`, q[e] in 0...15. Q4_0 (`m = -8d`), Q4_1 and Q4_K (whose sub-blocks of 32
/// carry their own `d · scale` and `dmin · min`) all take this form exactly, so their
/// matrices can stay 4-bit for integer products (see `NibblePanelKernel`).
enum NibbleBlocks {
    static let elements = 32

    static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q4_K: true
        default: false
        }
    }

    /// Block `index` of a row stored in `type` at `row`: writes its 32 codes (0...15) to
    /// `codes` and returns its scale and offset. `supports(type)` must hold.
    static func block(
        _ type: GGMLType, row: UnsafeRawPointer, index: Int, codes: UnsafeMutablePointer<UInt8>
    ) -> (d: Float, m: Float) {
        // Q4_0 and Q4_1: low nibbles are elements 0..<16, high nibbles 16..<32.
        func legacy(_ qs: UnsafeRawPointer) {
            for j in 0..<16 {
                let byte = qs.load(fromByteOffset: j, as: UInt8.self)
                codes[j] = byte & 0x0f
                codes[j + 16] = byte >> 4
            }
        }
        switch type {
        case .q4_0:
            let b = row + index * 18
            legacy(b + 2)
            let d = Float16Conversion.half(b, 0)
            return (d, -8 * d)
        case .q4_1:
            let b = row + index * 20
            legacy(b + 4)
            return (Float16Conversion.half(b, 0), Float16Conversion.half(b, 2))
        case .q4_K:
            // Sub-block j of a 256-element super-block: 32 bytes of qs hold sub-blocks 2p
            // (low nibbles) and 2p + 1 (high nibbles).
            let b = row + index / 8 * 144, j = index % 8
            let qs = b + 16 + 32 * (j / 2), shift: UInt8 = j % 2 == 0 ? 0 : 4
            for l in 0..<32 { codes[l] = qs.load(fromByteOffset: l, as: UInt8.self) >> shift & 0x0f }
            let (scale, min) = KQuantBlocks.scaleMin(b + 4, j)
            return (Float16Conversion.half(b, 0) * scale, -(Float16Conversion.half(b, 2) * min))
        default:
            preconditionFailure("\(type) is not a 4-bit block format")
        }
    }
}
