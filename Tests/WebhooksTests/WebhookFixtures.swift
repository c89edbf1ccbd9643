import Foundation
import JobStore
import Logging
import TestSupport
import Webhooks

/// A dispatcher running on a thread of its own for one test, stopped with `stop()`.
final class RunningDispatcher: @unchecked Sendable {
    let dispatcher: WebhookDispatcher
    private let stopped = DispatchSemaphore(value: 0)

    init(_ database: IsolatedDatabase, _ configuration: WebhookDispatcherConfiguration,
         events: DispatcherEvents = .none, logger: Logger = .silent) throws {
        let worker = configuration.workerID
        dispatcher = try WebhookDispatcher(
            configuration: configuration, connect: { try database.connect(applicationName: worker) },
            events: events, logger: logger)
        let dispatcher = dispatcher, stopped = stopped
        Thread.detachNewThread {
            try? dispatcher.run()
            stopped.signal()
        }
    }

    /// Asks it to stop and waits until `run` returned.
    func stop() {
        dispatcher.shutdown()
        _ = stopped.wait(timeout: .now() + 30)
    }
}

/// Short delays and intervals, so that a retrying test takes a fraction of a second.
func testConfiguration(_ worker: String = "w-test", maxAttempts: Int = 3, retryDelay: Duration = .milliseconds(200))
    -> WebhookDispatcherConfiguration {
    var configuration = WebhookDispatcherConfiguration(workerID: worker)
    configuration.retry = RetryPolicy(delays: [retryDelay], jitter: 0, maxAttempts: maxAttempts, maxAge: .seconds(120))
    configuration.pollInterval = .milliseconds(100)
    configuration.rescueInterval = .milliseconds(100)
    configuration.connectTimeout = .seconds(2)
    configuration.totalTimeout = .seconds(5)
    configuration.drainTimeout = .seconds(2)
    // The receivers listen on loopback, which the guard refuses unless allowed.
    configuration.destinations = try! DestinationGuard(allow: ["127.0.0.1", "::1"], deny: [])
    return configuration
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
@discardableResult
func waitUntil(timeout: Double = 15, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

extension PostgresConnection {
    /// Inserts a job with `callbackURL`, claims it as `worker` and completes it: the way a
    /// job webhook comes to exist in production. Returns the job id.
    @discardableResult
    func finishJob(callbackURL: String?, text: String = "The end.", metadata: String? = #"{"customer": 17}"#,
                   worker: String = "w-gen") throws -> Int64 {
        let id = Int64(try query(
            "INSERT INTO scribe.jobs (prompt, callback_url, metadata) VALUES ('Once', $1, $2::jsonb) RETURNING id",
            [callbackURL, metadata]).scalar!)!
        let queue = JobQueue(connection: self, workerID: worker, logger: .silent)
        let claimed = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
        precondition(claimed.map(\.id) == [id], "another job was queued")
        _ = try queue.complete([JobResult(
            id: id, attempt: claimed[0].attempt, outcome: .succeeded, text: text, finishReason: "stop",
            promptTokens: 2, completionTokens: 3, timings: ["decode_ms": 12.5])])
        return id
    }

    /// The delivery of job `jobID`, nil when there is none.
    func deliveryID(ofJob jobID: Int64) throws -> Int64? {
        try query("SELECT id FROM scribe.webhook_deliveries WHERE subject_type = 'job' AND subject_id = $1", [jobID])
            .scalar.flatMap { Int64($0) }
    }

    func deliveryColumn(_ name: String, of id: Int64) throws -> String? {
        try query("SELECT \(name)::text FROM scribe.webhook_deliveries WHERE id = $1", [id]).scalar
    }

    func deliveryStatus(_ id: Int64) throws -> DeliveryStatus? {
        try deliveryColumn("status", of: id).flatMap(DeliveryStatus.init(rawValue:))
    }

    /// (attempt, outcome, status_code, error, worker_id, applied) of every attempt, in order.
    func attemptRows(_ id: Int64) throws -> [[String?]] {
        try query(
            """
            SELECT attempt::text, outcome, status_code::text, error, worker_id, applied::text
            FROM scribe.webhook_attempts WHERE delivery_id = $1 ORDER BY attempt, id
            """, [id]).rows
    }
}
