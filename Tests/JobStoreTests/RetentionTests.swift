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

            // Bounded passes: 5 a pass, the last one short.
            var passes: [RetentionPass] = []
            repeat {
                passes.append(try queue.deleteFinished(olderThan: .seconds(86_400), limit: 5))
            } while passes.last!.deleted == 5
            #expect(passes.map(\.deleted) == [5, 5, 5, 5, 2])
            #expect(passes.allSatisfy { !$0.skipped })
            let left = try connection.query("SELECT status, count(*) FROM scribe.jobs GROUP BY status ORDER BY status")
            #expect(left.rows == [["queued", "4"], ["running", "1"], ["succeeded", "3"]])
            #expect(try queue.deleteFinished(olderThan: .seconds(86_400)) == RetentionPass(deleted: 0, skipped: false))
        }
    }

    @Test func jobsOfABatchStillRunningStayWhateverTheirAge() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let store = BatchStore(connection: connection, logger: .silent)
            let running = try store.create(BatchStoreTests.newBatch(), requests: BatchStoreTests.requests(3))
            let ended = try store.create(BatchStoreTests.newBatch(), requests: BatchStoreTests.requests(2))
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let jobs = try queue.claim(limit: 10, model: nil, lease: .seconds(30))
            // Both of `ended`'s jobs and two of `running`'s finish; `running` has one left.
            let finishing = jobs.filter { $0.id != jobs.map(\.id).min() }
            _ = try queue.complete(finishing.map { JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, text: "x") })
            _ = try queue.releaseUnfinished(jobs.filter { $0.id == jobs.map(\.id).min() }.map(\.fence))
            try connection.query("UPDATE scribe.jobs SET finished_at = now() - interval '30 days' WHERE finished_at IS NOT NULL")
            #expect(try store.batch(running)?.status == .inProgress)
            #expect(try store.batch(ended)?.status == .completed)

            #expect(try queue.deleteFinished(olderThan: .seconds(86_400)) == RetentionPass(deleted: 2, skipped: false))
            let left = try connection.query(
                "SELECT batch_id, status, count(*) FROM scribe.jobs GROUP BY batch_id, status ORDER BY batch_id, status")
            #expect(left.rows == [["\(running)", "queued", "1"], ["\(running)", "succeeded", "2"]])
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
