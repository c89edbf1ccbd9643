/// A job's `status` column. The raw values are the SQL contract.
public enum JobStatus: String, Sendable, Hashable, CaseIterable {
    case queued, running, cancelling, succeeded, failed, cancelled

    /// Final statuses never change again (and have `finished_at` set).
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: true
        case .queued, .running, .cancelling: false
        }
    }

    /// Held by a worker under a lease.
    public var isActive: Bool { self == .running || self == .cancelling }
}

/// The fencing token of one claim: a job and the attempt number the claim gave it.
/// Every write a worker makes is conditioned on it (and on the worker's id), so a worker
/// whose lease was taken away cannot write over the job's next attempt.
public struct JobAttempt: Sendable, Hashable, CustomStringConvertible {
    public var id: Int64
    public var attempt: Int

    public init(id: Int64, attempt: Int) {
        self.id = id
        self.attempt = attempt
    }

    public var description: String { "\(id)#\(attempt)" }
}
