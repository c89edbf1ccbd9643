import JobStore
import Testing
import TestSupport

@Suite struct RetentionTests {
    @Test func onlyOldFinishedJobsAreDeletedInBatches() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(30)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let jobs = try queue.claim(limit: 26, model: nil, lease: .seconds(30))
            _ = try queue.complete(jobs.prefix(25).map {
                JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, text: "x")
            })
            // 22 finished two days ago, 3 just now; 1 running, 4 queued (one of them long
            // ago, which does not matter: only finished jobs go).
            let old = jobs.prefix(22).map(\.id)
            try connection.query(
                "UPDATE scribe.jobs SET finished_at = now() - interval '2 days' WHERE id = ANY($1::bigint[])",
                [PostgresArray(old)])
            try connection.query(
                "UPDATE scribe.jobs SET created_at = now() - interval '9 days' WHERE status = 'queued'")

            let pass = try queue.deleteFinished(olderThan: .seconds(86_400), batchSize: 5)
            #expect(pass == RetentionPass(deleted: 22, skipped: false))
            let left = try connection.query("SELECT status, count(*) FROM scribe.jobs GROUP BY status ORDER BY status")
            #expect(left.rows == [["queued", "4"], ["running", "1"], ["succeeded", "3"]])
            #expect(try queue.deleteFinished(olderThan: .seconds(86_400)) == RetentionPass(deleted: 0, skipped: false))
        }
    }

    @Test func oneWorkerAtATime() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            _ = try connection.query("SELECT scribe.cancel($1)", [id])
            try connection.query("UPDATE scribe.jobs SET finished_at = now() - interval '1 hour'")
            // Another worker is in the middle of a retention batch: it holds the lock
            // (AdvisoryLock.retention, 0x5343_5249_4245_0002).
            let other = try database.connect()
            try other.execute("BEGIN")
            #expect(try other.query("SELECT pg_try_advisory_xact_lock(5999729603185541122)").scalar == "t")
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.deleteFinished(olderThan: .seconds(60)) == RetentionPass(deleted: 0, skipped: true))
            try other.execute("COMMIT")
            #expect(try queue.deleteFinished(olderThan: .seconds(60)) == RetentionPass(deleted: 1, skipped: false))
        }
    }
}
