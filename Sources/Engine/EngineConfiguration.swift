#if canImport(Glibc)
import Glibc
#endif
import Inference

public struct EngineConfiguration: Sendable, Equatable {
    /// Sequences generating at once (the batch's decode rows).
    public var maxRunning: Int = 32
    /// Rows per forward call: decode rows first, the rest for prompt chunks.
    public var tokenBudget: Int = 512
    /// Positions per KV-cache block.
    public var blockSize: Int = 16
    /// Positions the KV cache holds over all sequences; nil: `maxRunning` × min(context, 2048).
    public var cachePositions: Int?
    /// For models on OpenBLAS (row-major weights): products cut so that greedy and seeded
    /// results never depend on the batch. The panel kernel is batch-invariant regardless.
    public var batchInvariant = true
    /// Threads of the forward pass (weight products and attention); default: one per core.
    public var threads: Int
    /// How the KV cache stores keys and values; nil: the model's `weights.cachePrecision`.
    public var cachePrecision: KVCache.Precision?

    public init(maxRunning: Int = 32, tokenBudget: Int? = nil, blockSize: Int = 16, cachePositions: Int? = nil,
                batchInvariant: Bool = true, threads: Int? = nil, cachePrecision: KVCache.Precision? = nil) {
        self.cachePrecision = cachePrecision
        self.maxRunning = maxRunning
        self.tokenBudget = tokenBudget ?? max(512, maxRunning)
        self.blockSize = blockSize
        self.cachePositions = cachePositions
        self.batchInvariant = batchInvariant
        self.threads = threads ?? max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    func cachePrecision(for weights: ModelWeights) -> KVCache.Precision {
        cachePrecision ?? weights.cachePrecision
    }

    func blockCount(for config: ModelConfig) -> Int {
        let positions = cachePositions ?? maxRunning * min(config.contextLength, 2048)
        return max(1, (positions + blockSize - 1) / blockSize)
    }
}
