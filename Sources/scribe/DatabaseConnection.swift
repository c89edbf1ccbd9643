import JobStore

/// A command's connection to PostgreSQL: `DATABASE_URL`, else the libpq environment.
enum DatabaseConnection {
    /// Connects, or fails with a message saying how to point scribe at a database.
    static func open(environment: [String: String] = ProcessEnvironment.current) throws -> PostgresConnection {
        do {
            return try PostgresConnection(environment: environment)
        } catch {
            let configured = environment["DATABASE_URL"] != nil || environment.keys.contains { $0.hasPrefix("PG") }
            throw CommandFailure(description: "cannot connect to PostgreSQL: \(error)" + (configured ? "" :
                "\nSet DATABASE_URL (Ops/pg url prints one for the private server) or PGHOST/PGDATABASE."))
        }
    }
}

/// Printed as "Error: …" with exit status 1, without the usage text ValidationError adds.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
