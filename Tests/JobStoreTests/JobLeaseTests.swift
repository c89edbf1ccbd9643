import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct JobLeaseTests {
    @Test func renewalExtendsHeldLeasesAndReportsLostOnes() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(3)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let jobs = try queue.claim(limit: 3, model: nil, lease: .seconds(5))
            // The second job's lease expired and another worker rescued and re-claimed it.
            try connection.expireLease(of: jobs[1].id)
            #expect(try queue.rescueExpiredLeases().map(\.id) == [jobs[1].id])
            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [jobs[1].id])
            let other = JobQueue(connection: connection, workerID: "w2", logger: .silent)
            #expect(try other.claim(limit: 1, model: nil, lease: .seconds(5)).map(\.attempt) == [2])

            let renewal = try queue.renewLeases(jobs.map(\.fence), lease: .seconds(300))
            #expect(Set(renewal.renewed) == [jobs[0].fence, jobs[2].fence])
            #expect(renewal.lost == [jobs[1].fence])
            #expect(renewal.cancelling.isEmpty)
            for job in [jobs[0], jobs[2]] {
                let remaining = Double(try connection.query(
                    "SELECT extract(epoch FROM lease_expires_at - now()) FROM scribe.jobs WHERE id = $1", [job.id]
                ).scalar!)!
                #expect(remaining > 290 && remaining <= 300)
            }
            // The other worker's lease is untouched by w1's renewal.
            #expect(try connection.column("worker_id", of: jobs[1].id) == "w2")
            #expect(try queue.renewLeases([], lease: .seconds(5)) == LeaseRenewal())
        }
    }

    @Test func anExpiredLeaseGoesBackToQueuedWithBackoff() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(maxAttempts: 3)
            let capture = LogCapture()
            let queue = JobQueue(connection: connection, workerID: "w-dead", logger: capture.logger())
            _ = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            // Not expired yet: nothing to rescue.
            #expect(try queue.rescueExpiredLeases().isEmpty)

            try connection.expireLease(of: id)
            let rescued = try queue.rescueExpiredLeases()
            #expect(rescued == [RescuedJob(id: id, attempt: 1, status: .queued, lostWorkerID: "w-dead")])
            let row = try connection.query(
                "SELECT status, attempts, worker_id, lease_expires_at, finished_at, error FROM scribe.jobs WHERE id = $1",
                [id]).rows[0]
            #expect(Array(row[0..<5]) == ["queued", "1", nil, nil, nil])
            #expect(row[5] == "attempt 1 of 3 lost: lease expired, worker w-dead stopped responding; will retry")
            // Backoff 2 s × 2^0 with ±25 % jitter.
            let delay = try connection.secondsUntilRun(of: id)
            #expect(delay > 1.4 && delay < 2.6, "\(delay)")
            #expect(try queue.claim(limit: 1, model: nil, lease: .seconds(30)).isEmpty)
            #expect(capture.records.contains {
                $0.message == "Expired lease rescued" && $0.metadata["job.id"] == "\(id)"
                    && $0.metadata["lease.lost_worker"] == "w-dead" && $0.metadata["worker.id"] == "w-dead"
            })

            // The second loss backs off twice as long.
            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
            _ = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            try connection.expireLease(of: id)
            _ = try queue.rescueExpiredLeases()
            let second = try connection.secondsUntilRun(of: id)
            #expect(second > 2.9 && second < 5.1, "\(second)")
        }
    }

    /// A job that kills every worker that runs it ends `failed` after max_attempts.
    @Test func aPoisonJobFailsAfterMaxAttempts() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob(maxAttempts: 3)
            for attempt in 1...3 {
                let queue = JobQueue(connection: connection, workerID: "w-\(attempt)", logger: .silent)
                try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
                #expect(try queue.claim(limit: 1, model: nil, lease: .seconds(30)).map(\.attempt) == [attempt])
                try connection.expireLease(of: id)
                let rescued = try queue.rescueExpiredLeases()
                #expect(rescued.map(\.status) == [attempt < 3 ? .queued : .failed])
            }
            let row = try connection.query(
                "SELECT status, attempts, error, finished_at IS NOT NULL, worker_id FROM scribe.jobs WHERE id = $1", [id])
            #expect(row.rows[0] == [
                "failed", "3", "lease expired on attempt 3 of 3; last worker w-3 stopped responding", "t", "w-3",
            ])
            #expect(try JobQueue(connection: connection, workerID: "w-4", logger: .silent)
                .claim(limit: 1, model: nil, lease: .seconds(30)).isEmpty)
        }
    }

    @Test func aCancellingJobWhoseLeaseExpiresEndsCancelled() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            _ = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            #expect(try connection.query("SELECT scribe.cancel($1)", [id]).scalar == "cancelling")
            try connection.expireLease(of: id)
            #expect(try queue.rescueExpiredLeases().map(\.status) == [.cancelled])
            #expect(try connection.column("finished_at IS NOT NULL", of: id) == "true")
        }
    }

    @Test func rescueIsBoundedAndConcurrentRescuersShareTheWork() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(40)
            _ = try JobQueue(connection: connection, workerID: "w-dead", logger: .silent)
                .claim(limit: 40, model: nil, lease: .seconds(30))
            try connection.query("UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second'")
            let rescued = try onThreads(2) { index in
                let queue = try database.queue("rescuer-\(index)")
                var ids: [Int64] = []
                while true {
                    let batch = try queue.rescueExpiredLeases(limit: 3)
                    if batch.isEmpty { return ids }
                    ids += batch.map(\.id)
                }
            }
            #expect((rescued[0] + rescued[1]).count == 40)
            #expect(Set(rescued[0] + rescued[1]).count == 40)
            #expect(try connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'queued'").scalar == "40")
        }
    }
}
