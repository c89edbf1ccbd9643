/// `top_p` (nucleus): keeps the smallest set of most likely tokens whose probability
/// reaches `p`, with probabilities from the softmax over the current candidates.
///
/// Without a preceding `top_k` the candidates are the whole vocabulary; instead of sorting it,
/// the probability mass above a few logit thresholds (max - 1, max - 2, max - 4, …) is
/// measured with vectorized sums, and only the tokens above the first threshold that holds
/// enough mass are sorted. Tokens below it cannot be in the nucleus, so the result is exact.
public struct TopPSampler: Sampler {
    public let name = "top_p"
    let p: Double

    public init(_ p: Double) {
        self.p = p
    }

    public func apply(to candidates: inout TokenCandidates) {
        guard p < 1, candidates.count > 1 else { return }
        let m = candidates.maxLogit()
        guard m.isFinite else { return }
        let e = candidates.scratch
        // Mass of the current candidates; the nucleus is measured against it.
        let total = VectorMath.expShifted(candidates.logits.baseAddress!, candidates.count, minus: m, into: e)
        let target = p * total
        if !candidates.isSorted {
            for gap: Float in [1, 2, 4, 8, 16, 32] {
                let mass = VectorMath.sum(e, where: candidates.logits.baseAddress!, atLeast: m - gap, candidates.count)
                if mass >= target {
                    candidates.keep(atLeast: m - gap)
                    break
                }
            }
            candidates.sortDescending()
            _ = VectorMath.expShifted(candidates.logits.baseAddress!, candidates.count, minus: m, into: e)
        }
        var cumulative = 0.0
        for i in 0..<candidates.count {
            cumulative += Double(e[i])
            if cumulative >= target {
                candidates.truncate(to: i + 1)
                return
            }
        }
    }
}
