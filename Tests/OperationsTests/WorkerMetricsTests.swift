import Foundation
import JobStore
import Testing
import TestSupport

/// The `/metrics` of a real `scribe worker` after it ran jobs with webhooks: every family
/// is there with its type, and the counters agree with what the database recorded.
@Suite(.serialized) struct WorkerMetricsTests {
    @Test func aWorkersMetricsCountWhatItDid() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let receiver = try HTTPReceiver(responses: [200])
            try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, params, callback_url)
                SELECT 'Count to ' || n, '{"max_tokens": 6, "temperature": 0, "ignore_eos": true}', $1
                FROM generate_series(1, 3) AS n
                """, [receiver.url + "/hook"])
            // Fails at claim (a token outside the vocabulary): a failed outcome, and a webhook all the same.
            try connection.query(
                "INSERT INTO scribe.jobs (prompt, params, callback_url) VALUES ('x', '{\"logit_bias\": {\"999999\": 5}}', $1)",
                [receiver.url + "/hook"])
            // Runs until cancelled: the gauges are read while it runs.
            let long = try #require(try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, params, callback_url)
                VALUES ('Write a long story', '{"max_tokens": 4000, "ignore_eos": true}', $1) RETURNING id
                """, [receiver.url + "/hook"]).scalar)

            // Held by a worker that died: rescued at start (a retried attempt), then run.
            try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, params, status, attempts, worker_id, lease_expires_at, started_at)
                VALUES ('Ghost', '{"max_tokens": 3, "temperature": 0}', 'running', 1, 'ghost',
                        now() - interval '1 minute', now() - interval '2 minutes')
                """)

            var environment = Repository.environment
            environment["DATABASE_URL"] = try database.connectionString()
            environment["SCRIBE_LOG_LEVEL"] = "info"
            environment["SCRIBE_LOG_FORMAT"] = "logfmt"
            environment["SCRIBE_WEBHOOK_UNSIGNED"] = "1"
            environment["SCRIBE_WEBHOOK_ALLOW"] = "127.0.0.1"  // the tests' receivers
            let worker = try DaemonProcess(
                [Executables.scribe, "worker", "--concurrency", "4", "--metrics-port", "0"], environment: environment)
            #expect(try eventually(timeout: 60) { Self.metricsPort(in: worker.log) != nil }, "\(worker.log)")
            let port = try #require(Self.metricsPort(in: worker.log))

            // While the long job runs, the generation loop's gauges show it.
            var during: PrometheusExposition?
            let running = try eventually(timeout: 120) {
                during = try PrometheusExposition(try RawHTTPClient.get("/metrics", port: port).body)
                return (during?.value("scribe_running_sequences") ?? 0) >= 1
                    && (during?.value("scribe_kv_blocks_in_use") ?? 0) >= 1 && (during?.value("scribe_batch_rows") ?? 0) >= 1
            }
            #expect(running, "\(String(describing: during?.families.keys.sorted()))")
            #expect(try eventually(timeout: 120) {
                try connection.query(
                    "SELECT count(*) FROM scribe.jobs WHERE status IN ('succeeded', 'failed')").scalar == "5"
            }, "\(worker.log)")
            #expect(try connection.query("SELECT scribe.cancel($1)", [long]).scalar == "cancelling")
            let delivered = try eventually(timeout: 120) {
                try connection.query(
                    "SELECT count(*) FROM scribe.webhook_deliveries WHERE status = 'delivered'").scalar == "5"
            }
            #expect(delivered, "\(worker.log)")
            let response = try RawHTTPClient.get("/metrics", port: port)
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
            #expect(response.status == 200)

            let metrics = try PrometheusExposition(response.body)
            #expect(metrics.families.mapValues(\.type) == ScribeMetricsTests.expectedTypes)
            let totals = try connection.query("SELECT sum(completion_tokens), sum(prompt_tokens) FROM scribe.jobs").rows[0]
            #expect(metrics.value("scribe_jobs_claimed_total") == 6)
            #expect(metrics.value("scribe_jobs_finished_total", ["outcome": "succeeded"]) == 4)
            #expect(metrics.value("scribe_jobs_finished_total", ["outcome": "retried"]) == 1)
            #expect(metrics.value("scribe_jobs_finished_total", ["outcome": "failed"]) == 1)
            #expect(metrics.value("scribe_jobs_finished_total", ["outcome": "cancelled"]) == 1)
            #expect(metrics.value("scribe_tokens_generated_total") == totals[0].flatMap(Double.init))
            #expect(metrics.value("scribe_prompt_tokens_total") == totals[1].flatMap(Double.init))
            #expect(metrics.value("scribe_time_to_first_token_seconds_count") == 5)
            // Every job the engine ended has a latency, the one it refused (a token outside
            // the vocabulary) too.
            #expect(metrics.value("scribe_job_latency_seconds_count") == 6)
            #expect(metrics.value("scribe_webhook_deliveries_total", ["outcome": "delivered"]) == 5)
            #expect(metrics.value("scribe_webhook_deliveries_total", ["outcome": "failed"]) == 0)
            #expect(metrics.value("scribe_database_errors_total") == 0)
            let blas = try #require(metrics.families["scribe_blas_info"]?.samples.first)
            #expect(blas.value == 1 && !(blas.labels["core"] ?? "").isEmpty && Int(blas.labels["threads"] ?? "") != nil)
            #expect(metrics.families["scribe_build_info"]?.samples.first?.value == 1)
            #expect(receiver.requests(atLeast: 5).count >= 5)
        }
    }

    /// The port from the worker's `Metrics server listening` line (`metrics.port=41234`).
    static func metricsPort(in log: String) -> UInt16? {
        for line in log.split(separator: "\n") where line.contains("Metrics server listening") {
            guard let range = line.range(of: "metrics.port=") else { continue }
            return UInt16(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }
}
