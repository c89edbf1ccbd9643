import ScribeCore
import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by libpq or by the server.
public struct PostgresError: ClassifiedError, CustomStringConvertible, Sendable {
    public enum Reason: Sendable { case connection, query }
    public var reason: Reason
    /// Five-character SQLSTATE from the server ("23505" unique violation ...), when there is one.
    public var sqlState: String?
    public var message: String

    public init(_ reason: Reason, sqlState: String? = nil, message: String) {
        self.reason = reason
        self.sqlState = sqlState
        self.message = message
    }

    /// A lost connection, a serialization failure or deadlock, a server short of resources
    /// or shutting down: `transient`. Data the server refuses (SQLSTATE classes 22 and 23,
    /// or a `raise` from a check, P0001): `invalidInput`. Anything else: `internal`.
    public var kind: FailureKind {
        if reason == .connection { return .transient }
        switch sqlState?.prefix(2) {
        case "08", "40", "53", "57": return .transient
        case "22", "23": return .invalidInput
        default: return sqlState == "P0001" ? .invalidInput : .internal
        }
    }

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }
}

/// One libpq connection. Not thread-safe: one owner at a time.
public final class PostgresConnection {
    /// Internal so the module's other files (notifications) can reach libpq; never public.
    let handle: OpaquePointer

    /// Connects with a libpq connection string or URI; an empty string uses only
    /// the standard libpq environment (`PGHOST`, `PGDATABASE`, ...).
    public convenience init(connectionString: String) throws {
        try self.init(connectionString: connectionString, overrides: [:])
    }

    /// Connects with a connection string or URI whose settings `overrides` replace
    /// (`["dbname": "other"]`, `["application_name": "scribe worker w-1"]`), without
    /// editing the string: libpq expands the string first, then applies later keywords.
    public init(connectionString: String, overrides: [String: String]) throws {
        let keywords = ["dbname"] + overrides.keys.sorted()
        let values = [connectionString] + overrides.keys.sorted().map { overrides[$0]! }
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle = connection else {
            throw PostgresError(.connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(.connection, message: message)
        }
        self.handle = handle
    }

    /// Connects with `DATABASE_URL` when it is set, otherwise with the libpq environment.
    public convenience init(environment: [String: String]) throws {
        try self.init(connectionString: environment["DATABASE_URL"] ?? "")
    }

    deinit {
        PQfinish(handle)
    }

    /// libpq's version as a number (150018 for 15.18).
    public static var libraryVersion: Int { Int(PQlibVersion()) }

    /// The server's version as a number (150018 for 15.18).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    public var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The settings this connection uses (`host`, `dbname`, `user`, ...; unset ones left
    /// out), as libpq resolved them from the string and the environment.
    public var parameters: [String: String] {
        guard let options = PQconninfo(handle) else { return [:] }
        defer { PQconninfoFree(options) }
        var result: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val, value.pointee != 0 {
                result[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return result
    }

    /// Runs one statement with parameters `$1, $2, ...` sent separately from the SQL text
    /// (never interpolated). `nil` is SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresEncodable?] = []) throws -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        let result = withCStringArray(texts) { values in
            PQexecParams(handle, sql, Int32(texts.count), nil, values, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs a script of several statements without parameters (migrations).
    public func execute(_ script: String) throws {
        _ = try consume(PQexec(handle, script))
    }

    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else {
            throw PostgresError(.connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            throw PostgresError(
                isConnected && !Self.endsTheSession(state) ? .query : .connection, sqlState: state,
                message: message.isEmpty ? Self.trimmed(PQerrorMessage(handle)) : message)
        }
    }

    /// Runs `body` inside BEGIN ... COMMIT; any error rolls back and is rethrown.
    /// Plain statements only, so it also works through PgBouncer in transaction mode.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body()
        } catch {
            try? execute("ROLLBACK")  // the original error is the one worth reporting
            throw error
        }
        try execute("COMMIT")
        return value
    }

    /// SQLSTATEs after which the session is gone even if libpq has not noticed yet:
    /// class 08 (connection exception) and the server shutting down or restarting
    /// (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
    static func endsTheSession(_ state: String?) -> Bool {
        guard let state else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
    }

    static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        var string = String(cString: text)
        while string.last?.isWhitespace == true { string.removeLast() }
        return string
    }
}

/// Calls `body` with a C array of C strings (NULL entries for nil) that live for the call,
/// followed by a NULL terminator (PQconnectdbParams needs it; PQexecParams ignores it).
private func withCStringArray<R>(
    _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
