import Foundation
import Inference

/// A tiny random-weight model of Tests/Fixtures/tiny-model/<architecture>.json, written as a
/// GGUF file, with the logits `reference.py` computed for it in float64 (Hugging Face's
/// formulation). The weights are regenerated here from the same seeded generator, so no
/// model file is committed.
public struct TinyModel: Decodable, Sendable {
    public struct TensorRecipe: Decodable, Sendable {
        public var name: String
        /// ggml order: row length first.
        public var shape: [Int]
        public var offset: Double
        public var scale: Double
    }

    public struct Sequence: Decodable, Sendable {
        public var tokens: [Int32]
        /// (position, vocab): the reference logits at every position.
        public var logits: [[Double]]
    }

    public var architecture: String
    public var layers: Int
    public var embedding: Int
    public var feed_forward: Int
    public var heads: Int
    public var kv_heads: Int
    public var vocab: Int
    public var context: Int
    public var rope_base: Double
    public var epsilon: Double
    public var tied: Bool
    /// gemma3: heads wider than embedding / heads, and sliding-window layers.
    public var head_size: Int?
    public var sliding_window: Int?
    public var rope_base_swa: Double?
    public var tensors: [TensorRecipe]
    public var sequences: [Sequence]

    public static func fixture(_ architecture: String) throws -> TinyModel {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repository.path("Tests/Fixtures/tiny-model/\(architecture).json")))
        return try JSONDecoder().decode(TinyModel.self, from: data)
    }

    /// The model as GGUF: hyperparameters, a byte-level BPE tokenizer of `vocab` tokens and
    /// F32 tensors (f32 holds every generated value exactly).
    public func gguf() -> GGUFBuilder {
        var builder = GGUFBuilder()
        let arch = architecture
        builder.set("general.architecture", .string(arch))
        builder.set("general.name", .string("tiny-\(arch)"))
        builder.set("\(arch).block_count", .uint32(UInt32(layers)))
        builder.set("\(arch).context_length", .uint32(UInt32(context)))
        builder.set("\(arch).embedding_length", .uint32(UInt32(embedding)))
        builder.set("\(arch).feed_forward_length", .uint32(UInt32(feed_forward)))
        builder.set("\(arch).attention.head_count", .uint32(UInt32(heads)))
        builder.set("\(arch).attention.head_count_kv", .uint32(UInt32(kv_heads)))
        builder.set("\(arch).rope.freq_base", .float32(Float(rope_base)))
        builder.set("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(epsilon)))
        if let head_size {
            builder.set("\(arch).attention.key_length", .uint32(UInt32(head_size)))
            builder.set("\(arch).attention.value_length", .uint32(UInt32(head_size)))
        }
        if let sliding_window { builder.set("\(arch).attention.sliding_window", .uint32(UInt32(sliding_window))) }
        if let rope_base_swa { builder.set("\(arch).rope.freq_base_swa", .float32(Float(rope_base_swa))) }
        let vocabulary = Self.vocabulary(count: vocab)
        builder.set("tokenizer.ggml.model", .string("gpt2"))
        builder.set("tokenizer.ggml.pre", .string(arch == "qwen2" ? "qwen2" : "llama-bpe"))
        builder.set("tokenizer.ggml.tokens", .strings(vocabulary.tokens))
        builder.set("tokenizer.ggml.token_type", .int32s(vocabulary.types))
        builder.set("tokenizer.ggml.merges", .strings(vocabulary.merges))
        builder.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(vocab - 1)))
        builder.set("tokenizer.ggml.add_bos_token", .bool(false))
        for tensor in tensors {
            let values = Self.uniform(tensor.name, count: tensor.shape.reduce(1, *))
                .map { Float(tensor.offset + tensor.scale * $0) }
            builder.addTensor(name: tensor.name, shape: tensor.shape, values: values)
        }
        return builder
    }

    /// Writes the GGUF file to a temporary path for the duration of `body`.
    public func withFile<T>(_ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.path + "/scribe-tiny-\(architecture)-\(UUID().uuidString).gguf"
        try gguf().write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    public func load() throws -> Model {
        try withFile { try Model(path: $0) }
    }

    /// `count` values k / 2^15, k in [-2^15, 2^15): splitmix64 seeded by FNV-1a of `name`
    /// (the same as `uniform` in reference.py).
    public static func uniform(_ name: String, count: Int) -> [Double] {
        var state: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return (0..<count).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(Int(z >> 48) - 32768) / 32768
        }
    }

    /// 256 byte tokens in GPT-2's byte alphabet, a few merges, an end-of-text control token last.
    static func vocabulary(count: Int) -> (tokens: [String], types: [Int32], merges: [String]) {
        // GPT-2's alphabet: printable bytes stand for themselves, the rest take U+0100 upwards.
        var nextScalar: UInt32 = 256
        var tokens = (0..<256).map { byte -> String in
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable { return String(Unicode.Scalar(UInt8(byte))) }
            defer { nextScalar += 1 }
            return String(Unicode.Scalar(nextScalar)!)
        }
        let pairs = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("a", "n"), ("e", "r"), ("o", "n"),
                     ("Ġ", "a"), ("r", "e"), ("a", "t"), ("e", "n"), ("o", "r"), ("Ġ", "s"), ("Ġ", "w"), ("i", "s")]
        var merges: [String] = []
        for (left, right) in pairs where tokens.count < count - 1 {
            merges.append(left + " " + right)
            tokens.append(left + right)
        }
        precondition(tokens.count == count - 1, "tiny vocabularies have \(tokens.count + 1) tokens at most")
        tokens.append("<|endoftext|>")
        return (tokens, Array(repeating: 1, count: count - 1) + [3], merges)
    }
}
