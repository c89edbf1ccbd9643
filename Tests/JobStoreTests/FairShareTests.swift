import Foundation
import JobStore
import Testing
import TestSupport

/// The claim's fair share between tenants, against the real claim statement: weights,
/// work conservation, a late tenant behind a backlog, priorities within a tenant, caps.
@Suite struct FairShareTests {
    static func enqueue(_ connection: PostgresConnection, tenant: String, count: Int, priority: Int = 0) throws {
        try connection.query(
            "INSERT INTO scribe.jobs (prompt, tenant, priority) SELECT 'job ' || n, $1, $3 FROM generate_series(1, $2::int) AS n",
            [tenant, count, priority])
    }

    static func tenants(_ jobs: [ClaimedJob], _ connection: PostgresConnection) throws -> [String: Int] {
        let rows = try connection.query(
            "SELECT tenant, count(*) FROM scribe.jobs WHERE id = ANY($1::bigint[]) GROUP BY tenant",
            ["{" + jobs.map { "\($0.id)" }.joined(separator: ",") + "}"])
        return Dictionary(uniqueKeysWithValues: rows.rows.map { ($0[0]!, Int($0[1]!)!) })
    }

    @Test func slotsAreSharedByWeightAndATenantAloneTakesThemAll() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let queue = try database.queue("w1")
            try Self.enqueue(connection, tenant: "a", count: 100)
            try Self.enqueue(connection, tenant: "b", count: 100)
            #expect(try Self.tenants(queue.claim(limit: 8, model: nil, lease: .seconds(60)), connection) == ["a": 4, "b": 4])

            try connection.execute("INSERT INTO scribe.tenants (tenant, weight) VALUES ('a', 3)")
            // Running 4:4; the next 8 slots bring it to 12:4, the weights' 3:1.
            #expect(try Self.tenants(queue.claim(limit: 8, model: nil, lease: .seconds(60)), connection) == ["a": 8])
            #expect(try Self.tenants(queue.claim(limit: 4, model: nil, lease: .seconds(60)), connection) == ["a": 3, "b": 1])

            // Work conservation: with b's queue empty, a takes every slot.
            try connection.execute("DELETE FROM scribe.jobs WHERE tenant = 'b' AND status = 'queued'")
            #expect(try Self.tenants(queue.claim(limit: 16, model: nil, lease: .seconds(60)), connection) == ["a": 16])
        }
    }

    /// A tenant that arrives behind another's backlog gets the next free slot; within a
    /// tenant, priority (then run_at, then id) still orders the work.
    @Test func aLateTenantGetsTheNextSlotAndPrioritiesOrderWithinATenant() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let queue = try database.queue("w1")
            try Self.enqueue(connection, tenant: "a", count: 5000)
            let running = try queue.claim(limit: 16, model: nil, lease: .seconds(60))
            try Self.enqueue(connection, tenant: "b", count: 10)
            try Self.enqueue(connection, tenant: "b", count: 1, priority: -5)
            try Self.enqueue(connection, tenant: "a", count: 1, priority: -5)
            // One of a's jobs finishes: its slot goes to b, and to b's most urgent job.
            _ = try queue.complete([JobResult(id: running[0].id, attempt: 1, outcome: .succeeded, text: "x")])
            let next = try queue.claim(limit: 1, model: nil, lease: .seconds(60))
            #expect(try Self.tenants(next, connection) == ["b": 1])
            #expect(next.first?.priority == -5)
            // b catches up (its 11 against a's 15) before a gets another slot; a's own
            // urgent job comes first among a's.
            let more = try queue.claim(limit: 11, model: nil, lease: .seconds(60))
            #expect(try Self.tenants(more, connection) == ["b": 10, "a": 1])
            #expect(more.first { $0.priority == -5 } != nil)
        }
    }

    /// A cap holds across claimers: many claims at once never run more of a tenant's jobs.
    @Test func aCapHoldsAcrossConcurrentClaimers() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try Self.enqueue(connection, tenant: "a", count: 200)
            try Self.enqueue(connection, tenant: "b", count: 200)
            try connection.execute("INSERT INTO scribe.tenants (tenant, max_running) VALUES ('a', 5)")
            let claimed = try onThreads(4) { index in
                try database.queue("w\(index)").claim(limit: 8, model: nil, lease: .seconds(60))
            }
            let all = claimed.flatMap { $0 }
            #expect(Set(all.map(\.id)).count == all.count)
            #expect(try Self.tenants(all, connection) == ["a": 5, "b": 27])
            // A cap of 0 pauses a tenant.
            try connection.execute("UPDATE scribe.tenants SET max_running = 0 WHERE tenant = 'a'")
            try connection.execute("UPDATE scribe.jobs SET status = 'queued', worker_id = NULL, lease_expires_at = NULL WHERE tenant = 'a'")
            #expect(try Self.tenants(database.queue("w9").claim(limit: 8, model: nil, lease: .seconds(60)), connection) == ["b": 8])
        }
    }
}
