import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct JobClaimTests {
    @Test func claimsFollowPriorityThenRunAtThenIdAndSkipFutureJobs() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let later = try connection.insertJob(priority: -10, runAtOffsetSeconds: 3600)
            let low = try connection.insertJob(priority: 5)
            let oldDefault = try connection.insertJob(priority: 0, runAtOffsetSeconds: -60)
            let defaultA = try connection.insertJob(priority: 0)
            let urgent = try connection.insertJob(priority: -1)
            let defaultB = try connection.query(
                "INSERT INTO scribe.jobs (prompt, run_at) SELECT 'x', run_at FROM scribe.jobs WHERE id = $1 RETURNING id",
                [defaultA]).scalar.flatMap { Int64($0) }!
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let first = try queue.claim(limit: 2, model: nil, lease: .seconds(30))
            #expect(first.map(\.id) == [urgent, oldDefault])
            let rest = try queue.claim(limit: 10, model: nil, lease: .seconds(30))
            #expect(rest.map(\.id) == [defaultA, defaultB, low])
            #expect(try queue.claim(limit: 10, model: nil, lease: .seconds(30)).isEmpty)
            #expect(try connection.status(of: later) == .queued)
        }
    }

    @Test func aClaimCountsTheAttemptAndTakesALease() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, params, metadata, callback_url, model, max_attempts)
                VALUES ('Once upon a time', '{"max_tokens": 4}', '{"k": "v"}', 'https://example.com/h', 'm', 5)
                RETURNING id
                """).scalar.flatMap { Int64($0) }!
            let chat = try connection.query(
                #"INSERT INTO scribe.jobs (messages) VALUES ('[{"role":"user","content":"Hi"}]') RETURNING id"#
            ).scalar.flatMap { Int64($0) }!
            let queue = JobQueue(connection: connection, workerID: "w-7", logger: .silent)
            let before = Date()
            let jobs = try queue.claim(limit: 5, model: "m", lease: .seconds(30))
            #expect(jobs.map(\.id) == [id, chat])
            let job = jobs[0]
            #expect(job.attempt == 1 && job.maxAttempts == 5)
            #expect(job.input == .prompt("Once upon a time"))
            #expect(job.paramsJSON == #"{"max_tokens": 4}"#)
            #expect(job.metadataJSON == #"{"k": "v"}"#)
            #expect(job.callbackURL == "https://example.com/h" && job.model == "m")
            #expect(abs(job.leaseExpiresAt.timeIntervalSince(before) - 30) < 5)
            #expect(jobs[1].input == .messages(json: #"[{"role": "user", "content": "Hi"}]"#))
            #expect(jobs[1].paramsJSON == "{}" && jobs[1].metadataJSON == nil)
            let row = try connection.query(
                "SELECT status, attempts, worker_id, started_at IS NOT NULL FROM scribe.jobs WHERE id = $1", [id])
            #expect(row.rows[0] == ["running", "1", "w-7", "t"])
        }
    }

    @Test func aWorkerClaimsItsModelsJobsAndThoseNamingNone() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let forA = try connection.insertJob(model: "model-a")
            let forB = try connection.insertJob(model: "model-b")
            let forAny = try connection.insertJob()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.claim(limit: 10, model: "model-a", lease: .seconds(30)).map(\.id) == [forA, forAny])
            let anonymous = JobQueue(connection: connection, workerID: "w2", logger: .silent)
            #expect(try anonymous.claim(limit: 10, model: nil, lease: .seconds(30)).isEmpty)
            #expect(try connection.status(of: forB) == .queued)
        }
    }

    @Test func theLimitIsTheCallersFreeCapacity() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(10)
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.claim(limit: 0, model: nil, lease: .seconds(30)).isEmpty)
            #expect(try queue.claim(limit: 3, model: nil, lease: .seconds(30)).count == 3)
            #expect(try queue.claim(limit: 4, model: nil, lease: .seconds(30)).count == 4)
            #expect(try queue.claim(limit: 64, model: nil, lease: .seconds(30)).count == 3)
        }
    }

    /// Two workers on their own connections and threads race for 500 jobs; every job is
    /// claimed and completed exactly once.
    @Test func twoConcurrentClaimersNeverClaimTheSameJob() throws {
        try IsolatedDatabase.with { database in
            try database.connect().insertJobs(500)
            let claims = try onThreads(2) { index in
                let queue = try database.queue("w\(index)")
                var mine: [Int64] = []
                var refused = 0
                while true {
                    let jobs = try queue.claim(limit: 7, model: nil, lease: .seconds(60))
                    if jobs.isEmpty { break }
                    mine += jobs.map(\.id)
                    let report = try queue.complete(jobs.map {
                        JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, text: "done by w\(index)")
                    })
                    refused += report.refused.count
                }
                return (mine, refused)
            }
            let all = claims[0].0 + claims[1].0
            #expect(all.count == 500)
            #expect(Set(all).count == 500)
            #expect(claims[0].1 + claims[1].1 == 0)
            // Both took part (7 per claim leaves plenty of room to interleave).
            #expect(!claims[0].0.isEmpty && !claims[1].0.isEmpty)
            let summary = try database.connect().query(
                "SELECT status, attempts, count(*) FROM scribe.jobs GROUP BY status, attempts")
            #expect(summary.rows == [["succeeded", "1", "500"]])
        }
    }

    /// With most of the table finished (as in production), the claim reads a tenant's next
    /// jobs from the partial index of queued jobs in order instead of scanning and sorting.
    @Test func theClaimUsesThePartialIndex() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.insertJobs(2000)
            try connection.execute(
                "UPDATE scribe.jobs SET status = 'succeeded', finished_at = now() WHERE id % 10 <> 0; ANALYZE scribe.jobs")
            let tenant = try #require(try connection.query("SELECT current_user").scalar)
            let plan = try connection.query(
                """
                EXPLAIN SELECT id, priority, run_at FROM scribe.jobs
                WHERE tenant = '\(tenant)' AND status = 'queued' AND run_at <= now() AND (model IS NULL OR model = 'm')
                ORDER BY priority, run_at, id LIMIT 8
                """).rows.compactMap { $0[0] }.joined(separator: "\n")
            #expect(plan.contains("jobs_queued_by_tenant"), "\(plan)")
            #expect(!plan.contains("Sort"), "\(plan)")
        }
    }
}
