/// How far a set of jobs (a `WaitTarget`) has come: counts by status, read in one statement.
public struct JobProgress: Sendable, Equatable {
    public var queued: Int
    /// Running or cancelling.
    public var running: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
    /// Ids of a `.jobs` target with no row (never existed, or deleted by retention).
    public var missing: [Int64]

    public init(queued: Int = 0, running: Int = 0, succeeded: Int = 0, failed: Int = 0, cancelled: Int = 0,
                missing: [Int64] = []) {
        self.queued = queued
        self.running = running
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
        self.missing = missing
    }

    public var finished: Int { succeeded + failed + cancelled }
    /// Every job of the target, missing ones included.
    public var total: Int { queued + running + finished + missing.count }
    /// Nothing left to wait for.
    public var isComplete: Bool { queued == 0 && running == 0 }
    /// Complete, and every job succeeded.
    public var allSucceeded: Bool { isComplete && succeeded == total }

    /// Reads the progress of `target`.
    public static func read(_ target: WaitTarget, on connection: PostgresConnection) throws -> JobProgress {
        let (filter, parameter) = target.filter
        let rows = try connection.query(
            """
            SELECT count(*) FILTER (WHERE status = 'queued') AS queued,
                   count(*) FILTER (WHERE status IN ('running', 'cancelling')) AS running,
                   count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled
            FROM scribe.jobs
            WHERE \(filter)
            """, [parameter])
        func int(_ column: String) -> Int { rows.value(0, column).flatMap { Int($0) } ?? 0 }
        var progress = JobProgress(
            queued: int("queued"), running: int("running"), succeeded: int("succeeded"), failed: int("failed"),
            cancelled: int("cancelled"))
        if case .jobs(let ids) = target {
            let missing = try connection.query(
                """
                SELECT DISTINCT wanted FROM unnest($1::bigint[]) AS wanted
                WHERE NOT EXISTS (SELECT 1 FROM scribe.jobs WHERE id = wanted) ORDER BY wanted
                """, [PostgresArray(ids)])
            progress.missing = missing.rows.compactMap { $0[0].flatMap { Int64($0) } }
        }
        return progress
    }
}
