import Inference

/// One stage of a sampler chain (llama.cpp's `llama_sampler`): reweights or narrows the
/// candidates, or, as the last stage, selects one.
public protocol Sampler: Sendable {
    /// A short name for logs and docs (`top_k`, `dist`).
    var name: String { get }
    /// Processes the candidates of the token being drawn.
    mutating func apply(to candidates: inout TokenCandidates)
    /// Records the token the chain finally produced, for stages with memory (penalties, min_tokens).
    mutating func accept(_ token: TokenID)
}

extension Sampler {
    public mutating func accept(_ token: TokenID) {}
}
