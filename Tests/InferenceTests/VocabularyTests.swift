import Foundation
import Inference
import Testing

/// Reading `tokenizer.ggml.*` from a GGUF file: tiny files written here, no tensors.
@Suite struct VocabularyTests {
    enum Value {
        case string(String), uint32(UInt32), bool(Bool), strings([String]), floats([Float]), int32s([Int32])
    }

    /// A GGUF v3 file with these metadata pairs and no tensors.
    static func write(_ pairs: [(String, Value)]) throws -> String {
        var bytes: [UInt8] = Array("GGUF".utf8)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        func append(_ string: String) { append(UInt64(string.utf8.count)); bytes += string.utf8 }
        append(UInt32(3)); append(UInt64(0)); append(UInt64(pairs.count))
        for (key, value) in pairs {
            append(key)
            switch value {
            case .string(let s): append(UInt32(8)); append(s)
            case .uint32(let v): append(UInt32(4)); append(v)
            case .bool(let v): append(UInt32(7)); append(UInt8(v ? 1 : 0))
            case .strings(let v): append(UInt32(9)); append(UInt32(8)); append(UInt64(v.count)); v.forEach(append)
            case .floats(let v): append(UInt32(9)); append(UInt32(6)); append(UInt64(v.count)); v.forEach { append($0.bitPattern) }
            case .int32s(let v): append(UInt32(9)); append(UInt32(5)); append(UInt64(v.count)); v.forEach { append($0) }
            }
        }
        while bytes.count % 32 != 0 { bytes.append(0) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static let sentencePiece: [(String, Value)] = [
        ("tokenizer.ggml.model", .string("llama")),
        ("tokenizer.ggml.tokens", .strings(["<unk>", "<s>", "</s>", "▁", "a", "▁a"])),
        ("tokenizer.ggml.scores", .floats([0, 0, 0, -1, -1, -0.5])),
        ("tokenizer.ggml.token_type", .int32s([2, 3, 3, 1, 1, 1])),
        ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ("tokenizer.ggml.add_bos_token", .bool(false)),
    ]

    func tokenizer(_ pairs: [(String, Value)]) throws -> Tokenizer {
        let path = try Self.write(pairs)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Tokenizer(gguf: GGUFFile(path: path))
    }

    @Test func readsAFile() throws {
        let t = try tokenizer(Self.sentencePiece)
        #expect(t.vocabularySize == 6 && !t.addBOS && t.eos == 2)
        #expect(t.encode("a a", parseSpecial: false, addSpecial: true) == [5, 5])
    }

    @Test func missingAndMistypedKeysAreNamed() throws {
        func reason(_ pairs: [(String, Value)]) throws -> String {
            do {
                _ = try tokenizer(pairs)
                return ""
            } catch let error as GGUFError {
                return error.reason
            }
        }
        let withoutModel = Self.sentencePiece.filter { $0.0 != "tokenizer.ggml.model" }
        #expect(try reason(withoutModel).contains("tokenizer.ggml.model"))
        let withoutTokens = Self.sentencePiece.filter { $0.0 != "tokenizer.ggml.tokens" }
        #expect(try reason(withoutTokens).contains("tokenizer.ggml.tokens"))
        var mistyped = Self.sentencePiece
        mistyped[5] = ("tokenizer.ggml.add_bos_token", .uint32(1))
        #expect(try reason(mistyped).contains("tokenizer.ggml.add_bos_token"))
        var shortTypes = Self.sentencePiece
        shortTypes[3] = ("tokenizer.ggml.token_type", .int32s([2, 3]))
        #expect(try reason(shortTypes).contains("tokenizer.ggml.token_type"))
        // Byte-level BPE needs merges.
        var bpe = Self.sentencePiece
        bpe[0] = ("tokenizer.ggml.model", .string("gpt2"))
        #expect(try reason(bpe).contains("tokenizer.ggml.merges"))
    }

    @Test func unsupportedTokenizersAreRefused() throws {
        var bert = Self.sentencePiece
        bert[0] = ("tokenizer.ggml.model", .string("bert"))
        #expect(throws: TokenizerError.self) { try tokenizer(bert) }
    }
}
