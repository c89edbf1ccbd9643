import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// A failure reported by libpq or by the server.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case connection, query }
    public var kind: Kind
    /// Five-character SQLSTATE from the server ("23505" unique violation ...), when there is one.
    public var sqlState: String?
    public var message: String

    public var description: String {
        if let sqlState { return "\(message) (SQLSTATE \(sqlState))" }
        return message
    }
}

/// One libpq connection. Not thread-safe: one owner at a time.
public final class PostgresConnection {
    private let handle: OpaquePointer

    /// Connects with a libpq connection string or URI; an empty string uses only
    /// the standard libpq environment (`PGHOST`, `PGDATABASE`, ...).
    public init(connectionString: String) throws {
        guard let handle = PQconnectdb(connectionString) else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw PostgresError(kind: .connection, message: message)
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
            throw PostgresError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = Self.trimmed(PQresultErrorMessage(result))
            throw PostgresError(
                kind: isConnected ? .query : .connection, sqlState: state,
                message: message.isEmpty ? Self.trimmed(PQerrorMessage(handle)) : message)
        }
    }

    private static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        var string = String(cString: text)
        while string.last?.isWhitespace == true { string.removeLast() }
        return string
    }
}

/// Calls `body` with a C array of C strings (NULL entries for nil) that live for the call.
private func withCStringArray<R>(
    _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
