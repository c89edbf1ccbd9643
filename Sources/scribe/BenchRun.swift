import ScribeCore
import ArgumentParser
import Engine
import Foundation
import Inference
import Logging

/// The prompts of one benchmark workload.
struct BenchWorkload {
    enum Source {
        /// Requests read from a JSONL file.
        case requests([GenerationRequest])
        /// At concurrency c: c prompts of random tokens (llama-batched-bench's `-npp/-ntg/-npl` shape).
        case synthetic(promptTokens: Int, newTokens: Int)
    }

    var name: String
    var source: Source
    /// The file's lines as read, for enqueueing them as jobs (none for synthetic workloads).
    var objects: [[String: JSONValue]] = []

    static func file(_ path: String) throws -> BenchWorkload {
        var requests: [GenerationRequest] = []
        var objects: [[String: JSONValue]] = []
        for (index, line) in try BatchRunner.readLines(path).enumerated() where !line.allSatisfy(\.isWhitespace) {
            do {
                guard case .object(let object) = try JSONValue.parse(line) else {
                    throw GenerationError("the line is not a JSON object")
                }
                requests.append(try GenerationRequest.parse(object, id: String(index + 1)))
                objects.append(object)
            } catch {
                throw ValidationError("\(path), line \(index + 1): \(error)")
            }
        }
        guard !requests.isEmpty else { throw ValidationError("\(path) holds no requests") }
        let name = String((path.split(separator: "/").last ?? Substring(path)).split(separator: ".").first ?? "workload")
        return BenchWorkload(name: name, source: .requests(requests), objects: objects)
    }

    /// The requests to run at `concurrency`, at most `limit` of them.
    func requests(concurrency: Int, limit: Int?, vocabularySize: Int) -> [GenerationRequest] {
        switch source {
        case .requests(let all):
            return Array(all.prefix(limit ?? all.count))
        case .synthetic(let promptTokens, let newTokens):
            var params = SamplingParams()
            params.maxTokens = newTokens
            params.temperature = 0
            params.ignoreEOS = true
            // Distinct random prompts, so no prefix is shared (llama-batched-bench does not share either).
            return (0..<concurrency).map { index in
                var random = SplitMix64(seed: UInt64(index + 1))
                let tokens = (0..<promptTokens).map { _ in
                    TokenID(256 + Int(random.next() % UInt64(vocabularySize - 256)))
                }
                return GenerationRequest(id: String(index + 1), prompt: .tokens(tokens), params: params)
            }
        }
    }
}

/// Which kernel computes the weight products in a bench run.
enum BenchProducts: String, Codable, CaseIterable {
    case panels
    case nibblePanels = "nibble-panels"
    case openBLASInvariant = "openblas-invariant"
    case openBLAS = "openblas"

    var layout: WeightMatrix.Layout {
        switch self {
        case .panels: .panels
        case .nibblePanels: .nibblePanels
        case .openBLASInvariant, .openBLAS: .rowMajor
        }
    }
    var batchInvariant: Bool { self != .openBLAS }
}

/// What one run of a workload through a fresh engine measured.
struct BenchMeasurement: Codable {
    var workload: String
    var concurrency: Int
    var products: BenchProducts
    var requests: Int
    var errors: Int
    var promptTokens: Int
    var generatedTokens: Int
    /// Prompt tokens whose cache came from an earlier request with the same prefix.
    var prefixHitTokens: Int
    /// Rows the forward calls computed (prompt tokens not served by the cache, plus decode rows).
    var computedRows: Int
    var steps: Int
    var preemptions: Int
    var seconds: Double
    var generatedPerSecond: Double
    var totalPerSecond: Double
    /// Tokens generated per second in steps without prompt rows: llama-batched-bench's S_TG.
    var decodePerSecond: Double
    var firstTokenP50: Double
    var firstTokenP95: Double
    var peakResidentMB: Double
    /// Building the engine (the KV cache), not counted in `seconds`.
    var setupSeconds: Double
}

enum BenchRun {
    /// Runs `requests` through a new engine, keeping twice `concurrency` requests submitted
    /// (as `scribe generate` does), so time to first token is the engine's, not the file's queue.
    static func measure(
        model: Model, workload: String, requests: [GenerationRequest], concurrency: Int,
        products: BenchProducts, tokenBudget: Int?, threads: Int? = nil, logger: Logger
    ) -> BenchMeasurement {
        let clock = ContinuousClock()
        let setupStart = clock.now
        let configuration = EngineConfiguration(
            maxRunning: concurrency, tokenBudget: tokenBudget, batchInvariant: products.batchInvariant, threads: threads)
        let engine = Engine(model: model, configuration: configuration, logger: logger)
        let setupSeconds = (clock.now - setupStart).seconds
        PeakMemory.reset()

        var results: [GenerationResult] = []
        var next = 0
        var decodeTime = Duration.zero
        var decodeTokens = 0
        let window = concurrency * 2
        let start = clock.now
        while next < requests.count || !engine.isIdle {
            while next < requests.count && engine.load < window {
                engine.submit(requests[next])
                next += 1
            }
            let before = engine.statistics
            let stepStart = clock.now
            results += engine.step()
            let after = engine.statistics
            if after.promptRows == before.promptRows && after.rows > before.rows {
                decodeTime += clock.now - stepStart
                decodeTokens += after.generatedTokens - before.generatedTokens
            }
        }
        let seconds = (clock.now - start).seconds
        let statistics = engine.statistics

        let succeeded = results.filter { if case .success = $0.outcome { true } else { false } }
        let prompt = succeeded.reduce(0) { $0 + $1.promptTokens }
        let generated = succeeded.reduce(0) { $0 + $1.completionTokens }
        let firstTokens = succeeded.map(\.timings.firstToken).sorted()
        return BenchMeasurement(
            workload: workload, concurrency: concurrency, products: products,
            requests: requests.count, errors: results.count - succeeded.count,
            promptTokens: prompt, generatedTokens: generated,
            prefixHitTokens: succeeded.reduce(0) { $0 + $1.cachedPromptTokens },
            computedRows: statistics.rows, steps: statistics.steps, preemptions: statistics.preemptions,
            seconds: seconds,
            generatedPerSecond: Double(generated) / seconds,
            totalPerSecond: Double(prompt + generated) / seconds,
            decodePerSecond: decodeTime > .zero ? Double(decodeTokens) / decodeTime.seconds : 0,
            firstTokenP50: percentile(firstTokens, 0.5), firstTokenP95: percentile(firstTokens, 0.95),
            peakResidentMB: PeakMemory.residentMB ?? 0, setupSeconds: setupSeconds)
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// The process's peak resident memory (VmHWM), which the kernel lets us reset between runs.
enum PeakMemory {
    /// Writing 5 to clear_refs resets the peak to the current resident size (Linux ≥ 4.0).
    static func reset() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    static var residentMB: Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }
}
