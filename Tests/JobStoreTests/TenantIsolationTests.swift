import Foundation
import JobStore
import Testing
import TestSupport

/// Two client roles attack each other's jobs, batches and webhooks, and the roles reach
/// for what is not theirs: every attempt must be refused, by a privilege or policy error
/// or by finding nothing to act on. The README quotes the count this suite prints.
@Suite(.serialized) struct TenantIsolationTests {
    /// The attempts made and those refused, by name.
    final class Ledger {
        var attempts: [String] = []
        var notRefused: [String] = []

        /// `body` must throw a PostgreSQL error of class 42 (privilege, policy) or P0001.
        func mustFail(_ label: String, _ body: () throws -> Void) {
            attempts.append(label)
            do {
                try body()
                notRefused.append(label)
            } catch let error as PostgresError where error.sqlState?.hasPrefix("42") == true || error.sqlState == "P0001" {
            } catch {
                notRefused.append("\(label): \(error)")
            }
        }

        /// `body` runs and must report that nothing was reached (no row, no status).
        func mustFindNothing(_ label: String, _ body: () throws -> Bool) {
            attempts.append(label)
            do {
                if try !body() { notRefused.append(label) }
            } catch {
                notRefused.append("\(label): \(error)")  // an unexpected error is not a refusal we designed
            }
        }
    }

    static let injections = [
        "'); DROP TABLE scribe.jobs; --",
        "x' OR '1'='1",
        "\"; UPDATE scribe.jobs SET status = 'succeeded'; --",
        "$$; DELETE FROM scribe.batches; $$",
        "\\'; SELECT pg_sleep(10); --",
    ]

