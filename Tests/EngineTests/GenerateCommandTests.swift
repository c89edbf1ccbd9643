import ScribeCore
import Engine
import Foundation
import Inference
import Testing
import TestSupport

/// `scribe generate` as a user runs it: the built binary on the real model, checked against
/// the fp32 reference ids of Tests/Fixtures/reference/greedy.jsonl.
@Suite(.serialized) struct GenerateCommandTests {
    static let tokenizer: Tokenizer? = Repository.referenceModelPath.flatMap { try? Tokenizer(gguf: GGUFFile(path: $0)) }

    /// In f32 panels, so results can be compared with the fp32 reference.
    static func scribe(_ arguments: [String], input: String? = nil) throws -> ProcessResult {
        let model = try #require(Repository.referenceModelPath, "reference model not fetched (run Ops/setup)")
        return try ChildProcess.run([Executables.scribe] + arguments + ["--model", model, "--weights", "panels"], input: input)
    }

    /// One output line of `--input`, its fields picked out.
    struct OutputLine {
        var object: [String: JSONValue]

        init(_ text: Substring) throws {
            guard case .object(let object) = try JSONValue.parse(String(text)) else {
                throw GenerationError("not a JSON object: \(text)")
            }
            self.object = object
        }

        var id: JSONValue? { object["id"] }
        var error: String? { if case .string(let value)? = object["error"] { value } else { nil } }
        var line: Int? { object["line"]?.intValue }
        var text: String? { if case .string(let value)? = object["text"] { value } else { nil } }
        var finishReason: String? { if case .string(let value)? = object["finish_reason"] { value } else { nil } }
        var tokenIDs: [TokenID]? {
            guard case .array(let values)? = object["token_ids"] else { return nil }
            return values.compactMap { $0.intValue.map(TokenID.init) }
        }
        func usage(_ key: String) -> Int? {
            guard case .object(let usage)? = object["usage"] else { return nil }
            return usage[key]?.intValue
        }
    }

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    }

    /// `--prompt` prints the continuation of the reference's greedy ids: a raw prompt runs to
    /// `--max-tokens`; a ChatML prompt (special tokens recognised) stops at `<|im_end|>`,
    /// whose text is not printed.
    @Test func promptPrintsTheGreedyContinuation() throws {
        let tokenizer = try #require(Self.tokenizer, "reference model not fetched (run Ops/setup)")
        let cases = try ReferenceData.greedy()
        let raw = try #require(cases.first { $0.kind == "raw" })
        let chat = try #require(cases.first { $0.kind == "chatml" && $0.ref_fp32_ids.count <= 8 })
        for reference in [raw, chat] {
            let result = try Self.scribe(["generate", "--prompt", reference.prompt, "--max-tokens", "8", "--temperature", "0"])
            #expect(result.status == 0, "\(result.standardError)")
            let expected = Array(reference.ref_fp32_ids.prefix(8)).filter { !tokenizer.isEndOfGeneration($0) }
            #expect(result.standardOutput == tokenizer.decode(expected) + "\n", "\(reference.prompt.prefix(30))")
        }
    }

    /// Good and bad lines mixed: one output line per non-blank input line in input order, errors
    /// with their line number and id, results with the reference's greedy ids; greedy and seeded
    /// lines give the same results at --concurrency 4 and 1.
    @Test func inputFileWithBadLines() throws {
        let tokenizer = try #require(Self.tokenizer, "reference model not fetched (run Ops/setup)")
        let cases = try ReferenceData.greedy()
        let raws = cases.filter { $0.kind == "raw" }
        let chat = try #require(cases.first { $0.kind == "chatml" && $0.ref_fp32_ids.count > 8 })
        // <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n
        let parts = chat.prompt.components(separatedBy: "<|im_end|>\n<|im_start|>")
        let system = String(parts[0].dropFirst("<|im_start|>system\n".count))
        let question = String(parts[1].dropFirst("user\n".count))
        let lines = [
            #"{"id": "r0", "prompt": \#(Self.jsonString(raws[0].prompt)), "max_tokens": 8, "temperature": 0}"#,
            #"{"id": 7, "messages": [{"role": "system", "content": \#(Self.jsonString(system))}, {"role": "user", "content": \#(Self.jsonString(question))}], "max_tokens": 6, "temperature": 0}"#,
            #"{"id": "broken", "prompt": "x""#,
            #"{"id": "typo", "prompt": "x", "max_tokenz": 5}"#,
            "",
            #"{"id": "negative", "prompt": "x", "max_tokens": -3}"#,
            #"{"id": "empty", "max_tokens": 4}"#,
            #"{"id": "seeded", "prompt": \#(Self.jsonString(raws[1].prompt)), "max_tokens": 8, "temperature": 0.8, "seed": 7}"#,
            #"[1, 2]"#,
            #"{"id": "r2", "prompt": \#(Self.jsonString(raws[2].prompt)), "max_tokens": 5, "temperature": 0}"#,
        ]
        let folder = FileManager.default.temporaryDirectory.path + "/scribe-generate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/in.jsonl", atomically: true, encoding: .utf8)

        func run(concurrency: Int) throws -> [OutputLine] {
            let output = folder + "/out\(concurrency).jsonl"
            let result = try Self.scribe(["generate", "--input", folder + "/in.jsonl", "--output", output,
                                          "--concurrency", "\(concurrency)"])
            #expect(result.status == 0, "\(result.standardError)")
            let text = try String(contentsOfFile: output, encoding: .utf8)
            return try text.split(separator: "\n").map(OutputLine.init)
        }
        let output = try run(concurrency: 4)
        // Line numbers count every input line; the blank line 5 has no output.
        let expectedLines = [1, 2, 3, 4, 6, 7, 8, 9, 10]
        try #require(output.count == expectedLines.count)

        let errors: [Int: (id: JSONValue, words: String)] = [
            3: (.null, "invalid JSON: unexpected end of text"), 4: (.string("typo"), "max_tokenz"), 6: (.string("negative"), "max_tokens"),
            7: (.string("empty"), "missing prompt or messages"), 9: (.null, "not a JSON object"),
        ]
        for (index, line) in zip(expectedLines, output) {
            guard let (id, words) = errors[index] else {
                #expect(line.error == nil, "line \(index): \(line.error ?? "")")
                continue
            }
            #expect(line.line == index && line.id == id)
            #expect(line.error?.contains(words) == true, "line \(index): \(line.error ?? "no error")")
            #expect(line.error?.contains("DecodingError") == false, "a reason in words: \(line.error ?? "")")
            #expect(line.text == nil && line.tokenIDs == nil)
        }

        // Greedy lines: the reference ids, their text and usage.
        for (index, reference, maxTokens) in [(0, raws[0], 8), (8, raws[2], 5)] {
            let line = output[index]
            let expected = Array(reference.ref_fp32_ids.prefix(maxTokens))
            #expect(line.tokenIDs == expected)
            #expect(line.text == tokenizer.decode(expected))
            #expect(line.finishReason == "length")
            #expect(line.usage("prompt_tokens") == reference.prompt_ids.count)
            #expect(line.usage("completion_tokens") == maxTokens)
        }
        #expect(output[0].id == .string("r0") && output[8].id == .string("r2"))
        // The messages line goes through the chat template; it answers like the reference.
        #expect(output[1].id == .integer(7))
        #expect(output[1].tokenIDs == Array(chat.ref_fp32_ids.prefix(6)))
        #expect(output[1].usage("prompt_tokens") == chat.prompt_ids.count)
        #expect(output[6].id == .string("seeded") && output[6].tokenIDs?.count == 8)

        // Batch invariance from the command line.
        let alone = try run(concurrency: 1)
        try #require(alone.count == output.count)
        for (together, single) in zip(output, alone) {
            #expect(together.tokenIDs == single.tokenIDs && together.text == single.text
                    && together.finishReason == single.finishReason && together.error == single.error)
        }
    }

    /// A bad command line is refused, with the reason, before any model is loaded.
    @Test(arguments: [
        (["--prompt", "x", "--input", "/nonexistent"], "either --prompt or --input"),
        (["--prompt", "x", "--max-tokens", "0"], "--max-tokens must be at least 1"),
        (["--prompt", "x", "--temperature=-1"], "--temperature must be a number >= 0"),
        (["--input", "/nonexistent", "--concurrency", "0"], "--concurrency must be at least 1"),
        (["--prompt", "x", "--threads", "0"], "--threads must be at least 1"),
    ])
    func badArgumentsAreRefused(_ arguments: [String], _ reason: String) throws {
        let result = try ChildProcess.run([Executables.scribe, "generate", "--model", "/nonexistent.gguf"] + arguments)
        #expect(result.status != 0)
        #expect(result.standardError.contains(reason), "\(result.standardError)")
    }

    /// A request the engine refuses ends the command with its reason (not a usage text).
    @Test func aPromptBeyondTheContextIsAnError() throws {
        let result = try Self.scribe(["generate", "--prompt", "Hello", "--max-tokens", "9000"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("exceeds the model's context length"), "\(result.standardError)")
        #expect(!result.standardError.contains("USAGE"))
        #expect(result.standardOutput.isEmpty)
    }

    /// `--threads` changes how the work is split, never the result: each output of a
    /// product is computed whole by one thread.
    @Test func oneThreadGivesTheSameTokensAsTwo() throws {
        let runs = try ["1", "2"].map { threads in
            try Self.scribe(["generate", "--prompt", "Once upon a time", "--max-tokens", "24", "--temperature", "0",
                             "--threads", threads])
        }
        #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.standardError))")
        #expect(!runs[0].standardOutput.isEmpty && runs[0].standardOutput == runs[1].standardOutput)
    }
}
