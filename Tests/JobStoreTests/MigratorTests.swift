import Foundation
import JobStore
import Testing
import TestSupport

@Suite struct MigratorTests {
    @Test func migrationsAreEmbeddedInOrder() {
        let all = Migration.all
        #expect(all.count >= 3)
        // Increasing and unique; numbers may skip (0010_workers was numbered apart from
        // migrations written alongside it).
        #expect(all.first?.version == 1)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.version < $1.version })
        #expect(all.first?.label == "0001_jobs")
        #expect(all.first?.sql.contains("CREATE TABLE IF NOT EXISTS scribe.jobs") == true)
    }

    @Test func migrateAppliesAllThenNothing() throws {
        try IsolatedDatabase.with(migrated: false) { database in
            let capture = LogCapture()
            let migrator = Migrator(connection: try database.connect(), logger: capture.logger())
            #expect(try migrator.currentVersion() == 0)
            #expect(throws: MigrationError.self) { try migrator.checkUpToDate() }
            #expect(try migrator.migrate() == Migration.all)
            #expect(try migrator.currentVersion() == migrator.latestKnownVersion)
            #expect(try migrator.migrate().isEmpty)
            try migrator.checkUpToDate()
            let applied = capture.records.filter { $0.message == "Migration applied" }
            #expect(applied.map { $0.metadata["migration.name"] } == Migration.all.map(\.name))
            let status = try migrator.status()
            #expect(status.count == Migration.all.count)
            for entry in status {
                guard case .applied(_, let matches) = entry.state else {
                    Issue.record("\(entry) not applied")
                    continue
                }
                #expect(matches)
            }
        }
    }

    /// "Idempotent" means each file can run again over itself without error.
    @Test func everyFileCanRunAgainOverAMigratedDatabase() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            try connection.execute("SET client_min_messages = warning")
            for migration in Migration.all {
                try connection.execute(migration.sql)
            }
            try connection.insertJob()
        }
    }

    @Test func twoMigratorsAtOnceApplyEachMigrationOnce() throws {
        try IsolatedDatabase.with(migrated: false) { database in
            let applied = try onThreads(2) { _ in
                try Migrator(connection: try database.connect(), logger: .silent).migrate().map(\.version)
            }
            // Each migration was applied by exactly one of the two.
            #expect((applied[0] + applied[1]).sorted() == Migration.all.map(\.version))
            let rows = try database.connect().query(
                "SELECT version, count(*) FROM scribe.schema_migrations GROUP BY version ORDER BY version")
            #expect(rows.rows.map { $0[1] } == Array(repeating: "1", count: Migration.all.count))
        }
    }

    @Test func aNewerSchemaIsRefusedWithAClearMessage() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let known = Migration.all.last!.version
            try connection.query(
                "INSERT INTO scribe.schema_migrations (version, name, checksum) VALUES ($1, 'from_the_future', '')",
                [known + 4])
            let migrator = Migrator(connection: connection, logger: .silent)
            let error = #expect(throws: MigrationError.self) { try migrator.checkCompatible() }
            #expect(error?.description
                == "database schema is at version \(known + 4) but this scribe knows up to \(known); upgrade scribe")
            #expect(throws: MigrationError.self) { try migrator.migrate() }
            #expect(try migrator.status().last?.state == .unknown(appliedAt: try connection.query(
                "SELECT applied_at::text FROM scribe.schema_migrations WHERE version = $1", [known + 4]).scalar!))
        }
    }

    @Test func aFailingMigrationRollsBackAndIsNotRecorded() throws {
        try IsolatedDatabase.with(migrated: false) { database in
            let connection = try database.connect()
            let broken = Migration.all + [
                Migration(version: 900, name: "half_done", sql: """
                    CREATE TABLE scribe.half_done (id int);
                    SELECT no_such_function();
                    """),
            ]
            let migrator = Migrator(connection: connection, migrations: broken, logger: .silent)
            let error = #expect(throws: MigrationError.self) { try migrator.migrate() }
            #expect(error?.description.hasPrefix("migration 0900_half_done failed and was rolled back") == true)
            #expect(try migrator.currentVersion() == Migration.all.last!.version)
            #expect(try connection.query("SELECT to_regclass('scribe.half_done')::text").scalar == nil)
            // The connection is usable and not left inside a transaction.
            #expect(try connection.query("SELECT count(*) FROM scribe.jobs").scalar == "0")
        }
    }

    @Test func aChangedFileIsReportedByStatus() throws {
        try IsolatedDatabase.with { database in
            var edited = Migration.all
            edited[0].sql += "\n-- a comment added after it was applied\n"
            let migrator = Migrator(connection: try database.connect(), migrations: edited, logger: .silent)
            guard case .applied(_, let matches) = try migrator.status()[0].state else {
                Issue.record("not applied")
                return
            }
            #expect(!matches)
        }
    }
}
