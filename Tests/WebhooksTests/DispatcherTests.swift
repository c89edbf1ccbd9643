import Foundation
import Synchronization
import JobStore
import Testing
import TestSupport
import Webhooks

/// The delivery half against real receivers on 127.0.0.1 (Ops/webhook-receiver) and the
/// real PostgreSQL. Retry delays are 0.2 s here; the production schedule is in RetryPolicy.
@Suite struct DispatcherTests {
    @Test func aDeliveryIsSentOnceAndMarkedDelivered() throws {
        let receiver = try HTTPReceiver(responses: [200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let job = try connection.finishJob(callbackURL: receiver.url + "/hooks/scribe?tenant=7")
            let id = try #require(try connection.deliveryID(ofJob: job))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            let requests = receiver.requests(atLeast: 1)
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.method == "POST" && request.path == "/hooks/scribe?tenant=7")
            #expect(request.body == (try connection.deliveryColumn("payload", of: id)))
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["user-agent"] == "scribe/\(ScribeVersion.string)")
            #expect(request.headers["webhook-id"] == (try connection.deliveryColumn("webhook_id", of: id)))
            let timestamp = try #require(request.headers["webhook-timestamp"].flatMap { Double($0) })
            #expect(abs(timestamp - Date().timeIntervalSince1970) < 30)
            #expect(request.headers["webhook-signature"] == nil)  // no secrets configured
            #expect(request.headers["expect"] == nil)
            #expect(try connection.attemptRows(id) == [["1", "delivered", "200", nil, "w-test", "true"]])
            #expect(try connection.query(
                "SELECT latency_ms > 0, remote_address, response_excerpt FROM scribe.webhook_attempts WHERE delivery_id = $1",
                [id]).rows == [["t", "127.0.0.1", nil]])  // the response is not stored unless asked for
        }
    }

    @Test func theResponseIsStoredOnlyWhenAskedForAndOnlyAsMuchAsAsked() throws {
        let receiver = try HTTPReceiver(responses: [200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            var configuration = testConfiguration()
            configuration.responseExcerptBytes = 8
            let running = try RunningDispatcher(database, configuration)
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            #expect(try connection.query("SELECT response_excerpt FROM scribe.webhook_attempts WHERE delivery_id = $1", [id])
                .scalar == #"{"receiv"#)
        }
    }

    @Test func a500IsRetriedWithIdenticalBytesThenDelivered() throws {
        let receiver = try HTTPReceiver(responses: [500, 200])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            let requests = receiver.requests(atLeast: 2)
            #expect(requests.map(\.status) == [500, 200])
            #expect(requests[0].body == requests[1].body)
            #expect(requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"])
            #expect(try connection.attemptRows(id) == [
                ["1", "retry", "500", "HTTP 500", "w-test", "true"],
                ["2", "delivered", "200", nil, "w-test", "true"],
            ])
            let gap = try connection.query(
                """
                SELECT extract(epoch FROM (SELECT started_at FROM scribe.webhook_attempts WHERE delivery_id = $1 AND attempt = 2)
                                        - (SELECT started_at FROM scribe.webhook_attempts WHERE delivery_id = $1 AND attempt = 1))
                """, [id]).scalar.flatMap { Double($0) } ?? 0
            #expect(gap >= 0.19, "the retry came \(gap) s after the first attempt, before its 0.2 s delay")
        }
    }

    @Test func aTimeoutIsRetriedThenTheDeliveryDies() throws {
        let receiver = try HTTPReceiver(responses: [200], delaySeconds: 3)
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            var configuration = testConfiguration(maxAttempts: 2)
            configuration.totalTimeout = .milliseconds(400)
            let running = try RunningDispatcher(database, configuration)
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .dead })
            let rows = try connection.attemptRows(id)
            #expect(rows.map { $0[1] } == ["retry", "dead"])
            #expect(rows.map { $0[2] } == [nil, nil])
            #expect(rows[0][3]?.hasPrefix("Timeout was reached") == true, "\(rows[0][3] ?? "")")
            #expect(rows[1][3]?.hasSuffix("; gave up after 2 attempts") == true, "\(rows[1][3] ?? "")")
            #expect(try connection.deliveryColumn("last_error", of: id) == rows[1][3])
        }
    }

    @Test func aRefusedConnectionIsRetried() throws {
        let url = try HTTPReceiver().url  // the receiver stops at once: nobody listens there
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: url)))
            let running = try RunningDispatcher(database, testConfiguration(maxAttempts: 2))
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .dead })
            let rows = try connection.attemptRows(id)
            #expect(rows.map { $0[1] } == ["retry", "dead"])
            #expect(rows[0][3]?.hasPrefix("Couldn't connect to server") == true, "\(rows[0][3] ?? "")")
        }
    }

    @Test func gone410DiesAtOnceAndOther4xxKeepTheirStatus() throws {
        let gone = try HTTPReceiver(responses: [410]), missing = try HTTPReceiver(responses: [404])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let goneID = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: gone.url)))
            let missingID = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: missing.url)))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(goneID) == .dead && connection.deliveryStatus(missingID) == .dead })
            #expect(try connection.attemptRows(goneID) == [
                ["1", "dead", "410", "HTTP 410 Gone: the receiver asked not to be called again", "w-test", "true"]])
            #expect(try connection.attemptRows(missingID) == [
                ["1", "dead", "404", "HTTP 404: not retried (only 408, 429 and 5xx are)", "w-test", "true"]])
            #expect(try connection.deliveryColumn("last_status_code", of: missingID) == "404")
        }
    }

    @Test func retryAfterIsHonoured() throws {
        let receiver = try HTTPReceiver(responses: [429, 200], retryAfter: "1")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: receiver.url)))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .delivered })
            let requests = receiver.requests(atLeast: 2)
            let gap = requests[1].receivedAt - requests[0].receivedAt
            #expect(gap >= 0.95, "retried after \(gap) s despite Retry-After: 1 (schedule: 0.2 s)")
        }
    }

    @Test func signaturesVerifyWithTheStandardWebhooksPackage() throws {
        let new = WebhookSecret.generate(), old = WebhookSecret.generate(), unrelated = WebhookSecret.generate()
        // Each secret on its own verifies, as receivers see it during a rotation...
        let rotating = try HTTPReceiver(verifySecrets: [new.text, old.text])
        // ...and a secret we do not sign with does not: the check is not vacuous.
        let stranger = try HTTPReceiver(verifySecrets: [unrelated.text])
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let first = try #require(try connection.deliveryID(ofJob: try connection.finishJob(
                callbackURL: rotating.url, text: "Ünïcödé ✓ \"quoted\"\n")))
            let second = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: stranger.url)))
            var configuration = testConfiguration(maxAttempts: 1)
            configuration.signer = WebhookSigner(secrets: [new, old])
            let running = try RunningDispatcher(database, configuration)
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(first) == .delivered && connection.deliveryStatus(second) == .delivered })
            let verified = try #require(rotating.requests(atLeast: 1).first)
            #expect(verified.verified == true, "\(verified.verifyError ?? "")")
            #expect(verified.headers["webhook-signature"]?.split(separator: " ").count == 2)
            let refused = try #require(stranger.requests(atLeast: 1).first)
            #expect(refused.verified == false)
            #expect(refused.verifyError == "WebhookVerificationError: No matching signature found")
        }
    }

    @Test func theMetadataAddressIsRefusedWithTheReasonStored() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try #require(try connection.deliveryID(ofJob: try connection.finishJob(
                callbackURL: "http://169.254.169.254/latest/meta-data/iam/security-credentials/")))
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(id) == .dead })
            let reason = "refused: address 169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata), "
                + "refused by default: SCRIBE_WEBHOOK_ALLOW opens it"
            #expect(try connection.deliveryColumn("last_error", of: id) == reason)
            #expect(try connection.attemptRows(id) == [["1", "refused", nil, reason, "w-test", "true"]])
        }
    }

    /// The same address written as one number, in hexadecimal, or IPv4-mapped IPv6.
    @Test func otherSpellingsOfTheMetadataAddressAreRefusedToo() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let urls = ["http://2852039166/", "http://0xA9FEA9FE/", "http://[::ffff:169.254.169.254]/", "http://169.254.169.254.:80/"]
            let ids = try urls.map { try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: $0))) }
            let running = try RunningDispatcher(database, testConfiguration())
            defer { running.stop() }
            #expect(try waitUntil { try ids.allSatisfy { try connection.deliveryStatus($0) == .dead } })
            for (url, id) in zip(urls, ids) {
                let reason = try connection.deliveryColumn("last_error", of: id) ?? ""
                #expect(reason.hasPrefix("refused: ") && reason.contains("169.254.0.0/16"), "\(url): \(reason)")
            }
        }
    }

    @Test func hostNamesAreResolvedCheckedAndPinned() throws {
        let receiver = try HTTPReceiver()
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let url = "http://localhost:\(receiver.port)/by-name"
            let allowed = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: url)))
            let running = try RunningDispatcher(database, testConfiguration())
            #expect(try waitUntil { try connection.deliveryStatus(allowed) == .delivered })
            running.stop()
            #expect(receiver.requests(atLeast: 1).map(\.path) == ["/by-name"])

            // With loopback not opened (the default), the same name is refused after resolution.
            let refused = try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: url)))
            var strict = testConfiguration("w-strict")
            strict.destinations = DestinationGuard()
            let strictRunning = try RunningDispatcher(database, strict)
            defer { strictRunning.stop() }
            #expect(try waitUntil { try connection.deliveryStatus(refused) == .dead })
            let reason = try #require(try connection.deliveryColumn("last_error", of: refused))
            #expect(reason.hasPrefix("refused: host localhost resolves to "), "\(reason)")
            #expect(reason.contains("127.0.0.0/8 (loopback), refused by default"), "\(reason)")
            #expect(receiver.requests().count == 1)
        }
    }
}

