/// A loaded model: hyperparameters and f32 weights, shared read-only by everything in the
/// process. Loaded once per process.
public final class Model: Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights

    public init(config: ModelConfig, weights: ModelWeights) {
        self.config = config
        self.weights = weights
    }

    public convenience init(gguf file: GGUFFile) throws {
        let config = try ModelConfig(gguf: file)
        try self.init(config: config, weights: ModelWeights(gguf: file, config: config))
    }
}
