import Foundation
import JobStore

/// A login role of the test server with a random password, member of `groups` (e.g.
/// `scribe_client`). Roles belong to the whole server: names are unique per process and
/// `drop()` removes the role.
public struct LoginRole: Sendable {
    public let name: String
    public let password: String

    private static let counter = Counter()

    public init(_ label: String, groups: [String]) throws {
        name = "scribe_test_\(getpid())_\(Self.counter.next())_\(label)"
        password = UUID().uuidString
        let connection = try TestDatabase.connect()
        try connection.execute("CREATE ROLE \(name) LOGIN PASSWORD '\(password)'")  // a UUID: nothing to escape
        for group in groups { try connection.execute("GRANT \(group) TO \(name)") }
    }

    public func drop() {
        _ = try? TestDatabase.connect().execute("DROP ROLE IF EXISTS \(name)")
    }
}
