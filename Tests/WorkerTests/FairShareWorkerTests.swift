import Foundation
import JobStore
import Testing
import TestSupport

/// Fair share with the real worker and model: one tenant's backlog does not hold back
/// another, and weights split the generated tokens. Two client roles enqueue; the numbers
/// are printed for the README.
@Suite(.serialized) struct FairShareWorkerTests {
    static let params = #"{"max_tokens": 16, "temperature": 0, "ignore_eos": true}"#

    static func enqueue(_ database: IsolatedDatabase, as role: LoginRole, count: Int) throws {
        try database.connect(as: role).query(
            "INSERT INTO scribe.jobs (prompt, params) SELECT 'Story ' || n || ':', $1::jsonb FROM generate_series(1, $2::int) AS n",
            [Self.params, count])
    }

    /// Alice enqueues 50,000 jobs, then Bob 10: Bob's first job starts within 2 s and his
    /// 10 finish before Alice's backlog is noticeably smaller.
    @Test func aLateTenantIsNotHeldBackByABacklog() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let alice = try LoginRole("alice", groups: ["scribe_client"])
        let bob = try LoginRole("bob", groups: ["scribe_client"])
        defer { alice.drop(); bob.drop() }
        try IsolatedDatabase.with { database in
            try Self.enqueue(database, as: alice, count: 50_000)
            let connection = try database.connect()
            let worker = try WorkerDaemonTests.worker(database)
            defer { worker.signal(SIGTERM); worker.wait(timeout: 30) }
            #expect(try eventually(timeout: 60) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'succeeded'").scalar.flatMap { Int($0) } ?? 0 >= 64
            }, "\(worker.log)")
            try Self.enqueue(database, as: bob, count: 10)
            #expect(try eventually(timeout: 60) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE tenant = $1 AND status = 'succeeded'", [bob.name]).scalar == "10"
            }, "\(worker.log)")
            let row = try connection.query(
                """
                SELECT extract(epoch FROM min(started_at) - min(created_at))::float8,
                       extract(epoch FROM max(finished_at) - min(created_at))::float8,
                       (SELECT count(*) FROM scribe.jobs WHERE tenant = $2 AND status = 'queued')
                FROM scribe.jobs WHERE tenant = $1
                """, [bob.name, alice.name]).rows[0]
            let (firstStart, allDone, aliceQueued) = (Double(row[0]!)!, Double(row[1]!)!, Int(row[2]!)!)
            print("fair share: bob's first job started \(firstStart) s after his INSERT, his 10 done after \(allDone) s; "
                + "alice's backlog \(aliceQueued) of 50000 still queued")
            #expect(firstStart < 2, "\(firstStart)")
            #expect(aliceQueued > 49_000, "\(aliceQueued)")
        }
    }

    /// Weights 3:1 with both tenants busy: Alice generates 75% of the tokens (±10%).
    @Test func weightsSplitTheGeneratedTokens() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let alice = try LoginRole("alice", groups: ["scribe_client"])
        let bob = try LoginRole("bob", groups: ["scribe_client"])
        defer { alice.drop(); bob.drop() }
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.query("INSERT INTO scribe.tenants (tenant, weight) VALUES ($1, 3), ($2, 1)", [alice.name, bob.name])
            try Self.enqueue(database, as: alice, count: 600)
            try Self.enqueue(database, as: bob, count: 600)
            let worker = try WorkerDaemonTests.worker(database)
            defer { worker.signal(SIGTERM); worker.wait(timeout: 30) }
            // Both stay busy throughout: 300 finished leaves each tenant hundreds queued.
            #expect(try eventually(timeout: 120) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'succeeded'").scalar.flatMap { Int($0) } ?? 0 >= 300
            }, "\(worker.log)")
            let tokens = try connection.query(
                "SELECT tenant, sum(completion_tokens)::bigint FROM scribe.jobs WHERE status = 'succeeded' GROUP BY tenant").rows
            let byTenant = Dictionary(uniqueKeysWithValues: tokens.map { ($0[0]!, Double($0[1]!)!) })
            let share = (byTenant[alice.name] ?? 0) / byTenant.values.reduce(0, +)
            print("fair share: weights 3:1, alice generated \(String(format: "%.1f", share * 100))% of \(Int(byTenant.values.reduce(0, +))) tokens")
            #expect(abs(share - 0.75) <= 0.075, "\(byTenant)")
        }
    }
}
