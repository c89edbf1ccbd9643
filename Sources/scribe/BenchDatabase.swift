import ScribeCore
import Engine
import Foundation
import JobStore
import Logging

/// A database of the benchmark's own on the server that `DATABASE_URL` (or the libpq
/// environment) names: created and migrated at start, emptied before every run, dropped
/// at the end, so the worker under test sees the benchmark's jobs and nothing else.
final class BenchDatabase: @unchecked Sendable {
    let name: String
    private let serverURL: String

    init(serverURL: String, logger: Logger) throws {
        self.serverURL = serverURL
        name = "scribe_bench_\(getpid())"
        let admin = try PostgresConnection(connectionString: serverURL)
        try admin.execute("SET client_min_messages = warning")  // no NOTICE when there is none to drop
        try admin.execute("DROP DATABASE IF EXISTS \(name)")
        do {
            try admin.execute("CREATE DATABASE \(name)")
        } catch {
            throw BenchDatabaseError(description: "cannot create the benchmark's database \(name): \(error) "
                + "(the role needs CREATEDB; Ops/pg's role has it)")
        }
        try Migrator(connection: connect(), logger: logger).migrate()
    }

    /// A new connection to the benchmark's database.
    func connect() throws -> PostgresConnection {
        try PostgresConnection(connectionString: serverURL, overrides: ["dbname": name, "application_name": "scribe bench"])
    }

    /// No jobs, deliveries or workers left from an earlier run.
    func empty() throws {
        try connect().execute("TRUNCATE scribe.jobs, scribe.webhook_deliveries, scribe.webhook_attempts, scribe.workers")
    }

    /// Adds `jobs` (objects with `prompt` or `messages`, and `params`) in one INSERT, as a
    /// user's batch import would.
    static func enqueue(_ jobs: [JSONValue], on connection: PostgresConnection) throws {
        let rows = JSONValue.array(jobs).jsonText
        try connection.query(
            """
            INSERT INTO scribe.jobs (prompt, messages, params)
            SELECT prompt, messages, params FROM jsonb_to_recordset($1::jsonb) AS r(prompt text, messages jsonb, params jsonb)
            """, [rows])
    }

    func drop() {
        _ = try? PostgresConnection(connectionString: serverURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

struct BenchDatabaseError: Error, CustomStringConvertible {
    var description: String
}
