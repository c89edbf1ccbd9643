import Foundation
import JobStore
import Testing
import TestSupport

/// `scribe worker` processes against a real PostgreSQL database and the real model.
@Suite(.serialized) struct WorkerDaemonTests {
    static func worker(_ database: IsolatedDatabase, _ extra: [String] = []) throws -> DaemonProcess {
        try worker(url: database.connectionString(), extra)
    }

    static func worker(url: String, _ extra: [String] = []) throws -> DaemonProcess {
        var environment = Repository.environment
        environment["DATABASE_URL"] = url
        environment["SCRIBE_LOG_LEVEL"] = "info"
        environment["SCRIBE_WEBHOOK_UNSIGNED"] = "1"
        environment["SCRIBE_WEBHOOK_ALLOW"] = "127.0.0.1"  // the tests' receivers
        return try DaemonProcess([Executables.scribe, "worker", "--concurrency", "16"] + extra, environment: environment)
    }

    static func counts(_ connection: PostgresConnection) throws -> [String: Int] {
        let rows = try connection.query("SELECT status, count(*) FROM scribe.jobs GROUP BY status")
        return Dictionary(uniqueKeysWithValues: rows.rows.map { ($0[0]!, Int($0[1]!)!) })
    }

    static func enqueue(_ connection: PostgresConnection, count: Int, params: String) throws {
        try connection.query(
            "INSERT INTO scribe.jobs (prompt, params) SELECT 'Job number ' || g || ' says', $1::jsonb FROM generate_series(1, $2::int) g",
            [params, count])
    }

