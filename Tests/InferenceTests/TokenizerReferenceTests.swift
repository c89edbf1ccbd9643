import Foundation
import Inference
import Testing
import TestSupport

/// The SmolLM2 tokenizer against llama.cpp's `llama-tokenize` output (Tests/Fixtures/reference).
@Suite(.enabled(if: Repository.referenceModelPath != nil, "reference model not cached"))
struct TokenizerReferenceTests {
    struct Case: Decodable {
        var text: String
        var ids: [TokenID]
        var parse_special: Bool
    }

    static let cases: [Case] = {
        let path = Repository.path("Tests/Fixtures/reference/tokenize.jsonl")
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(Case.self, from: Data($0.utf8))
        }
    }()

    /// Loaded once: every test here reads the same 49,152-token vocabulary.
    static let tokenizer: Tokenizer? = Repository.referenceModelPath.flatMap {
        try? Tokenizer(gguf: GGUFFile(path: $0))
    }

    @Test func everyFixtureMatchesLlamaCpp() throws {
        let tokenizer = try #require(Self.tokenizer)
        #expect(Self.cases.count == 33)
        var matched = 0
        for row in Self.cases {
            // llama-tokenize adds BOS only if the model asks; SmolLM2 says add_bos_token = false.
            let ids = tokenizer.encode(row.text, parseSpecial: row.parse_special, addSpecial: true)
            #expect(ids == row.ids, "\(row.text.debugDescription) parse_special=\(row.parse_special)")
            if ids == row.ids { matched += 1 }
        }
        print("tokenize.jsonl: \(matched)/\(Self.cases.count) match llama.cpp")
        #expect(matched == Self.cases.count)
    }

    @Test func metadataAndEndOfGeneration() throws {
        let tokenizer = try #require(Self.tokenizer)
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.model == .bytePair)
        #expect(tokenizer.preTokenizerKind == .smollm)
        #expect(tokenizer.bos == 1)
        #expect(tokenizer.eos == 2)
        #expect(!tokenizer.addBOS)
        #expect(!tokenizer.addEOS)
        // <|endoftext|>, <|im_end|> and <reponame> (taken for FIM-repository), as llama.cpp reports.
        #expect(tokenizer.endOfGeneration == [0, 2, 4])
        #expect((0...16).allSatisfy { tokenizer.isControl(TokenID($0)) })
        #expect(!tokenizer.isControl(17))
        #expect(tokenizer.piece(1) == "<|im_start|>")
        #expect(tokenizer.piece(216) == "Ġ")
        #expect(tokenizer.bytes(of: 216) == [0x20])
        #expect(tokenizer.bytes(of: 1).isEmpty)
        #expect(tokenizer.bytes(of: -1).isEmpty && tokenizer.bytes(of: 49152).isEmpty)
    }

    @Test func loadingIsQuick() throws {
        let path = try #require(Repository.referenceModelPath)
        let clock = ContinuousClock()
        var file: GGUFFile?
        let parsing = try clock.measure { file = try GGUFFile(path: path) }
        let elapsed = try clock.measure { _ = try Tokenizer(gguf: file!) }
        print("GGUFFile(path:) took \(parsing), then Tokenizer(gguf:) \(elapsed)")
        // Generous for a debug build on a shared machine; release is far below 0.5 s.
        #expect(elapsed < .seconds(5))
    }

    /// Throughput on a long mixed text (prose, code, numbers, CJK, emoji). Printed for the record;
    /// the bound only catches pathological slowness, since debug builds are ~10× slower than release.
    @Test func encodingThroughput() throws {
        let tokenizer = try #require(Self.tokenizer)
        let paragraph = Self.cases.map(\.text).joined(separator: "\n") + "\n"
        let text = String(repeating: paragraph, count: 100)
        let clock = ContinuousClock()
        var count = 0
        let elapsed = clock.measure { count = tokenizer.encode(text, parseSpecial: true, addSpecial: false).count }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("encode: \(text.utf8.count) bytes → \(count) tokens in \(elapsed): \(Int(Double(count) / seconds)) tokens/s")
        #expect(Double(count) / seconds > 10_000)
    }

    static let roundTripTexts = [
        "Hello, world!", "  two leading", "trailing  ", "\n\n\nnewlines\r\n", "tabs\t\tand\u{00A0}nbsp",
        "émoji 👩‍👩‍👧‍👦 family, flags 🇯🇵🇫🇷", "日本語のテキスト", "مرحبا", "Ελληνικά", "<|im_start|> as text",
        "zero\u{200B}width", "combining e\u{301}", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "1234567890.5e-10", String(repeating: "=", count: 300),
        "\u{FEFF}BOM and \u{0}NUL and \u{7F}", "",
    ]

    @Test func decodeInvertsEncode() throws {
        let tokenizer = try #require(Self.tokenizer)
        let texts = Self.roundTripTexts + Self.cases.filter({ !$0.parse_special }).map(\.text)
            + Self.cases.map(\.text).filter({ !$0.contains("<|") })
        for text in texts {
            let ids = tokenizer.encode(text, parseSpecial: false, addSpecial: false)
            #expect(tokenizer.decode(ids) == text)
        }
        // Control tokens render as nothing.
        let chat = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", parseSpecial: true, addSpecial: false)
        #expect(tokenizer.decode(chat) == "user\nHi")
    }

    @Test func detokenizerNeverSplitsACharacter() throws {
        let tokenizer = try #require(Self.tokenizer)
        var sawHeldBytes = false
        for text in Self.roundTripTexts + Self.cases.map(\.text) {
            let ids = tokenizer.encode(text, parseSpecial: false, addSpecial: false)
            var detokenizer = Detokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in ids {
                let chunk = detokenizer.append(id)
                // A chunk is a String, so valid UTF-8 by construction; what matters is it has no U+FFFD.
                #expect(!chunk.unicodeScalars.contains("\u{FFFD}"), "\(text.debugDescription) token \(id)")
                if chunk.isEmpty && !tokenizer.bytes(of: id).isEmpty { sawHeldBytes = true }
                streamed += chunk
            }
            streamed += detokenizer.finish()
            #expect(streamed == text)
        }
        #expect(sawHeldBytes)
        // "🍕" (F0 9F 8D 95) takes several byte-level tokens: nothing comes out before the last.
        let pizza = tokenizer.encode("🍕", parseSpecial: false, addSpecial: false)
        #expect(pizza.count > 1)
        var detokenizer = Detokenizer(tokenizer: tokenizer)
        let early = pizza.dropLast().map { detokenizer.append($0) }
        #expect(early.joined().isEmpty)
        #expect(detokenizer.append(pizza.last!) == "🍕")
        // Cut short, the unfinished character is flushed as one U+FFFD.
        #expect(detokenizer.append(pizza[0]) == "")
        #expect(detokenizer.finish() == "\u{FFFD}")
        #expect(detokenizer.finish() == "")
    }
}
