import ArgumentParser
import Engine
import Foundation
import Inference
import Logging

/// Throughput benchmark: every workload at every concurrency through a fresh engine, one
/// model load for all. Repeats and A/B settings are interleaved so they see the same machine.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure generation throughput, time to first token and memory over workload files.",
        discussion: """
            Each workload runs at each concurrency through a new engine (the prefix cache starts empty). \
            Generated tokens/s and total tokens/s count over the whole run; decode tokens/s only over steps \
            without prompt rows (llama-batched-bench's S_TG). Time to first token is measured from the request's \
            submission; as `scribe generate` does, twice the concurrency is kept submitted.
            """)

    static let defaultWorkloads = ["Jobs/bench/mixed.jsonl", "Jobs/bench/shared-prefix.jsonl"]

    @OptionGroup var model: ModelOption

    @Option(name: .customLong("workload"),
            help: "JSONL workload file; repeatable (default: \(defaultWorkloads.joined(separator: ", ")), unless --synthetic-prompt-tokens is given).")
    var workloads: [String] = []

    @Option(help: "Comma-separated concurrencies (sequences generated at once).")
    var concurrency = "1,8,32,64"

    @Option(help: "Run only the first N prompts of each workload file.")
    var limit: Int?

    @Option(help: "Prompts of each workload file to run at concurrency 1, which is slow (0: as at other concurrencies).")
    var sequentialLimit = 16

    @Option(help: "Add a synthetic workload: at concurrency c, c prompts of this many random tokens (llama-batched-bench's -npp).")
    var syntheticPromptTokens: Int?

    @Option(help: "Tokens each synthetic prompt generates (llama-batched-bench's -ntg).")
    var syntheticNewTokens = 128

    @Option(help: """
        Comma-separated weight-product kernels to compare: nibble-panels (quantized weights \
        times 8-bit activations, the default), panels (f32, equal to an fp32 forward pass), \
        openblas-invariant (OpenBLAS in fixed row tiles) or openblas (OpenBLAS, calls as large as the batch).
        """)
    var products = "nibble-panels"

    @Option(help: "Rows per forward call (default: the engine's, max(512, concurrency)).")
    var tokenBudget: Int?

    @Option(name: .customLong("repeat"), help: "Runs of every cell, interleaved; the table shows medians.")
    var repeats = 1

    @Option(help: "Also write the results as JSON to this file.")
    var json: String?

    @Flag(help: """
        Compare the workloads end to end (INSERT into scribe.jobs → a worker → every result in the table, \
        on a scratch database of the server DATABASE_URL names) with the engine alone, as `scribe generate` runs them; \
        the two alternate within each round.
        """)
    var endToEnd = false

    @Flag(help: "Measure the queue alone in jobs/s: jobs generating 1 token through a worker, and bare claim + complete statements.")
    var queue = false

    @Option(help: "Jobs per --queue run.")
    var queueJobs = 500

    var concurrencies: [Int] { concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    var productSettings: [BenchProducts] {
        products.split(separator: ",").compactMap { BenchProducts(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        let parts = concurrency.split(separator: ",")
        guard !parts.isEmpty, concurrencies.count == parts.count, concurrencies.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("--concurrency must be a comma-separated list of positive integers, such as 1,8,32,64")
        }
        guard !productSettings.isEmpty, productSettings.count == products.split(separator: ",").count else {
            let names = BenchProducts.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--products must be a comma-separated list of \(names)")
        }
        if model.weights != nil { throw ValidationError("bench compares kernels with --products, not --weights") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        guard sequentialLimit >= 0 else { throw ValidationError("--sequential-limit must not be negative") }
        if let syntheticPromptTokens, syntheticPromptTokens < 1 {
            throw ValidationError("--synthetic-prompt-tokens must be at least 1")
        }
        guard syntheticNewTokens >= 1 else { throw ValidationError("--synthetic-new-tokens must be at least 1") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard queueJobs >= 1 else { throw ValidationError("--queue-jobs must be at least 1") }
        if let tokenBudget, let widest = concurrencies.max(), tokenBudget < widest {
            throw ValidationError("--token-budget must cover one row per running sequence (at least \(widest))")
        }
    }

    func run() throws {
        var logger = Logger(label: "scribe.bench")
        logger.logLevel = .warning
        var loaded: [BenchWorkload] = []
        var files = workloads.isEmpty && syntheticPromptTokens == nil ? Self.defaultWorkloads : workloads
        if endToEnd || queue {
            files = endToEnd && workloads.isEmpty ? [Self.defaultWorkloads[0]] : workloads
        }
        for path in files {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("workload \(path) not found: run from the repository root or pass --workload")
            }
            loaded.append(try BenchWorkload.file(path))
        }
        if let syntheticPromptTokens {
            loaded.append(BenchWorkload(
                name: "pp\(syntheticPromptTokens)-tg\(syntheticNewTokens)",
                source: .synthetic(promptTokens: syntheticPromptTokens, newTokens: syntheticNewTokens)))
        }
        var models: [WeightMatrix.Layout: Model] = [:]
        for layout in Set(productSettings.map(\.layout)) { models[layout] = try self.model.load(layout: layout) }
        let model = models.values.first!
        let machine = BenchMachine.current(threads: self.model.engineThreads)
        stderr("bench: \(machine.cpu), \(machine.cores) cores, OpenBLAS \(machine.blasCore), kernels \(KernelSet.current), "
            + "\(machine.threads) thread\(machine.threads == 1 ? "" : "s")")
        if endToEnd || queue {
            return try runPipeline(model: model, workloads: loaded, machine: machine, logger: logger)
        }

        var runs: [BenchMeasurement] = []
        for round in 1...repeats {
            for workload in loaded {
                for concurrency in concurrencies {
                    let requests = workload.requests(
                        concurrency: concurrency, limit: promptLimit(at: concurrency), vocabularySize: model.config.vocabularySize)
                    for products in productSettings {
                        let run = BenchRun.measure(
                            model: models[products.layout]!, workload: workload.name, requests: requests,
                            concurrency: concurrency, products: products, tokenBudget: tokenBudget,
                            threads: self.model.forwardThreads, logger: logger)
                        stderr("bench: round \(round)/\(repeats) \(workload.name) c=\(concurrency) products=\(products.rawValue): "
                            + "\(format(run.seconds, digits: 1)) s, \(format(run.totalPerSecond, digits: 1)) total tok/s")
                        if run.errors > 0 { stderr("bench: \(run.errors) requests failed") }
                        runs.append(run)
                    }
                }
            }
        }
        let report = BenchReport(machine: machine, model: model.name, repeats: repeats, runs: runs)
        print(report.table)
        if let json {
            try report.json.write(to: URL(fileURLWithPath: json))
            stderr("bench: wrote \(json)")
        }
    }

    /// Prompts of each workload to run at `concurrency`.
    func promptLimit(at concurrency: Int) -> Int? {
        concurrency == 1 && sequentialLimit > 0 ? min(limit ?? .max, sequentialLimit) : limit
    }

    func stderr(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