    /// Least privilege end to end: a worker logged in with only `scribe_worker` runs two
    /// client tenants' jobs and delivers their webhooks.
    @Test func aWorkerWithTheWorkerRoleOnlyRunsEveryTenantsJobs() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let receiver = try HTTPReceiver()
        let clients = try [LoginRole("alice", groups: ["scribe_client"]), LoginRole("bob", groups: ["scribe_client"])]
        let role = try LoginRole("worker", groups: ["scribe_worker"])
        defer { (clients + [role]).forEach { $0.drop() } }
        try IsolatedDatabase.with { database in
            for client in clients {
                try database.connect(as: client).query(
                    "INSERT INTO scribe.jobs (prompt, params, callback_url) SELECT 'Hello', '{\"max_tokens\": 2}', $1 FROM generate_series(1, 3)",
                    [receiver.url + "/" + client.name])
            }
            let worker = try Self.worker(
                url: database.connectionString() + " user='\(role.name)' password='\(role.password)'")
            let connection = try database.connect()
            #expect(try eventually(timeout: 120) {
                try connection.query("SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'delivered'").scalar == "6"
            }, "\(worker.log)")
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
            #expect(try Self.counts(connection) == ["succeeded": 6])
            #expect(Set(receiver.requests(atLeast: 6).map(\.path)) == Set(clients.map { "/" + $0.name }))
        }
    }

    @Test func twoWorkersShareFiveHundredJobsAndDoEachOnce() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, count: 500, params: #"{"max_tokens": 1, "temperature": 0}"#)
            let workers = try [Self.worker(database), Self.worker(database)]
            let done = try eventually(timeout: 240) { try Self.counts(connection)["succeeded"] == 500 }
            workers.forEach { $0.signal(SIGTERM) }
            #expect(workers.map { $0.wait(timeout: 30) } == [0, 0], "\(workers.map(\.log))")
            let final = try Self.counts(connection)
            #expect(done, "\(final)")
            let attempts = try connection.query("SELECT max(attempts), count(DISTINCT worker_id) FROM scribe.jobs")
            #expect(attempts.rows[0][0] == "1")  // nobody did a job twice
            #expect(attempts.rows[0][1] == "2")  // both took part
            #expect(try connection.query("SELECT count(*) FROM scribe.jobs WHERE completion_tokens = 1").scalar == "500")
        }
    }

    @Test func aKilledWorkersJobsAreFinishedByTheOther() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, count: 60, params: #"{"max_tokens": 48, "temperature": 0}"#)
            let victim = try Self.worker(database, ["--lease", "2"])
            #expect(try eventually(timeout: 60) { try Self.counts(connection)["running"] ?? 0 > 0 })
            print("before kill: \(try Self.counts(connection))")
            victim.signal(SIGKILL)
            victim.wait(timeout: 10)
            print("after kill: \(try Self.counts(connection))")
            let survivor = try Self.worker(database, ["--lease", "2"])
            let done = try eventually(timeout: 240) { try Self.counts(connection)["succeeded"] == 60 }
            survivor.signal(SIGTERM)
            #expect(survivor.wait(timeout: 30) == 0, "\(survivor.log)")
            let final = try Self.counts(connection)
            #expect(done, "\(final)\n\(survivor.log)")
            // The killed worker's jobs were taken again: a second attempt each.
            let retried = try connection.query("SELECT count(*) FROM scribe.jobs WHERE attempts = 2").scalar.flatMap { Int($0) } ?? 0
            #expect(retried > 0)
        }
    }

    @Test func sigtermDrainsThenHandsBackUnfinishedJobs() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, count: 4, params: #"{"max_tokens": 3000, "temperature": 0, "ignore_eos": true}"#)
            try Self.enqueue(connection, count: 40, params: #"{"max_tokens": 8, "temperature": 0}"#)
            let worker = try Self.worker(database, ["--drain-timeout", "2"])
            #expect(try eventually(timeout: 60) { try Self.counts(connection)["running"] ?? 0 >= 4 })
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 60) == 0, "\(worker.log)")
            let counts = try Self.counts(connection)
            #expect(counts["running"] == nil, "\(counts)")
            // The long jobs went back to the queue with their attempt given back.
            let long = try connection.query("SELECT status, attempts FROM scribe.jobs WHERE params->>'max_tokens' = '3000'")
            #expect(long.rows.allSatisfy { $0[0] == "queued" && $0[1] == "0" }, "\(long.rows)")
            #expect(worker.log.contains("Draining"))
        }
    }

    @Test func cancellingARunningJobKeepsItsPartialText() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.query(
                "INSERT INTO scribe.jobs (prompt, params) VALUES ('Write a long story', '{\"max_tokens\": 4000, \"ignore_eos\": true}') RETURNING id").scalar!
            let queuedID = try connection.query(
                "INSERT INTO scribe.jobs (prompt, params, run_at) VALUES ('Later', '{}', now() + interval '1 hour') RETURNING id").scalar!
            let bad = try connection.query(
                "INSERT INTO scribe.jobs (prompt, params) VALUES ('x', '{\"top_k\": 5, \"logit_bias\": {\"999999\": 5}}') RETURNING id").scalar!
            let worker = try Self.worker(database)
            #expect(try eventually(timeout: 60) {
                try connection.query("SELECT status FROM scribe.jobs WHERE id = $1", [id]).scalar == "running"
            })
            Thread.sleep(forTimeInterval: 1)
            #expect(try connection.query("SELECT scribe.cancel($1)", [id]).scalar == "cancelling")
            #expect(try connection.query("SELECT scribe.cancel($1)", [queuedID]).scalar == "cancelled")
            var seen: [String] = []
            var stopped = false
            let deadline = Date().addingTimeInterval(60)
            while !stopped && Date() < deadline {
                let status = try connection.query("SELECT status FROM scribe.jobs WHERE id = $1", [id]).scalar ?? "nil"
                if seen.last != status { seen.append(status) }
                stopped = status == "cancelled"
                Thread.sleep(forTimeInterval: 0.1)
            }
            worker.signal(SIGTERM)
            worker.wait(timeout: 30)
            let status = try connection.query("SELECT status, completion_tokens FROM scribe.jobs WHERE id = $1", [id]).rows
            #expect(stopped, "\(seen) \(status) \(worker.log)")
            let row = try connection.query("SELECT finish_reason, completion_tokens, length(result) FROM scribe.jobs WHERE id = $1", [id])
            #expect(row.rows[0][0] == "cancelled")
            #expect((Int(row.rows[0][1] ?? "0") ?? 0) > 0 && (Int(row.rows[0][1] ?? "0") ?? 0) < 4000)
            let failed = try connection.query("SELECT status, error, attempts FROM scribe.jobs WHERE id = $1", [bad])
            #expect(failed.rows[0][0] == "failed")
            #expect(failed.rows[0][1]?.contains("999999") == true, "\(failed.rows)")
            #expect(failed.rows[0][2] == "1")  // failed at claim, never retried
        }
    }

    /// Fencing: a worker whose lease ran out (made so here by SQL, as if it had stalled past
    /// it) finishes its attempt after another worker took the job over; its write is refused.
    @Test func aStaleWorkersLateResultIsRefused() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try StatusChanges.install(connection)
            let id = try connection.query(
                "INSERT INTO scribe.jobs (prompt, params) VALUES ('Tell me a story', $1) RETURNING id",
                [#"{"max_tokens": 160, "temperature": 0, "ignore_eos": true}"#]).scalar!
            // A long lease: its renewals (every 40 s) come after its result.
            let stale = try Self.worker(database, ["--lease", "120"])
            defer { stale.signal(SIGKILL) }
            #expect(try eventually(timeout: 60) {
                try connection.query("SELECT status FROM scribe.jobs WHERE id = $1", [id]).scalar == "running"
            })
            try connection.query("UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
            let live = JobQueue(connection: connection, workerID: "w-live", logger: .silent)
            #expect(try live.rescueExpiredLeases().map(\.status) == [.queued])
            // Skip the retry backoff in the claim's own transaction, so the stale worker cannot
            // claim the job back in between.
            let taken = try connection.transaction {
                try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
                return try live.claim(limit: 1, model: nil, lease: .seconds(120))
            }
            #expect(taken.map(\.attempt) == [2])

            #expect(try eventually(timeout: 120) { stale.log.contains("Result refused") }, "\(stale.log)")
            let row = try connection.query("SELECT status, worker_id, attempts, result FROM scribe.jobs WHERE id = $1", [id])
            #expect(row.rows[0] == ["running", "w-live", "2", nil])
            let written = try live.complete([JobResult(id: taken[0].id, attempt: 2, outcome: .succeeded, text: "on time")])
            #expect(written.written == [taken[0].id: .succeeded])
            #expect(try connection.query("SELECT result FROM scribe.jobs WHERE id = $1", [id]).scalar == "on time")
            #expect(try StatusChanges.jobsEntering("succeeded", connection) == StatusChanges.Count(jobs: 1, changes: 1))
            stale.signal(SIGTERM)
            #expect(stale.wait(timeout: 30) == 0, "\(stale.log)")
        }
    }
}
