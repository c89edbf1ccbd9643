import Foundation
import JobStore
import Testing
import TestSupport

/// The outbox half: deliveries are created with the job's final status, in the same
/// statement, by whichever path finished the job.
@Suite struct OutboxTests {
    @Test func aCompletedJobGetsOneDeliveryWithThePayload() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.finishJob(callbackURL: "http://127.0.0.1:9/hook")
            let rows = try connection.query(
                """
                SELECT event_type, subject_type, url, status, attempts, webhook_id ~ '^msg_[0-9a-f]{32}$', payload
                FROM scribe.webhook_deliveries WHERE subject_id = $1
                """, [id]).rows
            #expect(rows.count == 1)
            #expect(Array(rows[0].prefix(6)) == ["job.succeeded", "job", "http://127.0.0.1:9/hook", "pending", "0", "t"])
            let payload = try #require(rows[0][6])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            #expect(json["type"] as? String == "job.succeeded")
            let timestamp = try #require(json["timestamp"] as? String)
            #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(timestamp)")
            let data = try #require(json["data"] as? [String: Any])
            #expect(data["id"] as? Int == Int(id))
            #expect(data["status"] as? String == "succeeded")
            #expect(data["result"] as? String == "The end.")
            #expect(data["finish_reason"] as? String == "stop")
            #expect(data["usage"] as? [String: Int] == ["prompt_tokens": 2, "completion_tokens": 3])
            #expect(data["metadata"] as? [String: Int] == ["customer": 17])
            #expect(data["error"] is NSNull)
            #expect(data["timings"] as? [String: Double] == ["decode_ms": 12.5])
        }
    }

    @Test func jobsWithoutACallbackGetNone() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.finishJob(callbackURL: nil)
            #expect(try connection.query("SELECT count(*) FROM scribe.webhook_deliveries").scalar == "0")
        }
    }

    @Test func everyPathToAFinalStatusCreatesADelivery() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            func insert(maxAttempts: Int = 3) throws -> Int64 {
                Int64(try connection.query(
                    "INSERT INTO scribe.jobs (prompt, callback_url, max_attempts) VALUES ('x', 'http://127.0.0.1:9/', $1) RETURNING id",
                    [maxAttempts]).scalar!)!
            }
            // scribe.cancel of a queued job.
            let cancelled = try insert()
            _ = try connection.query("SELECT scribe.cancel($1)", [cancelled])
            // failWithoutRetry (invalid params found at claim).
            let invalid = try insert()
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let claimed = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            try queue.failWithoutRetry(claimed[0].fence, error: "params.top_a is unknown")
            // Lease rescue with no attempts left.
            let poison = try insert(maxAttempts: 1)
            _ = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            try connection.query("UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [poison])
            _ = try queue.rescueExpiredLeases()

            let rows = try connection.query(
                """
                SELECT subject_id, event_type, payload::jsonb #>> '{data,error}'
                FROM scribe.webhook_deliveries ORDER BY subject_id
                """).rows
            #expect(rows.map { $0[0].flatMap { Int64($0) } } == [cancelled, invalid, poison])
            #expect(rows.map { $0[1] } == ["job.cancelled", "job.failed", "job.failed"])
            #expect(rows[1][2] == "params.top_a is unknown")
            #expect(rows[2][2]?.hasPrefix("lease expired on attempt 1 of 1") == true)
        }
    }

    /// No webhook without a stored result: a completion the fence refuses writes nothing,
    /// delivery included; the holder's completion writes exactly one.
    @Test func aCompletionRefusedByTheFenceCreatesNoDelivery() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = Int64(try connection.query(
                "INSERT INTO scribe.jobs (prompt, callback_url) VALUES ('x', 'http://127.0.0.1:9/') RETURNING id").scalar!)!
            let stalled = JobQueue(connection: connection, workerID: "w-stalled", logger: .silent)
            let first = try stalled.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            try connection.query("UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [id])
            _ = try stalled.rescueExpiredLeases()
            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1", [id])
            let live = JobQueue(connection: connection, workerID: "w-live", logger: .silent)
            let second = try live.claim(limit: 1, model: nil, lease: .seconds(30))[0]

            let late = try stalled.complete([JobResult(id: id, attempt: first.attempt, outcome: .succeeded, text: "late")])
            #expect(late.refused == [first.fence])
            #expect(try connection.query("SELECT count(*) FROM scribe.webhook_deliveries").scalar == "0")

            _ = try live.complete([JobResult(id: id, attempt: second.attempt, outcome: .succeeded, text: "on time")])
            let payloads = try connection.query("SELECT payload::jsonb #>> '{data,result}' FROM scribe.webhook_deliveries").rows
            #expect(payloads == [["on time"]])
        }
    }

    /// ... and no stored result whose webhook is lost: a delivery that cannot be written
    /// takes the result down with it (same statement).
    @Test func aDeliveryThatCannotBeWrittenRollsTheResultBack() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = Int64(try connection.query(
                "INSERT INTO scribe.jobs (prompt, callback_url) VALUES ('x', 'http://127.0.0.1:9/') RETURNING id").scalar!)!
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let job = try queue.claim(limit: 1, model: nil, lease: .seconds(30))[0]
            try connection.execute(
                "ALTER TABLE scribe.webhook_deliveries ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
            #expect(throws: PostgresError.self) {
                try queue.complete([JobResult(id: id, attempt: job.attempt, outcome: .succeeded, text: "lost?")])
            }
            #expect(try connection.query("SELECT status, result FROM scribe.jobs WHERE id = $1", [id]).rows == [["running", nil]])
        }
    }

    @Test func redeliverQueuesAgainWithTheSameIdentity() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let job = try connection.finishJob(callbackURL: "http://127.0.0.1:9/")
            let id = try #require(try connection.deliveryID(ofJob: job))
            try connection.query(
                """
                UPDATE scribe.webhook_deliveries SET status = 'dead', attempts = 8, finished_at = now(),
                       next_attempt_at = now() - interval '1 day'
                WHERE id = $1
                """, [id])
            let before = try connection.query("SELECT webhook_id, payload FROM scribe.webhook_deliveries WHERE id = $1", [id]).rows
            let queue = DeliveryQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.redeliver(id) == .pending)
            #expect(try queue.redeliver(id + 1000) == nil)
            #expect(try connection.query(
                "SELECT status, attempts, redelivered_after, finished_at FROM scribe.webhook_deliveries WHERE id = $1", [id]
            ).rows == [["pending", "8", "8", nil]])
            let claimed = try queue.claim(limit: 10, lease: .seconds(30))
            #expect(claimed.map(\.attemptInRound) == [1] && claimed.map(\.attempt) == [9])
            #expect(try connection.query("SELECT webhook_id, payload FROM scribe.webhook_deliveries WHERE id = $1", [id]).rows == before)
            // Being sent: left alone.
            #expect(try queue.redeliver(id) == .sending)
        }
    }
}