extension DispatcherTests {
    /// DNS rebinding: the name answered 127.0.0.2 when the guard checked it, and the
    /// system's resolver now answers 127.0.0.1, where the receiver is. However the host is
    /// spelled, libcurl connects only to what was checked and the receiver hears nothing.
    @Test func anAnswerThatChangesAfterTheCheckIsNeverConnectedTo() throws {
        let receiver = try HTTPReceiver()
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let hosts = ["localhost", "localhost.", "LOCALHOST", "LocalHost."]
            var ids: [Int64] = []
            for host in hosts {
                let url = "http://\(host):\(receiver.port)/rebound"
                ids.append(try #require(try connection.deliveryID(ofJob: try connection.finishJob(callbackURL: url))))
            }
            var configuration = testConfiguration(maxAttempts: 1)
            configuration.destinations = try DestinationGuard(allow: ["127.0.0.2"], deny: [])
            let checked = Mutex<[String]>([])
            configuration.resolve = { host in
                checked.withLock { $0.append(host) }
                return [IPAddress("127.0.0.2")!]
            }
            let running = try RunningDispatcher(database, configuration)
            defer { running.stop() }
            #expect(try waitUntil { try ids.allSatisfy { try connection.deliveryStatus($0) == .dead } })
            #expect(receiver.requests(timeout: 0.5).isEmpty)
            #expect(Set(checked.withLock { $0 }) == ["localhost"], "the name is resolved as libcurl uses it")
            for id in ids {
                let error = try #require(try connection.deliveryColumn("last_error", of: id))
                // Through the pin to 127.0.0.2, where nothing listens; a missed pin would have
                // libcurl resolve 127.0.0.1 itself, refused by the connect gate (or delivered).
                #expect(error.hasPrefix("Couldn't connect to server") && !error.contains("127.0.0.1"), "\(error)")
            }
        }
    }
}
