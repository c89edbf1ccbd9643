import Foundation
import JobStore
import Testing
import TestSupport

/// `scribe.batches`: creation, counts kept by triggers, cancel, expiry and batch webhooks,
/// against a real database (workers played by `JobQueue` calls).
@Suite struct BatchStoreTests {
    static func requests(_ count: Int, params: String = #"{"max_tokens": 4}"#) -> [BatchJobInput] {
        (1...count).map { BatchJobInput(customID: "req-\($0)", prompt: "Prompt \($0)", paramsJSON: params) }
    }

    static let hook = "http://127.0.0.1:9/batch-hook"

    static func newBatch(window: Duration = .seconds(86_400)) -> NewBatch {
        NewBatch(endpoint: "/v1/completions", model: "smol", inputFile: "in.jsonl", completionWindow: "24h",
                 window: window, metadata: ["team": "docs"], callbackURL: hook)
    }

    /// The batch webhook payloads written so far, oldest first.
    static func webhooks(_ connection: PostgresConnection, _ id: Int64) throws -> [[String: Any]] {
        try connection.query(
            "SELECT payload FROM scribe.webhook_deliveries WHERE subject_type = 'batch' AND subject_id = $1 ORDER BY id", [id]
        ).rows.map { try #require(JSONSerialization.jsonObject(with: Data($0[0]!.utf8)) as? [String: Any]) }
    }

    @Test func createWritesOneJobPerRequestInOrderUnderOneBatch() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            var reported: [Int] = []
            let messages = BatchJobInput(customID: "chat \"quoted\"\n", messagesJSON: #"[{"role":"user","content":"Hi \\ there"}]"#,
                                         paramsJSON: #"{"n": 2}"#)
            let id = try store.create(Self.newBatch(), requests: Self.requests(5) + [messages], chunkBytes: 200) {
                reported.append($0)
            }
            #expect(reported.last == 6 && reported.count > 1)  // several chunks, progress after each
            let record = try #require(try store.batch(id))
            #expect(record.status == .inProgress && record.total == 6 && record.completed == 0 && record.model == "smol")
            let jobs = try store.connection.query(
                "SELECT custom_id, prompt, messages->0->>'content', params::text, status FROM scribe.jobs WHERE batch_id = $1 ORDER BY id",
                [id]).rows
            #expect(jobs.map { $0[0] } == ["req-1", "req-2", "req-3", "req-4", "req-5", "chat \"quoted\"\n"])
            #expect(jobs[0][1] == "Prompt 1" && jobs[0][3] == #"{"max_tokens": 4}"# && jobs[0][4] == "queued")
            #expect(jobs[5][1] == nil && jobs[5][2] == "Hi \\ there")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(record.objectJSON.utf8)) as? [String: Any])
            #expect(object["id"] as? String == "batch_\(id)" && object["object"] as? String == "batch")
            #expect(object["metadata"] as? [String: String] == ["team": "docs"])
            #expect((object["expires_at"] as? Int ?? 0) - (object["created_at"] as? Int ?? 0) == 86_400)
            #expect(object["in_progress_at"] is Int && object["completed_at"] is NSNull)
        }
    }

