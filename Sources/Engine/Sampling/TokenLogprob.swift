import Inference

/// A token with its log-probability under the model's raw distribution.
public struct TokenLogprob: Sendable, Equatable {
    public var token: TokenID
    public var logprob: Float

    public init(token: TokenID, logprob: Float) {
        self.token = token
        self.logprob = logprob
    }

    /// The `k` most likely tokens of a raw row, most likely first (ties: lower id first),
    /// given the row's log-sum-exp. One pass keeping a small sorted list; runs without a
    /// value above its last entry are skipped.
    static func top(_ k: Int, of row: UnsafePointer<Float>, count: Int, logSumExp: Float) -> [TokenLogprob] {
        guard k > 0 else { return [] }
        var best: [(logit: Float, token: Int)] = []
        best.reserveCapacity(k + 1)
        var bar = -Float.infinity  // the k-th best so far, once there are k
        VectorMath.forEachRun(of: row, count, reaching: { bar }) { block in
            for i in block {
                let x = row[i]
                // Strictly greater: an equal later (higher) id never displaces an earlier one.
                guard best.count < k || x > bar else { continue }
                var j = best.count
                while j > 0 && best[j - 1].logit < x { j -= 1 }
                best.insert((x, i), at: j)
                if best.count > k { best.removeLast() }
                if best.count == k { bar = best[k - 1].logit }
            }
            return true
        }
        return best.map { TokenLogprob(token: TokenID($0.token), logprob: $0.logit - logSumExp) }
    }
}

/// One generated token with, when the request asked for `logprobs`, its log-probability and
/// the top alternatives.
///
/// Log-probabilities come from the model's raw logits (log-softmax before logit_bias,
/// penalties, temperature or truncation), which is vLLM's default (`raw_logprobs`): they
/// describe the model, not the sampling settings.
public struct SampledToken: Sendable, Equatable {
    public var token: TokenID
    /// `nil` unless the request set `logprobs`.
    public var logprob: Float?
    /// The `logprobs` most likely tokens, most likely first; may or may not include `token`.
    public var topLogprobs: [TokenLogprob]

    public init(token: TokenID, logprob: Float? = nil, topLogprobs: [TokenLogprob] = []) {
        self.token = token
        self.logprob = logprob
        self.topLogprobs = topLogprobs
    }
}
