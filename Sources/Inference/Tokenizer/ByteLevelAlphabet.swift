/// GPT-2's reversible byte ↔ character map: byte-level BPE vocabularies spell every byte as a printable
/// character, so a space is "Ġ" (U+0120) and a newline "Ċ" (U+010A).
enum ByteLevelAlphabet {
    /// Bytes that stand for themselves: '!'...'~', '¡'...'¬', '®'...'ÿ'. The rest map to U+0100 upwards, in byte order.
    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// Code point for each byte.
    static let scalars: [UInt32] = {
        var result = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                result[byte] = UInt32(byte)
            } else {
                result[byte] = next
                next += 1
            }
        }
        return result
    }()

    /// UTF-8 of each byte's character (one or two bytes), as vocabulary strings spell it.
    static let utf8: [[UInt8]] = scalars.map { Array(String(Unicode.Scalar($0)!).utf8) }

    /// The byte a character stands for, or nil for characters outside the alphabet.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            return isPrintable(Int(scalar)) ? UInt8(scalar) : nil
        }
        return reverse[scalar]
    }

    private static let reverse: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for byte in 0..<256 where !isPrintable(byte) { map[scalars[byte]] = UInt8(byte) }
        return map
    }()
}
