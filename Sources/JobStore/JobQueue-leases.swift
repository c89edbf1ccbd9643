/// What one lease renewal found.
public struct LeaseRenewal: Sendable, Equatable {
    /// Still held: leases extended.
    public var renewed: [JobAttempt] = []
    /// Among `renewed`, those a user asked to cancel: a fallback for a missed
    /// `scribe_job_cancel` notification (the listener's connection may have dropped).
    public var cancelling: [JobAttempt] = []
    /// No longer held (rescued after the lease expired, or finished): stop generating.
    public var lost: [JobAttempt] = []

    public init(renewed: [JobAttempt] = [], cancelling: [JobAttempt] = [], lost: [JobAttempt] = []) {
        self.renewed = renewed
        self.cancelling = cancelling
        self.lost = lost
    }
}

/// A job whose expired lease `rescueExpiredLeases` resolved.
public struct RescuedJob: Sendable, Equatable {
    public var id: Int64
    /// The attempt that was lost.
    public var attempt: Int
    /// `queued` (will be retried after a backoff), `failed` (no attempts left) or
    /// `cancelled` (a cancel was in progress).
    public var status: JobStatus
    /// The worker that stopped renewing.
    public var lostWorkerID: String

    public init(id: Int64, attempt: Int, status: JobStatus, lostWorkerID: String) {
        self.id = id
        self.attempt = attempt
        self.status = status
        self.lostWorkerID = lostWorkerID
    }
}

extension JobQueue {
    /// Extends the leases of jobs this worker holds, in one statement, and says which it
    /// holds no longer. Renewals change no indexed column, so they can be HOT updates.
    public func renewLeases(_ jobs: [JobAttempt], lease: Duration) throws -> LeaseRenewal {
        guard !jobs.isEmpty else { return LeaseRenewal() }
        let rows = try connection.query(
            """
            UPDATE scribe.jobs AS j
            SET lease_expires_at = now() + $2::float8 * interval '1 second'
            FROM unnest($3::bigint[], $4::integer[]) AS held(id, attempt)
            WHERE j.id = held.id AND j.attempts = held.attempt
              AND j.worker_id = $1 AND j.status IN ('running', 'cancelling')
            RETURNING j.id, j.attempts, j.status
            """,
            [workerID, lease.seconds, PostgresArray(jobs.map(\.id)), PostgresArray(jobs.map(\.attempt))])
        var renewal = LeaseRenewal()
        for row in rows.rows {
            guard let id = row[0].flatMap({ Int64($0) }), let attempt = row[1].flatMap({ Int($0) }) else { continue }
            let job = JobAttempt(id: id, attempt: attempt)
            renewal.renewed.append(job)
            if row[2] == JobStatus.cancelling.rawValue { renewal.cancelling.append(job) }
        }
        let renewed = Set(renewal.renewed)
        renewal.lost = jobs.filter { !renewed.contains($0) }
        for job in renewal.lost {
            logger.warning("Lease lost", metadata: ["job.id": "\(job.id)", "job.attempt": "\(job.attempt)"])
        }
        return renewal
    }

    /// Resolves up to `limit` expired leases (any worker may call it; concurrent callers
    /// skip each other's rows): back to `queued` with `run_at` pushed by
    /// `scribe.retry_delay` while attempts remain, `failed` when none do, `cancelled` when
    /// a cancel was in progress. So a worker killed with `kill -9` loses no job, and a job
    /// that kills every worker that runs it ends after `max_attempts`.
    public func rescueExpiredLeases(limit: Int = 100) throws -> [RescuedJob] {
        let rows = try connection.query(
            """
            WITH expired AS (
                -- FOR UPDATE re-reads a row changed since the snapshot (a renewal, a
                -- result), so the lease check and `next` see its latest version.
                SELECT id, worker_id AS lost_worker,
                       scribe.status_after_lost_attempt(status, attempts, max_attempts) AS next
                FROM scribe.jobs
                WHERE status IN ('running', 'cancelling') AND lease_expires_at < now()
                ORDER BY lease_expires_at, id
                LIMIT $1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE scribe.jobs AS j
            SET status = e.next,
                error = CASE e.next
                    WHEN 'queued' THEN format('attempt %s of %s lost: lease expired, worker %s stopped responding; will retry',
                                              j.attempts, j.max_attempts, e.lost_worker)
                    WHEN 'failed' THEN format('lease expired on attempt %s of %s; last worker %s stopped responding',
                                              j.attempts, j.max_attempts, e.lost_worker)
                    ELSE format('cancelled: lease expired, worker %s stopped responding', e.lost_worker) END,
                -- A worker lost mid-job may have been lost to the job: counted, so a job
                -- that kills every worker ends after max_attempts.
                error_kind = 'internal',
                run_at = CASE WHEN e.next = 'queued' THEN now() + scribe.retry_delay(j.attempts) ELSE j.run_at END,
                worker_id = CASE WHEN e.next = 'queued' THEN NULL ELSE j.worker_id END,
                finished_at = CASE WHEN e.next = 'queued' THEN NULL ELSE now() END,
                lease_expires_at = NULL
            FROM expired AS e
            WHERE j.id = e.id
            RETURNING j.id, j.attempts, j.status, e.lost_worker
            """, [limit])
        var rescued: [RescuedJob] = []
        for row in rows.rows {
            guard let id = row[0].flatMap({ Int64($0) }), let attempt = row[1].flatMap({ Int($0) }),
                  let status = row[2].flatMap(JobStatus.init(rawValue:))
            else { continue }
            let job = RescuedJob(id: id, attempt: attempt, status: status, lostWorkerID: row[3] ?? "")
            rescued.append(job)
            logger.warning("Expired lease rescued", metadata: [
                "job.id": "\(job.id)", "job.attempt": "\(job.attempt)", "job.status": "\(job.status.rawValue)",
                "lease.lost_worker": "\(job.lostWorkerID)",
            ])
        }
        return rescued.sorted { $0.id < $1.id }
    }
}
