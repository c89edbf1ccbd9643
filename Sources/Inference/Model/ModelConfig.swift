/// Hyperparameters of a llama-family model, read from GGUF metadata (llama2.c's `Config`).
public struct ModelConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable, CaseIterable {
        case llama, qwen2
        /// Gemma 3 as llama.cpp computes it: embeddings scaled by √d, per-head q/k norms,
        /// norms after attention and the feed-forward block too, GELU gating, and five
        /// sliding-window layers to one global.
        case gemma3
    }

    /// The gate of the feed-forward block: h = act(gate) · up.
    public enum Activation: Sendable, Equatable {
        /// silu(x) = x · sigmoid(x) (llama, qwen2).
        case silu
        /// GELU, tanh approximation (gemma).
        case geluTanh
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
    public var activation: Activation = .silu
    /// Multiplies token embeddings as they enter the first layer (gemma: √d).
    public var embeddingScale: Float?
    /// Scores are q·k times this; 1/√headSize unless the architecture says otherwise.
    public var attentionScale: Float
    /// Gemma's extras: RMSNorm of each q and k head, and of each block's output before it is
    /// added to the residual stream.
    public var headNorms = false
    public var outputNorms = false
    /// Positions a sliding-window layer attends: the row's own and the `slidingWindow - 1`
    /// before it. nil: every layer is global.
    public var slidingWindow: Int?
    /// Every `slidingWindowPeriod`-th layer (the last of each period) is global, the rest slide.
    public var slidingWindowPeriod = 1
    /// RoPE base of the sliding-window layers.
    public var slidingRopeBase: Double = 10_000
    /// Logits become cap · tanh(logit / cap) when set.
    public var logitSoftCap: Float?

    /// Whether layer `index` attends only the last `slidingWindow` positions.
    public func slides(layer index: Int) -> Bool {
        slidingWindow != nil && index % slidingWindowPeriod < slidingWindowPeriod - 1
    }

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
        attentionScale = 1 / Float(headSize).squareRoot()
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
            ropeStyle: architecture == .llama ? .adjacentPairs : .halves,
            ropeDimensions: file.metadata[prefix + "rope.dimension_count"]?.int ?? headSize,
            normEpsilon: Float(try file.double(prefix + "attention.layer_norm_rms_epsilon")),
            attentionBias: file.tensor(named: "blk.0.attn_q.bias") != nil)
        if architecture == .gemma3 { try readGemma3(file, prefix: prefix) }
        try validate(file: file.path)
    }

    /// Gemma 3 as llama.cpp reads it (its `load_arch_hparams`): with a sliding window, five
    /// layers of six slide (or every `sliding_window_pattern`-th is global) with RoPE base
    /// `rope.freq_base_swa` (10,000); the attention scale of the model's size.
    private mutating func readGemma3(_ file: GGUFFile, prefix: String) throws {
        // Keys that change the arithmetic in ways Scribe does not implement are refused by name.
        let unimplemented = [
            (file.metadata[prefix + "rope.scaling.type"].map { $0.string != "none" } ?? false, "rope.scaling.type"),
            (file.metadata[prefix + "rope.scaling.factor"].map { $0.double != 1 } ?? false, "rope.scaling.factor"),
            (file.metadata[prefix + "attn_logit_softcapping"].map { $0.double != 0 } ?? false, "attn_logit_softcapping"),
        ]
        for (set, key) in unimplemented where set {
            throw GGUFError(file: file.path, offset: 0, reason: "\(prefix)\(key) is set; Scribe does not implement it")
        }
        if let valueLength = file.metadata[prefix + "attention.value_length"]?.int, valueLength != headSize {
            throw GGUFError(file: file.path, offset: 0, reason:
                "\(prefix)attention.value_length \(valueLength) differs from key_length \(headSize); Scribe does not implement it")
        }
        activation = .geluTanh
        embeddingScale = Float(embeddingSize).squareRoot()
        headNorms = true
        outputNorms = true
        if let window = file.metadata[prefix + "attention.sliding_window"]?.int, window > 0 {
            slidingWindow = window
            let patternKey = prefix + "attention.sliding_window_pattern"
            if let pattern = file.metadata[patternKey] {
                guard let period = pattern.int, period > 0 else {
                    throw GGUFError(file: file.path, offset: 0, reason:
                        "\(patternKey) is not a positive integer; Scribe implements only a period of layers")
                }
                slidingWindowPeriod = period
            } else {
                slidingWindowPeriod = 6
            }
            slidingRopeBase = file.metadata[prefix + "rope.freq_base_swa"]?.double ?? 10_000
        }
        if let cap = file.metadata[prefix + "final_logit_softcapping"]?.double, cap != 0 {
            logitSoftCap = Float(cap)
        }
        // The 27B model scales by its width per query head, the others by the head size.
        attentionScale = 1 / Float(layerCount == 62 ? embeddingSize / headCount : headSize).squareRoot()
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
        try check((slidingWindow ?? 1) > 0, "\(architecture.rawValue).attention.sliding_window must be positive")
    }
}
