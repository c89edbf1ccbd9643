import Inference

/// Sampler stages run in order on one token's candidates; itself a ``Sampler``.
///
/// The chain ``init(params:endOfGeneration:prompt:completionIndex:)`` builds, in this order
/// (stages whose parameters are neutral are left out):
///
/// 1. `logit_bias` — ``LogitBiasSampler``
/// 2. `penalties` — ``PenaltySampler``: repetition (prompt + output), then presence and
///    frequency (output only), vLLM semantics
/// 3. `token_mask` — ``TokenMaskSampler``: end-of-generation and `stop_token_ids` at -inf
///    until `min_tokens`; end-of-generation always with `ignore_eos`
/// 4. with `temperature` 0: `greedy` — ``GreedySampler``, argmax, ties to the lowest id;
///    otherwise `temperature` → `top_k` → `top_p` → `min_p` → `dist` (one draw from the
///    sequence's ``SamplingRNG``).
///
/// Stages 1–3 change single tokens of the full row in O(1) each; truncation comes after
/// temperature, so `top_p` and `min_p` see the tempered distribution (as in vLLM and
/// llama.cpp's default chain). vLLM applies `min_p` before `top_k`/`top_p`; here it comes
/// last, as in llama.cpp — the two orders differ only when both `top_p` and `min_p` cut.
public struct SamplerChain: Sampler {
    public let name = "chain"
    public private(set) var samplers: [any Sampler]

    public init(_ samplers: [any Sampler]) {
        self.samplers = samplers
    }

    /// The documented chain for a request's parameters.
    /// - Parameters:
    ///   - endOfGeneration: the model's end-of-generation token ids (EOS, EOT, …).
    ///   - prompt: the prompt's tokens, for the repetition penalty.
    ///   - completionIndex: which of the request's `n` completions; seeds `seed + index`.
    public init(
        params: SamplingParams, endOfGeneration: [TokenID], prompt: some Sequence<TokenID>,
        completionIndex: Int = 0
    ) {
        var stages: [any Sampler] = []
        if !params.logitBias.isEmpty { stages.append(LogitBiasSampler(params.logitBias)) }
        if PenaltySampler.isActive(
            repetition: params.repetitionPenalty, presence: params.presencePenalty,
            frequency: params.frequencyPenalty)
        {
            stages.append(PenaltySampler(
                repetition: params.repetitionPenalty, presence: params.presencePenalty,
                frequency: params.frequencyPenalty, prompt: prompt))
        }
        let mask = TokenMaskSampler(
            endOfGeneration: endOfGeneration, stopTokenIDs: params.stopTokenIDs,
            minTokens: params.minTokens, ignoreEOS: params.ignoreEOS)
        if mask.isActive { stages.append(mask) }
        if params.isGreedy {
            stages.append(GreedySampler())
        } else {
            stages.append(TemperatureSampler(params.temperature))
            if params.topK > 0 { stages.append(TopKSampler(params.topK)) }
            if params.topP < 1 { stages.append(TopPSampler(params.topP)) }
            if params.minP > 0 { stages.append(MinPSampler(params.minP)) }
            stages.append(DistributionSampler(rng: SamplingRNG(seed: params.seed, completionIndex: completionIndex)))
        }
        self.init(stages)
    }

    /// Stage names in order, e.g. `["penalties", "temperature", "top_k", "dist"]`.
    public var names: [String] { samplers.map(\.name) }

    /// The seed of the chain's random stream (`nil` for greedy chains).
    public var seed: UInt64? {
        samplers.lazy.compactMap { ($0 as? DistributionSampler)?.rng.seed }.first
    }

    public mutating func apply(to candidates: inout TokenCandidates) {
        for i in samplers.indices {
            samplers[i].apply(to: &candidates)
        }
    }

    public mutating func accept(_ token: TokenID) {
        for i in samplers.indices {
            samplers[i].accept(token)
        }
    }
}
