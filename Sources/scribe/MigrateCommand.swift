import ScribeCore
import ArgumentParser
import Foundation
import JobStore
import Logging
import Operations

/// Applies the migrations compiled into this binary, or shows where each one stands.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the scribe schema in the database.",
        discussion: """
            Applies pending migrations, each in its own transaction under an advisory lock, \
            so several workers may run it at once. Connects with SCRIBE_MIGRATE_DATABASE_URL (the schema's owner), else DATABASE_URL, or the libpq \
            environment (PGHOST, PGDATABASE, ...).
            """)

    @Flag(help: "Show each migration's state without applying anything.")
    var status = false

    @Option(help: "Seconds to keep retrying while the database cannot be reached (server starting or restarting); 0 fails at once.")
    var wait: Double = 0

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let logger = Logger(label: "scribe.migrate")
        // Migrations need the schema's owner; workers sharing the settings file connect
        // with less (Migrations/README.md, "Roles and tenants").
        var environment = ProcessEnvironment.current
        if let owner = environment["SCRIBE_MIGRATE_DATABASE_URL"], !owner.isEmpty { environment["DATABASE_URL"] = owner }
        if status {
            try printStatus(Migrator(connection: DatabaseConnection.open(environment: environment), logger: logger))
            return
        }
        // Migrations are transactional and idempotent: one cut off by a lost connection is
        // simply run again.
        try DatabaseConnection.retrying(wait: .seconds(max(0, wait)), logger: logger, environment: environment) { connection in
            let migrator = Migrator(connection: connection, logger: logger)
            do {
                let applied = try migrator.migrate()
                for migration in applied {
                    print("applied \(migration.label)")
                }
            } catch let error as MigrationError {
                throw CommandFailure(description: error.description)
            }
            print("schema version \(try migrator.currentVersion()) (this scribe knows up to \(migrator.latestKnownVersion))")
        }
    }

    private func printStatus(_ migrator: Migrator) throws {
        for entry in try migrator.status() {
            let label = Migration(version: entry.version, name: entry.name, sql: "").label
            switch entry.state {
            case .applied(let at, let checksumMatches):
                print("\(label.padding(to: 28))applied \(at)" + (checksumMatches ? "" : "  (file changed since)"))
            case .pending:
                print("\(label.padding(to: 28))pending")
            case .unknown(let at):
                print("\(label.padding(to: 28))applied \(at)  (unknown to this scribe)")
            }
        }
        let current = try migrator.currentVersion()
        print("schema version \(current) (this scribe knows up to \(migrator.latestKnownVersion))")
        do {
            try migrator.checkUpToDate()
        } catch let error as MigrationError {
            print(error.description)
        }
    }
}
