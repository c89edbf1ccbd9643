import JobStore

/// What a dispatcher reports as it goes, for its owner's metrics. Each closure is called
/// on the dispatcher's thread and must return quickly.
public struct DispatcherEvents: Sendable {
    /// An attempt ended (sent, refused, or interrupted by shutdown), before it is written back.
    public var attemptFinished: @Sendable (DeliveryAttemptRecord.Outcome) -> Void
    /// A database statement or connection failed (the dispatcher reconnects with backoff).
    public var databaseError: @Sendable () -> Void
    /// Connected again after a failure.
    public var reconnected: @Sendable () -> Void

    public init(
        attemptFinished: @escaping @Sendable (DeliveryAttemptRecord.Outcome) -> Void = { _ in },
        databaseError: @escaping @Sendable () -> Void = {},
        reconnected: @escaping @Sendable () -> Void = {}
    ) {
        self.attemptFinished = attemptFinished
        self.databaseError = databaseError
        self.reconnected = reconnected
    }

    public static let none = DispatcherEvents()
}
