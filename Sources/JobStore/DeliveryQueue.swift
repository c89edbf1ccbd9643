import ScribeCore
import Foundation
import Logging

/// One dispatcher's view of the webhook outbox (`scribe.webhook_deliveries`): claim due
/// deliveries, write attempts back, rescue attempts whose dispatcher died.
///
/// Like `JobQueue`: ordinary statements only (PgBouncer in transaction mode is fine),
/// every write after a claim fenced by (id, attempts, claimed_by, status = 'sending'), so
/// two dispatchers never send the same attempt and a late one cannot overwrite the next.
/// Single owner, like the connection it wraps.
public final class DeliveryQueue {
    /// NOTIFY channel of new (and redelivered) deliveries; its payload is empty.
    public static let dueChannel = "scribe_webhooks_due"

    public let connection: PostgresConnection
    public let workerID: String
    public let limits: DestinationLimits
    let logger: Logger

    public init(connection: PostgresConnection, workerID: String, limits: DestinationLimits = DestinationLimits(),
                logger: Logger) {
        self.connection = connection
        self.workerID = workerID
        self.limits = limits
        var logger = logger
        logger[metadataKey: "worker.id"] = "\(workerID)"
        self.logger = logger
    }

    /// Claims up to `limit` due deliveries in one statement (`FOR UPDATE SKIP LOCKED`, in
    /// due order), counting an attempt on each and holding it for `lease`: long enough for
    /// name resolution plus the transfer's total timeout. Another dispatcher takes it over
    /// only after the lease expires (`rescueExpiredLeases`).
    ///
    /// Each destination (the URL's host) gets at most `limits.inFlight` attempts in flight
    /// across all dispatchers, none while its circuit is open and one probe at a time once
    /// the cool-off has passed: a receiver that hangs cannot take every slot. A host with a
    /// backlog longer than 16 claims is full after one claim and left out of the next.
    public func claim(limit: Int, lease: Duration) throws -> [ClaimedDelivery] {
        guard limit > 0 else { return [] }
        let rows = try connection.query(
            """
            WITH in_flight AS (
                SELECT destination, count(*) AS n FROM scribe.webhook_deliveries
                WHERE status = 'sending' GROUP BY destination
            ), room AS (
                -- What each busy or failing destination may still take.
                SELECT destination,
                       CASE WHEN w.open_until > now() THEN 0 WHEN w.opened_count > 0 THEN 1 ELSE $4 END
                           - coalesce(i.n, 0) AS room
                FROM scribe.webhook_destinations AS w FULL JOIN in_flight AS i USING (destination)
            ), due AS (
                SELECT id, destination, next_attempt_at FROM scribe.webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now()
                  AND destination NOT IN (SELECT destination FROM room WHERE room <= 0)
                ORDER BY next_attempt_at, id
                -- A window wider than the claim, so that one host's backlog (before it is
                -- full and left out above) does not hide every other host's deliveries.
                LIMIT $2 * 16
                FOR UPDATE SKIP LOCKED
            ), chosen AS (
                SELECT id FROM (
                    SELECT id, destination, next_attempt_at,
                           row_number() OVER (PARTITION BY destination ORDER BY next_attempt_at, id) AS n
                    FROM due) AS ranked
                LEFT JOIN room USING (destination)
                WHERE ranked.n <= coalesce(room.room, $4)
                ORDER BY next_attempt_at, id
                LIMIT $2
            )
            UPDATE scribe.webhook_deliveries AS d
            SET status = 'sending', attempts = d.attempts + 1, claimed_by = $1, claimed_at = now(),
                lease_expires_at = now() + $3::float8 * interval '1 second'
            FROM chosen
            WHERE d.id = chosen.id
            RETURNING d.id, d.webhook_id, d.event_type, d.subject_type, d.subject_id, d.url, d.payload,
                      d.attempts, d.attempts - d.redelivered_after AS attempt_in_round,
                      extract(epoch FROM now() - d.enqueued_at)::float8 AS age_seconds
            """, [workerID, limit, lease.seconds, limits.inFlight])
        var claimed: [ClaimedDelivery] = []
        for row in rows.rows {
            guard let id = row[0].flatMap({ Int64($0) }), let webhookID = row[1], let eventType = row[2],
                  let subjectType = row[3], let subjectID = row[4].flatMap({ Int64($0) }), let url = row[5],
                  let payload = row[6], let attempt = row[7].flatMap({ Int($0) }),
                  let inRound = row[8].flatMap({ Int($0) }), let age = row[9].flatMap({ Double($0) })
            else { continue }  // NOT NULL columns: cannot happen; the lease would expire and rescue it
            claimed.append(ClaimedDelivery(
                id: id, webhookID: webhookID, eventType: eventType, subjectType: subjectType,
                subjectID: subjectID, url: url, payload: payload, attempt: attempt,
                attemptInRound: inRound, age: .milliseconds(Int64(max(0, age) * 1000))))
        }
        claimed.sort { $0.id < $1.id }
        if !claimed.isEmpty {
            logger.debug("Deliveries claimed", metadata: ["deliveries.count": "\(claimed.count)"])
        }
        return claimed
    }

