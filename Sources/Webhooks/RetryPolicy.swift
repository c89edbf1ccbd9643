import JobStore
import ScribeCore

/// When a failed attempt is tried again, and when a delivery is given up: a pure function
/// of the attempt's result, its number and the delivery's age. Each result is first
/// classified in Scribe's error taxonomy (`FailureKind`), and the kind decides:
///
/// | result                                        | kind | outcome |
/// |-----------------------------------------------|------|---------|
/// | 2xx                                           | —    | delivered |
/// | 408, 429, 5xx, no response (connection refused or reset, timeout, DNS, TLS) | transient | retry on the schedule, at least `Retry-After` |
/// | 410 Gone                                      | invalid input | dead at once (the receiver asked us to stop) |
/// | other 1xx, 3xx (redirects are not followed), other 4xx, bad URL | invalid input | dead, status kept |
/// | refused by the destination guard              | invalid input | dead, reason kept |
///
/// (An internal fault, a transfer libcurl would not start, ends the attempt as
/// interrupted: due again after the first delay, the attempt counted.)
///
/// A retry that would be attempt `maxAttempts + 1`, or that would fall after `maxAge`
/// from the delivery's creation (or redelivery), makes the delivery dead instead.
public struct RetryPolicy: Sendable, Equatable {
    /// Wait after attempt 1, 2, ...; the last one repeats. Default, as the Standard
    /// Webhooks reference schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    public var delays: [Duration]
    /// Each wait is multiplied by a random factor in [1 − jitter, 1 + jitter], so that
    /// deliveries that failed together do not come back together.
    public var jitter: Double
    /// Attempts per delivery (per round: `scribe.redeliver` starts a new one). The default
    /// 8 is the first attempt and the seven waits of the schedule, about 28 hours.
    public var maxAttempts: Int
    /// No retry is scheduled later than this after the delivery was created.
    public var maxAge: Duration
    /// `Retry-After` values are capped at this.
    public var maxRetryAfter: Duration

    public static let standardDelays: [Duration] = [
        .seconds(5), .seconds(5 * 60), .seconds(30 * 60), .seconds(2 * 3600), .seconds(5 * 3600),
        .seconds(10 * 3600), .seconds(10 * 3600),
    ]

    public init(
        delays: [Duration] = RetryPolicy.standardDelays, jitter: Double = 0.2, maxAttempts: Int = 8,
        maxAge: Duration = .seconds(3 * 86400), maxRetryAfter: Duration = .seconds(86400)
    ) {
        precondition(!delays.isEmpty, "a retry schedule needs at least one delay")
        precondition((0..<1).contains(jitter), "jitter must be in [0, 1)")
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        self.delays = delays
        self.jitter = jitter
        self.maxAttempts = maxAttempts
        self.maxAge = maxAge
        self.maxRetryAfter = maxRetryAfter
    }

    /// What an attempt produced.
    public enum Result: Sendable, Equatable {
        case response(status: Int, retryAfter: Duration?)
        /// No HTTP response: `transient` (refused, reset, timeout, DNS, TLS), or
        /// `invalidInput` for requests that can never work (a malformed URL).
        case transportFailure(FailureKind)
        case refused

        /// What the result means; nil for a success.
        public var kind: FailureKind? {
            switch self {
            case .refused: .invalidInput
            case .transportFailure(let kind): kind
            case .response(let status, _):
                switch status {
                case 200..<300: nil
                case 408, 429, 500..<600: .transient
                default: .invalidInput
                }
            }
        }
    }

    /// The outcome of attempt `attempt` (1-based within its round) of a delivery `age` old,
    /// and, when it is not `delivered`, a sentence saying why (stored as `last_error`,
    /// prefixed by the transfer's own error when there is one). `random` is uniform in
    /// [0, 1): the jitter's draw, a parameter so that tests can pin it.
    public func outcome(
        of result: Result, attempt: Int, age: Duration, random: Double
    ) -> (outcome: DeliveryAttemptRecord.Outcome, reason: String?) {
        guard let kind = result.kind else { return (.delivered, nil) }
        if kind == .invalidInput {
            switch result {
            case .refused: return (.refused, nil)
            case .response(410, _): return (.dead, "HTTP 410 Gone: the receiver asked not to be called again")
            case .response(let status, _) where (300..<400).contains(status):
                return (.dead, "HTTP \(status): redirects are not followed")
            case .response(let status, _): return (.dead, "HTTP \(status): not retried (only 408, 429 and 5xx are)")
            case .transportFailure: return (.dead, "not retryable")
            }
        }
        var retryAfter: Duration?
        if case .response(_, let after) = result { retryAfter = after }
        guard attempt < maxAttempts else {
            return (.dead, "gave up after \(attempt) attempts")
        }
        let scheduled = delays[min(attempt, delays.count) - 1] * (1 - jitter + 2 * jitter * random)
        let delay = max(scheduled, min(retryAfter ?? .zero, maxRetryAfter))
        guard age + delay <= maxAge else {
            return (.dead, "gave up: the next attempt would come after the age limit of \(maxAge)")
        }
        return (.retry(after: delay), nil)
    }
}
