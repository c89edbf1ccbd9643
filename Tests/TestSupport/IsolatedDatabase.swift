import Foundation
import JobStore
import Logging

/// A database of its own on the test server, created for one test and dropped after it,
/// so tests run in parallel without seeing each other's jobs.
///
/// Migrated databases are copies of a template migrated once per test process (a copy
/// takes ~0.1 s; creating and migrating takes several times that).
public struct IsolatedDatabase: Sendable {
    /// Its name on the server (`scribe_test_<pid>_<n>`).
    public let name: String
    private let serverURL: String

    /// Creates the database, runs `body`, then drops it (also when `body` throws).
    /// `migrated: false` gives an empty database, for testing the migrator itself.
    public static func with<R>(migrated: Bool = true, _ body: (IsolatedDatabase) throws -> R) throws -> R {
        let database = try create(from: migrated ? template.get() : nil)
        defer { database.drop() }
        return try body(database)
    }

    /// For async tests (`with` takes a synchronous body): a new database that the caller
    /// drops with `drop()` when done.
    public static func make(migrated: Bool = true) throws -> IsolatedDatabase {
        try create(from: migrated ? template.get() : nil)
    }

    /// A new connection to this database (any number may be open at once).
    public func connect(applicationName: String = "scribe-tests") throws -> PostgresConnection {
        try PostgresConnection(
            connectionString: serverURL, overrides: ["dbname": name, "application_name": applicationName])
    }

    /// A new connection to this database as `role` (a login role with a password).
    public func connect(as role: LoginRole, applicationName: String = "scribe-tests") throws -> PostgresConnection {
        try PostgresConnection(
            connectionString: serverURL,
            overrides: ["dbname": name, "application_name": applicationName, "user": role.name, "password": role.password])
    }

    /// A libpq connection string for this database, for child processes (`DATABASE_URL`).
    public func connectionString() throws -> String {
        var parameters = try connect().parameters
        parameters["dbname"] = name
        parameters["application_name"] = nil
        // key='value' with \ and ' escaped, as libpq's conninfo syntax wants.
        return parameters.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "'", with: "\\'")
            return "\(key)='\(escaped)'"
        }.joined(separator: " ")
    }

    private static let counter = Counter()

    /// The migrated template, made on first use and dropped when the process exits.
    private static let template: Result<String, Error> = Result {
        let database = try create(from: nil, name: "scribe_test_\(getpid())_template")
        // The connection closes at the end of this scope: a template must have none.
        try Migrator(connection: database.connect(), logger: .silent).migrate()
        templateToDrop.set(database)
        atexit { templateToDrop.get()?.drop() }
        return database.name
    }

    private static func create(from template: String?, name: String? = nil) throws -> IsolatedDatabase {
        let url = try TestDatabase.url()
        let name = name ?? "scribe_test_\(getpid())_\(counter.next())"
        let admin = try PostgresConnection(connectionString: url)
        var sql = "CREATE DATABASE \(name)"
        if let template {
            // FILE_COPY (PostgreSQL 15+) copies files instead of WAL-logging every page.
            sql += " TEMPLATE \(template)" + (admin.serverVersion >= 150000 ? " STRATEGY FILE_COPY" : "")
        }
        try admin.execute(sql)
        return IsolatedDatabase(name: name, serverURL: url)
    }

    /// Drops the database, ending connections still open to it.
    public func drop() {
        // FORCE ends connections a failed test left open.
        _ = try? PostgresConnection(connectionString: serverURL).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

private let templateToDrop = Locked<IsolatedDatabase?>(nil)

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

private final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set(_ newValue: Value) {
        lock.lock()
        value = newValue
        lock.unlock()
    }
}

extension Logger {
    /// Discards everything: for code under test whose logs a test does not read.
    public static var silent: Logger {
        Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    }
}
