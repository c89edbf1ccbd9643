import Foundation
import ScribeCore
import Logging

/// What a fenced batch write (`complete`, `releaseUnfinished`) did.
public struct WriteReport: Sendable, Equatable {
    /// Written, with the status each job reached.
    public var written: [Int64: JobStatus] = [:]
    /// Refused by the fence: the job is no longer held by this worker at this attempt
    /// (its lease expired and was rescued, it was released, or it has its result already).
    public var refused: [JobAttempt] = []

    public init(written: [Int64: JobStatus] = [:], refused: [JobAttempt] = []) {
        self.written = written
        self.refused = refused
    }
}

extension JobQueue {
    /// Writes many results in one statement (one transaction): each only while this worker
    /// still holds the job at that attempt (`WHERE id AND attempts AND worker_id AND status
    /// IN ('running', 'cancelling')`), so a job gets exactly one result even when a stalled
    /// worker wakes up late. A failed result for a job being cancelled ends `cancelled`; a
    /// succeeded one ends `succeeded` (the work is done; the cancel came too late).
    /// A job with a `callback_url` gets its webhook delivery in this same statement
    /// (trigger `jobs_enqueue_webhook`): refused results create none.
    public func complete(_ results: [JobResult]) throws -> WriteReport {
        var report = WriteReport()
        // One result per job per statement: a later duplicate is refused, never written.
        var seen = Set<Int64>()
        var batch: [JobResult] = []
        for result in results {
            if seen.insert(result.id).inserted { batch.append(result) } else { report.refused.append(result.fence) }
        }
        guard !batch.isEmpty else { return report }
        let rows = try connection.query(
            """
            WITH r AS (
                SELECT r.*, CASE r.outcome WHEN 'succeeded' THEN 'succeeded'
                                           WHEN 'retry' THEN scribe.status_after_lost_attempt(j.status, j.attempts, j.max_attempts)
                                           WHEN 'cancelled' THEN 'cancelled'
                                           ELSE CASE WHEN j.status = 'cancelling' THEN 'cancelled' ELSE 'failed' END END AS next
                FROM jsonb_to_recordset($2::jsonb) AS r(
                    id bigint, attempt integer, outcome text, result text, finish_reason text,
                    prompt_tokens integer, completion_tokens integer, error text, error_kind text,
                    timings jsonb, choices jsonb)
                JOIN scribe.jobs AS j ON j.id = r.id
                WHERE j.attempts = r.attempt AND j.worker_id = $1 AND j.status IN ('running', 'cancelling')
                ORDER BY j.id
                -- Re-reads a row changed since the snapshot (a cancel), so `next` sees it.
                FOR UPDATE OF j
            ), written AS (
                UPDATE scribe.jobs AS j
                SET status = r.next,
                    result = r.result, finish_reason = r.finish_reason,
                    prompt_tokens = r.prompt_tokens, completion_tokens = r.completion_tokens,
                    error = r.error, error_kind = r.error_kind, timings = r.timings, choices = r.choices,
                    run_at = CASE WHEN r.next = 'queued' THEN now() + scribe.retry_delay(j.attempts) ELSE j.run_at END,
                    worker_id = CASE WHEN r.next = 'queued' THEN NULL ELSE j.worker_id END,
                    finished_at = CASE WHEN r.next = 'queued' THEN NULL ELSE now() END,
                    lease_expires_at = NULL
                FROM r
                WHERE j.id = r.id AND j.attempts = r.attempt
                  AND j.worker_id = $1 AND j.status IN ('running', 'cancelling')
                RETURNING j.id, j.status
            )
            SELECT id, status FROM written
            """, [workerID, try Self.encode(batch)])
        for row in rows.rows {
            if let id = row[0].flatMap({ Int64($0) }), let status = row[1].flatMap(JobStatus.init(rawValue:)) {
                report.written[id] = status
            }
        }
        for result in batch where report.written[result.id] == nil {
            report.refused.append(result.fence)
        }
        logWrite("Results written", report)
        return report
    }

    /// Ends the attempt with a failure worth retrying: `queued` again after `delay`
    /// (default: `scribe.retry_delay`, exponential with jitter) while attempts remain,
    /// otherwise `failed`; `cancelled` if a cancel was in progress. Returns the status
    /// reached, or nil when the fence refused the write.
    @discardableResult
    public func retryLater(_ job: JobAttempt, error: String, delay: Duration? = nil, kind: FailureKind = .internal) throws -> JobStatus? {
        let rows = try connection.query(
            """
            WITH target AS (
                SELECT id, scribe.status_after_lost_attempt(status, attempts, max_attempts) AS next
                FROM scribe.jobs
                WHERE id = $2 AND attempts = $3 AND worker_id = $1 AND status IN ('running', 'cancelling')
                FOR UPDATE
            )
            UPDATE scribe.jobs AS j
            SET status = t.next, error = $4, error_kind = $6,
                run_at = CASE WHEN t.next = 'queued'
                              THEN now() + coalesce($5::float8 * interval '1 second', scribe.retry_delay(j.attempts))
                              ELSE j.run_at END,
                worker_id = CASE WHEN t.next = 'queued' THEN NULL ELSE j.worker_id END,
                finished_at = CASE WHEN t.next = 'queued' THEN NULL ELSE now() END,
                lease_expires_at = NULL
            FROM target AS t
            WHERE j.id = t.id
            RETURNING j.status
            """, [workerID, job.id, job.attempt, withoutNUL(error), delay?.seconds, kind.rawValue])
        let status = rows.scalar.flatMap(JobStatus.init(rawValue:))
        logger.info(status == nil ? "Retry refused by fence" : "Attempt failed", metadata: [
            "job.id": "\(job.id)", "job.attempt": "\(job.attempt)",
            "job.status": "\(status?.rawValue ?? "refused")", "error.message": "\(error)",
        ])
        return status
    }

