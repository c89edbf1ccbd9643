import Foundation
import JobStore
import Testing
import TestSupport
import Webhooks

/// Per-destination slots and the circuit breaker, as the claim and the write-back enforce
/// them in SQL (across every dispatcher of the database), and a hanging receiver against
/// a live dispatcher.
@Suite struct DestinationLimitsTests {
    static func enqueue(_ connection: PostgresConnection, url: String, count: Int) throws {
        try connection.query(
            """
            INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload)
            SELECT 'job.succeeded', 'job', n, $1, '{}' FROM generate_series(1, $2::int) AS n
            """, [url, count])
    }

    static func destinations(_ claimed: [ClaimedDelivery]) -> [String: Int] {
        Dictionary(grouping: claimed) { URL(string: $0.url)!.host! }.mapValues(\.count)
    }

    @Test func theDestinationIsTheHostAsLibcurlUsesIt() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let cases = [
                "https://Hooks.Example.COM./x": "hooks.example.com",
                "http://user:pw@hooks.example.com:8443/x?y#z": "hooks.example.com",
                "http://[::1]:8080/x": "[::1]",
                "HTTP://10.0.0.1": "10.0.0.1",
                "http://a.example?x=@b.example/": "a.example",
                "http://": "",
            ]
            for (url, destination) in cases {
                #expect(try connection.query("SELECT scribe.url_destination($1)", [url]).scalar == destination, "\(url)")
            }
        }
    }

    /// Slots: at most `inFlight` per host across claims (and dispatchers); the others' due
    /// deliveries are claimed past a full host's backlog.
    @Test func aHostGetsAtMostItsSlotsAcrossClaimsAndDispatchers() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, url: "http://slow.example/hook", count: 300)
            try Self.enqueue(connection, url: "http://fast.example/hook", count: 5)
            try Self.enqueue(connection, url: "http://later.example/hook", count: 5)
            var limits = DestinationLimits()
            limits.inFlight = 3
            let first = DeliveryQueue(connection: connection, workerID: "w1", limits: limits, logger: .silent)
            let second = DeliveryQueue(connection: try database.connect(), workerID: "w2", limits: limits, logger: .silent)
            // The claim looks 16 times its limit deep: 320 rows reach past slow's 300.
            #expect(Self.destinations(try first.claim(limit: 20, lease: .seconds(30))) == ["slow.example": 3, "fast.example": 3, "later.example": 3])
            #expect(Self.destinations(try second.claim(limit: 64, lease: .seconds(30))) == [:])
            // One slow attempt ends: its slot is free for whichever dispatcher claims next.
            let slow = try connection.query(
                "SELECT id, attempts FROM scribe.webhook_deliveries WHERE status = 'sending' AND destination = 'slow.example' LIMIT 1").rows[0]
            let fence = DeliveryAttempt(id: Int64(slow[0]!)!, attempt: Int(slow[1]!)!)
            _ = try first.record([DeliveryAttemptRecord(delivery: fence, outcome: .delivered, startedAt: Date(), statusCode: 200)])
            #expect(Self.destinations(try second.claim(limit: 64, lease: .seconds(30))) == ["slow.example": 1])
        }
    }

    /// The breaker: five failures in a row open the circuit (no claims), then one probe at
    /// a time; a failed probe reopens it for twice as long, an answer closes it.
    @Test func repeatedFailuresOpenTheCircuitAndAProbeClosesIt() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, url: "http://down.example/hook", count: 50)
            var limits = DestinationLimits()
            limits.inFlight = 5
            limits.failuresToOpen = 5
            limits.coolOff = .seconds(60)
            let queue = DeliveryQueue(connection: connection, workerID: "w1", limits: limits, logger: .silent)
            func fail(_ claimed: [ClaimedDelivery], status: Int? = nil) throws {
                _ = try queue.record(claimed.map {
                    DeliveryAttemptRecord(delivery: $0.fence, outcome: .retry(after: .zero), startedAt: Date(),
                                          statusCode: status, error: status == nil ? "Timeout was reached" : "HTTP \(status!)")
                })
            }
            func state() throws -> [String?] {
                try connection.query(
                    """
                    SELECT consecutive_failures::text, opened_count::text,
                           round(extract(epoch FROM open_until - now()))::text
                    FROM scribe.webhook_destinations WHERE destination = 'down.example'
                    """).rows.first ?? []
            }
            let firstFour = Array(try queue.claim(limit: 64, lease: .seconds(30)))
            #expect(firstFour.count == 5)
            try fail(Array(firstFour.prefix(4)), status: 503)
            #expect(try state() == ["4", "0", nil])
            try fail(Array(firstFour.suffix(1)))
            #expect(try state() == ["5", "1", "60"])
            #expect(try queue.claim(limit: 64, lease: .seconds(30)).isEmpty, "open: nothing goes to it")

            // The cool-off passes: half-open, one probe at a time; it fails, the circuit
            // opens again for twice as long.
            try connection.execute("UPDATE scribe.webhook_destinations SET open_until = now() - interval '1 second'")
            let probe = try queue.claim(limit: 64, lease: .seconds(30))
            #expect(probe.count == 1)
            #expect(try queue.claim(limit: 64, lease: .seconds(30)).isEmpty)
            try fail(probe, status: 429)
            #expect(try state() == ["6", "2", "120"])

            // The next probe is answered (a 4xx still means the receiver is there): closed.
            try connection.execute("UPDATE scribe.webhook_destinations SET open_until = now() - interval '1 second'")
            let second = try queue.claim(limit: 64, lease: .seconds(30))
            #expect(second.count == 1)
            _ = try queue.record([DeliveryAttemptRecord(delivery: second[0].fence, outcome: .dead, startedAt: Date(), statusCode: 404)])
            #expect(try state() == [])
            #expect(try queue.claim(limit: 64, lease: .seconds(30)).count == 5)
        }
    }

    /// 1,000 deliveries queued for a receiver that never answers, then 20 for another
    /// host: the other host's are delivered while the hanging ones still hang.
    @Test func aHangingReceiverDoesNotDelayAnotherHost() throws {
        let hanging = try HTTPReceiver(delaySeconds: 600)
        let healthy = try HTTPReceiver(responses: [200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            // Two hosts for one machine: `localhost` and `127.0.0.1` are two destinations.
            try Self.enqueue(connection, url: "http://localhost:\(hanging.port)/hang", count: 1000)
            try Self.enqueue(connection, url: healthy.url + "/ok", count: 20)
            var configuration = testConfiguration()
            configuration.totalTimeout = .seconds(60)
            configuration.maxInFlight = 16
            configuration.perDestination.inFlight = 4
            let started = Date()
            let running = try RunningDispatcher(database, configuration)
            defer { running.stop() }
            #expect(try waitUntil(timeout: 20) {
                try connection.query(
                    "SELECT count(*) FROM scribe.webhook_deliveries WHERE destination = '127.0.0.1' AND status = 'delivered'"
                ).scalar == "20"
            })
            let elapsed = Date().timeIntervalSince(started)
            #expect(elapsed < 30, "the hanging attempts (60 s) must not have ended first: \(elapsed) s")
            #expect(try connection.query(
                "SELECT count(*) FROM scribe.webhook_deliveries WHERE destination = 'localhost' AND status = 'sending'"
            ).scalar == "4")
            #expect(try connection.query("SELECT count(*) FROM scribe.webhook_attempts").scalar == "20")
        }
    }
}
