import Foundation
import JobStore

/// The PostgreSQL server tests talk to: `DATABASE_URL` when set, otherwise the private
/// server of `Ops/pg`, started on first use.
public enum TestDatabase {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    private static let resolved: Result<String, Unavailable> = {
        if let url = Repository.environment["DATABASE_URL"], !url.isEmpty { return .success(url) }
        do {
            let result = try ChildProcess.run([Repository.path("Ops/pg"), "start"])
            guard result.status == 0 else {
                return .failure(Unavailable(description: "Ops/pg start failed: \(result.standardError)"))
            }
            let url = result.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
            return .success(url)
        } catch {
            return .failure(Unavailable(description: "could not run Ops/pg: \(error)"))
        }
    }()

    /// The connection string of the test server (starting it when needed).
    public static func url() throws -> String {
        try resolved.get()
    }

    public static func connect() throws -> PostgresConnection {
        try PostgresConnection(connectionString: url())
    }
}
