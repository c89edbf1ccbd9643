import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct QueueStatusTests {
    @Test func countsUnfinishedJobsWindowsWorkersAndTheWebhookBacklog() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            // Queued: three claimable (one waiting since 90 s), two scheduled an hour ahead.
            try connection.insertJob(runAtOffsetSeconds: -90)
            try connection.insertJob()
            try connection.insertJob()
            try connection.insertJob(runAtOffsetSeconds: 3600)
            try connection.insertJob(runAtOffsetSeconds: 3600)
            // Finished: two 30 s ago (10 + 20 tokens), one failed 200 s ago, one 2 hours ago.
            try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, status, finished_at, completion_tokens, prompt_tokens) VALUES
                  ('a', 'succeeded', now() - interval '30 seconds', 10, 3),
                  ('b', 'succeeded', now() - interval '30 seconds', 20, 4),
                  ('c', 'failed', now() - interval '200 seconds', NULL, NULL),
                  ('d', 'succeeded', now() - interval '2 hours', 1000, 1000)
                """)
            // Two running, one of which is then cancelled while it runs.
            let ids = try (0..<2).map { _ in try connection.insertJob(priority: -1) }
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            #expect(try queue.claim(limit: 2, model: nil, lease: .seconds(30)).map(\.id).sorted() == ids)
            #expect(try connection.query("SELECT scribe.cancel($1)", [ids[0]]).scalar == "cancelling")

            let registry = WorkerRegistry(
                connection: connection,
                identity: WorkerIdentity(id: "w1", host: "box-1", pid: 7, version: "0.1.0", model: "smol",
                                         heartbeatInterval: .seconds(10)),
                logger: .silent)
            try registry.register(status: .running)
            try registry.heartbeat(runningSequences: 2, tokensPerSecond: 12.5, status: .running)

            try connection.query(
                """
                INSERT INTO scribe.webhook_deliveries
                    (event_type, subject_type, subject_id, url, payload, status, attempts, enqueued_at,
                     claimed_by, lease_expires_at, finished_at) VALUES
                  ('job.succeeded', 'job', 1, 'http://x/', '{}', 'pending', 0, now() - interval '40 seconds', NULL, NULL, NULL),
                  ('job.succeeded', 'job', 2, 'http://x/', '{}', 'pending', 2, now() - interval '10 seconds', NULL, NULL, NULL),
                  ('job.succeeded', 'job', 3, 'http://x/', '{}', 'sending', 1, now(), 'w1', now() + interval '1 minute', NULL),
                  ('job.failed', 'job', 4, 'http://x/', '{}', 'dead', 8, now(), NULL, NULL, now()),
                  ('job.failed', 'job', 5, 'http://x/', '{}', 'delivered', 1, now(), NULL, NULL, now())
                """)

            let status = try QueueStatus.read(on: connection)
            #expect(status.unfinished == [.queued: 5, .running: 1, .cancelling: 1])
            #expect(status.scheduledLater == 2)
            let oldest = try #require(status.oldestQueuedAge)
            #expect(oldest >= 90 && oldest < 120)
            #expect(status.windows == [
                ThroughputWindow(seconds: 60, succeeded: 2, failed: 0, cancelled: 0, completionTokens: 30, promptTokens: 7),
                ThroughputWindow(seconds: 300, succeeded: 2, failed: 1, cancelled: 0, completionTokens: 30, promptTokens: 7),
            ])
            #expect(status.windows[0].tokensPerSecond == 0.5)
            #expect(status.workers.map(\.id) == ["w1"])
            #expect(status.workers.first?.tokensPerSecond == 12.5)
            #expect(status.webhooks.pending == 2)
            #expect(status.webhooks.retrying == 1)
            #expect(status.webhooks.sending == 1)
            #expect(status.webhooks.dead == 1)
            let pendingAge = try #require(status.webhooks.oldestPendingAge)
            #expect(pendingAge >= 40 && pendingAge < 70)
        }
    }

    @Test func anEmptyDatabaseReadsAsIdle() throws {
        try IsolatedDatabase.with { database in
            let status = try QueueStatus.read(on: try database.connect(), windows: [.seconds(30)])
            #expect(status.unfinished == [.queued: 0, .running: 0, .cancelling: 0])
            #expect(status.oldestQueuedAge == nil)
            #expect(status.windows == [
                ThroughputWindow(seconds: 30, succeeded: 0, failed: 0, cancelled: 0, completionTokens: 0, promptTokens: 0),
            ])
            #expect(status.workers.isEmpty)
            #expect(status.webhooks == WebhookBacklog(pending: 0, retrying: 0, sending: 0, dead: 0, oldestPendingAge: nil))
        }
    }

    @Test func jsonHasSnakeCaseKeysAndNulls() throws {
        let status = QueueStatus(
            unfinished: [.queued: 2], scheduledLater: 0, oldestQueuedAge: nil,
            windows: [ThroughputWindow(seconds: 60, succeeded: 3, failed: 0, cancelled: 0, completionTokens: 60, promptTokens: 9)],
            workers: [], webhooks: WebhookBacklog(pending: 1, retrying: 0, sending: 0, dead: 0, oldestPendingAge: 4))
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any])
        let jobs = try #require(object["jobs"] as? [String: Any])
        #expect(jobs["queued"] as? Int == 2)
        #expect(jobs["running"] as? Int == 0)
        #expect(jobs["oldest_queued_age_s"] is NSNull)
        let window = try #require((object["windows"] as? [[String: Any]])?.first)
        #expect(window["tokens_per_s"] as? Double == 1)
        #expect(window["jobs_per_s"] as? Double == 0.05)
        #expect((object["webhooks"] as? [String: Any])?["oldest_pending_age_s"] as? Double == 4)
    }
}
