import Engine
import Foundation
import Inference
import Testing

/// Seeded draws against the distributions they should follow. Seeds make every run
/// identical, so the chi-square bounds cannot flake.
@Suite struct SamplingDistributionTests {
    /// Pearson's chi-square statistic of observed counts against expected probabilities.
    func chiSquare(_ counts: [Int], _ expected: [Double]) -> Double {
        let total = Double(counts.reduce(0, +))
        return zip(counts, expected).reduce(0) { sum, pair in
            let e = total * pair.1
            return sum + (Double(pair.0) - e) * (Double(pair.0) - e) / e
        }
    }

    func draw(_ params: SamplingParams, logits: [Float], draws: Int) throws -> [Int] {
        var sampler = try SequenceSampler(params: params, vocabularySize: logits.count, endOfGeneration: [])
        let workspace = SamplingWorkspace(vocabularySize: logits.count)
        var counts = [Int](repeating: 0, count: logits.count)
        var row = logits
        for _ in 0..<draws {
            row = logits
            let token = row.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, workspace: workspace)!.token }
            counts[Int(token)] += 1
        }
        return counts
    }

    @Test func drawsFollowTheSoftmax() throws {
        var params = SamplingParams()
        params.seed = 7
        let counts = try draw(params, logits: [0.1, 0.2, 0.3, 0.4].map { Float(log($0)) }, draws: 40000)
        // 3 degrees of freedom: 16.27 is the 0.1% critical value.
        #expect(chiSquare(counts, [0.1, 0.2, 0.3, 0.4]) < 16.27, "\(counts)")
    }

    @Test func drawsFollowTheTruncatedDistribution() throws {
        var params = SamplingParams()
        params.seed = 11
        params.topK = 3
        let counts = try draw(params, logits: [0.1, 0.2, 0.3, 0.4].map { Float(log($0)) }, draws: 30000)
        #expect(counts[0] == 0)
        #expect(chiSquare(Array(counts[1...]), [0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9]) < 13.82, "\(counts)")
    }

    @Test func drawsAcrossManyBlocks() throws {
        // Mass spread over tokens in different 64-entry blocks, including a partial last block.
        let tokens = [3, 64, 1000, 2500, 4998, 4999]
        let probs = [0.05, 0.1, 0.15, 0.2, 0.25, 0.25]
        var logits = [Float](repeating: -.infinity, count: 5000)
        for (t, p) in zip(tokens, probs) { logits[t] = Float(log(p)) }
        var params = SamplingParams()
        params.seed = 3
        let counts = try draw(params, logits: logits, draws: 6000)
        #expect(counts.reduce(0, +) == tokens.reduce(0) { $0 + counts[$1] }, "drew a masked token")
        // 5 degrees of freedom: 20.52 at 0.1%.
        #expect(chiSquare(tokens.map { counts[$0] }, probs) < 20.52, "\(tokens.map { counts[$0] })")
    }

    @Test func temperatureChangesTheEmpiricalDistribution() throws {
        var params = SamplingParams()
        params.seed = 5
        params.temperature = 0.5
        let counts = try draw(params, logits: [1.0 / 3, 2.0 / 3].map { Float(log($0)) }, draws: 20000)
        // {1/5, 4/5}; 1 degree of freedom: 10.83 at 0.1%.
        #expect(chiSquare(counts, [0.2, 0.8]) < 10.83, "\(counts)")
    }

    @Test func eachDrawIsTheInverseCDFOfItsUniform() {
        // Mass spread over all 79 blocks of a 5,000-token row.
        let logits = syntheticLogits(count: 5000, seed: 5).map { $0 / 4 }
        let m = Double(logits.max()!)
        let weights = logits.map { exp(Double($0) - m) }
        let total = weights.reduce(0, +)
        var cdf: [Double] = []  // cdf[i]: probability of tokens 0...i
        for w in weights { cdf.append((cdf.last ?? 0) + w / total) }
        let workspace = SamplingWorkspace(vocabularySize: logits.count)
        var rng = SamplingRNG(seed: 123)
        var checked = 0
        for _ in 0..<2000 {
            var probe = rng
            let u = probe.nextUnit()
            var row = logits
            let drawn = row.withUnsafeMutableBufferPointer { buffer in
                var candidates = TokenCandidates(row: buffer, workspace: workspace)
                var dist = DistributionSampler(rng: rng)
                dist.apply(to: &candidates)
                return candidates.id(at: candidates.selected!)
            }
            rng = probe
            let expected = cdf.firstIndex { $0 > u } ?? logits.count - 1
            // Float sums may legitimately differ from the Double CDF right at a boundary.
            guard abs(cdf[expected] - u) > 1e-6, expected == 0 || abs(cdf[expected - 1] - u) > 1e-6 else { continue }
            checked += 1
            #expect(drawn == TokenID(expected), "u = \(u)")
        }
        #expect(checked > 1900)
    }
}
