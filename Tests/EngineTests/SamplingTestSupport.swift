import Engine
import Foundation
import Inference

/// Runs sampler stages on a distribution given as probabilities (logits = log p, as in
/// llama.cpp's test-sampling.cpp) and returns the surviving tokens with renormalized
/// probabilities, most likely first.
func applySamplers(_ samplers: [any Sampler], probs: [Float]) -> [(token: TokenID, prob: Float)] {
    applySamplers(samplers, logits: probs.map { Float(log(Double($0))) }).survivors
}

/// Runs sampler stages on a logits row; returns the processed logits of the survivors
/// (by token) and their renormalized probabilities, most likely first.
func applySamplers(
    _ samplers: [any Sampler], logits: [Float]
) -> (survivors: [(token: TokenID, prob: Float)], logits: [TokenID: Float], selected: TokenID?) {
    let workspace = SamplingWorkspace(vocabularySize: logits.count)
    var row = logits
    return row.withUnsafeMutableBufferPointer { buffer in
        var candidates = TokenCandidates(row: buffer, workspace: workspace)
        var chain = SamplerChain(samplers)
        chain.apply(to: &candidates)
        var byToken: [TokenID: Float] = [:]
        for i in 0..<candidates.count { byToken[candidates.id(at: i)] = candidates.logits[i] }
        let m = byToken.values.max() ?? 0
        let weights = byToken.mapValues { Double(exp($0 - m)) }
        let total = weights.values.reduce(0, +)
        var survivors: [(token: TokenID, prob: Float)] = []
        for (token, weight) in weights { survivors.append((token, Float(weight / total))) }
        survivors.sort { a, b in a.prob > b.prob || (a.prob == b.prob && a.token < b.token) }
        return (survivors, byToken, candidates.selected.map { candidates.id(at: $0) })
    }
}

/// Whether two lists of probabilities agree within `tolerance` each.
func approximatelyEqual(_ a: [Float], _ b: [Float], tolerance: Float = 1e-3) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

/// A reproducible pseudo-random logits row shaped like a model's: most tokens near 0,
/// a few far above.
func syntheticLogits(count: Int, seed: UInt64) -> [Float] {
    var rng = SamplingRNG(seed: seed)
    return (0..<count).map { _ in
        let u = Float(rng.nextUnit()), v = Float(rng.nextUnit())
        // Gaussian-ish body plus a sparse heavy tail of likely tokens.
        let body = (u + v - 1) * 6
        return rng.next() % 500 == 0 ? body + 12 + Float(rng.nextUnit()) * 8 : body
    }
}
