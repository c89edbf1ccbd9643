/// The jobs `scribe wait` waits for. Each case is one way of naming a set of jobs and
/// the SQL filter that finds them; a new way (a batch's jobs, say) is a new case here
/// and in `filter`, and everything else (progress, notifications, the bar) stays as is.
public enum WaitTarget: Sendable, Equatable {
    /// These jobs.
    case jobs([Int64])
    /// Every job unfinished at `since` (seconds since 1970, by the database's clock) and
    /// every job enqueued after it: done when no job is queued, running or cancelling.
    case all(since: Double)
    /// The jobs of one batch (`scribe.batches`).
    case batch(Int64)

    /// `.all` from this moment, by the database's clock (the workers' `finished_at` clock).
    public static func allFrom(now connection: PostgresConnection) throws -> WaitTarget {
        let now = try connection.query("SELECT extract(epoch FROM now())::float8").scalar.flatMap { Double($0) }
        return .all(since: now ?? 0)
    }

    /// The WHERE clause selecting the target's jobs from `scribe.jobs`, with its parameter
    /// as `$1`.
    var filter: (sql: String, parameter: PostgresEncodable) {
        switch self {
        case .jobs(let ids):
            (sql: "id = ANY($1::bigint[])", parameter: PostgresArray(ids) as PostgresEncodable)
        case .all(let since):
            (sql: "status IN ('queued', 'running', 'cancelling') OR finished_at >= to_timestamp($1::float8)",
             parameter: since as PostgresEncodable)
        case .batch(let id):
            (sql: "batch_id = $1::bigint", parameter: id as PostgresEncodable)
        }
    }
}
