/// Hyperparameters of a llama-family model, read from GGUF metadata (llama2.c's `Config`).
public struct ModelConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable, CaseIterable {
        case llama, qwen2
    }

    /// Which pairs of a head's dimensions RoPE rotates together.
    public enum RopeStyle: Sendable, Equatable {
        /// llama.cpp's NORM mode: (x[2i], x[2i+1]); llama files store q/k rows permuted for it.
        case adjacentPairs
        /// llama.cpp's NEOX mode: (x[i], x[i + n/2]); used by qwen2.
        case halves
    }

    public var architecture: Architecture
    public var layerCount: Int
    /// d: the residual stream width.
    public var embeddingSize: Int
    public var feedForwardSize: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headSize: Int
    public var vocabularySize: Int
    /// The context length the model was trained for; requests beyond it are refused.
    public var contextLength: Int
    public var ropeBase: Double
    public var ropeStyle: RopeStyle
    /// Leading dimensions of each head that RoPE rotates (the whole head for these models).
    public var ropeDimensions: Int
    public var normEpsilon: Float
    /// Whether q/k/v projections carry biases (qwen2).
    public var attentionBias: Bool

    /// Width of K and V rows: all KV heads of one position.
    public var kvSize: Int { kvHeadCount * headSize }
    public var querySize: Int { headCount * headSize }
    /// Query heads sharing one KV head (grouped-query attention).
    public var queriesPerKVHead: Int { headCount / kvHeadCount }

    public init(
        architecture: Architecture, layerCount: Int, embeddingSize: Int, feedForwardSize: Int,
        headCount: Int, kvHeadCount: Int, headSize: Int, vocabularySize: Int, contextLength: Int,
        ropeBase: Double, ropeStyle: RopeStyle, ropeDimensions: Int, normEpsilon: Float,
        attentionBias: Bool
    ) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.embeddingSize = embeddingSize
        self.feedForwardSize = feedForwardSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headSize = headSize
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.ropeStyle = ropeStyle
        self.ropeDimensions = ropeDimensions
        self.normEpsilon = normEpsilon
        self.attentionBias = attentionBias
    }

    /// Reads `<arch>.*` keys; a missing or inconsistent value is a `GGUFError` naming the key.
    public init(gguf file: GGUFFile) throws {
        let name = try file.string("general.architecture")
        guard let architecture = Architecture(rawValue: name) else {
            throw GGUFError(file: file.path, offset: 0, reason:
                "unsupported architecture \(name) in general.architecture (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let prefix = name + "."
        func int(_ key: String) throws -> Int { try file.int(prefix + key) }
        let embeddingSize = try int("embedding_length")
        let headCount = try int("attention.head_count")
        let kvHeadCount = file.metadata[prefix + "attention.head_count_kv"]?.int ?? headCount
        let headSize = try file.metadata[prefix + "attention.key_length"]?.int ?? {
            guard headCount > 0, embeddingSize % headCount == 0 else {
                throw GGUFError(file: file.path, offset: 0, reason:
                    "\(prefix)embedding_length \(embeddingSize) is not divisible by \(prefix)attention.head_count \(headCount)")
            }
            return embeddingSize / headCount
        }()
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
            throw GGUFError(file: file.path, offset: 0, reason: "missing tensor token_embd.weight")
        }
        self.init(
            architecture: architecture,
            layerCount: try int("block_count"),
            embeddingSize: embeddingSize,
            feedForwardSize: try int("feed_forward_length"),
            headCount: headCount,
            kvHeadCount: kvHeadCount,
            headSize: headSize,
            vocabularySize: embedding.shape[1],
            contextLength: try int("context_length"),
            ropeBase: file.metadata[prefix + "rope.freq_base"]?.double ?? 10_000,
            ropeStyle: architecture == .qwen2 ? .halves : .adjacentPairs,
            ropeDimensions: file.metadata[prefix + "rope.dimension_count"]?.int ?? headSize,
            normEpsilon: Float(try file.double(prefix + "attention.layer_norm_rms_epsilon")),
            attentionBias: file.tensor(named: "blk.0.attn_q.bias") != nil)
        try validate(file: file.path)
    }

    private func validate(file: String) throws {
        func check(_ condition: Bool, _ reason: String) throws {
            if !condition { throw GGUFError(file: file, offset: 0, reason: reason) }
        }
        try check(layerCount > 0 && embeddingSize > 0 && feedForwardSize > 0, "layer count and sizes must be positive")
        try check(headCount > 0 && kvHeadCount > 0 && headCount % kvHeadCount == 0,
                  "\(architecture.rawValue).attention.head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)")
        try check(headSize % 8 == 0 && ropeDimensions % 2 == 0 && ropeDimensions <= headSize,
                  "head size \(headSize) must be a multiple of 8 and rope dimensions \(ropeDimensions) even, within the head")
        try check(contextLength > 0, "\(architecture.rawValue).context_length must be positive")
        try check(normEpsilon > 0 && normEpsilon < 1, "RMS norm epsilon \(normEpsilon) is out of range")
    }
}
