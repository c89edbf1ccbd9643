import ScribeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Talks to systemd's notification socket as sd_notify(3) does, without libsystemd:
/// one datagram per message to the `AF_UNIX` socket named by `NOTIFY_SOCKET` (a path,
/// or `@name` for an abstract socket). Does nothing when the variable is unset, so the
/// same worker runs under systemd and in a terminal.
public struct SystemdNotifier: Sendable {
    /// The socket from `NOTIFY_SOCKET`, nil when not under a `Type=notify` unit.
    public let socketPath: String?
    /// The watchdog set for this process, if any.
    public let watchdog: WatchdogSettings?

    public init(environment: [String: String], pid: Int32 = getpid()) {
        let path = environment["NOTIFY_SOCKET"]
        socketPath = (path?.isEmpty ?? true) ? nil : path
        watchdog = WatchdogSettings(environment: environment, pid: pid)
    }

    /// Reads this process's environment.
    public static func fromProcessEnvironment() -> SystemdNotifier {
        SystemdNotifier(environment: ProcessEnvironment.current)
    }

    /// Whether messages go anywhere.
    public var isEnabled: Bool { socketPath != nil }

    /// Sends the fields in one datagram (so `READY=1` and `STATUS=` arrive together).
    /// A no-op when disabled. Throws when the socket is missing or refuses: a daemon
    /// logs that and goes on, since systemd will act on the missing message itself.
    public func send(_ fields: NotifyField...) throws(SystemCallError) {
        try send(fields)
    }

    public func send(_ fields: [NotifyField]) throws(SystemCallError) {
        guard let socketPath, !fields.isEmpty else { return }
        try Self.sendDatagram(NotifyField.message(fields), to: socketPath)
    }

    static func sendDatagram(_ message: String, to path: String) throws(SystemCallError) {
        guard path.hasPrefix("/") || path.hasPrefix("@") else {
            // vsock: and other forms sd_notify knows are not needed for a local service.
            throw SystemCallError(call: "sd_notify", errno: EAFNOSUPPORT, subject: path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        // Abstract sockets start with a NUL byte and are not NUL-terminated.
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity || (abstract && pathBytes.count <= capacity) else {
            throw SystemCallError(call: "sd_notify", errno: ENAMETOOLONG, subject: path)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        // A path address counts its terminating NUL; an abstract one exactly its bytes.
        let length = socklen_t(pathOffset + pathBytes.count + (abstract ? 0 : 1))

        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemCallError.last("socket", subject: path) }
        defer { close(descriptor) }
        var message = message
        let sent = message.withUTF8 { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
        guard sent >= 0 else { throw SystemCallError.last("sendto", subject: path) }
    }
}
