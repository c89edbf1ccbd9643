import Engine
import Foundation
import Inference
import Testing

/// µs (thread CPU time) per sampled token on a 49,152-entry row, for Engine.docc/Sampling.md.
/// Off by default (debug builds say nothing about speed); run with
/// `SCRIBE_SAMPLING_BENCH=1 swift test -c release --filter SamplingSpeed`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SCRIBE_SAMPLING_BENCH"] == "1"))
struct SamplingSpeedTests {
    static let vocabulary = 49152

    /// Shaped like SmolLM2-135M's logits (fixture statistics: mean -10, std 3.8, max 12.6):
    /// a Gaussian body and a few likely tokens.
    static func row(seed: UInt64) -> [Float] {
        var rng = SamplingRNG(seed: seed)
        var row = (0..<vocabulary).map { _ -> Float in
            let u = max(rng.nextUnit(), 1e-12), v = rng.nextUnit()
            return Float(-10 + 3.8 * (-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        }
        for (i, logit) in [12.6, 8.4, 8.0, 7.4, 6.7, 6.0, 5.6, 5.2, 4.8].enumerated() {
            row[(i * 7919 + Int(seed) * 104_729) % vocabulary] = Float(logit)
        }
        return row
    }

    static let configs: [(String, @Sendable (inout SamplingParams) -> Void)] = [
        ("greedy", { $0.temperature = 0 }),
        ("T 1 (full softmax)", { _ in }),
        ("T 0.7 top_k 40 top_p 0.9", { $0.temperature = 0.7; $0.topK = 40; $0.topP = 0.9 }),
        ("T 0.8 top_p 0.95", { $0.temperature = 0.8; $0.topP = 0.95 }),
        ("T 0.8 min_p 0.05", { $0.temperature = 0.8; $0.minP = 0.05 }),
        ("typical + rep 1.1 + logprobs 5", {
            $0.temperature = 0.7; $0.topK = 40; $0.topP = 0.9; $0.repetitionPenalty = 1.1; $0.logprobs = 5
        }),
    ]

    /// This thread's CPU time: on a shared machine, wall time would count other processes' turns.
    static func threadCPUNanoseconds() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    @Test func microsecondsPerToken() throws {
        let rows = (0..<16).map { Self.row(seed: UInt64($0)) }
        let prompt = (0..<300).map { TokenID($0 * 37) }
        let workspace = SamplingWorkspace(vocabularySize: Self.vocabulary)
        var row = rows[0]
        for (label, configure) in Self.configs {
            var params = SamplingParams()
            params.seed = 1
            params.maxTokens = 100_000
            configure(&params)
            var sampler = try SequenceSampler(
                params: params, vocabularySize: Self.vocabulary, endOfGeneration: [2], prompt: prompt)
            var best = Double.infinity
            for _ in 0..<3 {
                var elapsed: UInt64 = 0
                for i in 0..<1000 {
                    row.withUnsafeMutableBufferPointer { dst in
                        rows[i % rows.count].withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                    }
                    let start = Self.threadCPUNanoseconds()
                    _ = row.withUnsafeMutableBufferPointer { sampler.sample(logits: $0, workspace: workspace) }
                    elapsed += Self.threadCPUNanoseconds() - start
                }
                best = min(best, Double(elapsed) / 1000 / 1000)
            }
            print("sampling \(label): \(String(format: "%.1f", best)) µs/token")
            #expect(best > 0)
        }
    }
}
