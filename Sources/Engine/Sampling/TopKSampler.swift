import Inference

/// `top_k`: keeps the `k` highest logits (lowest ids win ties), sorted.
///
/// Selection without sorting the vocabulary: the `k`-th largest of the 64-entry block
/// maxima is a lower bound for the `k`-th largest logit (those maxima are `k` distinct
/// entries), so only the few entries at or above it are gathered; a min-heap over those
/// finds the exact `k`-th value; one compaction pass keeps the winners.
public struct TopKSampler: Sampler {
    public let name = "top_k"
    let k: Int

    public init(_ k: Int) {
        precondition(k >= 1, "top_k must be at least 1")
        self.k = k
    }

    public func apply(to candidates: inout TokenCandidates) {
        let n = candidates.count
        guard k < n else { return }  // nothing to cut; later stages do not need order
        if candidates.isSorted {
            candidates.truncate(to: k)
            return
        }
        let l = candidates.logits.baseAddress!
        let scratch = candidates.scratch
        let blocks = VectorMath.blockMaxima(l, n, into: candidates.blockSums)
        var bar = -Float.infinity
        if k <= blocks {
            scratch.update(from: candidates.blockSums, count: blocks)
            bar = Self.kthLargest(scratch, blocks, k)
        }
        // Gather every value that can be in the top k (at least k of them).
        var gathered = 0
        VectorMath.forEachRun(of: l, n, reaching: { bar }) { run in
            for i in run where l[i] >= bar {
                scratch[gathered] = l[i]
                gathered += 1
            }
            return true
        }
        let kth = Self.kthLargest(scratch, gathered, k)
        // The heap, scratch[0..<k], now holds the k largest values.
        var greater = 0
        for i in 0..<k where scratch[i] > kth { greater += 1 }
        candidates.keep(atLeast: kth, tiesAllowed: k - greater)
        candidates.sortDescending()
    }

    /// The `k`-th largest of `count >= k` values; leaves the `k` largest in `values[0..<k]`
    /// and the rest overwritten.
    static func kthLargest(_ values: UnsafeMutablePointer<Float>, _ count: Int, _ k: Int) -> Float {
        // A min-heap of the best k in values[0..<k]; its root is the k-th largest so far.
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(values, i, k) }
        for i in k..<count where values[i] > values[0] {
            values[0] = values[i]
            siftDown(values, 0, k)
        }
        return values[0]
    }

    private static func siftDown(_ heap: UnsafeMutablePointer<Float>, _ start: Int, _ count: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            guard left < count else { return }
            let right = left + 1
            let child = right < count && heap[right] < heap[left] ? right : left
            guard heap[child] < heap[i] else { return }
            let t = heap[i]
            heap[i] = heap[child]
            heap[child] = t
            i = child
        }
    }
}
