extension DeliveryQueue {
    /// `scribe.redeliver(id)`: queues the delivery again, due now, with a fresh attempt
    /// and age budget and the same webhook-id and payload. Returns the resulting status
    /// (`sending` means it was being sent and was left alone), nil when there is none.
    @discardableResult
    public func redeliver(_ id: Int64) throws -> DeliveryStatus? {
        let status = try connection.query("SELECT scribe.redeliver($1)", [id]).scalar
        logger.info("Delivery queued again", metadata: ["delivery.id": "\(id)", "delivery.status": "\(status ?? "none")"])
        return status.flatMap(DeliveryStatus.init(rawValue:))
    }

    /// Deliveries newest first, optionally only those with `status` or for one subject.
    public func list(status: DeliveryStatus? = nil, subjectType: String? = nil, subjectID: Int64? = nil,
                     limit: Int = 50) throws -> [DeliverySummary] {
        let rows = try connection.query(
            """
            SELECT id, event_type, subject_type, subject_id, url, status, attempts, last_status_code, last_error,
                   to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM scribe.webhook_deliveries
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR subject_type = $2)
              AND ($3::bigint IS NULL OR subject_id = $3)
            ORDER BY id DESC
            LIMIT $4
            """, [status?.rawValue, subjectType, subjectID, limit])
        return rows.rows.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let event = row[1], let subjectType = row[2],
                  let subjectID = row[3].flatMap({ Int64($0) }), let url = row[4],
                  let status = row[5].flatMap(DeliveryStatus.init(rawValue:)), let attempts = row[6].flatMap({ Int($0) })
            else { return nil }
            return DeliverySummary(
                id: id, eventType: event, subjectType: subjectType, subjectID: subjectID, url: url, status: status,
                attempts: attempts, lastStatusCode: row[7].flatMap { Int($0) }, lastError: row[8],
                nextAttemptAt: row[9] ?? "", createdAt: row[10] ?? "")
        }
    }

    /// Every recorded attempt of one delivery, oldest first.
    public func attempts(of id: Int64) throws -> [DeliveryAttemptRow] {
        let rows = try connection.query(
            """
            SELECT attempt, worker_id, outcome, status_code, latency_ms, error, applied
            FROM scribe.webhook_attempts WHERE delivery_id = $1 ORDER BY attempt, id
            """, [id])
        return rows.rows.compactMap { row in
            guard let attempt = row[0].flatMap({ Int($0) }), let worker = row[1], let outcome = row[2] else { return nil }
            return DeliveryAttemptRow(
                attempt: attempt, workerID: worker, outcome: outcome, statusCode: row[3].flatMap { Int($0) },
                latencyMilliseconds: row[4].flatMap { Double($0) }, error: row[5], applied: row[6] == "t")
        }
    }

    /// Deletes at most `limit` delivered and dead deliveries (with their attempts) finished
    /// more than `age` ago, in one statement; callers run it again while it deletes a full
    /// `limit`. Deliveries outlive their jobs on purpose (the payload is the record of what
    /// was sent), so they have their own retention.
    @discardableResult
    public func deleteFinished(olderThan age: Duration, limit: Int = 500) throws -> Int {
        precondition(limit > 0, "limit must be positive")
        let deleted = try connection.query(
            """
            DELETE FROM scribe.webhook_deliveries
            WHERE id IN (
                SELECT id FROM scribe.webhook_deliveries
                WHERE status IN ('delivered', 'dead')
                  AND finished_at < now() - $1::float8 * interval '1 second'
                ORDER BY finished_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED)
            """, [age.seconds, limit]).affectedRows
        if deleted > 0 {
            logger.info("Finished deliveries deleted", metadata: ["deliveries.deleted": "\(deleted)"])
        }
        return deleted
    }
}