    /// Fails the job at once, without retries (invalid params found at claim, ...).
    /// Returns the status reached (`failed`, or `cancelled` if a cancel was in
    /// progress), or nil when the fence refused the write.
    @discardableResult
    public func failWithoutRetry(_ job: JobAttempt, error: String) throws -> JobStatus? {
        let report = try complete([JobResult(id: job.id, attempt: job.attempt, outcome: .failed(error: error))])
        return report.written[job.id]
    }

    /// Graceful drain: hands unfinished jobs back as `queued` with the attempt this worker
    /// counted given back (attempts − 1), ready to be claimed at once by another worker.
    /// A job being cancelled ends `cancelled` instead.
    public func releaseUnfinished(_ jobs: [JobAttempt]) throws -> WriteReport {
        var report = WriteReport()
        guard !jobs.isEmpty else { return report }
        let rows = try connection.query(
            """
            UPDATE scribe.jobs AS j
            SET status = CASE WHEN j.status = 'cancelling' THEN 'cancelled' ELSE 'queued' END,
                attempts = CASE WHEN j.status = 'cancelling' THEN j.attempts ELSE j.attempts - 1 END,
                worker_id = CASE WHEN j.status = 'cancelling' THEN j.worker_id ELSE NULL END,
                finished_at = CASE WHEN j.status = 'cancelling' THEN now() ELSE NULL END,
                error = CASE WHEN j.status = 'cancelling'
                             THEN 'cancelled while its worker was shutting down' ELSE j.error END,
                lease_expires_at = NULL
            FROM unnest($2::bigint[], $3::integer[]) AS held(id, attempt)
            WHERE j.id = held.id AND j.attempts = held.attempt
              AND j.worker_id = $1 AND j.status IN ('running', 'cancelling')
            RETURNING j.id, j.status
            """, [workerID, PostgresArray(jobs.map(\.id)), PostgresArray(jobs.map(\.attempt))])
        for row in rows.rows {
            if let id = row[0].flatMap({ Int64($0) }), let status = row[1].flatMap(JobStatus.init(rawValue:)) {
                report.written[id] = status
            }
        }
        report.refused = jobs.filter { report.written[$0.id] == nil }
        logWrite("Jobs released", report)
        return report
    }

    private func logWrite(_ message: Logger.Message, _ report: WriteReport) {
        logger.debug(message, metadata: ["jobs.written": "\(report.written.count)", "jobs.refused": "\(report.refused.count)"])
        for job in report.refused {
            logger.warning("Write refused by fence", metadata: ["job.id": "\(job.id)", "job.attempt": "\(job.attempt)"])
        }
    }

    /// The batch as the JSON array `jsonb_to_recordset` reads; absent keys become NULL.
    private static func encode(_ results: [JobResult]) throws -> String {
        struct Row: Encodable {
            var id: Int64
            var attempt: Int
            var outcome: String
            var result: String?
            var finish_reason: String?
            var prompt_tokens: Int?
            var completion_tokens: Int?
            var error: String?
            var error_kind: String?
            var timings: [String: Double]?
            var choices: [JobChoice]?
        }
        let rows = results.map { result in
            var row = Row(
                id: result.id, attempt: result.attempt, outcome: "succeeded", result: result.text,
                finish_reason: result.finishReason, prompt_tokens: result.promptTokens,
                completion_tokens: result.completionTokens)
            switch result.outcome {
            case .succeeded: row.outcome = "succeeded"
            case .failed(let error):
                (row.outcome, row.error, row.error_kind) = ("failed", error, FailureKind.invalidInput.rawValue)
            case .retry(let error):
                (row.outcome, row.error, row.error_kind) = ("retry", error, FailureKind.internal.rawValue)
            case .cancelled: row.outcome = "cancelled"
            }
            let timings = result.timings.filter { $0.value.isFinite }
            row.timings = timings.isEmpty ? nil : timings
            row.choices = result.choices?.map(\.storable)
            return row
        }
        return try JSONValue(encoding: rows).jsonText
    }
}
