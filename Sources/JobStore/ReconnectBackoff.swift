/// When to try the database again after losing it: 100 ms after the first failure, then
/// twice as long after each further one up to `cap`; every wait is scaled by a random
/// factor in [0.8, 1.2], so that processes that lost the database together do not come
/// back together. A success starts over.
public struct ReconnectBackoff: Sendable, Equatable {
    public static let first = Duration.milliseconds(100)
    public let cap: Duration
    private var next = ReconnectBackoff.first

    public init(cap: Duration) {
        self.cap = cap
    }

    /// The wait before the next attempt; the one after will be twice as long.
    public mutating func wait(using random: inout some RandomNumberGenerator) -> Duration {
        defer { next = min(next * 2, cap) }
        return next * Double.random(in: 0.8...1.2, using: &random)
    }

    public mutating func reset() {
        next = Self.first
    }
}
