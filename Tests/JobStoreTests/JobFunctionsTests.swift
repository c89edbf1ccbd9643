import Foundation
import JobStore
import Testing
import TestSupport

/// scribe.enqueue, scribe.cancel and the NOTIFY channels.
@Suite struct JobFunctionsTests {
    @Test func enqueueTakesNamedOptionalArguments() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.query(
                """
                SELECT scribe.enqueue(
                    messages => '[{"role":"user","content":"Hi"}]', params => '{"max_tokens": 8}',
                    model => 'smollm2', priority => -5, max_attempts => 1, metadata => '{"order": 17}',
                    callback_url => 'http://127.0.0.1:9/hook', run_at => now() + interval '1 hour')
                """).scalar!
            let row = try connection.query(
                """
                SELECT prompt, messages::text, params::text, model, priority, max_attempts, metadata::text,
                       callback_url, run_at > now() + interval '59 minutes' AS later
                FROM scribe.jobs WHERE id = $1
                """, [id]).rows[0]
            #expect(row == [nil, #"[{"role": "user", "content": "Hi"}]"#, #"{"max_tokens": 8}"#, "smollm2", "-5", "1",
                            #"{"order": 17}"#, "http://127.0.0.1:9/hook", "t"])
            let plain = try connection.query("SELECT scribe.enqueue('Once upon a time')").scalar!
            #expect(try connection.column("params", of: Int64(plain)!) == "{}")
            let invalid = #expect(throws: PostgresError.self) {
                try connection.query(#"SELECT scribe.enqueue('x', params => '{"top_p": 2}')"#)
            }
            #expect(invalid?.message.contains("params.top_p must be a number in (0, 1]") == true)
        }
    }

    @Test func cancelQueuedRunningAndFinishedJobs() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let running = try connection.insertJob(priority: -1)
            let finished = try connection.insertJob(priority: 0)
            let queued = try connection.insertJob(priority: 1)
            let claimed = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            #expect(claimed.map(\.id) == [running, finished])
            _ = try queue.complete([JobResult(id: finished, attempt: 1, outcome: .succeeded, text: "done")])

            func cancel(_ id: Int64) throws -> String? {
                try connection.query("SELECT scribe.cancel($1)", [id]).scalar
            }
            #expect(try cancel(queued) == "cancelled")
            #expect(try connection.column("finished_at IS NOT NULL", of: queued) == "true")
            #expect(try cancel(running) == "cancelling")
            #expect(try connection.column("cancel_requested_at IS NOT NULL", of: running) == "true")
            #expect(try cancel(running) == "cancelling")
            #expect(try cancel(finished) == "succeeded")
            #expect(try cancel(queued) == "cancelled")
            #expect(try cancel(999_999) == nil)
            // The worker learns of it at its next renewal and writes the end of the story.
            let renewal = try queue.renewLeases([claimed[0].fence], lease: .seconds(30))
            #expect(renewal.cancelling == [claimed[0].fence])
            let report = try queue.complete([JobResult(id: running, attempt: 1, outcome: .cancelled, text: "partial")])
            #expect(report.written == [running: .cancelled])
        }
    }

    @Test func listenersHearQueuedCancelAndDone() throws {
        try IsolatedDatabase.with { database in
            let listener = try JobNotifications(
                connection: try database.connect(), channels: JobChannel.allCases, logger: .silent)
            #expect(try listener.wait(timeout: .milliseconds(50)).isEmpty)

            let connection = try database.connect()
            let id = try connection.insertJob(model: "smollm2")
            try connection.insertJobs(3)  // one notification for the three (model: none)
            #expect(try collect(listener, count: 2) == [.queued(model: "smollm2"), .queued(model: nil)])

            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let claimed = try queue.claim(limit: 1, model: "smollm2", lease: .seconds(30))
            #expect(claimed.map(\.id) == [id])
            #expect(try connection.query("SELECT scribe.cancel($1)", [id]).scalar == "cancelling")
            #expect(try collect(listener, count: 1) == [.cancel(jobID: id)])

            _ = try queue.complete([JobResult(id: id, attempt: 1, outcome: .cancelled)])
            #expect(try collect(listener, count: 1) == [.done(jobID: id)])
            // Finished jobs do not notify again.
            try connection.query("UPDATE scribe.jobs SET error = 'x' WHERE id = $1", [id])
            #expect(try listener.wait(timeout: .milliseconds(100)).isEmpty)
        }
    }

    /// The plain-SQL client's view: LISTEN, then wait for the job's id.
    @Test func aSQLClientWaitsForScribeJobDone() throws {
        try IsolatedDatabase.with { database in
            let client = try database.connect()
            try client.listen("scribe_job_done")
            let id = try client.insertJob()
            let started = ContinuousClock.now
            let done = try onThreads(1) { _ in
                let worker = try database.queue("w1")
                let job = try worker.claim(limit: 1, model: nil, lease: .seconds(30))[0]
                Thread.sleep(forTimeInterval: 0.2)
                return try worker.complete([JobResult(id: job.id, attempt: job.attempt, outcome: .succeeded, text: "!")])
            }
            #expect(done[0].written == [id: .succeeded])
            let notifications = try client.waitForNotifications(timeout: .seconds(5))
            #expect(notifications.map(\.payload) == [String(id)])
            #expect(notifications.first?.channel == "scribe_job_done")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test func waitingTimesOutAndALostConnectionThrows() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect(applicationName: "doomed-listener")
            try connection.listen("scribe_job_done")
            let started = ContinuousClock.now
            #expect(try connection.waitForNotifications(timeout: .milliseconds(150)).isEmpty)
            #expect(ContinuousClock.now - started >= .milliseconds(140))
            try database.connect().query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'doomed-listener'")
            let error = #expect(throws: PostgresError.self) {
                try connection.waitForNotifications(timeout: .seconds(5))
            }
            #expect(error?.reason == .connection)
        }
    }

    /// Collects notifications until `count` arrived (or 5 s passed).
    private func collect(_ listener: JobNotifications, count: Int) throws -> [JobNotification] {
        var received: [JobNotification] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while received.count < count, ContinuousClock.now < deadline {
            received += try listener.wait(timeout: .milliseconds(500))
        }
        return received
    }
}
