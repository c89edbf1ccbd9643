import JobStore

/// How a `WebhookDispatcher` sends. Defaults are the production ones; tests shorten the
/// retry schedule and the intervals.
public struct WebhookDispatcherConfiguration: Sendable {
    /// Written into `claimed_by` and every attempt's `worker_id`.
    public var workerID: String
    /// Transfers in flight at once (claimed and not yet written back).
    public var maxInFlight = 64
    /// What one destination (a URL's host) may hold of every dispatcher's slots, and its
    /// circuit breaker.
    public var perDestination = DestinationLimits()
    /// Time allowed to establish a connection (TCP and TLS).
    public var connectTimeout: Duration = .seconds(5)
    /// Time allowed for a whole attempt, connection included.
    public var totalTimeout: Duration = .seconds(30)
    /// Response bytes stored with the attempt (`response_excerpt`); the rest is read and
    /// dropped. None by default: a receiver's answer may hold what the job's author should
    /// not read (an internal service's reply), so it is kept only when asked for.
    public var responseExcerptBytes = 0
    public var retry = RetryPolicy()
    public var destinations = DestinationGuard()
    /// How host names are resolved for the guard's check (`getaddrinfo`). libcurl never
    /// resolves on its own: it connects to the addresses this answered and the guard allowed.
    public var resolve: @Sendable (String) throws -> [IPAddress] = HostResolver.resolve
    /// Secrets to sign with (newest first); none sends unsigned messages.
    public var signer = WebhookSigner(secrets: [])
    /// The claim runs at least this often without a notification (the NOTIFY fallback).
    public var pollInterval: Duration = .seconds(1)
    /// How often this dispatcher looks for attempts whose dispatcher died.
    public var rescueInterval: Duration = .seconds(5)
    /// A claim's lease: resolution and the transfer's `totalTimeout` must fit in it with
    /// room to write the result back, so the lease is `totalTimeout + leaseMargin`.
    public var leaseMargin: Duration = .seconds(30)
    /// After `shutdown()`, in-flight transfers get this long to finish; the rest are
    /// aborted and recorded as interrupted (due again at once, for any dispatcher).
    public var drainTimeout: Duration = .seconds(10)
    /// Longest wait between attempts to reconnect to the database.
    public var maxReconnectDelay: Duration = .seconds(30)

    public init(workerID: String) {
        self.workerID = workerID
    }

    var lease: Duration { totalTimeout + leaseMargin }
}
