import Logging

/// Whether a heartbeat found the worker's row.
public enum HeartbeatOutcome: Sendable, Equatable {
    case refreshed
    /// The row was gone (expired by another worker while this one was paused or cut off
    /// from the database) and has been written again.
    case reregistered
}

/// One worker's row in `scribe.workers`: written at start, refreshed by each heartbeat,
/// deleted at a clean exit, and expired by the others when its heartbeats stop.
///
/// Every method is one statement (PgBouncer-safe, like `JobQueue`). Single owner, like
/// the connection it uses; the worker may share its `JobQueue`'s connection.
public final class WorkerRegistry {
    public let connection: PostgresConnection
    public let identity: WorkerIdentity
    let logger: Logger
    /// The row's `started_at` as first written, kept if the row must be written again.
    private var startedAt: String?

    /// Rows whose heartbeat is this many intervals old are stale (`expireStale`).
    public static let defaultMissedHeartbeats = 3

    public init(connection: PostgresConnection, identity: WorkerIdentity, logger: Logger) {
        self.connection = connection
        self.identity = identity
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(identity.id)"
        self.logger = logger
    }

    /// Writes this worker's row (replacing one with the same id: a restart), with
    /// `started_at` and `heartbeat_at` now.
    public func register(status: WorkerStatus = .starting) throws {
        let rows = try connection.query(
            """
            INSERT INTO scribe.workers AS w
                (id, host, pid, version, model, heartbeat_interval, status)
            VALUES ($1, $2, $3, $4, $5, $6::float8 * interval '1 second', $7)
            ON CONFLICT (id) DO UPDATE SET
                host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version, model = EXCLUDED.model,
                heartbeat_interval = EXCLUDED.heartbeat_interval, status = EXCLUDED.status,
                started_at = now(), heartbeat_at = now(), running_sequences = 0, tokens_per_second = 0
            RETURNING started_at::text
            """,
            [identity.id, identity.host, Int(identity.pid), identity.version, identity.model,
             identity.heartbeatInterval.seconds, status.rawValue])
        startedAt = rows.scalar
        logger.info("Worker registered", metadata: [
            "worker.host": "\(identity.host)", "worker.pid": "\(identity.pid)",
            "worker.version": "\(identity.version)", "worker.model": "\(identity.model ?? "")",
            "worker.status": "\(status.rawValue)",
        ])
    }

    /// Refreshes `heartbeat_at` and the live figures in one statement; writes the whole
    /// row again if another worker expired it meanwhile (then says so).
    @discardableResult
    public func heartbeat(runningSequences: Int, tokensPerSecond: Double, status: WorkerStatus) throws -> HeartbeatOutcome {
        // The table's CHECKs would refuse a NaN rate or a negative count and fail the beat.
        let rate = tokensPerSecond.isFinite && tokensPerSecond > 0 ? tokensPerSecond : 0
        let rows = try connection.query(
            """
            INSERT INTO scribe.workers AS w
                (id, host, pid, version, model, heartbeat_interval, status, running_sequences, tokens_per_second,
                 started_at)
            VALUES ($1, $2, $3, $4, $5, $6::float8 * interval '1 second', $7, $8, $9, coalesce($10::timestamptz, now()))
            ON CONFLICT (id) DO UPDATE SET
                heartbeat_at = now(), status = EXCLUDED.status,
                running_sequences = EXCLUDED.running_sequences, tokens_per_second = EXCLUDED.tokens_per_second
            -- xmax is 0 only in a row version this statement inserted (not updated).
            RETURNING (w.xmax = 0) AS inserted
            """,
            [identity.id, identity.host, Int(identity.pid), identity.version, identity.model,
             identity.heartbeatInterval.seconds, status.rawValue, max(0, runningSequences), rate, startedAt])
        guard rows.scalar == "t" else { return .refreshed }
        logger.warning("Worker row expired by others; registered again", metadata: [
            "worker.status": "\(status.rawValue)",
        ])
        return .reregistered
    }

    /// Deletes this worker's row (at a clean exit, after the drain).
    public func deregister() throws {
        try connection.query("DELETE FROM scribe.workers WHERE id = $1", [identity.id])
        logger.info("Worker deregistered")
    }

    /// Deletes the rows of other workers whose last heartbeat is older than
    /// `missedHeartbeats` of their own intervals, and returns them. Any worker may call
    /// it (say, every heartbeat): concurrent callers delete each row once.
    @discardableResult
    public func expireStale(missedHeartbeats: Int = defaultMissedHeartbeats) throws -> [WorkerRecord] {
        let rows = try connection.query(
            """
            DELETE FROM scribe.workers
            WHERE heartbeat_at < now() - heartbeat_interval * $1 AND id <> $2
            RETURNING \(WorkerRecord.columns), true AS stale
            """, [max(1, missedHeartbeats), identity.id])
        let expired = (0..<rows.count).compactMap { WorkerRecord(rows: rows, index: $0) }
        for worker in expired {
            logger.notice("Stale worker expired", metadata: [
                "stale.worker.id": "\(worker.id)", "stale.worker.host": "\(worker.host)",
                "stale.worker.pid": "\(worker.pid)", "stale.heartbeat.age_s": "\(Int(worker.heartbeatAge))",
            ])
        }
        return expired
    }

    /// Every registered worker, by host then id, each marked stale or not.
    public static func workers(
        on connection: PostgresConnection, missedHeartbeats: Int = defaultMissedHeartbeats
    ) throws -> [WorkerRecord] {
        let rows = try connection.query(
            """
            SELECT \(WorkerRecord.columns), heartbeat_at < now() - heartbeat_interval * $1 AS stale
            FROM scribe.workers ORDER BY host, id
            """, [max(1, missedHeartbeats)])
        return (0..<rows.count).compactMap { WorkerRecord(rows: rows, index: $0) }
    }
}
