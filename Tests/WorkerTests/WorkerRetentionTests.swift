import Foundation
import JobStore
import Testing
import TestSupport

/// The worker's retention pass, on its schedule, against a real database.
@Suite(.serialized) struct WorkerRetentionTests {
    @Test func deletesOldFinishedJobsAndWebhookDeliveriesAndKeepsTheRest() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, status, finished_at, metadata) VALUES
                  ('old', 'succeeded', now() - interval '3 days', '{"keep": false}'),
                  ('recent', 'succeeded', now() - interval '1 hour', '{"keep": true}'),
                  ('waiting', 'queued', NULL, '{"keep": true}')
                """)
            try connection.query("UPDATE scribe.jobs SET created_at = now() - interval '5 days'")
            try connection.query(
                """
                INSERT INTO scribe.webhook_deliveries
                    (event_type, subject_type, subject_id, url, payload, status, attempts, created_at, finished_at) VALUES
                  ('job.succeeded', 'job', 1, 'http://127.0.0.1:9/', '{"keep": false}', 'delivered', 1,
                   now() - interval '3 days', now() - interval '3 days'),
                  ('job.failed', 'job', 2, 'http://127.0.0.1:9/', '{"keep": false}', 'dead', 8,
                   now() - interval '4 days', now() - interval '3 days'),
                  ('job.succeeded', 'job', 3, 'http://127.0.0.1:9/', '{"keep": true}', 'delivered', 1,
                   now() - interval '1 hour', now() - interval '1 hour'),
                  ('job.succeeded', 'job', 4, 'http://127.0.0.1:9/', '{"keep": true}', 'pending', 3,
                   now() - interval '3 days', NULL)
                """)
            var environment = Repository.environment
            environment["DATABASE_URL"] = try database.connectionString()
            // No dispatcher: the pending delivery stays pending (and must stay).
            let worker = try DaemonProcess(
                [Executables.scribe, "worker", "--concurrency", "2", "--no-webhooks",
                 "--retention-days", "1", "--retention-interval", "1"],
                environment: environment)
            let cleaned = try eventually(timeout: 90) {
                try connection.query(
                    """
                    SELECT (SELECT count(*) FROM scribe.jobs WHERE metadata->>'keep' = 'false')
                         + (SELECT count(*) FROM scribe.webhook_deliveries WHERE payload::jsonb->>'keep' = 'false')
                    """).scalar == "0"
            }
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
            #expect(cleaned, "\(worker.log)")
            #expect(try connection.query("SELECT prompt FROM scribe.jobs ORDER BY id").rows == [["recent"], ["waiting"]])
            #expect(try connection.query("SELECT subject_id, status FROM scribe.webhook_deliveries ORDER BY id").rows
                == [["3", "delivered"], ["4", "pending"]])
            #expect(worker.log.contains("Finished deliveries deleted"), "\(worker.log)")
        }
    }
}