    /// Writes finished attempts back in one statement: each attempt becomes a row of
    /// `scribe.webhook_attempts`, and moves its delivery on only while this dispatcher
    /// still holds it at that attempt. Returns the attempts whose delivery it moved on;
    /// the others are recorded with `applied = false` (their lease had been taken over).
    @discardableResult
    public func record(_ attempts: [DeliveryAttemptRecord]) throws -> Set<DeliveryAttempt> {
        guard !attempts.isEmpty else { return [] }
        let rows = try connection.query(
            """
            WITH r AS (
                SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(
                    id bigint, attempt integer, outcome text, started_at float8, latency_ms float8,
                    status_code integer, remote_address text, error text, retry_seconds float8,
                    response_excerpt text)
            ), moved AS (
                UPDATE scribe.webhook_deliveries AS d
                SET status = CASE r.outcome WHEN 'delivered' THEN 'delivered'
                                            WHEN 'dead' THEN 'dead' WHEN 'refused' THEN 'dead'
                                            ELSE 'pending' END,
                    next_attempt_at = CASE WHEN r.retry_seconds IS NULL THEN d.next_attempt_at
                                           ELSE now() + r.retry_seconds * interval '1 second' END,
                    finished_at = CASE WHEN r.outcome IN ('delivered', 'dead', 'refused') THEN now() END,
                    lease_expires_at = NULL, last_status_code = r.status_code, last_error = r.error
                FROM r
                WHERE d.id = r.id AND d.attempts = r.attempt AND d.claimed_by = $1 AND d.status = 'sending'
                RETURNING d.id, d.next_attempt_at, d.destination
            ), health AS (
                -- The circuit breaker: an answer other than 429 or 5xx means the receiver is
                -- there; no answer, 429 and 5xx count as failures.
                SELECT moved.destination,
                       bool_or(r.status_code IS NOT NULL AND r.status_code <> 429 AND r.status_code < 500) AS answered,
                       count(*) FILTER (WHERE r.outcome IN ('retry', 'dead')) AS failures,
                       max(r.error) AS error
                FROM moved JOIN r ON r.id = moved.id
                GROUP BY moved.destination
            ), closed AS (
                DELETE FROM scribe.webhook_destinations AS w USING health AS h
                WHERE w.destination = h.destination AND h.answered
            ), failing AS (
                -- Opens after $3 failures in a row, or at once when a half-open probe fails,
                -- for $4 seconds doubled per opening, at most $5; an open circuit keeps its time.
                INSERT INTO scribe.webhook_destinations AS w (destination, consecutive_failures, last_error, open_until, opened_count)
                SELECT destination, failures, error,
                       CASE WHEN failures >= $3 THEN now() + $4::float8 * interval '1 second' END,
                       CASE WHEN failures >= $3 THEN 1 ELSE 0 END
                FROM health WHERE NOT answered AND failures > 0
                ON CONFLICT (destination) DO UPDATE SET
                    consecutive_failures = w.consecutive_failures + excluded.consecutive_failures,
                    last_error = excluded.last_error, updated_at = now(),
                    open_until = CASE
                        WHEN w.open_until > now() THEN w.open_until
                        WHEN w.opened_count > 0 OR w.consecutive_failures + excluded.consecutive_failures >= $3
                        THEN now() + least($4::float8 * power(2, w.opened_count), $5::float8) * interval '1 second'
                        ELSE w.open_until END,
                    opened_count = CASE
                        WHEN w.open_until > now() THEN w.opened_count
                        WHEN w.opened_count > 0 OR w.consecutive_failures + excluded.consecutive_failures >= $3
                        THEN w.opened_count + 1
                        ELSE w.opened_count END
            )
            INSERT INTO scribe.webhook_attempts (
                delivery_id, attempt, worker_id, started_at, latency_ms, status_code, remote_address,
                outcome, error, retry_at, response_excerpt, applied)
            SELECT r.id, r.attempt, $1, to_timestamp(r.started_at), r.latency_ms, r.status_code,
                   r.remote_address, r.outcome, r.error,
                   CASE WHEN r.retry_seconds IS NOT NULL THEN coalesce(moved.next_attempt_at,
                        now() + r.retry_seconds * interval '1 second') END,
                   r.response_excerpt, moved.id IS NOT NULL
            FROM r LEFT JOIN moved ON moved.id = r.id
            -- A delivery deleted meanwhile (retention) has nowhere to keep its attempts.
            WHERE EXISTS (SELECT 1 FROM scribe.webhook_deliveries AS d WHERE d.id = r.id)
            RETURNING delivery_id, attempt, applied
            """, [workerID, try Self.encode(attempts), limits.failuresToOpen, limits.coolOff.seconds,
                  limits.maxCoolOff.seconds])
        var applied = Set<DeliveryAttempt>()
        for row in rows.rows where row[2] == "t" {
            if let id = row[0].flatMap({ Int64($0) }), let attempt = row[1].flatMap({ Int($0) }) {
                applied.insert(DeliveryAttempt(id: id, attempt: attempt))
            }
        }
        for record in attempts where !applied.contains(record.delivery) {
            logger.warning("Attempt result refused by fence", metadata: [
                "delivery.id": "\(record.delivery.id)", "delivery.attempt": "\(record.delivery.attempt)",
            ])
        }
        return applied
    }

