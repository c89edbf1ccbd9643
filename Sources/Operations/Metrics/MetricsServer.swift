import ScribeCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serves `GET /metrics` over plain HTTP/1.1 on a thread of its own (POSIX sockets):
/// small and dependency-free, enough for a Prometheus scraper and `curl`.
///
/// Each connection gets a detached thread and a 5-second read/write timeout, at most
/// `maxConnections` at once (more are closed at once), so a slow client cannot hold up
/// the next scrape. `stop()` closes the listening socket and waits for open
/// connections to finish.
public final class MetricsServer: Sendable {
    /// The address actually bound (with the port chosen when 0 was asked for).
    public let host: String
    public let port: UInt16
    public static let defaultHost = "127.0.0.1"
    public static let maxConnections = 16

    private let listener: Int32
    /// Written by `stop()` to wake the accept loop out of `poll`.
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private let acceptThread = Mutex<pthread_t?>(nil)
    private let activeConnections = Atomic<Int>(0)
    private let render: @Sendable () -> String
    private let logger: Logger

    /// Binds and starts serving; throws when the address cannot be bound (port taken,
    /// address not on this host). `host` is a numeric IPv4 or IPv6 address (`0.0.0.0` or
    /// `::` for every interface) or `localhost`. Port 0 picks a free port: read `port`.
    public static func start(
        host: String = defaultHost, port: UInt16, logger: Logger, exposition: @escaping @Sendable () -> String
    ) throws(SystemCallError) -> MetricsServer {
        let (listener, boundPort) = try listen(host: host, port: port)
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            let error = SystemCallError.last("pipe")
            close(listener)
            throw error
        }
        let server = MetricsServer(
            host: host, port: boundPort, listener: listener, wakeReader: pipeEnds[0], wakeWriter: pipeEnds[1],
            logger: logger, render: exposition)
        do {
            let thread = try PosixThread.start { server.acceptLoop() }
            server.acceptThread.withLock { $0 = thread }
        } catch {
            server.closeDescriptors()
            throw error
        }
        logger.info("Metrics server listening", metadata: [
            "metrics.address": "\(host)", "metrics.port": "\(boundPort)", "metrics.path": "\(MetricsHTTPResponder.path)",
        ])
        return server
    }

    /// Serves a registry's exposition.
    public static func start(
        host: String = defaultHost, port: UInt16, registry: MetricsRegistry, logger: Logger
    ) throws(SystemCallError) -> MetricsServer {
        try start(host: host, port: port, logger: logger) { registry.exposition() }
    }

    private init(
        host: String, port: UInt16, listener: Int32, wakeReader: Int32, wakeWriter: Int32,
        logger: Logger, render: @escaping @Sendable () -> String
    ) {
        self.host = host
        self.port = port
        self.listener = listener
        self.wakeReader = wakeReader
        self.wakeWriter = wakeWriter
        self.logger = logger
        self.render = render
    }

    /// Stops accepting, waits for connections in progress, closes the socket. Idempotent.
    public func stop() {
        guard let thread = acceptThread.withLock({ thread -> pthread_t? in
            defer { thread = nil }
            return thread
        }) else { return }
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
        PosixThread.join(thread)
        closeDescriptors()
        // Connections end within their timeouts; this waits at most that long.
        while activeConnections.load(ordering: .acquiring) > 0 {
            usleep(2_000)
        }
        logger.debug("Metrics server stopped", metadata: ["metrics.port": "\(port)"])
    }

    /// Connections being served right now (for tests and diagnostics).
    public var connectionsInProgress: Int { activeConnections.load(ordering: .relaxed) }

    private func closeDescriptors() {
        close(listener)
        close(wakeReader)
        close(wakeWriter)
    }

    private func acceptLoop() {
        var descriptors = [
            pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            descriptors[0].revents = 0
            descriptors[1].revents = 0
            let ready = poll(&descriptors, 2, -1)
            if ready < 0 {
                if currentErrno() == EINTR { continue }
                logger.error("Metrics server stopped serving", metadata: ["error": "\(SystemCallError.last("poll"))"])
                return
            }
            if descriptors[1].revents != 0 { return }
            guard descriptors[0].revents != 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                let error = SystemCallError.last("accept")
                if error.errno == EINTR || error.errno == ECONNABORTED || error.errno == EAGAIN { continue }
                // Out of descriptors or memory: say so and back off instead of spinning.
                logger.warning("Metrics connection not accepted", metadata: ["error": "\(error)"])
                usleep(100_000)
                continue
            }
            // No accept4 without _GNU_SOURCE: close-on-exec set right after instead.
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            serveInBackground(connection)
        }
    }

    private func serveInBackground(_ connection: Int32) {
        let active = activeConnections.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        guard active <= Self.maxConnections else {
            activeConnections.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            close(connection)
            logger.warning("Metrics connection refused", metadata: ["metrics.connections": "\(active - 1)"])
            return
        }
        do {
            _ = try PosixThread.start(detached: true) { [self] in
                serve(connection)
                close(connection)
                activeConnections.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            }
        } catch {
            close(connection)
            activeConnections.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            logger.warning("Metrics connection not served", metadata: ["error": "\(error)"])
        }
    }

    /// Reads the request head (up to 8 KiB), answers, and returns; the caller closes.
    private func serve(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, size)
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, size)

        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let count = recv(connection, &buffer, buffer.count, 0)
            if count < 0 && currentErrno() == EINTR { continue }
            guard count > 0 else { break }  // closed, timed out or failed: answer what we have
            head.append(contentsOf: buffer[0..<count])
            if head.count >= 4 && containsHeadEnd(head) { break }
        }
        guard !head.isEmpty else { return }
        let response = MetricsHTTPResponder.response(toHead: String(decoding: head, as: UTF8.self), exposition: render)
        sendAll(response, on: connection)
    }

    private func containsHeadEnd(_ bytes: [UInt8]) -> Bool {
        // "\r\n\r\n", or bare "\n\n" from a hand-typed request.
        for index in 1..<bytes.count where bytes[index] == 0x0A {
            if bytes[index - 1] == 0x0A { return true }
            if index >= 3 && bytes[index - 1] == 0x0D && bytes[index - 2] == 0x0A && bytes[index - 3] == 0x0D { return true }
        }
        return false
    }

    private func sendAll(_ text: String, on connection: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                // MSG_NOSIGNAL: a client that hung up must not kill the worker with SIGPIPE.
                let sent = send(connection, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent > 0 {
                    offset += sent
                } else if sent < 0 && currentErrno() == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// A listening TCP socket on `host:port`, and the port it got.
    private static func listen(host: String, port: UInt16) throws(SystemCallError) -> (Int32, UInt16) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        // Numeric only, so starting never waits on DNS.
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST
        var addresses: UnsafeMutablePointer<addrinfo>?
        let numericHost = host == "localhost" ? "127.0.0.1" : host
        let status = getaddrinfo(numericHost, String(port), &hints, &addresses)
        guard status == 0, let address = addresses else {
            let reason = String(cString: gai_strerror(status))
            throw SystemCallError(call: "getaddrinfo", errno: EINVAL, subject: "\(host) (\(reason))")
        }
        defer { freeaddrinfo(addresses) }
        let subject = "\(host):\(port)"
        let descriptor = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError.last("socket", subject: subject) }
        var one: Int32 = 1
        // A restarted worker can bind again while the old connections sit in TIME_WAIT.
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
            let error = SystemCallError.last("bind", subject: subject)
            close(descriptor)
            throw error
        }
        guard Glibc.listen(descriptor, 64) == 0 else {
            let error = SystemCallError.last("listen", subject: subject)
            close(descriptor)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else {
            let error = SystemCallError.last("getsockname", subject: subject)
            close(descriptor)
            throw error
        }
        let family = Int32(storage.ss_family)
        let boundPort: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (descriptor, boundPort)
    }
}
