import Engine
import Foundation
import Inference
import Testing

/// The fast paths (heap top-k, threshold-prefiltered top-p, logit-space min-p) against a
/// naive full sort on vocabulary-sized rows, as llm.c keeps a naive kernel next to each fast one.
@Suite struct SamplerLargeVocabularyTests {
    struct Config: CustomStringConvertible, Sendable {
        var temperature: Double, topK: Int, topP: Double, minP: Double
        var description: String { "T=\(temperature) k=\(topK) p=\(topP) min_p=\(minP)" }
    }

    /// The surviving token ids by the definitions: sort everything, cut.
    func referenceSurvivors(_ logits: [Float], _ c: Config) -> Set<TokenID> {
        let scale = 1 / Float(c.temperature)
        let scaled = logits.map { $0 * scale }
        var order = scaled.indices.sorted { scaled[$0] > scaled[$1] || (scaled[$0] == scaled[$1] && $0 < $1) }
        if c.topK > 0 { order = Array(order.prefix(c.topK)) }
        if c.topP < 1 {
            let m = Double(scaled[order[0]])
            let weights = order.map { exp(Double(scaled[$0]) - m) }
            let total = weights.reduce(0, +)
            var cumulative = 0.0
            var keep = order.count
            for (i, w) in weights.enumerated() {
                cumulative += w
                if cumulative >= c.topP * total { keep = i + 1; break }
            }
            order = Array(order.prefix(keep))
        }
        if c.minP > 0 {
            let threshold = scaled[order[0]] + Float(log(c.minP))
            order = order.filter { scaled[$0] >= threshold }
        }
        return Set(order.map { TokenID($0) })
    }

    func fastSurvivors(_ logits: [Float], _ c: Config) -> Set<TokenID> {
        var stages: [any Sampler] = [TemperatureSampler(c.temperature)]
        if c.topK > 0 { stages.append(TopKSampler(c.topK)) }
        if c.topP < 1 { stages.append(TopPSampler(c.topP)) }
        if c.minP > 0 { stages.append(MinPSampler(c.minP)) }
        return Set(applySamplers(stages, logits: logits).logits.keys)
    }

    func difference(_ fast: Set<TokenID>, _ reference: Set<TokenID>) -> String {
        "\(fast.count) vs \(reference.count) tokens; only fast: \(fast.subtracting(reference).sorted().prefix(10)), "
            + "only reference: \(reference.subtracting(fast).sorted().prefix(10))"
    }

    static let configs: [Config] = [
        Config(temperature: 0.8, topK: 0, topP: 0.9, minP: 0),
        Config(temperature: 1, topK: 40, topP: 0.95, minP: 0.05),
        Config(temperature: 0.7, topK: 0, topP: 1, minP: 0.1),
        Config(temperature: 1.3, topK: 1000, topP: 0.5, minP: 0),
        Config(temperature: 1, topK: 0, topP: 0.999, minP: 0),
        Config(temperature: 2, topK: 0, topP: 0.3, minP: 0),
    ]

    @Test(arguments: configs)
    func matchesTheNaiveDefinition(config: Config) {
        for seed: UInt64 in 1...3 {
            let logits = syntheticLogits(count: 49152, seed: seed)
            let fast = fastSurvivors(logits, config)
            #expect(!fast.isEmpty)
            let reference = referenceSurvivors(logits, config)
            #expect(fast == reference, "seed \(seed): \(difference(fast, reference))")
        }
    }

    @Test func flatDistributionFallsBackToSortingEverything() {
        // No threshold within 32 of the max holds 90% of the mass: top_p must sort all.
        var rng = SamplingRNG(seed: 1)
        let logits = (0..<20000).map { _ in Float(rng.nextUnit()) * 0.01 }
        let config = Config(temperature: 1, topK: 0, topP: 0.9, minP: 0)
        let fast = fastSurvivors(logits, config)
        let reference = referenceSurvivors(logits, config)
        #expect(fast.count > 17000)
        #expect(fast == reference, "\(difference(fast, reference))")
    }

    @Test func topKWithManyTiesKeepsExactlyKLowestIDs() {
        var logits = [Float](repeating: 1, count: 10000)
        logits[9999] = 2
        let fast = fastSurvivors(logits, Config(temperature: 1, topK: 5, topP: 1, minP: 0))
        #expect(fast == [9999, 0, 1, 2, 3])
    }
}
