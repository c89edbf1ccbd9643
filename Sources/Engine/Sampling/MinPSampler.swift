import Foundation

/// `min_p`: drops tokens whose probability is below `p` times the most likely token's.
///
/// `prob_i / prob_max = exp(logit_i - logit_max)`, so this is a logit threshold
/// `logit_max + ln p`: one compare per candidate, no `exp`, no sort.
public struct MinPSampler: Sampler {
    public let name = "min_p"
    let p: Float
    let logP: Float

    public init(_ p: Double) {
        self.p = Float(p)
        logP = Float(log(p))
    }

    public func apply(to candidates: inout TokenCandidates) {
        guard p > 0, candidates.count > 1 else { return }
        let m = candidates.maxLogit()
        guard m.isFinite else { return }
        candidates.keep(atLeast: m + logP)
    }
}
