import Foundation
import Inference
import Testing

/// A hand-made SentencePiece vocabulary (there is no Llama 2 file on this machine). Merges follow
/// token scores: the adjacent pair whose concatenation is the best-scoring token merges first.
@Suite struct SentencePieceTokenizerTests {
    // 0 <unk>, 1 <s>, 2 </s>, 3...258 <0x00>...<0xFF>, then the normal tokens below, then <tool>.
    static let normal: [(String, Float)] = [
        ("▁", -1), ("h", -2), ("e", -2), ("l", -2), ("o", -2), ("w", -2), ("r", -2), ("d", -2), ("a", -2),
        ("he", -1), ("ll", -2), ("llo", -1.5), ("hello", -0.5), ("▁hello", -0.2), ("▁he", -3.5), ("▁h", -4),
        ("▁w", -3), ("or", -2.5), ("ld", -6), ("aa", -1),
    ]

    static func byte(_ value: UInt8) -> TokenID { 3 + TokenID(value) }
    static func id(_ text: String) -> TokenID {
        TokenID(259 + normal.firstIndex { $0.0 == text }!)
    }
    static let tool = TokenID(259 + normal.count)

    static func vocabulary(addSpacePrefix: Bool? = nil) -> Vocabulary {
        let bytes = (0...255).map { String(format: "<0x%02X>", $0) }
        let tokens = ["<unk>", "<s>", "</s>"] + bytes + normal.map(\.0) + ["<tool>"]
        let scores = [0, 0, 0] + bytes.map { _ in Float(0) } + normal.map(\.1) + [0]
        let types: [Vocabulary.TokenType] = [.unknown, .control, .control] + bytes.map { _ in .byte }
            + normal.map { _ in .normal } + [.userDefined]
        return Vocabulary(model: .sentencePiece, tokens: tokens, scores: scores, types: types,
                          addSpacePrefix: addSpacePrefix)
    }

    static let tokenizer = try! Tokenizer(vocabulary: vocabulary())

    @Test func defaults() {
        let t = Self.tokenizer
        #expect(t.bos == 1 && t.eos == 2 && t.addBOS && !t.addEOS && t.addSpacePrefix)
        #expect(t.endOfGeneration == [2])
        #expect(t.specialIDs[.unknown] == 0)
    }

    @Test func mergesByScore() {
        // "▁hello▁world": he(-1), ll(-2), then llo(-1.5), hello(-0.5) and ▁hello(-0.2) as each becomes
        // possible; then or(-2.5), ▁w(-3), ld(-6). "▁h" and "▁he" went stale when their parts merged.
        let ids = Self.tokenizer.encode("hello world", parseSpecial: false, addSpecial: true)
        #expect(ids == [1, Self.id("▁hello"), Self.id("▁w"), Self.id("or"), Self.id("ld")])
        #expect(Self.tokenizer.decode(ids) == " hello world")
    }

    @Test func equalScoresMergeLeftmostFirst() {
        let ids = Self.tokenizer.encode("aaa", parseSpecial: false, addSpecial: false)
        #expect(ids == [Self.id("▁"), Self.id("aa"), Self.id("a")])
    }

    @Test func unknownCharactersFallBackToBytes() {
        let t = Self.tokenizer
        // 🍕 = F0 9F 8D 95, 日 = E6 97 A5: neither is in the vocabulary.
        let pizza = t.encode("🍕", parseSpecial: false, addSpecial: false)
        #expect(pizza == [Self.id("▁"), Self.byte(0xF0), Self.byte(0x9F), Self.byte(0x8D), Self.byte(0x95)])
        let sun = t.encode("日", parseSpecial: false, addSpecial: false)
        #expect(sun == [Self.id("▁"), Self.byte(0xE6), Self.byte(0x97), Self.byte(0xA5)])
        #expect(t.bytes(of: Self.byte(0xF0)) == [0xF0])
        #expect(t.decode(pizza) == " 🍕")
        #expect(t.decode(sun) == " 日")

        var detokenizer = Detokenizer(tokenizer: t)
        let chunks = pizza.map { detokenizer.append($0) }
        #expect(chunks == [" ", "", "", "", "🍕"])
        #expect(detokenizer.finish() == "")
    }

    @Test func specialTokensAndSpacePrefix() {
        let t = Self.tokenizer
        // After a special token the next text gets a space prefix again.
        #expect(t.encode("<s>hello", parseSpecial: true, addSpecial: false) == [1, Self.id("▁hello")])
        // Unparsed, "<s>" is text: "<", "s", ">" are not tokens, so they become bytes.
        #expect(t.encode("<s>hello", parseSpecial: false, addSpecial: false)
            == [Self.id("▁"), Self.byte(0x3C), Self.byte(0x73), Self.byte(0x3E), Self.id("hello")])
        // User-defined tokens are cut out even without parseSpecial (as llama.cpp does), and render as text.
        let tool = t.encode("hello<tool>", parseSpecial: false, addSpecial: false)
        #expect(tool == [Self.id("▁hello"), Self.tool])
        #expect(t.decode(tool) == " hello<tool>")
        #expect(t.decode([1, Self.id("▁hello"), 2]) == " hello")
    }

    @Test func spacePrefixCanBeTurnedOff() throws {
        let t = try Tokenizer(vocabulary: Self.vocabulary(addSpacePrefix: false))
        #expect(t.encode("hello", parseSpecial: false, addSpecial: false) == [Self.id("hello")])
        #expect(t.encode("", parseSpecial: false, addSpecial: true) == [1])
    }
}
