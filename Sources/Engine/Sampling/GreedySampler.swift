/// `temperature` 0: selects the highest logit; ties go to the lowest token id.
public struct GreedySampler: Sampler {
    public let name = "greedy"
    public init() {}

    public func apply(to candidates: inout TokenCandidates) {
        guard candidates.count > 0 else { return }
        // Unsorted candidates list ids ascending and sorted ones put lower ids first among
        // equals, so the first maximum is the lowest-id one either way.
        let m = candidates.maxLogit()
        let l = candidates.logits.baseAddress!
        var best = 0
        VectorMath.forEachRun(of: l, candidates.count, reaching: { m }) { block in
            guard let i = block.first(where: { l[$0] == m }) else { return true }
            best = i
            return false
        }
        candidates.select(best)
    }
}