    /// Resolves up to `limit` attempts whose lease expired (their dispatcher died or hung):
    /// each is recorded as a `lost` attempt and the delivery is `pending` again, due after
    /// `retryDelay`, or `dead` once `maxAttempts` attempts of its round are spent. Any
    /// dispatcher may call it; concurrent callers skip each other's rows.
    @discardableResult
    public func rescueExpiredLeases(maxAttempts: Int, retryDelay: Duration, limit: Int = 100) throws -> Int {
        let rows = try connection.query(
            """
            WITH expired AS (
                SELECT id, claimed_by AS lost_worker, claimed_at,
                       CASE WHEN attempts - redelivered_after >= $1 THEN 'dead' ELSE 'pending' END AS next
                FROM scribe.webhook_deliveries
                WHERE status = 'sending' AND lease_expires_at < now()
                ORDER BY id
                LIMIT $3
                FOR UPDATE SKIP LOCKED
            ), moved AS (
                UPDATE scribe.webhook_deliveries AS d
                SET status = e.next,
                    next_attempt_at = CASE WHEN e.next = 'pending'
                                           THEN now() + $2::float8 * interval '1 second' ELSE d.next_attempt_at END,
                    finished_at = CASE WHEN e.next = 'dead' THEN now() END,
                    lease_expires_at = NULL, last_status_code = NULL,
                    last_error = format('attempt %s lost: lease expired, worker %s stopped responding',
                                        d.attempts, e.lost_worker)
                FROM expired AS e
                WHERE d.id = e.id
                RETURNING d.id, d.attempts, d.status, d.next_attempt_at, d.last_error, e.lost_worker, e.claimed_at
            )
            INSERT INTO scribe.webhook_attempts (delivery_id, attempt, worker_id, started_at, outcome, error, retry_at)
            SELECT id, attempts, lost_worker, claimed_at, 'lost', last_error,
                   CASE WHEN status = 'pending' THEN next_attempt_at END
            FROM moved
            RETURNING delivery_id
            """, [maxAttempts, retryDelay.seconds, limit])
        for row in rows.rows {
            logger.warning("Expired delivery lease rescued", metadata: ["delivery.id": "\(row[0] ?? "?")"])
        }
        return rows.count
    }

    /// The batch as the JSON array `jsonb_to_recordset` reads.
    private static func encode(_ attempts: [DeliveryAttemptRecord]) throws -> String {
        struct Row: Encodable {
            var id: Int64
            var attempt: Int
            var outcome: String
            var started_at: Double
            var latency_ms: Double?
            var status_code: Int?
            var remote_address: String?
            var error: String?
            var retry_seconds: Double?
            var response_excerpt: String?
        }
        let rows = attempts.map { record in
            Row(id: record.delivery.id, attempt: record.delivery.attempt, outcome: record.outcome.name,
                started_at: record.startedAt.timeIntervalSince1970, latency_ms: record.latency.map { $0.seconds * 1000 },
                status_code: record.statusCode, remote_address: record.remoteAddress,
                error: record.error, retry_seconds: record.outcome.retryDelay?.seconds,
                response_excerpt: record.responseExcerpt)
        }
        return try JSONValue(encoding: rows).jsonText
    }
}
