import Foundation
import JobStore
import Testing
import TestSupport

/// `Ops/demo --quick` end to end, on the test's own database with the binary under test:
/// the jobs it enqueues, the worker, `scribe wait`, the verifying webhook receiver, and one
/// job for Gemma 3 on a worker of its own.
@Suite(.serialized) struct DemoScriptTests {
    @Test func quickDemoFinishesEveryJobVerifiesEveryWebhookAndLeavesNothingRunning() throws {
        try #require(Repository.referenceModelPath != nil && Repository.gemmaModelPath != nil,
                     "models not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let folder = NSTemporaryDirectory() + "scribe-demo-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            var environment = Repository.environment
            environment["DATABASE_URL"] = try database.connectionString()
            environment["SCRIBE_BIN"] = Executables.scribe
            environment["SCRIBE_DEMO_DIR"] = folder
            environment["SCRIBE_DEMO_JOBS"] = nil
            let result = try ChildProcess.run([Repository.path("Ops/demo"), "--quick"], environment: environment)
            let output = result.standardOutput + result.standardError
            #expect(result.status == 0, "\(output)")

            // Six jobs (Jobs/demo.sql without the shared-instruction ones): one invalid by design;
            // the batch file's jobs are counted apart.
            #expect(result.standardOutput.contains(
                "jobs: 6 enqueued, 5 succeeded, 1 failed (1 of them the invalid one), 0 cancelled"), "\(output)")
            #expect(result.standardOutput.contains("webhooks: 6 delivered, 6 verified, 0 rejected"), "\(output)")
            #expect(result.standardOutput.contains("(6 rows)"), "\(output)")
            // scribe wait's progress line covers the six jobs and the four of Jobs/batch-chat.jsonl.
            #expect(result.standardError.contains("10/10  100%"), "\(output)")
            #expect(result.standardError.contains("10 jobs: 9 succeeded, 1 failed, 0 cancelled"), "\(output)")
            #expect(result.standardOutput.contains("completed total=4 completed=4 failed=0"), "\(output)")

            // What the demo says matches the database.
            let connection = try database.connect()
            let statuses = try connection.query(
                "SELECT metadata->>'demo', status FROM scribe.jobs WHERE status <> 'succeeded'").rows
            #expect(statuses == [["invalid", "failed"]])
            // The Gemma job ran on the worker started with the Gemma file, which reported its name.
            let gemma = try connection.query(
                "SELECT status, model, completion_tokens > 0 FROM scribe.jobs WHERE metadata->>'demo' = 'gemma'").rows
            #expect(gemma == [["succeeded", "gemma-3-270m-q4_k_m", "t"]])
            #expect(try connection.query(
                "SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'delivered'").scalar == "6")
            let receivedLines = try String(contentsOfFile: folder + "/webhooks.jsonl", encoding: .utf8)
                .split(separator: "\n").filter { $0.hasPrefix("{") }
            #expect(receivedLines.count >= 6)

            // Nothing left running: the worker deregistered, and neither child is alive.
            #expect(try connection.query("SELECT count(*) FROM scribe.workers").scalar == "0")
            let pids = Self.pids(in: result.standardError)
            #expect(pids.count == 3, "\(result.standardError)")
            for pid in pids {
                #expect(kill(pid, 0) == -1 && errno == ESRCH, "process \(pid) is still running")
            }
        }
    }

    /// From `demo: worker pid 123` and `demo: webhook receiver pid 456 on …`.
    static func pids(in log: String) -> [Int32] {
        log.split(separator: "\n").compactMap { line -> Int32? in
            guard line.hasPrefix("demo: worker pid ") || line.hasPrefix("demo: webhook receiver pid ") else { return nil }
            guard let range = line.range(of: "pid ") else { return nil }
            return Int32(line[range.upperBound...].prefix { $0.isNumber })
        }
    }
}
