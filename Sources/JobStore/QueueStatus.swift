/// The whole queue at a glance, as `scribe status` shows it: unfinished jobs by status,
/// recent throughput, live workers and the webhook backlog, read in one snapshot.
public struct QueueStatus: Sendable, Equatable {
    /// Unfinished jobs by status (queued, running, cancelling; absent ones are 0).
    /// Finished jobs are counted per throughput window, never over the table's whole
    /// history, so reading the status stays cheap however many jobs are kept.
    public var unfinished: [JobStatus: Int]
    /// Queued jobs whose `run_at` is still in the future (counted in `queued` too).
    public var scheduledLater: Int
    /// Seconds the longest-waiting claimable job has waited since its `run_at`; nil when
    /// nothing is claimable.
    public var oldestQueuedAge: Double?
    /// Jobs finished within each window, shortest window first.
    public var windows: [ThroughputWindow]
    /// Every registered worker (stale ones marked), by host then id.
    public var workers: [WorkerRecord]
    public var webhooks: WebhookBacklog

    public init(unfinished: [JobStatus: Int], scheduledLater: Int, oldestQueuedAge: Double?,
                windows: [ThroughputWindow], workers: [WorkerRecord], webhooks: WebhookBacklog) {
        self.unfinished = unfinished
        self.scheduledLater = scheduledLater
        self.oldestQueuedAge = oldestQueuedAge
        self.windows = windows
        self.workers = workers
        self.webhooks = webhooks
    }

    public func count(_ status: JobStatus) -> Int { unfinished[status] ?? 0 }
}

/// Jobs that reached a final status within the last `seconds`, by `finished_at`: a long
/// job's tokens all count when it ends, so rates over short windows are lumpy.
public struct ThroughputWindow: Sendable, Equatable {
    public var seconds: Double
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
    public var completionTokens: Int
    public var promptTokens: Int

    public init(seconds: Double, succeeded: Int, failed: Int, cancelled: Int, completionTokens: Int, promptTokens: Int) {
        self.seconds = seconds
        self.succeeded = succeeded
        self.failed = failed
        self.cancelled = cancelled
        self.completionTokens = completionTokens
        self.promptTokens = promptTokens
    }

    public var finished: Int { succeeded + failed + cancelled }
    public var jobsPerSecond: Double { Double(finished) / seconds }
    /// Generated tokens per second.
    public var tokensPerSecond: Double { Double(completionTokens) / seconds }
}

/// Webhook deliveries not yet delivered.
public struct WebhookBacklog: Sendable, Equatable {
    /// Waiting for an attempt (due now or later).
    public var pending: Int
    /// Pending after at least one failed attempt.
    public var retrying: Int
    /// Being sent right now.
    public var sending: Int
    /// Given up on (kept until retention deletes them; `scribe webhooks redeliver` revives one).
    public var dead: Int
    /// Seconds since the oldest pending delivery was created or redelivered; nil when none.
    public var oldestPendingAge: Double?

    public init(pending: Int, retrying: Int, sending: Int, dead: Int, oldestPendingAge: Double?) {
        self.pending = pending
        self.retrying = retrying
        self.sending = sending
        self.dead = dead
        self.oldestPendingAge = oldestPendingAge
    }
}

extension QueueStatus {
    public static let defaultWindows: [Duration] = [.seconds(60), .seconds(300)]

    /// Reads the status in one REPEATABLE READ transaction, so the figures are of one
    /// moment. Every count reads a partial index (queued, active, finished-by-age, due
    /// deliveries), never the whole history.
    public static func read(on connection: PostgresConnection, windows: [Duration] = defaultWindows) throws -> QueueStatus {
        try connection.transaction {
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let rows = try connection.query(
                """
                SELECT
                    (SELECT count(*) FROM scribe.jobs WHERE status = 'queued') AS queued,
                    (SELECT count(*) FROM scribe.jobs WHERE status = 'queued' AND run_at > now()) AS scheduled,
                    (SELECT extract(epoch FROM now() - min(run_at))::float8
                     FROM scribe.jobs WHERE status = 'queued' AND run_at <= now()) AS oldest_queued,
                    (SELECT count(*) FROM scribe.jobs WHERE status = 'running') AS running,
                    (SELECT count(*) FROM scribe.jobs WHERE status = 'cancelling') AS cancelling,
                    (SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'pending') AS pending,
                    (SELECT count(*) FROM scribe.webhook_deliveries
                     WHERE status = 'pending' AND attempts > redelivered_after) AS retrying,
                    (SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'sending') AS sending,
                    (SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'dead') AS dead,
                    (SELECT extract(epoch FROM now() - min(enqueued_at))::float8
                     FROM scribe.webhook_deliveries WHERE status = 'pending') AS oldest_pending
                """)
            func int(_ column: String) -> Int { rows.value(0, column).flatMap { Int($0) } ?? 0 }
            func double(_ column: String) -> Double? { rows.value(0, column).flatMap { Double($0) } }
            return QueueStatus(
                unfinished: [.queued: int("queued"), .running: int("running"), .cancelling: int("cancelling")],
                scheduledLater: int("scheduled"), oldestQueuedAge: double("oldest_queued").map { max(0, $0) },
                windows: try throughput(on: connection, windows: windows),
                workers: try WorkerRegistry.workers(on: connection),
                webhooks: WebhookBacklog(
                    pending: int("pending"), retrying: int("retrying"), sending: int("sending"), dead: int("dead"),
                    oldestPendingAge: double("oldest_pending").map { max(0, $0) }))
        }
    }

    private static func throughput(on connection: PostgresConnection, windows: [Duration]) throws -> [ThroughputWindow] {
        guard !windows.isEmpty else { return [] }
        let rows = try connection.query(
            """
            SELECT w.seconds,
                   count(j.id) FILTER (WHERE j.status = 'succeeded') AS succeeded,
                   count(j.id) FILTER (WHERE j.status = 'failed') AS failed,
                   count(j.id) FILTER (WHERE j.status = 'cancelled') AS cancelled,
                   coalesce(sum(j.completion_tokens), 0) AS completion_tokens,
                   coalesce(sum(j.prompt_tokens), 0) AS prompt_tokens
            FROM unnest($1::float8[]) AS w(seconds)
            LEFT JOIN scribe.jobs AS j
                   ON j.status IN ('succeeded', 'failed', 'cancelled')
                  AND j.finished_at > now() - w.seconds * interval '1 second'
            GROUP BY w.seconds
            ORDER BY w.seconds
            """, [PostgresArray(windows.map { $0.seconds })])
        return (0..<rows.count).compactMap { index in
            func int(_ column: String) -> Int? { rows.value(index, column).flatMap { Int($0) } }
            guard let seconds = rows.value(index, "seconds").flatMap({ Double($0) }), seconds > 0,
                  let succeeded = int("succeeded"), let failed = int("failed"), let cancelled = int("cancelled"),
                  let completion = int("completion_tokens"), let prompt = int("prompt_tokens")
            else { return nil }
            return ThroughputWindow(seconds: seconds, succeeded: succeeded, failed: failed, cancelled: cancelled,
                                    completionTokens: completion, promptTokens: prompt)
        }
    }
}
