/// What one `deleteFinished` call did.
public struct RetentionPass: Sendable, Equatable {
    public var deleted: Int
    /// Another worker held the retention lock: this call deleted nothing and left the
    /// work to it.
    public var skipped: Bool

    public init(deleted: Int, skipped: Bool) {
        self.deleted = deleted
        self.skipped = skipped
    }
}

extension JobQueue {
    /// Deletes at most `limit` finished jobs whose `finished_at` is older than `age`, in one
    /// short transaction: callers run it again later while it reports a full pass, so a
    /// large backlog never holds the caller (or the table's locks) for long. Jobs of a
    /// batch that is still running stay, whatever their age: the batch's results are read
    /// from them when it ends. The transaction first takes the retention advisory lock with
    /// `pg_try_advisory_xact_lock`: when another worker holds it, nothing is deleted and
    /// the pass reports `skipped`, so one worker at a time does the deleting.
    @discardableResult
    public func deleteFinished(olderThan age: Duration, limit: Int = 500) throws -> RetentionPass {
        precondition(limit > 0, "limit must be positive")
        let deleted: Int? = try connection.transaction {
            let locked = try connection.query("SELECT pg_try_advisory_xact_lock($1)", [AdvisoryLock.retention])
            guard locked.scalar == "t" else { return nil }
            return try connection.query(
                """
                DELETE FROM scribe.jobs
                WHERE id IN (
                    SELECT j.id FROM scribe.jobs AS j
                    WHERE j.status IN ('succeeded', 'failed', 'cancelled')
                      AND j.finished_at < now() - $1::float8 * interval '1 second'
                      AND NOT EXISTS (
                          SELECT 1 FROM scribe.batches AS b
                          WHERE b.id = j.batch_id
                            AND b.status IN ('validating', 'in_progress', 'finalizing', 'cancelling'))
                    ORDER BY j.finished_at
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED)
                """, [age.seconds, limit]).affectedRows
        }
        guard let deleted else {
            logger.debug("Retention skipped: another worker holds the lock")
            return RetentionPass(deleted: 0, skipped: true)
        }
        if deleted > 0 {
            logger.info("Finished jobs deleted", metadata: ["jobs.deleted": "\(deleted)", "retention.age": "\(age)"])
        }
        return RetentionPass(deleted: deleted, skipped: false)
    }
}
