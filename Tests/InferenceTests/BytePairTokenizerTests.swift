import Inference
import Testing

/// A hand-made byte-level BPE vocabulary: the 256 byte characters, then a few merged tokens.
@Suite struct BytePairTokenizerTests {
    /// GPT-2's byte → character map, restated here so the tests do not lean on the code under test.
    static let alphabet: [String] = {
        var next = 256
        return (0..<256).map { byte in
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            defer { if !printable { next += 1 } }
            return String(Unicode.Scalar(UInt32(printable ? byte : next))!)
        }
    }()

    static func byte(_ character: Character) -> TokenID { TokenID(character.asciiValue!) }

    /// ids 256...: he, ll, hello, <|im_end|>, <|eot_id|>, <tool>, xyz. "hell" is a merge result but no
    /// token; "xyz" is a token no merge leads to.
    static func vocabulary(pre: String?, specialIDs: [Vocabulary.Special: Int] = [:], addBOS: Bool? = nil) -> Vocabulary {
        let tokens = alphabet + ["he", "ll", "hello", "<|im_end|>", "<|eot_id|>", "<tool>", "xyz"]
        var types = [Vocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[259] = .control
        types[260] = .normal  // <|eot_id|> left normal: llama.cpp promotes it by its text
        types[261] = .userDefined
        return Vocabulary(model: .bytePair, tokens: tokens, types: types, merges: ["h e", "l l", "he ll", "hell o"],
                          preTokenizer: pre, specialIDs: specialIDs, addBOS: addBOS)
    }

    @Test func mergesByRankAndFallsBackForNonTokens() throws {
        let t = try Tokenizer(vocabulary: Self.vocabulary(pre: "gpt-2", specialIDs: [.eos: 259]))
        // h e l l o → he l l o → he ll o → hell o → hello (rank order 0, 1, 2, 3).
        #expect(t.encode("hello", parseSpecial: false, addSpecial: false) == [258])
        // "hell" is where merging stops, but it is no token: llama.cpp spells it byte by byte.
        #expect(t.encode("hell", parseSpecial: false, addSpecial: false)
            == [Self.byte("h"), Self.byte("e"), Self.byte("l"), Self.byte("l")])
        // " hello" is one word: the space byte ("Ġ") does not merge with "h".
        #expect(t.encode("say hello", parseSpecial: false, addSpecial: false)
            == [Self.byte("s"), Self.byte("a"), Self.byte("y"), 32, 258])
        #expect(t.decode([32, 258]) == " hello")
        #expect(t.bytes(of: 32) == [0x20])
        #expect(t.piece(32) == "Ġ")
    }

    @Test func llama3TakesWholeWordsThatAreTokens() throws {
        // ignore_merges: a word that is a token is taken whole, even where no merges lead to it.
        let t = try Tokenizer(vocabulary: Self.vocabulary(pre: "llama-bpe", specialIDs: [.bos: 259]))
        #expect(t.addBOS)
        #expect(t.encode("xyz hello", parseSpecial: false, addSpecial: true) == [259, 262, 32, 258])
        let gpt2 = try Tokenizer(vocabulary: Self.vocabulary(pre: "gpt-2"))
        #expect(!gpt2.addBOS)
        #expect(gpt2.encode("xyz", parseSpecial: false, addSpecial: true) == [Self.byte("x"), Self.byte("y"), Self.byte("z")])
        // Llama 3 adds BOS by default; with no BOS token (the default id 11 is out of range) that is an error.
        #expect(throws: TokenizerError.self) {
            try Tokenizer(vocabulary: Vocabulary(model: .bytePair, tokens: ["a"], merges: [], preTokenizer: "llama3"))
        }
    }

    @Test func specialTokensAndEndOfGeneration() throws {
        let t = try Tokenizer(vocabulary: Self.vocabulary(pre: "smollm", specialIDs: [.eos: 259]))
        // <|eot_id|> is promoted to control and EOG by its text; eos 259 (<|im_end|>) is EOG too.
        #expect(t.endOfGeneration == [259, 260])
        #expect(t.specialIDs[.eot] == 259)  // the lowest id among the end-of-turn texts
        #expect(t.isControl(260))
        #expect(t.encode("hello<|im_end|>", parseSpecial: true, addSpecial: false) == [258, 259])
        let asText = t.encode("<|im_end|>", parseSpecial: false, addSpecial: false)
        #expect(asText.count > 1 && t.decode(asText) == "<|im_end|>")
        // User-defined: always cut out, rendered as its text.
        #expect(t.encode("<tool>hello", parseSpecial: false, addSpecial: false) == [261, 258])
        #expect(t.decode([259, 261]) == "<tool>")
    }

    @Test func refusesWhatItCannotDo() {
        #expect(throws: TokenizerError.self) {
            try Tokenizer(vocabulary: Self.vocabulary(pre: "deepseek-coder"))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(vocabulary: Vocabulary(model: .bytePair, tokens: ["a", "b", "a"], preTokenizer: "gpt-2"))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(vocabulary: Vocabulary(model: .bytePair, tokens: [], preTokenizer: "gpt-2"))
        }
    }
}
