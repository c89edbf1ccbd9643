import Foundation
import JobStore
import Testing
import TestSupport

/// `scribe batch …` commands and `scribe worker` processes against a real database and the
/// real model; every result line is checked by the `openai` Python package.
@Suite(.serialized) struct BatchEndToEndTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    static func environment(_ database: IsolatedDatabase) throws -> [String: String] {
        var environment = Repository.environment
        environment["DATABASE_URL"] = try database.connectionString()
        environment["SCRIBE_LOG_LEVEL"] = "info"
        environment["SCRIBE_WEBHOOK_ALLOW"] = "127.0.0.1"  // the tests' receivers
        return environment
    }

    static func scribe(_ database: IsolatedDatabase, _ arguments: [String]) throws -> ProcessResult {
        try ChildProcess.run([Executables.scribe] + arguments, environment: environment(database))
    }

    static func worker(_ database: IsolatedDatabase, concurrency: Int = 8) throws -> DaemonProcess {
        try DaemonProcess([Executables.scribe, "worker", "--concurrency", "\(concurrency)", "--webhook-secret", secret],
                          environment: environment(database))
    }

    /// Writes `lines` to a temporary .jsonl file.
    static func file(_ lines: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.path + "/scribe-batch-\(UUID().uuidString).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `scribe batch submit`, returning the batch name printed alone on stdout's last line.
    static func submit(_ database: IsolatedDatabase, _ path: String, _ extra: [String] = []) throws -> String {
        let result = try scribe(database, ["batch", "submit", path] + extra)
        try #require(result.status == 0, "\(result.standardError)")
        let name = try #require(result.standardOutput.split(separator: "\n").last.map(String.init))
        #expect(name.hasPrefix("batch_"))
        return name
    }

    static func status(_ database: IsolatedDatabase, _ name: String) throws -> String {
        try scribe(database, ["batch", "status", name]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func chatLine(_ id: String, _ content: String, _ extra: String = "") -> String {
        #"{"custom_id": "\#(id)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "\#(content)"}]\#(extra)}}"#
    }

    /// Output and error lines of a batch, after checking them and its batch object with
    /// the `openai` package.
    static func results(_ database: IsolatedDatabase, _ name: String) throws -> (output: [[String: Any]], errors: [[String: Any]]) {
        let folder = FileManager.default.temporaryDirectory.path + "/scribe-results-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fetched = try scribe(database, ["batch", "results", name, "--output", folder + "/out.jsonl", "--errors", folder + "/err.jsonl"])
        try #require(fetched.status == 0, "\(fetched.standardError)")
        let output = try String(contentsOfFile: folder + "/out.jsonl", encoding: .utf8)
        let errors = try String(contentsOfFile: folder + "/err.jsonl", encoding: .utf8)
        let batch = try scribe(database, ["batch", "status", name, "--json"]).standardOutput
        let check = try OpenAIBatchCheck.run(lines: output + errors, batchJSON: batch)
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        func objects(_ text: String) throws -> [[String: Any]] {
            try text.split(separator: "\n").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }
        return (try objects(output), try objects(errors))
    }

    static func body(_ line: [String: Any]) -> [String: Any]? {
        (line["response"] as? [String: Any])?["body"] as? [String: Any]
    }

    @Test func chatAndCompletionBatchesRunToResultsAndWebhooks() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let receiver = try HTTPReceiver(verifySecrets: [Self.secret])
            let chat = try Self.file([
                Self.chatLine("greedy", "Name a color.", #", "max_tokens": 6, "temperature": 0"#),
                Self.chatLine("two", "Say hi.", #", "max_completion_tokens": 4, "temperature": 0.8, "seed": 3, "n": 2"#),
                Self.chatLine("logprobs", "Count to three.", #", "max_tokens": 4, "temperature": 0, "logprobs": true, "top_logprobs": 3"#),
                Self.chatLine("bad-token", "x", #", "max_tokens": 2, "logit_bias": {"999999": 5}"#),
            ])
            let completions = try Self.file([
                #"{"custom_id": "c1", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": "Once upon a time", "max_tokens": 5, "temperature": 0, "logprobs": 2}}"#,
                #"{"custom_id": "c2", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": ["The sky is"], "max_tokens": 3, "n": 2, "seed": 1}}"#,
            ])
            let chatBatch = try Self.submit(database, chat, ["--callback-url", receiver.url + "/batches", "--metadata", "run=e2e"])
            let completionBatch = try Self.submit(database, completions)
            let worker = try Self.worker(database)
            let done = try eventually(timeout: 180) {
                try Self.status(database, chatBatch).hasPrefix("completed") && Self.status(database, completionBatch).hasPrefix("completed")
            }
            let reached = try Self.status(database, chatBatch)
            #expect(done, "\(reached) \(worker.log)")
            #expect(try Self.status(database, chatBatch) == "completed total=4 completed=3 failed=1")

            let (output, errors) = try Self.results(database, chatBatch)
            #expect(output.map { $0["custom_id"] as? String } == ["greedy", "two", "logprobs"])
            #expect(errors.map { $0["custom_id"] as? String } == ["bad-token"])
            #expect(((errors.first?["error"] as? [String: Any])?["message"] as? String)?.contains("logit_bias") == true)
            let choices = output.map { (Self.body($0)?["choices"] as? [[String: Any]]) ?? [] }
            #expect(choices.map(\.count) == [1, 2, 1])
            let greedyText = (choices[0].first?["message"] as? [String: Any])?["content"] as? String ?? ""
            #expect(!greedyText.isEmpty)
            let logprobs = (choices[2].first?["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] ?? []
            #expect(!logprobs.isEmpty && logprobs.allSatisfy { ($0["top_logprobs"] as? [Any])?.count == 3 })
            let usage = Self.body(output[1])?["usage"] as? [String: Int]
            #expect((usage?["completion_tokens"] ?? 0) >= 2 && (usage?["completion_tokens"] ?? 99) <= 8)  // two choices of ≤ 4

            let (completionOutput, completionErrors) = try Self.results(database, completionBatch)
            #expect(completionErrors.isEmpty && completionOutput.count == 2)
            #expect(Self.body(completionOutput[0])?["object"] as? String == "text_completion")
            #expect((Self.body(completionOutput[1])?["choices"] as? [Any])?.count == 2)

            // The batch webhook: sent once, signed, with the final counts.
            let hooks = receiver.requests(atLeast: 1, timeout: 30).filter { $0.path == "/batches" }
            #expect(hooks.count == 1)
            #expect(hooks.first?.verified == true, "\(hooks.first?.verifyError ?? "")")
            let payload = try #require(hooks.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] })
            #expect(payload["type"] as? String == "batch.completed")
            let data = payload["data"] as? [String: Any]
            #expect(data?["id"] as? String == chatBatch)
            #expect(data?["request_counts"] as? [String: Int] == ["total": 4, "completed": 3, "failed": 1])
            #expect(data?["metadata"] as? [String: String] == ["run": "e2e"])
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0)
        }
    }

    @Test func invalidFilesAreRefusedWithLineNumbersAndNothingIsEnqueued() throws {
        try IsolatedDatabase.with { database in
            let path = try Self.file([
                Self.chatLine("a", "Hi"),
                #"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [}"#,
                #"{"custom_id": "c", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}"#,
                #"{"custom_id": "d", "method": "POST", "url": "/v1/chat/completions"}"#,
                Self.chatLine("a", "again"),
            ])
            let dryRun = try Self.scribe(database, ["batch", "submit", path, "--dry-run"])
            #expect(dryRun.status == 1)
            let result = try Self.scribe(database, ["batch", "submit", path])
            #expect(result.status == 1)
            #expect(result.standardOutput.isEmpty)
            for expected in [":2: invalid_json", ":3: invalid_url", ":4: missing_body", ":5: duplicate_custom_id"] {
                #expect(result.standardError.contains(expected), "\(expected) in \(result.standardError)")
            }
            #expect(!result.standardError.contains(":1:"))
            let connection = try database.connect()
            #expect(try connection.query("SELECT count(*) FROM scribe.jobs").scalar == "0")
            // The refusal is on record once (not for the dry run), as OpenAI records a failed batch.
            let failed = try connection.query("SELECT status, jsonb_array_length(errors) FROM scribe.batches").rows
            #expect(failed == [["failed", "4"]])
            let valid = try Self.file([Self.chatLine("a", "Hi")])
            let check = try Self.scribe(database, ["batch", "submit", valid, "--dry-run"])
            #expect(check.status == 0 && check.standardOutput.isEmpty)
            #expect(try connection.query("SELECT count(*) FROM scribe.batches").scalar == "1")
        }
    }

    @Test func cancellingMidBatchStopsTheRestAndKeepsWhatFinished() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let quick = (1...2).map { Self.chatLine("quick-\($0)", "Hi", #", "max_tokens": 2, "temperature": 0"#) }
            let slow = (1...10).map { Self.chatLine("slow-\($0)", "Tell a long story", #", "max_tokens": 3000, "ignore_eos": true"#) }
            let name = try Self.submit(database, try Self.file(quick + slow))
            let worker = try Self.worker(database, concurrency: 4)
            let connection = try database.connect()
            #expect(try eventually(timeout: 60) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'succeeded'").scalar == "2"
                    && connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'running'").scalar != "0"
            })
            let cancel = try Self.scribe(database, ["batch", "cancel", name])
            #expect(["cancelling", "cancelled"].contains(cancel.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(try eventually(timeout: 60) { try Self.status(database, name).hasPrefix("cancelled") }, "\(worker.log)")
            #expect(try Self.status(database, name) == "cancelled total=12 completed=2 failed=10")
            let (output, errors) = try Self.results(database, name)
            #expect(output.map { $0["custom_id"] as? String } == ["quick-1", "quick-2"])
            #expect(errors.count == 10)
            #expect(errors.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "batch_cancelled" })
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0)
        }
    }

    @Test func requestsStillRunningWhenTheWindowEndsExpire() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let quick = Self.chatLine("quick", "Hi", #", "max_tokens": 2, "temperature": 0"#)
            let slow = (1...6).map { Self.chatLine("slow-\($0)", "Tell a long story", #", "max_tokens": 3000, "ignore_eos": true"#) }
            let receiver = try HTTPReceiver()
            let name = try Self.submit(database, try Self.file([quick] + slow),
                                       ["--completion-window", "10s", "--callback-url", receiver.url])
            let worker = try Self.worker(database, concurrency: 2)
            #expect(try eventually(timeout: 90) { try Self.status(database, name).hasPrefix("expired") }, "\(worker.log)")
            let (output, errors) = try Self.results(database, name)
            #expect(output.map { $0["custom_id"] as? String } == ["quick"])
            #expect(errors.count == 6)
            #expect(errors.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "batch_expired" })
            let hook = receiver.requests(atLeast: 1, timeout: 30).first
            #expect(hook?.body.contains(#""type": "batch.expired""#) == true)
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0)
        }
    }

    /// Not a timed test: prints how long 50,000 lines take to validate and enqueue, and to cancel.
    @Test func fiftyThousandLinesSubmitAndCancelWhole() throws {
        try IsolatedDatabase.with { database in
            let lines = (1...50_000).map {
                Self.chatLine("request-\($0)", "Summarise item \($0) of the catalogue in one line.", #", "max_tokens": 64, "temperature": 0.2"#)
            }
            let path = try Self.file(lines)
            defer { try? FileManager.default.removeItem(atPath: path) }
            var started = Date()
            let name = try Self.submit(database, path)
            let submitSeconds = Date().timeIntervalSince(started)
            let connection = try database.connect()
            #expect(try connection.query("SELECT count(*), count(DISTINCT custom_id) FROM scribe.jobs").rows == [["50000", "50000"]])
            #expect(try Self.status(database, name) == "in_progress total=50000 completed=0 failed=0")
            started = Date()
            #expect(try Self.scribe(database, ["batch", "cancel", name]).standardOutput == "cancelled\n")
            let cancelSeconds = Date().timeIntervalSince(started)
            #expect(try Self.status(database, name) == "cancelled total=50000 completed=0 failed=50000")
            print("batch of 50000 lines: submit \(String(format: "%.2f", submitSeconds)) s, cancel \(String(format: "%.2f", cancelSeconds)) s")
        }
    }
}
