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
    /// Deletes finished jobs whose `finished_at` is older than `age`, `batchSize` rows per
    /// transaction, until none are left. Each batch first takes the retention advisory
    /// lock with `pg_try_advisory_xact_lock`: when another worker holds it, this call
    /// stops and reports `skipped`, so one worker at a time does the deleting. Small
    /// batches keep each transaction's locks and WAL short and leave claims undisturbed.
    @discardableResult
    public func deleteFinished(olderThan age: Duration, batchSize: Int = 500) throws -> RetentionPass {
        precondition(batchSize > 0, "batchSize must be positive")
        var deleted = 0
        while true {
            let batch: Int? = try connection.transaction {
                let locked = try connection.query("SELECT pg_try_advisory_xact_lock($1)", [AdvisoryLock.retention])
                guard locked.scalar == "t" else { return nil }
                return try connection.query(
                    """
                    DELETE FROM scribe.jobs
                    WHERE id IN (
                        SELECT id FROM scribe.jobs
                        WHERE status IN ('succeeded', 'failed', 'cancelled')
                          AND finished_at < now() - $1::float8 * interval '1 second'
                        ORDER BY finished_at
                        LIMIT $2
                        FOR UPDATE SKIP LOCKED)
                    """, [age.seconds, batchSize]).affectedRows
            }
            guard let batch else {
                logger.debug("Retention skipped: another worker holds the lock")
                return RetentionPass(deleted: deleted, skipped: true)
            }
            deleted += batch
            if batch < batchSize { break }
        }
        if deleted > 0 {
            logger.info("Finished jobs deleted", metadata: ["jobs.deleted": "\(deleted)", "retention.age": "\(age)"])
        }
        return RetentionPass(deleted: deleted, skipped: false)
    }
}
