import Inference

/// `logit_bias`: adds a fixed amount to chosen tokens' logits (OpenAI/vLLM: added, so -100 is
/// a near-ban rather than an exact one).
public struct LogitBiasSampler: Sampler {
    public let name = "logit_bias"
    let bias: [(token: TokenID, amount: Float)]

    public init(_ bias: [TokenID: Double]) {
        self.bias = bias.keys.sorted().map { ($0, Float(bias[$0]!)) }
    }

    public func apply(to candidates: inout TokenCandidates) {
        for (token, amount) in bias {
            if let i = candidates.index(of: token) { candidates.logits[i] += amount }
        }
    }
}
