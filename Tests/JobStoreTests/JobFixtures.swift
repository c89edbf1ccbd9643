import JobStore
import Logging
import TestSupport

/// Small SQL helpers shared by the job-store tests; each works on the test's own database.
extension PostgresConnection {
    /// Inserts one completion job the way users do, returning its id.
    @discardableResult
    func insertJob(
        prompt: String = "Once upon a time", params: String = "{}", priority: Int = 0,
        runAtOffsetSeconds: Double = 0, model: String? = nil, maxAttempts: Int = 3,
        idempotencyKey: String? = nil
    ) throws -> Int64 {
        let id = try query(
            """
            INSERT INTO scribe.jobs (prompt, params, priority, run_at, model, max_attempts, idempotency_key)
            VALUES ($1, $2, $3, now() + $4::float8 * interval '1 second', $5, $6, $7) RETURNING id
            """, [prompt, params, priority, runAtOffsetSeconds, model, maxAttempts, idempotencyKey]).scalar
        return Int64(id!)!
    }

    /// Inserts `count` plain jobs in one statement.
    func insertJobs(_ count: Int) throws {
        try query(
            "INSERT INTO scribe.jobs (prompt) SELECT 'job ' || n FROM generate_series(1, $1) AS n", [count])
    }

    func status(of id: Int64) throws -> JobStatus? {
        try query("SELECT status FROM scribe.jobs WHERE id = $1", [id]).scalar.flatMap(JobStatus.init(rawValue:))
    }

    /// One column of one job, as text.
    func column(_ name: String, of id: Int64) throws -> String? {
        try query("SELECT \(name)::text FROM scribe.jobs WHERE id = $1", [id]).scalar
    }

    /// Makes a lease look expired, as if its worker had stopped renewing a while ago.
    func expireLease(of id: Int64) throws {
        try query("UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
    }

    /// Seconds from now until the job's run_at.
    func secondsUntilRun(of id: Int64) throws -> Double {
        Double(try query("SELECT extract(epoch FROM run_at - now()) FROM scribe.jobs WHERE id = $1", [id]).scalar!)!
    }
}

extension IsolatedDatabase {
    /// A `JobQueue` for `worker` on a new connection.
    func queue(_ worker: String, logger: Logger = .silent) throws -> JobQueue {
        JobQueue(connection: try connect(applicationName: worker), workerID: worker, logger: logger)
    }
}
