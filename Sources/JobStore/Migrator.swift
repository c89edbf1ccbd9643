import Logging

/// Where one migration stands in a database.
public struct MigrationStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Applied; `checksumMatches` is false when the file changed after it was applied.
        case applied(at: String, checksumMatches: Bool)
        case pending
        /// Recorded in the database but not known to this binary (a newer scribe ran).
        case unknown(appliedAt: String)
    }

    public var version: Int
    public var name: String
    public var state: State
}

/// Brings the `scribe` schema up to the migrations this binary knows.
///
/// Each pending migration runs in its own transaction that first takes a transaction
/// advisory lock, so workers starting at once migrate one after the other: the second
/// waits, then finds the migration recorded and skips it. Only plain statements are used,
/// so it works through PgBouncer in transaction mode.
public final class Migrator {
    private let connection: PostgresConnection
    public let migrations: [Migration]
    private let logger: Logger

    public init(connection: PostgresConnection, migrations: [Migration] = Migration.all, logger: Logger) {
        precondition(
            zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version },
            "migrations must be in strictly increasing version order")
        self.connection = connection
        self.migrations = migrations
        self.logger = logger
    }

    public var latestKnownVersion: Int { migrations.last?.version ?? 0 }

    /// The highest version recorded in the database; 0 for a database never migrated.
    public func currentVersion() throws -> Int {
        try appliedRows().keys.max() ?? 0
    }

    /// Throws `.schemaTooNew` when a newer scribe migrated this database: running against a
    /// schema this binary does not know could corrupt jobs, so refuse before doing anything.
    public func checkCompatible() throws {
        let current = try currentVersion()
        if current > latestKnownVersion {
            throw MigrationError.schemaTooNew(databaseVersion: current, knownVersion: latestKnownVersion)
        }
    }

    /// Like `checkCompatible`, and also throws `.schemaOutdated` while migrations are pending.
    public func checkUpToDate() throws {
        try checkCompatible()
        let applied = try appliedRows()
        if migrations.contains(where: { applied[$0.version] == nil }) {
            throw MigrationError.schemaOutdated(
                databaseVersion: applied.keys.max() ?? 0, knownVersion: latestKnownVersion)
        }
    }

    /// Applies every pending migration, oldest first, and returns those this call applied.
    @discardableResult
    public func migrate() throws -> [Migration] {
        var applied: [Migration] = []
        while let migration = try applyNextPending() {
            applied.append(migration)
        }
        logger.info("Schema up to date", metadata: [
            "schema.version": "\(latestKnownVersion)", "migrations.applied": "\(applied.count)",
        ])
        return applied
    }

    /// Every known migration and every recorded one, by version.
    public func status() throws -> [MigrationStatus] {
        let applied = try appliedRows()
        let checksums = try self.checksums(of: migrations)
        var statuses = zip(migrations, checksums).map { migration, checksum in
            let state: MigrationStatus.State = applied[migration.version].map {
                .applied(at: $0.appliedAt, checksumMatches: $0.checksum == checksum)
            } ?? .pending
            return MigrationStatus(version: migration.version, name: migration.name, state: state)
        }
        let known = Set(migrations.map(\.version))
        for (version, row) in applied where !known.contains(version) {
            statuses.append(MigrationStatus(version: version, name: row.name, state: .unknown(appliedAt: row.appliedAt)))
        }
        return statuses.sorted { $0.version < $1.version }
    }

    /// One transaction: lock, create the bookkeeping table if needed, apply and record the
    /// oldest pending migration. Returns nil when none is pending.
    private func applyNextPending() throws -> Migration? {
        try connection.transaction {
            try connection.query("SELECT pg_advisory_xact_lock($1)", [AdvisoryLock.migrations])
            // IF NOT EXISTS would otherwise print a NOTICE on every run.
            try connection.execute("SET LOCAL client_min_messages = warning")
            try connection.execute(Self.bootstrap)
            let applied = try connection.query("SELECT version FROM scribe.schema_migrations")
                .rows.compactMap { $0[0].flatMap { Int($0) } }
            if let newest = applied.max(), newest > latestKnownVersion {
                throw MigrationError.schemaTooNew(databaseVersion: newest, knownVersion: latestKnownVersion)
            }
            guard let next = migrations.first(where: { !applied.contains($0.version) }) else { return nil }
            let started = ContinuousClock.now
            do {
                try connection.execute(next.sql)
            } catch let error as PostgresError {
                logger.error("Migration failed", metadata: [
                    "migration.version": "\(next.version)", "migration.name": "\(next.name)",
                    "error.message": "\(error)",
                ])
                throw MigrationError.failed(label: next.label, underlying: error)
            }
            try connection.query(
                """
                INSERT INTO scribe.schema_migrations (version, name, checksum)
                VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'))
                """, [next.version, next.name, next.sql])
            logger.info("Migration applied", metadata: [
                "migration.version": "\(next.version)", "migration.name": "\(next.name)",
                "migration.duration": "\(ContinuousClock.now - started)",
            ])
            return next
        }
    }

    private struct AppliedRow {
        var name: String
        var checksum: String
        var appliedAt: String
    }

    private func appliedRows() throws -> [Int: AppliedRow] {
        let exists = try connection.query("SELECT to_regclass('scribe.schema_migrations') IS NOT NULL").scalar
        guard exists == "t" else { return [:] }
        let rows = try connection.query(
            "SELECT version, name, checksum, applied_at::text AS applied_at FROM scribe.schema_migrations")
        var result: [Int: AppliedRow] = [:]
        for index in 0..<rows.count {
            guard let version = rows.value(index, "version").flatMap({ Int($0) }) else { continue }
            result[version] = AppliedRow(
                name: rows.value(index, "name") ?? "", checksum: rows.value(index, "checksum") ?? "",
                appliedAt: rows.value(index, "applied_at") ?? "")
        }
        return result
    }

    /// SHA-256 of each file's text, computed by the server (no crypto library needed here).
    private func checksums(of migrations: [Migration]) throws -> [String] {
        guard !migrations.isEmpty else { return [] }
        let rows = try connection.query(
            """
            SELECT encode(sha256(convert_to(sql, 'UTF8')), 'hex')
            FROM unnest($1::text[]) WITH ORDINALITY AS file(sql, position) ORDER BY position
            """, [PostgresArray(migrations.map(\.sql))])
        return rows.rows.map { $0[0] ?? "" }
    }

    /// The bookkeeping table, created before the first migration under the same lock.
    private static let bootstrap = """
        CREATE SCHEMA IF NOT EXISTS scribe;
        CREATE TABLE IF NOT EXISTS scribe.schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,          -- SHA-256 (hex) of the file as applied
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        """
}