    @Test func twoTenantsCannotReachEachOther() throws {
        let alice = try LoginRole("alice", groups: ["scribe_client"])
        let bob = try LoginRole("bob", groups: ["scribe_client"])
        defer { alice.drop(); bob.drop() }
        try IsolatedDatabase.with { database in
            let a = try database.connect(as: alice)
            let b = try database.connect(as: bob)
            let owner = try database.connect()
            let ledger = Ledger()

            // Alice's work: a queued job with a webhook, a batch, a finished job with a delivery.
            let job = Int64(try a.query(
                """
                INSERT INTO scribe.jobs (prompt, callback_url, idempotency_key, metadata)
                VALUES ('secret prompt', 'https://alice.example/hook', 'alice-key', '{"card": "4242"}') RETURNING id
                """).scalar!)!
            let batches = BatchStore(connection: a, logger: .silent)
            let batch = try batches.create(
                NewBatch(endpoint: "/v1/completions", callbackURL: "https://alice.example/batch"),
                requests: [BatchJobInput(customID: "r1", prompt: "batch secret", paramsJSON: "{}")])
            let finished = Int64(try a.query(
                "INSERT INTO scribe.jobs (prompt, callback_url) VALUES ('done', 'https://alice.example/hook') RETURNING id").scalar!)!
            try owner.query(
                "UPDATE scribe.jobs SET status = 'succeeded', result = 'alice result', finished_at = now() WHERE id = $1", [finished])
            let delivery = Int64(try owner.query(
                "SELECT id FROM scribe.webhook_deliveries WHERE subject_id = $1", [finished]).scalar!)!
            try owner.query(
                """
                INSERT INTO scribe.webhook_attempts (delivery_id, attempt, worker_id, started_at, outcome, response_excerpt)
                VALUES ($1, 1, 'w', now(), 'retry', 'internal answer')
                """, [delivery])
            #expect(try owner.query("SELECT tenant FROM scribe.jobs WHERE id = $1", [job]).scalar == alice.name)
            #expect(try owner.query("SELECT tenant FROM scribe.webhook_deliveries WHERE id = $1", [delivery]).scalar == alice.name)
            let bobJob = Int64(try b.query("INSERT INTO scribe.jobs (prompt) VALUES ('bob') RETURNING id").scalar!)!
            let bobBatch = try BatchStore(connection: b, logger: .silent).create(
                NewBatch(endpoint: "/v1/completions"), requests: [BatchJobInput(customID: "b1", prompt: "bob's", paramsJSON: "{}")])
            // What is theirs, they reach.
            #expect(try a.query("SELECT prompt FROM scribe.jobs WHERE id = $1", [job]).scalar == "secret prompt")
            #expect(try a.query("SELECT outcome FROM scribe.webhook_attempts").rows == [["retry"]])
            #expect(try b.query("SELECT status FROM scribe.batches").rows == [["in_progress"]])

            // Reading.
            ledger.mustFindNothing("read another tenant's job") {
                try b.query("SELECT prompt, metadata FROM scribe.jobs WHERE id = $1", [job]).count == 0 }
            ledger.mustFindNothing("list every job") {
                try b.query("SELECT tenant FROM scribe.jobs").rows.allSatisfy { $0 == [bob.name] } }
            ledger.mustFindNothing("read another tenant's result") {
                try b.query("SELECT result FROM scribe.jobs WHERE id = $1", [finished]).count == 0 }
            ledger.mustFindNothing("read another tenant's batch") {
                try b.query("SELECT * FROM scribe.batches WHERE id = $1", [batch]).count == 0 }
            ledger.mustFindNothing("read another tenant's batch requests") {
                try b.query("SELECT prompt FROM scribe.jobs WHERE batch_id = $1", [batch]).count == 0 }
            ledger.mustFindNothing("read another tenant's webhook payload") {
                try b.query("SELECT payload FROM scribe.webhook_deliveries").count == 0 }
            ledger.mustFindNothing("read another tenant's webhook attempts") {
                try b.query("SELECT id FROM scribe.webhook_attempts").count == 0 }
            ledger.mustFail("read response excerpts") { _ = try b.query("SELECT response_excerpt FROM scribe.webhook_attempts") }
            ledger.mustFail("read response excerpts, own tenant too") {
                _ = try a.query("SELECT response_excerpt FROM scribe.webhook_attempts") }
            ledger.mustFail("read the worker registry") { _ = try b.query("SELECT * FROM scribe.workers") }
            ledger.mustFail("read circuit-breaker state") { _ = try b.query("SELECT * FROM scribe.webhook_destinations") }
            ledger.mustFindNothing("probe an idempotency key") {
                let id = try b.query("SELECT scribe.enqueue(prompt => 'probe', idempotency_key => 'alice-key')").scalar
                return id != "\(job)"
            }
            ledger.mustFindNothing("see another tenant's batch through batch_object") {
                try b.query("SELECT scribe.batch_object(b) FROM scribe.batches AS b WHERE b.id = $1", [batch]).count == 0 }

            // Cancelling and changing.
            ledger.mustFindNothing("cancel another tenant's job") {
                try b.query("SELECT scribe.cancel($1)", [job]).scalar == nil }
            ledger.mustFindNothing("request a cancel directly") {
                try b.query("UPDATE scribe.jobs SET cancel_requested_at = now() WHERE id = $1 RETURNING id", [job]).count == 0 }
            ledger.mustFindNothing("cancel another tenant's batch") {
                try BatchStore(connection: b, logger: .silent).cancel(batch) == nil }
            ledger.mustFindNothing("cancel another tenant's batch directly") {
                try b.query("UPDATE scribe.batches SET status = 'cancelling' WHERE id = $1 RETURNING id", [batch]).count == 0 }
            ledger.mustFail("forge a result") {
                _ = try b.query("UPDATE scribe.jobs SET status = 'succeeded', result = 'forged' WHERE id = $1", [job]) }
            ledger.mustFail("forge a result on its own job") {
                _ = try b.query("UPDATE scribe.jobs SET result = 'forged' WHERE id = $1", [bobJob]) }
            ledger.mustFail("set its own job's status") {
                _ = try b.query("UPDATE scribe.jobs SET status = 'succeeded', finished_at = now() WHERE id = $1", [bobJob]) }
            ledger.mustFail("move its own job to another tenant") {
                _ = try b.query("UPDATE scribe.jobs SET tenant = $2 WHERE id = $1", [bobJob, alice.name]) }
            ledger.mustFail("change another tenant's callback") {
                _ = try b.query("UPDATE scribe.jobs SET callback_url = 'https://bob.example/' WHERE id = $1", [job]) }
            ledger.mustFail("delete another tenant's job") { _ = try b.query("DELETE FROM scribe.jobs WHERE id = $1", [job]) }
            ledger.mustFail("delete its own job") { _ = try b.query("DELETE FROM scribe.jobs WHERE id = $1", [bobJob]) }
            ledger.mustFail("truncate the queue") { try b.execute("TRUNCATE scribe.jobs") }
            ledger.mustFail("finish its own batch") {
                _ = try b.query("UPDATE scribe.batches SET status = 'completed' WHERE id = $1", [bobBatch]) }

            // Inserting what only workers write.
            ledger.mustFail("insert a job already succeeded") {
                _ = try b.query("INSERT INTO scribe.jobs (prompt, status, result, callback_url, finished_at) VALUES ('x', 'succeeded', 'forged', 'https://victim.example/', now())") }
            ledger.mustFail("insert a job with a result") {
                _ = try b.query("INSERT INTO scribe.jobs (prompt, result) VALUES ('x', 'forged')") }
            ledger.mustFail("insert a job with an explicit id") {
                _ = try b.query("INSERT INTO scribe.jobs (id, prompt) VALUES (999999, 'x')") }
            ledger.mustFail("insert a job with an explicit id, overriding") {
                _ = try b.query("INSERT INTO scribe.jobs (id, prompt) OVERRIDING SYSTEM VALUE VALUES (999999, 'x')") }
            ledger.mustFail("insert a job for another tenant") {
                _ = try b.query("INSERT INTO scribe.jobs (prompt, tenant) VALUES ('x', $1)", [alice.name]) }
            ledger.mustFail("add a request to another tenant's batch") {
                _ = try b.query("INSERT INTO scribe.jobs (prompt, batch_id, custom_id) VALUES ('x', $1, 'r2')", [batch]) }
            ledger.mustFail("insert a batch already completed") {
                _ = try b.query("INSERT INTO scribe.batches (status, endpoint, callback_url) VALUES ('completed', '/v1/completions', 'https://victim.example/')") }
            ledger.mustFail("insert a batch with counts") {
                _ = try b.query("INSERT INTO scribe.batches (endpoint, requests_completed) VALUES ('/v1/completions', 5)") }

            // Webhooks: queueing, redirecting or replaying another tenant's.
            ledger.mustFail("insert a webhook delivery") {
                _ = try b.query("INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload) VALUES ('job.succeeded', 'job', $1, 'https://victim.example/', '{}')", [job]) }
            ledger.mustFail("redirect another tenant's webhook") {
                _ = try b.query("UPDATE scribe.webhook_deliveries SET url = 'https://bob.example/' WHERE id = $1", [delivery]) }
            ledger.mustFail("replay another tenant's webhook") { _ = try b.query("SELECT scribe.redeliver($1)", [delivery]) }
            ledger.mustFail("insert a webhook attempt") {
                _ = try b.query("INSERT INTO scribe.webhook_attempts (delivery_id, attempt, worker_id, started_at, outcome) VALUES ($1, 9, 'w', now(), 'delivered')", [delivery]) }
            ledger.mustFail("open another host's circuit") {
                _ = try b.query("INSERT INTO scribe.webhook_destinations (destination, open_until) VALUES ('alice.example', now() + interval '1 day')") }

            // Claiming as a worker, impersonating, and changing the schema.
            ledger.mustFail("claim jobs as a worker") {
                _ = try JobQueue(connection: b, workerID: "bob-worker", logger: .silent)
                    .claim(limit: 10, model: nil, lease: .seconds(30)) }
            ledger.mustFail("act for another tenant") {
                _ = try b.query("SELECT set_config('scribe.tenant', $1, false)", [alice.name])
                _ = try b.query("SELECT id FROM scribe.jobs")
            }
            try b.execute("RESET scribe.tenant")
            ledger.mustFail("list itself as a delegate") { _ = try b.query("INSERT INTO scribe.delegates (role) VALUES ($1)", [bob.name]) }
            ledger.mustFail("replace a function") {
                try b.execute("CREATE OR REPLACE FUNCTION scribe.current_tenant() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$") }
            ledger.mustFail("create an object in the schema") { try b.execute("CREATE TABLE scribe.mine (x int)") }
            ledger.mustFail("disable row-level security") { try b.execute("ALTER TABLE scribe.jobs DISABLE ROW LEVEL SECURITY") }
            ledger.mustFail("drop a policy") { try b.execute("DROP POLICY jobs_client_read ON scribe.jobs") }
            ledger.mustFail("shadow a built-in in its own schema") {
                try b.execute("CREATE SCHEMA bob_tricks") }

            // SQL injection through every text field, through the APIs and SQL clients use:
            // stored verbatim, tenant's own, nothing else touched.
            for (index, text) in Self.injections.enumerated() {
                ledger.mustFindNothing("injection through the job's fields #\(index + 1)") {
                    let id = try b.query(
                        """
                        SELECT scribe.enqueue(prompt => $1, model => $1, idempotency_key => $1 || 'k',
                                              metadata => jsonb_build_object('note', $1::text),
                                              params => jsonb_build_object('stop', jsonb_build_array($1::text)),
                                              callback_url => 'https://bob.example/hook')
                        """, [text]).scalar!
                    let stored = try b.query("SELECT prompt, model, metadata ->> 'note', params -> 'stop' ->> 0 FROM scribe.jobs WHERE id = $1", [Int64(id)!]).rows
                    return stored == [[text, text, text, text]]
                }
                ledger.mustFindNothing("injection through a batch's fields #\(index + 1)") {
                    let id = try BatchStore(connection: b, logger: .silent).create(
                        NewBatch(endpoint: "/v1/chat/completions", model: text, inputFile: text, metadata: ["k": text]),
                        requests: [BatchJobInput(customID: text, messagesJSON: #"[{"role": "user", "content": "hi"}]"#, paramsJSON: "{}")])
                    return try b.query("SELECT b.model, b.input_file, j.custom_id FROM scribe.batches b JOIN scribe.jobs j ON j.batch_id = b.id WHERE b.id = $1",
                                       [id]).rows == [[text, text, text]]
                }
            }

            // After all that: Alice's rows are as she left them, and nothing of hers was queued.
            #expect(try owner.query("SELECT status, prompt, callback_url, result FROM scribe.jobs WHERE id = $1", [job]).rows
                == [["queued", "secret prompt", "https://alice.example/hook", nil]])
            #expect(try owner.query("SELECT status, requests_total FROM scribe.batches WHERE id = $1", [batch]).rows == [["in_progress", "1"]])
            #expect(try owner.query("SELECT count(*) FROM scribe.webhook_deliveries").scalar == "1")
            #expect(try owner.query("SELECT url FROM scribe.webhook_deliveries WHERE id = $1", [delivery]).scalar == "https://alice.example/hook")
            #expect(try owner.query("SELECT count(*) FROM scribe.jobs WHERE tenant = $1", [alice.name]).scalar == "3")
            // Her own cancel works, and queues her webhook.
            #expect(try a.query("SELECT scribe.cancel($1)", [job]).scalar == "cancelled")
            #expect(try owner.query("SELECT tenant, url FROM scribe.webhook_deliveries WHERE subject_id = $1", [job]).rows
                == [[alice.name, "https://alice.example/hook"]])

            #expect(ledger.notRefused.isEmpty, "\(ledger.notRefused)")
            print("tenant isolation: \(ledger.attempts.count) attempts, \(ledger.attempts.count - ledger.notRefused.count) refused")
        }
    }
}
