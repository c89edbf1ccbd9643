import Inference

/// `min_tokens` and `ignore_eos`: gives tokens that would end generation a logit of -inf.
///
/// - Until `min_tokens` tokens are generated, the model's end-of-generation tokens and the
///   request's `stop_token_ids` are masked (vLLM's min-tokens processor).
/// - With `ignore_eos`, end-of-generation tokens are masked for the whole generation, as
///   llama.cpp does. (vLLM instead samples them and keeps going; a batch job gains nothing
///   from text generated after the model's end marker.) `stop_token_ids` still stop.
public struct TokenMaskSampler: Sampler {
    public let name = "token_mask"
    let always: [TokenID]
    let untilMinTokens: [TokenID]
    let minTokens: Int
    private(set) var generated = 0

    public init(endOfGeneration: [TokenID], stopTokenIDs: [TokenID], minTokens: Int, ignoreEOS: Bool) {
        always = ignoreEOS ? endOfGeneration : []
        let stopping = Set(ignoreEOS ? stopTokenIDs : endOfGeneration + stopTokenIDs).subtracting(always)
        untilMinTokens = minTokens > 0 ? stopping.sorted() : []
        self.minTokens = minTokens
    }

    public var isActive: Bool { !always.isEmpty || !untilMinTokens.isEmpty }

    public func apply(to candidates: inout TokenCandidates) {
        for token in always { mask(token, in: &candidates) }
        if generated < minTokens {
            for token in untilMinTokens { mask(token, in: &candidates) }
        }
    }

    private func mask(_ token: TokenID, in candidates: inout TokenCandidates) {
        if let i = candidates.index(of: token) { candidates.logits[i] = -.infinity }
    }

    public mutating func accept(_ token: TokenID) {
        generated += 1
    }
}
