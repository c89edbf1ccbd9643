import Foundation
import JobStore
import ScribeCore
import Testing
import TestSupport

/// The one error taxonomy as the job table keeps it: `error_kind`, and what each kind does
/// to a job; and how the database's own errors are classified.
@Suite struct FailureKindTests {
    @Test func anInternalFailureIsRetriedWithTheAttemptCountedThenFails() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(maxAttempts: 2)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let first = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            let report = try queue.complete([JobResult(id: id, attempt: 1, outcome: .retry(error: "internal error: forward refused"))])
            #expect(report.written == [id: .queued])
            #expect(try connection.column("error_kind", of: id) == "internal")
            #expect(try connection.column("error", of: id) == "internal error: forward refused")
            #expect(try connection.column("worker_id", of: id) == nil)
            #expect(try connection.column("finished_at", of: id) == nil)
            let delay = try connection.secondsUntilRun(of: id)
            #expect(delay > 1.4 && delay < 2.6, "\(delay)")  // scribe.retry_delay(1)
            #expect(first.attempt == 1)

            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
            let second = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            #expect(second.attempt == 2)
            let last = try queue.complete([JobResult(id: id, attempt: 2, outcome: .retry(error: "internal error: again"))])
            #expect(last.written == [id: .failed])
            #expect(try connection.column("error_kind", of: id) == "internal")
            #expect(try connection.column("finished_at IS NOT NULL", of: id) == "true")
        }
    }

    @Test func aSuccessAfterARetryClearsTheErrorAndAnInvalidInputFailsAtOnce() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let retried = try connection.insertJob()
            let invalid = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            _ = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            _ = try queue.complete([
                JobResult(id: retried, attempt: 1, outcome: .retry(error: "internal error")),
                JobResult(id: invalid, attempt: 1, outcome: .failed(error: "params.n must be at most 16")),
            ])
            #expect(try connection.column("status", of: invalid) == "failed")
            #expect(try connection.column("error_kind", of: invalid) == "invalid_input")
            #expect(try connection.column("attempts", of: invalid) == "1")

            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [retried])
            let again = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            _ = try queue.complete([JobResult(id: retried, attempt: again.attempt, outcome: .succeeded, text: "ok")])
            #expect(try connection.column("status", of: retried) == "succeeded")
            #expect(try connection.column("error", of: retried) == nil)
            #expect(try connection.column("error_kind", of: retried) == nil)
        }
    }

    @Test func aLostLeaseIsInternalAndTheWebhookCarriesTheKind() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(maxAttempts: 1)
            try connection.query("UPDATE scribe.jobs SET callback_url = 'http://127.0.0.1:9/' WHERE id = $1", [id])
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            _ = try queue.claim(limit: 1, model: nil, lease: .milliseconds(1))
            Thread.sleep(forTimeInterval: 0.01)
            #expect(try queue.rescueExpiredLeases().map(\.status) == [.failed])
            #expect(try connection.column("error_kind", of: id) == "internal")
            let payload = try connection.query(
                "SELECT payload::jsonb -> 'data' ->> 'error_kind' FROM scribe.webhook_deliveries WHERE subject_id = $1", [id])
            #expect(payload.scalar == "internal")
        }
    }

    @Test func theDatabaseRefusingAValueIsInvalidInputAndALostServerIsTransient() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            func kind(_ sql: String) -> FailureKind? {
                do {
                    try connection.query(sql)
                    return nil
                } catch {
                    return FailureKind(of: error)
                }
            }
            // The job contract's trigger (P0001), a check (23514), a bad cast (22P02).
            #expect(kind("INSERT INTO scribe.jobs (prompt, params) VALUES ('x', '{\"n\": 99}')") == .invalidInput)
            #expect(kind("UPDATE scribe.jobs SET error_kind = 'other'") == nil)  // no rows yet: nothing refused
            _ = try connection.insertJob()
            #expect(kind("UPDATE scribe.jobs SET error_kind = 'other'") == .invalidInput)
            #expect(kind("SELECT 'x'::integer") == .invalidInput)
            // Our own statement being wrong is internal.
            #expect(kind("SELECT * FROM scribe.no_such_table") == .internal)
        }
        let unreachable = Result { try PostgresConnection(connectionString: "postgresql://127.0.0.1:9/none?connect_timeout=2") }
        #expect(unreachable.failure.map(FailureKind.init(of:)) == .transient)
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
