import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// A `NOTIFY` received on a channel this connection listens to.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The server process that sent it (`pg_backend_pid()` of the notifier).
    public var processID: Int32
}

extension PostgresConnection {
    /// Subscribes this connection to `channel`. LISTEN is session state: use a direct
    /// connection (not PgBouncer in transaction mode) that does nothing else.
    public func listen(_ channel: String) throws {
        try execute("LISTEN " + Self.quotedIdentifier(channel))
    }

    /// The connection's socket, -1 when closed: to wait on it together with other
    /// descriptors (`poll`, `curl_multi_poll`), then read what arrived with
    /// `waitForNotifications(timeout: .zero)`.
    public var socketDescriptor: Int32 { PQsocket(handle) }

    /// Notifications that arrived already, or the first ones to arrive within `timeout`;
    /// empty when none came. Throws a `.connection` error when the connection is lost.
    public func waitForNotifications(timeout: Duration) throws -> [PostgresNotification] {
        try consumeInput()
        var received = drainNotifications()
        let deadline = ContinuousClock.now + timeout
        while received.isEmpty {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { break }
            let socket = PQsocket(handle)
            guard socket >= 0 else {
                throw PostgresError(.connection, message: "connection has no socket (closed)")
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, max(remaining.pollMilliseconds, 1))
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError(.connection, message: "poll failed: \(String(cString: strerror(errno)))")
            }
            if ready == 0 { break }
            // Readable: a notification, a notice, or the server closing the connection.
            try consumeInput()
            received = drainNotifications()
        }
        return received
    }

    private func consumeInput() throws {
        guard PQconsumeInput(handle) == 1 else {
            throw PostgresError(.connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
    }

    private func drainNotifications() -> [PostgresNotification] {
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            defer { PQfreemem(notify) }
            notifications.append(PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                processID: notify.pointee.be_pid))
        }
        return notifications
    }

    /// `"name"` with embedded quotes doubled: for identifiers that cannot be parameters.
    static func quotedIdentifier(_ name: String) -> String {
        "\"" + String(name.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\""
    }
}
