import Foundation
import JobStore
import Logging

/// A PostgreSQL cluster of one test's own, which it may stop and start again (a server
/// restart) without disturbing the shared test server. Run by `Ops/pg` in a folder under
/// /tmp (`SCRIBE_PG_DIR`), migrated, and deleted by `remove()`.
public final class ScratchServer: @unchecked Sendable {
    public let folder: String
    /// The libpq connection string of its `scribe` database.
    public private(set) var url = ""

    /// Creates the cluster (initdb takes a few seconds), starts it and migrates it.
    public init() throws {
        // Short: the Unix socket path inside must stay under 108 bytes.
        folder = "/tmp/scribe-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        try start()
        try Migrator(connection: PostgresConnection(connectionString: url), logger: .silent).migrate()
    }

    public func start() throws {
        url = try pg("start").split(separator: "\n").last.map(String.init) ?? ""
    }

    /// `pg_ctl stop -m fast`: every session is ended, as in a server restart.
    public func stop() throws {
        _ = try pg("stop")
    }

    /// Stops the server and deletes its folder.
    public func remove() {
        _ = try? pg("stop")
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func pg(_ command: String) throws -> String {
        var environment = Repository.environment
        environment["SCRIBE_PG_DIR"] = folder
        let result = try ChildProcess.run([Repository.path("Ops/pg"), command], environment: environment)
        guard result.status == 0 else {
            throw TestDatabase.Unavailable(description: "Ops/pg \(command) failed: \(result.standardError)")
        }
        return result.standardOutput
    }
}
