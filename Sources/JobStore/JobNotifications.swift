import Logging

/// The NOTIFY channels the job table's triggers use (the SQL contract).
public enum JobChannel: String, Sendable, CaseIterable {
    /// A job became claimable (inserted, or queued again); payload: its model, '' for none.
    case jobsQueued = "scribe_jobs_queued"
    /// A running job was asked to cancel; payload: the job id.
    case jobCancel = "scribe_job_cancel"
    /// A job reached a final status; payload: the job id.
    case jobDone = "scribe_job_done"
}

public enum JobNotification: Sendable, Equatable {
    /// Jobs for `model` (nil: jobs naming no model) can be claimed.
    case queued(model: String?)
    case cancel(jobID: Int64)
    case done(jobID: Int64)
}

/// Listens for job notifications on a connection of its own, so that workers sleep until
/// there is work (or a cancel) instead of polling. LISTEN is session state: give it a
/// direct connection, not one through PgBouncer in transaction mode.
///
/// Notifications are hints, never the only path: a worker still claims on a timer (about
/// once a second) and learns of cancels from `renewLeases`, because notifications sent
/// while this connection was down are lost. Single owner; use from one thread.
public final class JobNotifications {
    public let connection: PostgresConnection
    public let channels: [JobChannel]
    private let logger: Logger

    public init(
        connection: PostgresConnection, channels: [JobChannel] = [.jobsQueued, .jobCancel], logger: Logger
    ) throws {
        self.connection = connection
        self.channels = channels
        self.logger = logger
        for channel in channels {
            try connection.listen(channel.rawValue)
        }
    }

    /// The notifications that arrived, waiting up to `timeout` for the first; empty on
    /// timeout. Throws a `.connection` error when the connection is lost (reconnect, then
    /// claim once: work queued meanwhile sent no notification that survived).
    public func wait(timeout: Duration) throws -> [JobNotification] {
        try connection.waitForNotifications(timeout: timeout).compactMap { notification in
            switch JobChannel(rawValue: notification.channel) {
            case .jobsQueued:
                return .queued(model: notification.payload.isEmpty ? nil : notification.payload)
            case .jobCancel:
                if let id = Int64(notification.payload) { return .cancel(jobID: id) }
            case .jobDone:
                if let id = Int64(notification.payload) { return .done(jobID: id) }
            case nil:
                break
            }
            logger.warning("Unexpected notification ignored", metadata: [
                "notification.channel": "\(notification.channel)", "notification.payload": "\(notification.payload)",
            ])
            return nil
        }
    }
}
