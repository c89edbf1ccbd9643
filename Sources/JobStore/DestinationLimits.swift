/// How much of the dispatchers' capacity one webhook destination (a URL's host) may hold,
/// enforced by the claim across every dispatcher of the database, and when its circuit
/// opens (`Migrations/0032_webhook_destinations.sql`).
public struct DestinationLimits: Sendable, Equatable {
    /// Deliveries to one destination in flight at once, across all dispatchers.
    public var inFlight = 16
    /// Attempts in a row that got no answer, or a 429 or 5xx, before the circuit opens.
    public var failuresToOpen = 5
    /// The first cool-off; it doubles each time the half-open probe fails.
    public var coolOff: Duration = .seconds(30)
    public var maxCoolOff: Duration = .seconds(600)

    public init() {}
}
