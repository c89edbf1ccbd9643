/// The chain's last stage when sampling: draws one candidate with probability
/// `softmax(logits)`, using exactly one number from the sequence's own generator.
///
/// The `exp` pass also records per-block sums, so the walk to the drawn token skips whole
/// blocks instead of adding up to 49,152 terms one by one.
public struct DistributionSampler: Sampler {
    public let name = "dist"
    public private(set) var rng: SamplingRNG

    public init(rng: SamplingRNG) {
        self.rng = rng
    }

    public mutating func apply(to candidates: inout TokenCandidates) {
        let n = candidates.count
        guard n > 0 else { return }
        let u = rng.nextUnit()  // drawn even when n == 1: one draw per token, always
        guard n > 1 else { return candidates.select(0) }
        let m = candidates.maxLogit()
        let e = candidates.scratch
        let blocks = candidates.blockSums
        let blockSize = VectorMath.blockSize
        // The total is the Double sum of the block sums in walk order, so the target is reached.
        let total = VectorMath.expShifted(candidates.logits.baseAddress!, n, minus: m, into: e, blockSums: blocks)
        let blockCount = (n + blockSize - 1) / blockSize
        guard total > 0, total.isFinite else {
            // Every candidate masked (or the row is broken): fall back to the argmax.
            return GreedySampler().apply(to: &candidates)
        }
        let target = u * total
        var cumulative = 0.0
        var block = 0
        while block < blockCount - 1, cumulative + Double(blocks[block]) <= target {
            cumulative += Double(blocks[block])
            block += 1
        }
        // Inside the block; rounding may leave the target just past its end: take its last
        // token with non-zero probability then.
        var chosen = -1
        for i in (block * blockSize)..<min(n, (block + 1) * blockSize) where e[i] > 0 {
            chosen = i
            cumulative += Double(e[i])
            if cumulative > target { break }
        }
        if chosen < 0 {
            // Only if u * total rounded up to total and the last block has no mass.
            chosen = (0..<n).last { e[$0] > 0 } ?? 0
        }
        candidates.select(chosen)
    }
}
