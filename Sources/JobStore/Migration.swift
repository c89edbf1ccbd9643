internal import MigrationFiles

/// One ordered SQL file from `Migrations/` (`0001_jobs.sql` is version 1, name "jobs").
///
/// The files are compiled into the binary by the `EmbedMigrations` build-tool plugin, so
/// an installed `scribe` migrates without the source tree.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    /// The file's text. It must not contain BEGIN/COMMIT: the migrator wraps each file in
    /// its own transaction.
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// `0001_jobs`: the file name without `.sql`.
    public var label: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name
    }

    /// The migrations this binary knows, in version order (generated at build time).
    public static let all: [Migration] = EmbeddedMigration.all.map {
        Migration(version: $0.version, name: $0.name, sql: $0.sql)
    }
}
