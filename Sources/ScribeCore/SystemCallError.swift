#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which one, on what, and `errno` as the C library words it.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    public var call: String
    public var errno: Int32
    /// What the call was about (a socket path, an address), for the message.
    public var subject: String?

    public init(call: String, errno: Int32, subject: String? = nil) {
        self.call = call
        self.errno = errno
        self.subject = subject
    }

    /// Captures the current `errno`; call it right after the failing call.
    public static func last(_ call: String, subject: String? = nil) -> SystemCallError {
        SystemCallError(call: call, errno: currentErrno(), subject: subject)
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return "\(call)\(subject.map { " \($0)" } ?? ""): \(reason) (errno \(errno))"
    }
}

/// `errno` itself is a macro Swift cannot always see through; this reads it portably.
public func currentErrno() -> Int32 {
    #if canImport(Glibc)
    return Glibc.errno
    #else
    return Darwin.errno
    #endif
}
