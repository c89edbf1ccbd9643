/// Streams text out token by token without ever emitting a broken UTF-8 sequence: bytes that start a
/// character not yet complete are held until the tokens that finish it arrive. The chunks concatenate
/// to exactly `Tokenizer.decode` of the same tokens.
public struct Detokenizer: Sendable {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text `token` completes (possibly empty).
    public mutating func append(_ token: TokenID) -> String {
        tokenizer.appendBytes(of: token, to: &pending)
        let held = Self.incompleteSuffixLength(pending)
        guard held < pending.count else { return "" }
        let ready = pending.count - held
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Whatever is still held, with U+FFFD for the unfinished character.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// How many bytes at the end of `bytes` are the valid start of a character still missing bytes.
    /// Anything else (complete, or invalid whatever follows) can be decoded now with the same result
    /// as decoding everything at once.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        var lead = bytes.count - 1
        while lead >= 0 && bytes.count - lead <= 3 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0 else { return 0 }
        let have = bytes.count - lead
        let need = switch bytes[lead] {
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
        guard have < need else { return 0 }
        if have >= 2 {
            // The second byte's range is narrower after these leads (no overlongs, surrogates, > U+10FFFF).
            let second = bytes[lead + 1]
            switch bytes[lead] {
            case 0xE0: if second < 0xA0 { return 0 }
            case 0xED: if second > 0x9F { return 0 }
            case 0xF0: if second < 0x90 { return 0 }
            case 0xF4: if second > 0x8F { return 0 }
            default: break
            }
        }
        return have
    }
}
