import Foundation
import JobStore
import Testing
import TestSupport

/// The three group roles do what their names say and no more, and a delegate acts for
/// the tenants it names.
@Suite(.serialized) struct RolesTests {
    static func refused(_ body: () throws -> Void) -> Bool {
        do { try body(); return false } catch let error as PostgresError { return error.sqlState == "42501" } catch { return false }
    }

    @Test func theReaderReadsEverythingAndChangesNothing() throws {
        let client = try LoginRole("client", groups: ["scribe_client"])
        let reader = try LoginRole("reader", groups: ["scribe_reader"])
        defer { client.drop(); reader.drop() }
        try IsolatedDatabase.with { database in
            let owner = try database.connect()
            try owner.execute("INSERT INTO scribe.jobs (prompt) VALUES ('owner''s')")
            let c = try database.connect(as: client)
            let job = try c.query("INSERT INTO scribe.jobs (prompt) VALUES ('client''s') RETURNING id").scalar!
            let r = try database.connect(as: reader)
            #expect(try r.query("SELECT count(*) FROM scribe.jobs").scalar == "2")
            #expect(try r.query("SELECT count(*) FROM scribe.workers").scalar == "0")
            #expect(try r.query("SELECT response_excerpt FROM scribe.webhook_attempts").count == 0)
            #expect(Self.refused { _ = try r.query("INSERT INTO scribe.jobs (prompt) VALUES ('x')") })
            #expect(Self.refused { _ = try r.query("SELECT scribe.cancel($1)", [Int64(job)!]) })
            #expect(Self.refused { _ = try r.query("SELECT scribe.sweep_batches()") })
            #expect(try owner.query("SELECT status FROM scribe.jobs WHERE id = $1", [Int64(job)!]).scalar == "queued")
        }
    }

    /// A worker login claims every tenant's jobs, writes results and queues their webhooks;
    /// it cannot enqueue as a client does, nor change the schema.
    @Test func theWorkerRoleRunsEveryTenantsJobs() throws {
        let alice = try LoginRole("alice", groups: ["scribe_client"])
        let bob = try LoginRole("bob", groups: ["scribe_client"])
        let worker = try LoginRole("worker", groups: ["scribe_worker"])
        defer { alice.drop(); bob.drop(); worker.drop() }
        try IsolatedDatabase.with { database in
            for role in [alice, bob] {
                try database.connect(as: role).execute(
                    "INSERT INTO scribe.jobs (prompt, callback_url) VALUES ('hi', 'https://\(role.name).example/')")
            }
            let w = try database.connect(as: worker)
            let queue = JobQueue(connection: w, workerID: "w1", logger: .silent)
            let claimed = try queue.claim(limit: 10, model: nil, lease: .seconds(30))
            #expect(claimed.count == 2)
            _ = try queue.complete(claimed.map {
                JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, text: "ok", finishReason: "stop",
                          promptTokens: 1, completionTokens: 1, timings: [:])
            })
            #expect(try w.query("SELECT tenant FROM scribe.webhook_deliveries ORDER BY tenant").rows.map { $0[0] }
                == [alice.name, bob.name].sorted())
            #expect(try database.connect(as: alice).query("SELECT result FROM scribe.jobs").rows == [["ok"]])
            #expect(Self.refused { try w.execute("CREATE TABLE scribe.mine (x int)") })
            #expect(Self.refused { try w.execute("ALTER TABLE scribe.jobs DISABLE ROW LEVEL SECURITY") })
        }
    }

    /// An application's role, listed in scribe.delegates, acts for the tenant it sets; a
    /// role that is not listed cannot set one.
    @Test func aDelegateActsForTheTenantItSets() throws {
        let app = try LoginRole("app", groups: ["scribe_client"])
        let other = try LoginRole("other", groups: ["scribe_client"])
        defer { app.drop(); other.drop() }
        try IsolatedDatabase.with { database in
            try database.connect().query("INSERT INTO scribe.delegates (role) VALUES ($1)", [app.name])
            let a = try database.connect(as: app)
            try a.query("SELECT set_config('scribe.tenant', 'acme', false)")
            let job = try a.query("INSERT INTO scribe.jobs (prompt) VALUES ('for acme') RETURNING id, tenant").rows
            #expect(job.first?[1] == "acme")
            try a.query("SELECT set_config('scribe.tenant', 'globex', false)")
            #expect(try a.query("SELECT count(*) FROM scribe.jobs").scalar == "0")
            #expect(try a.query("SELECT scribe.cancel($1)", [Int64(job[0][0]!)!]).scalar == nil)
            try a.query("SELECT set_config('scribe.tenant', 'acme', false)")
            #expect(try a.query("SELECT scribe.cancel($1)", [Int64(job[0][0]!)!]).scalar == "cancelled")
            // A name the tenant could use to break out of a string is just a name.
            let tricky = "acme'); DELETE FROM scribe.jobs; --"
            try a.query("SELECT set_config('scribe.tenant', $1, false)", [tricky])
            #expect(try a.query("INSERT INTO scribe.jobs (prompt) VALUES ('x') RETURNING tenant").scalar == tricky)
            try a.query("SELECT set_config('scribe.tenant', $1, false)", [String(repeating: "t", count: 201)])
            #expect(throws: PostgresError.self) { try a.query("SELECT count(*) FROM scribe.jobs") }

            let o = try database.connect(as: other)
            try o.query("SELECT set_config('scribe.tenant', 'acme', false)")
            let error = #expect(throws: PostgresError.self) { try o.query("SELECT count(*) FROM scribe.jobs") }
            #expect(error?.sqlState == "42501")
            #expect(error?.message.contains("may not act for other tenants") == true, "\(String(describing: error))")
            #expect(try database.connect().query("SELECT count(*) FROM scribe.jobs").scalar == "2")
        }
    }
}
