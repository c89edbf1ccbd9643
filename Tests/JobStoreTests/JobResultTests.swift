import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct JobResultTests {
    @Test func aBatchOfResultsIsWrittenInOneStatement() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(3)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let jobs = try queue.claim(limit: 3, model: nil, lease: .seconds(30))
            let text = "It's \"quoted\", back\\slashed, ünïcödé 🚀, and has a NUL\u{0} byte\n"
            let report = try queue.complete([
                JobResult(id: jobs[0].id, attempt: 1, outcome: .succeeded, text: text, finishReason: "stop",
                          promptTokens: 5, completionTokens: 12,
                          timings: ["prefill_ms": 1.5, "decode_ms": 20, "tokens_per_second": .infinity]),
                JobResult(id: jobs[1].id, attempt: 1, outcome: .failed(error: "params.top_a is not a known parameter")),
                JobResult(id: jobs[2].id, attempt: 1, outcome: .cancelled, text: "Once", finishReason: "cancelled"),
            ])
            #expect(report.written == [jobs[0].id: .succeeded, jobs[1].id: .failed, jobs[2].id: .cancelled])
            #expect(report.refused.isEmpty)
            let rows = try connection.query(
                """
                SELECT status, result, finish_reason, prompt_tokens, completion_tokens, error, timings::text,
                       finished_at IS NOT NULL, lease_expires_at
                FROM scribe.jobs ORDER BY id
                """).rows
            #expect(rows[0] == ["succeeded", text.replacingOccurrences(of: "\u{0}", with: ""), "stop", "5", "12", nil,
                                #"{"decode_ms": 20, "prefill_ms": 1.5}"#, "t", nil])
            #expect(rows[1] == ["failed", nil, nil, nil, nil, "params.top_a is not a known parameter", nil, "t", nil])
            #expect(rows[2] == ["cancelled", "Once", "cancelled", nil, nil, nil, nil, "t", nil])
        }
    }

    @Test func aStaleAttemptAndAForeignWorkerAreRefused() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            let stalled = JobQueue(connection: connection, workerID: "w-stalled", logger: .silent)
            let first = try stalled.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            // w-stalled stops renewing; its lease is rescued and w-live takes the job over.
            try connection.expireLease(of: id)
            _ = try stalled.rescueExpiredLeases()
            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
            let live = JobQueue(connection: connection, workerID: "w-live", logger: .silent)
            let second = try live.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            #expect(second.attempt == 2)

            // The stalled worker wakes up late: refused with its stale attempt...
            let late = try stalled.complete([JobResult(id: id, attempt: first.attempt, outcome: .succeeded, text: "late")])
            #expect(late.written.isEmpty && late.refused == [first.fence])
            // ...and with the current attempt too, since it is not the holder.
            let foreign = try stalled.complete([JobResult(id: id, attempt: 2, outcome: .succeeded, text: "late")])
            #expect(foreign.refused == [JobAttempt(id: id, attempt: 2)])
            #expect(try stalled.retryLater(first.fence, error: "x") == nil)
            #expect(try stalled.failWithoutRetry(first.fence, error: "x") == nil)
            #expect(try stalled.releaseUnfinished([first.fence]).refused == [first.fence])

            let written = try live.complete([JobResult(id: id, attempt: 2, outcome: .succeeded, text: "on time")])
            #expect(written.written == [id: .succeeded])
            // Exactly one result: a second write, even by the holder, is refused.
            let again = try live.complete([JobResult(id: id, attempt: 2, outcome: .failed(error: "oops"))])
            #expect(again.refused == [second.fence])
            #expect(try connection.column("result", of: id) == "on time")
            #expect(try connection.column("worker_id", of: id) == "w-live")
        }
    }

    @Test func duplicatesInOneBatchAreRefused() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            _ = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            let report = try queue.complete([
                JobResult(id: id, attempt: 1, outcome: .succeeded, text: "first"),
                JobResult(id: id, attempt: 1, outcome: .succeeded, text: "second"),
            ])
            #expect(report.written == [id: .succeeded] && report.refused == [JobAttempt(id: id, attempt: 1)])
            #expect(try connection.column("result", of: id) == "first")
        }
    }

    @Test func retryLaterBacksOffThenFails() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(maxAttempts: 2)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let first = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            #expect(try queue.retryLater(first.fence, error: "out of memory") == .queued)
            let delay = try connection.secondsUntilRun(of: id)
            #expect(delay > 1.4 && delay < 2.6, "\(delay)")
            #expect(try connection.column("error", of: id) == "out of memory")
            #expect(try connection.column("worker_id", of: id) == nil)

            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
            let second = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            #expect(second.attempt == 2)
            #expect(try queue.retryLater(second.fence, error: "out of memory again") == .failed)
            #expect(try connection.column("finished_at IS NOT NULL", of: id) == "true")
        }
    }

    @Test func retryLaterTakesAnExplicitDelay() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let job = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            #expect(try queue.retryLater(job.fence, error: "busy", delay: .seconds(60)) == .queued)
            let delay = try connection.secondsUntilRun(of: id)
            #expect(delay > 59 && delay <= 60)
        }
    }

    @Test func failWithoutRetryEndsTheJobAtOnce() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(params: #"{"logit_bias": {"999999": 1}}"#, maxAttempts: 5)
            let cancelled = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let jobs = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            let error = "params.logit_bias: token 999999 is outside the vocabulary"
            #expect(try queue.failWithoutRetry(jobs[0].fence, error: error) == .failed)
            #expect(try connection.query("SELECT status, attempts, error FROM scribe.jobs WHERE id = $1", [id]).rows[0]
                == ["failed", "1", error])
            // A failure while a cancel is in progress ends cancelled.
            _ = try connection.query("SELECT scribe.cancel($1)", [cancelled])
            #expect(try queue.failWithoutRetry(jobs[1].fence, error: "x") == .cancelled)
        }
    }

    @Test func drainReleaseRestoresTheAttempt() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(3)
            let draining = JobQueue(connection: connection, workerID: "w-draining", logger: .silent)
            let jobs = try draining.claim(limit: 3, model: nil, lease: .seconds(30))
            _ = try draining.complete([JobResult(id: jobs[0].id, attempt: 1, outcome: .succeeded, text: "done")])
            _ = try connection.query("SELECT scribe.cancel($1)", [jobs[2].id])
            let report = try draining.releaseUnfinished(jobs.map(\.fence))
            #expect(report.written == [jobs[1].id: .queued, jobs[2].id: .cancelled])
            #expect(report.refused == [jobs[0].fence])
            #expect(try connection.query(
                "SELECT status, attempts, worker_id, lease_expires_at FROM scribe.jobs WHERE id = $1", [jobs[1].id]
            ).rows[0] == ["queued", "0", nil, nil])
            // Another worker picks it up at once, as attempt 1.
            let next = try JobQueue(connection: connection, workerID: "w-next", logger: .silent)
                .claim(limit: 5, model: nil, lease: .seconds(30))
            #expect(next.map(\.fence) == [JobAttempt(id: jobs[1].id, attempt: 1)])
        }
    }
}
