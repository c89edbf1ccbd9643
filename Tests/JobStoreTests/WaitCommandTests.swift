import Foundation
import JobStore
import Testing
import TestSupport

/// `scribe wait` and `scribe status` as users run them, against a real database; jobs are
/// finished with SQL, as a worker would, so no model is needed.
@Suite struct WaitCommandTests {
    static func environment(_ database: IsolatedDatabase) throws -> [String: String] {
        var environment = Repository.environment
        environment["DATABASE_URL"] = try database.connectionString()
        return environment
    }

    static func finish(_ ids: [Int64], _ status: JobStatus, on connection: PostgresConnection) throws {
        try connection.query(
            "UPDATE scribe.jobs SET status = $2, finished_at = now() WHERE id = ANY($1::bigint[])",
            [PostgresArray(ids), status.rawValue])
    }

    static func idList(_ ids: [Int64]) -> String { ids.map(String.init).joined(separator: ",") }

    /// The poll interval is far beyond the test's patience: only NOTIFY scribe_job_done can end the wait in time.
    @Test func exitsZeroOnceEveryJobSucceededWokenByNotifications() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let ids = try (0..<3).map { _ in try connection.insertJob() }
            let wait = try DaemonProcess(
                [Executables.scribe, "wait", "--ids", Self.idList(ids), "--poll-interval", "1000", "--timeout", "120"],
                environment: Self.environment(database))
            #expect(try eventually(timeout: 30) { wait.log.contains("0/3") }, "\(wait.log)")
            try Self.finish([ids[0]], .succeeded, on: connection)
            try Self.finish(Array(ids[1...]), .succeeded, on: connection)
            #expect(wait.wait(timeout: 60) == 0, "\(wait.log)")
            #expect(wait.log.contains("3/3  100%"), "\(wait.log)")
            #expect(wait.log.contains("3 jobs: 3 succeeded, 0 failed, 0 cancelled"), "\(wait.log)")
        }
    }

    @Test func exitsOneWhenAJobFailedOrWasCancelled() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let ids = try (0..<4).map { _ in try connection.insertJob() }
            try Self.finish(Array(ids[0...1]), .succeeded, on: connection)
            try Self.finish([ids[2]], .failed, on: connection)
            try Self.finish([ids[3]], .cancelled, on: connection)
            let result = try ChildProcess.run(
                [Executables.scribe, "wait", "--ids", Self.idList(ids), "--timeout", "60"],
                environment: Self.environment(database))
            #expect(result.status == 1, "\(result.standardError)")
            #expect(result.standardError.contains("1 failed, 1 cancelled"), "\(result.standardError)")
            #expect(result.standardError.contains("4 jobs: 2 succeeded, 1 failed, 1 cancelled"), "\(result.standardError)")
        }
    }

    @Test func exitsTwoOnTimeoutAndOneForAnUnknownId() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let id = try connection.insertJob()
            let timedOut = try ChildProcess.run(
                [Executables.scribe, "wait", "--ids", "\(id)", "--timeout", "1"], environment: Self.environment(database))
            #expect(timedOut.status == 2, "\(timedOut.standardError)")
            #expect(timedOut.standardError.contains("timed out after"), "\(timedOut.standardError)")
            #expect(timedOut.standardError.contains("1 job: 0 succeeded, 0 failed, 0 cancelled, 0 running, 1 queued"))

            let unknown = try ChildProcess.run(
                [Executables.scribe, "wait", "--ids", "\(id),424242"], environment: Self.environment(database))
            #expect(unknown.status == 1, "\(unknown.standardError)")
            #expect(unknown.standardError.contains("no job with id 424242"), "\(unknown.standardError)")
        }
    }

    @Test func waitAllEndsWhenTheQueueIsEmpty() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let empty = try ChildProcess.run([Executables.scribe, "wait", "--all"], environment: Self.environment(database))
            #expect(empty.status == 0, "\(empty.standardError)")
            #expect(empty.standardError.contains("0 jobs: 0 succeeded"), "\(empty.standardError)")

            let first = try connection.insertJob()
            let wait = try DaemonProcess(
                [Executables.scribe, "wait", "--all", "--poll-interval", "0.2", "--timeout", "60"],
                environment: Self.environment(database))
            #expect(try eventually(timeout: 30) { wait.log.contains("0/1") }, "\(wait.log)")
            let second = try connection.insertJob()  // enqueued during the wait
            try Self.finish([first], .succeeded, on: connection)
            Thread.sleep(forTimeInterval: 0.5)
            #expect(wait.isRunning, "\(wait.log)")  // the second job is still queued
            try Self.finish([second], .succeeded, on: connection)
            #expect(wait.wait(timeout: 30) == 0, "\(wait.log)")
            #expect(wait.log.contains("2 jobs: 2 succeeded"), "\(wait.log)")
        }
    }

    @Test func waitBatchFollowsTheBatchsJobs() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let file = try ScratchFile(name: "batch.jsonl")
            let line = { (id: String) in
                #"{"custom_id": "\#(id)", "method": "POST", "url": "/v1/completions", "body": {"prompt": "Hi", "max_tokens": 2}}"#
            }
            try file.write(Array((line("a") + "\n" + line("b") + "\n").utf8))
            let submitted = try ChildProcess.run([Executables.scribe, "batch", "submit", file.path],
                                                 environment: Self.environment(database))
            #expect(submitted.status == 0, "\(submitted.standardError)")
            let batch = try #require(submitted.standardOutput.split(separator: "\n").last.map(String.init))
            _ = try connection.insertJob()  // not in the batch: "0/2" below shows it is not counted
            let ids = try connection.query("SELECT id FROM scribe.jobs WHERE batch_id IS NOT NULL ORDER BY id")
                .rows.compactMap { $0[0].flatMap { Int64($0) } }
            #expect(ids.count == 2)

            let wait = try DaemonProcess(
                [Executables.scribe, "wait", "--batch", batch, "--poll-interval", "0.2", "--timeout", "60"],
                environment: Self.environment(database))
            #expect(try eventually(timeout: 30) { wait.log.contains("0/2") }, "\(wait.log)")
            try Self.finish([ids[0]], .succeeded, on: connection)
            #expect(try eventually(timeout: 30) { wait.log.contains("1/2") }, "\(wait.log)")
            try Self.finish([ids[1]], .succeeded, on: connection)
            #expect(wait.wait(timeout: 30) == 0, "\(wait.log)")
            #expect(wait.log.contains("2 jobs: 2 succeeded"), "\(wait.log)")

            let unknown = try ChildProcess.run([Executables.scribe, "wait", "--batch", "batch_424242"],
                                               environment: Self.environment(database))
            #expect(unknown.status == 1, "\(unknown.standardError)")
            #expect(unknown.standardError.contains("no batch batch_424242"), "\(unknown.standardError)")
        }
    }

    @Test func refusesAmbiguousOrBadArguments() throws {
        try IsolatedDatabase.with { database in
            for arguments in [[], ["--all", "--ids", "1"], ["--ids", "1,x"], ["--batch", "x"], ["--all", "--batch", "1"],
                              ["--ids", "1", "--timeout", "0"]] {
                let result = try ChildProcess.run([Executables.scribe, "wait"] + arguments, environment: Self.environment(database))
                #expect(result.status == 64, "\(arguments): \(result.standardError)")
            }
        }
    }

    @Test func statusPrintsTheQueueAsTextAndJSON() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for _ in 0..<3 { try connection.insertJob() }
            try Self.finish([try connection.insertJob()], .succeeded, on: connection)
            let text = try ChildProcess.run([Executables.scribe, "status"], environment: Self.environment(database))
            #expect(text.status == 0, "\(text.standardError)")
            #expect(text.standardOutput.hasPrefix("jobs      queued 3  running 0"), "\(text.standardOutput)")
            #expect(text.standardOutput.contains("last 1m: 1 (1 succeeded"), "\(text.standardOutput)")

            let json = try ChildProcess.run([Executables.scribe, "status", "--json"], environment: Self.environment(database))
            #expect(json.status == 0, "\(json.standardError)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
            #expect((object["jobs"] as? [String: Any])?["queued"] as? Int == 3)
            #expect((object["windows"] as? [[String: Any]])?.first?["succeeded"] as? Int == 1)
        }
    }
}
