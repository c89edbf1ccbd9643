import Engine
import Foundation
import Inference
import Testing

/// Hand-computable distributions through single stages, in the manner of llama.cpp's test-sampling.cpp.
@Suite struct SamplerTests {
    let probs: [Float] = [0.1, 0.2, 0.3, 0.4]

    func survivingProbs(_ samplers: [any Sampler]) -> [Float] {
        applySamplers(samplers, probs: probs).map(\.prob)
    }

    @Test func topK() {
        #expect(approximatelyEqual(survivingProbs([TopKSampler(1)]), [1]))
        #expect(approximatelyEqual(survivingProbs([TopKSampler(3)]), [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9]))
        #expect(approximatelyEqual(survivingProbs([TopKSampler(4)]), [0.4, 0.3, 0.2, 0.1]))
        #expect(approximatelyEqual(survivingProbs([TopKSampler(9)]), [0.4, 0.3, 0.2, 0.1]))
        #expect(applySamplers([TopKSampler(2)], probs: probs).map(\.token) == [3, 2])
    }

    @Test func topKKeepsLowestIDsOnTies() {
        let result = applySamplers([TopKSampler(2)], logits: [1, 5, 3, 5, 5, 0])
        #expect(Set(result.logits.keys) == [1, 3])
    }

    @Test func topP() {
        #expect(approximatelyEqual(survivingProbs([TopPSampler(0.3)]), [1]))
        #expect(approximatelyEqual(survivingProbs([TopPSampler(0.5)]), [0.4 / 0.7, 0.3 / 0.7]))
        #expect(approximatelyEqual(survivingProbs([TopPSampler(0.75)]), [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9]))
        #expect(approximatelyEqual(survivingProbs([TopPSampler(1)]), [0.4, 0.3, 0.2, 0.1]))
    }

    @Test func topPAfterTopKUsesTheRenormalizedDistribution() {
        // After top_k 3: {0.444, 0.333, 0.222}; 0.444 < 0.7 <= 0.777.
        #expect(approximatelyEqual(survivingProbs([TopKSampler(3), TopPSampler(0.7)]), [0.4 / 0.7, 0.3 / 0.7]))
    }

    @Test func minP() {
        // Keep p >= min_p * 0.4.
        #expect(approximatelyEqual(survivingProbs([MinPSampler(0.5)]), [0.4 / 0.9, 0.3 / 0.9, 0.2 / 0.9]))
        #expect(approximatelyEqual(survivingProbs([MinPSampler(0.74)]), [0.4 / 0.7, 0.3 / 0.7]))
        #expect(approximatelyEqual(survivingProbs([MinPSampler(0.76)]), [1]))
        #expect(approximatelyEqual(survivingProbs([MinPSampler(0)]), [0.4, 0.3, 0.2, 0.1]))
    }

    @Test func temperature() {
        // p ∝ q^(1/T): {1/3, 2/3} → T 0.5 squares → {1/5, 4/5}; T 2 → {1, √2}/(1 + √2).
        let third: [Float] = [1.0 / 3, 2.0 / 3]
        let sharp = applySamplers([TemperatureSampler(0.5)], probs: third).map(\.prob)
        #expect(approximatelyEqual(sharp, [0.8, 0.2]))
        let flat = applySamplers([TemperatureSampler(2)], probs: third).map(\.prob)
        let r = Float(2.0.squareRoot())
        #expect(approximatelyEqual(flat, [r / (1 + r), 1 / (1 + r)]))
    }

    @Test func temperatureComesBeforeTruncation() {
        // T 0.5 turns {0.1,...,0.4} into {1,4,9,16}/30; top_p 0.6 then keeps 16/30 + 9/30
        // (without the temperature it would keep 0.4 + 0.3, i.e. {0.571, 0.429}).
        let result = survivingProbs([TemperatureSampler(0.5), TopPSampler(0.6)])
        #expect(approximatelyEqual(result, [16.0 / 25, 9.0 / 25]))
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        var penalties = PenaltySampler(repetition: 2, presence: 0, frequency: 0, prompt: [0, 1, 1])
        penalties.accept(2)
        let result = applySamplers([penalties], logits: [2, -1, 3, 4])
        #expect(result.logits == [0: 1, 1: -2, 2: 1.5, 3: 4])
    }

    @Test func presenceAndFrequencyPenaltiesCountOutputTokensOnly() {
        var penalties = PenaltySampler(repetition: 1, presence: 0.25, frequency: 0.5, prompt: [0, 1])
        for token: TokenID in [2, 2, 3, 2] { penalties.accept(token) }
        let result = applySamplers([penalties], logits: [1, 1, 1, 1, 1])
        // token 2: 3 × 0.5 + 0.25; token 3: 0.5 + 0.25; prompt tokens 0, 1 untouched.
        #expect(result.logits == [0: 1, 1: 1, 2: -0.75, 3: 0.25, 4: 1])
    }

    @Test func allPenaltiesTogether() {
        var penalties = PenaltySampler(repetition: 1.5, presence: 1, frequency: 1, prompt: [0])
        penalties.accept(1)
        let result = applySamplers([penalties], logits: [3, 3, 3])
        // Repetition first (3 / 1.5 = 2), then token 1: 2 - 1 - 1.
        #expect(result.logits == [0: 2, 1: 0, 2: 3])
    }

    @Test func logitBiasAddsToChosenTokens() {
        let result = applySamplers([LogitBiasSampler([1: 5, 3: -100, 7: 1])], logits: [0, 0, 0, 0])
        #expect(result.logits == [0: 0, 1: 5, 2: 0, 3: -100])
    }

    @Test func greedyPicksTheLowestIDAmongTies() {
        #expect(applySamplers([GreedySampler()], logits: [1, 3, 3, 2]).selected == 1)
        #expect(applySamplers([GreedySampler()], logits: [7, 3, 7, 7]).selected == 0)
        // Also after sorting: ties keep ascending ids.
        #expect(applySamplers([TopKSampler(3), GreedySampler()], logits: [1, 3, 2, 3]).selected == 1)
        #expect(applySamplers([GreedySampler()], logits: [-.infinity, 1, 5]).selected == 2)
    }

    @Test func tokenMaskBlocksEndOfGenerationUntilMinTokens() {
        var mask = TokenMaskSampler(endOfGeneration: [3], stopTokenIDs: [1], minTokens: 2, ignoreEOS: false)
        #expect(applySamplers([mask], logits: [0, 0, 0, 0]).logits == [0: 0, 1: -.infinity, 2: 0, 3: -.infinity])
        mask.accept(0)
        #expect(applySamplers([mask], logits: [0, 0, 0, 0]).logits[3] == -.infinity)
        mask.accept(0)
        #expect(applySamplers([mask], logits: [0, 0, 0, 0]).logits == [0: 0, 1: 0, 2: 0, 3: 0])
    }

    @Test func ignoreEOSMasksEndOfGenerationForever() {
        var mask = TokenMaskSampler(endOfGeneration: [3], stopTokenIDs: [1], minTokens: 0, ignoreEOS: true)
        for _ in 0..<5 { mask.accept(0) }
        #expect(applySamplers([mask], logits: [0, 0, 0, 0]).logits == [0: 0, 1: 0, 2: 0, 3: -.infinity])
    }
}
