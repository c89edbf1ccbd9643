import JobStore
import Testing
import TestSupport

@Suite struct JobProgressTests {
    /// Finishes a job the way an operator's UPDATE (or a worker) would.
    static func finish(_ id: Int64, _ status: JobStatus, on connection: PostgresConnection) throws {
        try connection.query("UPDATE scribe.jobs SET status = $2, finished_at = now() WHERE id = $1", [id, status.rawValue])
    }

    @Test func countsTheNamedJobsAndReportsMissingOnes() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let ids = try (0..<5).map { _ in try connection.insertJob() }
            let other = try connection.insertJob()
            try Self.finish(ids[0], .succeeded, on: connection)
            try Self.finish(ids[1], .failed, on: connection)
            try Self.finish(ids[2], .cancelled, on: connection)
            try Self.finish(other, .failed, on: connection)  // not asked for
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.claim(limit: 1, model: nil, lease: .seconds(30)).first?.id == ids[3])

            let progress = try JobProgress.read(.jobs(ids + [999_999, ids[0]]), on: connection)
            #expect(progress == JobProgress(queued: 1, running: 1, succeeded: 1, failed: 1, cancelled: 1, missing: [999_999]))
            #expect(progress.total == 6)
            #expect(!progress.isComplete)

            try Self.finish(ids[3], .succeeded, on: connection)
            try Self.finish(ids[4], .succeeded, on: connection)
            let done = try JobProgress.read(.jobs(Array(ids[3...])), on: connection)
            #expect(done == JobProgress(succeeded: 2))
            #expect(done.isComplete && done.allSucceeded)
            #expect(!(try JobProgress.read(.jobs(ids), on: connection)).allSucceeded)
        }
    }

    @Test func allCountsUnfinishedJobsAndThoseFinishedSinceTheStart() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let before = try connection.insertJob()
            try Self.finish(before, .succeeded, on: connection)  // finished before the wait: not counted
            try connection.query("UPDATE scribe.jobs SET finished_at = now() - interval '1 minute'")
            let waiting = try connection.insertJob()
            let target = try WaitTarget.allFrom(now: connection)
            #expect(try JobProgress.read(target, on: connection) == JobProgress(queued: 1))

            try Self.finish(waiting, .succeeded, on: connection)
            let late = try connection.insertJob()  // enqueued during the wait: counted
            #expect(try JobProgress.read(target, on: connection) == JobProgress(queued: 1, succeeded: 1))
            try Self.finish(late, .failed, on: connection)
            let end = try JobProgress.read(target, on: connection)
            #expect(end == JobProgress(succeeded: 1, failed: 1))
            #expect(end.isComplete && !end.allSucceeded)
        }
    }
}
