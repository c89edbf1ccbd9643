import JobStore
import Testing
import TestSupport

@Suite struct PostgresConnectionTests {
    @Test func parametersRoundTripThroughTheServer() throws {
        let connection = try TestDatabase.connect()
        let text = "it's \"quoted\"; DROP TABLE x; -- ünïcödé ✓ 🚀"
        let rows = try connection.query(
            "SELECT $1::text AS text, $2::int AS number, $3::text IS NULL AS is_null, $4::float8 * 2 AS doubled, $5::bool AS flag",
            [text, 42, nil, 1.25, true])
        #expect(rows.count == 1)
        #expect(rows.value(0, "text") == text)
        #expect(rows.value(0, "number") == "42")
        #expect(rows.value(0, "is_null") == "t")
        #expect(rows.value(0, "doubled") == "2.5")
        #expect(rows.value(0, "flag") == "t")
    }

    @Test func writesAreReadBackAndCounted() throws {
        let connection = try TestDatabase.connect()
        try connection.execute("CREATE TEMPORARY TABLE notes (id serial PRIMARY KEY, body text UNIQUE)")
        let inserted = try connection.query(
            "INSERT INTO notes (body) SELECT unnest($1::text[]) RETURNING id", ["{one,two,three}"])
        #expect(inserted.count == 3)
        let updated = try connection.query("UPDATE notes SET body = body || '!' WHERE body <> $1", ["two"])
        #expect(updated.affectedRows == 2)
        let bodies = try connection.query("SELECT body FROM notes ORDER BY id").rows.map { $0[0] }
        #expect(bodies == ["one!", "two", "three!"])
    }

    @Test func serverErrorsCarryTheirSQLState() throws {
        let connection = try TestDatabase.connect()
        try connection.execute("CREATE TEMPORARY TABLE unique_things (name text PRIMARY KEY)")
        try connection.query("INSERT INTO unique_things VALUES ($1)", ["a"])
        let duplicate = #expect(throws: PostgresError.self) {
            try connection.query("INSERT INTO unique_things VALUES ($1)", ["a"])
        }
        #expect(duplicate?.sqlState == "23505")
        #expect(duplicate?.reason == .query)
        let syntax = #expect(throws: PostgresError.self) { try connection.query("SELEC 1") }
        #expect(syntax?.sqlState == "42601")
        // The connection is still usable after errors.
        #expect(try connection.query("SELECT 1 + 1").scalar == "2")
    }

    @Test func anUnreachableServerIsAConnectionError() throws {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConnection(connectionString: "postgresql:///nowhere?host=/nonexistent-socket-dir&connect_timeout=2")
        }
        #expect(error?.reason == .connection)
        #expect(error?.message.contains("nonexistent-socket-dir") == true)
    }

    @Test func versionsAreReported() throws {
        #expect(PostgresConnection.libraryVersion >= 100000)
        #expect(try TestDatabase.connect().serverVersion >= 100000)
    }
}
