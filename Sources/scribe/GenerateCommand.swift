import ArgumentParser
import Engine
import Foundation
import Inference
import Logging

/// Generation without the database: one prompt, or a JSONL file of requests run with
/// continuous batching.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate from one prompt, or from a JSONL file of requests with continuous batching.",
        discussion: """
            Input lines: {"id": …, "prompt": "…" | "messages": [{"role": "user", "content": "…"}], \
            "max_tokens": 32, "temperature": 0, …} with any sampling parameter.
            Output lines, in input order: {"id": …, "text": "…", "token_ids": […], "finish_reason": "stop" | "length", \
            "usage": {"prompt_tokens": …, "completion_tokens": …}}; a bad line gets {"id": …, "line": N, "error": "…"} (N counts from 1); blank lines are skipped.
            """)

    @OptionGroup var model: ModelOption

    @Option(help: "The prompt (raw text; special-token text is recognised).")
    var prompt: String?

    @Flag(help: "Treat --prompt as a user message and apply the model's chat template.")
    var chat = false

    @Option(help: "Tokens to generate for --prompt.")
    var maxTokens = 128

    @Option(help: "Sampling temperature for --prompt (0 = greedy).")
    var temperature: Double = 0

    @Option(help: "Random seed for --prompt.")
    var seed: UInt64?

    @Option(help: "JSONL file of requests.")
    var input: String?

    @Option(help: "Where to write the JSONL results (default: standard output).")
    var output: String?

    @Option(help: "Sequences generated at once with --input.")
    var concurrency = 32

    func validate() throws {
        guard (prompt == nil) != (input == nil) else {
            throw ValidationError("give either --prompt or --input")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be a number >= 0") }
    }

    func run() throws {
        let logger = Logger(label: "scribe.generate")
        let loaded = try model.load()
        if let prompt {
            try generate(prompt, model: loaded, logger: logger)
            return
        }
        let engine = Engine(model: loaded, configuration: EngineConfiguration(maxRunning: concurrency, threads: model.forwardThreads),
                            logger: logger)
        let lines = try BatchRunner.readLines(input!)
        let sink = try OutputSink(path: output)
        let summary = try BatchRunner(engine: engine).run(lines: lines, write: sink.write)
        logger.info("Batch finished", metadata: [
            "requests": "\(summary.requests)", "errors": "\(summary.errors)",
            "tokens.generated": "\(summary.generatedTokens)", "seconds": "\(format(summary.seconds, digits: 2))",
            "tokens.per_s": "\(format(Double(summary.generatedTokens) / max(summary.seconds, 1e-9), digits: 1))",
        ])
    }

    /// Prints the continuation of one prompt; a request the engine refuses is the command's error.
    private func generate(_ prompt: String, model: Model, logger: Logger) throws {
        var params = SamplingParams()
        params.maxTokens = maxTokens
        params.temperature = temperature
        params.seed = seed
        let input: PromptInput = chat ? .messages([ChatMessage(role: "user", content: prompt)]) : .text(prompt)
        // A KV cache for this one sequence, not for --concurrency of them (32 sequences of 2048
        // positions are 3 GB for the reference model). A prompt the template cannot render
        // fails in the engine, with its message.
        let promptLength = chat ? (try? model.promptTokens([ChatMessage(role: "user", content: prompt)]))?.count ?? 0
            : model.promptTokens(prompt).count
        let configuration = EngineConfiguration(
            maxRunning: 1, cachePositions: max(1, min(promptLength + maxTokens, model.config.contextLength)),
            threads: self.model.forwardThreads)
        let engine = Engine(model: model, configuration: configuration, logger: logger)
        engine.submit(GenerationRequest(id: "prompt", prompt: input, params: params))
        let result = BatchRunner.drain(engine).first!
        switch result.outcome {
        case .success(let completions): print(completions[0].text)
        case .failure(let error): throw error
        }
    }
}

/// Where result lines go: a file or standard output.
final class OutputSink {
    private let handle: FileHandle

    init(path: String?) throws {
        guard let path else {
            handle = FileHandle.standardOutput
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ValidationError("cannot write \(path)")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func write(_ line: String) {
        handle.write(Data((line + "\n").utf8))
    }
}
