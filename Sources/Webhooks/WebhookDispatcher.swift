import Foundation
import JobStore
import Logging

/// Sends the webhook outbox: a long-lived service in the shape of every Scribe service
/// (`run()` blocks its own thread until `shutdown()` has drained it), on a thread of its
/// own so that generation never waits for a receiver. Its decisions are
/// `DispatcherStateMachine`'s, performed by `DispatchLoop`.
///
/// It claims due deliveries from `scribe.webhook_deliveries` (`FOR UPDATE SKIP LOCKED`,
/// each attempt under a lease), checks each destination with the `DestinationGuard`,
/// sends up to `maxInFlight` at once through one libcurl multi handle, and writes every
/// attempt back. It wakes on `NOTIFY scribe_webhooks_due` and polls every
/// `pollInterval` as a fallback. Any number of dispatchers, in any workers, can share
/// one database. `shutdown()` stops claiming,
/// lets in-flight transfers finish within `drainTimeout`, and returns.
///
/// ```swift
/// let dispatcher = try WebhookDispatcher(
///     configuration: configuration, connect: { try PostgresConnection(environment: environment) }, logger: logger)
/// try dispatcher.run()   // on a thread of its own; shutdown() stops it
/// ```
public final class WebhookDispatcher: @unchecked Sendable {
    public let configuration: WebhookDispatcherConfiguration
    private let connect: @Sendable () throws -> PostgresConnection
    private let events: DispatcherEvents
    private let logger: Logger
    /// Used by the loop's thread only, except `wakeup()` (thread-safe per libcurl).
    private let multi: CurlMulti
    private let lock = NSLock()
    private var stopRequested = false
    private var started = false

    /// - Parameter connect: opens a database connection (called for the claim connection
    ///   and the LISTEN connection, and again after a connection is lost).
    /// - Parameter events: told of every attempt's outcome and of database trouble (metrics).
    public init(configuration: WebhookDispatcherConfiguration,
                connect: @escaping @Sendable () throws -> PostgresConnection,
                events: DispatcherEvents = .none, logger: Logger) throws {
        self.configuration = configuration
        self.connect = connect
        self.events = events
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(configuration.workerID)"
        self.logger = logger
        multi = try CurlMulti()
    }

    /// Runs until `shutdown()` on the calling thread (blocking it). One run per dispatcher.
    public func run() throws {
        lock.lock()
        let again = started
        started = true
        lock.unlock()
        precondition(!again, "a WebhookDispatcher runs once; make a new one to run again")
        let mailbox = ResolutionMailbox { [multi] in multi.wakeup() }
        let loop = DispatchLoop(
            configuration: configuration, connect: connect, events: events, multi: multi, mailbox: mailbox,
            isStopping: { [unowned self] in self.isStopRequested }, logger: logger)
        try loop.run()
    }

    /// Asks `run()` to stop: no new claims, in-flight transfers drain (up to
    /// `drainTimeout`), then `run()` returns. Safe from any thread, any number of times.
    public func shutdown() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        multi.wakeup()
    }

    private var isStopRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }
}
