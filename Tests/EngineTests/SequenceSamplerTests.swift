import Engine
import Foundation
import Inference
import Testing

@Suite struct SequenceSamplerTests {
    static let vocabulary = 3000

    static func params(seed: UInt64?, _ change: (inout SamplingParams) -> Void = { _ in }) -> SamplingParams {
        var p = SamplingParams()
        p.seed = seed
        p.temperature = 0.9
        p.topK = 200
        p.topP = 0.95
        p.maxTokens = 64
        change(&p)
        return p
    }

    /// Tokens for `steps` rows, the row at step `i` being `syntheticLogits(seed: i)`.
    func run(_ sampler: inout SequenceSampler, steps: Int, workspace: borrowing SamplingWorkspace) -> [TokenID] {
        (0..<steps).map { step in
            var row = syntheticLogits(count: Self.vocabulary, seed: UInt64(step))
            return row.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, workspace: workspace)!.token }
        }
    }

    func tokens(_ params: SamplingParams, completionIndex: Int = 0, steps: Int = 40) throws -> [TokenID] {
        var sampler = try SequenceSampler(
            params: params, vocabularySize: Self.vocabulary, endOfGeneration: [], completionIndex: completionIndex)
        let workspace = SamplingWorkspace(vocabularySize: Self.vocabulary)
        return run(&sampler, steps: steps, workspace: workspace)
    }

    @Test func seededSamplingIsReproducible() throws {
        let first = try tokens(Self.params(seed: 42))
        #expect(try tokens(Self.params(seed: 42)) == first)
        #expect(try tokens(Self.params(seed: 43)) != first)
        #expect(Set(first).count > 5, "the test rows should leave room for chance")
    }

    @Test func completionsOfOneRequestDifferAndMatchSeedPlusIndex() throws {
        let zero = try tokens(Self.params(seed: 42), completionIndex: 0)
        let one = try tokens(Self.params(seed: 42), completionIndex: 1)
        #expect(zero != one)
        #expect(one == (try tokens(Self.params(seed: 43), completionIndex: 0)))
    }

    @Test func tokensDoNotDependOnOtherSequencesSharingTheWorkspace() throws {
        let alone = try tokens(Self.params(seed: 9))
        var a = try SequenceSampler(params: Self.params(seed: 9), vocabularySize: Self.vocabulary, endOfGeneration: [])
        var b = try SequenceSampler(params: Self.params(seed: 9) { $0.temperature = 1.5 }, vocabularySize: Self.vocabulary, endOfGeneration: [])
        let workspace = SamplingWorkspace(vocabularySize: Self.vocabulary)
        var interleaved: [TokenID] = []
        for step in 0..<40 {
            // b samples a different row before and after a, as another batch row would.
            _ = run(&b, steps: 2, workspace: workspace)
            var row = syntheticLogits(count: Self.vocabulary, seed: UInt64(step))
            interleaved.append(row.withUnsafeMutableBufferPointer { a.sample(logits: $0, workspace: workspace)!.token })
        }
        #expect(interleaved == alone)
    }

    @Test func unseededSequencesGetDistinctRecordedSeeds() throws {
        let a = try SequenceSampler(params: Self.params(seed: nil), vocabularySize: 10, endOfGeneration: [])
        let b = try SequenceSampler(params: Self.params(seed: nil), vocabularySize: 10, endOfGeneration: [])
        #expect(a.seed != nil && a.seed != b.seed)
        let greedy = try SequenceSampler(params: Self.params(seed: 1) { $0.temperature = 0 }, vocabularySize: 10, endOfGeneration: [])
        #expect(greedy.seed == nil)
    }

    @Test func chainOrderForATypicalRequest() throws {
        let p = Self.params(seed: 1) {
            $0.logitBias = [1: 2]
            $0.repetitionPenalty = 1.1
            $0.minTokens = 2
            $0.minP = 0.05
        }
        let sampler = try SequenceSampler(params: p, vocabularySize: 10, endOfGeneration: [2])
        #expect(sampler.chain.names == ["logit_bias", "penalties", "token_mask", "temperature", "top_k", "top_p", "min_p", "dist"])
        let greedy = try SequenceSampler(params: SamplingParams(), vocabularySize: 10, endOfGeneration: [2])
        #expect(greedy.chain.names == ["temperature", "dist"])
        var zero = SamplingParams()
        zero.temperature = 0
        #expect(try SequenceSampler(params: zero, vocabularySize: 10, endOfGeneration: [2]).chain.names == ["greedy"])
    }

    /// Greedy over a fixed row where the end-of-generation token 2 is the favourite.
    func greedyTokens(_ change: (inout SamplingParams) -> Void, steps: Int) throws -> (tokens: [TokenID], sampler: SequenceSampler) {
        var p = SamplingParams()
        p.temperature = 0
        change(&p)
        var sampler = try SequenceSampler(params: p, vocabularySize: 5, endOfGeneration: [2])
        let tokens = (0..<steps).map { _ in sampler.sample(logits: [1, 4, 9, 8, 3])!.token }
        return (tokens, sampler)
    }

    @Test func minTokensHoldsBackEndOfGenerationAndStopTokens() throws {
        let (tokens, sampler) = try greedyTokens({ $0.minTokens = 3; $0.stopTokenIDs = [3] }, steps: 4)
        #expect(tokens == [1, 1, 1, 2])
        #expect(sampler.isStopToken(2) && sampler.isStopToken(3) && !sampler.isStopToken(1))
        #expect(try greedyTokens({ _ in }, steps: 1).tokens == [2])
    }

    @Test func ignoreEOSNeverSamplesEndOfGeneration() throws {
        let (tokens, sampler) = try greedyTokens({ $0.ignoreEOS = true; $0.stopTokenIDs = [4] }, steps: 3)
        #expect(tokens == [3, 3, 3])
        #expect(!sampler.isStopToken(2) && sampler.isStopToken(4))
    }

    @Test func maxTokensIsReachedAfterThatManyTokens() throws {
        let (_, sampler) = try greedyTokens({ $0.maxTokens = 3 }, steps: 3)
        #expect(sampler.reachedMaxTokens && sampler.generatedCount == 3)
        #expect(!(try greedyTokens({ $0.maxTokens = 4 }, steps: 3)).sampler.reachedMaxTokens)
    }

    @Test func logprobsComeFromTheRawLogits() throws {
        var p = SamplingParams()
        p.temperature = 0
        p.logprobs = 2
        p.logitBias = [0: 50]  // makes token 0 the pick; its logprob stays the model's
        var sampler = try SequenceSampler(params: p, vocabularySize: 4, endOfGeneration: [])
        let raw: [Float] = [0.1, 0.2, 0.3, 0.4].map { Float(log($0)) + 5 }
        let result = sampler.sample(logits: raw)!
        #expect(result.token == 0)
        #expect(abs(result.logprob! - Float(log(0.1))) < 1e-5)
        #expect(result.topLogprobs.map(\.token) == [3, 2])
        #expect(approximatelyEqual(result.topLogprobs.map(\.logprob), [log(0.4), log(0.3)].map { Float($0) }, tolerance: 1e-5))
    }

    @Test func logprobsZeroGivesOnlyTheSampledToken() throws {
        var p = SamplingParams()
        p.temperature = 0
        p.logprobs = 0
        var sampler = try SequenceSampler(params: p, vocabularySize: 2, endOfGeneration: [])
        let result = sampler.sample(logits: [0, 0])!
        #expect(result.token == 0 && result.topLogprobs.isEmpty)
        #expect(abs(result.logprob! - Float(log(0.5))) < 1e-6)
        p.logprobs = nil
        var plain = try SequenceSampler(params: p, vocabularySize: 2, endOfGeneration: [])
        #expect(plain.sample(logits: [0, 0])!.logprob == nil)
    }

    @Test func tokenIDsOutsideTheVocabularyAreRejected() {
        var p = SamplingParams()
        p.logitBias = [5: 1]
        #expect(throws: SamplingParamsError.self) { try SequenceSampler(params: p, vocabularySize: 5, endOfGeneration: []) }
        p.logitBias = [4: 1]
        p.stopTokenIDs = [9]
        #expect { try SequenceSampler(params: p, vocabularySize: 5, endOfGeneration: []) } throws: {
            ($0 as? SamplingParamsError)?.field == "params.stop_token_ids"
        }
    }
}

