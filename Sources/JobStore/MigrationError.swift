/// Why the schema could not be brought to, or used at, this binary's version.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    /// The database was migrated by a newer scribe; this one must not touch it.
    case schemaTooNew(databaseVersion: Int, knownVersion: Int)
    /// The database lacks migrations this binary needs (`scribe migrate` applies them).
    case schemaOutdated(databaseVersion: Int, knownVersion: Int)
    /// A migration's SQL failed; its transaction was rolled back.
    case failed(label: String, underlying: PostgresError)

    public var description: String {
        switch self {
        case .schemaTooNew(let database, let known):
            "database schema is at version \(database) but this scribe knows up to \(known); upgrade scribe"
        case .schemaOutdated(let database, let known):
            "database schema is at version \(database) but this scribe needs \(known); run `scribe migrate`"
        case .failed(let label, let underlying):
            "migration \(label) failed and was rolled back: \(underlying)"
        }
    }
}
