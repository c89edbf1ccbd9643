import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct WorkerRegistryTests {
    private func identity(_ id: String, interval: Duration = .seconds(10), model: String? = "smol") -> WorkerIdentity {
        WorkerIdentity(id: id, host: "host-a", pid: 4242, version: "0.1.0", model: model, heartbeatInterval: interval)
    }

    /// Moves a worker's last heartbeat into the past, as if it had stopped beating.
    private func age(_ id: String, seconds: Double, on connection: PostgresConnection) throws {
        try connection.query(
            "UPDATE scribe.workers SET heartbeat_at = now() - $2::float8 * interval '1 second' WHERE id = $1", [id, seconds])
    }

    @Test func registerWritesTheRowAndHeartbeatRefreshesIt() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let logs = LogCapture()
            let registry = WorkerRegistry(connection: connection, identity: identity("w1"), logger: logs.logger())
            try registry.register()

            var workers = try WorkerRegistry.workers(on: connection)
            #expect(workers.count == 1)
            let row = try #require(workers.first)
            #expect((row.id, row.host, row.pid, row.version, row.model) == ("w1", "host-a", 4242, "0.1.0", "smol"))
            #expect(row.status == .starting)
            #expect(row.heartbeatInterval == .seconds(10))
            #expect((row.runningSequences, row.tokensPerSecond, row.isStale) == (0, 0, false))
            #expect(logs.records.contains { $0.message == "Worker registered" && $0.metadata["worker.id"] == "w1" })

            try age("w1", seconds: 8, on: connection)
            #expect(try registry.heartbeat(runningSequences: 3, tokensPerSecond: 41.5, status: .running) == .refreshed)
            workers = try WorkerRegistry.workers(on: connection)
            #expect(workers.first?.status == .running)
            #expect(workers.first?.runningSequences == 3)
            #expect(workers.first?.tokensPerSecond == 41.5)
            #expect((workers.first?.heartbeatAge ?? 99) < 1)
            #expect(workers.first?.startedAt == row.startedAt)

            // Values the table's checks would refuse are clamped, not a failed beat.
            try registry.heartbeat(runningSequences: -1, tokensPerSecond: .nan, status: .draining)
            workers = try WorkerRegistry.workers(on: connection)
            #expect((workers.first?.runningSequences, workers.first?.tokensPerSecond, workers.first?.status) == (0, 0, .draining))
        }
    }

    @Test func aHeartbeatAfterExpiryRegistersAgainKeepingTheStartTime() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let logs = LogCapture()
            let registry = WorkerRegistry(connection: connection, identity: identity("w1"), logger: logs.logger())
            try registry.register(status: .running)
            let startedAt = try #require(try WorkerRegistry.workers(on: connection).first?.startedAt)

            try connection.query("DELETE FROM scribe.workers")
            #expect(try registry.heartbeat(runningSequences: 2, tokensPerSecond: 10, status: .running) == .reregistered)
            let row = try #require(try WorkerRegistry.workers(on: connection).first)
            #expect(row.startedAt == startedAt)
            #expect((row.runningSequences, row.host, row.model) == (2, "host-a", "smol"))
            #expect(logs.records.contains { $0.level == .warning && $0.message.contains("registered again") })
            #expect(try registry.heartbeat(runningSequences: 2, tokensPerSecond: 10, status: .running) == .refreshed)
        }
    }

    @Test func staleWorkersExpireAfterMissedHeartbeatsOfTheirOwnInterval() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let logs = LogCapture()
            let me = WorkerRegistry(connection: connection, identity: identity("me"), logger: logs.logger())
            try me.register()
            for (id, interval) in [("dead", 10), ("slow-beat", 60), ("late", 10)] {
                try WorkerRegistry(connection: connection, identity: identity(id, interval: .seconds(interval)), logger: .silent)
                    .register()
            }
            try age("dead", seconds: 31, on: connection)       // 3.1 intervals of 10 s
            try age("slow-beat", seconds: 100, on: connection) // 1.7 intervals of 60 s: alive
            try age("late", seconds: 25, on: connection)       // 2.5 intervals: alive
            try age("me", seconds: 300, on: connection)        // stale, but never expires itself

            let listed = try WorkerRegistry.workers(on: connection)
            #expect(Set(listed.filter(\.isStale).map(\.id)) == ["dead", "me"])

            let expired = try me.expireStale()
            #expect(expired.map(\.id) == ["dead"])
            #expect(expired.first?.isStale == true)
            #expect(Set(try WorkerRegistry.workers(on: connection).map(\.id)) == ["me", "slow-beat", "late"])
            #expect(logs.records.contains {
                $0.message == "Stale worker expired" && $0.metadata["stale.worker.id"] == "dead"
            })
            // Fewer missed beats: late goes too.
            #expect(try me.expireStale(missedHeartbeats: 2).map(\.id) == ["late"])
            #expect(try me.expireStale().isEmpty)
        }
    }

    @Test func deregisterRemovesOnlyThisWorker() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let one = WorkerRegistry(connection: connection, identity: identity("one"), logger: .silent)
            let two = WorkerRegistry(connection: connection, identity: identity("two", model: nil), logger: .silent)
            try one.register()
            try two.register()
            try one.deregister()
            try one.deregister()
            let remaining = try WorkerRegistry.workers(on: connection)
            #expect(remaining.map(\.id) == ["two"])
            #expect(remaining.first?.model == nil)
        }
    }

    @Test func registeringAgainResetsTheRow() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let registry = WorkerRegistry(connection: connection, identity: identity("w1"), logger: .silent)
            try registry.register()
            try registry.heartbeat(runningSequences: 5, tokensPerSecond: 9, status: .running)
            try connection.query("UPDATE scribe.workers SET started_at = now() - interval '1 hour'")
            try registry.register(status: .starting)
            let row = try #require(try WorkerRegistry.workers(on: connection).first)
            #expect((row.status, row.runningSequences, row.tokensPerSecond) == (.starting, 0, 0))
            let age = try #require(Double(try connection.query(
                "SELECT extract(epoch FROM now() - started_at) FROM scribe.workers").scalar ?? ""))
            #expect(age < 60)
        }
    }

    @Test func generatedIDsNameTheProcessAndDiffer() {
        let first = WorkerIdentity.current(version: "0.1.0", model: nil, heartbeatInterval: .seconds(10))
        let second = WorkerIdentity.current(version: "0.1.0", model: nil, heartbeatInterval: .seconds(10))
        #expect(first.id.hasPrefix("\(first.host):\(getpid()):"))
        #expect(first.id.split(separator: ":").last?.count == 8)
        #expect(first.id != second.id)
        #expect(!first.host.isEmpty)
    }
}
