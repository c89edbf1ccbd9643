import Logging

/// One worker's view of `scribe.jobs`: claim, renew leases, write results, rescue, retain.
///
/// Every method is one ordinary statement, or a short BEGIN…COMMIT of them: no prepared
/// statements by name, no session state, so it works through PgBouncer in transaction
/// mode. (LISTEN needs a session: `JobNotifications` uses its own direct connection.)
/// Single owner, like the connection it wraps. Transitions follow `JobLifecycle`.
public final class JobQueue {
    public let connection: PostgresConnection
    /// Written into `worker_id` at claim and required by every fenced write.
    public let workerID: String
    let logger: Logger

    public init(connection: PostgresConnection, workerID: String, logger: Logger) {
        self.connection = connection
        self.workerID = workerID
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(workerID)"
        self.logger = logger
    }

    /// Claims up to `limit` runnable jobs (the engine's free slots) in one statement,
    /// `scribe.claim_jobs` (`Migrations/0041_fair_share.sql`): queued, `run_at` reached, for
    /// `model` or naming none; shared between tenants by weight (the next slot to the
    /// tenant with the fewest running jobs per unit of weight, within its cap), by
    /// priority, then run_at, then id within a tenant. Each claim counts an attempt, which
    /// becomes the job's fencing value, and holds a lease of `lease`. `SKIP LOCKED` lets
    /// concurrent claimers pass each other's rows instead of waiting, and no row can be
    /// claimed twice: a row another claimer changed is re-checked against
    /// `status = 'queued'` once its lock is released. A worker with `model` nil claims only
    /// jobs that name no model.
    public func claim(limit: Int, model: String?, lease: Duration) throws -> [ClaimedJob] {
        guard limit > 0 else { return [] }
        let rows = try connection.query(
            "SELECT \(ClaimedJob.returning) FROM scribe.claim_jobs($1, $2, $3, $4) AS j",
            [workerID, model, limit, lease.seconds])
        var jobs: [ClaimedJob] = []
        for index in 0..<rows.count {
            guard let job = ClaimedJob(rows: rows, index: index) else {
                // Cannot happen with the schema's constraints; the lease will expire and
                // the job will be retried, so report and go on rather than crash.
                logger.error("Claimed row unreadable", metadata: ["job.id": "\(rows.value(index, "id") ?? "?")"])
                continue
            }
            jobs.append(job)
        }
        // RETURNING has no order; hand jobs out in claim order.
        jobs.sort { ($0.priority, $0.runAt, $0.id) < ($1.priority, $1.runAt, $1.id) }
        if !jobs.isEmpty {
            logger.debug("Jobs claimed", metadata: [
                "jobs.count": "\(jobs.count)", "jobs.limit": "\(limit)",
                "job.ids": "\(jobs.map(\.id))",
            ])
        }
        return jobs
    }
}

extension Duration {
    /// Whole milliseconds for `poll`, rounded up so a short positive timeout never becomes
    /// a busy `poll(…, 0)`; zero or less for a negative one.
    public var pollMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        return Int32(clamping: max(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000, 0))
    }
}

/// PostgreSQL text cannot hold NUL; a generated NUL would fail the whole batch's write.
func withoutNUL(_ text: String?) -> String? {
    guard let text, text.utf8.contains(0) else { return text }
    var scalars = String.UnicodeScalarView()
    scalars.append(contentsOf: text.unicodeScalars.lazy.filter { $0 != "\0" })
    return String(scalars)
}
