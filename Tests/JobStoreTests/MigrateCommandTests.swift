import Foundation
import JobStore
import Testing
import TestSupport

/// `scribe migrate` as users run it: the binary, with DATABASE_URL, from outside the
/// checkout (the SQL is compiled in).
@Suite struct MigrateCommandTests {
    /// Workers' DATABASE_URL names a role that may not migrate; the migration runs as the
    /// owner named by SCRIBE_MIGRATE_DATABASE_URL.
    @Test func theMigrationConnectsAsTheOwnerWhenNamed() throws {
        let worker = try LoginRole("worker", groups: ["scribe_worker"])
        defer { worker.drop() }
        try IsolatedDatabase.with(migrated: false) { database in
            var environment = ProcessInfo.processInfo.environment
            let owner = try database.connectionString()
            environment["DATABASE_URL"] = owner + " user='\(worker.name)' password='\(worker.password)'"
            let refused = try ChildProcess.run([Executables.scribe, "migrate"], environment: environment)
            #expect(refused.status != 0, "a worker role may not create the schema")
            environment["SCRIBE_MIGRATE_DATABASE_URL"] = owner
            let applied = try ChildProcess.run([Executables.scribe, "migrate"], environment: environment)
            #expect(applied.status == 0, "\(applied.standardError)")
            #expect(applied.standardOutput.hasSuffix("(this scribe knows up to \(Migration.all.last!.version))\n"))
        }
    }

    @Test func migrateThenStatus() throws {
        try IsolatedDatabase.with(migrated: false) { database in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = try database.connectionString()
            let latest = Migration.all.last!.version
            let run = { (arguments: [String]) throws -> ProcessResult in
                try ChildProcess.run(["sh", "-c", "cd / && exec \"$0\" \"$@\"", Executables.scribe] + arguments,
                                     environment: environment)
            }
            let first = try run(["migrate"])
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput.split(separator: "\n").map(String.init)
                == Migration.all.map { "applied \($0.label)" }
                + ["schema version \(latest) (this scribe knows up to \(latest))"])
            #expect(first.standardError.contains("Migration applied"))

            let second = try run(["migrate"])
            #expect(second.standardOutput == "schema version \(latest) (this scribe knows up to \(latest))\n")

            let status = try run(["migrate", "--status"])
            let lines = status.standardOutput.split(separator: "\n")
            #expect(lines.count == Migration.all.count + 1)
            #expect(lines.first?.hasPrefix("0001_jobs") == true && lines.first?.contains("applied") == true)

            try database.connect().query(
                "INSERT INTO scribe.schema_migrations (version, name, checksum) VALUES ($1, 'future', '')", [latest + 2])
            let refused = try run(["migrate"])
            #expect(refused.status == 1)
            #expect(refused.standardError.contains(
                "database schema is at version \(latest + 2) but this scribe knows up to \(latest); upgrade scribe"))
        }
    }
}
