import Foundation

/// A delivery's `status` column in `scribe.webhook_deliveries`. Raw values are the SQL contract.
///
/// ```
/// pending ──claim──▶ sending ──2xx──────────────▶ delivered
///    ▲                  ├──retryable, budget left ─▶ pending (next_attempt_at later)
///    │                  ├──410, other 4xx, refused, budget spent ─▶ dead
///    │                  └──lease expired (worker died) ─▶ pending, or dead when spent
///    └──────── scribe.redeliver(id) ◀── delivered | dead | pending
/// ```
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    case pending, sending, delivered, dead

    public var isFinal: Bool { self == .delivered || self == .dead }
}

/// The fencing token of one delivery attempt: the delivery and its attempts counter at claim.
public struct DeliveryAttempt: Sendable, Hashable, CustomStringConvertible {
    public var id: Int64
    public var attempt: Int

    public init(id: Int64, attempt: Int) {
        self.id = id
        self.attempt = attempt
    }

    public var description: String { "\(id)#\(attempt)" }
}

/// A delivery a dispatcher claimed: everything needed to send it and to write back.
public struct ClaimedDelivery: Sendable, Equatable {
    public var id: Int64
    /// The Standard Webhooks `webhook-id` (`msg_…`), the same for every attempt.
    public var webhookID: String
    /// `job.succeeded`, `batch.completed`, ...
    public var eventType: String
    public var subjectType: String
    public var subjectID: Int64
    public var url: String
    /// The request body, byte for byte as stored.
    public var payload: String
    /// The attempts counter after this claim: the fencing value.
    public var attempt: Int
    /// This attempt's number since the delivery was created or last redelivered (1 for the
    /// first): the index into the retry schedule and what the attempt limit counts.
    public var attemptInRound: Int
    /// Time since the delivery was created or last redelivered, at claim.
    public var age: Duration

    public var fence: DeliveryAttempt { DeliveryAttempt(id: id, attempt: attempt) }

    public init(
        id: Int64, webhookID: String, eventType: String, subjectType: String, subjectID: Int64, url: String,
        payload: String, attempt: Int, attemptInRound: Int, age: Duration
    ) {
        self.id = id
        self.webhookID = webhookID
        self.eventType = eventType
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.url = url
        self.payload = payload
        self.attempt = attempt
        self.attemptInRound = attemptInRound
        self.age = age
    }
}

/// One finished attempt, as the dispatcher writes it back with `DeliveryQueue.record`.
public struct DeliveryAttemptRecord: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// A 2xx response: the delivery is `delivered`.
        case delivered
        /// Worth another try: `pending` again, due after `after`.
        case retry(after: Duration)
        /// Given up (410, another 4xx, attempt or age limit reached): `dead`.
        case dead
        /// The destination guard refused the URL: `dead`, the reason in `error`.
        case refused
        /// The dispatcher shut down mid-transfer: `pending` again, due after `after`.
        case interrupted(after: Duration)

        /// The `outcome` column of `scribe.webhook_attempts`.
        public var name: String {
            switch self {
            case .delivered: "delivered"
            case .retry: "retry"
            case .dead: "dead"
            case .refused: "refused"
            case .interrupted: "interrupted"
            }
        }

        /// When the delivery is due again; nil when the attempt ended it.
        public var retryDelay: Duration? {
            switch self {
            case .retry(let after), .interrupted(let after): after
            case .delivered, .dead, .refused: nil
            }
        }
    }

    public var delivery: DeliveryAttempt
    public var outcome: Outcome
    /// When the request started (or the attempt was decided, when nothing was sent).
    public var startedAt: Date
    /// Wall time of the transfer; nil when nothing was sent.
    public var latency: Duration?
    public var statusCode: Int?
    public var remoteAddress: String?
    public var error: String?
    /// The first bytes of the response body.
    public var responseExcerpt: String?

    public init(
        delivery: DeliveryAttempt, outcome: Outcome, startedAt: Date, latency: Duration? = nil,
        statusCode: Int? = nil, remoteAddress: String? = nil, error: String? = nil, responseExcerpt: String? = nil
    ) {
        self.delivery = delivery
        self.outcome = outcome
        self.startedAt = startedAt
        self.latency = latency
        self.statusCode = statusCode
        self.remoteAddress = remoteAddress
        self.error = error
        self.responseExcerpt = responseExcerpt
    }
}

/// A delivery row as `scribe webhooks list` shows it.
public struct DeliverySummary: Sendable, Equatable {
    public var id: Int64
    public var eventType: String
    public var subjectType: String
    public var subjectID: Int64
    public var url: String
    public var status: DeliveryStatus
    public var attempts: Int
    public var lastStatusCode: Int?
    public var lastError: String?
    /// RFC 3339, as PostgreSQL prints it.
    public var nextAttemptAt: String
    public var createdAt: String
}

/// A row of `scribe.webhook_attempts`.
public struct DeliveryAttemptRow: Sendable, Equatable {
    public var attempt: Int
    public var workerID: String
    public var outcome: String
    public var statusCode: Int?
    public var latencyMilliseconds: Double?
    public var error: String?
    public var applied: Bool
}
