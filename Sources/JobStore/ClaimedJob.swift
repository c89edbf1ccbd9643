import Foundation

/// A job a worker claimed: everything needed to run it and to write its result back.
public struct ClaimedJob: Sendable, Equatable {
    /// What to generate from.
    public enum Input: Sendable, Equatable {
        case prompt(String)
        /// The `messages` column as JSON text (an array of `{"role", "content"}` objects).
        case messages(json: String)
    }

    public var id: Int64
    /// The attempt this claim counted (1 for the first); the fencing value for every write.
    public var attempt: Int
    public var maxAttempts: Int
    public var input: Input
    /// The `params` column as JSON text (always an object; `{}` when none were given).
    public var paramsJSON: String
    /// The `metadata` column as JSON text, nil when NULL.
    public var metadataJSON: String?
    public var callbackURL: String?
    public var model: String?
    public var priority: Int
    public var runAt: Date
    public var createdAt: Date
    public var leaseExpiresAt: Date

    public var fence: JobAttempt { JobAttempt(id: id, attempt: attempt) }
}

extension ClaimedJob {
    /// The columns `init(row:)` reads, as a RETURNING list for `scribe.jobs AS j`.
    static let returning = """
        j.id, j.attempts, j.max_attempts, j.prompt, j.messages::text AS messages,
        j.params::text AS params, j.metadata::text AS metadata, j.callback_url, j.model,
        j.priority, extract(epoch FROM j.run_at)::float8 AS run_at,
        extract(epoch FROM j.created_at)::float8 AS created_at,
        extract(epoch FROM j.lease_expires_at)::float8 AS lease_expires_at
        """

    init?(rows: PostgresRows, index: Int) {
        func text(_ column: String) -> String? { rows.value(index, column) }
        func date(_ column: String) -> Date? {
            text(column).flatMap(Double.init).map(Date.init(timeIntervalSince1970:))
        }
        guard let id = text("id").flatMap({ Int64($0) }),
              let attempt = text("attempts").flatMap({ Int($0) }),
              let maxAttempts = text("max_attempts").flatMap({ Int($0) }),
              let priority = text("priority").flatMap({ Int($0) }),
              let runAt = date("run_at"), let createdAt = date("created_at"), let leaseExpiresAt = date("lease_expires_at")
        else { return nil }
        // The CHECK jobs_prompt_xor_messages guarantees exactly one is set.
        if let prompt = text("prompt") {
            input = .prompt(prompt)
        } else if let messages = text("messages") {
            input = .messages(json: messages)
        } else {
            return nil
        }
        self.id = id
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        paramsJSON = text("params") ?? "{}"
        metadataJSON = text("metadata")
        callbackURL = text("callback_url")
        model = text("model")
        self.priority = priority
        self.runAt = runAt
        self.createdAt = createdAt
        self.leaseExpiresAt = leaseExpiresAt
    }
}
