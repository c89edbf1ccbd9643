/// One job's lifecycle as a pure state machine: no I/O, tested transcript-style.
///
/// The SQL in `JobQueue` and in the migrations carries out exactly these transitions;
/// each row names the statement that does it. `JobLifecycleConformanceTests` replays the
/// same transcripts against the database.
///
/// | from       | event                              | to                       | action          | SQL
/// |------------|------------------------------------|--------------------------|-----------------|------------------------------
/// | queued     | claim(worker)                      | running, attempts + 1    | .run(attempt)   | JobQueue.claim
/// | queued     | requestCancel                      | cancelled                | .notifyDone     | scribe.cancel
/// | running    | requestCancel                      | cancelling               | .notifyCancel   | scribe.cancel
/// | cancelling | requestCancel                      | cancelling               | .none           | scribe.cancel
/// | final      | requestCancel                      | unchanged                | .none           | scribe.cancel
/// | running    | finish(outcome)                    | outcome's status         | .notifyDone     | complete, failWithoutRetry
/// | cancelling | finish(.succeeded)                 | succeeded (result won)   | .notifyDone     | complete
/// | cancelling | finish(.failed or .cancelled)      | cancelled                | .notifyDone     | complete, failWithoutRetry
/// | running    | failRetryably / leaseExpired, attempts < max  | queued        | .retry(after:)  | complete (.retry), retryLater, rescueExpiredLeases
/// | running    | failRetryably / leaseExpired, attempts ≥ max  | failed        | .notifyDone     | (same; scribe.status_after_lost_attempt)
/// | cancelling | failRetryably / leaseExpired       | cancelled                | .notifyDone     | (same)
/// | running    | release (graceful drain)           | queued, attempts − 1     | .requeueNow     | releaseUnfinished
/// | cancelling | release                            | cancelled                | .notifyDone     | releaseUnfinished
/// | active     | renew                              | unchanged                | .renewLease     | renewLeases
/// | any        | worker event with a stale fence    | unchanged                | .refuse         | WHERE id, attempts, worker_id, status IN (running, cancelling)
///
/// Worker events carry the fence (worker id and attempt); they apply only while the job is
/// active and held by that worker at that attempt. Lease expiry carries none: any worker
/// may rescue an expired lease.
public struct JobLifecycle: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case succeeded, failed, cancelled
    }

    public enum Action: Sendable, Equatable {
        /// The claim succeeded: generate, and write back with this attempt as the fence.
        case run(attempt: Int)
        /// NOTIFY scribe_job_cancel: the holder should stop the sequence.
        case notifyCancel
        /// A final status was reached: NOTIFY scribe_job_done, and a webhook delivery when the
        /// job has a callback_url (trigger jobs_enqueue_webhook, same statement).
        case notifyDone(JobStatus)
        /// Queued again after a lost attempt; runs after `scribe.retry_delay(attempt)`.
        case retry(after: Int)
        /// Queued again at once, the attempt not counted (graceful drain).
        case requeueNow
        case renewLease
        /// Nothing changes and nobody needs telling.
        case none
        /// The event does not apply (stale fence, wrong status); nothing changes.
        case refuse
    }

    public private(set) var status: JobStatus
    public private(set) var attempts: Int
    public let maxAttempts: Int
    /// The worker holding the lease while active; the one that finished it afterwards.
    public private(set) var workerID: String?

    /// A freshly inserted job.
    public init(maxAttempts: Int = 3) {
        precondition(maxAttempts >= 1, "max_attempts >= 1 (CHECK jobs_max_attempts_positive)")
        self.status = .queued
        self.attempts = 0
        self.maxAttempts = maxAttempts
    }

    public mutating func claim(by worker: String) -> Action {
        guard status == .queued else { return .refuse }
        status = .running
        attempts += 1
        workerID = worker
        return .run(attempt: attempts)
    }

    public mutating func requestCancel() -> Action {
        switch status {
        case .queued:
            status = .cancelled
            return .notifyDone(.cancelled)
        case .running:
            status = .cancelling
            return .notifyCancel
        case .cancelling, .succeeded, .failed, .cancelled:
            return .none
        }
    }

    /// A final result from the holder (`complete`), or a failure not worth retrying
    /// (`failWithoutRetry`, e.g. invalid params).
    public mutating func finish(_ outcome: Outcome, by worker: String, attempt: Int) -> Action {
        guard holds(worker, attempt) else { return .refuse }
        switch (status, outcome) {
        case (_, .succeeded): status = .succeeded
        case (.cancelling, _), (_, .cancelled): status = .cancelled
        case (_, .failed): status = .failed
        }
        return .notifyDone(status)
    }

    /// A failure worth retrying (`retryLater`).
    public mutating func failRetryably(by worker: String, attempt: Int) -> Action {
        guard holds(worker, attempt) else { return .refuse }
        return attemptLost()
    }

    /// The lease ran out without renewal (`rescueExpiredLeases`); no fence needed.
    public mutating func leaseExpired() -> Action {
        guard status.isActive else { return .refuse }
        return attemptLost()
    }

    /// The holder hands the job back unfinished while draining (`releaseUnfinished`).
    public mutating func release(by worker: String, attempt: Int) -> Action {
        guard holds(worker, attempt) else { return .refuse }
        if status == .cancelling {
            status = .cancelled
            return .notifyDone(.cancelled)
        }
        status = .queued
        attempts -= 1
        workerID = nil
        return .requeueNow
    }

    public mutating func renew(by worker: String, attempt: Int) -> Action {
        holds(worker, attempt) ? .renewLease : .refuse
    }

    /// `scribe.status_after_lost_attempt` in SQL.
    private mutating func attemptLost() -> Action {
        if status == .cancelling {
            status = .cancelled
            return .notifyDone(.cancelled)
        }
        if attempts >= maxAttempts {
            status = .failed
            return .notifyDone(.failed)
        }
        status = .queued
        workerID = nil
        return .retry(after: attempts)
    }

    /// The fence every worker write carries in its WHERE clause.
    private func holds(_ worker: String, _ attempt: Int) -> Bool {
        status.isActive && workerID == worker && attempts == attempt
    }
}
