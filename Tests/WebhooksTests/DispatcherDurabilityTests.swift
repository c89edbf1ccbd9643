import Foundation
import JobStore
import Logging
import Testing
import TestSupport
import Webhooks

/// Many at once, restarts, dead dispatchers, redelivery.
@Suite struct DispatcherDurabilityTests {
    /// The multi interface must not serialise transfers: 100 deliveries to a fast receiver
    /// all complete while one slow receiver (claimed first) is still being waited for,
    /// well before its 20 s timeout (a serialising sender would
    /// finish none of them before it).
    @Test func aSlowReceiverDoesNotHoldUpAHundredOthers() throws {
        let slow = try HTTPReceiver(delaySeconds: 30)
        let fast = try HTTPReceiver()
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let slowID = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: slow.url)))
            try connection.query(
                """
                INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload)
                SELECT 'job.succeeded', 'job', n, $1 || '/' || n, '{"n": ' || n || '}' FROM generate_series(1, 100) AS n
                """, [fast.url])
            var configuration = testConfiguration(maxAttempts: 1)
            configuration.maxInFlight = 128
            configuration.totalTimeout = .seconds(20)
            configuration.drainTimeout = .milliseconds(200)
            let started = Date()
            let running = try RunningDispatcher(database, configuration)
            #expect(try waitUntil(timeout: 15) {
                try connection.query("SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'delivered'").scalar == "100"
            })
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed < 10, "100 fast deliveries took \(elapsed) s next to one waiting for its 20 s timeout")
            #expect(try connection.deliveryStatus(slowID) == .sending)
            #expect(slow.requests(atLeast: 1).count == 1)
            #expect(Set(fast.requests(atLeast: 100).map(\.path)).count == 100)
            running.stop()  // the slow one is interrupted by the shutdown, due again at once
            #expect(try connection.attemptRows(slowID).map { $0[1] } == ["interrupted"])
            #expect(try connection.deliveryStatus(slowID) == .pending)
        }
    }

    /// A dispatcher stopped between two attempts and a new one on another worker: the
    /// delivery completes, the attempt history is whole.
    @Test func aRestartBetweenAttemptsLosesNothing() throws {
        let receiver = try HTTPReceiver(responses: [500, 200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            let first = try RunningDispatcher(database, testConfiguration("w-first", retryDelay: .seconds(1)))
            #expect(try waitUntil { try connection.attemptRows(id).count == 1 })
            first.stop()
            #expect(try connection.deliveryStatus(id) == .pending)

            let second = try RunningDispatcher(database, testConfiguration("w-second"))
            defer { second.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            #expect(try connection.attemptRows(id) == [
                ["1", "retry", "500", "HTTP 500", "w-first", "true"],
                ["2", "delivered", "200", nil, "w-second", "true"],
            ])
            let requests = receiver.requests(atLeast: 2)
            #expect(requests.count == 2 && requests[0].body == requests[1].body)
            #expect(requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"])
        }
    }

    /// A dispatcher that died mid-attempt (its lease expires) and then writes late: the
    /// attempt is rescued as lost, sent again by another, and the late write is kept in the
    /// history without changing the delivery.
    @Test func aDeadDispatchersAttemptIsRescued() throws {
        let receiver = try HTTPReceiver()
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            let ghost = DeliveryQueue(connection: try database.connect(), workerID: "w-ghost", logger: .silent)
            let claimed = try ghost.claim(limit: 10, lease: .milliseconds(100))
            #expect(claimed.map(\.id) == [id])
            #expect(try ghost.claim(limit: 10, lease: .seconds(30)).isEmpty)  // SKIP LOCKED / status: nobody sends it twice
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            let late = try ghost.record([DeliveryAttemptRecord(
                delivery: claimed[0].fence, outcome: .delivered, startedAt: Date(), statusCode: 200)])
            #expect(late.isEmpty)
            let rows = try connection.attemptRows(id)
            #expect(rows.map { [$0[0], $0[1], $0[4], $0[5]] } == [
                ["1", "lost", "w-ghost", "true"], ["1", "delivered", "w-ghost", "false"], ["2", "delivered", "w-test", "true"],
            ])
            #expect(rows[0][3] == "attempt 1 lost: lease expired, worker w-ghost stopped responding")
            #expect(receiver.requests(atLeast: 1).count == 1)
        }
    }

    @Test func aDeadDeliveryCanBeRedelivered() throws {
        let receiver = try HTTPReceiver(responses: [410, 200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .dead })
            #expect(try connection.query("SELECT scribe.redeliver($1)", [id]).scalar == "pending")
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            #expect(try connection.attemptRows(id).map { $0[1] } == ["dead", "delivered"])
        }
    }

    @Test func shutdownInterruptsWhatDoesNotFinishInTime() throws {
        let receiver = try HTTPReceiver(delaySeconds: 5)
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            var configuration = testConfiguration()
            configuration.drainTimeout = .milliseconds(300)
            let running = try RunningDispatcher(database, configuration)
            _ = receiver.requests(atLeast: 1)
            let stopping = Date()
            running.stop()
            #expect(Date().timeIntervalSince(stopping) < 2)
            #expect(try connection.deliveryStatus(id) == .pending)
            let rows = try connection.attemptRows(id)
            #expect(rows.map { $0[1] } == ["interrupted"])
            #expect(rows[0][3] == "interrupted: the dispatcher shut down mid-transfer")
        }
    }
}