/// The vectorized `exp`, max and sums against a Double log-softmax, through logprobs.
@Suite struct SamplingLogSoftmaxTests {
    @Test func logprobsMatchADoubleLogSoftmax() throws {
        // Ragged length (not a multiple of 8 or 64), masked entries, a wide range of logits.
        var logits = syntheticLogits(count: 5003, seed: 77).map { $0 * 2 }
        for i in stride(from: 5, to: logits.count, by: 97) { logits[i] = -.infinity }
        let m = Double(logits.max()!)
        let logSumExp = m + log(logits.reduce(0.0) { $0 + exp(Double($1) - m) })
        var p = SamplingParams()
        p.seed = 1
        p.logprobs = 20
        var sampler = try SequenceSampler(params: p, vocabularySize: logits.count, endOfGeneration: [])
        let result = sampler.sample(logits: logits)!
        #expect(abs(Double(result.logprob!) - (Double(logits[Int(result.token)]) - logSumExp)) < 1e-5)
        let expectedTop = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(20)
        #expect(result.topLogprobs.map { Int($0.token) } == Array(expectedTop))
        for entry in result.topLogprobs {
            #expect(abs(Double(entry.logprob) - (Double(logits[Int(entry.token)]) - logSumExp)) < 1e-5)
        }
    }

    @Test func maskedTokensAreNeverDrawn() throws {
        var logits = [Float](repeating: -.infinity, count: 777)
        logits[100] = -90  // far below the other: exp underflows, but it is not masked
        logits[700] = 0
        var p = SamplingParams()
        p.seed = 2
        var sampler = try SequenceSampler(params: p, vocabularySize: logits.count, endOfGeneration: [])
        let drawn = Set((0..<200).map { _ in sampler.sample(logits: logits)!.token })
        #expect(drawn == [700])
        // With everything masked but one, that one is drawn.
        logits[700] = -.infinity
        #expect(sampler.sample(logits: logits)!.token == 100)
    }
}