    @Test func aDuplicateCustomIDCannotBeWrittenAndNothingIsLeftBehind() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let twice = Self.requests(3) + Self.requests(1)
            #expect(throws: PostgresError.self) { try store.create(Self.newBatch(), requests: twice) }
            #expect(try store.connection.query("SELECT count(*) FROM scribe.jobs").scalar == "0")
            #expect(try store.connection.query("SELECT count(*) FROM scribe.batches").scalar == "0")
        }
    }

    @Test func countsFollowFinishedJobsAndTheLastOneCompletesTheBatch() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.create(Self.newBatch(), requests: Self.requests(3))
            let queue = try database.queue("w1")
            let jobs = try queue.claim(limit: 3, model: nil, lease: .seconds(30))
            #expect(jobs.count == 3)
            _ = try queue.complete([JobResult(id: jobs[0].id, attempt: 1, outcome: .succeeded, text: "a", promptTokens: 5,
                                              completionTokens: 2, timings: ["cached_prompt_tokens": 3])])
            _ = try queue.complete([JobResult(id: jobs[1].id, attempt: 1, outcome: .failed(error: "bad"))])
            var record = try #require(try store.batch(id))
            #expect(record.status == .inProgress && record.completed == 1 && record.failed == 1)
            #expect(try Self.webhooks(store.connection, id).isEmpty)
            _ = try queue.complete([JobResult(id: jobs[2].id, attempt: 1, outcome: .succeeded, text: "c", promptTokens: 4,
                                              completionTokens: 1)])
            record = try #require(try store.batch(id))
            #expect(record.status == .completed && record.completed == 2 && record.failed == 1)
            let hooks = try Self.webhooks(store.connection, id)
            #expect(hooks.count == 1)
            #expect(hooks.first?["type"] as? String == "batch.completed")
            let data = try #require(hooks.first?["data"] as? [String: Any])
            #expect(data["status"] as? String == "completed" && data["completed_at"] is Int && data["finalizing_at"] is Int)
            #expect(data["request_counts"] as? [String: Int] == ["total": 3, "completed": 2, "failed": 1])
            let usage = try #require(data["usage"] as? [String: Any])
            #expect(usage["input_tokens"] as? Int == 9 && usage["output_tokens"] as? Int == 3 && usage["total_tokens"] as? Int == 12)
            #expect((usage["input_tokens_details"] as? [String: Int])?["cached_tokens"] == 3)
            #expect(data["output_file_id"] as? String == "batch_\(id)-output")
            #expect(data["error_file_id"] as? String == "batch_\(id)-errors")
            let rows = try store.results(of: id)
            #expect(rows.map(\.customID) == ["req-1", "req-2", "req-3"])
            #expect(rows.map(\.status) == [.succeeded, .failed, .succeeded])
            #expect(try store.results(of: id, afterJob: rows[0].jobID, limit: 1).map(\.customID) == ["req-2"])
        }
    }

    @Test func cancelStopsQueuedAndRunningRequestsAndKeepsFinishedOnes() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.create(Self.newBatch(), requests: Self.requests(5))
            let queue = try database.queue("w1")
            let jobs = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            _ = try queue.complete([JobResult(id: jobs[0].id, attempt: 1, outcome: .succeeded, text: "done")])
            #expect(try store.cancel(id) == .cancelling)  // jobs[1] is still running
            let statuses = try store.connection.query(
                "SELECT status, count(*) FROM scribe.jobs WHERE batch_id = $1 GROUP BY status ORDER BY status", [id]).rows
            #expect(statuses == [["cancelled", "3"], ["cancelling", "1"], ["succeeded", "1"]])
            #expect(try queue.claim(limit: 5, model: nil, lease: .seconds(30)).isEmpty)
            // The worker sees the cancel and writes the stopped sequence.
            _ = try queue.complete([JobResult(id: jobs[1].id, attempt: 1, outcome: .cancelled, text: "part")])
            let record = try #require(try store.batch(id))
            #expect(record.status == .cancelled && record.completed == 1 && record.failed == 4)
            #expect(try Self.webhooks(store.connection, id).map { $0["type"] as? String } == ["batch.cancelled"])
            #expect(try store.cancel(id) == .cancelled)  // a second cancel changes nothing
            #expect(try store.cancel(99_999) == nil)
        }
    }

    @Test func cancelFromSQLIsCarriedOutByTheSweep() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.create(Self.newBatch(), requests: Self.requests(3))
            #expect(try store.connection.query("SELECT scribe.cancel_batch($1)", [id]).scalar == "cancelling")
            #expect(try store.connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'queued'").scalar == "3")
            #expect(try store.sweep() == BatchStore.Sweep(expired: 0, jobsStopped: 3))
            #expect(try store.batch(id)?.status == .cancelled)
            #expect(try store.sweep() == BatchStore.Sweep(expired: 0, jobsStopped: 0))
        }
    }

    @Test func requestsUnfinishedWhenTheWindowEndsExpire() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.create(Self.newBatch(window: .seconds(1)), requests: Self.requests(4))
            let later = try store.create(Self.newBatch(), requests: [BatchJobInput(customID: "x", prompt: "x", paramsJSON: "{}")])
            let queue = try database.queue("w1")
            let jobs = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            _ = try queue.complete([JobResult(id: jobs[0].id, attempt: 1, outcome: .succeeded, text: "in time")])
            #expect(try store.sweep() == BatchStore.Sweep(expired: 0, jobsStopped: 0))  // window not over yet
            Thread.sleep(forTimeInterval: 1.2)
            #expect(try store.sweep() == BatchStore.Sweep(expired: 1, jobsStopped: 3))
            #expect(try store.batch(id)?.status == .inProgress)  // jobs[1] is still being stopped
            _ = try queue.complete([JobResult(id: jobs[1].id, attempt: 1, outcome: .cancelled, text: "cut")])
            let record = try #require(try store.batch(id))
            #expect(record.status == .expired && record.completed == 1 && record.failed == 3)
            let errors = try store.results(of: id).filter { $0.status != .succeeded }
            #expect(errors.count == 3)
            #expect(errors.filter { $0.error?.hasPrefix("batch_expired: ") == true }.count == 2)  // the queued ones
            #expect(try Self.webhooks(store.connection, id).map { $0["type"] as? String } == ["batch.expired"])
            #expect(try store.batch(later)?.status == .inProgress)
        }
    }

    @Test func aRefusedFileIsRecordedAsAFailedBatchWithItsErrors() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.recordFailed(Self.newBatch(), errors: [
                BatchFileError(code: "invalid_json", line: 2, message: "the line is not valid JSON"),
                BatchFileError(code: "invalid_request", line: 5, message: "body.top_p must be…", param: "body.top_p"),
            ])
            let record = try #require(try store.batch(id))
            #expect(record.status == .failed && record.total == 0)
            #expect(try store.connection.query("SELECT count(*) FROM scribe.jobs").scalar == "0")
            let hooks = try Self.webhooks(store.connection, id)
            #expect(hooks.map { $0["type"] as? String } == ["batch.failed"])
            let errors = try #require((hooks.first?["data"] as? [String: Any])?["errors"] as? [String: Any])
            let data = try #require(errors["data"] as? [[String: Any]])
            #expect(data.map { $0["line"] as? Int } == [2, 5])
            #expect(data[1]["param"] as? String == "body.top_p")
            #expect((hooks.first?["data"] as? [String: Any])?["failed_at"] is Int)
        }
    }

    @Test func theChoicesOfAJobAreStoredWithItsResult() throws {
        try IsolatedDatabase.with { database in
            let store = BatchStore(connection: try database.connect(), logger: .silent)
            let id = try store.create(Self.newBatch(), requests: Self.requests(1, params: #"{"n": 2, "logprobs": 1}"#))
            let queue = try database.queue("w1")
            let job = try #require(try queue.claim(limit: 1, model: nil, lease: .seconds(30)).first)
            let choices = [
                JobChoice(index: 0, text: "a\u{0}b", finishReason: "stop", logprobs: [
                    .init(token: "a", bytes: [0x61], logprob: -.infinity, topLogprobs: [.init(token: "a", bytes: [0x61], logprob: -0.1)]),
                ]),
                JobChoice(index: 1, text: "c", finishReason: "length"),
            ]
            _ = try queue.complete([JobResult(id: job.id, attempt: 1, outcome: .succeeded, text: "ab", choices: choices)])
            let row = try #require(try store.results(of: id).first)
            let json = try #require(row.choicesJSON)
            let stored = try #require(JobChoice.stored(json))
            #expect(stored.map(\.text) == ["ab", "c"])  // NUL cannot be stored
            #expect(stored[0].logprobs?[0].logprob == -9999)  // nor can -inf
            #expect(stored[0].logprobs?[0].topLogprobs == [.init(token: "a", bytes: [0x61], logprob: -0.1)])
        }
    }
}
