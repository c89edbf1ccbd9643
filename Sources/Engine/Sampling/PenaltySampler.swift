import Inference

/// `repetition_penalty`, `presence_penalty` and `frequency_penalty` with vLLM's meanings.
///
/// - repetition: for every token seen in the prompt or the output (once, whatever the count),
///   a positive logit is divided by the penalty and a non-positive one multiplied by it;
/// - then, for tokens generated so far (output only): `logit -= frequency * count + presence`.
public struct PenaltySampler: Sampler {
    public let name = "penalties"
    let repetition: Float
    let presence: Float
    let frequency: Float
    /// Distinct tokens seen, with how often each was generated (0: prompt only).
    /// Parallel arrays: iterated every token, so kept flat; `slot` finds a token's entry.
    private var tokens: [TokenID] = []
    private var generated: [Int32] = []
    private var slot: [TokenID: Int] = [:]

    public init(repetition: Double, presence: Double, frequency: Double, prompt: some Sequence<TokenID>) {
        self.repetition = Float(repetition)
        self.presence = Float(presence)
        self.frequency = Float(frequency)
        // Prompt tokens only matter to the repetition penalty.
        if repetition != 1 {
            for token in prompt where slot[token] == nil {
                slot[token] = tokens.count
                tokens.append(token)
                generated.append(0)
            }
        }
    }

    /// Whether the parameters change anything (a chain leaves the stage out when not).
    public static func isActive(repetition: Double, presence: Double, frequency: Double) -> Bool {
        repetition != 1 || presence != 0 || frequency != 0
    }

    public func apply(to candidates: inout TokenCandidates) {
        for (k, token) in tokens.enumerated() {
            guard let i = candidates.index(of: token) else { continue }
            var x = candidates.logits[i]
            if repetition != 1 { x = x > 0 ? x / repetition : x * repetition }
            let count = generated[k]
            if count > 0 { x -= frequency * Float(count) + presence }
            candidates.logits[i] = x
        }
    }

    public mutating func accept(_ token: TokenID) {
        if let k = slot[token] {
            generated[k] += 1
        } else {
            slot[token] = tokens.count
            tokens.append(token)
            generated.append(1)
        }
    }
}
