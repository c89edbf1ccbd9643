import Inference
import Testing

@Suite struct DetokenizerTests {
    /// Byte tokens of the synthetic SentencePiece vocabulary: token 3 + b is the byte b.
    let tokenizer = SentencePieceTokenizerTests.tokenizer

    func stream(_ bytes: [UInt8]) -> [String] {
        var detokenizer = Detokenizer(tokenizer: tokenizer)
        return bytes.map { detokenizer.append(3 + TokenID($0)) } + [detokenizer.finish()]
    }

    @Test func holdsAnUnfinishedCharacter() {
        // é = C3 A9; € = E2 82 AC; 😀 = F0 9F 98 80.
        #expect(stream([0x43, 0xC3, 0xA9]) == ["C", "", "é", ""])
        #expect(stream([0xE2, 0x82, 0xAC, 0x21]) == ["", "", "€", "!", ""])
        #expect(stream([0xF0, 0x9F, 0x98, 0x80]) == ["", "", "", "😀", ""])
        // Cut short: the partial character comes out as one U+FFFD at the end.
        #expect(stream([0x61, 0xF0, 0x9F]) == ["a", "", "", "\u{FFFD}"])
    }

    @Test func releasesBytesThatCanNeverComplete() {
        // A stray continuation byte, and a lead whose next byte is out of range (E0 needs A0...BF).
        #expect(stream([0x80]) == ["\u{FFFD}", ""])
        #expect(stream([0xE0, 0x80]) == ["", "\u{FFFD}\u{FFFD}", ""])
        // An unfinished character interrupted by ASCII: one U+FFFD for the maximal valid prefix.
        #expect(stream([0xF0, 0x9F, 0x41]) == ["", "", "\u{FFFD}A", ""])
    }

    @Test func streamedTextEqualsDecodedText() {
        // Random byte soups, mostly UTF-8-shaped: the chunks must add up to decoding everything at once.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let pool: [UInt8] = [0x41, 0x20, 0x80, 0x9F, 0xA9, 0xBF, 0xC3, 0xC0, 0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0x82]
        for _ in 0..<2000 {
            let bytes = (0..<Int(next() % 12)).map { _ in pool[Int(next() % UInt64(pool.count))] }
            let tokens = bytes.map { 3 + TokenID($0) }
            #expect(stream(bytes).joined() == tokenizer.decode(tokens), "\(bytes)")
        }
    }
}
