import ScribeCore
import Foundation
import JobStore
import Logging

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

extension DatabaseConnection {
    /// Runs `body` with a fresh connection, again after a connection failure (the server
    /// starting, restarting, not yet reachable) with backoff from 0.5 s to 10 s, until
    /// `wait` has passed; other errors end it at once. Each failure is logged with the
    /// time to the next try.
    static func retrying<T>(wait: Duration, logger: Logger, environment: [String: String] = ProcessEnvironment.current,
                            _ body: (PostgresConnection) throws -> T) throws -> T {
        let deadline = ContinuousClock.now + wait
        var delay = Duration.milliseconds(500)
        var attempt = 1
        while true {
            do {
                return try body(try PostgresConnection(environment: environment))
            } catch let error as PostgresError where error.reason == .connection && ContinuousClock.now + delay < deadline {
                logger.warning("Database unavailable: retrying", metadata: [
                    "error": "\(error)", "connect.attempt": "\(attempt)", "retry.in_ms": "\(delay / .milliseconds(1))"])
                Thread.sleep(forTimeInterval: delay / .seconds(1))
                delay = min(delay * 2, .seconds(10))
                attempt += 1
            } catch let error as PostgresError where error.reason == .connection {
                _ = try open(environment: environment)  // the message says how to point scribe at a database
                throw error
            }
        }
    }
}

/// Printed as "Error: …" with exit status 1, without the usage text ValidationError adds.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}
