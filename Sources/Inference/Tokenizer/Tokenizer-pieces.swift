extension Tokenizer {
    /// The output bytes of every token, as llama.cpp's `token_to_piece` without `special`:
    /// control and unknown tokens render empty, user-defined ones as their raw text, byte tokens as
    /// their byte, normal ones decoded from their spelling. Other types (undefined, unused) are empty.
    static func pieces(
        texts: [String], attributes: [TokenAttributes], model: Vocabulary.Model
    ) -> (bytes: [UInt8], starts: [Int]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(texts.count * 6)
        var starts: [Int] = [0]
        starts.reserveCapacity(texts.count + 1)
        for (text, attribute) in zip(texts, attributes) {
            if !attribute.isDisjoint(with: [.control, .unknown]) {
                // nothing
            } else if attribute.contains(.userDefined) {
                bytes.append(contentsOf: text.utf8)
            } else if attribute.contains(.normal) {
                switch model {
                case .bytePair: appendByteLevelDecoded(text, to: &bytes)
                case .sentencePiece: appendUnescaped(text, to: &bytes)
                }
            } else if attribute.contains(.byte) {
                bytes.append(byteValue(of: text))
            }
            starts.append(bytes.count)
        }
        return (bytes, starts)
    }

    /// Each character of a byte-level spelling stands for one byte. Characters outside that alphabet
    /// come out as llama.cpp writes them: "[UNK_BYTE_0x" + their UTF-8 in hex + the whole token + "]".
    private static func appendByteLevelDecoded(_ text: String, to bytes: inout [UInt8]) {
        for scalar in text.unicodeScalars {
            if let byte = ByteLevelAlphabet.byte(for: scalar.value) {
                bytes.append(byte)
            } else {
                let hex = String(scalar).utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                bytes.append(contentsOf: "[UNK_BYTE_0x\(hex)\(text)]".utf8)
            }
        }
    }

    /// "▁" (U+2581, E2 96 81) back to a space.
    private static func appendUnescaped(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if i + 2 < utf8.count && utf8[i] == 0xE2 && utf8[i + 1] == 0x96 && utf8[i + 2] == 0x81 {
                bytes.append(0x20)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
    }

    /// The byte of a `<0xNN>` token: llama.cpp reads the two characters after "<0x" as hex.
    private static func byteValue(of text: String) -> UInt8 {
        let digits = text.utf8.dropFirst(3).prefix(2).prefix { UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0
            || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 || UInt8(ascii: "A")...UInt8(ascii: "F") ~= $0 }
        return UInt8(String(decoding: digits, as: UTF8.self), radix: 16) ?? 0
    }
}
