/// One row of `scribe.workers`, as read back (by `scribe status`, by tests).
public struct WorkerRecord: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int32
    public var version: String
    public var model: String?
    /// PostgreSQL's text form of the timestamps (`2026-11-27 15:33:01.12+00`).
    public var startedAt: String
    public var heartbeatAt: String
    public var heartbeatInterval: Duration
    public var runningSequences: Int
    public var tokensPerSecond: Double
    /// Nil for a status this scribe does not know (written by a newer one).
    public var status: WorkerStatus?
    /// Seconds since its last heartbeat, by the database's clock.
    public var heartbeatAge: Double
    /// Whether it missed enough heartbeats to be expired.
    public var isStale: Bool

    public init(
        id: String, host: String, pid: Int32, version: String, model: String?, startedAt: String, heartbeatAt: String,
        heartbeatInterval: Duration, runningSequences: Int, tokensPerSecond: Double, status: WorkerStatus?,
        heartbeatAge: Double, isStale: Bool
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.model = model
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.heartbeatInterval = heartbeatInterval
        self.runningSequences = runningSequences
        self.tokensPerSecond = tokensPerSecond
        self.status = status
        self.heartbeatAge = heartbeatAge
        self.isStale = isStale
    }

    static let columns = """
        id, host, pid, version, model, started_at::text AS started_at, heartbeat_at::text AS heartbeat_at,
        extract(epoch FROM heartbeat_interval)::float8 AS heartbeat_interval, running_sequences,
        tokens_per_second, status, extract(epoch FROM now() - heartbeat_at)::float8 AS heartbeat_age
        """

    /// Reads row `index` of a query selecting `columns` plus a boolean `stale`.
    init?(rows: PostgresRows, index: Int) {
        guard let id = rows.value(index, "id"), let host = rows.value(index, "host"),
              let pid = rows.value(index, "pid").flatMap({ Int32($0) }),
              let version = rows.value(index, "version"),
              let startedAt = rows.value(index, "started_at"), let heartbeatAt = rows.value(index, "heartbeat_at"),
              let interval = rows.value(index, "heartbeat_interval").flatMap({ Double($0) }),
              let running = rows.value(index, "running_sequences").flatMap({ Int($0) }),
              let tokens = rows.value(index, "tokens_per_second").flatMap({ Double($0) }),
              let age = rows.value(index, "heartbeat_age").flatMap({ Double($0) })
        else { return nil }
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.model = rows.value(index, "model")
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.heartbeatInterval = .milliseconds(Int64((interval * 1000).rounded()))
        self.runningSequences = running
        self.tokensPerSecond = tokens
        self.status = rows.value(index, "status").flatMap(WorkerStatus.init(rawValue:))
        self.heartbeatAge = age
        self.isStale = rows.value(index, "stale") == "t"
    }
}
